/**
 * {@linkcode serveCommands}: a command server that runs the programs of an
 * allow-list that clients name, never through a shell, with a time limit
 * and an output limit, and answers with framed output and the exit status.
 *
 * @module
 */
import type { Address } from "../net/mod.ts";
import {
  type Connection,
  listen,
  type ProxyProtocolOptions,
  type Server,
  type TlsServerOptions,
} from "../tcp/mod.ts";
import { CommandAllowList } from "./allow_list.ts";
import type { CommandExit } from "./client.ts";
import { DEFAULT_MAX_ARGS } from "./_command_line.ts";
import type { CommandErrorReason } from "./errors.ts";
import { checkExposure } from "./_exposure.ts";
import { commandHandler, type SessionConfig } from "./_session.ts";

/** What happened to a client or one of its requests: for logs. */
export type CommandEvent =
  | {
    /** A client connected. */
    type: "connection";
    /** The client: `127.0.0.1:50000`, or `unix:PATH #N` for a Unix socket's Nth. */
    peer: string;
  }
  | {
    /** A client's connection ended (after its last request). */
    type: "closed";
    /** The client. */
    peer: string;
    /** Bytes received from it. */
    bytesReceived: number;
    /** Bytes sent to it. */
    bytesSent: number;
  }
  | {
    /** The command ran. */
    type: "exit";
    /** The client. */
    peer: string;
    /** The command. */
    argv: readonly string[];
    /** How it ended. */
    exit: CommandExit;
    /**
     * Whether its client went away while it ran (or read nothing for
     * `writeTimeout`), so that it was killed.
     */
    clientGone: boolean;
    /**
     * Whether it still ran when a shutdown's grace period ended, so that it
     * was killed with its connection.
     */
    gracePeriodEnded: boolean;
    /** Bytes of output sent. */
    outputBytes: number;
    /** Milliseconds it ran. */
    duration: number;
  }
  | {
    /** The request was refused (or the client was, for a token). */
    type: "refused";
    /** The client. */
    peer: string;
    /** The command, when the line could be split into one. */
    argv: readonly string[] | undefined;
    /** The error's name. */
    reason: CommandErrorReason;
    /** The error's message, as sent. */
    message: string;
  };

/** Options for {@linkcode serveCommands}. */
export interface ServeCommandsOptions {
  /**
   * The programs that may run: bare names (looked up in `PATH` once, now)
   * or absolute paths, or a resolved {@linkcode CommandAllowList}.
   */
  allow: readonly string[] | CommandAllowList;
  /**
   * A shared secret: each client must first send `AUTH <token>`. Compared
   * in constant time. No newline, carriage return or NUL. A host other
   * than loopback needs one, and `tls` (or `insecure`).
   */
  token?: string;
  /**
   * Serve TLS, as `tcp.listen()`'s `tls` does (a certificate and key;
   * `clientCa` for mutual TLS): a host other than loopback needs it, so
   * that the token never crosses the network in clear text. TCP only.
   */
  tls?: TlsServerOptions;
  /**
   * Serve a host other than loopback without a token or without TLS:
   * anyone who can connect (or read the traffic) may run the allowed
   * programs.
   *
   * @default {false}
   */
  insecure?: boolean;
  /**
   * Kill a command (SIGKILL) this many milliseconds after it starts;
   * `Infinity` for no limit.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * The most bytes of stdout and stderr together sent for one command; at
   * the limit the command is killed (SIGKILL) and its `exit` reply says the
   * output was truncated.
   *
   * @default {1048576}
   */
  maxOutput?: number;
  /**
   * The longest request line, in bytes, without its line end. A longer
   * line is refused (`LineTooLong`) as soon as it passes the limit, and the
   * rest of it is read and dropped, never held: a connection holds at most
   * this much of a line.
   *
   * @default {8192}
   */
  maxLineBytes?: number;
  /**
   * The most words (program included) in a request.
   *
   * @default {256}
   */
  maxArgs?: number;
  /**
   * The most commands running at once, across all clients; a request
   * beyond it is refused at once with `Busy` (not queued), and its
   * connection keeps serving. Each command is a process group and two
   * pipes, so this bounds the processes and file descriptors a flood of
   * requests can cost. 16 is plenty for people and scripts running short
   * commands, and far below the process and descriptor limits of a default
   * system (ncat's `--exec` allows 100 clients, each a shell).
   *
   * @default {16}
   */
  maxCommands?: number;
  /**
   * How long a client has to send its whole `AUTH` line, in milliseconds.
   *
   * @default {5000}
   */
  tokenTimeout?: number;
  /**
   * How long to wait for each complete request line, in milliseconds;
   * then the client gets `IdleTimeout` and is disconnected. `Infinity`
   * waits forever.
   *
   * @default {60000}
   */
  idleTimeout?: number;
  /**
   * How long one reply write may wait for a client that reads nothing, in
   * milliseconds; then the client is disconnected (and its command killed).
   *
   * @default {10000}
   */
  writeTimeout?: number;
  /**
   * The commands' working directory: an existing directory.
   *
   * @default {the server's}
   */
  cwd?: string;
  /**
   * The commands' whole environment; nothing of the server's is inherited.
   *
   * @default {{ PATH: "/usr/bin:/bin" }}
   */
  env?: Readonly<Record<string, string>>;
  /**
   * Told of each client's connection and its end, and of each request's
   * outcome (for logs).
   */
  onCommand?: (event: CommandEvent) => void;
  /**
   * Refuse to start under an unscoped `--allow-run` (see
   * {@linkcode CommandAllowList.checkRunPermission}).
   *
   * @default {false}
   */
  requireScopedRun?: boolean;
  /**
   * The most clients served at once; more are closed at once.
   *
   * @default {no limit}
   */
  maxConnections?: number;
  /** Shuts the server down gracefully when aborted. */
  signal?: AbortSignal;
  /**
   * How long running commands may finish in a shutdown started by
   * `signal`, in milliseconds; then what still runs is killed (the whole
   * process group of each). `server.shutdown({ gracePeriod })` does the
   * same.
   *
   * @default {5000}
   */
  gracePeriod?: number;
  /**
   * Unix sockets: replace a socket file left by a crashed server.
   *
   * @default {false}
   */
  replaceStaleSocket?: boolean;
  /**
   * Told of errors that fail one connection (or accepting); the server
   * keeps serving.
   *
   * @default {a line on stderr}
   */
  onError?: (error: unknown, conn: Connection | undefined) => void;
  /**
   * Behind a load balancer: read a PROXY protocol header from trusted
   * proxies first, as `tcp.listen()`'s `proxyProtocol` does, so that
   * `onCommand` events and logs name the real client.
   */
  proxyProtocol?: ProxyProtocolOptions;
  /**
   * Linux: listen with `SO_REUSEPORT` (needs `--unstable-net`), as
   * `tcp.listen()`'s `reusePort` does, so that several servers share the
   * port.
   *
   * @default {false}
   */
  reusePort?: boolean;
}

