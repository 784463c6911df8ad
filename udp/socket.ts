/**
 * {@linkcode bind} and {@linkcode DatagramSocket}: UDP and Unix datagram
 * sockets over `Deno.listenDatagram` — Python's `socket(AF_INET,
 * SOCK_DGRAM)` with `bind`, `sendto`, `recvfrom` and `settimeout`.
 *
 * Datagrams keep their boundaries, but may be lost, duplicated or
 * reordered; `request()` (in `request.ts`) builds retries and matching on
 * top.
 *
 * Sizes: one UDP datagram carries at most 65,507 bytes of payload over
 * IPv4 and 65,527 over IPv6; `send()` refuses more with
 * `DatagramTooLargeError` before anything is sent. Deno's own
 * `DatagramConn.receive()` reads into a 65,507-byte buffer unless given one,
 * and the kernel silently cuts a datagram that does not fit the buffer; a
 * `DatagramSocket` always reads into a buffer one byte larger than its
 * `maxDatagramSize`, so a datagram that is too big is noticed and reported
 * (`DatagramTooLargeError`), never handed out truncated.
 *
 * @module
 */
import {
  type Address,
  formatAddress,
  type SocketAddress,
  type TcpAddress,
  TimeoutError,
  type UnixAddress,
} from "../net/mod.ts";
import {
  checkAddress,
  DEFAULT_HOSTNAME,
  toSocketAddress,
} from "../_internal/address.ts";
import { wrapError } from "../_internal/errors.ts";
import { listenDatagramApi } from "./_support.ts";
import { canonicalIp, isIpv6, parseIpv4, parseIpv6 } from "../_internal/ip.ts";
import { DatagramTooLargeError } from "./errors.ts";
import { hooks } from "./_hooks.ts";
import { copyOut } from "../_internal/slab.ts";
import { Waiter } from "../_internal/waiter.ts";
import { type JoinMulticastOptions, MulticastMembership } from "./multicast.ts";

/** The most payload one UDP datagram carries over IPv4: 65,535 − 20 − 8. */
export const MAX_UDP_PAYLOAD_IPV4 = 65507;
/** The most payload one UDP datagram carries over IPv6: 65,535 − 8. */
export const MAX_UDP_PAYLOAD_IPV6 = 65527;
/** The default `maxDatagramSize` of a Unix (`unixpacket`) datagram socket. */
const DEFAULT_MAX_UNIX_DATAGRAM = 65536;
/** The largest `maxDatagramSize` a Unix datagram socket accepts (16 MiB). */
const MAX_UNIX_DATAGRAM = 16 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * One datagram received: its bytes and its sender (Python's `recvfrom`
 * pair).
 *
 * @typeParam T The transport, `"udp"` or `"unixpacket"`, which types
 * `from`: a UDP datagram's `from.port` needs no narrowing.
 */
export interface Datagram<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
> {
  /** The payload (a new array you own). */
  data: Uint8Array;
  /**
   * The sender. A Unix sender that never bound a path shows as
   * `{ transport: "unixpacket", path: "" }` and cannot be answered.
   */
  from: SocketAddress<T>;
}

/** Options shared by {@linkcode bind} and the {@linkcode DatagramSocket} constructor. */
export interface DatagramSocketOptions {
  /**
   * The largest datagram this socket sends or receives, in bytes. Larger
   * ones raise `DatagramTooLargeError`: before sending, or on receiving
   * (the datagram is dropped, the socket stays usable). The receive buffer
   * is this plus one byte.
   *
   * @default {65507 for UDP over IPv4, 65527 over IPv6, 65536 for Unix}
   */
  maxDatagramSize?: number;
  /**
   * The receive timeout in milliseconds, or `null` to wait forever
   * (Python's `settimeout`); `receive({ timeout })` overrides it per call.
   *
   * @default {null}
   */
  timeout?: number | null;
}

