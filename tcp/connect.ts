/**
 * {@linkcode connect}: open a TCP or Unix stream connection, Python's
 * `socket.create_connection()`.
 *
 * @module
 */
import {
  type Address,
  formatAddress,
  type TcpAddress,
  TimeoutError,
  type UnixAddress,
} from "../net/mod.ts";
import { checkAddress, DEFAULT_HOSTNAME } from "../_internal/address.ts";
import { wrapError } from "../_internal/errors.ts";
import { Connection } from "./connection.ts";
import { encodeProxyHeader } from "../framing/proxy_protocol.ts";
import { isIpv6 } from "../_internal/ip.ts";
import { after } from "../_internal/timer.ts";
import {
  clientTls,
  connectTlsOptions,
  rememberName,
  secureClient,
  usesConnectTls,
} from "./_tls.ts";
import type { TlsClientOptions } from "./tls.ts";

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /**
   * Python's `create_connection(address, timeout)`: the connect gives up
   * after this many milliseconds with `TimeoutError`, and the connection
   * keeps it as its read timeout (`conn.timeout`; change it with
   * `conn.setTimeout()`), so a read that waits longer raises
   * `TimeoutError` and loses nothing. Writes are not limited by it. `null`
   * waits forever, as Python's `None`.
   *
   * @default {null}
   */
  timeout?: number | null;
  /**
   * A time limit for the connect alone, in milliseconds: reads get no
   * timeout from it. Takes the place of `timeout` for the connect when
   * both are given.
   *
   * @default {timeout}
   */
  connectTimeout?: number;
  /**
   * Aborts the attempt to connect, TLS handshake included (not the
   * connection once made).
   */
  signal?: AbortSignal;
  /**
   * Turn Nagle's algorithm off (`true`) or on; TCP only. Over TLS it is set
   * before the handshake and stays (Deno's TLS connections cannot change
   * it); a TLS connection with a client certificate keeps the system
   * default.
   *
   * @default {the system default: Nagle on, as in Python; off over TLS}
   */
  noDelay?: boolean;
  /**
   * Turn TCP keep-alive on or off; TCP only (over TLS, set before the
   * handshake; not with a client certificate).
   *
   * @default {off}
   */
  keepAlive?: boolean;
  /**
   * Speak TLS: `true` verifies the server's certificate against the
   * system's roots for the hostname; {@linkcode TlsClientOptions} add CAs,
   * a server name, ALPN, a client certificate, a handshake timeout. The
   * handshake finishes inside `connect()`, so a refused certificate or a
   * plain-text server is a `TlsError` here. TCP only.
   *
   * @default {false}
   */
  tls?: boolean | TlsClientOptions;
  /**
   * Send a PROXY protocol header first, before any other byte (and before
   * the TLS handshake): what a load balancer sends, for testing a server
   * that reads them, or for a relay placed in front of one. `version` 1
   * writes the text line, 2 the binary header (with `crc32c`, a checksum).
   * `source` and `destination` default to this connection's own local and
   * remote addresses; give them to forward a client's. A `"local"` command
   * (v2) says the connection is the proxy's own, as a health check's.
   * TCP only.
   */
  proxyHeader?: {
    /** 1 (text) or 2 (binary). */
    version: 1 | 2;
    /** `"proxy"` (the default) or, v2 only, `"local"`. */
    command?: "proxy" | "local";
    /** The client's address. @default {the local address} */
    source?: { hostname: string; port: number };
    /** The server's address. @default {the remote address} */
    destination?: { hostname: string; port: number };
    /** v2 only: type-length-value fields (ALPN, authority, unique ID…). */
    tlvs?: Parameters<typeof encodeProxyHeader>[0]["tlvs"];
    /**
     * v2 only: add a CRC32C checksum of the header.
     *
     * @default {false}
     */
    crc32c?: boolean;
  };
}

