/**
 * {@linkcode Connection}: one TCP or Unix stream socket, accepted or
 * connected, with Python's socket operations the Deno way.
 *
 * @module
 */
import type { FrameCodec, ProxyHeader } from "../framing/mod.ts";
import { type SocketAddress, TimeoutError } from "../net/mod.ts";
import { toSocketAddress } from "../_internal/address.ts";
import { wrapError } from "../_internal/errors.ts";
import { connectionHooks } from "../_internal/hooks.ts";
import { unwatchIdle, type Watch, watchIdle } from "../_internal/timer.ts";
import { Waiter } from "../_internal/waiter.ts";
import { copyOut, MAX_SHARED } from "../_internal/slab.ts";
import { IncompleteReadError, LimitOverrunError } from "./errors.ts";
import { FramedConnection } from "./framed_connection.ts";
import { peerOf } from "./_peer.ts";
import { proxyStateOf } from "./_proxy.ts";
import {
  clientTls,
  connectedName,
  secureClient,
  secureServer,
  serverSideOf,
  tlsReadError,
  tlsStateOf,
} from "./_tls.ts";
import type { TlsClientOptions, TlsInfo } from "./tls.ts";

/** The read buffer after small reads: what an idle connection parks. */
const MIN_READ_BUFFER = 256;
/**
 * The first read's buffer: a request or greeting that is already waiting
 * when a connection is new comes in one read (up to 2 KiB: a request line
 * and its headers, a greeting). A client that connects and sends nothing
 * parks it until it speaks: with 16 KiB, 5,000 silent clients cost a server
 * 24 KiB each; with 2 KiB, 11 KiB.
 */
const FIRST_READ_BUFFER = 2 * 1024;
/** How long a draining read waits for data that is already on its way. */
const DRAIN_WAIT = 50;
/**
 * The largest read from the socket, into the connection's own buffer
 * (`read()` grows to it 4× at a time while reads fill the buffer).
 */
const MAX_READ_BUFFER = 256 * 1024;

const encoder = new TextEncoder();

/** What a Connection uses of its socket: a `Deno.Conn`, or our TLS adapter. */
type Socket = Pick<
  Deno.Conn,
  "read" | "write" | "closeWrite" | "close" | "localAddr" | "remoteAddr"
>;

/** A connection whose socket `startTls()` handed on, and the one it went to. */
const successors = new WeakMap<Connection, Connection>();
/** A connection whose `startTls()` handshake runs, and how to stop it. */
const upgrades = new WeakMap<Connection, AbortController>();

/** Options for reads: {@linkcode Connection.read} and friends. */
export interface ReadOptions {
  /** Aborts the wait (not the connection); the data stays for the next read. */
  signal?: AbortSignal;
}

/** Options for {@linkcode Connection.readUntil}. */
export interface ReadUntilOptions extends ReadOptions {
  /**
   * The most bytes to read while looking for the delimiter (delimiter
   * included); past it, `LimitOverrunError`.
   *
   * @default {65536}
   */
  maxBytes?: number;
}

/** Options for {@linkcode Connection.write}. */
export interface WriteOptions {
  /**
   * Stops the write: before it starts, nothing is sent and it rejects with
   * the signal's reason; once bytes are on their way, the connection is
   * closed (a write cut short cannot be taken back, as after a timeout of
   * Python's `sendall`).
   */
  signal?: AbortSignal;
}

/** Python's `socket.SHUT_RD`: {@linkcode Connection.shutdown} stops reading. */
export const SHUT_RD = 0;
/** Python's `socket.SHUT_WR`: {@linkcode Connection.shutdown} sends FIN. */
export const SHUT_WR = 1;
/** Python's `socket.SHUT_RDWR`: {@linkcode Connection.shutdown} does both. */
export const SHUT_RDWR = 2;

/**
 * How {@linkcode Connection.shutdown} closes: `"read"`, `"write"` or
 * `"both"`, or Python's numbers {@linkcode SHUT_RD} (0), {@linkcode SHUT_WR}
 * (1) and {@linkcode SHUT_RDWR} (2).
 */
export type ShutdownHow = "read" | "write" | "both" | 0 | 1 | 2;

/** Options for the {@linkcode Connection} constructor. */
export interface ConnectionOptions {
  /**
   * Close the connection when nothing is read or written for this many
   * milliseconds; a pending or later read then raises `TimeoutError`.
   * Servers set it from `listen()`'s `idleTimeout`.
   *
   * @default {no idle timeout}
   */
  idleTimeout?: number;
}

/**
 * A stream socket: TCP or Unix, accepted by a server or made by
 * `connect()`. Reads and writes are Python's `recv`, `recv_into` and
 * `sendall`, with `settimeout`, `shutdown`, `getsockname`/`getpeername`,
 * framed messages, Web Streams and `for await` on top.
 *
 * Memory: a new connection's first read waits on a 2 KiB buffer, so that
 * a request already waiting arrives in one read (a longer one in a few, as
 * the buffer grows); after that `read()` waits
 * on a buffer sized by the reads before it — 256 bytes after small reads,
 * so an idle connection costs little, growing 4× while reads fill it (up to
 * 256 KiB). `read(maxBytes)` reads up to `maxBytes` at once, and
 * `readInto(buffer)` reads straight into your buffer. An idle timeout is a
 * record on one shared timer wheel, not a timer per connection. Chunks up
 * to 512 bytes are copied into shared 4 KiB blocks (as Node's `Buffer`
 * pool does), which is ten times cheaper than a buffer each.
 *
 * Over TLS (`connect()`'s and `listen()`'s `tls` option, or
 * {@linkcode Connection.startTls}) every method works the same on the
 * decrypted bytes; {@linkcode Connection.tls} tells the session. A TLS peer
 * that closes without close_notify reads as EOF once data has arrived, as
 * with Python's `suppress_ragged_eofs`.
 *
 * @typeParam T The transport: `"tcp"` or `"unix"`, which types
 * {@linkcode Connection.localAddr} and {@linkcode Connection.remoteAddr}.
 *
 * @example Echo one message over loopback
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   const data = await conn.read();
 *   if (data) await conn.write(data);
 * });
 * await using conn = await connect(server.addr);
 * await conn.write("hello");
 * assertEquals(new TextDecoder().decode((await conn.read())!), "hello");
 * assertEquals(conn.remoteAddr.port, server.addr.port);
 * ```
 */
