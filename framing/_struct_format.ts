// Parsing and layout of `struct` format strings, as CPython 3 does it on
// x86-64 Linux. Private to framing/: struct.ts is the public face.
import { HOST_BYTE_ORDER } from "./byte_order.ts";
import { StructError } from "./errors.ts";

// Value kinds: what a format character reads and writes.
export const K_CHAR = 0;
export const K_INT8 = 1;
export const K_UINT8 = 2;
export const K_BOOL = 3;
export const K_INT16 = 4;
export const K_UINT16 = 5;
export const K_INT32 = 6;
export const K_UINT32 = 7;
export const K_INT64 = 8;
export const K_UINT64 = 9;
/** Native `P`: packs -2**63..2**64-1, unpacks unsigned. */
export const K_POINTER = 10;
export const K_FLOAT16 = 11;
/** Standard-size `f`: a finite double that rounds to infinity is an error. */
export const K_FLOAT32 = 12;
/** Native `f`: a plain C cast, too-large values become infinity. */
export const K_FLOAT32_NATIVE = 13;
export const K_FLOAT64 = 14;
export const K_STRING = 15;
export const K_PASCAL = 16;
export const K_PAD = 17;

/** One run of a format: a format character and its repeat count. */
export interface StructItem {
  /** The format character, such as `"H"`. */
  readonly char: string;
  /** One of the `K_*` kinds. */
  readonly kind: number;
  /** Byte offset of the first value of the run. */
  readonly offset: number;
  /** Bytes per value; for `s` and `p` the whole field's length. */
  readonly size: number;
  /** How many values the run holds (1 for `s` and `p`, 0 for pads). */
  readonly repeat: number;
  /** Index of the run's first value among all values of the format. */
  readonly valueIndex: number;
}

/** A parsed, laid-out format string. */
export interface CompiledFormat {
  readonly format: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Whether multi-byte values are little-endian. */
  readonly littleEndian: boolean;
  /** Whether native sizes and alignment apply (`@` or no prefix). */
  readonly native: boolean;
  /** The runs that hold values (pads left out), in order. */
  readonly items: readonly StructItem[];
  /** How many values the format packs and unpacks. */
  readonly valueCount: number;
  /**
   * Whether packing leaves some bytes unwritten (pads, alignment, `s` and `p`
   * fields): those must be zeroed first.
   */
  readonly hasGaps: boolean;
}

const HOST_LITTLE_ENDIAN = HOST_BYTE_ORDER === "little";

interface CharInfo {
  readonly kind: number;
  readonly size: number;
  readonly align: number;
}

function info(kind: number, size: number, align = size): CharInfo {
  return { kind, size, align };
}

// Native sizes and alignments: C types on x86-64 Linux (LP64).
const NATIVE: Readonly<Record<string, CharInfo>> = {
  x: info(K_PAD, 1),
  c: info(K_CHAR, 1),
  b: info(K_INT8, 1),
  B: info(K_UINT8, 1),
  "?": info(K_BOOL, 1),
  h: info(K_INT16, 2),
  H: info(K_UINT16, 2),
  i: info(K_INT32, 4),
  I: info(K_UINT32, 4),
  l: info(K_INT64, 8),
  L: info(K_UINT64, 8),
  q: info(K_INT64, 8),
  Q: info(K_UINT64, 8),
  n: info(K_INT64, 8),
  N: info(K_UINT64, 8),
  e: info(K_FLOAT16, 2),
  f: info(K_FLOAT32_NATIVE, 4),
  d: info(K_FLOAT64, 8),
  s: info(K_STRING, 1),
  p: info(K_PASCAL, 1),
  P: info(K_POINTER, 8),
};

// Standard sizes (`= < > !`): no alignment, no `n N P`.
const STANDARD: Readonly<Record<string, CharInfo>> = {
  x: info(K_PAD, 1, 1),
  c: info(K_CHAR, 1, 1),
  b: info(K_INT8, 1, 1),
  B: info(K_UINT8, 1, 1),
  "?": info(K_BOOL, 1, 1),
  h: info(K_INT16, 2, 1),
  H: info(K_UINT16, 2, 1),
  i: info(K_INT32, 4, 1),
  I: info(K_UINT32, 4, 1),
  l: info(K_INT32, 4, 1),
  L: info(K_UINT32, 4, 1),
  q: info(K_INT64, 8, 1),
  Q: info(K_UINT64, 8, 1),
  e: info(K_FLOAT16, 2, 1),
  f: info(K_FLOAT32, 4, 1),
  d: info(K_FLOAT64, 8, 1),
  s: info(K_STRING, 1, 1),
  p: info(K_PASCAL, 1, 1),
};

