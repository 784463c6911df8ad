/**
 * Benchmark server: raw Deno, no sockit, the one-liner echo
 * `conn.readable.pipeTo(conn.writable)`. No idle timeout: `pipeTo` offers
 * no hook to see activity without adding a stream of our own.
 *
 * Run: `deno run --allow-net bench/net/servers/deno_pipe_to.ts`
 *
 * @module
 */
import { announce } from "./_args.ts";

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
announce(listener.addr);
for await (const conn of listener) {
  conn.readable.pipeTo(conn.writable).catch(() => {});
}