/** Options for {@linkcode bind}. */
export interface BindOptions extends DatagramSocketOptions {
  /**
   * Set `SO_REUSEADDR` (UDP only), so that several sockets can bind the
   * same address and port: each of them receives every broadcast and
   * multicast datagram; a unicast one goes to one of them. Deno has no
   * `SO_REUSEPORT` for UDP.
   *
   * @default {false}
   */
  reuseAddress?: boolean;
  /**
   * Deliver multicast datagrams this socket sends to sockets on this
   * machine too (`IP_MULTICAST_LOOP`; UDP only). Deno's default is off,
   * unlike the kernel's.
   *
   * @default {false}
   */
  multicastLoopback?: boolean;
}

/** Options for {@linkcode DatagramSocket.receive}. */
export interface ReceiveOptions {
  /**
   * Give up after this many milliseconds with `TimeoutError`; `null`
   * waits forever. A datagram that arrives later is kept for the next
   * receive.
   *
   * @default {the socket's timeout}
   */
  timeout?: number | null;
  /** Stops waiting (the socket stays usable and nothing is lost). */
  signal?: AbortSignal;
}

function checkTimeout(ms: unknown, what: string): void {
  if (ms !== null && (typeof ms !== "number" || !(ms >= 0))) {
    throw new RangeError(
      `Cannot ${what} with a timeout of ${
        String(ms)
      }: give milliseconds (>= 0) or null`,
    );
  }
}

function datagramAddress(
  addr: Deno.Addr,
): SocketAddress<"udp" | "unixpacket"> {
  if (addr.transport === "unixpacket") {
    return { transport: "unixpacket", path: addr.path ?? "" };
  }
  // Deno hands out a fresh { transport, hostname, port } per datagram.
  if (addr.transport === "udp") return addr as SocketAddress<"udp">;
  return toSocketAddress(addr) as SocketAddress<"udp" | "unixpacket">;
}

/**
 * Binds a datagram socket: UDP on `{ hostname, port }` (`hostname`
 * `127.0.0.1` by default, port 0 for any free one) or a Unix datagram
 * socket (`unixpacket`) on `{ path }`. Python's `socket(AF_INET,
 * SOCK_DGRAM)` + `bind()`. Broadcast (`SO_BROADCAST`) is always on in
 * Deno.
 *
 * To receive broadcasts sent to `127.255.255.255` bind that address (or
 * `0.0.0.0`): Linux does not deliver broadcasts to a socket bound to
 * `127.0.0.1`.
 *
 * @param address Where to bind.
 * @param options `reuseAddress`, `multicastLoopback`, `maxDatagramSize`,
 * `timeout`.
 * @returns The socket; its `addr` is typed by the address given
 * (`socket.addr.port` for UDP), and so are its datagrams' senders.
 * @throws {Deno.errors.NotSupported} Without `--unstable-net`.
 * @throws {RangeError} On a bad port or option.
 * @throws {Deno.errors.AddrInUse} If the address is taken.
 *
 * @example Python's sendto/recvfrom on loopback
 * ```ts
 * import { bind } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using a = bind({ port: 0 });
 * using b = bind({ port: 0 });
 * await a.send("ping", b.addr);
 * const { data, from } = await b.receive({ timeout: 1000 });
 * assertEquals(new TextDecoder().decode(data), "ping");
 * assertEquals(from.port, a.addr.port);
 * ```
 */
export function bind(
  address?: TcpAddress,
  options?: BindOptions,
): DatagramSocket<"udp">;
/**
 * Binds a Unix datagram socket (`unixpacket`) on `{ path }`.
 *
 * @param address The socket file's path.
 * @param options `maxDatagramSize`, `timeout`.
 * @returns The socket.
 */
export function bind(
  address: UnixAddress,
  options?: BindOptions,
): DatagramSocket<"unixpacket">;
/**
 * Binds a UDP or a Unix datagram socket.
 *
 * @param address Where to bind.
 * @param options As above.
 * @returns The socket.
 */
