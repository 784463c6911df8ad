/**
 * Bytes on the wire: byte order helpers, Python's `struct`, and message
 * framing (delimiters and length prefixes) as push decoders and streams.
 * Plain TypeScript on bytes; nothing here touches a socket.
 *
 * @example Pack a header in network byte order and read it back
 * ```ts
 * import { pack, readUint16Be, unpack } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const header = pack("!HI", 7, 20);
 * assertEquals(readUint16Be(header, 0), 7);
 * assertEquals(unpack("!HI", header), [7, 20]);
 * ```
 *
 * @module
 */
export * from "./byte_order.ts";
export * from "./codec.ts";
export * from "./delimiter.ts";
export * from "./errors.ts";
export * from "./hexdump.ts";
export * from "./length_prefix.ts";
export * from "./struct.ts";
