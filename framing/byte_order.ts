/**
 * Byte order helpers: read and write 8-, 16-, 32- and 64-bit integers and
 * 32- and 64-bit floats at an offset in a `Uint8Array`, big- or
 * little-endian, plus the C-style host conversions {@linkcode htons},
 * {@linkcode ntohs}, {@linkcode htonl} and {@linkcode ntohl}.
 *
 * Every function takes the bytes and an offset. Every `write…` function
 * returns the offset just past what it wrote, so calls chain. A `Uint8Array`
 * that is a view into a larger buffer is read and written within its own
 * bounds only.
 *
 * 64-bit integers are read as `bigint`; the 64-bit writers take a `bigint`
 * or a number that is a safe integer.
 *
 * Caller mistakes throw: an offset outside the buffer, or a value outside the
 * type's range, is a `RangeError`; an argument of the wrong type is a
 * `TypeError`.
 *
 * @example Write a header and read it back
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint16Be, readUint32Be, writeUint16Be, writeUint32Be } from "./byte_order.ts";
 *
 * const header = new Uint8Array(6);
 * let offset = writeUint16Be(header, 0, 0xcafe);
 * offset = writeUint32Be(header, offset, 20);
 *
 * assertEquals(offset, 6);
 * assertEquals(header, new Uint8Array([0xca, 0xfe, 0x00, 0x00, 0x00, 0x14]));
 * assertEquals(readUint16Be(header, 0), 0xcafe);
 * assertEquals(readUint32Be(header, 2), 20);
 * ```
 *
 * @module
 */

/**
 * The order of the bytes of a multi-byte number: most significant first
 * (`"big"`, network byte order) or least significant first (`"little"`).
 *
 * @example Pick a writer by byte order
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { type ByteOrder, writeUint16Be, writeUint16Le } from "./byte_order.ts";
 *
 * function encodePort(port: number, order: ByteOrder): Uint8Array {
 *   const bytes = new Uint8Array(2);
 *   if (order === "big") writeUint16Be(bytes, 0, port);
 *   else writeUint16Le(bytes, 0, port);
 *   return bytes;
 * }
 *
 * assertEquals(encodePort(0x0102, "big"), new Uint8Array([0x01, 0x02]));
 * assertEquals(encodePort(0x0102, "little"), new Uint8Array([0x02, 0x01]));
 * ```
 */
export type ByteOrder = "big" | "little";

/**
 * The byte order of the machine this code runs on, detected once when the
 * module loads. Nearly every machine today is `"little"`; network byte order
 * is `"big"`.
 *
 * @example Check the host byte order
 * ```ts
 * import { assert } from "@std/assert";
 * import { HOST_BYTE_ORDER } from "./byte_order.ts";
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
// Private checks. The fast path of each is a single condition; the work of
// building a message happens only when something is wrong.

const _UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const _INT64_MIN = -0x8000_0000_0000_0000n;
const _INT64_MAX = 0x7fff_ffff_ffff_ffffn;

/** Shows a value in an error message. */
function _show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "object":
    case "function":
      return value === null ? "null" : Object.prototype.toString.call(value);
    default:
      return String(value);
  }
}

/** Names the type of a value with its article: "a string", "an object". */
function _typeOf(value: unknown): string {
  if (value === null) return "null";
  const type = typeof value;
  if (type === "undefined") return "undefined";
  return (type === "object" ? "an " : "a ") + type;
}

/** "1 byte", "8 bytes". */
function _byteCount(count: number): string {
  return count === 1 ? "1 byte" : `${count} bytes`;
}

/**
 * Throws unless `bytes` is a `Uint8Array` and `size` bytes fit at `offset`.
 * `verb` is "read" or "write", for the message.
 */