export function bind(address: Address, options?: BindOptions): DatagramSocket;
export function bind(
  address: Address = { port: 0 },
  options: BindOptions = {},
): DatagramSocket {
  checkAddress(address, "bind");
  const listenDatagram = listenDatagramApi();
  let conn: Deno.DatagramConn;
  if ("path" in address) {
    if (options.reuseAddress || options.multicastLoopback) {
      throw new TypeError(
        `Cannot bind ${
          formatAddress(address)
        } with reuseAddress or multicastLoopback: they are UDP options`,
      );
    }
    try {
      conn = listenDatagram({ transport: "unixpacket", path: address.path });
    } catch (error) {
      throw wrapError(error, `bind ${formatAddress(address)}`);
    }
  } else {
    const hostname = address.hostname ?? DEFAULT_HOSTNAME;
    try {
      conn = listenDatagram({
        transport: "udp",
        hostname,
        port: address.port,
        reuseAddress: options.reuseAddress ?? false,
        loopback: options.multicastLoopback ?? false,
      });
    } catch (error) {
      throw wrapError(
        error,
        `bind ${formatAddress({ hostname, port: address.port })}`,
      );
    }
  }
  try {
    return new DatagramSocket(conn, options);
  } catch (error) {
    conn.close();
    throw error;
  }
}

/**
 * Binds a UDP socket for a client that talks to `to`, as Python's first
 * `sendto()` on a fresh socket does: any free port, on loopback when `to`
 * is a loopback address (`127.0.0.0/8` — its broadcast `127.255.255.255`
 * too — or `::1`), else on the wildcard address of `to`'s family
 * (`0.0.0.0`, or `::` for IPv6), so that replies from the network reach it.
 * (`bind()` with no address binds `127.0.0.1`, which hears only this
 * machine.)
 *
 * @param to The peer: `{ hostname, port }` (`hostname` `127.0.0.1` by
 * default).
 * @param options As for {@linkcode bind}.
 * @returns The socket.
 * @throws {RangeError} On a bad port.
 *
 * @example A client socket for a remote server, and for a local one
 * ```ts
 * import { bindClient } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using remote = bindClient({ hostname: "192.0.2.7", port: 9 });
 * assertEquals(remote.addr.hostname, "0.0.0.0");
 * using local = bindClient({ hostname: "127.0.0.1", port: 9 });
 * assertEquals(local.addr.hostname, "127.0.0.1");
 * ```
 */
export function bindClient(
  to: TcpAddress,
  options: BindOptions = {},
): DatagramSocket<"udp"> {
  if (to === null || typeof to !== "object" || "path" in to) {
    throw new TypeError(
      `Cannot bind a UDP client for ${
        to !== null && typeof to === "object" ? formatAddress(to) : String(to)
      }: give { hostname, port } (a Unix datagram client binds a path of its own: bind({ path }))`,
    );
  }
  checkAddress(to, "bind a client for");
  const canonical = canonicalIp(to.hostname ?? DEFAULT_HOSTNAME);
  const v6 = canonical !== null && canonical.includes(":");
  const loopback = canonical !== null &&
    (canonical === "0:0:0:0:0:0:0:1" || canonical.startsWith("127."));
  const hostname = loopback
    ? (v6 ? "::1" : "127.0.0.1")
    : (v6 ? "::" : "0.0.0.0");
  return bind({ hostname, port: 0 }, options);
}

/**
 * A UDP or Unix datagram socket: `send` and `receive` (Python's `sendto`
 * and `recvfrom`), a receive timeout that leaves the socket usable, async
 * iteration over incoming datagrams, multicast membership, and `close()`
 * with `using`/`await using`.
 *
 * One `receive()` at a time: a second one while the first waits is a
 * `TypeError`. A receive that times out or is aborted loses nothing: the
 * datagram that arrives afterwards goes to the next receive. So
 * `receive({ signal })` keeps the contract of a `poll()` source: it
 * resolves to the next `{ data, from }` (never `null`), and on abort
 * rejects with the signal's reason, keeping the datagram for the next call.
 *
 * @typeParam T The transport, `"udp"` or `"unixpacket"`, which types
 * {@linkcode DatagramSocket.addr} and the senders of its datagrams.
 *
 * @example Wait at most 50 ms, then keep using the socket
 * ```ts
 * import { bind, TimeoutError } from "@sockit/sockit/udp";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * using socket = bind({ port: 0 });
 * await assertRejects(() => socket.receive({ timeout: 50 }), TimeoutError);
 * await socket.send("still here", socket.addr);
 * const { data } = await socket.receive({ timeout: 1000 });
 * assertEquals(new TextDecoder().decode(data), "still here");
 * ```
 */
