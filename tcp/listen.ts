/**
 * {@linkcode listen}: a TCP or Unix stream server that runs a handler for
 * each client — Python's `bind`/`listen`/`accept` loop, with idle timeouts,
 * a connection limit and graceful shutdown.
 *
 * @module
 */
import {
  type Address,
  formatAddress,
  type ShutdownOptions,
  type SocketAddress,
  type TcpAddress,
  type UnixAddress,
} from "../net/mod.ts";
import {
  checkAddress,
  DEFAULT_HOSTNAME,
  toSocketAddress,
} from "../_internal/address.ts";
import { wrapError } from "../_internal/errors.ts";
import { delay } from "../_internal/std.ts";
import { Connection } from "./connection.ts";
import { after } from "../_internal/timer.ts";
import {
  listenTlsOptions,
  markServerSide,
  secureServer,
  type ServerTls,
  serverTls,
} from "./_tls.ts";
import type { TlsServerOptions } from "./tls.ts";
import {
  proxyStateOf,
  readProxyHeader,
  type ServerProxy,
  serverProxy,
  setProxyState,
} from "./_proxy.ts";

/**
 * Runs for each accepted connection; the connection closes when it returns
 * (or its promise settles).
 *
 * @typeParam T The transport: `"tcp"` or `"unix"`.
 */
export type ConnectionHandler<T extends "tcp" | "unix" = "tcp" | "unix"> = (
  conn: Connection<T>,
) => void | Promise<void>;

/**
 * The PROXY protocol on a server (`listen()`'s `proxyProtocol`): behind a
 * load balancer such as HAProxy (`send-proxy`, `send-proxy-v2`), nginx
 * (`proxy_protocol on`) or a cloud network load balancer, each connection
 * starts with a header naming the real client, which becomes
 * `conn.remoteAddr`; the balancer's own address stays readable as
 * `conn.proxyAddr`, the whole header as `conn.proxyHeader`.
 */
