/**
 * {@linkcode serveDatagrams}: answer each incoming datagram with the
 * handler's reply, sent back (unicast) to its sender — the receiving half
 * of the Python broadcast tutorial, whose listener prints each message and
 * answers `"ACK"`.
 *
 * A UDP sender's address can be forged, so a server that answers whatever
 * arrives can be made to send to anyone — or to another server that
 * answers back, forever (two ACK listeners answering each other's ACKs).
 * Two defences: a handler that returns nothing for a datagram that is
 * itself a reply, and `maxRepliesPerSecond`, which bounds the replies to
 * any one source address.
 *
 * @module
 */
import { formatAddress, type ShutdownOptions } from "../net/mod.ts";
import { delay } from "../_internal/std.ts";
import { hooks } from "./_hooks.ts";
import { DatagramTooLargeError } from "./errors.ts";
import type { Datagram, DatagramSocket } from "./socket.ts";

/** What a handler answers: bytes or text to send back, or nothing. */
export type DatagramReply = Uint8Array | string | null | undefined | void;

/**
 * Handles one datagram; what it returns (bytes or a string) is sent back to
 * the sender, and `null`/`undefined` sends nothing.
 *
 * @typeParam T The socket's transport, `"udp"` or `"unixpacket"`, which
 * types the datagram's sender.
 */
export type DatagramHandler<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
> = (datagram: Datagram<T>) => DatagramReply | Promise<DatagramReply>;

/** Options for {@linkcode serveDatagrams}. */
export interface ServeOptions {
  /** Shuts the server down (gracefully, with `gracePeriod`) when aborted. */
  signal?: AbortSignal;
  /**
   * Called when the handler throws, a reply cannot be sent, or receiving
   * fails; the server keeps serving. By default the error is logged to
   * stderr.
   *
   * @default {a line on stderr}
   */
  onError?: (error: unknown, datagram: Datagram | undefined) => void;
  /**
   * Grace period for a shutdown started by `signal`, in milliseconds.
   *
   * @default {5000}
   */
  gracePeriod?: number;
  /**
   * At most this many replies per second to one source address (the IP
   * address for UDP, whatever the port; the path for Unix datagram
   * sockets): a token bucket per source that holds this many replies (at
   * least 1) and refills continuously. A datagram over it still reaches the
   * handler, but its reply is not sent; {@linkcode DatagramServer.repliesLimited}
   * counts those. This bounds what a forged source address can make the
   * server send, to a victim or to another server that answers back. At
   * most 1,024 sources are tracked at once (about 100 KiB): a new one
   * makes the server forget the one it heard from least recently, which
   * then starts again with a full bucket.
   *
   * @default {Infinity} (no limit)
   */
  maxRepliesPerSecond?: number;
}

const DEFAULT_GRACE_PERIOD = 5000;
/** How many sources `maxRepliesPerSecond` tracks at once. */
const MAX_TRACKED_SOURCES = 1024;

/**
 * The replies per source address allowed by `maxRepliesPerSecond`: a token
 * bucket per source, in a Map whose order is least recently seen first, so
 * that the oldest is forgotten when the table is full.
 */
class ReplyLimit {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #sources = new Map<string, { tokens: number; at: number }>();

  constructor(perSecond: number) {
    this.#perMs = perSecond / 1000;
    this.#burst = Math.max(1, perSecond);
  }

