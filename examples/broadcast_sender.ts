#!/usr/bin/env -S deno run --allow-net=127.0.0.1,127.255.255.255 --allow-env=PORT --unstable-net
/**
 * The broadcast sender of the Python tutorials: it shouts `Hi there!` to
 * every listener at once, and prints each `ACK` that comes back with its
 * sender. Python turns on `SO_BROADCAST` and sends to `("<broadcast>",
 * 37020)`; Deno's UDP sockets may always broadcast, and this example sends
 * to `127.255.255.255`, the broadcast address of the loopback network, so
 * that nothing leaves this machine. Start one or more
 * `broadcast_receiver.ts` first.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1,127.255.255.255 --allow-env=PORT --unstable-net examples/broadcast_sender.ts [port] [count] [interval-seconds]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 37020. It sends
 * `count` times (3 by default), `interval` seconds apart (1 by default),
 * collects ACKs for one more interval, and exits 1 if none came.
 *
 * @module
 */
import { udp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 37020);
const count = Number(Deno.args[1] ?? 3);
const interval = Number(Deno.args[2] ?? 1) * 1000;
const decoder = new TextDecoder();

const to = { hostname: udp.LOOPBACK_BROADCAST, port };
console.error(`sending "Hi there!" to ${udp.formatAddress(to)} ${count} times`);
// for _ in range(count): s.sendto(b"Hi there!", to); then recvfrom() the
// ACKs until the next send, and for one interval after the last one
const acks = await udp.broadcast("Hi there!", to, {
  count,
  interval,
  timeout: interval,
  onReply: ({ data, from }) =>
    console.log(`${decoder.decode(data)} from ${udp.formatAddress(from)}`),
});
console.error(`${acks.length} ACKs`);
if (acks.length === 0) Deno.exitCode = 1;
