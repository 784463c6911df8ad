/**
 * Benchmark server: what `cat --listen --keep-open --recv-only` does,
 * written with the library alone — `tcp.listen()` and, for each client,
 * `relay()` from the connection to `Deno.stdout.writable` (the library
 * function `cat` is built on, as a user would call it) — so that the tool
 * can be measured against the library doing the same work
 * (`bench/net/tools.ts`). It says `listening on …` on stderr: stdout
 * carries the data.
 *
 * Run: `deno run --allow-net bench/net/servers/sockit_sink.ts --idle-timeout 60000 > /dev/null`
 *
 * @module
 */
import { relay } from "../../../relay/mod.ts";
import { listen } from "../../../tcp/mod.ts";
import { idleTimeoutFlag } from "./_args.ts";

/** A client that sends nothing more than its bytes: no input to relay. */
const nothing = () => new ReadableStream<Uint8Array>({ start() {} });

const idleTimeout = idleTimeoutFlag(Deno.args);
const server = listen({ port: 0 }, async (conn) => {
  await relay(conn, { readable: nothing(), writable: Deno.stdout.writable }, {
    endWithPeer: true,
  });
}, {
  ...(idleTimeout === undefined ? {} : { idleTimeout }),
  onError: () => {},
});
console.error(`listening on 127.0.0.1:${server.addr.port}`);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