  /** Whether a reply to `source` may go now; takes a token if so. */
  allow(source: string, now: number): boolean {
    const sources = this.#sources;
    let bucket = sources.get(source);
    if (bucket === undefined) {
      if (sources.size >= MAX_TRACKED_SOURCES) {
        sources.delete(sources.keys().next().value!);
      }
      bucket = { tokens: this.#burst, at: now };
    } else {
      sources.delete(source); // set again below, as the most recent
      bucket.tokens = Math.min(
        this.#burst,
        bucket.tokens + (now - bucket.at) * this.#perMs,
      );
      bucket.at = now;
    }
    sources.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** The source a reply limit counts: the IP address, or the Unix path. */
function sourceOf(from: Datagram["from"]): string {
  return "hostname" in from ? from.hostname : from.path;
}

function checkRepliesPerSecond(rate: unknown): void {
  if (typeof rate !== "number" || !(rate > 0)) {
    throw new RangeError(
      `Cannot use maxRepliesPerSecond ${
        String(rate)
      }: give a number > 0 (Infinity for no limit)`,
    );
  }
}

/** The loop's receive: no timeout, whatever the socket's own is. */
const WAIT_FOREVER = { timeout: null } as const;

function defaultOnError(error: unknown, datagram: Datagram | undefined): void {
  const who = datagram ? ` (${formatAddress(datagram.from)})` : "";
  const what = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  console.error(`sockit: datagram server error${who}: ${what}`);
}

function checkGracePeriod(ms: unknown): void {
  if (typeof ms !== "number" || !(ms >= 0)) {
    throw new RangeError(
      `Cannot use gracePeriod ${String(ms)}: give milliseconds (>= 0)`,
    );
  }
}

/**
 * A loop that receives datagrams on a socket, one at a time in arrival
 * order, and sends each handler's reply to the datagram's sender. It does
 * not own the socket: after `shutdown()` the socket stays open (and loses
 * nothing) until you close it. Datagrams over the socket's
 * `maxDatagramSize` are dropped and counted. Its `shutdown()` and
 * `finished` fit `net/`'s `shutdownOnSignals()`.
 *
 * @typeParam T The socket's transport, `"udp"` or `"unixpacket"`.
 *
 * @example Serve, then shut down
 * ```ts
 * import { bind, DatagramServer } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using socket = bind({ port: 0 });
 * const server = new DatagramServer(socket, () => "ACK");
 * using client = bind();
 * await client.send("hello", socket.addr);
 * await client.receive({ timeout: 1000 });
 * await server.shutdown();
 * assertEquals([server.datagramsReceived, server.repliesSent], [1, 1]);
 * ```
 */
export class DatagramServer<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
> implements AsyncDisposable {
  readonly #socket: DatagramSocket<T>;
  readonly #handler: DatagramHandler;
  readonly #onError: (error: unknown, datagram: Datagram | undefined) => void;
  readonly #stop = new AbortController();
  #received = 0;
  #replies = 0;
  #errors = 0;
  #dropped = 0;
  #limited = 0;
  readonly #replyLimit: ReplyLimit | undefined;
  /** Settles (never rejects) when the loop has stopped and its handler finished. */
  readonly finished: Promise<void>;

  /**
   * Starts serving `socket` with `handler`. {@linkcode serveDatagrams} does
   * the same.
   *
   * @param socket The socket to receive on; it must not be receiving
   * elsewhere.
   * @param handler Answers each datagram.
   * @param options `signal`, `onError`, `gracePeriod`,
   * `maxRepliesPerSecond`.
   * @throws {RangeError} On a bad `gracePeriod` or `maxRepliesPerSecond`.
   */
  constructor(
    socket: DatagramSocket<T>,
    handler: DatagramHandler<T>,
    options: ServeOptions = {},
  ) {
    const gracePeriod = options.gracePeriod ?? DEFAULT_GRACE_PERIOD;
    checkGracePeriod(gracePeriod);
    const rate = options.maxRepliesPerSecond ?? Infinity;
    checkRepliesPerSecond(rate);
    this.#replyLimit = rate === Infinity ? undefined : new ReplyLimit(rate);
    this.#socket = socket;
    this.#handler = handler as DatagramHandler;
    this.#onError = options.onError ?? defaultOnError;
    // One listener stops the loop's waiting receive, rather than a signal
    // (and a listener added and removed) for every datagram.
    this.#stop.signal.addEventListener("abort", () => {
      hooks.interruptReceive(socket, this.#stop.signal.reason);
    }, { once: true });
    const signal = options.signal;
    if (signal === undefined) {
      this.finished = this.#loop();
    } else {
      const onAbort = () => {
        this.shutdown({ gracePeriod }).catch(() => {});
      };
      if (signal.aborted) queueMicrotask(onAbort);
      else signal.addEventListener("abort", onAbort, { once: true });
      this.finished = this.#loop().finally(() =>
        signal.removeEventListener("abort", onAbort)
      );
    }
  }

  /** The socket being served. */
  get socket(): DatagramSocket<T> {
    return this.#socket;
  }

  /** Datagrams received and handed to the handler. */
  get datagramsReceived(): number {
    return this.#received;
  }

  /** Replies sent. */
  get repliesSent(): number {
    return this.#replies;
  }

  /** Handler errors and replies that could not be sent. */
  get errors(): number {
    return this.#errors;
  }

  /** Datagrams dropped for being over the socket's `maxDatagramSize`. */
  get droppedDatagrams(): number {
    return this.#dropped;
  }

  /**
   * Replies not sent because their source was over `maxRepliesPerSecond`.
   *
   * @example Five replies a second to one sender
   * ```ts
   * import { bind, serveDatagrams } from "@sockit/sockit/udp";
   * import { assert, assertEquals } from "@std/assert";
   *
   * using socket = bind({ port: 0 });
   * let handled = 0;
   * const allHandled = Promise.withResolvers<void>();
   * const server = serveDatagrams(socket, () => {
   *   if (++handled === 8) allHandled.resolve();
   *   return "ACK";
   * }, { maxRepliesPerSecond: 5 });
   * using client = bind();
   * for (let i = 0; i < 8; i++) await client.send("ping", socket.addr);
   * await allHandled.promise;
   * await server.shutdown(); // the last reply decided
   * assertEquals(server.repliesSent + server.repliesLimited, 8);
   * assert(server.repliesLimited >= 2); // a burst of 5, and a little refill
   * ```
   */
  get repliesLimited(): number {
    return this.#limited;
  }

  /**
   * Stops receiving; a handler that is running may finish (and its reply
   * is sent) for up to `gracePeriod`. Idempotent. The socket stays open.
   *
   * @param options `gracePeriod`.
   * @throws {RangeError} On a bad `gracePeriod`.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const gracePeriod = options.gracePeriod ?? DEFAULT_GRACE_PERIOD;
    checkGracePeriod(gracePeriod);
    this.#stop.abort();
    const done = new AbortController();
    await Promise.race([
      this.finished.finally(() => done.abort()),
      delay(gracePeriod, { signal: done.signal }).catch(() => {}),
    ]);
    done.abort();
  }

  /** Shuts down with the default grace period (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #loop(): Promise<void> {
    const socket = this.#socket;
    const signal = this.#stop.signal;
    let backoff = 10;
    while (!signal.aborted && !socket.closed) {
      let datagram: Datagram;
      try {
        datagram = await socket.receive(WAIT_FOREVER);
      } catch (error) {
        if (signal.aborted || socket.closed) break;
        if (error instanceof DatagramTooLargeError) {
          this.#dropped++;
          continue;
        }
        this.#report(error, undefined);
        await delay(backoff, { signal }).catch(() => {});
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      backoff = 10;
      this.#received++;
      let reply: DatagramReply;
      try {
        const result = this.#handler(datagram);
        reply = result instanceof Promise ? await result : result;
      } catch (error) {
        this.#errors++;
        this.#report(error, datagram);
        continue;
      }
      if (reply === null || reply === undefined || socket.closed) continue;
      if (
        this.#replyLimit !== undefined &&
        !this.#replyLimit.allow(sourceOf(datagram.from), performance.now())
      ) {
        this.#limited++;
        continue;
      }
      try {
        await socket.send(reply, datagram.from);
        this.#replies++;
      } catch (error) {
        if (socket.closed) break;
        this.#errors++;
        this.#report(error, datagram);
      }
    }
  }

  #report(error: unknown, datagram: Datagram | undefined): void {
    try {
      this.#onError(error, datagram);
    } catch { /* a failing onError must not stop the server */ }
  }
}

