/**
 * A command server (`serveCommands`) and clients that flood it with empty
 * request lines and never read a reply, in one process run with
 * `--v8-flags=--expose-gc`, so that what the server holds — its V8 heap and
 * the array buffers outside it, after a full garbage collection — is
 * measured while the floods are stalled (the server's replies fill the
 * clients' receive buffers, and its writes wait). Prints one JSON line:
 * `{ clients, before, during, samples, served }` (bytes held).
 *
 * Usage: `deno run --v8-flags=--expose-gc -A
 * tests/reliability/_rexec_flood.ts CLIENTS BYTES`
 *
 * @module
 */
import { runRemoteCommand, serveCommands } from "../../rexec/mod.ts";
import { socketQueues, writeAll } from "./_harness.ts";

const [clients, bytes] = Deno.args.map(Number) as [number, number];
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");

function held(): number {
  gc!();
  gc!();
  const memory = Deno.memoryUsage();
  return memory.heapUsed + memory.external;
}

await using server = serveCommands({ port: 0 }, {
  allow: ["echo"],
  onError: () => {},
});
if (!("port" in server.addr)) throw new Error("Expected a TCP server");
const port = server.addr.port;
const check = async () => {
  const result = await runRemoteCommand(server.addr, ["echo", "ok"]);
  if (new TextDecoder().decode(result.stdout) !== "ok\n") {
    throw new Error("the server did not answer another client");
  }
};
await check();
const before = held();
const flood = new Uint8Array(bytes).fill(0x0a);
const hogs: Deno.TcpConn[] = [];
for (let i = 0; i < clients; i++) {
  const hog = await Deno.connect({ hostname: "127.0.0.1", port });
  hogs.push(hog);
  writeAll(hog, flood).catch(() => {}); // stalls: the server stops reading
}
// Sample until the floods stall (every server-side socket has replies
// waiting and the queues stop moving) or 3 s pass (a read is decoded as it is served: the peak comes early): the kernel gives no
// event for "the queues stopped moving".
const ports = hogs.map((hog) => hog.localAddr.port);
const stop = performance.now() + 3_000;
let during = held();
let samples = 1;
let last = "";
for (;;) {
  const now = held();
  samples++;
  if (now > during) during = now;
  const queues = await Promise.all(ports.map((p) => socketQueues(port, p)));
  const text = JSON.stringify(queues);
  const stalled = text === last &&
    queues.every((q) => q !== undefined && q.sendQueue > 0);
  last = text;
  if (stalled || performance.now() > stop) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
await check();
for (const hog of hogs) hog.close();
console.log(JSON.stringify({ clients, before, during, samples, served: true }));
