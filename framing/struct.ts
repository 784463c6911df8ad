/**
 * Python's `struct` module, exactly: convert between JS values and C structs
 * packed into bytes, with the same format strings, sizes, alignment, ranges
 * and errors as CPython on x86-64 Linux.
 *
 * | Python | sockit |
 * | --- | --- |
 * | `struct.pack("!HI", 1, 2)` | `pack("!HI", 1, 2)` |
 * | `struct.unpack("!HI", b)` | `unpack("!HI", b)` |
 * | `struct.calcsize("@bi")` | `calcsize("@bi")` |
 * | `struct.pack_into(f, buf, off, *v)` | `packInto(f, buf, off, ...v)` |
 * | `struct.unpack_from(f, buf, off)` | `unpackFrom(f, buf, off)` |
 * | `struct.iter_unpack(f, buf)` | `iterUnpack(f, buf)` |
 * | `struct.Struct("!HI")` | `new Struct("!HI")` |
 * | `struct.error` | {@linkcode StructError} |
 *
 * Values map as in Python: integer codes give and take `number`, the 64-bit
 * ones (`q Q n N P`, and `l L` with native sizes, where they are 8 bytes)
 * give `bigint` and take `bigint` or a safe-integer `number` (a number
 * beyond ±(2**53-1) may already be rounded, so it is refused with a
 * {@linkcode StructError} that says to pass a `bigint`, as Python refuses a
 * float); `?` is `boolean`; `e f d` are
 * `number`; `s p c` are `Uint8Array` (unpacked values are copies, never views
 * of the input). When the format is a string literal, TypeScript knows the
 * tuple: `unpack("!HIq", b)` is `[number, number, bigint]`.
 *
 * Differences from CPython, all forced by JS: a NaN's sign and payload are
 * not kept (JS has one NaN); struct sizes are limited to
 * `Number.MAX_SAFE_INTEGER` bytes (CPython: 2**63-1); an unparsable format
 * raises `SyntaxError` rather than `struct.error`; an integral `number` that
 * is not a safe integer (`2 ** 60 + 1` is already `2 ** 60`) is refused by
 * the 64-bit codes, like a Python float, rather than packed as whatever it
 * rounded to: pass a `bigint`.
 *
 * @example Network byte order
 * ```ts
 * import { pack, unpack } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = pack("!I", 20);
 * assertEquals(bytes, new Uint8Array([0, 0, 0, 20]));
 * const [n] = unpack("!I", bytes);
 * assertEquals(n, 20);
 * ```
 *
 * @module
 */
import {
  cachedFormat,
  type CompiledFormat,
  compileFormat,
  K_BOOL,
  K_CHAR,
  K_FLOAT16,
  K_FLOAT32,
  K_FLOAT32_NATIVE,
  K_FLOAT64,
  K_INT16,
  K_INT32,
  K_INT64,
  K_INT8,
  K_PASCAL,
  K_POINTER,
  K_STRING,
  K_UINT16,
  K_UINT32,
  K_UINT64,
  K_UINT8,
  type StructItem,
} from "./_struct_format.ts";
import { describe } from "./_describe.ts";
import { decodeFloat16, encodeFloat16 } from "./_float16.ts";
import { StructError } from "./errors.ts";
import type {
  PackValues,
  StructValue,
  UnpackedValues,
} from "./_struct_types.ts";

export type {
  PackValue,
  PackValues,
  StructValue,
  UnpackedValues,
} from "./_struct_types.ts";

const INT_RANGES: ReadonlyArray<readonly [number, number]> = [];
function setRange(kind: number, min: number, max: number): void {
  (INT_RANGES as Array<readonly [number, number]>)[kind] = [min, max];
}
setRange(K_INT8, -0x80, 0x7f);
setRange(K_UINT8, 0, 0xff);
setRange(K_INT16, -0x8000, 0x7fff);
setRange(K_UINT16, 0, 0xffff);
setRange(K_INT32, -0x80000000, 0x7fffffff);
setRange(K_UINT32, 0, 0xffffffff);

