// Address helpers both transports use: defaults, checks, conversions.
import type { Address, SocketAddress, TcpAddress } from "../net/mod.ts";

/** The hostname servers bind when none is given: loopback only. */
export const DEFAULT_HOSTNAME = "127.0.0.1";

/** Converts a Deno address into a {@linkcode SocketAddress}. */
export function toSocketAddress(addr: Deno.Addr): SocketAddress {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return {
      transport: addr.transport,
      hostname: addr.hostname,
      port: addr.port,
    };
  }
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    // An unnamed (client) Unix socket has no path: "" as in Python.
    return { transport: addr.transport, path: addr.path ?? "" };
  }
  throw new TypeError(
    `Cannot use a ${(addr as { transport: string }).transport} address here`,
  );
}

/** Longest Unix socket path: Linux's `sun_path` is 108 bytes with the NUL. */
const MAX_UNIX_PATH = 107;

/** Throws a clear error unless `address` is a usable TCP or Unix address. */
export function checkAddress(address: Address, what: string): void {
  if (address === null || typeof address !== "object") {
    throw new TypeError(
      `Cannot ${what} ${String(address)}: give { hostname, port } or { path }`,
    );
  }
  if ("path" in address) {
    if (typeof address.path !== "string" || address.path === "") {
      throw new TypeError(`Cannot ${what} a Unix socket without a path`);
    }
    const bytes = new TextEncoder().encode(address.path).length;
    if (bytes > MAX_UNIX_PATH) {
      throw new RangeError(
        `Cannot ${what} unix:${address.path}: the path is ${bytes} bytes, and a socket address holds at most ${MAX_UNIX_PATH} (sun_path); use a shorter path or a relative one`,
      );
    }
    return;
  }
  const port = (address as TcpAddress).port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot ${what} port ${port}: a port is an integer in 0..65535`,
    );
  }
}
