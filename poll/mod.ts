/**
 * The `select`/`poll` idea for async code: {@linkcode poll} and
 * {@linkcode Poller} run one `for await` loop over the events of many TCP
 * connections, framed connections and UDP sockets.
 *
 * @example Wait for whichever connection speaks first
 * ```ts
 * import { poll } from "@sockit/sockit/poll";
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   await conn.write("hi");
 *   await conn.read();
 * });
 * await using a = await connect(server.addr);
 * for await (const event of poll([a])) {
 *   assertEquals(event.type, "data");
 *   break;
 * }
 * ```
 *
 * @module
 */
export * from "./poll.ts";