const BIG_RANGES: ReadonlyArray<readonly [bigint, bigint]> = [];
function setBigRange(kind: number, min: bigint, max: bigint): void {
  (BIG_RANGES as Array<readonly [bigint, bigint]>)[kind] = [min, max];
}
setBigRange(K_INT64, -(2n ** 63n), 2n ** 63n - 1n);
setBigRange(K_UINT64, 0n, 2n ** 64n - 1n);
setBigRange(K_POINTER, -(2n ** 63n), 2n ** 64n - 1n);

/** The kind of a value in a struct: see {@linkcode Struct.valueKinds}. */
export type StructValueKind = "int" | "float" | "bool" | "bytes";

const KIND_OF: Readonly<Record<number, StructValueKind>> = {
  [K_FLOAT16]: "float",
  [K_FLOAT32]: "float",
  [K_FLOAT32_NATIVE]: "float",
  [K_FLOAT64]: "float",
  [K_BOOL]: "bool",
  [K_CHAR]: "bytes",
  [K_STRING]: "bytes",
  [K_PASCAL]: "bytes",
};

function valueError(
  compiled: CompiledFormat,
  item: StructItem,
  index: number,
  value: unknown,
  problem: string,
  range?: readonly [number | bigint, number | bigint],
): StructError {
  return new StructError(
    `Cannot pack value ${index} ('${item.char}' in ${
      JSON.stringify(compiled.format)
    }) as ${describe(value)} ${problem}`,
    range === undefined
      ? { format: compiled.format, index, char: item.char }
      : {
        format: compiled.format,
        index,
        char: item.char,
        min: range[0],
        max: range[1],
      },
  );
}

function packInteger(
  view: DataView,
  at: number,
  compiled: CompiledFormat,
  item: StructItem,
  index: number,
  value: unknown,
): void {
  const kind = item.kind;
  const little = compiled.littleEndian;
  if (typeof value === "boolean") value = value ? 1 : 0;
  const bigRange = BIG_RANGES[kind];
  if (bigRange !== undefined) {
    let big: bigint;
    if (typeof value === "bigint") {
      big = value;
    } else if (typeof value === "number" && Number.isSafeInteger(value)) {
      big = BigInt(value);
    } else if (typeof value === "number" && Number.isInteger(value)) {
      // Past 2**53 a number may already be rounded (2 ** 60 + 1 is 2 ** 60):
      // packing it would silently store another integer.
      throw valueError(
        compiled,
        item,
        index,
        value,
        "is not a safe integer (beyond ±(2**53-1) a number may already be rounded): pass a bigint",
      );
    } else {
      throw valueError(compiled, item, index, value, "is not an integer");
    }
    if (big < bigRange[0] || big > bigRange[1]) {
      throw valueError(
        compiled,
        item,
        index,
        value,
        `is outside the range ${bigRange[0]}..${bigRange[1]}`,
        bigRange,
      );
    }
    if (kind === K_INT64) view.setBigInt64(at, big, little);
    else view.setBigUint64(at, BigInt.asUintN(64, big), little);
    return;
  }
  const range = INT_RANGES[kind]!;
  let n: number;
  if (typeof value === "number" && Number.isInteger(value)) {
    n = value;
  } else if (typeof value === "bigint") {
    n = value < -(2n ** 64n) || value > 2n ** 64n ? Infinity : Number(value);
  } else {
    throw valueError(compiled, item, index, value, "is not an integer");
  }
  if (n < range[0] || n > range[1]) {
    throw valueError(
      compiled,
      item,
      index,
      value,
      `is outside the range ${range[0]}..${range[1]}`,
      range,
    );
  }
  switch (kind) {
    case K_INT8:
      view.setInt8(at, n);
      break;
    case K_UINT8:
      view.setUint8(at, n);
      break;
    case K_INT16:
      view.setInt16(at, n, little);
      break;
    case K_UINT16:
      view.setUint16(at, n, little);
      break;
    case K_INT32:
      view.setInt32(at, n, little);
      break;
    default:
      view.setUint32(at, n, little);
  }
}

function toFloat(
  compiled: CompiledFormat,
  item: StructItem,
  index: number,
  value: unknown,
): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
    throw valueError(
      compiled,
      item,
      index,
      value,
      "is too large to convert to a float",
    );
  }
  throw valueError(compiled, item, index, value, "is not a number");
}

