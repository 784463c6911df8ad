/**
 * Bytes on the wire: byte order, Python's `struct`, and message framing.
 * Plain TypeScript on bytes; nothing here touches a socket.
 *
 * - `struct`, exactly as in Python: {@linkcode pack}, {@linkcode unpack},
 *   {@linkcode packInto}, {@linkcode unpackFrom}, {@linkcode Struct}, …;
 *   {@linkcode htons} and friends for byte order.
 * - Codecs, one per framing scheme, both ways: {@linkcode lines},
 *   {@linkcode delimited} ({@linkcode DelimiterCodec}),
 *   {@linkcode lengthPrefixed}, {@linkcode netstrings}
 *   ({@linkcode LengthPrefixCodec}). Use one directly (`push`, `encode`),
 *   as a stream ({@linkcode FrameDecoderStream},
 *   {@linkcode FrameEncoderStream}), or on a connection
 *   (`conn.framed(codec)` in `@sockit/sockit/tcp`).
 * - {@linkcode hexdump} to watch the bytes.
 *
 * @example Pack a header in network byte order, frame it, read it back
 * ```ts
 * import { lengthPrefixed, pack, unpack, unpackFrom } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const header = pack("!HI", 7, 20);
 * assertEquals(unpackFrom("!H", header, 0), [7]);
 * assertEquals(unpack("!HI", header), [7, 20]);
 *
 * const codec = lengthPrefixed({ header: "u16be" });
 * const [frame] = codec.decode(codec.encode(header));
 * assertEquals(frame, header);
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
export * from "./proxy_protocol.ts";
export * from "./struct.ts";
