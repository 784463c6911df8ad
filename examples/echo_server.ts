#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT
/**
 * The echo server of the Python tutorials: it sends every chunk it receives
 * back, followed by `I get it!`, and hangs up on a client that stays silent
 * for 5 seconds (the tutorial's `conn.settimeout(5)`). Many clients at
 * once; Ctrl-C stops it gracefully. Talk to it with `echo_client.ts`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT examples/echo_server.ts [port] [idle-seconds]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 12345 (0: any free
 * port). The idle timeout is the second argument, 5 seconds by default.
 *
 * @module
 */
import { shutdownOnSignals, tcp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);
const idleSeconds = Number(Deno.args[1] ?? 5);

const server = tcp.listen({ port }, async (conn) => {
  const peer = tcp.formatAddress(conn.remoteAddr);
  console.error(`connection from ${peer}`);
  try {
    // recv() until the client closes: null is Python's b"".
    for (let data; (data = await conn.read()) !== null;) {
      await conn.write(data); // sendall()
      await conn.write("\nI get it!\n");
    }
    console.error(`${peer} hung up`);
  } catch (error) {
    if (!(error instanceof tcp.TimeoutError)) throw error;
    console.error(`${peer} was silent for ${idleSeconds} s: closed`);
  }
}, { idleTimeout: idleSeconds * 1000 });

console.error(`listening on ${tcp.formatAddress(server.addr)}`);
shutdownOnSignals(server); // Ctrl-C: stop accepting, let clients finish
await server.finished;
