#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT --unstable-net
/**
 * The UDP echo server of the Python tutorials: `socket(AF_INET,
 * SOCK_DGRAM)` and `bind()`, then `recvfrom()` a datagram and `sendto()` it
 * straight back to its sender, forever. There are no connections: each
 * datagram stands alone and says who sent it, and that is who gets the
 * answer. Ctrl-C stops it gracefully. Talk to it with `udp_client.ts`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT --unstable-net examples/udp_echo_server.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 12345 (0: any free
 * port). `--unstable-net` because `Deno.listenDatagram` is still unstable.
 * From Python: `s.sendto(b"hi", ("127.0.0.1", 12345)); s.recvfrom(1024)`.
 *
 * @module
 */
import { shutdownOnSignals, udp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);

using socket = udp.bind({ hostname: "127.0.0.1", port });
// while True: data, addr = s.recvfrom(65507); s.sendto(data, addr)
const server = udp.serveDatagrams(socket, ({ data, from }) => {
  console.error(`${udp.formatAddress(from)}: ${data.length} bytes`);
  return data; // sent back to `from`
});

console.error(`listening on ${udp.formatAddress(socket.addr)}`);
shutdownOnSignals(server); // Ctrl-C: answer the datagram in hand, stop
await server.finished;
console.error(`shut down after ${server.datagramsReceived} datagrams`);
