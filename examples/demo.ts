#!/usr/bin/env -S deno run --allow-net=127.0.0.1,127.255.255.255 --allow-run --allow-read --allow-env
/**
 * The sockit demo: the whole toolkit on loopback, as a short transcript, and
 * then it exits by itself. It starts the `echo` tool (with an idle timeout)
 * and the `time` tool as real processes, talks to them with unframed and
 * framed clients, half-closes, broadcasts to `127.255.255.255` (this machine
 * only) and collects ACKs, runs a `rexec` command and a refused one, and packs
 * and unpacks with `struct`.
 *
 * Run it with `deno task demo`, or:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1,127.255.255.255 --allow-run --allow-read --allow-env examples/demo.ts
 * ```
 *
 * @module
 */
import { connect, formatAddress, listen } from "@sockit/sockit/tcp";
import {
  CommandRefusedError,
  runRemoteCommand,
  serveCommands,
} from "@sockit/sockit/rexec";
import {
  bind,
  broadcast,
  LOOPBACK_BROADCAST,
  serveDatagrams,
} from "@sockit/sockit/udp";
import { lengthPrefixed, lines, pack, Struct, unpack } from "@sockit/sockit";

const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);
const show = (line: string) => console.log(`  ${line}`);
const root = new URL("../", import.meta.url);

/** Starts a tool as a child process and waits for its `listening on` line. */
async function startTool(tool: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", `tools/${tool}.ts`, ...args],
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).values();
  let partial = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${tool} did not start: ${logs.join("\n")}`);
    const parts = (partial + value).split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      logs.push(line);
      const match = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
      if (match) port = Number(match[1]);
    }
  }
  const drained = (async () => {
    for await (const chunk of { [Symbol.asyncIterator]: () => lines }) {
      logs.push(...(partial + chunk).split("\n").filter((l) => l !== ""));
      partial = "";
    }
  })();
  return {
    port,
    logs,
    async stop(): Promise<number> {
      child.kill("SIGTERM");
      const { code } = await child.status;
      await drained;
      return code;
    },
  };
}

console.log("struct, exactly as Python has it");
show(`pack("!I", 20)       → ${toHex(pack("!I", 20))}`);
const header = new Struct("!HIq");
const packed = header.pack(7, 9, 1234567890123456789n);
show(`pack("!HIq", …)      → ${toHex(packed)}`);
show(`unpack("!HIq", …)    → ${JSON.stringify(header.unpack(packed), big)}`);
show(`unpack("<e", 0x3c00) → ${unpack("<e", new Uint8Array([0, 0x3c]))[0]}`);

console.log(
  "\nThe echo tool, with a 1 s idle timeout and the tutorial's suffix",
);
const echo = await startTool("echo", [
  "--port",
  "0",
  "--idle-timeout",
  "1",
  "--suffix",
  "\\nI get it!\\n",
]);
{
  await using conn = await connect({ port: echo.port });
  await conn.write("hello");
  await conn.shutdown("write"); // half-close: we are done sending
  const reply: Uint8Array[] = [];
  for (let chunk; (chunk = await conn.read()) !== null;) reply.push(chunk);
  show(`sent "hello", shut down writing, read to EOF:`);
  show(`  ${JSON.stringify(reply.map(text).join(""))}`);
}
{
  await using silent = await connect({ port: echo.port });
  const started = performance.now();
  const eof = await silent.read(); // the server closes us after 1 s
  show(
    `a silent client was closed by the server after ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s (read ${eof === null ? "EOF" : "data"})`,
  );
}
show(`echo exited with code ${await echo.stop()}; its log:`);
for (const line of echo.logs) show(`  ${line}`);

console.log("\nThe time tool (the Twisted example), lines framing");
const time = await startTool("time", ["--port", "0", "--quiet"]);
{
  await using conn = await connect({ port: time.port });
  const framed = conn.framed(lines());
  await framed.sendAll(["first line", "second line"]);
  show(`→ ${text((await framed.receive())!)}`);
  show(`→ ${text((await framed.receive())!)}`);
}
show(`time exited with code ${await time.stop()}`);

console.log("\nMessage boundaries: three sends, framed with a u16 length");
{
  const codec = lengthPrefixed({ header: "u16be" });
  const got: string[] = [];
  await using server = listen({ port: 0 }, async (conn) => {
    for await (const frame of conn.framed(codec)) got.push(text(frame));
  });
  await using conn = await connect(server.addr);
  const bytes = codec.encodeAll(
    ["hello", "brave", "world"].map((w) => new TextEncoder().encode(w)),
  );
  await conn.write(bytes.subarray(0, 4)); // split anywhere
  await conn.write(bytes.subarray(4));
  await conn.shutdown("write");
  await server.shutdown();
  show(`on the wire: ${toHex(bytes)}`);
  show(`the server got ${JSON.stringify(got)}`);
}

console.log("\nUDP broadcast to 127.255.255.255 (this machine only) with ACKs");
{
  using listener = bind({ hostname: LOOPBACK_BROADCAST, port: 0 });
  await using _acks = serveDatagrams(listener, () => "ACK");
  const port = listener.addr.port;
  const replies = await broadcast(
    "Hi there!",
    { hostname: LOOPBACK_BROADCAST, port },
    { timeout: 300 },
  );
  for (const reply of replies) {
    show(
      `reply ${JSON.stringify(text(reply.data))} from ${
        formatAddress(reply.from)
      }`,
    );
  }
}

console.log("\nrexec: only allow-listed programs, never a shell");
{
  await using server = serveCommands({ port: 0 }, { allow: ["echo"] });
  const result = await runRemoteCommand(server.addr, [
    "echo",
    "hi;",
    "rm",
    "-rf",
    "/",
  ]);
  show(
    `echo 'hi; rm -rf /' → ${
      JSON.stringify(text(result.stdout))
    } (exit ${result.code})`,
  );
  try {
    await runRemoteCommand(server.addr, ["rm", "-rf", "/"]);
  } catch (error) {
    if (!(error instanceof CommandRefusedError)) throw error;
    show(`rm -rf / → refused: ${error.reason} (${error.detail})`);
  }
}

console.log("\nDone: every server stopped, nothing left running.");

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function big(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? `${value}n` : value;
}
