/**
 * Socket addresses: TCP `{ hostname, port }` and Unix `{ path }`, and how to
 * print them.
 *
 * @module
 */

import { DEFAULT_HOSTNAME } from "../_internal/address.ts";

/** A TCP address. `hostname` defaults to `127.0.0.1` wherever it is optional. */
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

/** An address of an open socket, as Python's `getsockname()`/`getpeername()` give. */
export type SocketAddress =
  | { transport: "tcp" | "udp"; hostname: string; port: number }
  | { transport: "unix" | "unixpacket"; path: string };

/**
 * Formats an address for messages: `127.0.0.1:8080`, `[::1]:8080`,
 * `unix:/tmp/echo.sock`.
 *
 * @param address Any address.
 * @returns The address as text.
 *
 * @example Formatting
 * ```ts
 * import { formatAddress } from "./address.ts";
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