export interface ProxyProtocolOptions {
  /**
   * The proxies trusted to send a header: IP addresses and `ADDR/BITS`
   * blocks (`"10.0.0.0/8"`, `"::1"`), as an array or one comma-separated
   * string. Required, and never guessed: a header from any other address
   * is refused, as the PROXY spec demands.
   */
  from: string | readonly string[];
  /**
   * `true`: every connection must start with a header, so every client
   * must come through a trusted proxy (HAProxy's `accept-proxy`); a
   * connection from elsewhere is refused. `false`: a header is read when
   * the connection starts with one, from a trusted proxy; other clients
   * connect directly. In that mode a connection waits for its first bytes
   * (at most `headerTimeout`) before its handler runs, so it suits
   * protocols where the client speaks first.
   *
   * @default {true}
   */
  required?: boolean;
  /**
   * Which header versions to accept: `"v1"` (text), `"v2"` (binary) or
   * `"any"`.
   *
   * @default {"any"}
   */
  version?: "v1" | "v2" | "any";
  /**
   * The longest wait for a complete header, in milliseconds, from accept:
   * a connection that sends none in time is closed (with `required:
   * false`, one that has sent nothing at all is served without a header).
   *
   * @default {5000}
   */
  headerTimeout?: number;
}

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
  /**
   * Called with the address of each client closed at once because
   * `maxConnections` was reached (nothing was read from it: behind a
   * PROXY protocol balancer, the balancer's address), so that a server can
   * log whom it turned away.
   *
   * @default {none}
   */
  onRejected?: (remoteAddr: SocketAddress) => void;
  /** Shuts the server down gracefully when aborted. */
  signal?: AbortSignal;
  /**
   * Called when a handler throws, accepting fails or a client's TLS
   * handshake fails (a `TlsError`, whose `peer` names the client; there is
   * no connection yet); the server keeps serving. By default the error is
   * logged to stderr.
   */
  onError?: (error: unknown, conn: Connection | undefined) => void;
  /**
   * Unix sockets: if a socket file is in the way — left by a server that
   * crashed — remove it and listen, as a Python server does with
   * `os.unlink(path)` before `bind()`. Without this, the file is an error.
   * A file that is not a socket is never removed.
   *
   * Use it for a path that is this server's alone: `listen()` is
   * synchronous and Deno has no synchronous connect, so it cannot ask the
   * socket whether a server still listens there. It refuses when Linux's
   * `/proc/net/unix` shows one listening, which Deno lets it read only
   * under `--allow-all`.
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
   * Over TLS too, unless `engine: "deno"`: `Deno.listenTls` offers no way
   * to set it (see `docs/tls.md`).
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * Serve TLS: every client's handshake runs (within its
   * `handshakeTimeout`) before the handler gets the connection; a failed
   * one goes to `onError` as a `TlsError` and the server keeps serving.
   * TCP only.
   */
  tls?: TlsServerOptions;
  /**
   * Serve STARTTLS: connections start in plain text, and the handler
   * upgrades one with `conn.startTls()` (the server side of the handshake,
   * with these options) when the protocol says so. TCP only.
   */
  startTls?: TlsServerOptions;
  /**
   * Read a PROXY protocol header (v1 or v2) at the start of each
   * connection, from trusted proxies only, before the handler runs (and
   * before the TLS handshake: the balancer passes TLS through). See
   * {@linkcode ProxyProtocolOptions}. A refused connection goes to
   * `onError` as a `ProxyProtocolError`; a connection that closes before
   * sending a byte (a balancer's TCP health check) is dropped quietly. TCP
   * only; over TLS, not with `engine: "deno"`.
   */
  proxyProtocol?: ProxyProtocolOptions;
  /**
   * Linux: listen with `SO_REUSEPORT`, so that several processes (or
   * workers) can listen on the same address and port and the kernel
   * spreads new connections among them, by a hash of the client's and the
   * server's addresses and ports (not round-robin). Every listener on the
   * port must set it. Deno 2.9 allows it only with `--unstable-net` (or
   * `"unstable": ["net"]` in `deno.json`); without it `listen()` throws a
   * `TypeError` naming the flag. TCP only.
   *
   * @default {false}
   */
  reusePort?: boolean;
}

/** TLS of the listeners that `listen()` opened with `tls` or `startTls`. */
const listenerTls = new WeakMap<
  Deno.Listener,
  { tls: ServerTls | null; startTls: ServerTls | null }
>();

/** The PROXY protocol settings of the listeners `listen()` opened. */
const listenerProxy = new WeakMap<Deno.Listener, ServerProxy>();

const DEFAULT_GRACE_PERIOD = 5000;

function defaultOnError(error: unknown, conn: Connection | undefined): void {
  const who = conn ? ` (${formatAddress(conn.remoteAddr)})` : "";
  const what = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  console.error(`sockit: server error${who}: ${what}`);
}

/** Opens a Unix socket listener, with clear errors for a path in use. */
function openUnixListener(path: string, replaceStale: boolean): Deno.Listener {
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
    if (!(error instanceof Deno.errors.AddrInUse)) {
      throw wrapError(error, `listen on unix:${path}`);
    }
    let isSocket = true;
    try {
      isSocket = Deno.lstatSync(path).isSocket ?? true;
    } catch { /* gone meanwhile, or not ours to look at: bind decides */ }
    if (!isSocket) {
      throw new Deno.errors.AddrInUse(
        `Cannot listen on unix:${path}: a file that is not a socket is in the way (it is never removed for you)`,
        { cause: error },
      );
    }
    if (unixSocketListening(path)) {
      throw new Deno.errors.AddrInUse(
        `Cannot listen on unix:${path}: another server is listening there`,
        { cause: error },
      );
    }
    if (!replaceStale) {
      throw new Deno.errors.AddrInUse(
        `Cannot listen on unix:${path}: the socket file exists (a server listens there, or it is left over from one that crashed); remove it, or pass replaceStaleSocket if the path is this server's alone`,
        { cause: error },
      );
    }
    Deno.removeSync(path);
    return Deno.listen({ transport: "unix", path });
  }
}

