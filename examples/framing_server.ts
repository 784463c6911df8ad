#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT
/**
 * Message boundaries three ways over one server. TCP delivers a stream of
 * bytes, not messages: two sends can arrive as one recv. A client first
 * sends a mode line — `raw`, `lines` (newline-terminated), `nul`
 * (NUL-terminated), `u16` or `u32` (16/32-bit big-endian length prefix) —
 * and the server reports, one line each, what it sees after that: every
 * read in `raw` mode, every message otherwise. `framing_client.ts` tries
 * all five.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT examples/framing_server.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 12345 (0: any free
 * port).
 *
 * @module
 */
import {
  delimited,
  type FrameCodec,
  lengthPrefixed,
  lines,
  shutdownOnSignals,
  tcp,
} from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);
const decoder = new TextDecoder();
const show = (bytes: Uint8Array): string =>
  JSON.stringify(decoder.decode(bytes));
const MAX = { maxFrameSize: 64 * 1024 }; // a bigger frame fails the connection
const CODECS: Record<string, FrameCodec> = {
  lines: lines(MAX),
  nul: delimited("\0", MAX),
  u16: lengthPrefixed({ header: "u16be", ...MAX }),
  u32: lengthPrefixed({ header: "u32be", ...MAX }),
};

const server = tcp.listen({ port }, async (conn) => {
  const mode = decoder.decode(await conn.readUntil("\n", { maxBytes: 16 }))
    .trim();
  console.error(`${tcp.formatAddress(conn.remoteAddr)} chose ${mode}`);
  if (mode === "raw") {
    // recv() as it comes: the reads need not match the client's sends.
    for (let data; (data = await conn.read()) !== null;) {
      await conn.write(`read ${show(data)}\n`);
    }
  } else if (Object.hasOwn(CODECS, mode)) {
    for await (const message of conn.framed(CODECS[mode]!)) {
      await conn.write(`message ${show(message)}\n`);
    }
  } else {
    await conn.write(`unknown mode ${JSON.stringify(mode)}\n`);
  }
});

console.error(`listening on ${tcp.formatAddress(server.addr)}`);
shutdownOnSignals(server);
await server.finished;
