#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-read=. --unstable-net
/**
 * An echo server on every core: `tcp.listenWorkers()` runs this program
 * again in N workers (one per CPU by default), each listening on the same
 * port with `reusePort`; Linux hands each new connection to one of them,
 * by a hash of the client's and the server's addresses and ports. A worker
 * that crashes is restarted; Ctrl-C (or SIGTERM) drains them all. What a
 * Node program does with `node:cluster`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read=. --unstable-net examples/echo_workers.ts [port] [workers]
 * ```
 *
 * `--unstable-net` allows `reusePort` in Deno 2.9. `--allow-read=.` is for
 * the workers: each loads the program's modules again, and Deno checks a
 * worker's local modules as it checks files read (run it from the folder
 * that holds the program and its local imports).
 *
 * The port is the first argument, else 12345 (0: any free port); the
 * number of workers the second, else `auto` (one per CPU). Try a few
 * `nc 127.0.0.1 12345` and watch which worker serves each.
 *
 * @module
 */
import { shutdownOnSignals, tcp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? 12345);
const workers = Deno.args[1] === undefined || Deno.args[1] === "auto"
  ? "auto"
  : Number(Deno.args[1]);

// Each worker runs this file from the top, reaches this call with the same
// arguments, and starts its own server there (start runs in the workers).
const pool = await tcp.listenWorkers(
  { port },
  (address, worker) =>
    tcp.listen(address, async (conn) => {
      const peer = tcp.formatAddress(conn.remoteAddr);
      console.error(`[worker ${worker}] connection from ${peer}`);
      for await (const chunk of conn) await conn.write(chunk);
      console.error(`[worker ${worker}] closed ${peer}`);
    }, { reusePort: true }),
  { workers },
);

// Only the primary gets here.
shutdownOnSignals(pool, { gracePeriod: 5000 });
console.error(
  `listening on ${tcp.formatAddress(pool.addr)} (${pool.workers} workers)`,
);
await pool.finished;
console.error("shut down");