function isTruthy(value: unknown): boolean {
  // Python's truth value, for the JS types that have a Python counterpart.
  if (value === null || value === undefined) return false;
  if (typeof value === "number") return value !== 0; // NaN is true
  if (typeof value === "string") return value.length > 0;
  if (value instanceof Uint8Array || Array.isArray(value)) {
    return value.length > 0;
  }
  return Boolean(value);
}

function requireBytes(
  compiled: CompiledFormat,
  item: StructItem,
  index: number,
  value: unknown,
): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw valueError(
    compiled,
    item,
    index,
    value,
    typeof value === "string"
      ? "is not a Uint8Array (encode text first, e.g. with TextEncoder)"
      : "is not a Uint8Array",
  );
}

// Writes every value of `compiled` at `base` in `bytes`. The caller has
// checked the value count and zeroed the struct's bytes.
function packValues(
  compiled: CompiledFormat,
  bytes: Uint8Array,
  base: number,
  values: ArrayLike<unknown>,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = compiled.littleEndian;
  const items = compiled.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const kind = item.kind;
    let index = item.valueIndex;
    let at = base + item.offset;
    for (let r = 0; r < item.repeat; r++, index++, at += item.size) {
      const value = values[index];
      // Fast paths first: a value of the expected type and range is written
      // at once; anything else goes through the checks in packInteger.
      switch (kind) {
        case K_UINT8:
          if (typeof value === "number" && (value & 0xff) === value) {
            bytes[at] = value;
            continue;
          }
          break;
        case K_UINT16:
          if (typeof value === "number" && (value & 0xffff) === value) {
            view.setUint16(at, value, little);
            continue;
          }
          break;
        case K_INT16:
          if (typeof value === "number" && (value << 16 >> 16) === value) {
            view.setInt16(at, value, little);
            continue;
          }
          break;
        case K_UINT32:
          if (typeof value === "number" && value >>> 0 === value) {
            view.setUint32(at, value, little);
            continue;
          }
          break;
        case K_INT32:
          if (typeof value === "number" && (value | 0) === value) {
            view.setInt32(at, value, little);
            continue;
          }
          break;
        case K_INT64:
          if (
            typeof value === "bigint" && BigInt.asIntN(64, value) === value
          ) {
            view.setBigInt64(at, value, little);
            continue;
          }
          break;
        case K_UINT64:
          if (
            typeof value === "bigint" && BigInt.asUintN(64, value) === value
          ) {
            view.setBigUint64(at, value, little);
            continue;
          }
          break;
      }
      switch (kind) {
        case K_INT8:
        case K_UINT8:
        case K_INT16:
        case K_UINT16:
        case K_INT32:
        case K_UINT32:
        case K_INT64:
        case K_UINT64:
        case K_POINTER:
          packInteger(view, at, compiled, item, index, value);
          break;
        case K_FLOAT64:
          view.setFloat64(at, toFloat(compiled, item, index, value), little);
          break;
        case K_FLOAT32:
        case K_FLOAT32_NATIVE: {
          const x = toFloat(compiled, item, index, value);
          if (
            kind === K_FLOAT32 && Number.isFinite(x) &&
            !Number.isFinite(Math.fround(x))
          ) {
            throw valueError(
              compiled,
              item,
              index,
              value,
              "is too large for a float32 (standard-size 'f' does not round to infinity)",
            );
          }
          view.setFloat32(at, x, little);
          break;
        }
        case K_FLOAT16: {
          const bits = encodeFloat16(toFloat(compiled, item, index, value));
          if (bits < 0) {
            throw valueError(
              compiled,
              item,
              index,
              value,
              "is too large for a float16 (the largest is 65504)",
            );
          }
          view.setUint16(at, bits, little);
          break;
        }
        case K_BOOL:
          bytes[at] = isTruthy(value) ? 1 : 0;
          break;
        case K_CHAR: {
          const b = requireBytes(compiled, item, index, value);
          if (b.length !== 1) {
            throw valueError(
              compiled,
              item,
              index,
              value,
              "is not exactly 1 byte long",
            );
          }
          bytes[at] = b[0]!;
          break;
        }
        case K_STRING: {
          const b = requireBytes(compiled, item, index, value);
          const n = Math.min(b.length, item.size);
          bytes.set(n === b.length ? b : b.subarray(0, n), at);
          break;
        }
        case K_PASCAL: {
          const b = requireBytes(compiled, item, index, value);
          // CPython writes the length byte even for a "0p" field (it lands
          // in the next field or a pad, or past the struct): do the same,
          // within the buffer.
          const n = Math.min(b.length, item.size - 1);
          if (n > 0) bytes.set(b.subarray(0, n), at + 1);
          if (at < bytes.length) bytes[at] = n < 0 ? 255 : Math.min(n, 255);
          break;
        }
      }
    }
  }
}