/**
 * Connects to a TCP server (`{ hostname, port }`, `hostname` defaulting to
 * `127.0.0.1`) or a Unix socket (`{ path }`): Python's
 * `socket.create_connection(address, timeout)`. With `tls`, the same over
 * TLS (Python's `context.wrap_socket(socket.create_connection(...))`): the
 * handshake finishes before it returns.
 *
 * @param address Where to connect.
 * @param options `timeout` (connect and reads, as in Python),
 * `connectTimeout` (the connect only), signal, socket options and `tls`.
 * @returns The connection; `await using` closes it.
 * @throws {TimeoutError} If the connect time limit passes first.
 * @throws {Deno.errors.ConnectionRefused} If no one listens there; the
 * message names the address (so do other network errors).
 * @throws {TlsError} If the TLS handshake fails: `kind` says why
 * (`"unknown-issuer"`, `"name-mismatch"`, `"not-tls"`,
 * `"handshake-timeout"`…) and the message what to do.
 *
 * @example Python's create_connection(address, timeout)
 * ```ts
 * import { connect, listen, TimeoutError } from "@sockit/sockit/tcp";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   await conn.read(); // answers only when asked
 *   await conn.write("hi");
 * });
 * await using conn = await connect(server.addr, { timeout: 100 });
 * assertEquals(conn.timeout, 100); // kept for reads, as in Python
 * await assertRejects(() => conn.read(), TimeoutError);
 * await conn.write("?");
 * assertEquals(new TextDecoder().decode((await conn.read())!), "hi");
 * ```
 *
 * @example TLS: a server that never answers the handshake
 * ```ts
 * import { connect, listen, TlsError } from "@sockit/sockit/tcp";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   await Array.fromAsync(conn); // reads everything, never answers
 * });
 * const error = await assertRejects(
 *   () => connect(server.addr, { tls: { handshakeTimeout: 100 } }),
 *   TlsError,
 * );
 * assertEquals(error.kind, "handshake-timeout");
 * ```
 */
export function connect(
  address: TcpAddress,
  options?: ConnectOptions,
): Promise<Connection<"tcp">>;
/**
 * Connects to a Unix socket (`{ path }`).
 *
 * @param address The socket file's path.
 * @param options As for a TCP address (`noDelay` and `keepAlive` do
 * nothing).
 * @returns The connection.
 */
export function connect(
  address: UnixAddress,
  options?: ConnectOptions,
): Promise<Connection<"unix">>;
/**
 * Connects to a TCP or a Unix address.
 *
 * @param address Where to connect.
 * @param options As above.
 * @returns The connection.
 */
