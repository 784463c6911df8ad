/**
 * What both transports share: addresses and how to print them,
 * {@linkcode TimeoutError}, {@linkcode shutdownOnSignals} for servers that
 * stop gracefully on Ctrl-C or SIGTERM, and Python's {@linkcode ctime}.
 * `tcp/` and `udp/` re-export the addresses, `TimeoutError` and
 * `ShutdownOptions`.
 *
 * @example Printing addresses
 * ```ts
 * import { formatAddress } from "@sockit/sockit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatAddress({ hostname: "::1", port: 80 }), "[::1]:80");
 * assertEquals(formatAddress({ path: "/tmp/echo.sock" }), "unix:/tmp/echo.sock");
 * ```
 *
 * @module
 */
export * from "./address.ts";
export * from "./ctime.ts";
export * from "./errors.ts";
export * from "./signals.ts";
