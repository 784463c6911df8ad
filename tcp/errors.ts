/**
 * Error classes raised by `tcp/` (and `udp/`).
 *
 * @module
 */

/**
 * A socket operation waited longer than its timeout — Python's
 * `socket.timeout`. Its `name` is `"TimeoutError"`, as for the DOMException
 * that `AbortSignal.timeout()` raises, so `error.name === "TimeoutError"`
 * catches both. A read that times out leaves the connection usable, as in
 * Python.
 *
 * @example Telling a timeout apart
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new TimeoutError("Cannot read from 127.0.0.1:9: no data for 50 ms", 50);
 * assertEquals([error.name, error.timeout], ["TimeoutError", 50]);
 * ```
 */
export class TimeoutError extends Error {
  /** The timeout that expired, in milliseconds. */
  readonly timeout: number;

  /**
   * Creates a `TimeoutError`.
   *
   * @param message What timed out, and after how long.
   * @param timeout The timeout, in milliseconds.
   * @param options `cause`, when wrapping.
   */
  constructor(message: string, timeout: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
    this.timeout = timeout;
  }
}

/**
 * The stream ended before `readExactly(n)` got its `n` bytes, or before
 * `readUntil()` found its delimiter — asyncio's `IncompleteReadError`. The bytes that did arrive are in `partial`.
 *
 * @example Reading the facts
 * ```ts
 * import { IncompleteReadError } from "./errors.ts";
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
 * import { LimitOverrunError } from "./errors.ts";
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