// CPython counts in Py_ssize_t; past this a JS number is no longer exact.
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

function isSpace(c: string): boolean {
  // Py_ISSPACE: space, \t, \n, \v, \f, \r
  return c === " " || (c >= "\t" && c <= "\r");
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function tooLong(format: string): StructError {
  return new StructError(
    `Cannot use format ${
      JSON.stringify(format)
    }: its total size exceeds ${MAX_SIZE} bytes`,
    { format },
  );
}

/**
 * Parses and lays out `format` as CPython's `struct` does.
 *
 * @throws {SyntaxError} If the format is not a valid struct format.
 * @throws {StructError} If the struct it describes is too large.
 */
export function compileFormat(format: string): CompiledFormat {
  if (typeof format !== "string") {
    throw new TypeError(
      `Cannot use ${typeof format} as a struct format: it must be a string`,
    );
  }
  let pos = 0;
  let native = true;
  let littleEndian = HOST_LITTLE_ENDIAN;
  switch (format[0]) {
    case "<":
      native = false;
      littleEndian = true;
      pos = 1;
      break;
    case ">":
    case "!":
      native = false;
      littleEndian = false;
      pos = 1;
      break;
    case "=":
      native = false;
      pos = 1;
      break;
    case "@":
      pos = 1;
      break;
  }
  const table = native ? NATIVE : STANDARD;
  const items: StructItem[] = [];
  let size = 0;
  let valueCount = 0;
  let covered = 0;
  while (pos < format.length) {
    const start = pos;
    let c = format[pos++]!;
    if (isSpace(c)) continue;
    let repeat = 1;
    if (isDigit(c)) {
      repeat = 0;
      while (isDigit(c)) {
        repeat = repeat * 10 + (c.charCodeAt(0) - 48);
        if (repeat > MAX_SIZE) throw tooLong(format);
        if (pos >= format.length) {
          throw new SyntaxError(
            `Cannot parse struct format ${
              JSON.stringify(format)
            }: the repeat count at index ${start} is not followed by a format character`,
          );
        }
        c = format[pos++]!;
      }
    }
    const entry = Object.hasOwn(table, c) ? table[c] : undefined;
    if (entry === undefined) {
      const why = repeat !== 1 || isDigit(format[start]!)
        ? " (a repeat count must be followed directly by a format character)"
        : "nNP".includes(c)
        ? ` ('${c}' is allowed only with native byte order '@' or no prefix)`
        : "@=<>!".includes(c)
        ? " (a byte-order character may only come first)"
        : "";
      throw new SyntaxError(
        `Cannot parse struct format ${JSON.stringify(format)}: bad character ${
          JSON.stringify(c)
        } at index ${pos - 1}${why}`,
      );
    }
    // Native alignment applies even to a zero repeat count ("0q" pads).
    if (entry.align > 1 && size > 0) {
      size += (entry.align - 1) - ((size - 1) % entry.align);
    }
    const isField = entry.kind === K_STRING || entry.kind === K_PASCAL;
    const bytes = isField ? repeat : repeat * entry.size;
    if (size + bytes > MAX_SIZE) throw tooLong(format);
    if (isField) {
      items.push({
        char: c,
        kind: entry.kind,
        offset: size,
        size: repeat,
        repeat: 1,
        valueIndex: valueCount,
      });
      valueCount += 1;
    } else if (entry.kind !== K_PAD && repeat > 0) {
      items.push({
        char: c,
        kind: entry.kind,
        offset: size,
        size: entry.size,
        repeat,
        valueIndex: valueCount,
      });
      valueCount += repeat;
      covered += bytes;
    }
    size += bytes;
  }
  const hasGaps = covered !== size;
  return { format, size, littleEndian, native, items, valueCount, hasGaps };
}

const CACHE_LIMIT = 256;
const cache = new Map<string, CompiledFormat>();

/** {@linkcode compileFormat}, remembering recent formats as CPython does. */
export function cachedFormat(format: string): CompiledFormat {
  let compiled = cache.get(format);
  if (compiled === undefined) {
    compiled = compileFormat(format);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(format, compiled);
  }
  return compiled;
}