export class DatagramSocket<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
> implements AsyncIterable<Datagram<T>>, AsyncDisposable, Disposable {
  readonly #conn: Deno.DatagramConn;
  readonly #name: string;
  readonly #maxDatagramSize: number;
  readonly #ipv6: boolean;
  /** The local address (Python's `getsockname()`), with the real port. */
  readonly addr: SocketAddress<T>;

  #buffer: Uint8Array | null = null;
  /** The socket receive in flight (it never rejects), or `null`. */
  #inflight: Promise<void> | null = null;
  /** A socket receive finished and nobody has taken its result yet. */
  #ready = false;
  #view: Uint8Array | null = null;
  #addr: Deno.Addr | null = null;
  #failed = false;
  #error: unknown = undefined;
  /** The `receive()` waiting for the socket receive, if one waits. */
  readonly #waiter = new Waiter<Datagram>();
  /**
   * The sender of the last UDP datagram received: replies to it (the
   * echo-server pattern) skip checking the address again.
   */
  #lastFrom: Deno.NetAddr | null = null;
  #closed = false;
  #timeout: number | null;
  #datagramsSent = 0;
  #datagramsReceived = 0;
  #bytesSent = 0;
  #bytesReceived = 0;
  #dropped = 0;

  /**
   * Wraps a Deno datagram socket. Usually you get one from
   * {@linkcode bind} instead.
   *
   * @param conn A `Deno.DatagramConn` (`udp` or `unixpacket`).
   * @param options `maxDatagramSize` and `timeout`.
   * @throws {RangeError} On a bad option.
   */
  constructor(conn: Deno.DatagramConn, options: DatagramSocketOptions = {}) {
    const addr = datagramAddress(conn.addr);
    this.addr = addr as SocketAddress<T>;
    this.#name = formatAddress(addr);
    this.#ipv6 = "hostname" in addr && isIpv6(addr.hostname);
    const protocolMax = "path" in addr
      ? MAX_UNIX_DATAGRAM
      : this.#ipv6
      ? MAX_UDP_PAYLOAD_IPV6
      : MAX_UDP_PAYLOAD_IPV4;
    const max = options.maxDatagramSize ??
      ("path" in addr ? DEFAULT_MAX_UNIX_DATAGRAM : protocolMax);
    if (!Number.isInteger(max) || max < 1 || max > protocolMax) {
      throw new RangeError(
        `Cannot use maxDatagramSize ${max} on ${this.#name}: give an integer in 1..${protocolMax}`,
      );
    }
    this.#maxDatagramSize = max;
    const timeout = options.timeout ?? null;
    checkTimeout(timeout, `set up ${this.#name}`);
    this.#timeout = timeout;
    this.#conn = conn;
  }

  /** `"udp"` or `"unixpacket"`. */
  get transport(): T {
    return (this.addr.transport === "unixpacket" ? "unixpacket" : "udp") as T;
  }

  /** The largest datagram this socket sends or receives, in bytes. */
  get maxDatagramSize(): number {
    return this.#maxDatagramSize;
  }

  /** The receive timeout in milliseconds, or `null` (Python's `gettimeout()`). */
  get timeout(): number | null {
    return this.#timeout;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a `receive()` is waiting right now. */
  get receiving(): boolean {
    return this.#waiter.waiting;
  }

  /** Datagrams sent so far. */
  get datagramsSent(): number {
    return this.#datagramsSent;
  }

  /** Datagrams received and handed out so far. */
  get datagramsReceived(): number {
    return this.#datagramsReceived;
  }

  /** Payload bytes sent so far. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Payload bytes received and handed out so far. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Datagrams dropped for being over `maxDatagramSize`. */
  get droppedDatagrams(): number {
    return this.#dropped;
  }

  /**
   * Sets the receive timeout (Python's `settimeout`): afterwards a
   * `receive()` that waits longer than `ms` rejects with `TimeoutError`,
   * and the socket stays usable. `null` waits forever; 0 gives up at once
   * unless a datagram is already waiting.
   *
   * @param ms Milliseconds, or `null`.
   * @throws {RangeError} If `ms` is negative or not a number.
   */
  setTimeout(ms: number | null): void {
    checkTimeout(ms, `set the timeout of ${this.#name}`);
    this.#timeout = ms;
  }

  /**
   * Sends one datagram (Python's `sendto`): all of `data` or nothing.
   *
   * @param data Bytes, or a string (UTF-8).
   * @param to `{ hostname, port }` for UDP (`hostname` `127.0.0.1` by
   * default; a broadcast or multicast address works too) or `{ path }`
   * for Unix; a received datagram's `from` also works.
   * @throws {DatagramTooLargeError} If `data` does not fit in one datagram
   * (nothing is sent).
   * @throws {TypeError} If `to` is of the other transport, or an unbound
   * Unix sender.
   * @throws {Deno.errors.BadResource} If the socket is closed.
   *
   * @example Broadcast on this machine only
   * ```ts
   * import { bind } from "@sockit/sockit/udp";
   * import { assertEquals } from "@std/assert";
   *
   * using listener = bind({ hostname: "127.255.255.255", port: 0 });
   * using sender = bind();
   * const port = listener.addr.port;
   * await sender.send("Hi there!", { hostname: "127.255.255.255", port });
   * const { data } = await listener.receive({ timeout: 1000 });
   * assertEquals(new TextDecoder().decode(data), "Hi there!");
   * ```
   */
  async send(
    data: Uint8Array | string,
    to: Address | SocketAddress,
  ): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot send ${typeof data} from ${this.#name}: give a Uint8Array or a string`,
      );
    }
    const target = to === this.#lastFrom ? this.#lastFrom : this.#target(to);
    // Datagrams that fit either family skip working out the target's.
    if (
      bytes.length > this.#maxDatagramSize ||
      bytes.length > MAX_UDP_PAYLOAD_IPV4
    ) {
      const limit = this.#sendLimit(target);
      if (bytes.length > limit) {
        throw new DatagramTooLargeError({
          direction: "send",
          size: bytes.length,
          limit,
          address: formatAddress(target),
        });
      }
    }
    if (this.#closed) throw this.#closedError("send to", formatAddress(target));
    try {
      await this.#conn.send(bytes, target);
    } catch (error) {
      const peer = formatAddress(target);
      if (this.#closed) throw this.#closedError("send to", peer, error);
      throw wrapError(error, `send to ${peer}`);
    }
    this.#datagramsSent++;
    this.#bytesSent += bytes.length;
  }

  /**
   * Waits for the next datagram (Python's `recvfrom`).
   *
   * @param options `timeout` and `signal`.
   * @returns The datagram and its sender.
   * @throws {TimeoutError} If the timeout passes first; the socket stays
   * usable and a later datagram is kept for the next receive.
   * @throws {DatagramTooLargeError} If the datagram was over
   * `maxDatagramSize` (it is dropped; the socket stays usable).
   * @throws {TypeError} If another receive is waiting.
   * @throws {Deno.errors.BadResource} If the socket is (or gets) closed.
   */
  receive(options?: ReceiveOptions): Promise<Datagram<T>> {
    let timeout = this.#timeout;
    if (options?.timeout !== undefined) {
      timeout = options.timeout;
      try {
        checkTimeout(timeout, `receive on ${this.#name}`);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#waiter.waiting) {
      return Promise.reject(
        new TypeError(
          `Cannot receive on ${this.#name}: another receive is in progress`,
        ),
      );
    }
    if (this.#closed) {
      return Promise.reject(this.#closedError("receive on", this.#name));
    }
    if (this.#ready) {
      try {
        return Promise.resolve(this.#consume() as Datagram<T>);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inflight === null) this.#startReceive();
    return (this.#waiter as unknown as Waiter<Datagram<T>>).wait(
      timeout,
      signal,
      timeout === null ? undefined : (ms) =>
        new TimeoutError(
          `Cannot receive on ${this.#name}: no datagram for ${ms} ms`,
          ms,
        ),
    );
  }

  /**
   * Joins a multicast group (IPv4 `224.0.0.0/4` or IPv6 `ff00::/8`):
   * Python's `setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, …)`. UDP only.
   *
   * @param group The group's address.
   * @param options `interface`: the local IPv4 address, or IPv6 interface
   * index, to join on.
   * @returns The membership: `leave()`, `setLoopback()`, `setTtl()`.
   * @throws {RangeError} If `group` is not a multicast address.
   * @throws {TypeError} On a Unix socket, or an interface of the wrong kind.
   *
   * @example Multicast over loopback
   * ```ts
   * import { bind } from "@sockit/sockit/udp";
   * import { assertEquals } from "@std/assert";
   *
   * const group = "239.255.42.98";
   * using receiver = bind({ hostname: group, port: 0 });
   * await using _membership = await receiver.joinMulticast(group, {
   *   interface: "127.0.0.1",
   * });
   * using sender = bind({ hostname: "127.0.0.1", port: 0 });
   * await sender.send("to the group", { hostname: group, port: receiver.addr.port });
   * const { data } = await receiver.receive({ timeout: 1000 });
   * assertEquals(new TextDecoder().decode(data), "to the group");
   * ```
   */
  async joinMulticast(
    group: string,
    options: JoinMulticastOptions = {},
  ): Promise<MulticastMembership> {
    if (this.transport !== "udp") {
      throw new TypeError(
        `Cannot join multicast group ${group} on ${this.#name}: multicast is UDP only`,
      );
    }
    const v4 = parseIpv4(group);
    const v6 = v4 === null ? parseIpv6(group) : null;
    const multicast = v4 !== null
      ? v4[0]! >= 224 && v4[0]! <= 239
      : v6 !== null && (v6[0]! & 0xff00) === 0xff00;
    if (!multicast) {
      throw new RangeError(
        `Cannot join ${
          JSON.stringify(group)
        }: a multicast group is an IPv4 address in 224.0.0.0/4 or an IPv6 address in ff00::/8`,
      );
    }
    const iface = options.interface ?? (v4 !== null ? "0.0.0.0" : 0);
    if (v4 !== null && (typeof iface !== "string" || !parseIpv4(iface))) {
      throw new TypeError(
        `Cannot join IPv4 group ${group} on interface ${
          JSON.stringify(iface)
        }: give the interface's IPv4 address`,
      );
    }
    if (v6 !== null && (!Number.isInteger(iface) || (iface as number) < 0)) {
      throw new TypeError(
        `Cannot join IPv6 group ${group} on interface ${
          JSON.stringify(iface)
        }: give the interface's index (a number)`,
      );
    }
    if (this.#closed) {
      throw this.#closedError("join multicast group", group);
    }
    try {
      const membership = v4 !== null
        ? await this.#conn.joinMulticastV4(group, iface as string)
        : await this.#conn.joinMulticastV6(group, iface as number);
      return new MulticastMembership(membership, group, () => this.#closed);
    } catch (error) {
      throw wrapError(
        error,
        `join multicast group ${group} on ${this.#name} (interface ${
          String(iface)
        })`,
      );
    }
  }

  /**
   * The incoming datagrams, until the socket is closed (then the loop ends
   * quietly). Datagrams over `maxDatagramSize` are skipped (and counted in
   * `droppedDatagrams`); the socket's timeout applies to each wait.
   *
   * @returns An iterator over datagrams.
   *
   * @example A server loop that answers every datagram
   * ```ts
   * import { bind } from "@sockit/sockit/udp";
   * import { assertEquals } from "@std/assert";
   *
   * using server = bind({ port: 0 });
   * const serving = (async () => {
   *   for await (const { data, from } of server) {
   *     await server.send(data.toReversed(), from);
   *   }
   * })();
   * using client = bind();
   * await client.send("abc", server.addr);
   * const { data } = await client.receive({ timeout: 1000 });
   * assertEquals(new TextDecoder().decode(data), "cba");
   * server.close();
   * await serving;
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<
    Datagram<T>,
    void,
    undefined
  > {
    while (!this.#closed) {
      let datagram: Datagram<T>;
      try {
        datagram = await this.receive();
      } catch (error) {
        if (this.#closed) return;
        if (error instanceof DatagramTooLargeError) continue;
        throw error;
      }
      yield datagram;
    }
  }

  /**
   * Closes the socket at once (idempotent). A waiting receive rejects with
   * `Deno.errors.BadResource`; an iteration ends. A Unix socket's file is
   * removed.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = null;
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    if ("path" in this.addr && this.addr.path !== "") {
      try {
        Deno.removeSync(this.addr.path);
      } catch { /* gone already, or not ours to remove */ }
    }
  }

  /** Closes, then waits for the cancelled receive to settle (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#inflight;
  }

  /** Closes at once (`using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #closedError(
    action: string,
    peer: string,
    cause?: unknown,
  ): Deno.errors.BadResource {
    return new Deno.errors.BadResource(
      `Cannot ${action} ${peer}: the socket ${this.#name} is closed`,
      cause === undefined ? undefined : { cause },
    );
  }

  #target(to: Address | SocketAddress): Deno.NetAddr | Deno.UnixAddr {
    if (to === null || typeof to !== "object") {
      throw new TypeError(
        `Cannot send to ${
          String(to)
        } from ${this.#name}: give { hostname, port } or { path }`,
      );
    }
    if ("path" in to) {
      if (this.transport !== "unixpacket") {
        throw new TypeError(
          `Cannot send to ${
            formatAddress(to)
          } from UDP socket ${this.#name}: give { hostname, port }`,
        );
      }
      if (typeof to.path !== "string" || to.path === "") {
        throw new TypeError(
          `Cannot send to an unbound Unix socket from ${this.#name}: it has no path to send to`,
        );
      }
      return { transport: "unixpacket", path: to.path };
    }
    if (this.transport !== "udp") {
      throw new TypeError(
        `Cannot send to ${
          formatAddress(to)
        } from Unix socket ${this.#name}: give { path }`,
      );
    }
    checkAddress(to, "send to");
    if (to.port === 0) {
      throw new RangeError(
        `Cannot send to port 0 from ${this.#name}: give the peer's port`,
      );
    }
    return {
      transport: "udp",
      hostname: to.hostname ?? DEFAULT_HOSTNAME,
      port: to.port,
    };
  }

  #sendLimit(target: Deno.NetAddr | Deno.UnixAddr): number {
    if (target.transport !== "udp") return this.#maxDatagramSize;
    const canonical = canonicalIp(target.hostname);
    const v6 = canonical === null ? this.#ipv6 : canonical.includes(":");
    return Math.min(
      this.#maxDatagramSize,
      v6 ? MAX_UDP_PAYLOAD_IPV6 : MAX_UDP_PAYLOAD_IPV4,
    );
  }

  #startReceive(): void {
    const buffer = this.#buffer ??= new Uint8Array(this.#maxDatagramSize + 1);
    this.#inflight = this.#conn.receive(buffer).then(
      this.#onReceive,
      this.#onReceiveError,
    );
  }

  readonly #onReceive = ([view, addr]: [Uint8Array, Deno.Addr]): void => {
    this.#inflight = null;
    this.#ready = true;
    this.#view = view;
    this.#addr = addr;
    if (this.#waiter.waiting) this.#waiter.settle(this.#consume, this);
  };

  readonly #onReceiveError = (error: unknown): void => {
    this.#inflight = null;
    this.#ready = true;
    this.#failed = true;
    this.#error = error;
    if (this.#waiter.waiting) this.#waiter.settle(this.#consume, this);
  };

  static {
    hooks.interruptReceive = (socket, reason) => socket.#waiter.reject(reason);
  }

  /** Takes the finished socket receive: the datagram, or its error. */
  #consume(): Datagram {
    this.#ready = false;
    if (this.#failed) {
      const error = this.#error;
      this.#failed = false;
      this.#error = undefined;
      if (this.#closed) {
        throw this.#closedError("receive on", this.#name, error);
      }
      throw wrapError(error, `receive on ${this.#name}`);
    }
    const view = this.#view!;
    const from = datagramAddress(this.#addr!);
    this.#view = this.#addr = null;
    if (view.length > this.#maxDatagramSize) {
      this.#dropped++;
      throw new DatagramTooLargeError({
        direction: "receive",
        size: view.length,
        limit: this.#maxDatagramSize,
        address: formatAddress(from),
      });
    }
    this.#datagramsReceived++;
    this.#bytesReceived += view.length;
    if (from.transport === "udp") this.#lastFrom = from as Deno.NetAddr;
    return { data: copyOut(view, view.length), from };
  }
}
