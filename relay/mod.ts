/**
 * netcat's core as a library: {@linkcode relay} carries bytes between a
 * connection and a pair of streams both ways at once, with half-close and
 * backpressure; {@linkcode relayFrames} does it a frame at a time; and
 * {@linkcode relayDatagrams} does it for UDP, a datagram per line. Given
 * two connections, {@linkcode relay} joins them (a proxy, socat's job);
 * given a target address, {@linkcode relayDatagrams} relays each sender's
 * datagrams there as a flow of its own (a UDP proxy).
 *
 * @example Pipe a message through an echo server
 * ```ts
 * import { relay } from "@sockit/sockit/relay";
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   for (let data; (data = await conn.read()) !== null;) await conn.write(data);
 * });
 * const conn = await connect(server.addr);
 * const result = await relay(conn, {
 *   readable: ReadableStream.from([new TextEncoder().encode("hello")]),
 *   writable: new WritableStream(),
 * });
 * assertEquals(result.bytesReceived, 5);
 * ```
 *
 * @module
 */
export * from "./datagram.ts";
export * from "./stream.ts";
