/**
 * Request/reply over datagrams, which may be lost, duplicated or
 * reordered: {@linkcode request} sends, waits, and resends with a growing
 * timeout until the matching reply arrives; {@linkcode serveRequests}
 * answers on the other end, once per request even when tries repeat.
 *
 * ## The header
 *
 * Every request and reply starts with this 10-byte header, in network
 * byte order — `struct` format `"!HBBIH"`; the payload follows it:
 *
 * | offset | size | field | value |
 * | --- | --- | --- | --- |
 * | 0 | 2 | magic | `0x534B`, ASCII `"SK"` |
 * | 2 | 1 | version | `1` |
 * | 3 | 1 | kind | `1` request, `2` reply |
 * | 4 | 4 | request id | unsigned 32-bit, chosen by the requester |
 * | 8 | 2 | try | unsigned 16-bit, `1` for the first send of a request, `2` for the first resend…; a reply repeats the try it answers |
 *
 * In Python: `struct.pack("!HBBIH", 0x534B, 1, 2, request_id, try_no) +
 * payload` is a reply.
 *
 * Matching: a reply answers the request whose id it carries, whichever
 * try it answers (a reply to try 1 that arrives during try 2's wait is
 * the answer). Every request gets a new id, so a late reply to an earlier
 * request is never taken for the answer to a later one. While waiting,
 * `request()` ignores and counts datagrams from any other address
 * (`wrongPeer`), datagrams whose header is not a valid reply
 * (`malformed`), and replies for other ids (`stale`).
 *
 * @module
 */
import {
  type Address,
  formatAddress,
  type ShutdownOptions,
  type SocketAddress,
  TimeoutError,
} from "../net/mod.ts";
import { DEFAULT_HOSTNAME } from "../_internal/address.ts";
import {
  decodeMessage,
  encodeMessage,
  KIND_REPLY,
  KIND_REQUEST,
} from "./_header.ts";
import { canonicalIp } from "../_internal/ip.ts";
import { DatagramTooLargeError, RequestTimeoutError } from "./errors.ts";
import {
  type DatagramReply,
  DatagramServer,
  type ServeOptions,
} from "./serve.ts";
import type { Datagram, DatagramSocket } from "./socket.ts";

const encoder = new TextEncoder();

