/**
 * Socket addresses: TCP `{ hostname, port }` and Unix `{ path }`, the
 * addresses of open sockets ({@linkcode SocketAddress}), and how to print
 * them.
 *
 * @module
 */

import { DEFAULT_HOSTNAME } from "../_internal/address.ts";

/**
 * A host and port to listen on, connect to or bind (TCP and UDP).
 * `hostname` defaults to `127.0.0.1` wherever it is optional.
 */
export interface TcpAddress {
  /** A host name or IP address (IPv6 without brackets). */
  hostname?: string;
  /** The port; 0 asks the system for a free one when listening. */
  port: number;
}

/** A Unix socket address: the socket file's path. */
export interface UnixAddress {
  /** The socket file's path. */
  path: string;
}

/** An address to listen on or connect to. */
export type Address = TcpAddress | UnixAddress;

/**
 * The address of an open socket, as Python's `getsockname()` and
 * `getpeername()` give it: `{ transport, hostname, port }` for TCP and UDP,
 * `{ transport, path }` for Unix sockets.
 *
 * The type parameter narrows it to one transport, so that its fields need
 * no check: a TCP server's `addr` is a `SocketAddress<"tcp">`, whose
 * `port` is there to read.
 *
 * @typeParam T The transport (`"tcp"`, `"udp"`, `"unix"`, `"unixpacket"`);
 * all four by default.
 *
 * @example A TCP server's port, without narrowing
 * ```ts
 * import { listen } from "@sockit/sockit/tcp";
 * import type { SocketAddress } from "@sockit/sockit/net";
 * import { assert } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, () => {});
 * const addr: SocketAddress<"tcp"> = server.addr;
 * assert(addr.port > 0);
 * ```
 */
export type SocketAddress<
  T extends "tcp" | "udp" | "unix" | "unixpacket" =
    | "tcp"
    | "udp"
    | "unix"
    | "unixpacket",
> = T extends "tcp" | "udp" ? { transport: T; hostname: string; port: number }
  : { transport: T; path: string };

/**
 * Formats an address for messages: `127.0.0.1:8080`, `[::1]:8080`,
 * `unix:/tmp/echo.sock`.
 *
 * @param address Any address.
 * @returns The address as text.
 *
 * @example Formatting
 * ```ts
 * import { formatAddress } from "@sockit/sockit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatAddress({ hostname: "::1", port: 80 }), "[::1]:80");
 * assertEquals(formatAddress({ path: "/tmp/s" }), "unix:/tmp/s");
 * ```
 */
export function formatAddress(address: Address | SocketAddress): string {
  if ("path" in address) return `unix:${address.path}`;
  const host = address.hostname ?? DEFAULT_HOSTNAME;
  return host.includes(":")
    ? `[${host}]:${address.port}`
    : `${host}:${address.port}`;
}
