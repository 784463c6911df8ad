#!/usr/bin/env -S deno run --allow-net
/**
 * Sends the same three messages to `framing_server.ts` five times: without
 * framing (the server cannot tell where one ends — the sends typically
 * arrive as one read), then newline-terminated, NUL-terminated and with a
 * 16-bit and a 32-bit length prefix (the server gets exactly three
 * messages every time). Each message is its own send, as in the Python
 * tutorials; it prints the bytes on the wire and what the server saw.
 *
 * ```sh
 * deno run --allow-net examples/framing_client.ts [host] [port]
 * ```
 *
 * Host and port default to 127.0.0.1 and 12345.
 *
 * @module
 */
import { delimited, lengthPrefixed, lines, tcp } from "@sockit/sockit";

const [hostname = "127.0.0.1", port = "12345"] = Deno.args;
const MESSAGES = ["hello", "brave new", "world"].map((m) =>
  new TextEncoder().encode(m)
);
const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
const identity = { encode: (m: Uint8Array): Uint8Array => m };
const MODES = {
  raw: identity,
  lines: lines(),
  nul: delimited("\0"),
  u16: lengthPrefixed({ header: "u16be" }),
  u32: lengthPrefixed({ header: "u32be" }),
};

for (const [mode, codec] of Object.entries(MODES)) {
  await using conn = await tcp.connect({ hostname, port: Number(port) });
  await conn.write(`${mode}\n`);
  for (const message of MESSAGES) await conn.write(codec.encode(message));
  await conn.shutdown("write"); // no more messages: the server reads EOF
  const seen = await new Response(conn.readable).text();
  console.log(`${mode}: "hello" is ${hex(codec.encode(MESSAGES[0]!))}`);
  for (const line of seen.trimEnd().split("\n")) {
    console.log(`  server: ${line}`);
  }
}
