#!/usr/bin/env -S deno run --allow-net=127.0.0.1,127.255.255.255 --allow-env=PORT --unstable-net
/**
 * The broadcast receiver of the Python tutorials: it prints each message
 * that reaches it, with its sender, and answers each with `ACK`, sent back
 * (unicast) to that sender only. Start several: the port is bound with
 * `SO_REUSEADDR`, so they share it, and every one of them gets every
 * broadcast. Ctrl-C stops it. Shout at it with `broadcast_sender.ts`.
 *
 * It binds `127.255.255.255`, the broadcast address of the loopback
 * network, so it hears broadcasts from this machine only. (Python binds
 * `("", 37020)`, every interface. On Linux a socket bound to `127.0.0.1`
 * would hear no broadcasts at all.)
 *
 * ```sh
 * deno run --allow-net=127.0.0.1,127.255.255.255 --allow-env=PORT --unstable-net examples/broadcast_receiver.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 37020 (0: any free
 * port).
 *
 * @module
 */
import { shutdownOnSignals, udp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 37020);
const decoder = new TextDecoder();

using socket = udp.bind(
  { hostname: udp.LOOPBACK_BROADCAST, port },
  { reuseAddress: true }, // setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
);
// while True: data, addr = s.recvfrom(1024); print(…); s.sendto(b"ACK", addr)
const server = udp.serveDatagrams(socket, ({ data, from }) => {
  console.log(`${decoder.decode(data)} from ${udp.formatAddress(from)}`);
  return "ACK";
});

console.error(`listening on ${udp.formatAddress(socket.addr)}`);
shutdownOnSignals(server);
await server.finished;
console.error(`shut down after ${server.repliesSent} ACKs`);
