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
import { after } from "../_internal/timer.ts";

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
  /** Aborts the attempt to connect (not the connection once made). */
  signal?: AbortSignal;
  /**
   * Turn Nagle's algorithm off (`true`) or on; TCP only.
   *
   * @default {the system default: Nagle on, as in Python}
   */
  noDelay?: boolean;
  /**
   * Turn TCP keep-alive on or off; TCP only.
   *
   * @default {off}
   */
  keepAlive?: boolean;
}

/**
 * Connects to a TCP server (`{ hostname, port }`, `hostname` defaulting to
 * `127.0.0.1`) or a Unix socket (`{ path }`): Python's
 * `socket.create_connection(address, timeout)`.
 *
 * @param address Where to connect.
 * @param options `timeout` (connect and reads, as in Python),
 * `connectTimeout` (the connect only), signal and socket options.
 * @returns The connection; `await using` closes it.
 * @throws {TimeoutError} If the connect time limit passes first.
 * @throws {Deno.errors.ConnectionRefused} If no one listens there; the
 * message names the address (so do other network errors).
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
      : Deno.connect({
        hostname: address.hostname ?? DEFAULT_HOSTNAME,
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