/**
 * Serves `socket`: each datagram goes to `handler`, and what it returns is
 * sent back to the sender. Python's `while True: data, addr =
 * s.recvfrom(…); s.sendto(b"ACK", addr)`.
 *
 * Facing the network, answer nothing to a datagram that is itself a reply
 * (or two such servers, one forged datagram away, answer each other
 * forever), and set `maxRepliesPerSecond`: see the module doc.
 *
 * @param socket The socket to receive on.
 * @param handler Answers each datagram (`null`/`undefined`: no reply).
 * @param options `signal`, `onError`, `gracePeriod`, `maxRepliesPerSecond`.
 * @returns The running server.
 * @throws {RangeError} On a bad `gracePeriod` or `maxRepliesPerSecond`.
 *
 * @example An ACK listener for loopback broadcasts
 * ```ts
 * import { bind, serveDatagrams } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = bind({ hostname: "127.255.255.255", port: 0 });
 * await using _server = serveDatagrams(listener, ({ data, from }) => {
 *   console.log(`${from.hostname}:${from.port} says ${new TextDecoder().decode(data)}`);
 *   return "ACK";
 * });
 * using sender = bind();
 * const port = listener.addr.port;
 * await sender.send("Hi there!", { hostname: "127.255.255.255", port });
 * const { data } = await sender.receive({ timeout: 1000 });
 * assertEquals(new TextDecoder().decode(data), "ACK");
 * ```
 */
export function serveDatagrams<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
>(
  socket: DatagramSocket<T>,
  handler: DatagramHandler<T>,
  options: ServeOptions = {},
): DatagramServer<T> {
  return new DatagramServer(socket, handler, options);
}