function _checkBounds(
  bytes: Uint8Array,
  offset: number,
  size: number,
  verb: string,
): void {
  if (
    bytes instanceof Uint8Array && Number.isInteger(offset) && offset >= 0 &&
    offset + size <= bytes.length
  ) {
    return;
  }
  const what = `${verb} ${_byteCount(size)}`;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot ${what} from ${
        _show(bytes)
      }: the bytes must be a Uint8Array, not ${_typeOf(bytes)}`,
    );
  }
  const holds = `the buffer holds ${_byteCount(bytes.length)}`;
  if (typeof offset !== "number") {
    throw new TypeError(
      `Cannot ${what} at offset ${
        _show(offset)
      }: the offset must be a number, not ${_typeOf(offset)} (${holds})`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(
      `Cannot ${what} at offset ${offset}: the offset must be a non-negative integer (${holds})`,
    );
  }
  throw new RangeError(`Cannot ${what} at offset ${offset}: ${holds}`);
}

/** Throws unless `value` is an integer number in `min..max`. */
function _checkInteger(
  value: number,
  type: string,
  min: number,
  max: number,
): void {
  if (
    typeof value === "number" && Number.isInteger(value) && value >= min &&
    value <= max
  ) {
    return;
  }
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot write ${
        _show(value)
      } as ${type}: the value must be a number, not ${_typeOf(value)}`,
    );
  }
  throw new RangeError(
    `Cannot write ${value} as ${type}: the value must be an integer in ${min}..${max}`,
  );
}

/**
 * Returns `value` as a bigint, throwing unless it is a bigint in `min..max`
 * or a number that is a safe integer in that range.
 */
function _toBigInt(
  value: bigint | number,
  type: string,
  min: bigint,
  max: bigint,
): bigint {
  let big: bigint;
  if (typeof value === "bigint") {
    big = value;
  } else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(
        `Cannot write ${value} as ${type}: the value must be an integer (a bigint, or a number that is a safe integer)`,
      );
    }
    big = BigInt(value);
  } else {
    throw new TypeError(
      `Cannot write ${
        _show(value)
      } as ${type}: the value must be a bigint or a number, not ${
        _typeOf(value)
      }`,
    );
  }
  if (big < min || big > max) {
    throw new RangeError(
      `Cannot write ${value} as ${type}: the value must be an integer in ${min}..${max}`,
    );
  }
  return big;
}