function countError(
  compiled: CompiledFormat,
  operation: string,
  actual: number,
): StructError {
  const expected = compiled.valueCount;
  return new StructError(
    `Cannot ${operation} with format ${
      JSON.stringify(compiled.format)
    } as it takes ${expected} value${expected === 1 ? "" : "s"} but ${actual} ${
      actual === 1 ? "was" : "were"
    } given`,
    { format: compiled.format, expected, actual },
  );
}

function requireBuffer(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError(
    `Cannot ${what} ${describe(value)}: it must be a Uint8Array`,
  );
}

function requireOffset(offset: unknown): number {
  if (typeof offset !== "number" || !Number.isInteger(offset)) {
    throw new TypeError(
      `Cannot use ${describe(offset)} as an offset: it must be an integer`,
    );
  }
  return offset;
}

// Resolves a Python-style offset (negative counts from the end).
function resolveOffset(
  compiled: CompiledFormat,
  operation: "pack into" | "unpack from",
  length: number,
  offset: number,
): number {
  const size = compiled.size;
  if (offset < 0) {
    if (offset + size > 0) {
      throw new StructError(
        `Cannot ${operation} offset ${offset} with format ${
          JSON.stringify(compiled.format)
        } as its ${size} bytes would run past the end of the buffer`,
        { format: compiled.format, expected: size, actual: -offset },
      );
    }
    if (offset + length < 0) {
      throw new StructError(
        `Cannot ${operation} offset ${offset} as it lies before the start of the ${length}-byte buffer`,
        { format: compiled.format, expected: -offset, actual: length },
      );
    }
    offset += length;
  }
  if (length - offset < size) {
    throw new StructError(
      `Cannot ${operation} offset ${offset} with format ${
        JSON.stringify(compiled.format)
      } as it needs a buffer of at least ${
        size + offset
      } bytes but the buffer holds ${length}`,
      { format: compiled.format, expected: size + offset, actual: length },
    );
  }
  return offset;
}

function readValues(
  compiled: CompiledFormat,
  bytes: Uint8Array,
  base: number,
): StructValue[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = compiled.littleEndian;
  const out: StructValue[] = [];
  const items = compiled.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const kind = item.kind;
    let index = item.valueIndex;
    let at = base + item.offset;
    for (let r = 0; r < item.repeat; r++, index++, at += item.size) {
      switch (kind) {
        case K_INT8:
          out.push(view.getInt8(at));
          break;
        case K_UINT8:
          out.push(bytes[at]!);
          break;
        case K_INT16:
          out.push(view.getInt16(at, little));
          break;
        case K_UINT16:
          out.push(view.getUint16(at, little));
          break;
        case K_INT32:
          out.push(view.getInt32(at, little));
          break;
        case K_UINT32:
          out.push(view.getUint32(at, little));
          break;
        case K_INT64:
          out.push(view.getBigInt64(at, little));
          break;
        case K_UINT64:
        case K_POINTER:
          out.push(view.getBigUint64(at, little));
          break;
        case K_FLOAT16:
          out.push(decodeFloat16(view.getUint16(at, little)));
          break;
        case K_FLOAT32:
        case K_FLOAT32_NATIVE:
          out.push(view.getFloat32(at, little));
          break;
        case K_FLOAT64:
          out.push(view.getFloat64(at, little));
          break;
        case K_BOOL:
          out.push(bytes[at] !== 0);
          break;
        case K_CHAR:
          out.push(bytes.slice(at, at + 1));
          break;
        case K_STRING:
          out.push(bytes.slice(at, at + item.size));
          break;
        case K_PASCAL: {
          if (item.size === 0) {
            throw new StructError(
              `Cannot unpack value ${index} ('0p' in ${
                JSON.stringify(compiled.format)
              }) as a Pascal string field needs at least 1 byte for its length`,
              { format: compiled.format, index, char: "p" },
            );
          }
          const n = Math.min(bytes[at]!, item.size - 1);
          out.push(bytes.slice(at + 1, at + 1 + n));
          break;
        }
      }
    }
  }
  return out;
}