const PROC_NET_UNIX = "/proc/net/unix";
/** `__SO_ACCEPTCON` in `/proc/net/unix`'s flags: a listening socket. */
const SO_ACCEPTCON = 0x10000;

/**
 * Whether Linux's `/proc/net/unix` shows a server listening on `path`:
 * `false` when it does not, or when it cannot be read — Deno lets a
 * program read it only with `--allow-all`, and there is no synchronous
 * connect to ask the socket itself. A listening socket bound by a relative
 * path with the same file name counts: better to refuse than to take a
 * live server's path.
 */
function unixSocketListening(path: string): boolean {
  if (Deno.build.os !== "linux") return false;
  let table: string;
  try {
    // Ask first: reading without the permission could prompt.
    const read = Deno.permissions.querySync({ name: "read" });
    if (read.state !== "granted") return false;
    table = Deno.readTextFileSync(PROC_NET_UNIX);
  } catch {
    return false;
  }
  const name = path.slice(path.lastIndexOf("/") + 1);
  let absolute = path;
  if (!path.startsWith("/")) {
    try {
      absolute = `${Deno.cwd()}/${path}`;
    } catch { /* no read access to the working directory */ }
  }
  for (const line of table.split("\n").slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const fields = line.trim().split(/\s+/);
    const bound = fields.slice(7).join(" ");
    if (bound === "" || (parseInt(fields[3]!, 16) & SO_ACCEPTCON) === 0) {
      continue;
    }
    if (bound === path || bound === absolute) return true;
    const relative = !bound.startsWith("/") && !bound.startsWith("@");
    if (relative && (bound === name || bound.endsWith(`/${name}`))) {
      return true;
    }
  }
  return false;
}

