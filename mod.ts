/**
 * sockit: socket programming the way Python tutorials teach it, done the
 * Deno way — Web Streams, `AbortSignal`, `await using`.
 *
 * This entry point re-exports the whole public API: `framing/` (byte order,
 * a Python-exact `struct`, message framing), `net/` (addresses,
 * `TimeoutError`, graceful shutdown on signals), `poll/` and `relay/` at the
 * top level; `tcp/`, `udp/` and `rexec/` as the `tcp`, `udp` and `rexec`
 * namespaces. Each folder is also its own entry point
 * (`@sockit/sockit/tcp`, …).
 *
 * @example struct, as in Python
 * ```ts
 * import { calcsize, pack, unpack } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(calcsize("!HIq"), 14);
 * const bytes = pack("!HIq", 1, 2, 3n);
 * assertEquals(unpack("!HIq", bytes), [1, 2, 3n]);
 * ```
 *
 * @example A line echo over TCP
 * ```ts
 * import { lines, tcp } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = tcp.listen({ port: 0 }, async (conn) => {
 *   const framed = conn.framed(lines());
 *   for await (const line of framed) await framed.send(line);
 * });
 * await using conn = await tcp.connect(server.addr);
 * const framed = conn.framed(lines());
 * await framed.send("hi");
 * assertEquals(new TextDecoder().decode((await framed.receive())!), "hi");
 * ```
 *
 * @module
 */
export * from "./framing/mod.ts";
export * from "./net/mod.ts";
export * from "./poll/mod.ts";
export * from "./relay/mod.ts";
export * as rexec from "./rexec/mod.ts";
export * as tcp from "./tcp/mod.ts";
export * as udp from "./udp/mod.ts";
