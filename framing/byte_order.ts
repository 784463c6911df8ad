/**
 * Byte order, as Python's `socket` and `sys` modules give it: the C-style
 * host/network conversions {@linkcode htons}, {@linkcode ntohs},
 * {@linkcode htonl} and {@linkcode ntohl}, and {@linkcode HOST_BYTE_ORDER}
 * (Python's `sys.byteorder`).
 *
 * To read and write numbers in bytes, use the `struct` functions, exactly as
 * in Python: `unpackFrom("!I", bytes, offset)` reads a big-endian (network
 * order) 32-bit unsigned integer at `offset`, `packInto("<H", bytes, offset,
 * value)` writes a little-endian 16-bit one; `!`/`>` is big-endian, `<`
 * little-endian, and the format letters give the size and sign (`B H I Q`
 * unsigned 8 to 64 bits, `b h i q` signed, `e f d` floats). In a hot loop,
 * a `DataView` over exactly the view's bytes does the same:
 * `new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(offset)`.
 *
 * @example Read and write numbers at an offset, in network byte order
 * ```ts
 * import { htons, ntohs, packInto, unpackFrom } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const header = new Uint8Array(6);
 * packInto("!HI", header, 0, 0xcafe, 20); // Python: struct.pack_into
 * assertEquals(header, new Uint8Array([0xca, 0xfe, 0x00, 0x00, 0x00, 0x14]));
 * assertEquals(unpackFrom("!I", header, 2), [20]); // Python: struct.unpack_from
 * assertEquals(unpackFrom("<H", header, 0), [0xfeca]); // little-endian
 * assertEquals(ntohs(htons(8080)), 8080);
 * ```
 *
 * @module
 */
import { describe } from "./_describe.ts";

/**
 * The order of the bytes of a multi-byte number: most significant first
 * (`"big"`, network byte order) or least significant first (`"little"`), as
 * Python's `sys.byteorder` and `int.to_bytes` spell it.
 *
 * @example Pick a struct byte-order prefix
 * ```ts
 * import { type ByteOrder, pack } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * function encodePort(port: number, order: ByteOrder): Uint8Array {
 *   return pack(order === "big" ? ">H" : "<H", port);
 * }
 *
 * assertEquals(encodePort(0x0102, "big"), new Uint8Array([0x01, 0x02]));
 * assertEquals(encodePort(0x0102, "little"), new Uint8Array([0x02, 0x01]));
 * ```
 */
export type ByteOrder = "big" | "little";

/**
 * The byte order of the machine this code runs on, detected once when the
 * module loads: Python's `sys.byteorder`. Nearly every machine today is
 * `"little"`; network byte order is `"big"`.
 *
 * @example Check the host byte order
 * ```ts
 * import { HOST_BYTE_ORDER } from "@sockit/sockit/framing";
 * import { assert } from "@std/assert";
 *
 * assert(HOST_BYTE_ORDER === "little" || HOST_BYTE_ORDER === "big");
 * ```
 */
export const HOST_BYTE_ORDER: ByteOrder =
  new Uint8Array(new Uint16Array([0x0102]).buffer)[0] === 0x02
    ? "little"
    : "big";

const _HOST_IS_LITTLE: boolean = HOST_BYTE_ORDER === "little";

// ---------------------------------------------------------------------------
// Private checks. The fast path is a single condition; the work of building
// a message happens only when something is wrong.

/** Names the type of a value with its article: "a string", "an object". */
function _typeOf(value: unknown): string {
  if (value === null) return "null";
  const type = typeof value;
  if (type === "undefined") return "undefined";
  return (type === "object" ? "an " : "a ") + type;
}

