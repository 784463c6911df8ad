/**
 * TCP and Unix stream sockets, Python's `socket` the Deno way: `listen()`
 * and `connect()` (`create_connection`, its `timeout` kept for reads),
 * connections with `read`/`readInto`/`write` (`recv`/`recv_into`/
 * `sendall`), `for await` over the chunks, `setTimeout` (`settimeout`),
 * `shutdown` (with `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`), addresses, framed
 * messages and Web Streams; servers with idle timeouts, connection limits
 * and graceful shutdown; Twisted-style protocols. TLS is an option of the
 * same calls — `connect(address, { tls })`, `listen(address, handler,
 * { tls })`, `conn.startTls()` for STARTTLS — with `conn.tls` for the session
 * and `TlsError` when a handshake fails (`docs/tls.md`).
 *
 * `TimeoutError`, `ShutdownOptions` and the address types are `net/`'s,
 * re-exported here, as is `framing/`'s `FrameCodec`, the type `framed()` and
 * the protocols take.
 *
 * @example An echo server and its client
 * ```ts
 * import { connect, listen, SHUT_WR } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   for await (const data of conn) await conn.write(data);
 * });
 * await using conn = await connect(server.addr);
 * await conn.write("hello");
 * await conn.shutdown(SHUT_WR); // half-close: the server reads EOF
 * assertEquals(new TextDecoder().decode(await conn.readExactly(5)), "hello");
 * assertEquals(await conn.read(), null);
 * ```
 *
 * @module
 */
export * from "./connect.ts";
export * from "./connection.ts";
export * from "./errors.ts";
export * from "./framed_connection.ts";
export * from "./listen.ts";
export * from "./protocol.ts";
export * from "./tls.ts";
export * from "./workers.ts";
export type { FrameCodec } from "../framing/mod.ts";
export {
  type Address,
  formatAddress,
  type ShutdownOptions,
  type SocketAddress,
  type TcpAddress,
  TimeoutError,
  type UnixAddress,
} from "../net/mod.ts";
