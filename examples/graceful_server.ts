#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT
/**
 * Graceful exit: on Ctrl-C (SIGINT) or SIGTERM the server stops accepting,
 * lets the requests it is working on finish (for up to 10 seconds), then
 * closes what is left and exits 0. A second Ctrl-C exits at once (130;
 * 143 for SIGTERM). What Python does with `signal.signal()` and
 * `except KeyboardInterrupt` around `serve_forever()`.
 *
 * Each request is a line holding a number of milliseconds of "work"; the
 * answer, after that long, is `done after N ms`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT examples/graceful_server.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 12345 (0: any free
 * port). Try `printf '3000\n' | nc 127.0.0.1 12345` and Ctrl-C the server.
 *
 * @module
 */
import { lines, shutdownOnSignals, tcp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);
const decoder = new TextDecoder();

const server = tcp.listen({ port }, async (conn) => {
  const peer = tcp.formatAddress(conn.remoteAddr);
  const requests = conn.framed(lines());
  // During a shutdown, a client with no request under way reads EOF here.
  for await (const request of requests) {
    const ms = Number(decoder.decode(request));
    if (!(ms >= 0 && ms <= 60_000)) {
      await requests.send("give a number of milliseconds, 0 to 60000");
      continue;
    }
    console.error(`working ${ms} ms for ${peer}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    await requests.send(`done after ${ms} ms`);
  }
});

console.error(`listening on ${tcp.formatAddress(server.addr)}`);
shutdownOnSignals(server, { gracePeriod: 10_000 });
await server.finished; // after the signal, once every handler is done
console.error(`shut down after ${server.acceptedConnections} connections`);
