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
 * Unlike the tutorials' loop, it never answers a datagram that is itself an
 * `ACK` (`ACK`, or `ACK` and a space and more), and answers one address at
 * most 10 times a second: a sender's address can be forged, and two
 * receivers made to answer each other would ACK each other's ACKs forever.
 * And it prints what a peer sent with control characters escaped, so that
 * no peer can drive the terminal (`\x1b`, `\x9b`: ESC and CSI).
 *
 * @module
 */
import { shutdownOnSignals, udp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 37020);
const decoder = new TextDecoder();

/** Whether `text` is a reply: `ACK`, or `ACK`, a space and more. */
function isAck(text: string): boolean {
  return text === "ACK" || text.startsWith("ACK ");
}

/** `\` and the control characters: C0, DEL and C1. */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\\\x00-\x1f\x7f-\x9f]/g;

/** `text` with `\` as `\\` and control characters as `\xHH`. */
function printable(text: string): string {
  return text.replace(
    CONTROLS,
    (c) =>
      c === "\\"
        ? "\\\\"
        : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

using socket = udp.bind(
  { hostname: udp.LOOPBACK_BROADCAST, port },
  { reuseAddress: true }, // setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
);
// while True: data, addr = s.recvfrom(1024); print(…); s.sendto(b"ACK", addr)
const server = udp.serveDatagrams(socket, ({ data, from }) => {
  const text = decoder.decode(data);
  console.log(`${printable(text)} from ${udp.formatAddress(from)}`);
  return isAck(text) ? null : "ACK"; // null: no reply
}, { maxRepliesPerSecond: 10 }); // per address; the others are counted

console.error(`listening on ${udp.formatAddress(socket.addr)}`);
shutdownOnSignals(server);
await server.finished;
if (server.repliesLimited > 0) {
  console.error(`${server.repliesLimited} ACKs not sent: 10 a second at most`);
}
console.error(`shut down after ${server.repliesSent} ACKs`);