const DEFAULT_COMMAND_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: "/usr/bin:/bin",
});
const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const DEFAULT_MAX_LINE_BYTES = 8192;
const DEFAULT_MAX_COMMANDS = 16;
const DEFAULT_TOKEN_TIMEOUT = 5000;
const DEFAULT_IDLE_TIMEOUT = 60_000;
const DEFAULT_WRITE_TIMEOUT = 10_000;

const encoder = new TextEncoder();

/**
 * Starts a command server, synchronously: refuses a host other than
 * loopback without a token and TLS (or `insecure`), resolves the allow-list, checks
 * the options and that Deno may run each program (and, with
 * `requireScopedRun`, nothing more), then listens on TCP
 * (`{ hostname, port }`, `127.0.0.1` by default) or a Unix socket
 * (`{ path }`) and serves the rexec protocol to every client: only
 * allow-listed programs run, each started directly by its absolute path —
 * never through a shell —, with an empty environment, stdin from
 * `/dev/null`, a time limit and an output limit, in a process group of its
 * own that is killed whole when the command ends, its client goes away or
 * a shutdown's grace period runs out.
 *
 * @param address Where to listen.
 * @param options The allow-list, limits, token and server options.
 * @returns The running server, as `tcp.listen()` returns it (`addr`,
 * `finished`, `shutdown()`; `await using` shuts it down).
 * @throws {TypeError} If the allow-list is empty or bad, the token or env
 * is unusable, or the address is exposed without a token and TLS.
 * @throws {TlsError} Of kind `"config"`, naming the file, if the TLS
 * certificate or key is unusable.
 * @throws {RangeError} If a limit is out of range.
 * @throws {Deno.errors.NotFound} If an allowed program does not exist, or
 * `cwd` is not a directory.
 * @throws {Deno.errors.NotCapable} If Deno may not run an allowed program,
 * or end a process group (the `kill` program, or an unscoped `--allow-run`).
 * @throws {Deno.errors.AddrInUse} If the address is taken.
 *
 * @example A token-protected server
 * ```ts
 * import {
 *   CommandRefusedError,
 *   runRemoteCommand,
 *   serveCommands,
 * } from "@sockit/sockit/rexec";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = serveCommands({ port: 0 }, {
 *   allow: ["echo"],
 *   token: "s3cret-token",
 *   timeout: 5000,
 *   maxOutput: 65536,
 * });
 * const ok = await runRemoteCommand(server.addr, ["echo", "ok"], {
 *   token: "s3cret-token",
 * });
 * assertEquals(ok.code, 0);
 * const error = await assertRejects(
 *   () => runRemoteCommand(server.addr, ["echo", "no"], { token: "guess" }),
 *   CommandRefusedError,
 * );
 * assertEquals(error.reason, "Unauthorized");
 * ```
 *
 * @example A bad allow-list fails at once
 * ```ts
 * import { serveCommands } from "@sockit/sockit/rexec";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => serveCommands({ port: 0 }, { allow: ["../bin/sh"] }), TypeError);
 * assertThrows(
 *   () => serveCommands({ hostname: "0.0.0.0", port: 0 }, { allow: ["echo"] }),
 *   TypeError, // not loopback, and no token
 * );
 * ```
 */
