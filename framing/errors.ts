/**
 * Error classes raised by the `framing/` modules.
 *
 * @module
 */

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
 * import { pack, StructError } from "@sockit/sockit/framing";
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
    details: {
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
    },
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

/**
 * A frame is larger than the codec's `maxFrameSize`. Decoders raise it as
 * soon as it is known — for a length prefix, at the header, before any of the
 * payload is buffered; encoders raise it before writing anything.
 *
 * @example Catching an oversized frame
 * ```ts
 * import { FrameTooLargeError } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new FrameTooLargeError({
 *   limit: 65536,
 *   size: 70000,
 *   announced: true,
 *   offset: 12,
 * });
 * assertEquals(
 *   error.message,
 *   "Cannot decode frame as its length 70000 exceeds maxFrameSize 65536: at byte offset 12",
 * );
 * ```
 */
export class FrameTooLargeError extends RangeError {
  /** The configured `maxFrameSize`. */
  readonly limit: number;
  /** The announced size, or the bytes seen so far. */
  readonly size: number;
  /** Whether `size` was announced by a length header. */
  readonly announced: boolean;
  /** Stream byte offset where the frame starts, when decoding. */
  readonly offset: number | undefined;

  /**
   * Creates a `FrameTooLargeError`.
   *
   * @param details The facts, kept as fields.
   * @param message Overrides the standard message.
   */
  constructor(details: {
    /** The configured `maxFrameSize`. */
    limit: number;
    /** The size the header announced, or the bytes seen so far without an end. */
    size: number;
    /** Whether `size` was announced by a length header (else it was seen). */
    announced: boolean;
    /** Stream byte offset where the frame starts (`undefined` when encoding). */
    offset?: number;
  }, message?: string) {
    const at = details.offset === undefined
      ? ""
      : `: at byte offset ${details.offset}`;
    super(
      message ??
        (details.offset === undefined
          ? `Cannot encode frame as its length ${details.size} exceeds maxFrameSize ${details.limit}`
          : details.announced
          ? `Cannot decode frame as its length ${details.size} exceeds maxFrameSize ${details.limit}${at}`
          : `Cannot decode frame as it runs past maxFrameSize ${details.limit} with no end in sight (${details.size} bytes seen)${at}`),
    );
    this.name = "FrameTooLargeError";
    this.limit = details.limit;
    this.size = details.size;
    this.announced = details.announced;
    this.offset = details.offset;
  }
}

/**
 * The stream ended in the middle of a frame: a length-prefixed frame with
 * fewer bytes than its header announced, or a delimited frame without its
 * delimiter (where the codec does not accept a final partial frame).
 *
 * @example Reading the facts
 * ```ts
 * import { TruncatedFrameError } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new TruncatedFrameError({ expected: 9, received: 4, offset: 0 });
 * assertEquals([error.expected, error.received], [9, 4]);
 * ```
 */
export class TruncatedFrameError extends Error {
  /** Bytes the whole frame needs, when known. */
  readonly expected: number | undefined;
  /** Bytes of the frame that arrived. */
  readonly received: number;
  /** Stream byte offset where the frame starts. */
  readonly offset: number;

  /**
   * Creates a `TruncatedFrameError`.
   *
   * @param details The facts, kept as fields.
   * @param message Overrides the standard message.
   */
  constructor(details: {
    /**
     * How many bytes the whole frame needs (header included), when known; for a
     * delimited frame, `undefined` (it needed its delimiter).
     */
    expected?: number;
    /** How many bytes of the frame arrived before the end of the stream. */
    received: number;
    /** Stream byte offset where the frame starts. */
    offset: number;
  }, message?: string) {
    super(
      message ??
        (details.expected === undefined
          ? `Cannot decode frame as the stream ended before it was complete: ${details.received} bytes received, at byte offset ${details.offset}`
          : `Cannot decode frame as the stream ended after ${details.received} of its ${details.expected} bytes: at byte offset ${details.offset}`),
    );
    this.name = "TruncatedFrameError";
    this.expected = details.expected;
    this.received = details.received;
    this.offset = details.offset;
  }
}

/**
 * A frame header (or trailer) that cannot be decoded: a non-digit in an ASCII
 * length, a varint longer than 10 bytes, a netstring without its `,`, a length
 * that the codec's adjustment makes negative.
 *
 * @example Reading the facts
 * ```ts
 * import { MalformedFrameError } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new MalformedFrameError("expected a digit or ':', got 0x78", 3);
 * assertEquals(
 *   error.message,
 *   "Cannot decode frame header: expected a digit or ':', got 0x78: at byte offset 3",
 * );
 * ```
 */
export class MalformedFrameError extends Error {
  /** What is wrong, without the offset. */
  readonly reason: string;
  /** Stream byte offset of the offending byte. */
  readonly offset: number;

  /**
   * Creates a `MalformedFrameError`.
   *
   * @param reason What is wrong, e.g. `expected a digit or ':', got 0x78`.
   * @param offset Stream byte offset of the offending byte.
   */
  constructor(reason: string, offset: number) {
    super(`Cannot decode frame header: ${reason}: at byte offset ${offset}`);
    this.name = "MalformedFrameError";
    this.reason = reason;
    this.offset = offset;
  }
}

/**
 * An encoder was given a payload that contains its delimiter: sending it
 * would split it into two frames at the other end, so nothing is sent.
 *
 * @example Reading the facts
 * ```ts
 * import { DelimiterInPayloadError } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new DelimiterInPayloadError(new Uint8Array([10]), 5);
 * assertEquals(error.index, 5);
 * ```
 */
export class DelimiterInPayloadError extends Error {
  /** The delimiter. */
  readonly delimiter: Uint8Array;
  /** Index in the payload where the delimiter starts. */
  readonly index: number;

  /**
   * Creates a `DelimiterInPayloadError`.
   *
   * @param delimiter The delimiter.
   * @param index Index in the payload where the delimiter starts.
   */
  constructor(delimiter: Uint8Array, index: number) {
    super(
      `Cannot encode frame as its payload contains the delimiter ${
        JSON.stringify(new TextDecoder().decode(delimiter))
      } at index ${index}: escape it or use length-prefix framing`,
    );
    this.name = "DelimiterInPayloadError";
    this.delimiter = delimiter;
    this.index = index;
  }
}
