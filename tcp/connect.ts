/**
 * {@linkcode connect}: open a TCP or Unix stream connection, Python's
 * `socket.create_connection()`.
 *
 * @module
 */
import { type Address, formatAddress, TimeoutError } from "../net/mod.ts";
import { checkAddress, DEFAULT_HOSTNAME } from "../_internal/address.ts";
import { Connection } from "./connection.ts";
import { after } from "../_internal/timer.ts";

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /**
   * Give up connecting after this many milliseconds, with `TimeoutError`
   * (Python's `create_connection(address, timeout)`).
   */
  timeout?: number;
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
 * `127.0.0.1`) or a Unix socket (`{ path }`).
 *
 * @param address Where to connect.
 * @param options Timeout, signal and socket options.
 * @returns The connection; `await using` closes it.
 * @throws {TimeoutError} If `timeout` passes first.
 * @throws {Deno.errors.ConnectionRefused} If no one listens there; the
 * message names the address (so do other network errors).
 *
 * @example Connect with a timeout
 * ```ts
 * import { connect, listen } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, (conn) => conn.write("hi"));
 * await using conn = await connect(server.addr, { timeout: 1000 });
 * assertEquals(new TextDecoder().decode((await conn.read())!), "hi");
 * ```
 */
export async function connect(
  address: Address,
  options: ConnectOptions = {},
): Promise<Connection> {
  checkAddress(address, "connect to");
  const where = formatAddress(address);
  const { timeout, signal } = options;
  if (timeout !== undefined && !(timeout >= 0)) {
    throw new RangeError(
      `Cannot connect with a timeout of ${timeout}: give milliseconds (>= 0)`,
    );
  }
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const cancelTimer = timeout === undefined ? () => {} : after(timeout, () => {
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
        `Cannot connect to ${where}: no answer within ${timeout} ms`,
        timeout!,
        { cause: error },
      );
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    throw rename(error, where);
  } finally {
    cancelTimer();
    signal?.removeEventListener("abort", onAbort);
  }
  const connection = new Connection(conn);
  if ("hostname" in conn.remoteAddr) {
    if (options.noDelay !== undefined) connection.setNoDelay(options.noDelay);
    if (options.keepAlive !== undefined) {
      connection.setKeepAlive(options.keepAlive);
    }
  }
  return connection;
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

function rename(error: unknown, where: string): unknown {
  if (!(error instanceof Error)) return error;
  const Class = error.constructor as new (
    message: string,
    options?: ErrorOptions,
  ) => Error;
  const reason = error instanceof Deno.errors.ConnectionRefused
    ? "connection refused (is a server listening there?)"
    : error instanceof Deno.errors.NotFound
    ? `${error.message} (does the socket file exist?)`
    : error.message;
  try {
    return new Class(`Cannot connect to ${where}: ${reason}`, { cause: error });
  } catch {
    return error;
  }
}
