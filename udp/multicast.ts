/**
 * {@linkcode MulticastMembership}: a datagram socket's membership of a
 * multicast group, from `DatagramSocket.joinMulticast()` — Python's
 * `IP_ADD_MEMBERSHIP`/`IP_DROP_MEMBERSHIP`, `IP_MULTICAST_LOOP` and
 * `IP_MULTICAST_TTL` (and their `IPV6_` forms where Deno has them).
 *
 * @module
 */
import { wrapError } from "../_internal/errors.ts";

/** Options for `DatagramSocket.joinMulticast()`. */
export interface JoinMulticastOptions {
  /**
   * The local interface to join on: for an IPv4 group, the interface's IPv4
   * address (`"127.0.0.1"` for loopback); for an IPv6 group, the
   * interface's index (`1` is usually loopback on Linux).
   *
   * @default {"0.0.0.0" for IPv4 (the system picks), 0 for IPv6 (the system picks)}
   */
  interface?: string | number;
}

/**
 * Membership of one multicast group. The loopback and TTL settings are
 * socket options: they apply to everything the socket sends, not only to
 * this group — Deno offers them only through a membership, so they live
 * here. `await using` leaves the group.
 *
 * @example Join a group on loopback, set TTL and loopback, leave
 * ```ts
 * import { bind } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using socket = bind({ hostname: "239.255.42.99", port: 0 });
 * await using membership = await socket.joinMulticast("239.255.42.99", {
 *   interface: "127.0.0.1",
 * });
 * await membership.setTtl(1);
 * await membership.setLoopback(true);
 * assertEquals([membership.group, membership.family], ["239.255.42.99", "IPv4"]);
 * ```
 */
export class MulticastMembership implements AsyncDisposable {
  readonly #membership: Deno.MulticastV4Membership | Deno.MulticastV6Membership;
  readonly #isClosed: () => boolean;
  #left = false;
  /** The group's address. */
  readonly group: string;
  /** The group's address family. */
  readonly family: "IPv4" | "IPv6";

  /**
   * Wraps Deno's membership object. Use `DatagramSocket.joinMulticast()`
   * instead.
   *
   * @param membership What `joinMulticastV4`/`joinMulticastV6` returned.
   * @param group The group's address.
   * @param isClosed Tells whether the socket has been closed (which ends
   * the membership).
   */
  constructor(
    membership: Deno.MulticastV4Membership | Deno.MulticastV6Membership,
    group: string,
    isClosed: () => boolean = () => false,
  ) {
    this.#membership = membership;
    this.group = group;
    this.family = "setTTL" in membership ? "IPv4" : "IPv6";
    this.#isClosed = isClosed;
  }

  /** Whether the group has been left (or the socket closed). */
  get left(): boolean {
    return this.#left || this.#isClosed();
  }

  /**
   * Leaves the group (idempotent; a no-op once the socket is closed, which
   * leaves every group).
   *
   * @throws {Error} If the system refuses, naming the group.
   */
  async leave(): Promise<void> {
    if (this.left) return;
    this.#left = true;
    try {
      await this.#membership.leave();
    } catch (error) {
      if (this.#isClosed()) return;
      throw wrapError(error, `leave multicast group ${this.group}`);
    }
  }

  /**
   * Sets whether multicast datagrams this socket sends are delivered to
   * sockets on this machine too (`IP_MULTICAST_LOOP` /
   * `IPV6_MULTICAST_LOOP`). Linux's loopback interface delivers locally
   * whatever this says; it matters on real interfaces.
   *
   * @param loopback Whether to loop sent datagrams back.
   * @throws {Deno.errors.BadResource} If the group was left or the socket
   * closed.
   */
  async setLoopback(loopback: boolean): Promise<void> {
    this.#checkOpen("set multicast loopback for");
    try {
      await this.#membership.setLoopback(Boolean(loopback));
    } catch (error) {
      throw wrapError(error, `set multicast loopback for ${this.group}`);
    }
  }

  /**
   * Sets the time-to-live of multicast datagrams this socket sends
   * (`IP_MULTICAST_TTL`): 0 stays on this host, 1 (the system's default)
   * on the local network, more crosses routers. IPv4 only: Deno 2.9 has
   * no IPv6 hop-limit setting.
   *
   * @param ttl An integer in 0..255.
   * @throws {RangeError} If `ttl` is out of range.
   * @throws {TypeError} For an IPv6 group.
   */
  async setTtl(ttl: number): Promise<void> {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      throw new RangeError(
        `Cannot set multicast TTL ${ttl}: give an integer in 0..255`,
      );
    }
    const membership = this.#membership;
    if (!("setTTL" in membership)) {
      throw new TypeError(
        `Cannot set a TTL for IPv6 group ${this.group}: Deno 2.9 has no IPv6 multicast hop-limit setting`,
      );
    }
    this.#checkOpen("set multicast TTL for");
    try {
      await membership.setTTL(ttl);
    } catch (error) {
      throw wrapError(error, `set multicast TTL for ${this.group}`);
    }
  }

  /** Leaves the group (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.leave();
  }

  #checkOpen(action: string): void {
    if (this.left) {
      throw new Deno.errors.BadResource(
        `Cannot ${action} ${this.group}: the group was left or the socket closed`,
      );
    }
  }
}
