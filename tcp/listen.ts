/**
 * {@linkcode listen}: a TCP or Unix stream server that runs a handler for
 * each client — Python's `bind`/`listen`/`accept` loop, with idle timeouts,
 * a connection limit and graceful shutdown.
 *
 * @module
 */
import { type Address, formatAddress, type SocketAddress } from "../net/mod.ts";
import {
  checkAddress,
  DEFAULT_HOSTNAME,
  toSocketAddress,
} from "../_internal/address.ts";
import { Connection } from "./connection.ts";
import { after } from "../_internal/timer.ts";

/** Runs for each accepted connection; the connection closes when it returns. */
export type ConnectionHandler = (conn: Connection) => void | Promise<void>;

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  /**
   * Close a connection when nothing is read or written for this many
   * milliseconds; the handler's pending (or next) read raises
   * `TimeoutError`. Python's `conn.settimeout()` in a server loop.
   */
  idleTimeout?: number;
  /**
   * The most connections served at once; clients over it are closed at
   * once and counted in `rejectedConnections`.
   */
  maxConnections?: number;
  /** Shuts the server down gracefully when aborted. */
  signal?: AbortSignal;
  /**
   * Called when a handler throws or accepting fails; the server keeps
   * serving. By default the error is logged to stderr.
   */
  onError?: (error: unknown, conn: Connection | undefined) => void;
  /**
   * Unix sockets: if the socket file exists but no server answers on it
   * (left by a crashed server), remove it and listen. Without this, a stale
   * file is an error.
   *
   * @default {false}
   */
  replaceStaleSocket?: boolean;
  /**
   * Grace period for a shutdown started by `signal`, in milliseconds.
   *
   * @default {5000}
   */
  gracePeriod?: number;
  /**
   * TCP: send small writes at once (`TCP_NODELAY` on each accepted
   * connection), as Go does by default. With Nagle's algorithm on (`false`)
   * a reply written in pieces can wait for the peer's delayed ACK, up to
   * 40 ms on Linux, whenever the client is not sending.
   *
   * @default {true}
   */
  noDelay?: boolean;
}

/** Options for {@linkcode Server.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long handlers may take to finish before their connections are
   * closed, in milliseconds.
   *
   * @default {5000}
   */
  gracePeriod?: number;
}

const DEFAULT_GRACE_PERIOD = 5000;