/**
 * A running server: returned by {@linkcode listen}.
 *
 * @typeParam T The transport, `"tcp"` or `"unix"`, which types
 * {@linkcode Server.addr} and the connections.
 *
 * @example Count connections and shut down
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
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
export class Server<T extends "tcp" | "unix" = "tcp" | "unix">
  implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #handler: ConnectionHandler;
  readonly #options: ListenOptions;
  readonly #onError: (error: unknown, conn: Connection | undefined) => void;
  readonly #live = new Map<Connection, Promise<void>>();
  /** Connections closed by shutdown() after the grace period. */
  readonly #cutOff = new WeakSet<Connection>();
  readonly #unixPath: string | undefined;
  readonly #noDelay: boolean;
  /** The handshake each client runs before its handler, for `tls`. */
  readonly #tls: ServerTls | null;
  /** What `conn.startTls()` upgrades with, for `startTls`. */
  readonly #startTls: ServerTls | null;
  /** How connections' PROXY headers are read, for `proxyProtocol`. */
  readonly #proxy: ServerProxy | null;
  /** Handshakes running: they count against `maxConnections`. */
  readonly #handshakes = new Map<Deno.Conn, Promise<void>>();
  /** Ends the running handshakes at shutdown. */
  readonly #stopHandshakes = new AbortController();
  #stopping: Promise<void> | undefined;
  #accepted = 0;
  #rejected = 0;
  readonly #loop: Promise<void>;
  /** The address the server listens on (with the real port for port 0). */
  readonly addr: SocketAddress<T>;

  /**
   * Serves `listener`. Use {@linkcode listen} instead, unless the listener
   * comes from elsewhere (`Deno.listenTls()`, say).
   *
   * @param listener A listening Deno socket (TCP or Unix).
   * @param handler Runs for each connection.
   * @param options Server options (`replaceStaleSocket`, `tls` and
   * `startTls` are `listen()`'s).
   */
  constructor(
    listener: Deno.Listener,
    handler: ConnectionHandler<T>,
    options: ListenOptions = {},
  ) {
    this.#listener = listener;
    this.#handler = handler as ConnectionHandler;
    this.#options = options;
    this.#onError = options.onError ?? defaultOnError;
    this.#noDelay = options.noDelay ?? true;
    const tls = listenerTls.get(listener);
    this.#tls = tls?.tls ?? null;
    this.#startTls = tls?.startTls ?? null;
    this.#proxy = listenerProxy.get(listener) ?? null;
    const addr = toSocketAddress(listener.addr);
    this.addr = addr as SocketAddress<T>;
    this.#unixPath = "path" in addr ? addr.path : undefined;
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

  /**
   * Connections being served right now (over TLS, with those still in
   * their handshake).
   */
  get connections(): number {
    return this.#live.size + this.#handshakes.size;
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
    // Clients still in their TLS handshake (or waiting for their PROXY
    // header) have sent no request: drop them.
    this.#stopHandshakes.abort();
    if (this.#proxy !== null) {
      for (const conn of this.#handshakes.keys()) {
        try {
          conn.close();
        } catch { /* closed by its handshake already */ }
      }
    }
    await Promise.all(this.#handshakes.values());
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
      if (max !== undefined && this.connections >= max) {
        this.#rejected++;
        try {
          conn.close();
        } catch { /* already gone */ }
        try {
          this.#options.onRejected?.(toSocketAddress(conn.remoteAddr));
        } catch (error) {
          this.#onError(error, undefined);
        }
        continue;
      }
      this.#accepted++;
      if (
        this.#noDelay && conn.localAddr.transport === "tcp" &&
        typeof (conn as Deno.TcpConn).setNoDelay === "function" // not TLS's
      ) {
        (conn as Deno.TcpConn).setNoDelay(true);
      }
      if (this.#proxy !== null) {
        this.#handshakes.set(conn, this.#admit(conn, this.#proxy));
        continue;
      }
      if (this.#tls !== null) {
        this.#handshakes.set(conn, this.#secure(conn, this.#tls, conn));
        continue;
      }
      this.#start(conn);
    }
  }

  /** Serves a plain (or not yet upgraded) connection: runs its handler. */
  #start(socket: ConstructorParameters<typeof Connection>[0]): void {
    const connection = new Connection(
      socket,
      this.#options.idleTimeout === undefined
        ? {}
        : { idleTimeout: this.#options.idleTimeout },
    );
    markServerSide(connection, this.#startTls);
    this.#live.set(connection, this.#serve(connection));
  }

  /** Reads a client's PROXY header, then serves it (TLS first, if any). */
  async #admit(conn: Deno.Conn, proxy: ServerProxy): Promise<void> {
    let socket: Deno.Conn | null;
    try {
      socket = await readProxyHeader(conn as Deno.TcpConn, proxy);
    } catch (error) {
      this.#handshakes.delete(conn);
      if (this.#stopping === undefined) this.#onError(error, undefined);
      return;
    }
    if (socket === null) {
      this.#handshakes.delete(conn); // a health check: connected, closed
      return;
    }
    if (this.#tls !== null) {
      await this.#secure(socket, this.#tls, conn);
      return;
    }
    this.#handshakes.delete(conn);
    if (this.#stopping !== undefined) {
      socket.close(); // shutdown began as the header arrived
      return;
    }
    this.#start(socket);
  }

  /**
   * Runs a client's TLS handshake on `conn`, then its handler; `key` is
   * the accepted socket its slot in `#handshakes` is under.
   */
  async #secure(
    conn: Deno.Conn,
    tls: ServerTls,
    key: Deno.Conn,
  ): Promise<void> {
    let socket;
    try {
      socket = await secureServer(
        conn,
        tls,
        formatAddress(toSocketAddress(conn.remoteAddr)),
        this.#stopHandshakes.signal,
      );
    } catch (error) {
      if (this.#stopping === undefined) this.#onError(error, undefined);
      return;
    } finally {
      this.#handshakes.delete(key);
    }
    const proxied = proxyStateOf(conn);
    if (proxied !== undefined) setProxyState(socket, proxied);
    if (this.#stopping !== undefined) {
      socket.close(); // shutdown began as the handshake ended
      return;
    }
    this.#start(socket);
  }

  /**
   * Runs the handler, reports what it throws and closes the connection
   * after it. Chained rather than an async function: an idle client then
   * holds no suspended frame of ours beside its handler's.
   */
  #serve(conn: Connection): Promise<void> {
    let running: Promise<void>;
    try {
      running = Promise.resolve(this.#handler(conn));
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      () => this.#finish(conn),
      (error) => this.#failed(conn, error),
    );
  }

  /** A handler threw: report it (unless shutdown caused it), then finish. */
  #failed(conn: Connection, error: unknown): Promise<void> {
    // A handler cut off by shutdown() fails because we closed its
    // connection: that is the shutdown working, not an error to report.
    if (!this.#cutOff.has(conn) && !(conn.closed && isClosedError(error))) {
      try {
        this.#onError(error, conn);
      } catch (thrown) {
        // As from an async function: finish, then reject with it.
        return this.#finish(conn).then(() => Promise.reject(thrown));
      }
    }
    return this.#finish(conn);
  }

  /** Closes a served connection once its writes are done; forgets it. */
  async #finish(conn: Connection): Promise<void> {
    try {
      await conn[Symbol.asyncDispose]();
    } catch {
      conn.close();
    }
    this.#live.delete(conn);
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
 * For a Unix socket it gives clear errors for a path in use, a stale socket
 * file (or removes it, with `replaceStaleSocket`) and a missing directory;
 * the server's shutdown removes the socket file.
 *
 * With `tls`, every client's TLS handshake runs before its handler (a
 * client that fails it, or stays silent past `handshakeTimeout`, never
 * reaches the handler: `onError` gets the `TlsError`); with `startTls`, the
 * handler upgrades when its protocol says so, with `conn.startTls()`. The
 * certificate and key are read and checked here, at start-up.
 *
 * @param address Where to listen.
 * @param handler Runs for each connection.
 * @param options Timeouts, limits, signal, error reporting, TLS.
 * @returns The running server; its `addr` is typed by the address given
 * (`server.addr.port` for TCP, `server.addr.path` for Unix).
 * @throws {Deno.errors.AddrInUse} If the address is taken (the message names
 * it), or a Unix socket file is in the way.
 * @throws {Deno.errors.NotFound} If a Unix socket's directory does not
 * exist.
 * @throws {TlsError} Of kind `"config"`, naming the file, if a certificate
 * or key file is missing or unusable, or the key does not match the
 * certificate.
 *
 * @example An echo server
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   for await (const chunk of conn) await conn.write(chunk);
 * });
 * console.log(`listening on port ${server.addr.port}`);
 * await using conn = await connect(server.addr);
 * await conn.write("ping");
 * assertEquals(new TextDecoder().decode(await conn.readExactly(4)), "ping");
 * ```
 *
 * @example TLS: a missing certificate file stops the start
 * ```ts
 * import { listen, TlsError } from "@sockit/sockit/tcp";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const error = assertThrows(
 *   () =>
 *     listen({ port: 0 }, () => {}, {
 *       tls: { certFile: "no-such.crt", keyFile: "no-such.key" },
 *     }),
 *   TlsError,
 * );
 * assertEquals([error.kind, error.file], ["config", "no-such.crt"]);
 * ```
 *
 * @example A Unix echo server
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * const path = `${await Deno.makeTempDir()}/echo.sock`;
 * await using server = listen({ path }, async (conn) => {
 *   const data = await conn.read();
 *   if (data) await conn.write(data);
 * }, { replaceStaleSocket: true });
 * assertEquals(server.addr.path, path);
 * await using conn = await connect({ path });
 * await conn.write("hi");
 * assertEquals(new TextDecoder().decode(await conn.readExactly(2)), "hi");
 * ```
 */
