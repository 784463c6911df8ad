/**
 * Error classes raised by the `framing/` modules.
 *
 * @module
 */

/** The facts carried by a {@linkcode StructError}. */
export interface StructErrorDetails {
  /** The format string being used. */
  format: string;
  /** Zero-based index of the value (argument or result) the error is about. */
  index?: number;
  /** The format character of that value, such as `"H"`. */
  char?: string;
  /** The smallest allowed value, for range errors. */
  min?: number | bigint;
  /** The largest allowed value, for range errors. */
  max?: number | bigint;
  /** The size or count the format needs, for size and count errors. */
  expected?: number;
  /** The size or count that was given, for size and count errors. */
  actual?: number;
}

/**
 * Raised by `pack`, `unpack` and the other `struct` functions wherever
 * Python's `struct` module raises `struct.error`: a value out of range or of
 * the wrong type, the wrong number of values, a buffer of the wrong size, an
 * offset outside the buffer, a struct too large to describe.
 *
 * An unparsable format string raises a `SyntaxError` instead.
 *
 * @example Catching an out-of-range value
 * ```ts
 * import { pack, StructError } from "./mod.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const error = assertThrows(() => pack("!H", 70000), StructError);
 * if (error instanceof StructError) {
 *   assertEquals(error.char, "H");
 *   assertEquals(error.max, 65535);
 * }
 * ```
 */
export class StructError extends Error {
  /** The format string being used. */
  readonly format: string;
  /** Zero-based index of the value the error is about, if any. */
  readonly index: number | undefined;
  /** The format character of that value, if any. */
  readonly char: string | undefined;
  /** The smallest allowed value, for range errors. */
  readonly min: number | bigint | undefined;
  /** The largest allowed value, for range errors. */
  readonly max: number | bigint | undefined;
  /** The size or count the format needs, for size and count errors. */
  readonly expected: number | undefined;
  /** The size or count that was given, for size and count errors. */
  readonly actual: number | undefined;

  /**
   * Creates a `StructError`.
   *
   * @param message What happened and what to do about it.
   * @param details The facts, kept as fields.
   * @param options `cause` when this wraps another error.
   */
  constructor(
    message: string,
    details: StructErrorDetails,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StructError";
    this.format = details.format;
    this.index = details.index;
    this.char = details.char;
    this.min = details.min;
    this.max = details.max;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}
