#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT
/**
 * The echo server again, `select`/`poll` style: one loop serves every
 * client. Python registers each accepted socket with `select.poll()` and
 * loops over `poll()`'s events; here the server hands each connection to a
 * `Poller`, and one `for await` loop gets the events of all of them: data,
 * EOF, errors, and a timeout event when nothing happens for 10 seconds.
 * It answers as `echo_server.ts` does (without the idle timeout), so try
 * several `echo_client.ts` at once.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT examples/poll_server.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 12345 (0: any free
 * port).
 *
 * @module
 */
import { tcp } from "../mod.ts";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);
const poller = new tcp.Poller([], { timeout: 10_000 });

// Register each new client. Returning add()'s promise keeps the connection
// open until the poller has seen it end; then the server closes it.
const server = tcp.listen({ port }, (conn) => {
  console.error(`connection from ${tcp.formatAddress(conn.remoteAddr)}`);
  return poller.add(conn);
});
console.error(`listening on ${tcp.formatAddress(server.addr)}`);
tcp.shutdownOnSignals(server);
server.finished.then(() => poller.close()); // ends the loop below

for await (const event of poller) {
  if (event.type === "timeout") { // poll(10_000) returned []
    console.error(`quiet for 10 s, clients connected: ${poller.size}`);
    continue;
  }
  const conn = event.source as tcp.Connection;
  const peer = tcp.formatAddress(conn.remoteAddr);
  if (event.type === "data") { // POLLIN with data
    console.error(`${peer}: ${event.data.length} bytes`);
    try {
      await conn.write(event.data); // one slow client slows the loop,
      await conn.write("\nI get it!\n"); // as a blocking send() would
    } catch (error) {
      console.error(`${peer}: ${(error as Error).message}`);
      conn.close(); // the poller reports its error next
    }
  } else { // "eof" (recv() returned b"") or "error" (POLLERR)
    console.error(`${peer} left`);
  }
}
console.error("shut down");
