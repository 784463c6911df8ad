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

/**
 * A connection to a server that reads PROXY protocol headers
 * (`listen()`'s `proxyProtocol`) was refused before its handler ran: it
 * came from an address that is not a trusted proxy, its header was
 * malformed or missing, or it did not arrive within the header timeout.
 * The server reports it to `onError` (with no connection) and keeps
 * serving.
 *
 * @example Reading the facts
 * ```ts
 * import { ProxyProtocolError } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ProxyProtocolError(
 *   "untrusted",
 *   "192.0.2.9:40000",
 *   "Cannot accept 192.0.2.9:40000: it is not a trusted proxy",
 * );
 * assertEquals([error.kind, error.peer], ["untrusted", "192.0.2.9:40000"]);
 * ```
 */
export class ProxyProtocolError extends Error {
  /**
   * What went wrong: `"untrusted"` (a header, or any connection when one
   * is required, from an address outside the trusted proxies),
   * `"malformed"` (bytes that are not a valid header where one is
   * required, or a header that breaks the spec), `"truncated"` (the
   * connection ended inside a header) or `"timeout"` (no complete header
   * within the header timeout).
   */
  readonly kind: "untrusted" | "malformed" | "truncated" | "timeout";
  /** The address the connection came from (the socket's peer). */
  readonly peer: string;

  /**
   * Creates a `ProxyProtocolError`.
   *
   * @param kind What went wrong.
   * @param peer The socket's peer address, as text.
   * @param message What happened and what to do.
   * @param options The underlying error as `cause`.
   */
  constructor(
    kind: ProxyProtocolError["kind"],
    peer: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ProxyProtocolError";
    this.kind = kind;
    this.peer = peer;
  }
}