/** Throws unless `value` is a number (any number: NaN and ±Infinity too). */
function _checkFloat(value: number, type: string): void {
  if (typeof value === "number") return;
  throw new TypeError(
    `Cannot write ${_show(value)} as ${type}: the value must be a number, not ${
      _typeOf(value)
    }`,
  );
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
        _show(value)
      } with ${name}(): the value must be a number, not ${_typeOf(value)}`,
    );
  }
  throw new RangeError(
    `Cannot convert ${value} with ${name}(): the value must be an integer in 0..${max}`,
  );
}

/** A DataView over exactly the bytes of the view, never the whole buffer. */
function _view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------
// 8-bit integers

/**
 * Reads an unsigned 8-bit integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the byte.
 * @returns The byte, in `0..255`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 1`.
 *
 * @example Read the second byte
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint8 } from "./byte_order.ts";
 *
 * assertEquals(readUint8(new Uint8Array([0x01, 0xff]), 1), 255);
 * ```
 */
export function readUint8(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 1, "read");
  return bytes[offset]!;
}

/**
 * Reads a signed (two's complement) 8-bit integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the byte.
 * @returns The value, in `-128..127`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 1`.
 *
 * @example Read 0xff as -1
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt8 } from "./byte_order.ts";
 *
 * assertEquals(readInt8(new Uint8Array([0xff]), 0), -1);
 * ```
 */
export function readInt8(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 1, "read");
  return (bytes[offset]! << 24) >> 24;
}

/**
 * Writes an unsigned 8-bit integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the byte.
 * @param value An integer in `0..255`.
 * @returns `offset + 1`, the offset just past the byte written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 1`, or `value` is not an integer in `0..255`.
 *
 * @example Write a byte
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeUint8 } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(2);
 * assertEquals(writeUint8(bytes, 1, 200), 2);
 * assertEquals(bytes, new Uint8Array([0, 200]));
 * ```
 */
export function writeUint8(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 1, "write");
  _checkInteger(value, "uint8", 0, 0xff);
  bytes[offset] = value;
  return offset + 1;
}

/**
 * Writes a signed (two's complement) 8-bit integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the byte.
 * @param value An integer in `-128..127`.
 * @returns `offset + 1`, the offset just past the byte written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 1`, or `value` is not an integer in `-128..127`.
 *
 * @example Write -1 as 0xff
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInt8 } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(1);
 * assertEquals(writeInt8(bytes, 0, -1), 1);
 * assertEquals(bytes, new Uint8Array([0xff]));
 * ```
 */
export function writeInt8(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 1, "write");
  _checkInteger(value, "int8", -0x80, 0x7f);
  bytes[offset] = value;
  return offset + 1;
}

// ---------------------------------------------------------------------------
// 16-bit integers

/**
 * Reads an unsigned 16-bit big-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `0..65535`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`.
 *
 * @example Read a port number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint16Be } from "./byte_order.ts";
 *
 * assertEquals(readUint16Be(new Uint8Array([0x1f, 0x90]), 0), 8080);
 * ```
 */
export function readUint16Be(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 2, "read");
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/**
 * Reads an unsigned 16-bit little-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `0..65535`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`.
 *
 * @example Read a little-endian port number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint16Le } from "./byte_order.ts";
 *
 * assertEquals(readUint16Le(new Uint8Array([0x90, 0x1f]), 0), 8080);
 * ```
 */
export function readUint16Le(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 2, "read");
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

/**
 * Reads a signed (two's complement) 16-bit big-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `-32768..32767`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`.
 *
 * @example Read a negative number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt16Be } from "./byte_order.ts";
 *
 * assertEquals(readInt16Be(new Uint8Array([0xff, 0xfe]), 0), -2);
 * ```
 */
export function readInt16Be(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 2, "read");
  return ((bytes[offset]! << 24) >> 16) | bytes[offset + 1]!;
}

/**
 * Reads a signed (two's complement) 16-bit little-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `-32768..32767`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`.
 *
 * @example Read a negative number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt16Le } from "./byte_order.ts";
 *
 * assertEquals(readInt16Le(new Uint8Array([0xfe, 0xff]), 0), -2);
 * ```
 */
export function readInt16Le(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 2, "read");
  return bytes[offset]! | ((bytes[offset + 1]! << 24) >> 16);
}

/**
 * Writes an unsigned 16-bit big-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `0..65535`.
 * @returns `offset + 2`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`, or `value` is not an integer in `0..65535`.
 *
 * @example Write a port number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeUint16Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(2);
 * assertEquals(writeUint16Be(bytes, 0, 8080), 2);
 * assertEquals(bytes, new Uint8Array([0x1f, 0x90]));
 * ```
 */
export function writeUint16Be(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 2, "write");
  _checkInteger(value, "uint16", 0, 0xffff);
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value;
  return offset + 2;
}

/**
 * Writes an unsigned 16-bit little-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `0..65535`.
 * @returns `offset + 2`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`, or `value` is not an integer in `0..65535`.
 *
 * @example Write a little-endian port number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeUint16Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(2);
 * assertEquals(writeUint16Le(bytes, 0, 8080), 2);
 * assertEquals(bytes, new Uint8Array([0x90, 0x1f]));
 * ```
 */
export function writeUint16Le(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 2, "write");
  _checkInteger(value, "uint16", 0, 0xffff);
  bytes[offset] = value;
  bytes[offset + 1] = value >>> 8;
  return offset + 2;
}

/**
 * Writes a signed (two's complement) 16-bit big-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `-32768..32767`.
 * @returns `offset + 2`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`, or `value` is not an integer in `-32768..32767`.
 *
 * @example Write a negative number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInt16Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(2);
 * assertEquals(writeInt16Be(bytes, 0, -2), 2);
 * assertEquals(bytes, new Uint8Array([0xff, 0xfe]));
 * ```
 */
export function writeInt16Be(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 2, "write");
  _checkInteger(value, "int16", -0x8000, 0x7fff);
  bytes[offset] = value >> 8;
  bytes[offset + 1] = value;
  return offset + 2;
}

/**
 * Writes a signed (two's complement) 16-bit little-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `-32768..32767`.
 * @returns `offset + 2`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 2`, or `value` is not an integer in `-32768..32767`.
 *
 * @example Write a negative number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInt16Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(2);
 * assertEquals(writeInt16Le(bytes, 0, -2), 2);
 * assertEquals(bytes, new Uint8Array([0xfe, 0xff]));
 * ```
 */
export function writeInt16Le(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 2, "write");
  _checkInteger(value, "int16", -0x8000, 0x7fff);
  bytes[offset] = value;
  bytes[offset + 1] = value >> 8;
  return offset + 2;
}

// ---------------------------------------------------------------------------
// 32-bit integers

/**
 * Reads an unsigned 32-bit big-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `0..4294967295`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Read a length prefix
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint32Be } from "./byte_order.ts";
 *
 * assertEquals(readUint32Be(new Uint8Array([0x00, 0x00, 0x00, 0x14]), 0), 20);
 * assertEquals(readUint32Be(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0), 4294967295);
 * ```
 */
