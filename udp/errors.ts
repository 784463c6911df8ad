/**
 * Error classes raised by `udp/`. A timeout is `net/`'s `TimeoutError`
 * (re-exported by `udp/mod.ts`), so one `catch` handles both modules.
 *
 * @module
 */
import { TimeoutError } from "../net/mod.ts";

/**
 * A datagram is larger than a socket can send or receive in one piece.
 *
 * - Sending: raised before anything is sent, when the payload is over the
 *   protocol's limit (65,507 bytes for UDP over IPv4, 65,527 over IPv6) or
 *   over the socket's `maxDatagramSize`.
 * - Receiving: raised when a datagram arrives that is over the socket's
 *   `maxDatagramSize`. That datagram is dropped, never handed out cut
 *   short, and the socket stays usable.
 *
 * @example Reading the facts
 * ```ts
 * import { DatagramTooLargeError } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new DatagramTooLargeError({
 *   direction: "send",
 *   size: 70000,
 *   limit: 65507,
 *   address: "127.0.0.1:9",
 * });
 * assertEquals(
 *   error.message,
 *   "Cannot send 70000 bytes to 127.0.0.1:9 as one datagram holds at most 65507: nothing was sent",
 * );
 * assertEquals(error instanceof RangeError, true);
 * ```
 */
export class DatagramTooLargeError extends RangeError {
  /** Whether it happened sending or receiving. */
  readonly direction: "send" | "receive";
  /**
   * The datagram's size in bytes. When receiving, the kernel reports no
   * more than `limit + 1`, so this is a lower bound there.
   */
  readonly size: number;
  /** The largest size allowed, in bytes. */
  readonly limit: number;
  /** The peer: where it was going to, or where it came from. */
  readonly address: string;

  /**
   * Creates a `DatagramTooLargeError`.
   *
   * @param details The facts, kept as fields.
   * @param message Overrides the standard message.
   */
  constructor(details: {
    /** Whether it happened sending or receiving. */
    direction: "send" | "receive";
    /** The datagram's size in bytes (a lower bound when receiving). */
    size: number;
    /** The largest size allowed, in bytes. */
    limit: number;
    /** The peer, formatted: where it was going to, or where it came from. */
    address: string;
  }, message?: string) {
    super(
      message ??
        (details.direction === "send"
          ? `Cannot send ${details.size} bytes to ${details.address} as one datagram holds at most ${details.limit}: nothing was sent`
          : `Cannot receive a datagram from ${details.address} as it is larger than maxDatagramSize ${details.limit}: it was dropped and the socket stays usable`),
    );
    this.name = "DatagramTooLargeError";
    this.direction = details.direction;
    this.size = details.size;
    this.limit = details.limit;
    this.address = details.address;
  }
}

/**
 * `request()` sent every try and no matching reply came. A
 * {@linkcode TimeoutError} (its `name` is `"TimeoutError"` too), with how
 * many tries were made and what was ignored meanwhile.
 *
 * @example Reading the facts
 * ```ts
 * import { RequestTimeoutError, TimeoutError } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new RequestTimeoutError({
 *   address: "127.0.0.1:9",
 *   tries: 4,
 *   waited: 1500,
 *   ignored: { malformed: 0, wrongPeer: 1, stale: 2 },
 * });
 * assertEquals([error.name, error.tries, error.timeout], ["TimeoutError", 4, 1500]);
 * assertEquals(error instanceof TimeoutError, true);
 * ```
 */
export class RequestTimeoutError extends TimeoutError {
  /** How many times the request was sent. */
  readonly tries: number;
  /** What was ignored while waiting. */
  readonly ignored: Readonly<{
    /**
     * Datagrams from the peer without a valid reply header: too short,
     * wrong magic or version, unknown kind, a request instead of a reply,
     * or over `maxDatagramSize`.
     */
    malformed: number;
    /** Datagrams from any other address than the peer asked. */
    wrongPeer: number;
    /** Well-formed replies for another request id: late answers to earlier requests. */
    stale: number;
  }>;
  /** The peer, formatted. */
  readonly address: string;

  /**
   * Creates a `RequestTimeoutError`.
   *
   * @param details The facts, kept as fields (`waited` becomes `timeout`).
   * @param message Overrides the standard message.
   */
  constructor(details: {
    /** The peer, formatted. */
    address: string;
    /** How many times the request was sent. */
    tries: number;
    /** The total time waited for replies, in milliseconds. */
    waited: number;
    /** What was ignored while waiting. */
    ignored: RequestTimeoutError["ignored"];
  }, message?: string) {
    const { address, tries, waited, ignored } = details;
    super(
      message ??
        `Cannot get a reply from ${address} after ${tries} ${
          tries === 1 ? "try" : "tries"
        } over ${waited} ms: no matching reply came (ignored ${ignored.malformed} malformed, ${ignored.wrongPeer} from other peers, ${ignored.stale} stale)`,
      waited,
    );
    this.tries = tries;
    this.ignored = { ...ignored };
    this.address = address;
  }
}