export function connect(
  address: Address,
  options?: ConnectOptions,
): Promise<Connection>;
export async function connect(
  address: Address,
  options: ConnectOptions = {},
): Promise<Connection> {
  checkAddress(address, "connect to");
  const where = formatAddress(address);
  const { signal } = options;
  const tls = options.tls === undefined || options.tls === false
    ? undefined
    : clientTls(options.tls);
  if (tls !== undefined && "path" in address) {
    throw new TypeError(`Cannot connect to ${where} with TLS: TLS is TCP only`);
  }
  if (options.proxyHeader !== undefined && "path" in address) {
    throw new TypeError(
      `Cannot connect to ${where} with a PROXY header: it is sent on TCP only`,
    );
  }
  const hostname = "path" in address
    ? ""
    : address.hostname ?? DEFAULT_HOSTNAME;
  // A PROXY header goes before the handshake: no Deno.connectTls then.
  const viaConnectTls = tls !== undefined &&
    options.proxyHeader === undefined && usesConnectTls(tls, hostname);
  const timeout = options.timeout ?? null;
  checkTimeout("timeout", timeout);
  checkTimeout("connectTimeout", options.connectTimeout);
  const limit = options.connectTimeout ?? timeout ?? undefined;
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const cancelTimer = limit === undefined ? () => {} : after(limit, () => {
    timedOut = true;
    controller.abort();
  });
  let conn: Deno.Conn;
  try {
    const attempt = "path" in address
      ? Deno.connect({ transport: "unix", path: address.path })
      : viaConnectTls
      ? Deno.connectTls(connectTlsOptions(tls!, hostname, address.port))
      : Deno.connect({
        hostname,
        port: address.port,
        signal: controller.signal,
      });
    conn = await abortable(attempt, controller.signal);
  } catch (error) {
    if (timedOut) {
      throw new TimeoutError(
        `Cannot connect to ${where}: no answer within ${limit} ms`,
        limit!,
        { cause: error },
      );
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    throw wrapError(error, `connect to ${where}`, reasonOf(error));
  } finally {
    cancelTimer();
    signal?.removeEventListener("abort", onAbort);
  }
  if (options.proxyHeader !== undefined) {
    await sendProxyHeader(conn, options.proxyHeader, where);
  }
  if (tls !== undefined) {
    if (!viaConnectTls) {
      const tcp = conn as Deno.TcpConn;
      tcp.setNoDelay(options.noDelay ?? true); // see _tls.ts
      if (options.keepAlive !== undefined) tcp.setKeepAlive(options.keepAlive);
    }
    const socket = await secureClient(conn, tls, hostname, where, signal);
    const connection = new Connection(socket);
    if (timeout !== null) connection.setTimeout(timeout);
    return connection;
  }
  if (hostname !== "") rememberName(conn, hostname);
  const connection = new Connection(conn);
  if (timeout !== null) connection.setTimeout(timeout);
  if ("hostname" in conn.remoteAddr) {
    if (options.noDelay !== undefined) connection.setNoDelay(options.noDelay);
    if (options.keepAlive !== undefined) {
      connection.setKeepAlive(options.keepAlive);
    }
  }
  return connection;
}

/** Writes the PROXY header `spec` asks for on a new connection. */
async function sendProxyHeader(
  conn: Deno.Conn,
  spec: NonNullable<ConnectOptions["proxyHeader"]>,
  where: string,
): Promise<void> {
  const local = conn.localAddr as Deno.NetAddr;
  const remote = conn.remoteAddr as Deno.NetAddr;
  const source = spec.source ?? { hostname: local.hostname, port: local.port };
  const destination = spec.destination ??
    { hostname: remote.hostname, port: remote.port };
  let bytes: Uint8Array;
  try {
    bytes = encodeProxyHeader({
      command: spec.command ?? "proxy",
      transport: isIpv6(source.hostname) ? "tcp6" : "tcp4",
      source,
      destination,
      ...(spec.tlvs === undefined ? {} : { tlvs: spec.tlvs }),
    }, { version: spec.version, crc32c: spec.crc32c ?? false });
  } catch (error) {
    conn.close();
    throw error;
  }
  try {
    let written = 0;
    while (written < bytes.length) {
      written += await conn.write(bytes.subarray(written));
    }
  } catch (error) {
    conn.close();
    throw wrapError(error, `send the PROXY header to ${where}`);
  }
}

function checkTimeout(name: string, ms: number | null | undefined): void {
  if (ms !== undefined && ms !== null && !(ms >= 0)) {
    throw new RangeError(
      `Cannot connect with ${name} ${ms}: give milliseconds (>= 0)`,
    );
  }
}

/**
 * Waits for `attempt` unless `signal` aborts first; a connection that
 * arrives after that is closed, not leaked. (Unix connects take no signal.)
 */
function abortable(
  attempt: Promise<Deno.Conn>,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    attempt.then((conn) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) conn.close();
      else resolve(conn);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

/** What to say about a failed connect: a hint for the common failures. */
function reasonOf(error: unknown): string | undefined {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused (is a server listening there?)";
  }
  if (error instanceof Deno.errors.NotFound) {
    return `${error.message} (does the socket file exist?)`;
  }
  return undefined;
}