export function listen(
  address: TcpAddress,
  handler: ConnectionHandler<"tcp">,
  options?: ListenOptions,
): Server<"tcp">;
/**
 * Listens on a Unix socket (`{ path }`).
 *
 * @param address The socket file's path.
 * @param handler Runs for each connection.
 * @param options As for a TCP address (`noDelay` does nothing).
 * @returns The running server.
 */
export function listen(
  address: UnixAddress,
  handler: ConnectionHandler<"unix">,
  options?: ListenOptions,
): Server<"unix">;
/**
 * Listens on a TCP or a Unix address.
 *
 * @param address Where to listen.
 * @param handler Runs for each connection.
 * @param options As above.
 * @returns The running server.
 */
export function listen(
  address: Address,
  handler: ConnectionHandler,
  options?: ListenOptions,
): Server;
export function listen(
  address: Address,
  handler: ConnectionHandler<"tcp"> | ConnectionHandler<"unix">,
  options: ListenOptions = {},
): Server {
  checkAddress(address, "listen on");
  checkOptions(options);
  const where = formatAddress(address);
  if (options.tls !== undefined || options.startTls !== undefined) {
    if ("path" in address) {
      throw new TypeError(
        `Cannot listen on ${where} with TLS: TLS is TCP only`,
      );
    }
    if (options.tls !== undefined && options.startTls !== undefined) {
      throw new TypeError(
        `Cannot listen on ${where} with both tls and startTls: give one`,
      );
    }
  }
  if ("path" in address) {
    if (options.proxyProtocol !== undefined) {
      throw new TypeError(
        `Cannot listen on ${where} with proxyProtocol: the PROXY protocol is TCP only`,
      );
    }
    if (options.reusePort) {
      throw new TypeError(
        `Cannot listen on ${where} with reusePort: SO_REUSEPORT is TCP only`,
      );
    }
  }
  if (options.reusePort) checkReusePort(where);
  const proxy = options.proxyProtocol === undefined
    ? null
    : serverProxy(options.proxyProtocol, where);
  const tls = options.tls === undefined ? null : serverTls(options.tls, where);
  if (proxy !== null && tls?.engine === "deno") {
    throw new TypeError(
      `Cannot listen on ${where} with proxyProtocol and tls.engine "deno": Deno.listenTls starts the handshake before the header can be read; use the default engine ("node")`,
    );
  }
  const startTls = options.startTls === undefined
    ? null
    : serverTls(options.startTls, where, true);
  let listener: Deno.Listener;
  if ("path" in address) {
    listener = openUnixListener(
      address.path,
      options.replaceStaleSocket ?? false,
    );
  } else {
    const hostname = address.hostname ?? DEFAULT_HOSTNAME;
    try {
      listener = tls?.engine === "deno"
        ? Deno.listenTls(listenTlsOptions(tls, hostname, address.port))
        : Deno.listen({
          hostname,
          port: address.port,
          ...(options.reusePort ? { reusePort: true } : {}),
        });
    } catch (error) {
      throw renameListenError(error, address);
    }
    if (tls !== null || startTls !== null) {
      listenerTls.set(listener, { tls, startTls });
    }
    if (proxy !== null) listenerProxy.set(listener, proxy);
  }
  return new Server(listener, handler as ConnectionHandler, options);
}

/**
 * `SO_REUSEPORT` needs Linux and, in Deno 2.9, `--unstable-net`: without
 * the flag, `Deno.listen({ reusePort })` ends the process. The flag shows
 * as `Deno.listenDatagram`, which only it provides.
 */
function checkReusePort(where: string): void {
  if (Deno.build.os !== "linux") {
    throw new TypeError(
      `Cannot listen on ${where} with reusePort: it needs Linux (SO_REUSEPORT spreads connections there only), not ${Deno.build.os}`,
    );
  }
  if (
    typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function"
  ) {
    throw new TypeError(
      `Cannot listen on ${where} with reusePort: Deno allows it only with --unstable-net (run with --unstable-net, or add "unstable": ["net"] to deno.json)`,
    );
  }
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
  const where = formatAddress(address);
  if (error instanceof Deno.errors.AddrInUse) {
    return wrapError(error, `listen on ${where}`, "the address is in use");
  }
  return wrapError(error, `listen on ${where}`);
}