function doPack(
  compiled: CompiledFormat,
  values: ArrayLike<unknown>,
): Uint8Array {
  if (values.length !== compiled.valueCount) {
    throw countError(compiled, "pack", values.length);
  }
  const bytes = new Uint8Array(compiled.size);
  packValues(compiled, bytes, 0, values);
  return bytes;
}

function doPackInto(
  compiled: CompiledFormat,
  buffer: unknown,
  offset: unknown,
  values: ArrayLike<unknown>,
): void {
  const target = requireBuffer(buffer, "pack into");
  if (values.length !== compiled.valueCount) {
    throw countError(compiled, "pack into a buffer", values.length);
  }
  const at = resolveOffset(
    compiled,
    "pack into",
    target.length,
    requireOffset(offset),
  );
  if (compiled.hasGaps) target.fill(0, at, at + compiled.size);
  packValues(compiled, target, at, values);
}

function doUnpack(compiled: CompiledFormat, bytes: unknown): StructValue[] {
  const source = requireBuffer(bytes, "unpack");
  if (source.length !== compiled.size) {
    throw new StructError(
      `Cannot unpack ${source.length} bytes with format ${
        JSON.stringify(compiled.format)
      } as it needs exactly ${compiled.size}`,
      {
        format: compiled.format,
        expected: compiled.size,
        actual: source.length,
      },
    );
  }
  return readValues(compiled, source, 0);
}

function doUnpackFrom(
  compiled: CompiledFormat,
  bytes: unknown,
  offset: unknown,
): StructValue[] {
  const source = requireBuffer(bytes, "unpack from");
  const at = resolveOffset(
    compiled,
    "unpack from",
    source.length,
    requireOffset(offset),
  );
  return readValues(compiled, source, at);
}

function doIterUnpack(
  compiled: CompiledFormat,
  bytes: unknown,
): IterableIterator<StructValue[]> {
  const source = requireBuffer(bytes, "unpack");
  const size = compiled.size;
  if (size === 0) {
    throw new StructError(
      `Cannot iteratively unpack with format ${
        JSON.stringify(compiled.format)
      } as its size is 0 bytes`,
      { format: compiled.format, expected: 0, actual: source.length },
    );
  }
  if (source.length % size !== 0) {
    throw new StructError(
      `Cannot iteratively unpack ${source.length} bytes with format ${
        JSON.stringify(compiled.format)
      } as it needs a multiple of ${size} bytes`,
      { format: compiled.format, expected: size, actual: source.length },
    );
  }
  return (function* () {
    for (let at = 0; at < source.length; at += size) {
      yield readValues(compiled, source, at);
    }
  })();
}

/**
 * Packs `values` into a new `Uint8Array` laid out by `format`, like Python's
 * `struct.pack`.
 *
 * @param format A struct format string such as `"!HIq"`.
 * @param values One value per format item (`s` and `p` take one `Uint8Array`
 * each, whatever their count; `x` takes none).
 * @returns The packed bytes, `calcsize(format)` long.
 * @throws {StructError} If a value is out of range or of the wrong type (a
 * `number` that is not a safe integer for a 64-bit code: pass a `bigint`),
 * or the number of values is wrong.
 * @throws {SyntaxError} If `format` is not a valid struct format.
 *
 * @example A binary header in network byte order
 * ```ts
 * import { pack } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const header = pack("!HHI", 1, 2, 0x01020304);
 * assertEquals(header, new Uint8Array([0, 1, 0, 2, 1, 2, 3, 4]));
 * ```
 */
export function pack<F extends string>(
  format: F,
  ...values: PackValues<F>
): Uint8Array {
  return doPack(cachedFormat(format), values);
}

