/**
 * Errors both transports raise.
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
 * import { TimeoutError } from "@sockit/sockit/net";
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
