/**
 * {@linkcode broadcast}: send one message to a broadcast address and
 * collect the replies until a deadline — the sending half of the Python
 * broadcast tutorial (`SO_BROADCAST`, `sendto(b"Hi there!",
 * ("<broadcast>", port))`, then `recvfrom` the ACKs).
 *
 * Deno always sets `SO_BROADCAST` on UDP sockets, so there is nothing to
 * turn on. Two broadcast addresses matter:
 *
 * - `255.255.255.255` ({@linkcode LIMITED_BROADCAST}): every host on the
 *   local network.
 * - `127.255.255.255` ({@linkcode LOOPBACK_BROADCAST}): this machine only;
 *   nothing leaves it. Tests and examples use this one. On Linux a
 *   listener receives it when bound to `127.255.255.255` or `0.0.0.0`,
 *   not when bound to `127.0.0.1`.
 *
 * A listener that answers every datagram (`serveDatagrams(socket, () =>
 * "ACK")`) can be turned against others: a datagram whose sender address
 * is forged to be another such listener's makes the two answer each other
 * forever. A listener facing the network should answer nothing to a
 * datagram that is itself a reply, and bound its replies with
 * `serveDatagrams`' `maxRepliesPerSecond` — as the `broadcast` tool does:
 * its replies are `ACK` or `ACK …`, it answers none of those, and it sends
 * at most 10 replies a second to one address.
 *
 * @module
 */
import {
  type SocketAddress,
  type TcpAddress,
  TimeoutError,
} from "../net/mod.ts";
import { DatagramTooLargeError } from "./errors.ts";
import { bindClient, type Datagram, type DatagramSocket } from "./socket.ts";

/** The broadcast address of the local network (`INADDR_BROADCAST`). */
export const LIMITED_BROADCAST = "255.255.255.255";
/** The broadcast address of the loopback network: this machine only. */
export const LOOPBACK_BROADCAST = "127.255.255.255";

/** Options for {@linkcode broadcast}. */
export interface BroadcastOptions {
  /**
   * The socket to send from and receive replies on. Without it, one is
   * bound for the occasion with `bindClient(to)` (to `127.0.0.1` for a
   * `127.x.x.x` address, `::1` for `::1`, else to all interfaces, so that
   * replies from the network reach it) and closed at the end.
   *
   * @default {a new socket}
   */
  socket?: DatagramSocket<"udp">;
  /**
   * How long to collect replies after the last send, in milliseconds: the
   * Python tutorial's `settimeout()` before its `recvfrom()` loop, which
   * ends at `socket.timeout`. Reaching it is the normal end, not an error.
   *
   * @default {2000}
   */
  timeout?: number;
  /**
   * How many times to send the message.
   *
   * @default {1}
   */
  count?: number;
  /**
   * Milliseconds between sends (replies are collected meanwhile).
   *
   * @default {1000}
   */
  interval?: number;
  /** Called with each reply as it arrives. */
  onReply?: (reply: Datagram<"udp">) => void;
  /** Stops sending and collecting; rejects with the signal's reason. */
  signal?: AbortSignal;
}

function checkOption(
  name: string,
  value: unknown,
  min: number,
  integer = false,
): void {
  if (
    typeof value !== "number" || !Number.isFinite(value) || !(value >= min) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Cannot broadcast with ${name} ${String(value)}: give ${
        integer ? "an integer" : "a number"
      } >= ${min}`,
    );
  }
}

/**
 * Sends `data` to `to` (`count` times, `interval` apart) and collects
 * every reply until `timeout` milliseconds after the last send. Works for any
 * address — broadcast, multicast group or a single host — and returns the
 * replies in arrival order (several per listener when `count` > 1).
 *
 * @param data The message: bytes, or a string (UTF-8).
 * @param to Where to send it, such as `{ hostname: "127.255.255.255", port }`:
 * the address (usually a broadcast one; never defaulted) and the port the
 * listeners are bound to.
 * @param options `socket`, `timeout`, `count`, `interval`, `onReply`,
 * `signal`.
 * @returns The replies with their senders (`reply.from.hostname`,
 * `reply.from.port`).
 * @throws {RangeError} On a bad option.
 * @throws {DatagramTooLargeError} If `data` does not fit in one datagram.
 *
 * @example Two listeners on this machine answer one broadcast
 * ```ts
 * import { bind, broadcast, LOOPBACK_BROADCAST, serveDatagrams } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using a = bind({ hostname: LOOPBACK_BROADCAST, port: 0 }, { reuseAddress: true });
 * const port = a.addr.port;
 * using b = bind({ hostname: LOOPBACK_BROADCAST, port }, { reuseAddress: true });
 * await using _ackA = serveDatagrams(a, () => "ACK");
 * await using _ackB = serveDatagrams(b, () => "ACK");
 * const replies = await broadcast("Hi there!", { hostname: LOOPBACK_BROADCAST, port }, {
 *   timeout: 300,
 * });
 * assertEquals(replies.map((r) => new TextDecoder().decode(r.data)), ["ACK", "ACK"]);
 * ```
 */
export async function broadcast(
  data: Uint8Array | string,
  to: Required<TcpAddress> | SocketAddress<"udp">,
  options: BroadcastOptions = {},
): Promise<Datagram<"udp">[]> {
  if (
    to === null || typeof to !== "object" || !("hostname" in to) ||
    typeof to.hostname !== "string" || to.hostname === ""
  ) {
    throw new TypeError(
      "Cannot broadcast without an address: give { hostname, port }, such as 127.255.255.255 (this machine) or 255.255.255.255 (the local network)",
    );
  }
  const wait = options.timeout ?? 2000;
  const count = options.count ?? 1;
  const interval = options.interval ?? 1000;
  checkOption("timeout", wait, 0);
  checkOption("count", count, 1, true);
  checkOption("interval", interval, 0);
  const signal = options.signal;
  signal?.throwIfAborted();
  const own = options.socket === undefined;
  const socket = options.socket ??
    bindClient({ hostname: to.hostname, port: to.port });
  const replies: Datagram<"udp">[] = [];
  const collectUntil = async (until: number): Promise<void> => {
    for (;;) {
      const left = Math.ceil(until - performance.now());
      if (left <= 0) return;
      let reply: Datagram<"udp">;
      try {
        reply = await socket.receive({
          timeout: left,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (error instanceof TimeoutError) return;
        if (error instanceof DatagramTooLargeError) continue;
        throw error;
      }
      replies.push(reply);
      options.onReply?.(reply);
    }
  };
  try {
    for (let sent = 1; sent <= count; sent++) {
      await socket.send(data, { hostname: to.hostname, port: to.port });
      await collectUntil(performance.now() + (sent < count ? interval : wait));
    }
    return replies;
  } finally {
    if (own) await socket[Symbol.asyncDispose]();
  }
}
