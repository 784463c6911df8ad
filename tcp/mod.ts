/**
 * TCP and Unix stream sockets, Python's `socket` the Deno way: `listen()`
 * and `connect()`, connections with `read`/`write` (`recv`/`sendall`),
 * `setTimeout` (`settimeout`), `shutdown`, addresses, framed messages and
 * Web Streams; servers with idle timeouts, connection limits and graceful
 * shutdown.
 *
 * @example An echo server and its client
 * ```ts
 * import { connect, listen } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   for (let data; (data = await conn.read()) !== null;) await conn.write(data);
 * });
 * await using conn = await connect(server.addr);
 * await conn.write("hello");
 * await conn.shutdown("write"); // half-close: the server reads EOF
 * assertEquals(new TextDecoder().decode(await conn.readExactly(5)), "hello");
 * assertEquals(await conn.read(), null);
 * ```
 *
 * @module
 */
export * from "./connect.ts";
export * from "./connection.ts";
export * from "./errors.ts";
export * from "./listen.ts";
export * from "./protocol.ts";
export {
  type Address,
  formatAddress,
  type SocketAddress,
  type TcpAddress,
  TimeoutError,
  type UnixAddress,
} from "../net/mod.ts";
