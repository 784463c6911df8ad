/**
 * Error classes raised by `tcp/` reads.
 *
 * @module
 */

/**
 * The stream ended before `readExactly(n)` got its `n` bytes, or before
 * `readUntil()` found its delimiter — asyncio's `IncompleteReadError`. The bytes that did arrive are in `partial`.
 *
 * @example Reading the facts
 * ```ts
 * import { IncompleteReadError } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new IncompleteReadError(8, new Uint8Array(3));
 * assertEquals([error.expected, error.partial.length], [8, 3]);
 * ```
 */
export class IncompleteReadError extends Error {
  /** How many bytes were wanted (`undefined`: up to a delimiter). */
  readonly expected: number | undefined;
  /** The bytes that arrived before the end of the stream. */
  readonly partial: Uint8Array;

  /**
   * Creates an `IncompleteReadError`.
   *
   * @param expected How many bytes were wanted (`undefined`: up to a
   * delimiter).
   * @param partial The bytes that arrived.
   */
  constructor(expected: number | undefined, partial: Uint8Array) {
    super(
      expected === undefined
        ? `Cannot read up to the delimiter as the stream ended after ${partial.length} bytes`
        : `Cannot read ${expected} bytes as the stream ended after ${partial.length}`,
    );
    this.name = "IncompleteReadError";
    this.expected = expected;
    this.partial = partial;
  }
}

/**
 * `readUntil()` read `maxBytes` without finding its delimiter — asyncio's
 * `LimitOverrunError`. Nothing is lost: the bytes stay buffered for the next
 * read.
 *
 * @example Reading the facts
 * ```ts
 * import { LimitOverrunError } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new LimitOverrunError(1024).maxBytes, 1024);
 * ```
 */
export class LimitOverrunError extends Error {
  /** The limit that was reached. */
  readonly maxBytes: number;

  /**
   * Creates a `LimitOverrunError`.
   *
   * @param maxBytes The limit that was reached.
   */
  constructor(maxBytes: number) {
    super(
      `Cannot find the delimiter within maxBytes ${maxBytes}: the bytes read stay buffered`,
    );
    this.name = "LimitOverrunError";
    this.maxBytes = maxBytes;
  }
}
