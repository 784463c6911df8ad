/**
 * UDP and Unix datagram sockets, Python's `socket(AF_INET, SOCK_DGRAM)`
 * the Deno way: {@linkcode bind} a socket (or {@linkcode bindClient} one
 * for talking to a peer), `send` and `receive` datagrams
 * (`sendto`/`recvfrom`) with a timeout that leaves the socket usable,
 * iterate over incoming ones, {@linkcode broadcast} and collect replies,
 * join multicast groups, serve datagrams ({@linkcode serveDatagrams}), and
 * make requests that survive loss ({@linkcode request} with retries and a
 * small matching header, answered by {@linkcode serveRequests}).
 *
 * Needs `--unstable-net` (`Deno.listenDatagram` is unstable); without it
 * {@linkcode bind} throws an error that says so.
 *
 * `TimeoutError`, `ShutdownOptions` and the address types are `net/`'s,
 * re-exported here.
 *
 * @example Broadcast on this machine and collect the ACKs
 * ```ts
 * import { bind, broadcast, LOOPBACK_BROADCAST, serveDatagrams } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = bind({ hostname: LOOPBACK_BROADCAST, port: 0 });
 * await using _server = serveDatagrams(listener, () => "ACK");
 * const replies = await broadcast("Hi there!", {
 *   hostname: LOOPBACK_BROADCAST,
 *   port: listener.addr.port,
 * }, { timeout: 200 });
 * assertEquals(new TextDecoder().decode(replies[0]!.data), "ACK");
 * ```
 *
 * @module
 */
export * from "./broadcast.ts";
export * from "./errors.ts";
export * from "./multicast.ts";
export * from "./request.ts";
export * from "./serve.ts";
export * from "./socket.ts";
export {
  type Address,
  formatAddress,
  type ShutdownOptions,
  type SocketAddress,
  type TcpAddress,
  TimeoutError,
  type UnixAddress,
} from "../net/mod.ts";