export function readUint32Be(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 4, "read");
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) |
    (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/**
 * Reads an unsigned 32-bit little-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `0..4294967295`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Read a little-endian length prefix
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint32Le } from "./byte_order.ts";
 *
 * assertEquals(readUint32Le(new Uint8Array([0x14, 0x00, 0x00, 0x00]), 0), 20);
 * ```
 */
export function readUint32Le(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 4, "read");
  return (bytes[offset]! | (bytes[offset + 1]! << 8) |
    (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/**
 * Reads a signed (two's complement) 32-bit big-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `-2147483648..2147483647`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Read the smallest int32
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt32Be } from "./byte_order.ts";
 *
 * assertEquals(readInt32Be(new Uint8Array([0x80, 0x00, 0x00, 0x00]), 0), -2147483648);
 * ```
 */
export function readInt32Be(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 4, "read");
  return (bytes[offset]! << 24) | (bytes[offset + 1]! << 16) |
    (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
}

/**
 * Reads a signed (two's complement) 32-bit little-endian integer.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `-2147483648..2147483647`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Read -1
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt32Le } from "./byte_order.ts";
 *
 * assertEquals(readInt32Le(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0), -1);
 * ```
 */
export function readInt32Le(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 4, "read");
  return bytes[offset]! | (bytes[offset + 1]! << 8) |
    (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24);
}

/**
 * Writes an unsigned 32-bit big-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `0..4294967295`.
 * @returns `offset + 4`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`, or `value` is not an integer in `0..4294967295`.
 *
 * @example Write a length prefix
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeUint32Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(4);
 * assertEquals(writeUint32Be(bytes, 0, 20), 4);
 * assertEquals(bytes, new Uint8Array([0x00, 0x00, 0x00, 0x14]));
 * ```
 */
export function writeUint32Be(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 4, "write");
  _checkInteger(value, "uint32", 0, 0xffff_ffff);
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
  return offset + 4;
}

/**
 * Writes an unsigned 32-bit little-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `0..4294967295`.
 * @returns `offset + 4`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`, or `value` is not an integer in `0..4294967295`.
 *
 * @example Write a little-endian length prefix
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeUint32Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(4);
 * assertEquals(writeUint32Le(bytes, 0, 20), 4);
 * assertEquals(bytes, new Uint8Array([0x14, 0x00, 0x00, 0x00]));
 * ```
 */
export function writeUint32Le(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 4, "write");
  _checkInteger(value, "uint32", 0, 0xffff_ffff);
  bytes[offset] = value;
  bytes[offset + 1] = value >>> 8;
  bytes[offset + 2] = value >>> 16;
  bytes[offset + 3] = value >>> 24;
  return offset + 4;
}

/**
 * Writes a signed (two's complement) 32-bit big-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `-2147483648..2147483647`.
 * @returns `offset + 4`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`, or `value` is not an integer in `-2147483648..2147483647`.
 *
 * @example Write -2
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInt32Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(4);
 * assertEquals(writeInt32Be(bytes, 0, -2), 4);
 * assertEquals(bytes, new Uint8Array([0xff, 0xff, 0xff, 0xfe]));
 * ```
 */
export function writeInt32Be(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 4, "write");
  _checkInteger(value, "int32", -0x8000_0000, 0x7fff_ffff);
  bytes[offset] = value >> 24;
  bytes[offset + 1] = value >> 16;
  bytes[offset + 2] = value >> 8;
  bytes[offset + 3] = value;
  return offset + 4;
}

