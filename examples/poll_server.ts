#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT --unstable-net
/**
 * The echo server again, `select`/`poll` style: one loop serves many TCP
 * clients and a UDP socket. Python registers every socket with
 * `select.poll()` and loops over `poll()`; here a `Poller` watches the UDP
 * socket and each connection the server hands it, and one `for await` gets
 * all their events: data, datagrams, EOF, errors, and a timeout after 10
 * quiet seconds. It answers as `echo_server.ts` does (no idle timeout), over
 * TCP and UDP: try `echo_client.ts` and `udp_client.ts` at once.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT --unstable-net examples/poll_server.ts [port]
 * ```
 *
 * The port (TCP and UDP) is the first argument, else `$PORT`, else 12345
 * (0: a free port for each).
 *
 * @module
 */
import { Poller, shutdownOnSignals, tcp, udp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);
const ANSWER = new TextEncoder().encode("\nI get it!\n");
using udpSock = udp.bind({ port }); // watched from the start
const poller = new Poller([udpSock], { timeout: 10_000 });

// Returning add()'s promise keeps each connection open until it ends.
const server = tcp.listen({ port }, (conn) => {
  console.error(`connection from ${tcp.formatAddress(conn.remoteAddr)}`);
  return poller.add(conn);
});
console.error(`listening on ${tcp.formatAddress(server.addr)}`);
console.error(`listening on ${udp.formatAddress(udpSock.addr)} (udp)`);
shutdownOnSignals(server);
server.finished.then(() => poller.close()); // ends the loop below

for await (const event of poller) {
  if (event.type === "timeout") { // poll(10_000) returned []
    console.error(`quiet for 10 s, clients connected: ${poller.size - 1}`);
    continue;
  }
  if (event.type === "datagram") { // recvfrom() on the UDP socket
    const { data, from } = event;
    console.error(`${udp.formatAddress(from)}: ${data.length} bytes (udp)`);
    const answer = new Uint8Array([...data, ...ANSWER]); // one datagram
    await udpSock.send(answer, from).catch((e) => console.error(`${e}`));
    continue;
  }
  if (event.source === udpSock) continue; // a too-large datagram, dropped
  const conn = event.source as tcp.Connection;
  const peer = tcp.formatAddress(conn.remoteAddr);
  if (event.type === "data") { // POLLIN with data
    console.error(`${peer}: ${event.data.length} bytes`);
    try {
      await conn.write(event.data); // one slow client slows the loop,
      await conn.write(ANSWER); // as a blocking send() would
    } catch (error) {
      console.error(`${peer}: ${(error as Error).message}`);
      conn.close(); // the poller reports its error next
    }
  } else { // "eof" (recv() returned b"") or "error" (POLLERR)
    console.error(`${peer} left`);
  }
}
console.error("shut down");