function defaultOnError(error: unknown, conn: Connection | undefined): void {
  const who = conn ? ` (${formatAddress(conn.remoteAddr)})` : "";
  const what = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  console.error(`sockit: server error${who}: ${what}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function openUnixListener(
  path: string,
  replaceStale: boolean,
): Promise<Deno.Listener> {
  try {
    return Deno.listen({ transport: "unix", path });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      const dir = path.slice(0, Math.max(path.lastIndexOf("/"), 1));
      throw new Deno.errors.NotFound(
        `Cannot listen on unix:${path}: the directory ${dir} does not exist`,
        { cause: error },
      );
    }
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    const info = await Deno.lstat(path).catch(() => undefined);
    if (info !== undefined && !info.isSocket) {
      throw new Deno.errors.AddrInUse(
        `Cannot listen on unix:${path}: a file that is not a socket is in the way (it is never removed for you)`,
        { cause: error },
      );
    }
    // Someone listening, or a stale file from a server that died?
    let alive = false;
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      alive = true;
    } catch {
      alive = false;
    }
    if (alive) {
      throw new Deno.errors.AddrInUse(
        `Cannot listen on unix:${path}: another server is listening there`,
        { cause: error },
      );
    }
    if (!replaceStale) {
      throw new Deno.errors.AddrInUse(
        `Cannot listen on unix:${path}: the file exists but no server answers (stale from a crashed server?); remove it or pass replaceStaleSocket`,
        { cause: error },
      );
    }
    await Deno.remove(path);
    return Deno.listen({ transport: "unix", path });
  }
}

/**
 * A running server: returned by {@linkcode listen}.
 *
 * @example Count connections and shut down
 * ```ts
 * import { connect, listen } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const server = listen({ port: 0 }, (conn) => conn.write("bye"));
 * const conn = await connect(server.addr);
 * assertEquals(new TextDecoder().decode((await conn.read())!), "bye");
 * conn.close();
 * await server.shutdown();
 * assertEquals(server.acceptedConnections, 1);
 * ```
 */
export class Server implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #handler: ConnectionHandler;
  readonly #options: ListenOptions;
  readonly #onError: (error: unknown, conn: Connection | undefined) => void;
  readonly #live = new Map<Connection, Promise<void>>();
  /** Connections closed by shutdown() after the grace period. */
  readonly #cutOff = new WeakSet<Connection>();
  readonly #unixPath: string | undefined;
  readonly #noDelay: boolean;
  #stopping: Promise<void> | undefined;
  #accepted = 0;
  #rejected = 0;
  readonly #loop: Promise<void>;
  /** The address the server listens on (with the real port for port 0). */
  readonly addr: SocketAddress;

  /**
   * Use {@linkcode listen} (or {@linkcode listenUnix}) instead.
   *
   * @param listener A listening Deno socket.
   * @param handler Runs for each connection.
   * @param options Server options.
   */
  constructor(
    listener: Deno.Listener,
    handler: ConnectionHandler,
    options: ListenOptions = {},
  ) {
    this.#listener = listener;
    this.#handler = handler;
    this.#options = options;
    this.#onError = options.onError ?? defaultOnError;
    this.#noDelay = options.noDelay ?? true;
    this.addr = toSocketAddress(listener.addr);
    this.#unixPath = "path" in this.addr ? this.addr.path : undefined;
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = () => {
        this.shutdown(
          options.gracePeriod === undefined
            ? {}
            : { gracePeriod: options.gracePeriod },
        ).catch(() => {});
      };
      if (signal.aborted) queueMicrotask(onAbort);
      else signal.addEventListener("abort", onAbort, { once: true });
      this.#loop = this.#acceptLoop().finally(() =>
        signal.removeEventListener("abort", onAbort)
      );
    } else {
      this.#loop = this.#acceptLoop();
    }
  }

  /** Connections being served right now. */
  get connections(): number {
    return this.#live.size;
  }

  /** Connections accepted so far (rejected ones not counted). */
  get acceptedConnections(): number {
    return this.#accepted;
  }

  /** Connections closed at once because `maxConnections` was reached. */
  get rejectedConnections(): number {
    return this.#rejected;
  }

  /** Settles when the server has stopped and every handler has finished. */
  get finished(): Promise<void> {
    return this.#loop.then(() => this.#stopping);
  }

  /**
   * Shuts down gracefully: stops accepting at once, ends reading on every
   * connection with `stopReading()` (data already received is delivered; a
   * handler waiting for a new request reads EOF), lets handlers finish what
   * they are doing for up to `gracePeriod`, then closes what is left.
   * Removes a Unix socket file it created. Idempotent.
   *
   * @param options The grace period.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    const gracePeriod = options.gracePeriod ?? DEFAULT_GRACE_PERIOD;
    if (!(gracePeriod >= 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot shut down with a grace period of ${gracePeriod}: give milliseconds (>= 0)`,
        ),
      );
    }
    return this.#stopping ??= this.#stop(gracePeriod);
  }

  /** Shuts down with the default grace period (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #stop(gracePeriod: number): Promise<void> {
    try {
      this.#listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    await this.#loop;
    for (const conn of this.#live.keys()) conn.stopReading();
    const handlers = Promise.all(this.#live.values());
    let cancelTimer = () => {};
    const grace = new Promise<void>((resolve) => {
      cancelTimer = after(gracePeriod, resolve);
    });
    await Promise.race([handlers, grace]);
    cancelTimer();
    for (const conn of this.#live.keys()) {
      this.#cutOff.add(conn);
      conn.close();
    }
    await handlers;
    if (this.#unixPath !== undefined) {
      await Deno.remove(this.#unixPath).catch(() => {});
    }
  }

  async #acceptLoop(): Promise<void> {
    let backoff = 5;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
        backoff = 5;
      } catch (error) {
        if (
          this.#stopping !== undefined ||
          error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted
        ) {
          return; // the listener was closed
        }
        // A client that reset before we accepted it: nothing to serve.
        if (
          error instanceof Deno.errors.NotConnected ||
          error instanceof Deno.errors.ConnectionAborted ||
          error instanceof Deno.errors.ConnectionReset
        ) {
          continue;
        }
        // EMFILE and friends: report, back off, keep serving.
        this.#onError(error, undefined);
        await delay(backoff);
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      const max = this.#options.maxConnections;
      if (max !== undefined && this.#live.size >= max) {
        this.#rejected++;
        try {
          conn.close();
        } catch { /* already gone */ }
        continue;
      }
      this.#accepted++;
      if (this.#noDelay && conn.localAddr.transport === "tcp") {
        (conn as Deno.TcpConn).setNoDelay(true);
      }
      const connection = new Connection(
        conn,
        this.#options.idleTimeout === undefined
          ? {}
          : { idleTimeout: this.#options.idleTimeout },
      );
      this.#live.set(connection, this.#serve(connection));
    }
  }

  async #serve(conn: Connection): Promise<void> {
    try {
      await this.#handler(conn);
    } catch (error) {
      // A handler cut off by shutdown() fails because we closed its
      // connection: that is the shutdown working, not an error to report.
      if (!this.#cutOff.has(conn) && !(conn.closed && isClosedError(error))) {
        this.#onError(error, conn);
      }
    } finally {
      try {
        await conn[Symbol.asyncDispose]();
      } catch {
        conn.close();
      }
      this.#live.delete(conn);
    }
  }
}