/**
 * Writes a signed (two's complement) 32-bit little-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value An integer in `-2147483648..2147483647`.
 * @returns `offset + 4`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`, or `value` is not an integer in `-2147483648..2147483647`.
 *
 * @example Write -2
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInt32Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(4);
 * assertEquals(writeInt32Le(bytes, 0, -2), 4);
 * assertEquals(bytes, new Uint8Array([0xfe, 0xff, 0xff, 0xff]));
 * ```
 */
export function writeInt32Le(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 4, "write");
  _checkInteger(value, "int32", -0x8000_0000, 0x7fff_ffff);
  bytes[offset] = value;
  bytes[offset + 1] = value >> 8;
  bytes[offset + 2] = value >> 16;
  bytes[offset + 3] = value >> 24;
  return offset + 4;
}

// ---------------------------------------------------------------------------
// 64-bit integers, as bigint

/**
 * Reads an unsigned 64-bit big-endian integer as a `bigint`.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `0n..18446744073709551615n`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Read the largest uint64
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint64Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8).fill(0xff);
 * assertEquals(readUint64Be(bytes, 0), 18446744073709551615n);
 * ```
 */
export function readUint64Be(bytes: Uint8Array, offset: number): bigint {
  _checkBounds(bytes, offset, 8, "read");
  return _view(bytes).getBigUint64(offset, false);
}

/**
 * Reads an unsigned 64-bit little-endian integer as a `bigint`.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `0n..18446744073709551615n`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Read 2**32
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint64Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]);
 * assertEquals(readUint64Le(bytes, 0), 4294967296n);
 * ```
 */
export function readUint64Le(bytes: Uint8Array, offset: number): bigint {
  _checkBounds(bytes, offset, 8, "read");
  return _view(bytes).getBigUint64(offset, true);
}

/**
 * Reads a signed (two's complement) 64-bit big-endian integer as a `bigint`.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `-9223372036854775808n..9223372036854775807n`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Read -1
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt64Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8).fill(0xff);
 * assertEquals(readInt64Be(bytes, 0), -1n);
 * ```
 */
export function readInt64Be(bytes: Uint8Array, offset: number): bigint {
  _checkBounds(bytes, offset, 8, "read");
  return _view(bytes).getBigInt64(offset, false);
}

/**
 * Reads a signed (two's complement) 64-bit little-endian integer as a
 * `bigint`.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, in `-9223372036854775808n..9223372036854775807n`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Read -2
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt64Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
 * assertEquals(readInt64Le(bytes, 0), -2n);
 * ```
 */
export function readInt64Le(bytes: Uint8Array, offset: number): bigint {
  _checkBounds(bytes, offset, 8, "read");
  return _view(bytes).getBigInt64(offset, true);
}

/**
 * Writes an unsigned 64-bit big-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value A `bigint` in `0n..18446744073709551615n`, or a number that is a safe integer and not negative.
 * @returns `offset + 8`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, `offset` is not a number, or `value` is neither a bigint nor a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`, `value` is out of range, or `value` is a number that is not a safe integer.
 *
 * @example Write a byte count
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeUint64Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8);
 * assertEquals(writeUint64Be(bytes, 0, 2n ** 32n), 8);
 * assertEquals(bytes, new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0]));
 * ```
 */
export function writeUint64Be(
  bytes: Uint8Array,
  offset: number,
  value: bigint | number,
): number {
  _checkBounds(bytes, offset, 8, "write");
  const big = _toBigInt(value, "uint64", 0n, _UINT64_MAX);
  _view(bytes).setBigUint64(offset, big, false);
  return offset + 8;
}

/**
 * Writes an unsigned 64-bit little-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value A `bigint` in `0n..18446744073709551615n`, or a number that is a safe integer and not negative.
 * @returns `offset + 8`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, `offset` is not a number, or `value` is neither a bigint nor a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`, `value` is out of range, or `value` is a number that is not a safe integer.
 *
 * @example Write a number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeUint64Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8);
 * assertEquals(writeUint64Le(bytes, 0, 258), 8);
 * assertEquals(bytes, new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0]));
 * ```
 */