export class Connection<T extends "tcp" | "unix" = "tcp" | "unix">
  implements AsyncIterable<Uint8Array>, AsyncDisposable, Disposable {
  readonly #conn: Socket;
  #localAddr: SocketAddress | undefined;
  #remoteAddr: SocketAddress | undefined;

  /** The size of the next `read()`'s buffer (see #resize). */
  #bufferSize = FIRST_READ_BUFFER;
  /** The connection's own read buffer, kept while reads fit it. */
  #buffer: Uint8Array | null = null;
  /** A socket read is in flight. */
  #inRead = false;
  /** What the socket read in flight (or just finished) writes into. */
  #target: Uint8Array | null = null;
  /** Its target is a `readInto()` caller's buffer, not our own. */
  #direct = false;
  /** Its size came from #bufferSize, so it sizes the next one. */
  #adaptive = false;
  /** A socket read finished and nobody has taken its result yet. */
  #ready = false;
  #readN: number | null = null;
  #readFailed = false;
  #readError: unknown = undefined;
  /** The read waiting for the socket read, if one waits. */
  readonly #waiter = new Waiter<Uint8Array | number | null>();
  /** Where the waiting read puts its bytes: `readInto()`'s buffer. */
  #into: Uint8Array | null = null;
  /** The most bytes the waiting `read()` hands out. */
  #max = Infinity;
  #leftover: Uint8Array | null = null;
  /** A read a poller gave up: settles once its outcome is back in here. */
  #handedBack: Promise<void> | null = null;
  /** An error handed back by a poller, for the next read to throw. */
  #pendingError: { error: unknown } | null = null;
  #eof = false;
  #readShut = false;
  #writeShut = false;
  #closed = false;
  #timeout: number | null = null;
  #draining = false;
  /** Writes started and not finished. */
  #writing = 0;
  /** The last write started (it may reject), while `#writing > 0`. */
  #lastWrite: Promise<void> | null = null;
  #writesDone: PromiseWithResolvers<void> | null = null;
  #bytesReceived = 0;
  #bytesSent = 0;

  #idleWatch: Watch | null = null;
  #idleExpired = false;

  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /**
   * Wraps a Deno connection. Usually you get a `Connection` from
   * `connect()` or a server's handler instead; wrap one yourself for a
   * `Deno.Conn` made elsewhere (`Deno.connectTls()`, say — its `tls` is
   * then `null`: TLS made by `connect()` and `listen()` reports it).
   *
   * @param conn A TCP or Unix `Deno.Conn` (what it uses of one: `read`,
   * `write`, `closeWrite`, `close` and the addresses).
   * @param options `idleTimeout`.
   */
  constructor(
    conn: Pick<
      Deno.Conn,
      "read" | "write" | "closeWrite" | "close" | "localAddr" | "remoteAddr"
    >,
    options: ConnectionOptions = {},
  ) {
    this.#conn = conn;
    const idleTimeout = options.idleTimeout;
    if (idleTimeout !== undefined) {
      this.#idleWatch = watchIdle(
        idleTimeout,
        Connection.#expire,
        performance.now(),
        this,
      );
    }
  }

  /** The idle timeout ran out (one function for every connection). */
  static #expire(conn: Connection): void {
    conn.#idleExpired = true;
    conn.close();
  }

  /** The local address (Python's `getsockname()`). */
  get localAddr(): SocketAddress<T> {
    return (this.#localAddr ??= toSocketAddress(
      this.#conn.localAddr,
    )) as SocketAddress<T>;
  }

  /** The peer's address (Python's `getpeername()`). */
  get remoteAddr(): SocketAddress<T> {
    return (this.#remoteAddr ??= toSocketAddress(
      this.#conn.remoteAddr,
    )) as SocketAddress<T>;
  }

  /**
   * The PROXY protocol header this connection began with, on a server
   * listening with `proxyProtocol` (`null` for a connection that came
   * without one, and on every other connection). Its `source` is
   * `remoteAddr`; its TLVs carry what the proxy adds (ALPN, the TLS server
   * name, a unique ID).
   */
  get proxyHeader(): ProxyHeader | null {
    return proxyStateOf(this.#conn)?.header ?? null;
  }

  /**
   * On a server listening with `proxyProtocol`: the address of the socket's
   * own peer — the proxy, when a header named the client in
   * `remoteAddr`. `null` on every other connection.
   */
  get proxyAddr(): SocketAddress<T> | null {
    const state = proxyStateOf(this.#conn);
    return state === undefined
      ? null
      : toSocketAddress(state.proxyAddr) as SocketAddress<T>;
  }

  /**
   * The TLS session — protocol, ALPN protocol, the peer's certificate and
   * whether it was verified (see `TlsInfo` for what each engine tells) — or
   * `null` for a plain connection.
   */
  get tls(): TlsInfo | null {
    return tlsStateOf(this.#conn)?.info ?? null;
  }

  /** How errors name the other end (made when needed, not per connection). */
  get #peer(): string {
    return peerOf(this);
  }

  /** Bytes received from the socket so far. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Bytes sent to the socket so far. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Whether `close()` has been called (or the idle timeout closed it). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether reading was ended on this side (`shutdown("read")`,
   * `stopReading()`, a server's graceful shutdown) rather than by the peer:
   * after it, `read()` returns `null` though the peer may have more to send.
   */
  get readingStopped(): boolean {
    return this.#readShut;
  }

  /** The read timeout in milliseconds, or `null` (Python's `gettimeout()`). */
  get timeout(): number | null {
    return this.#timeout;
  }

  /**
   * Sets the read timeout (Python's `settimeout`): afterwards a read that
   * waits longer than `ms` for data rejects with `TimeoutError`, and the
   * connection stays usable — no data is lost. `null` waits forever.
   * `connect(address, { timeout })` sets it too.
   *
   * @param ms Milliseconds, or `null`.
   * @throws {RangeError} If `ms` is negative or not a number.
   */
  setTimeout(ms: number | null): void {
    if (ms !== null && (typeof ms !== "number" || !(ms >= 0))) {
      throw new RangeError(
        `Cannot set a timeout of ${ms}: give milliseconds (>= 0) or null`,
      );
    }
    this.#timeout = ms;
  }

  /**
   * Reads what has arrived, as Python's `recv(maxBytes)`: at least one
   * byte and at most `maxBytes`, or `null` at the end of the stream (the
   * peer closed or shut down writing).
   *
   * Without `maxBytes` the read takes what one socket read gives: up to
   * 2 KiB on a new connection, then as much as the buffer that the reads
   * before it sized (see the class docs), so after an idle spell a long
   * message may come in two reads. With `maxBytes` it reads up to that
   * many bytes at once (256 KiB at most), as Python does.
   *
   * @param maxBytes The most bytes to return (an integer >= 0; 0 returns
   * an empty array at once).
   * @param options `signal` to stop waiting.
   * @returns The bytes (a new array you own: nothing writes to it later),
   * or `null` at EOF. A small chunk is a view into a shared 4 KiB block,
   * so mind `byteOffset` when you use its `.buffer`.
   * @throws {TimeoutError} If the timeout passed with no data.
   * @throws {TypeError} If another read is in progress.
   * @throws {RangeError} If `maxBytes` is not an integer >= 0.
   *
   * @example Python's recv(600), twice
   * ```ts
   * import { connect, listen } from "@sockit/sockit/tcp";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = listen({ port: 0 }, (conn) => conn.write(new Uint8Array(1000)));
   * await using conn = await connect(server.addr);
   * assertEquals((await conn.readExactly(1)).length, 1);
   * assertEquals((await conn.read(600))!.length, 600);
   * assertEquals((await conn.read(600))!.length, 399);
   * assertEquals(await conn.read(600), null);
   * ```
   */
  read(maxBytes?: number, options?: ReadOptions): Promise<Uint8Array | null>;
  /**
   * Reads what has arrived, up to what one socket read gives: `read()`
   * with options and no `maxBytes`.
   *
   * @param options `signal` to stop waiting.
   * @returns The bytes, or `null` at EOF.
   */
  read(options?: ReadOptions): Promise<Uint8Array | null>;
  read(
    maxBytes?: number | ReadOptions,
    options?: ReadOptions,
  ): Promise<Uint8Array | null> {
    let max = Infinity;
    if (typeof maxBytes === "number") {
      if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
        return Promise.reject(
          new RangeError(
            `Cannot read ${maxBytes} bytes from ${this.#peer}: give an integer >= 0`,
          ),
        );
      }
      max = maxBytes;
    } else if (maxBytes !== undefined) {
      options = maxBytes;
    }
    if (this.#handedBack !== null) {
      const again = max === Infinity ? undefined : max;
      return this.#handedBack.then(() => this.read(again, options));
    }
    if (!this.#waiter.waiting) {
      if (this.#pendingError !== null) return this.#throwPending();
      const leftover = this.#leftover;
      if (leftover !== null) {
        if (max >= leftover.length) {
          this.#leftover = null;
          return Promise.resolve(leftover);
        }
        this.#leftover = leftover.subarray(max);
        return Promise.resolve(leftover.subarray(0, max));
      }
      if (max === 0) return Promise.resolve(new Uint8Array(0));
    }
    return this.#receive(null, max, options) as Promise<Uint8Array | null>;
  }

  /**
   * Reads into `buffer` (Python's `recv_into`): waits like `read()`, then
   * puts up to `buffer.length` bytes into it. When nothing is buffered and
   * no timeout or signal is in play, the socket reads straight into
   * `buffer`: nothing is copied and nothing allocated, so a server that
   * reuses one large buffer moves bulk data at the socket's speed. (With a
   * timeout or a signal the socket reads into the connection's own buffer,
   * which is copied into yours, so that a wait that ends early never leaves
   * a read writing into your buffer later.) Bytes that do not fit stay for
   * the next read.
   *
   * @param buffer Where the bytes go.
   * @param options `signal` to stop waiting.
   * @returns How many bytes were written into `buffer` (at least one; 0 only
   * for an empty `buffer`), or `null` at EOF.
   * @throws {TimeoutError} If the timeout passed with no data.
   * @throws {TypeError} If `buffer` is not a `Uint8Array`, or another read
   * is in progress.
   *
   * @example Echo with one buffer
   * ```ts
   * import { connect, listen } from "@sockit/sockit/tcp";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = listen({ port: 0 }, async (conn) => {
   *   const buffer = new Uint8Array(64 * 1024);
   *   for (let n; (n = await conn.readInto(buffer)) !== null;) {
   *     await conn.write(buffer.subarray(0, n));
   *   }
   * });
   * await using conn = await connect(server.addr);
   * await conn.write("ping");
   * assertEquals(new TextDecoder().decode(await conn.readExactly(4)), "ping");
   * ```
   */
  readInto(buffer: Uint8Array, options?: ReadOptions): Promise<number | null> {
    if (!(buffer instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(
          `Cannot read from ${this.#peer} into ${typeof buffer}: give a Uint8Array`,
        ),
      );
    }
    if (this.#handedBack !== null) {
      return this.#handedBack.then(() => this.readInto(buffer, options));
    }
    if (!this.#waiter.waiting) {
      if (this.#pendingError !== null) return this.#throwPending();
      const leftover = this.#leftover;
      if (leftover !== null) {
        const count = Math.min(leftover.length, buffer.length);
        buffer.set(
          count === leftover.length ? leftover : leftover.subarray(0, count),
        );
        this.#leftover = count === leftover.length
          ? null
          : leftover.subarray(count);
        return Promise.resolve(count);
      }
      if (buffer.length === 0) return Promise.resolve(0);
    }
    return this.#receive(buffer, Infinity, options) as Promise<number | null>;
  }

  /**
   * The chunks as they arrive, until EOF: `for await (const chunk of
   * conn)` is `read()` in a loop, so the timeout applies to each wait.
   * Leaving the loop early (`break`, `return`, an exception) leaves the
   * connection open and loses nothing: the next read gets what follows.
   * Close it with `close()` (or `await using`), or iterate `conn.readable`,
   * whose cancellation stops reading.
   *
   * @returns An iterator over the chunks.
   *
   * @example Read until the peer closes
   * ```ts
   * import { connect, listen } from "@sockit/sockit/tcp";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = listen({ port: 0 }, async (conn) => {
   *   await conn.write("hello, ");
   *   await conn.write("world");
   * });
   * await using conn = await connect(server.addr);
   * let text = "";
   * for await (const chunk of conn) text += new TextDecoder().decode(chunk);
   * assertEquals(text, "hello, world");
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (let chunk; (chunk = await this.read()) !== null;) yield chunk;
  }

  #throwPending(): Promise<never> {
    const { error } = this.#pendingError!;
    this.#pendingError = null;
    return Promise.reject(error);
  }

  /**
   * `read()` (`into` null) or `readInto()` once no leftover bytes are due:
   * takes the socket read that finished, or starts one and waits for it.
   */
  #receive(
    into: Uint8Array | null,
    max: number,
    options: ReadOptions | undefined,
  ): Promise<Uint8Array | number | null> {
    if (this.#waiter.waiting) {
      return Promise.reject(
        new TypeError(
          `Cannot read from ${this.#peer}: another read is in progress`,
        ),
      );
    }
    if (this.#readShut || this.#eof) return Promise.resolve(null);
    if (this.#closed) return Promise.reject(this.#closedError());
    this.#into = into;
    this.#max = max;
    if (this.#ready) {
      try {
        return Promise.resolve(this.#consume());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeout = this.#timeout;
    if (!this.#inRead) {
      // Straight into the caller's buffer only when nothing can end the
      // wait before the read finishes (a draining read ends at EOF, and a
      // read on a closed connection fails, which writes nothing).
      const direct = into !== null && timeout === null &&
        signal === undefined && !this.#draining;
      this.#startRead(into, max, direct);
    }
    if (this.#draining) {
      const waiting = this.#waiter.wait(null, undefined);
      this.#waiter.setTimer(DRAIN_WAIT, () => this.#endRead());
      return waiting;
    }
    return this.#waiter.wait(
      timeout,
      signal,
      timeout === null ? undefined : (ms) =>
        new TimeoutError(
          `Cannot read from ${this.#peer}: no data for ${ms} ms`,
          ms,
        ),
    );
  }

  /**
   * Reads exactly `n` bytes (asyncio's `readexactly`). Large reads go
   * straight into the array returned (see {@linkcode Connection.readInto}).
   *
   * @param n How many bytes.
   * @param options `signal` to stop waiting.
   * @returns The `n` bytes.
   * @throws {IncompleteReadError} If the stream ends first (with the bytes
   * that did arrive).
   * @throws {TimeoutError} If the timeout passes; the bytes read so far stay
   * for the next read.
   */
  async readExactly(n: number, options: ReadOptions = {}): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Cannot read ${n} bytes: give an integer >= 0`);
    }
    if (n === 0) return new Uint8Array(0);
    let out: Uint8Array;
    let filled: number;
    if (n > MAX_SHARED) {
      out = new Uint8Array(n);
      filled = 0;
    } else {
      // Small reads (headers, say) take a whole chunk and keep the rest:
      // the next small read needs no socket read.
      const first = await this.read(options);
      if (first === null) throw new IncompleteReadError(n, new Uint8Array(0));
      if (first.length >= n) {
        if (first.length > n) this.#unshift(first.subarray(n));
        return first.length === n ? first : first.subarray(0, n);
      }
      out = new Uint8Array(n);
      out.set(first);
      filled = first.length;
    }
    try {
      while (filled < n) {
        const count = await this.readInto(out.subarray(filled), options);
        if (count === null) {
          throw new IncompleteReadError(n, out.slice(0, filled));
        }
        filled += count;
      }
    } catch (error) {
      if (!(error instanceof IncompleteReadError) && filled > 0) {
        this.#unshift(out.slice(0, filled)); // lose nothing
      }
      throw error;
    }
    return out;
  }

  /**
   * Reads up to and including `delimiter` (asyncio's `readuntil`).
   *
   * @param delimiter One or more bytes, or a string (UTF-8).
   * @param options `maxBytes` and `signal`.
   * @returns The bytes, ending with the delimiter.
   * @throws {IncompleteReadError} If the stream ends first.
   * @throws {LimitOverrunError} If `maxBytes` pass without the delimiter;
   * the bytes stay for the next read.
   * @throws {TimeoutError} If the timeout passes; the bytes stay too.
   */
  async readUntil(
    delimiter: Uint8Array | string,
    options: ReadUntilOptions = {},
  ): Promise<Uint8Array> {
    const needle = typeof delimiter === "string"
      ? encoder.encode(delimiter)
      : delimiter;
    if (needle.length === 0) {
      throw new RangeError("Cannot read until an empty delimiter");
    }
    const maxBytes = options.maxBytes ?? 65536;
    const readOptions: ReadOptions = options.signal === undefined
      ? {}
      : { signal: options.signal };
    let held = new Uint8Array(0);
    let scanned = 0;
    try {
      for (;;) {
        const chunk = await this.read(readOptions);
        if (chunk === null) throw new IncompleteReadError(undefined, held);
        const joined = new Uint8Array(held.length + chunk.length);
        joined.set(held);
        joined.set(chunk, held.length);
        held = joined;
        const found = indexOf(
          held,
          needle,
          Math.max(0, scanned - needle.length + 1),
        );
        if (found !== -1 && found + needle.length <= maxBytes) {
          const end = found + needle.length;
          if (end < held.length) this.#unshift(held.subarray(end));
          return held.subarray(0, end);
        }
        scanned = held.length;
        if (held.length >= maxBytes) throw new LimitOverrunError(maxBytes);
      }
    } catch (error) {
      if (!(error instanceof IncompleteReadError) && held.length > 0) {
        this.#unshift(held); // lose nothing
      }
      throw error;
    }
  }

  /** Puts `bytes` back in front of what the next read returns. */
  #unshift(bytes: Uint8Array): void {
    const leftover = this.#leftover;
    if (leftover === null) {
      this.#leftover = bytes;
      return;
    }
    const joined = new Uint8Array(bytes.length + leftover.length);
    joined.set(bytes);
    joined.set(leftover, bytes.length);
    this.#leftover = joined;
  }

  static {
    connectionHooks.handBack = (conn, outcome) => {
      if (!(conn instanceof Connection)) return;
      const before = conn.#handedBack ?? Promise.resolve();
      const settled: Promise<void> = before.then(() => outcome).then(
        (handed) => {
          if (conn.#handedBack === settled) conn.#handedBack = null;
          if (handed === null) return;
          if ("error" in handed) {
            conn.#pendingError = { error: handed.error };
          } else if (handed.value !== null && !conn.#readShut) {
            conn.#unshift(handed.value);
          }
        },
      );
      conn.#handedBack = settled;
    };
  }

  /**
   * Writes all of `data` (Python's `sendall`), looping over partial writes.
   * Concurrent writes are queued, never interleaved.
   *
   * @param data Bytes, or a string (UTF-8).
   * @param options `signal` to stop the write (which closes the
   * connection if bytes are on their way).
   * @throws {Deno.errors.BrokenPipe} Or another network error, naming the
   * peer, if the connection fails.
   */
  write(data: Uint8Array | string, options?: WriteOptions): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const before = this.#writing === 0 ? null : this.#lastWrite;
    this.#writing++;
    const sent = this.#lastWrite = this.#send(bytes, before);
    return signal === undefined ? sent : this.#abortable(sent, signal);
  }

  /** `sent`, unless `signal` aborts first: then the connection closes. */
  #abortable(sent: Promise<void>, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        this.close();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      sent.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(signal.aborted ? signal.reason : error);
      });
    });
  }

  /** Writes `bytes` once the write before it (if any) has finished. */
  async #send(bytes: Uint8Array, before: Promise<void> | null): Promise<void> {
    let written = 0;
    try {
      if (before !== null) await before.catch(() => {});
      if (this.#writeShut || this.#closed) {
        throw new Deno.errors.BrokenPipe(
          `Cannot write to ${this.#peer}: the connection is ${
            this.#closed ? "closed" : "shut down for writing"
          }`,
        );
      }
      try {
        written = await this.#conn.write(bytes);
        while (written < bytes.length) {
          written += await this.#conn.write(bytes.subarray(written));
        }
      } catch (error) {
        throw wrapError(error, `write to ${this.#peer}`);
      }
      this.#touch();
    } finally {
      this.#bytesSent += written;
      if (--this.#writing === 0) {
        this.#lastWrite = null;
        const done = this.#writesDone;
        if (done !== null) {
          this.#writesDone = null;
          done.resolve();
        }
      }
    }
  }

  /** Settles when every write started so far has finished. */
  #whenWritten(): Promise<void> {
    if (this.#writing === 0) return Promise.resolve();
    return (this.#writesDone ??= Promise.withResolvers<void>()).promise;
  }

  /**
   * Shuts the connection down without closing it (Python's `shutdown`):
   *
   * - `"write"` or `SHUT_WR` (1): waits for queued writes, then sends FIN
   *   (`Deno.Conn.closeWrite()`); the peer reads EOF, and this side keeps
   *   reading — a half-open socket.
   * - `"read"` or `SHUT_RD` (0): stops delivering data: reads return
   *   `null` from now on and anything buffered is dropped. Deno has no
   *   `closeRead`, so the kernel is not told: data the peer sends
   *   afterwards is not read and, once the buffers fill, TCP flow control
   *   stops the peer.
   * - `"both"` or `SHUT_RDWR` (2): both.
   *
   * @param how What to shut down.
   * @throws {TypeError} If `how` is not one of these.
   *
   * @example A ported Python client keeps its shape
   * ```ts
   * import { connect, listen, SHUT_WR } from "@sockit/sockit/tcp";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = listen({ port: 0 }, async (conn) => {
   *   for await (const chunk of conn) await conn.write(chunk);
   * });
   * await using conn = await connect(server.addr);
   * await conn.write("bye");
   * await conn.shutdown(SHUT_WR); // s.shutdown(socket.SHUT_WR)
   * assertEquals(new TextDecoder().decode(await conn.readExactly(3)), "bye");
   * assertEquals(await conn.read(), null);
   * ```
   */
  async shutdown(how: ShutdownHow = "both"): Promise<void> {
    const mode = typeof how === "number" ? SHUTDOWN_MODES[how] : how;
    if (mode !== "read" && mode !== "write" && mode !== "both") {
      throw new TypeError(
        `Cannot shut down ${
          JSON.stringify(how)
        }: give "read", "write" or "both" (or SHUT_RD, SHUT_WR, SHUT_RDWR: 0, 1, 2)`,
      );
    }
    if (mode !== "write") this.#stopReading();
    if (mode !== "read" && !this.#writeShut) {
      await this.#whenWritten();
      this.#writeShut = true;
      if (this.#closed) return;
      try {
        await this.#conn.closeWrite();
      } catch (error) {
        if (!(error instanceof Deno.errors.NotConnected)) {
          throw wrapError(error, `shut down writing to ${this.#peer}`);
        }
      }
    }
  }

  /**
   * Turns Nagle's algorithm off (`true`) or on: Python's
   * `setsockopt(IPPROTO_TCP, TCP_NODELAY, …)`. TCP only. On a connection
   * over Deno's TLS, which offers no way to change it, this does nothing:
   * the setting made when it connected stays (`connect()`'s TLS turns
   * Nagle off unless `noDelay: false`).
   *
   * @param noDelay Whether to send small writes at once.
   * @throws {TypeError} On a Unix socket.
   */
  setNoDelay(noDelay = true): void {
    const conn = this.#tcp("setNoDelay");
    if (typeof conn.setNoDelay === "function") conn.setNoDelay(noDelay);
  }

  /**
   * Turns TCP keep-alive probes on or off: Python's
   * `setsockopt(SOL_SOCKET, SO_KEEPALIVE, …)`. TCP only. On a connection
   * over Deno's TLS this does nothing (as `setNoDelay()`).
   *
   * @param keepAlive Whether to probe idle connections.
   * @throws {TypeError} On a Unix socket.
   */
  setKeepAlive(keepAlive = true): void {
    const conn = this.#tcp("setKeepAlive");
    if (typeof conn.setKeepAlive === "function") conn.setKeepAlive(keepAlive);
  }

  /**
   * Starts TLS on this plain connection (STARTTLS, Python's
   * `context.wrap_socket(sock)`): after the protocol's "go ahead", the
   * handshake runs on the same socket and the TLS connection is returned.
   * This `Connection` is consumed: it reads and writes no more, and closing
   * it closes the TLS connection.
   *
   * On a client the server's certificate is verified for `serverName`
   * (default: the hostname given to `connect()`). On a server's connection
   * — `listen()` with the `startTls` option — it runs the server side of the
   * handshake with those options (`options.signal` still applies).
   *
   * The socket must be idle: everything the peer sent before the handshake
   * has been read (bytes left unread mean the peer did not wait, which
   * STARTTLS protocols forbid) and no read is in flight (a read that timed
   * out still is). Queued writes are sent first.
   *
   * @param options TLS client options, or `true` for the defaults.
   * @returns The TLS connection, with this one's timeout and idle timeout.
   * @throws {TlsError} If the handshake fails (this connection is closed).
   * @throws {TypeError} If bytes are buffered unread, a read is in flight,
   * the connection is TLS already or a Unix socket, or a server's
   * connection comes from `listen()` without `startTls`.
   *
   * @example STARTTLS as an SMTP client does it
   * ```ts ignore
   * import { connect } from "@sockit/sockit/tcp";
   *
   * const plain = await connect({ hostname: "mail.example", port: 587 });
   * await plain.readUntil("\r\n"); // 220 greeting
   * await plain.write("STARTTLS\r\n");
   * await plain.readUntil("\r\n"); // 220 go ahead
   * await using conn = await plain.startTls({ caCerts: [await Deno.readTextFile("ca.crt")] });
   * await conn.write("EHLO me\r\n");
   * ```
   */
  async startTls(
    options: TlsClientOptions | true = true,
  ): Promise<Connection<"tcp">> {
    const peer = this.#peer;
    if (tlsStateOf(this.#conn) !== undefined) {
      throw new TypeError(
        `Cannot start TLS with ${peer}: the connection is TLS already`,
      );
    }
    if (this.#conn.localAddr.transport !== "tcp") {
      throw new TypeError(`Cannot start TLS on ${peer}: TLS is TCP only`);
    }
    const server = serverSideOf(this);
    if (server === null) {
      throw new TypeError(
        `Cannot start TLS as the server of ${peer}: listen() was given no startTls option (the certificate and key)`,
      );
    }
    const tls = clientTls(options);
    this.#checkIdle(peer);
    await this.#whenWritten(); // what was written in plain text goes first
    this.#checkIdle(peer);
    // Hand the socket on: this Connection is done with it.
    const conn = this.#conn as Deno.TcpConn;
    this.#closed = true;
    this.#buffer = null;
    if (this.#idleWatch !== null) unwatchIdle(this.#idleWatch);
    // close() during the handshake (a server's shutdown, say) aborts it.
    const closing = new AbortController();
    upgrades.set(this, closing);
    let socket;
    try {
      socket = server === undefined
        ? await secureClient(
          conn,
          tls,
          connectedName(conn),
          peer,
          closing.signal, // tls.signal too, there
        )
        : await secureServer(
          conn,
          server,
          peer,
          tls.signal === undefined
            ? closing.signal
            : AbortSignal.any([closing.signal, tls.signal]),
        );
    } finally {
      upgrades.delete(this);
    }
    const idleTimeout = this.#idleWatch?.timeout;
    const upgraded = new Connection<"tcp">(
      socket,
      idleTimeout === undefined ? {} : { idleTimeout },
    );
    if (this.#timeout !== null) upgraded.setTimeout(this.#timeout);
    successors.set(this, upgraded);
    return upgraded;
  }

  /** Throws unless the socket is free for a TLS handshake. */
  #checkIdle(peer: string): void {
    const cannot = `Cannot start TLS with ${peer}`;
    if (this.#closed) {
      throw new Deno.errors.BadResource(`${cannot}: the connection is closed`);
    }
    if (this.#writeShut || this.#writing > 0) {
      throw new TypeError(
        `${cannot}: ${
          this.#writeShut
            ? "it is shut down for writing"
            : "a write is in progress"
        }`,
      );
    }
    if (this.#inRead || this.#waiter.waiting || this.#handedBack !== null) {
      throw new TypeError(
        `${cannot} as a read is in progress (or one that timed out is still in flight): the handshake needs the socket to itself`,
      );
    }
    if (
      this.#leftover !== null || this.#ready || this.#pendingError !== null
    ) {
      const what = this.#leftover !== null
        ? `${this.#leftover.length} bytes arrived that were not read yet`
        : "a read finished that was not taken yet";
      throw new TypeError(
        `${cannot} as ${what}: the peer spoke before the handshake (read them first)`,
      );
    }
    if (this.#eof || this.#readShut) {
      throw new TypeError(
        `${cannot}: ${
          this.#eof ? "the peer ended the stream" : "reading was shut down"
        }`,
      );
    }
  }

  /**
   * The incoming bytes as a `ReadableStream` (built on `read()`, so the
   * timeout applies). Cancelling it shuts down reading.
   */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.read();
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
      cancel: () => this.#stopReading(),
    }, { highWaterMark: 0 });
  }

  /**
   * The outgoing bytes as a `WritableStream` (built on `write()`). Closing it
   * shuts down writing (sends FIN) and keeps the connection open for
   * reading; aborting it closes the connection.
   */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.shutdown("write"),
      abort: () => this.close(),
    });
  }

  /**
   * Frames in and frames out through any codec from `framing/`.
   *
   * @param codec A codec such as `lines()` or `lengthPrefixed()`; the
   * connection decodes with its own `codec.clone()`, so one codec may serve
   * many connections.
   * @returns The framed view of this connection.
   *
   * @example Lines over loopback
   * ```ts
   * import { connect, listen } from "@sockit/sockit/tcp";
   * import { lines } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = listen({ port: 0 }, async (conn) => {
   *   const framed = conn.framed(lines());
   *   for await (const line of framed) await framed.send(line.toReversed());
   * });
   * await using conn = await connect(server.addr);
   * const framed = conn.framed(lines());
   * await framed.send("abc");
   * assertEquals(new TextDecoder().decode((await framed.receive())!), "cba");
   * ```
   */
  framed(codec: FrameCodec): FramedConnection {
    return new FramedConnection(this, codec);
  }

  /**
   * Closes the connection at once (idempotent). A pending read ends:
   * with `null` if `shutdown("read")` came first, else with an error.
   */
  close(): void {
    if (this.#closed) {
      // startTls() handed the socket on, or is handing it on.
      successors.get(this)?.close();
      const upgrade = upgrades.get(this);
      upgrade?.abort(
        new Deno.errors.BadResource(
          `Cannot start TLS with ${this.#peer}: the connection was closed`,
        ),
      );
      return;
    }
    this.#closed = true;
    this.#buffer = null;
    this.#leftover = null;
    if (this.#idleWatch !== null) unwatchIdle(this.#idleWatch);
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /** Waits for queued writes to finish, then closes (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) {
      const successor = successors.get(this); // startTls() handed it on
      if (successor !== undefined) return successor[Symbol.asyncDispose]();
    }
    await this.#whenWritten();
    this.close();
  }

  /** Closes at once (`using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Ends reading gracefully, as a server's graceful shutdown does: data that
   * has already arrived is still delivered, but a read that finds nothing
   * within 50 ms returns `null` (EOF) instead of waiting — so a handler
   * waiting for its client's next request finishes, while one in the middle
   * of a request gets the rest of it. (A `readInto()` that was already
   * waiting with no timeout reads straight into its buffer; if it ends this
   * way, its buffer may still receive the bytes that were on their way,
   * until the connection closes.)
   */
  stopReading(): void {
    if (this.#closed) {
      successors.get(this)?.stopReading(); // startTls() handed it on
      return;
    }
    if (this.#draining || this.#readShut) return;
    this.#draining = true;
    if (this.#waiter.waiting) {
      this.#waiter.setTimer(DRAIN_WAIT, () => this.#endRead());
    }
  }

  /** Ends reading at once: reads return `null`, buffered data is dropped. */
  #stopReading(): void {
    this.#readShut = true;
    this.#leftover = null;
    this.#endRead();
  }

  #tcp(what: string): Deno.TcpConn {
    if (this.#conn.localAddr.transport !== "tcp") {
      throw new TypeError(`Cannot ${what}() on a Unix socket: it is TCP only`);
    }
    return this.#conn as Deno.TcpConn;
  }

  #touch(): void {
    const watch = this.#idleWatch;
    if (watch !== null) watch.last = performance.now();
  }

  #idleError(): TimeoutError {
    const timeout = this.#idleWatch!.timeout;
    return new TimeoutError(
      `Cannot read from ${this.#peer}: the connection was idle for ${timeout} ms and is closed`,
      timeout,
    );
  }

  #closedError(): Error {
    if (this.#idleExpired) return this.#idleError();
    return new Deno.errors.BadResource(
      `Cannot read from ${this.#peer}: the connection is closed`,
    );
  }

  /**
   * Starts a socket read: straight into `into` (`direct`), or into our own
   * buffer, sized by `readInto()`'s buffer, by `read(maxBytes)`, or — for
   * `read()` — by the reads before it (see #resize).
   */
  #startRead(into: Uint8Array | null, max: number, direct: boolean): void {
    let target: Uint8Array;
    this.#direct = direct;
    if (direct) {
      target = into!;
      this.#adaptive = false;
    } else {
      const wanted = into !== null ? into.length : max;
      this.#adaptive = wanted === Infinity;
      const size = this.#adaptive
        ? this.#bufferSize
        : Math.min(wanted, MAX_READ_BUFFER);
      let buffer = this.#buffer;
      if (buffer === null || buffer.length !== size) {
        if (buffer !== null) release(buffer);
        buffer = this.#buffer = new Uint8Array(size);
      }
      target = buffer;
    }
    this.#target = target;
    this.#inRead = true;
    this.#conn.read(target).then(this.#onRead, this.#onReadError);
  }

  readonly #onRead = (n: number | null): void => {
    this.#inRead = false;
    this.#ready = true;
    this.#readN = n;
    if (this.#waiter.waiting) this.#waiter.settle(this.#consume, this);
    else if (this.#direct) {
      // Reading ended meanwhile (see stopReading): nobody takes these bytes.
      this.#ready = false;
      this.#direct = false;
      this.#target = null;
    }
  };

  readonly #onReadError = (error: unknown): void => {
    this.#inRead = false;
    this.#ready = true;
    this.#readN = null;
    this.#readFailed = true;
    this.#readError = error;
    if (this.#waiter.waiting) this.#waiter.settle(this.#consume, this);
  };

  /** Ends the waiting `read()` with EOF: reading was stopped on this side. */
  #endRead(): void {
    if (!this.#waiter.waiting) return;
    this.#readShut = true;
    this.#waiter.resolve(null);
  }

  /** Takes the finished socket read: the chunk, `null` at EOF, or its error. */
  #consume(): Uint8Array | number | null {
    this.#ready = false;
    const into = this.#into;
    this.#into = null;
    const target = this.#target!;
    const direct = this.#direct;
    this.#target = null;
    this.#direct = false;
    if (this.#readFailed) {
      const error = this.#readError;
      this.#readFailed = false;
      this.#readError = undefined;
      if (this.#readShut) return null;
      if (this.#idleExpired) throw this.#idleError();
      const tls = tlsStateOf(this.#conn);
      if (tls !== undefined) {
        const failure = tlsReadError(error, tls, this.#bytesReceived);
        if (failure === null) {
          // A TLS peer that closed without close_notify: EOF, as Python's
          // suppress_ragged_eofs (framing tells a message cut short).
          this.#eof = true;
          this.#buffer = null;
          return null;
        }
        if (failure !== undefined) throw failure;
      }
      throw wrapError(error, `read from ${this.#peer}`);
    }
    const n = this.#readN;
    if (n === null) {
      this.#eof = true;
      this.#buffer = null;
      return null;
    }
    if (this.#closed) {
      // The data arrived, but close() (or the idle timeout) ran before it
      // was taken and released the buffer: a closed connection.
      if (this.#readShut) return null;
      throw this.#closedError();
    }
    this.#bytesReceived += n;
    this.#touch();
    let result: Uint8Array | number;
    if (direct) {
      result = n; // already in the caller's buffer
    } else {
      result = into === null
        ? this.#take(target, n, this.#max)
        : this.#copyInto(target, into, n);
      if (this.#adaptive) this.#resize(n, target.length);
    }
    return this.#readShut ? null : result;
  }

  /**
   * Hands out the `n` bytes just read into `target` (at most `max`; the
   * rest stays for the next read): a small chunk is copied out (into a
   * shared block, see `_internal/slab.ts`) and the buffer is read into
   * again; a large one fills most of the buffer, so the buffer itself is
   * handed over.
   */
  #take(target: Uint8Array, n: number, max: number): Uint8Array {
    if (n > max) {
      this.#leftover = target.slice(max, n);
      return copyOut(target, max);
    }
    if (n > MAX_SHARED && n > target.length >> 1) {
      this.#buffer = null;
      return n === target.length ? target : target.subarray(0, n);
    }
    return copyOut(target, n);
  }

  /**
   * Copies the `n` bytes just read into `into` (`readInto()`); what does
   * not fit stays for the next read. The read buffer stays ours.
   */
  #copyInto(target: Uint8Array, into: Uint8Array, n: number): number {
    const count = Math.min(n, into.length);
    into.set(new Uint8Array(target.buffer, target.byteOffset, count));
    if (count < n) this.#leftover = target.slice(count, n);
    return count;
  }

  /**
   * Sizes the next `read()`'s buffer: 4× while reads fill it, back to 256
   * bytes when they use under a quarter of it (an idle connection parks a
   * small buffer).
   */
  #resize(n: number, size: number): void {
    if (n === size) {
      this.#bufferSize = Math.min(size * 4, MAX_READ_BUFFER);
    } else if (n < size >> 2) {
      this.#bufferSize = MIN_READ_BUFFER;
    }
    const buffer = this.#buffer;
    if (buffer !== null && buffer.length !== this.#bufferSize) {
      this.#buffer = null;
      release(buffer);
    }
  }
}

/**
 * Frees a read buffer of ours now (nobody else holds it, and no read is in
 * flight into it) rather than when the garbage collector gets to it: a
 * burst of new connections, each dropping its 2 KiB first-read buffer for a
 * 256-byte one, would otherwise raise the peak memory by the garbage.
 */
function release(buffer: Uint8Array): void {
  if (buffer.length > MAX_SHARED) (buffer.buffer as ArrayBuffer).transfer(0);
}

/** Python's shutdown numbers, as {@linkcode Connection.shutdown} reads them. */
const SHUTDOWN_MODES: Readonly<Record<number, "read" | "write" | "both">> = {
  [SHUT_RD]: "read",
  [SHUT_WR]: "write",
  [SHUT_RDWR]: "both",
};

function indexOf(
  haystack: Uint8Array,
  needle: Uint8Array,
  from: number,
): number {
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last;) {
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}