/** Throws unless `value` is an integer number in `0..max`, for htons() and friends. */
function _checkHost(value: number, name: string, max: number): void {
  if (
    typeof value === "number" && Number.isInteger(value) && value >= 0 &&
    value <= max
  ) {
    return;
  }
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot convert ${
        describe(value)
      } with ${name}(): the value must be a number, not ${_typeOf(value)}`,
    );
  }
  throw new RangeError(
    `Cannot convert ${value} with ${name}(): the value must be an integer in 0..${max}`,
  );
}

// ---------------------------------------------------------------------------
// Host/network conversions, as in C and Python's socket module

/** Swaps the two bytes of a 16-bit value. */
function _swap16(value: number): number {
  return ((value & 0xff) << 8) | (value >>> 8);
}

/** Swaps the four bytes of a 32-bit value; the result is unsigned. */
function _swap32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) |
    ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0;
}

/**
 * Converts a 16-bit number from host to network (big-endian) byte order, like
 * C's `htons` and Python's `socket.htons`: it swaps the two bytes on a
 * little-endian host and returns the number unchanged on a big-endian one.
 *
 * @param value An integer in `0..65535`.
 * @returns The converted number, in `0..65535`.
 * @throws {TypeError} If `value` is not a number.
 * @throws {RangeError} If `value` is not an integer in `0..65535`.
 *
 * @example Convert a port number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HOST_BYTE_ORDER, htons } from "@sockit/sockit/framing";
 *
 * assertEquals(htons(0x1234), HOST_BYTE_ORDER === "little" ? 0x3412 : 0x1234);
 * ```
 */
export function htons(value: number): number {
  _checkHost(value, "htons", 0xffff);
  return _HOST_IS_LITTLE ? _swap16(value) : value >>> 0;
}

/**
 * Converts a 16-bit number from network (big-endian) to host byte order, like
 * C's `ntohs` and Python's `socket.ntohs`: it swaps the two bytes on a
 * little-endian host and returns the number unchanged on a big-endian one.
 *
 * @param value An integer in `0..65535`.
 * @returns The converted number, in `0..65535`.
 * @throws {TypeError} If `value` is not a number.
 * @throws {RangeError} If `value` is not an integer in `0..65535`.
 *
 * @example Undo htons()
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { htons, ntohs } from "@sockit/sockit/framing";
 *
 * assertEquals(ntohs(htons(8080)), 8080);
 * ```
 */
export function ntohs(value: number): number {
  _checkHost(value, "ntohs", 0xffff);
  return _HOST_IS_LITTLE ? _swap16(value) : value >>> 0;
}

/**
 * Converts a 32-bit number from host to network (big-endian) byte order, like
 * C's `htonl` and Python's `socket.htonl`: it swaps the four bytes on a
 * little-endian host and returns the number unchanged on a big-endian one.
 * The result is unsigned.
 *
 * @param value An integer in `0..4294967295`.
 * @returns The converted number, in `0..4294967295`.
 * @throws {TypeError} If `value` is not a number.
 * @throws {RangeError} If `value` is not an integer in `0..4294967295`.
 *
 * @example Convert 1
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HOST_BYTE_ORDER, htonl } from "@sockit/sockit/framing";
 *
 * assertEquals(htonl(1), HOST_BYTE_ORDER === "little" ? 0x01000000 : 1);
 * ```
 */
export function htonl(value: number): number {
  _checkHost(value, "htonl", 0xffff_ffff);
  return _HOST_IS_LITTLE ? _swap32(value) : value >>> 0;
}

/**
 * Converts a 32-bit number from network (big-endian) to host byte order, like
 * C's `ntohl` and Python's `socket.ntohl`: it swaps the four bytes on a
 * little-endian host and returns the number unchanged on a big-endian one.
 * The result is unsigned.
 *
 * @param value An integer in `0..4294967295`.
 * @returns The converted number, in `0..4294967295`.
 * @throws {TypeError} If `value` is not a number.
 * @throws {RangeError} If `value` is not an integer in `0..4294967295`.
 *
 * @example Undo htonl()
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { htonl, ntohl } from "@sockit/sockit/framing";
 *
 * assertEquals(ntohl(htonl(0xdeadbeef)), 0xdeadbeef);
 * ```
 */
export function ntohl(value: number): number {
  _checkHost(value, "ntohl", 0xffff_ffff);
  return _HOST_IS_LITTLE ? _swap32(value) : value >>> 0;
}