export function writeUint64Le(
  bytes: Uint8Array,
  offset: number,
  value: bigint | number,
): number {
  _checkBounds(bytes, offset, 8, "write");
  const big = _toBigInt(value, "uint64", 0n, _UINT64_MAX);
  _view(bytes).setBigUint64(offset, big, true);
  return offset + 8;
}

/**
 * Writes a signed (two's complement) 64-bit big-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value A `bigint` in `-9223372036854775808n..9223372036854775807n`, or a number that is a safe integer.
 * @returns `offset + 8`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, `offset` is not a number, or `value` is neither a bigint nor a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`, `value` is out of range, or `value` is a number that is not a safe integer.
 *
 * @example Write -1
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInt64Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8);
 * assertEquals(writeInt64Be(bytes, 0, -1n), 8);
 * assertEquals(bytes, new Uint8Array(8).fill(0xff));
 * ```
 */
export function writeInt64Be(
  bytes: Uint8Array,
  offset: number,
  value: bigint | number,
): number {
  _checkBounds(bytes, offset, 8, "write");
  const big = _toBigInt(value, "int64", _INT64_MIN, _INT64_MAX);
  _view(bytes).setBigInt64(offset, big, false);
  return offset + 8;
}

/**
 * Writes a signed (two's complement) 64-bit little-endian integer.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value A `bigint` in `-9223372036854775808n..9223372036854775807n`, or a number that is a safe integer.
 * @returns `offset + 8`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, `offset` is not a number, or `value` is neither a bigint nor a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`, `value` is out of range, or `value` is a number that is not a safe integer.
 *
 * @example Write -2 given as a number
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInt64Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8);
 * assertEquals(writeInt64Le(bytes, 0, -2), 8);
 * assertEquals(bytes, new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
 * ```
 */
export function writeInt64Le(
  bytes: Uint8Array,
  offset: number,
  value: bigint | number,
): number {
  _checkBounds(bytes, offset, 8, "write");
  const big = _toBigInt(value, "int64", _INT64_MIN, _INT64_MAX);
  _view(bytes).setBigInt64(offset, big, true);
  return offset + 8;
}

// ---------------------------------------------------------------------------
// IEEE 754 floats

/**
 * Reads a 32-bit (single precision) big-endian IEEE 754 float.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, which may be `NaN`, `±Infinity` or `-0`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Read 1.5
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readFloat32Be } from "./byte_order.ts";
 *
 * assertEquals(readFloat32Be(new Uint8Array([0x3f, 0xc0, 0x00, 0x00]), 0), 1.5);
 * ```
 */
export function readFloat32Be(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 4, "read");
  return _view(bytes).getFloat32(offset, false);
}

/**
 * Reads a 32-bit (single precision) little-endian IEEE 754 float.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, which may be `NaN`, `±Infinity` or `-0`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Read 1.5
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readFloat32Le } from "./byte_order.ts";
 *
 * assertEquals(readFloat32Le(new Uint8Array([0x00, 0x00, 0xc0, 0x3f]), 0), 1.5);
 * ```
 */
export function readFloat32Le(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 4, "read");
  return _view(bytes).getFloat32(offset, true);
}

/**
 * Reads a 64-bit (double precision) big-endian IEEE 754 float.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, which may be `NaN`, `±Infinity` or `-0`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Read 1.5
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readFloat64Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
 * assertEquals(readFloat64Be(bytes, 0), 1.5);
 * ```
 */
export function readFloat64Be(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 8, "read");
  return _view(bytes).getFloat64(offset, false);
}

/**
 * Reads a 64-bit (double precision) little-endian IEEE 754 float.
 *
 * @param bytes The bytes to read from.
 * @param offset The index of the first byte.
 * @returns The value, which may be `NaN`, `±Infinity` or `-0`.
 * @throws {TypeError} If `bytes` is not a `Uint8Array` or `offset` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Read 1.5
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readFloat64Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array([0, 0, 0, 0, 0, 0, 0xf8, 0x3f]);
 * assertEquals(readFloat64Le(bytes, 0), 1.5);
 * ```
 */