function isClosedError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}

/**
 * Listens on a TCP address (`{ hostname, port }`; `hostname` defaults to
 * `127.0.0.1`, port 0 picks a free port) or a Unix socket (`{ path }`) and
 * runs `handler` for each client, many at once. A handler that throws fails
 * only its own connection: the error goes to `onError` and the server keeps
 * serving.
 *
 * For a Unix socket use {@linkcode listenUnix}, which is async because it
 * checks for a stale socket file; `listen` with `{ path }` does the same
 * checks only when the path is free.
 *
 * @param address Where to listen.
 * @param handler Runs for each connection.
 * @param options Timeouts, limits, signal, error reporting.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} If the address is taken (the message names
 * it).
 *
 * @example An echo server
 * ```ts
 * import { connect, listen } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   for (let data; (data = await conn.read()) !== null;) await conn.write(data);
 * });
 * await using conn = await connect(server.addr);
 * await conn.write("ping");
 * assertEquals(new TextDecoder().decode(await conn.readExactly(4)), "ping");
 * ```
 */
export function listen(
  address: Address,
  handler: ConnectionHandler,
  options: ListenOptions = {},
): Server {
  checkAddress(address, "listen on");
  checkOptions(options);
  let listener: Deno.Listener;
  try {
    listener = "path" in address
      ? Deno.listen({ transport: "unix", path: address.path })
      : Deno.listen({
        hostname: address.hostname ?? DEFAULT_HOSTNAME,
        port: address.port,
      });
  } catch (error) {
    throw renameListenError(error, address);
  }
  return new Server(listener, handler, options);
}

/**
 * {@linkcode listen} for a Unix socket, with clear errors for a path in use,
 * a stale socket file (or its removal with `replaceStaleSocket`) and a
 * missing directory.
 *
 * @param address The socket file's path.
 * @param handler Runs for each connection.
 * @param options As for {@linkcode listen}.
 * @returns The running server; its shutdown removes the socket file.
 * @throws {Deno.errors.AddrInUse} If a server listens there, or the file is
 * stale and `replaceStaleSocket` is not set.
 * @throws {Deno.errors.NotFound} If the directory does not exist.
 *
 * @example A Unix echo server
 * ```ts
 * import { connect, listenUnix } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const path = `${await Deno.makeTempDir()}/echo.sock`;
 * await using server = await listenUnix({ path }, async (conn) => {
 *   const data = await conn.read();
 *   if (data) await conn.write(data);
 * });
 * await using conn = await connect({ path });
 * await conn.write("hi");
 * assertEquals(new TextDecoder().decode(await conn.readExactly(2)), "hi");
 * ```
 */
export async function listenUnix(
  address: { path: string },
  handler: ConnectionHandler,
  options: ListenOptions = {},
): Promise<Server> {
  checkAddress(address, "listen on");
  checkOptions(options);
  const listener = await openUnixListener(
    address.path,
    options.replaceStaleSocket ?? false,
  );
  return new Server(listener, handler, options);
}

function checkOptions(options: ListenOptions): void {
  const { idleTimeout, maxConnections } = options;
  if (idleTimeout !== undefined && !(idleTimeout > 0)) {
    throw new RangeError(
      `Cannot use idleTimeout ${idleTimeout}: give milliseconds (> 0)`,
    );
  }
  if (
    maxConnections !== undefined &&
    (!Number.isInteger(maxConnections) || maxConnections < 1)
  ) {
    throw new RangeError(
      `Cannot use maxConnections ${maxConnections}: give an integer >= 1`,
    );
  }
}

function renameListenError(error: unknown, address: Address): unknown {
  if (error instanceof Deno.errors.AddrInUse) {
    return new Deno.errors.AddrInUse(
      `Cannot listen on ${formatAddress(address)}: the address is in use`,
      { cause: error },
    );
  }
  if (error instanceof Error) {
    const Class = error.constructor as new (
      message: string,
      options?: ErrorOptions,
    ) => Error;
    try {
      return new Class(
        `Cannot listen on ${formatAddress(address)}: ${error.message}`,
        { cause: error },
      );
    } catch {
      return error;
    }
  }
  return error;
}
