#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT
/**
 * The server side of a half-open socket: it reads the whole request — up
 * to EOF, which comes when the client shuts down writing
 * (`shutdown(SHUT_WR)`) — and only then answers, on the same connection,
 * which is still open in the other direction. Try it with
 * `half_open_client.ts`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT examples/half_open_server.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 12345 (0: any free
 * port).
 *
 * @module
 */
import { shutdownOnSignals, tcp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);

const server = tcp.listen({ port }, async (conn) => {
  const peer = tcp.formatAddress(conn.remoteAddr);
  // Read until EOF: the request has no length and no end marker, the
  // client's FIN ends it. conn.readable reads through conn.read(), so EOF
  // ends the stream but does not close the socket.
  const request = await new Response(conn.readable).text();
  console.error(`${peer} sent ${request.length} characters, then EOF`);
  await conn.write(`you said: ${request.toUpperCase()}\n`);
  // Returning closes the connection: the client reads EOF in turn.
});

console.error(`listening on ${tcp.formatAddress(server.addr)}`);
shutdownOnSignals(server);
await server.finished;