export function readFloat64Le(bytes: Uint8Array, offset: number): number {
  _checkBounds(bytes, offset, 8, "read");
  return _view(bytes).getFloat64(offset, true);
}

/**
 * Writes a 32-bit (single precision) big-endian IEEE 754 float. The value is
 * rounded to the nearest float32 as `Math.fround` does (a value too large
 * becomes `±Infinity`); `NaN`, `±Infinity` and `-0` are written as such.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value Any number.
 * @returns `offset + 4`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Write 1.5
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeFloat32Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(4);
 * assertEquals(writeFloat32Be(bytes, 0, 1.5), 4);
 * assertEquals(bytes, new Uint8Array([0x3f, 0xc0, 0x00, 0x00]));
 * ```
 */
export function writeFloat32Be(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 4, "write");
  _checkFloat(value, "float32");
  _view(bytes).setFloat32(offset, value, false);
  return offset + 4;
}

/**
 * Writes a 32-bit (single precision) little-endian IEEE 754 float. The value
 * is rounded to the nearest float32 as `Math.fround` does (a value too large
 * becomes `±Infinity`); `NaN`, `±Infinity` and `-0` are written as such.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value Any number.
 * @returns `offset + 4`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 4`.
 *
 * @example Write 0.1, rounded to float32
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readFloat32Le, writeFloat32Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(4);
 * assertEquals(writeFloat32Le(bytes, 0, 0.1), 4);
 * assertEquals(bytes, new Uint8Array([0xcd, 0xcc, 0xcc, 0x3d]));
 * assertEquals(readFloat32Le(bytes, 0), Math.fround(0.1));
 * ```
 */
export function writeFloat32Le(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 4, "write");
  _checkFloat(value, "float32");
  _view(bytes).setFloat32(offset, value, true);
  return offset + 4;
}

/**
 * Writes a 64-bit (double precision) big-endian IEEE 754 float. `NaN`,
 * `±Infinity` and `-0` are written as such.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value Any number.
 * @returns `offset + 8`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Write -0
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeFloat64Be } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8);
 * assertEquals(writeFloat64Be(bytes, 0, -0), 8);
 * assertEquals(bytes, new Uint8Array([0x80, 0, 0, 0, 0, 0, 0, 0]));
 * ```
 */
export function writeFloat64Be(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 8, "write");
  _checkFloat(value, "float64");
  _view(bytes).setFloat64(offset, value, false);
  return offset + 8;
}

/**
 * Writes a 64-bit (double precision) little-endian IEEE 754 float. `NaN`,
 * `±Infinity` and `-0` are written as such.
 *
 * @param bytes The bytes to write into.
 * @param offset The index of the first byte.
 * @param value Any number.
 * @returns `offset + 8`, the offset just past the bytes written.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`, or `offset` or `value` is not a number.
 * @throws {RangeError} If `offset` is not an integer in `0..bytes.length - 8`.
 *
 * @example Write 1.5
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeFloat64Le } from "./byte_order.ts";
 *
 * const bytes = new Uint8Array(8);
 * assertEquals(writeFloat64Le(bytes, 0, 1.5), 8);
 * assertEquals(bytes, new Uint8Array([0, 0, 0, 0, 0, 0, 0xf8, 0x3f]));
 * ```
 */
export function writeFloat64Le(
  bytes: Uint8Array,
  offset: number,
  value: number,
): number {
  _checkBounds(bytes, offset, 8, "write");
  _checkFloat(value, "float64");
  _view(bytes).setFloat64(offset, value, true);
  return offset + 8;
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
 * import { HOST_BYTE_ORDER, htons } from "./byte_order.ts";
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
 * import { htons, ntohs } from "./byte_order.ts";
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
 * import { HOST_BYTE_ORDER, htonl } from "./byte_order.ts";
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
 * import { htonl, ntohl } from "./byte_order.ts";
 *
 * assertEquals(ntohl(htonl(0xdeadbeef)), 0xdeadbeef);
 * ```
 */
export function ntohl(value: number): number {
  _checkHost(value, "ntohl", 0xffff_ffff);
  return _HOST_IS_LITTLE ? _swap32(value) : value >>> 0;
}