/** Options for {@linkcode request}. */
export interface RequestOptions {
  /**
   * How long to wait for a reply to the first try, in milliseconds.
   *
   * @default {1000}
   */
  timeout?: number;
  /**
   * How many times to resend when no reply comes: at most `retries + 1`
   * tries in all.
   *
   * @default {3}
   */
  retries?: number;
  /**
   * What each wait is multiplied by before the next try (1 keeps it
   * constant).
   *
   * @default {2}
   */
  backoff?: number;
  /**
   * The longest wait for one try, in milliseconds, however much backoff
   * has grown it.
   *
   * @default {10000}
   */
  maxTimeout?: number;
  /** Stops waiting and resending; rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The answer to a {@linkcode request}.
 *
 * @typeParam T The socket's transport, `"udp"` or `"unixpacket"`, which
 * types `from`.
 */
export interface RequestReply<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
> {
  /** The reply's payload (after the header). */
  data: Uint8Array;
  /** Who replied. */
  from: SocketAddress<T>;
  /** How many times the request was sent. */
  tries: number;
  /** Which try the reply answers (1 for the first). */
  answeredTry: number;
  /** Milliseconds from the first send to the reply. */
  elapsed: number;
  /** What was ignored while waiting. */
  ignored: RequestTimeoutError["ignored"];
}

let lastRequestId = crypto.getRandomValues(new Uint32Array(1))[0]!;

function nextRequestId(): number {
  lastRequestId = (lastRequestId + 1) >>> 0;
  return lastRequestId;
}

function checkNumber(
  name: string,
  value: unknown,
  min: number,
  integer: boolean,
): void {
  if (
    typeof value !== "number" || !(value >= min) || !Number.isFinite(value) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Cannot make a request with ${name} ${String(value)}: give ${
        integer ? "an integer" : "a number"
      } >= ${min}`,
    );
  }
}

/** Whether `from` is the address `to` names (only the port for a host name). */
function isPeer(to: Address | SocketAddress, from: SocketAddress): boolean {
  if ("path" in to) return "path" in from && from.path === to.path;
  if (!("hostname" in from) || from.port !== to.port) return false;
  const wanted = canonicalIp(to.hostname ?? DEFAULT_HOSTNAME);
  return wanted === null || canonicalIp(from.hostname) === wanted;
}

/**
 * Sends `data` to `to` with the request header and waits for the matching
 * reply; with no reply after `timeout`, sends again (a new try, same
 * request id), waiting `backoff` times longer each time, up to `retries`
 * resends. The header is described in this module's docs.
 *
 * The socket must not be receiving elsewhere while this runs: replies are
 * read with its `receive()`. The peer is checked by address; when `to`
 * names a host (not an IP address), only the port is checked.
 *
 * @param socket The socket to send from and receive on.
 * @param data The request's payload: bytes, or a string (UTF-8).
 * @param to The peer.
 * @param options `timeout`, `retries`, `backoff`, `maxTimeout`, `signal`.
 * @returns The reply, with how many tries it took and what was ignored.
 * @throws {RequestTimeoutError} A `TimeoutError` saying how many tries were
 * made, when no matching reply came.
 * @throws {DatagramTooLargeError} If header and payload do not fit in one
 * datagram.
 * @throws {TypeError} If the socket is already receiving.
 *
 * @example Ask a server, with retries
 * ```ts
 * import { bind, request, serveRequests } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using serverSocket = bind({ port: 0 });
 * await using _server = serveRequests(serverSocket, (data) => data.toReversed());
 * using client = bind();
 * const reply = await request(client, "abc", serverSocket.addr, {
 *   timeout: 200,
 *   retries: 3,
 * });
 * assertEquals(new TextDecoder().decode(reply.data), "cba");
 * assertEquals(reply.tries, 1);
 * ```
 */
export async function request<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
>(
  socket: DatagramSocket<T>,
  data: Uint8Array | string,
  to: Address | SocketAddress,
  options: RequestOptions = {},
): Promise<RequestReply<T>> {
  const timeout = options.timeout ?? 1000;
  const retries = options.retries ?? 3;
  const backoff = options.backoff ?? 2;
  const maxTimeout = options.maxTimeout ?? 10000;
  checkNumber("timeout", timeout, 1, false);
  checkNumber("retries", retries, 0, true);
  checkNumber("backoff", backoff, 1, false);
  checkNumber("maxTimeout", maxTimeout, 1, false);
  if (retries > 0xfffe) {
    throw new RangeError(
      `Cannot make a request with retries ${retries}: the try number is 16-bit, so at most 65534`,
    );
  }
  if (socket.receiving) {
    throw new TypeError(
      `Cannot make a request from ${
        formatAddress(socket.addr)
      }: another receive is in progress on it`,
    );
  }
  const signal = options.signal;
  signal?.throwIfAborted();
  const payload = typeof data === "string" ? encoder.encode(data) : data;
  const id = nextRequestId();
  const ignored = { malformed: 0, wrongPeer: 0, stale: 0 };
  const start = performance.now();
  let wait = Math.min(timeout, maxTimeout);
  let waited = 0;
  const tries = retries + 1;
  for (let attempt = 1; attempt <= tries; attempt++) {
    await socket.send(encodeMessage(KIND_REQUEST, id, attempt, payload), to);
    const deadline = performance.now() + wait;
    waited += wait;
    for (;;) {
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) break;
      let datagram: Datagram<T>;
      try {
        datagram = await socket.receive({
          timeout: left,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (error instanceof TimeoutError) break;
        if (error instanceof DatagramTooLargeError) {
          ignored.malformed++;
          continue;
        }
        throw error;
      }
      if (!isPeer(to, datagram.from)) {
        ignored.wrongPeer++;
        continue;
      }
      const message = decodeMessage(datagram.data);
      if (
        message === null || message.kind !== KIND_REPLY ||
        (message.id === id && message.attempt > attempt)
      ) {
        ignored.malformed++;
        continue;
      }
      if (message.id !== id) {
        ignored.stale++;
        continue;
      }
      return {
        data: message.payload.slice(),
        from: datagram.from,
        tries: attempt,
        answeredTry: message.attempt,
        elapsed: Math.round(performance.now() - start),
        ignored,
      };
    }
    wait = Math.min(wait * backoff, maxTimeout);
  }
  throw new RequestTimeoutError({
    address: formatAddress(to),
    tries,
    waited: Math.round(waited),
    ignored,
  });
}

/**
 * Answers one request: what it returns (bytes or a string) is the reply's
 * payload; `null`/`undefined` sends no reply (the requester will retry,
 * and the handler is asked again). Besides the payload and the sender it
 * gets the request's `id` and the `attempt` (try number, 1 for the first)
 * of the datagram that got through.
 *
 * @typeParam T The socket's transport, `"udp"` or `"unixpacket"`, which
 * types `from`.
 */
export type RequestHandler<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
> = (
  data: Uint8Array,
  from: SocketAddress<T>,
  info: { id: number; attempt: number },
) => DatagramReply | Promise<DatagramReply>;

/** Options for {@linkcode serveRequests}. */
export interface ServeRequestsOptions extends ServeOptions {
  /**
   * How many answered requests to remember: a retry of one of them is
   * answered again from memory, without calling the handler twice.
   *
   * @default {256}
   */
  replyCacheSize?: number;
}

/**
 * The answering end of {@linkcode request}: a {@linkcode DatagramServer}
 * that speaks the request header. Retries of a request it has answered
 * get the same answer again (the handler runs once per request), so a
 * lost reply costs a resend, not a second execution.
 *
 * @example Count what was ignored
 * ```ts
 * import { bind, serveRequests } from "@sockit/sockit/udp";
 * import { assertEquals } from "@std/assert";
 *
 * using socket = bind({ port: 0 });
 * const server = serveRequests(socket, () => "pong");
 * using other = bind();
 * await other.send("no header here", socket.addr);
 * while (server.malformed === 0) await new Promise((r) => setTimeout(r, 5));
 * await server.shutdown();
 * assertEquals([server.malformed, server.requests], [1, 0]);
 * ```
 */
export class RequestServer<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
> implements AsyncDisposable {
  readonly #server: DatagramServer<T>;
  readonly #handler: RequestHandler;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Uint8Array | null>();
  #requests = 0;
  #malformed = 0;
  #duplicates = 0;

  /**
   * Starts answering requests on `socket`. {@linkcode serveRequests} does
   * the same.
   *
   * @param socket The socket to receive on.
   * @param handler Answers each request.
   * @param options `signal`, `onError`, `gracePeriod`, `replyCacheSize`.
   * @throws {RangeError} On a bad option.
   */
  constructor(
    socket: DatagramSocket<T>,
    handler: RequestHandler<T>,
    options: ServeRequestsOptions = {},
  ) {
    const cacheSize = options.replyCacheSize ?? 256;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) {
      throw new RangeError(
        `Cannot use replyCacheSize ${cacheSize}: give an integer >= 0`,
      );
    }
    this.#cacheSize = cacheSize;
    this.#handler = handler as RequestHandler;
    const { replyCacheSize: _, ...serveOptions } = options;
    this.#server = new DatagramServer(
      socket,
      (datagram) => this.#answer(datagram),
      serveOptions,
    );
  }

  /** The socket being served. */
  get socket(): DatagramSocket<T> {
    return this.#server.socket;
  }

  /** Settles when the server has stopped and its handler finished. */
  get finished(): Promise<void> {
    return this.#server.finished;
  }

  /** Requests handed to the handler (retries answered from memory not counted). */
  get requests(): number {
    return this.#requests;
  }

  /** Replies sent (first answers and repeated ones). */
  get repliesSent(): number {
    return this.#server.repliesSent;
  }

  /** Retries of a request already answered (or being answered). */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * Datagrams ignored as not a valid request: short, wrong magic or
   * version, a reply instead of a request, or over `maxDatagramSize`.
   */
  get malformed(): number {
    return this.#malformed + this.#server.droppedDatagrams;
  }

  /** Handler errors and replies that could not be sent. */
  get errors(): number {
    return this.#server.errors;
  }

  /**
   * Stops answering; see {@linkcode DatagramServer.shutdown}.
   *
   * @param options `gracePeriod`.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    await this.#server.shutdown(options);
  }

  /** Shuts down with the default grace period (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #answer(datagram: Datagram<T>): Promise<Uint8Array | null> {
    const message = decodeMessage(datagram.data);
    if (message === null || message.kind !== KIND_REQUEST) {
      this.#malformed++;
      return null;
    }
    const { id, attempt } = message;
    const key = `${formatAddress(datagram.from)}#${id}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#duplicates++;
      return cached === null
        ? null
        : encodeMessage(KIND_REPLY, id, attempt, cached);
    }
    this.#remember(key, null);
    let reply: DatagramReply;
    try {
      this.#requests++;
      reply = await this.#handler(message.payload.slice(), datagram.from, {
        id,
        attempt,
      });
    } catch (error) {
      this.#cache.delete(key);
      throw error;
    }
    if (reply === null || reply === undefined) {
      this.#cache.delete(key);
      return null;
    }
    const payload = typeof reply === "string" ? encoder.encode(reply) : reply;
    this.#remember(key, payload);
    return encodeMessage(KIND_REPLY, id, attempt, payload);
  }

  #remember(key: string, value: Uint8Array | null): void {
    this.#cache.delete(key);
    if (value === null || this.#cacheSize > 0) this.#cache.set(key, value);
    while (this.#cache.size > Math.max(this.#cacheSize, 1)) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
  }
}

/**
 * Answers {@linkcode request}s on `socket` with `handler`: each valid
 * request's payload goes to the handler, and its answer goes back with the
 * header (same id, same try). Malformed datagrams are ignored and counted.
 *
 * @param socket The socket to receive on.
 * @param handler Answers each request.
 * @param options `signal`, `onError`, `gracePeriod`, `replyCacheSize`.
 * @returns The running server.
 * @throws {RangeError} On a bad option.
 *
 * @example A time server
 * ```ts
 * import { bind, request, serveRequests } from "@sockit/sockit/udp";
 * import { assert } from "@std/assert";
 *
 * using socket = bind({ port: 0 });
 * await using _server = serveRequests(socket, () => new Date().toISOString());
 * using client = bind();
 * const { data } = await request(client, "", socket.addr, { timeout: 500 });
 * assert(new TextDecoder().decode(data).endsWith("Z"));
 * ```
 */
export function serveRequests<
  T extends "udp" | "unixpacket" = "udp" | "unixpacket",
>(
  socket: DatagramSocket<T>,
  handler: RequestHandler<T>,
  options: ServeRequestsOptions = {},
): RequestServer<T> {
  return new RequestServer(socket, handler, options);
}