export function serveCommands(
  address: Address,
  options: ServeCommandsOptions,
): Server {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      "Cannot serve commands without options: give at least { allow }",
    );
  }
  checkExposure(address, { ...options, tls: options.tls !== undefined });
  const allowList = options.allow instanceof CommandAllowList
    ? options.allow
    : CommandAllowList.resolve(options.allow);
  const config = sessionConfig(allowList, options);
  allowList.checkRunPermission({
    requireScoped: options.requireScopedRun ?? false,
  });
  const {
    maxConnections,
    signal,
    onError,
    gracePeriod,
    replaceStaleSocket,
    tls,
    proxyProtocol,
    reusePort,
  } = options;
  return listen(address, commandHandler(config), {
    ...(tls === undefined ? {} : { tls }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    ...(signal === undefined ? {} : { signal }),
    ...(onError === undefined ? {} : { onError }),
    ...(gracePeriod === undefined ? {} : { gracePeriod }),
    ...(replaceStaleSocket === undefined ? {} : { replaceStaleSocket }),
    ...(proxyProtocol === undefined ? {} : { proxyProtocol }),
    ...(reusePort === undefined ? {} : { reusePort }),
  });
}

/** Checks the options and fills in the defaults. */
function sessionConfig(
  allowList: CommandAllowList,
  options: ServeCommandsOptions,
): SessionConfig {
  const maxLineBytes = checkCount(
    options.maxLineBytes,
    "maxLineBytes",
    DEFAULT_MAX_LINE_BYTES,
    16,
  );
  const { token, cwd } = options;
  if (
    token !== undefined &&
    (typeof token !== "string" || token === "" || /[\r\n\0]/.test(token) ||
      encoder.encode(token).length > maxLineBytes - 5)
  ) {
    throw new TypeError(
      `Cannot use that token: give a non-empty string without newline, carriage return or NUL, at most ${
        maxLineBytes - 5
      } bytes`,
    );
  }
  const env = options.env ?? DEFAULT_COMMAND_ENV;
  if (
    env === null || typeof env !== "object" ||
    !Object.values(env).every((value) => typeof value === "string")
  ) {
    throw new TypeError(
      "Cannot use that env: give an object of strings, the commands' whole environment",
    );
  }
  if (cwd !== undefined) checkDirectory(cwd);
  return {
    allowList,
    timeout: checkMs(options.timeout, "timeout", DEFAULT_TIMEOUT),
    maxOutput: checkCount(
      options.maxOutput,
      "maxOutput",
      DEFAULT_MAX_OUTPUT,
      0,
    ),
    maxLineBytes,
    maxArgs: checkCount(options.maxArgs, "maxArgs", DEFAULT_MAX_ARGS, 1),
    maxCommands: checkCount(
      options.maxCommands,
      "maxCommands",
      DEFAULT_MAX_COMMANDS,
      1,
    ),
    token: token === undefined ? undefined : encoder.encode(token),
    tokenTimeout: checkMs(
      options.tokenTimeout,
      "tokenTimeout",
      DEFAULT_TOKEN_TIMEOUT,
    ),
    idleTimeout: checkMs(
      options.idleTimeout,
      "idleTimeout",
      DEFAULT_IDLE_TIMEOUT,
    ),
    writeTimeout: checkMs(
      options.writeTimeout,
      "writeTimeout",
      DEFAULT_WRITE_TIMEOUT,
    ),
    cwd,
    env: { ...env },
    onCommand: options.onCommand,
  };
}

function checkMs(
  value: number | undefined,
  name: string,
  fallback: number,
): number {
  const ms = value ?? fallback;
  if (typeof ms !== "number" || !(ms > 0)) {
    throw new RangeError(
      `Cannot use ${name} ${ms}: give milliseconds (> 0, or Infinity)`,
    );
  }
  return ms;
}

function checkCount(
  value: number | undefined,
  name: string,
  fallback: number,
  min: number,
): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(`Cannot use ${name} ${n}: give an integer >= ${min}`);
  }
  return n;
}

function checkDirectory(cwd: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(cwd);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Deno.errors.NotFound(
      `Cannot run commands in ${cwd} as it does not exist: give an existing directory as cwd`,
      { cause: error },
    );
  }
  if (!info.isDirectory) {
    throw new Deno.errors.NotFound(
      `Cannot run commands in ${cwd} as it is not a directory: give an existing directory as cwd`,
    );
  }
}