/**
 * Unpacks `bytes`, which must be exactly `calcsize(format)` long, like
 * Python's `struct.unpack`.
 *
 * @param format A struct format string such as `"!HIq"`.
 * @param bytes The packed bytes.
 * @returns The values, typed from `format` when it is a string literal.
 * @throws {StructError} If `bytes` has the wrong length.
 * @throws {SyntaxError} If `format` is not a valid struct format.
 *
 * @example Reading a header
 * ```ts
 * import { unpack } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const [kind, length, id] = unpack(
 *   "!HIq",
 *   new Uint8Array([0, 7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 42]),
 * );
 * assertEquals([kind, length, id], [7, 256, 42n]);
 * ```
 */
export function unpack<F extends string>(
  format: F,
  bytes: Uint8Array,
): UnpackedValues<F> {
  return doUnpack(cachedFormat(format), bytes) as UnpackedValues<F>;
}

/**
 * Returns the size in bytes of the struct `format` describes, like Python's
 * `struct.calcsize`, native alignment included.
 *
 * @param format A struct format string.
 * @returns The size in bytes.
 * @throws {SyntaxError} If `format` is not a valid struct format.
 *
 * @example Native alignment versus standard sizes
 * ```ts
 * import { calcsize } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(calcsize("@bi"), 8); // b, 3 pad bytes, i
 * assertEquals(calcsize("=bi"), 5); // no alignment with a prefix
 * ```
 */
export function calcsize(format: string): number {
  return cachedFormat(format).size;
}

/**
 * Packs `values` into `buffer` at `offset`, like Python's `struct.pack_into`.
 * A negative offset counts from the end of the buffer.
 *
 * @param format A struct format string.
 * @param buffer The buffer to write into.
 * @param offset Where to write; negative counts from the end.
 * @param values One value per format item.
 * @throws {StructError} If a value is bad, the count is wrong, or the struct
 * does not fit in `buffer` at `offset`.
 * @throws {SyntaxError} If `format` is not a valid struct format.
 *
 * @example Filling in a length after the fact
 * ```ts
 * import { packInto } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const message = new Uint8Array([0, 0, 104, 105]);
 * packInto("!H", message, 0, message.length - 2);
 * assertEquals(message, new Uint8Array([0, 2, 104, 105]));
 * ```
 */
export function packInto<F extends string>(
  format: F,
  buffer: Uint8Array,
  offset: number,
  ...values: PackValues<F>
): void {
  doPackInto(cachedFormat(format), buffer, offset, values);
}

/**
 * Unpacks a struct from `bytes` at `offset`, like Python's
 * `struct.unpack_from`. The buffer may be longer than the struct.
 *
 * @param format A struct format string.
 * @param bytes The bytes to read from.
 * @param offset Where the struct starts; negative counts from the end.
 * @returns The values.
 * @throws {StructError} If the struct does not fit in `bytes` at `offset`.
 * @throws {SyntaxError} If `format` is not a valid struct format.
 *
 * @example A field in the middle of a packet
 * ```ts
 * import { unpackFrom } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const packet = new Uint8Array([0xff, 0, 0, 0, 20, 0xff]);
 * assertEquals(unpackFrom("!I", packet, 1), [20]);
 * ```
 */
export function unpackFrom<F extends string>(
  format: F,
  bytes: Uint8Array,
  offset = 0,
): UnpackedValues<F> {
  return doUnpackFrom(cachedFormat(format), bytes, offset) as UnpackedValues<
    F
  >;
}

/**
 * Unpacks `bytes` as consecutive structs, like Python's `struct.iter_unpack`.
 * The length is checked at once, before the first value is read.
 *
 * @param format A struct format string of nonzero size.
 * @param bytes A multiple of `calcsize(format)` bytes.
 * @returns An iterator over each struct's values.
 * @throws {StructError} If the format's size is 0 or `bytes` is not a
 * multiple of it.
 * @throws {SyntaxError} If `format` is not a valid struct format.
 *
 * @example Pairs of shorts
 * ```ts
 * import { iterUnpack } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const pairs = [...iterUnpack("<hh", new Uint8Array([1, 0, 2, 0, 3, 0, 4, 0]))];
 * assertEquals(pairs, [[1, 2], [3, 4]]);
 * ```
 */
