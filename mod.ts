/**
 * sockit: socket programming the way Python tutorials teach it, done the
 * Deno way — Web Streams, `AbortSignal`, `await using`.
 *
 * This entry point re-exports the whole public API. Today that is
 * `framing/`: byte order helpers and a Python-exact `struct`.
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
 * @module
 */
export * from "./framing/mod.ts";
