/**
 * A command server for memory tests, run as its own process with
 * `--v8-flags=--expose-gc`: it serves `echo` on `127.0.0.1`, port 0, and
 * prints `port N`; for each line on stdin it collects garbage and prints
 * `external N`, the bytes held outside the JavaScript heap (the buffers
 * sockets read into). EOF on stdin shuts it down.
 *
 * @module
 */
import { serveCommands } from "../../rexec/mod.ts";
import { portOf } from "../tcp/_helpers.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

const server = serveCommands({ port: 0 }, { allow: ["echo"] });
console.log(`port ${portOf(server)}`);
for await (const chunk of Deno.stdin.readable) {
  for (const byte of chunk) {
    if (byte !== 0x0a) continue;
    gc();
    console.log(`external ${Deno.memoryUsage().external}`);
  }
}
await server.shutdown({ gracePeriod: 0 });