export function iterUnpack<F extends string>(
  format: F,
  bytes: Uint8Array,
): IterableIterator<UnpackedValues<F>> {
  return doIterUnpack(cachedFormat(format), bytes) as IterableIterator<
    UnpackedValues<F>
  >;
}

/**
 * A compiled struct format, like Python's `struct.Struct`: parse the format
 * once, then pack and unpack many times.
 *
 * @typeParam F The format string; a literal gives typed values.
 *
 * @example A precompiled header
 * ```ts
 * import { Struct } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const header = new Struct("!HIq");
 * assertEquals(header.size, 14);
 * const bytes = header.pack(1, 2, 3n);
 * assertEquals(header.unpack(bytes), [1, 2, 3n]);
 * ```
 */
export class Struct<F extends string = string> {
  #compiled: CompiledFormat;

  /**
   * Parses `format`.
   *
   * @param format A struct format string such as `"!HIq"`.
   * @throws {SyntaxError} If `format` is not a valid struct format.
   */
  constructor(format: F) {
    this.#compiled = compileFormat(format);
  }

  /** The format string. */
  get format(): F {
    return this.#compiled.format as F;
  }

  /** The size in bytes of a packed struct (`calcsize(format)`). */
  get size(): number {
    return this.#compiled.size;
  }

  /**
   * What kind of value each position holds, in order: `"int"` (a number or,
   * for 64-bit codes, a bigint), `"float"`, `"bool"` or `"bytes"` — for code
   * that prints or converts values by type (a float `2.0` and an int `2` are
   * the same JS number).
   *
   * @example Kinds of `!HdQ?4s`
   * ```ts
   * import { Struct } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Struct("!Hd?4s").valueKinds, ["int", "float", "bool", "bytes"]);
   * ```
   */
  get valueKinds(): readonly StructValueKind[] {
    const kinds: StructValueKind[] = [];
    for (const item of this.#compiled.items) {
      const kind = KIND_OF[item.kind] ?? "int";
      for (let r = 0; r < item.repeat; r++) kinds.push(kind);
    }
    return kinds;
  }

  /**
   * Packs `values`, like {@linkcode pack}.
   *
   * @param values One value per format item.
   * @returns The packed bytes.
   * @throws {StructError} If a value is bad or the count is wrong.
   */
  pack(...values: PackValues<F>): Uint8Array {
    return doPack(this.#compiled, values);
  }

  /**
   * Unpacks exactly `size` bytes, like {@linkcode unpack}.
   *
   * @param bytes The packed bytes.
   * @returns The values.
   * @throws {StructError} If `bytes` has the wrong length.
   */
  unpack(bytes: Uint8Array): UnpackedValues<F> {
    return doUnpack(this.#compiled, bytes) as UnpackedValues<F>;
  }

  /**
   * Packs `values` into `buffer` at `offset`, like {@linkcode packInto}.
   *
   * @param buffer The buffer to write into.
   * @param offset Where to write; negative counts from the end.
   * @param values One value per format item.
   * @throws {StructError} If a value is bad, the count is wrong or the struct
   * does not fit.
   */
  packInto(buffer: Uint8Array, offset: number, ...values: PackValues<F>): void {
    doPackInto(this.#compiled, buffer, offset, values);
  }

  /**
   * Unpacks a struct at `offset`, like {@linkcode unpackFrom}.
   *
   * @param bytes The bytes to read from.
   * @param offset Where the struct starts; negative counts from the end.
   * @returns The values.
   * @throws {StructError} If the struct does not fit at `offset`.
   */
  unpackFrom(bytes: Uint8Array, offset = 0): UnpackedValues<F> {
    return doUnpackFrom(this.#compiled, bytes, offset) as UnpackedValues<F>;
  }

  /**
   * Unpacks consecutive structs, like {@linkcode iterUnpack}.
   *
   * @param bytes A multiple of `size` bytes.
   * @returns An iterator over each struct's values.
   * @throws {StructError} If the size is 0 or `bytes` is not a multiple of it.
   */
  iterUnpack(bytes: Uint8Array): IterableIterator<UnpackedValues<F>> {
    return doIterUnpack(this.#compiled, bytes) as IterableIterator<
      UnpackedValues<F>
    >;
  }
}
