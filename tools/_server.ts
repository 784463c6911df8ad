/**
 * The server tools' runner (`echo`, `time`): their common flags (TLS
 * included), and the wiring of `tcp`'s `listen()` (or `listenWorkers()`,
 * for `--workers`) and `net`'s `shutdownOnSignals()` with the connection
 * log.
 *
 * @module
 */
import { type Address, formatAddress, shutdownOnSignals } from "../net/mod.ts";
import {
  type Connection,
  listen,
  type ListenOptions,
  listenWorkers,
  ProxyProtocolError,
  type ProxyProtocolOptions,
  type Server,
  type TcpAddress,
  TlsError,
  type TlsServerOptions,
  type WorkerPool,
} from "../tcp/mod.ts";
import { EXIT_OK, oneLine, reportError } from "./_cli.ts";
import { type Flags, UsageError } from "./_flags.ts";
import {
  PROXY_BOOLEAN_FLAGS,
  PROXY_FLAGS_USAGE,
  PROXY_STRING_FLAGS,
  proxyListeningNote,
  proxyProtocolFlags,
} from "./_proxy_flags.ts";
import {
  listeningNote,
  serverTlsFlags,
  serverTlsOptions,
} from "./_tls_flags.ts";
import { addressFromFlags, parsePositiveInt, parseSeconds } from "./_values.ts";

/** The flags every server tool takes. */
export const SERVER_STRING_FLAGS: readonly string[] = [
  "host",
  "port",
  "unix",
  "idle-timeout",
  "max-conns",
  "grace",
  "workers",
  ...PROXY_STRING_FLAGS,
];

/**
 * `--max-conns` when it is not given. Each client costs a file descriptor —
 * Deno raises its soft limit to the hard one at startup (commonly 524,288
 * or more on Linux), and 1,024 is the traditional soft limit, so this cap
 * stays within the usual descriptor limits — and a bounded amount of memory
 * (docs/security.md: about 0.7 MiB at worst for `time`), so the default
 * bounds what a crowd of clients can take: about 0.7 GiB.
 */
export const DEFAULT_MAX_CONNECTIONS: number = 1024;

/** The boolean flags every server tool takes. */
export const SERVER_BOOLEAN_FLAGS: readonly string[] = [
  "quiet",
  ...PROXY_BOOLEAN_FLAGS,
  "help",
  "version",
];

/** The usage lines of `--workers`, which every server tool takes. */
export const WORKERS_USAGE: string = [
  "  --workers N|auto        serve from N workers (threads) sharing the port,",
  "                          auto: one per CPU; the kernel spreads clients by",
  "                          a hash of their addresses; a worker that dies is",
  "                          restarted; --max-conns is per worker (Linux; TCP)",
].join("\n");

/**
 * The usage lines for the flags every server tool takes, with the tool's
 * own option lines (`extra`) before `--quiet`.
 *
 * @param defaultPort The port when `--port` is not given.
 * @param extra The tool's own option lines.
 * @returns The lines.
 */
export function serverFlagsUsage(defaultPort: number, extra = ""): string {
  const lines = [
    "  --host HOST             address to listen on (default 127.0.0.1)",
    `  --port PORT             TCP port, 0 for any free one (default ${defaultPort})`,
    "  --unix PATH             listen on a Unix socket instead of --host/--port",
    "  --idle-timeout SECONDS  close a client that sends nothing for this long",
    "  --max-conns N           serve at most N clients at once; close the others",
    "                          at once (default 1024)",
    "  --grace SECONDS         on SIGINT/TERM/HUP, let clients finish for this",
    "                          long, then close them (default 5); a second",
    "                          signal stops at once",
    WORKERS_USAGE,
    ...(extra === "" ? [] : [extra]),
    PROXY_FLAGS_USAGE,
    "  --quiet                 do not log connections",
    "  -h, --help              show this help",
    "  --version               show the version",
  ];
  return lines.join("\n");
}

/** How a server tool runs, from its flags. */
export interface ServerConfig {
  /** The tool's name, for messages. */
  tool: string;
  /** Where to listen. */
  address: Address;
  /** Idle timeout in milliseconds. */
  idleTimeout: number | undefined;
  /** The most clients at once ({@linkcode DEFAULT_MAX_CONNECTIONS}). */
  maxConnections: number | undefined;
  /** Grace period for a signalled shutdown, in milliseconds. */
  gracePeriod: number;
  /** Whether connection logs are off. */
  quiet: boolean;
  /**
   * Serve TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`), if the tool
   * takes those flags and they were given.
   */
  tls?: TlsServerOptions;
  /** Read PROXY protocol headers (`--proxy-protocol`, `--proxy-from`…). */
  proxyProtocol?: ProxyProtocolOptions;
  /** Serve from this many workers sharing the port (`--workers`). */
  workers?: number;
}

/**
 * Reads the common server flags, and the TLS flags when the tool takes
 * them (`SERVER_TLS_FLAGS`): the `--tls-client-ca` file is read here.
 *
 * @param tool The tool's name.
 * @param flags The parsed flags.
 * @param defaultPort The port when `--port` is not given.
 * @returns The configuration.
 * @throws {UsageError} If a flag is bad, or TLS flags do not go together.
 * @throws {Error} Naming the file, if the `--tls-client-ca` file is
 * unusable (the certificate and key files are read by `runServer()`).
 */
export function serverConfig(
  tool: string,
  flags: Flags,
  defaultPort: number,
): ServerConfig {
  const idle = flags.values.get("idle-timeout");
  const max = flags.values.get("max-conns");
  const grace = flags.values.get("grace");
  const address = addressFromFlags(flags, defaultPort);
  const tls = serverTlsFlags(flags, "path" in address);
  return {
    tool,
    address,
    idleTimeout: idle === undefined
      ? undefined
      : parseSeconds(idle, "idle-timeout"),
    maxConnections: max === undefined
      ? DEFAULT_MAX_CONNECTIONS
      : parsePositiveInt(max, "max-conns"),
    gracePeriod: grace === undefined
      ? 5000
      : parseSeconds(grace, "grace", true),
    quiet: flags.set.has("quiet"),
    ...(tls === undefined ? {} : { tls: serverTlsOptions(tls) }),
    ...proxyOption(proxyProtocolFlags(flags, "path" in address)),
    ...workersFlag(flags, "path" in address),
  };
}

/** `{ proxyProtocol }` when the PROXY flags were given, else `{}`. */
function proxyOption(
  proxyProtocol: ProxyProtocolOptions | undefined,
): { proxyProtocol?: ProxyProtocolOptions } {
  return proxyProtocol === undefined ? {} : { proxyProtocol };
}

/**
 * Reads `--workers N|auto` (`auto`: one per CPU).
 *
 * @throws {UsageError} If the value is bad, or the address is a Unix
 * socket.
 */
function workersFlag(flags: Flags, unix: boolean): { workers?: number } {
  const text = flags.values.get("workers");
  if (text === undefined) return {};
  if (unix) {
    throw new UsageError(
      "--workers is for TCP: workers share a port, and a Unix socket path cannot be shared",
    );
  }
  return { workers: parseWorkers(text) };
}

/**
 * Parses `--workers`'s value: a positive integer, or `auto` (one per CPU).
 *
 * @param text The value.
 * @returns How many workers.
 * @throws {UsageError} If it is neither.
 */
export function parseWorkers(text: string): number {
  if (text === "auto") return Math.max(1, navigator.hardwareConcurrency || 1);
  const workers = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(workers >= 1)) {
    throw new UsageError(
      `--workers must be a positive integer or auto, not ${
        JSON.stringify(text)
      }`,
    );
  }
  return workers;
}

/**
 * Runs a server tool until a signal stops it: listens (printing the real
 * address, so `--port 0` is usable, and `(TLS)` after it for a TLS
 * server), logs each connection's start, end, byte counts and idle timeout
 * to stderr, and a client's failed TLS handshake (one line naming the peer
 * and what went wrong; the server keeps serving), and shuts down gracefully
 * on SIGINT/SIGTERM.
 *
 * @param config From {@linkcode serverConfig}.
 * @param handler Serves one client; a `TimeoutError` it lets through is
 * logged as an idle timeout.
 * @returns The exit code: 0 after a clean shutdown, 1 if it cannot listen
 * (or a TLS certificate or key file is unusable: the message names it).
 */
export async function runServer(
  config: ServerConfig,
  handler: (conn: Connection) => Promise<void>,
): Promise<number> {
  const { tool, quiet } = config;
  // In a worker (--workers), each line names it: "[worker 2] ".
  let prefix = "";
  const log = (line: string) => console.error(prefix + line);
  let clients = 0;
  // The peer's name is made only when a line is logged: with --quiet an
  // idle connection holds no strings for it.
  const peerOf = (conn: Connection, client?: number): string =>
    conn.remoteAddr.transport === "unix"
      ? `${formatAddress(conn.localAddr)}${
        client === undefined ? "" : ` #${client}`
      }`
      : formatAddress(conn.remoteAddr);
  // Behind a proxy: who relayed the client (a LOCAL header, a health
  // check, names the proxy itself). A connection without a header
  // (--proxy-optional) is a direct client: nothing to add.
  const viaOf = (conn: Connection): string => {
    const proxy = conn.proxyAddr;
    if (proxy === null || conn.proxyHeader === null) return "";
    return conn.proxyHeader?.command === "proxy"
      ? ` via ${formatAddress(proxy)}`
      : " (proxy's own connection)";
  };
  const serve = async (conn: Connection): Promise<void> => {
    const client = ++clients;
    let reset = false;
    if (!quiet) log(`connection from ${peerOf(conn, client)}${viaOf(conn)}`);
    try {
      await handler(conn);
    } catch (error) {
      if (error instanceof Error && error.name === "TimeoutError") {
        if (!quiet) {
          log(
            `timeout ${peerOf(conn, client)} after ${
              config.idleTimeout! / 1000
            } s idle`,
          );
        }
      } else if (error instanceof Deno.errors.ConnectionReset) {
        // The client's own doing (a load balancer's health check resets
        // every connection it makes): said on the closing line.
        reset = true;
      } else if (!(conn.closed && isClosedError(error))) {
        log(`${tool}: error with ${peerOf(conn, client)}: ${oneLine(error)}`);
      }
    } finally {
      if (!quiet) {
        log(
          `closed ${peerOf(conn, client)} (${
            reset ? "reset by the client, " : ""
          }${conn.bytesReceived} bytes in, ${conn.bytesSent} out)`,
        );
      }
    }
  };
  const options: ListenOptions = {
    onError: (error: unknown, conn: Connection | undefined) => {
      // With --quiet the handler runs unwrapped (below): its errors come
      // here, and only the unexpected ones are logged, as serve() does.
      if (conn !== undefined) {
        if (
          !(error instanceof Error && error.name === "TimeoutError") &&
          !(error instanceof Deno.errors.ConnectionReset)
        ) {
          log(`${tool}: error with ${peerOf(conn)}: ${oneLine(error)}`);
        }
        return;
      }
      // A client's failed handshake: the message names the peer.
      // A refused PROXY header: the message names the peer and why.
      if (error instanceof TlsError || error instanceof ProxyProtocolError) {
        if (!quiet) log(`${tool}: ${oneLine(error)}`);
      } else log(`${tool}: error: ${oneLine(error)}`);
    },
    ...(config.idleTimeout === undefined
      ? {}
      : { idleTimeout: config.idleTimeout }),
    ...(config.maxConnections === undefined
      ? {}
      : { maxConnections: config.maxConnections }),
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.proxyProtocol === undefined
      ? {}
      : { proxyProtocol: config.proxyProtocol }),
  };
  if (config.workers !== undefined) {
    return await runWorkers(config, (address, worker) => {
      prefix = `[worker ${worker}] `;
      return listen(address, quiet ? handler : serve, {
        ...options,
        reusePort: true,
      });
    });
  }
  let server: Server;
  try {
    // With --quiet nothing is logged per connection: the handler runs
    // without serve() around it, which would cost every idle client a
    // suspended async call (about 0.5 KiB: 5 MiB for 10,000 clients).
    server = listen(config.address, quiet ? handler : serve, options);
  } catch (error) {
    return reportError(tool, error);
  }
  // Handle signals before saying we listen: whoever waits for that line
  // may signal us at once.
  using _signals = shutdownOnSignals(server, {
    gracePeriod: config.gracePeriod,
  });
  log(`listening on ${formatAddress(server.addr)}${listeningNotes(config)}`);
  await server.finished;
  log("shut down");
  return EXIT_OK;
}

/** What `listening on ADDRESS` says after the address: TLS, PROXY. */
function listeningNotes(config: ServerConfig): string {
  return `${listeningNote(config.tls)}${
    proxyListeningNote(config.proxyProtocol)
  }`;
}

/**
 * Runs a server tool in `config.workers` workers (`--workers`): each runs
 * the tool again and `start`s its server there; this, the primary, says
 * `listening on … (N workers)` once, logs restarts (`[worker 2] echo:
 * stopped unexpectedly (…): restarting it in 100 ms`, then `[worker 2]
 * echo: restarted`),
 * drains every worker on SIGINT/SIGTERM, and ends them at once on a second
 * signal (their unload listeners run: `rexec` kills its commands) before
 * exiting.
 *
 * @param config From {@linkcode serverConfig}, with `workers`.
 * @param start Starts worker `worker`'s server on `address` (with
 * `reusePort: true`), in the worker.
 * @param hooks `announce` logs what comes before `listening on` (in the
 * primary only, given the pool); `failed` reports a worker's failure to
 * start and picks the exit code (default: the message, exit 1);
 * `onMessage` hears what the workers post (`listenWorkers()`'s option of
 * that name); `onRestart` is told when a worker stopped unexpectedly (its
 * successor starts afresh).
 * @returns The exit code: 0 after a clean shutdown, else from `failed`.
 * In a worker, never settles.
 */
export async function runWorkers(
  config: ServerConfig,
  start: (address: TcpAddress, worker: number) => Server,
  hooks: {
    announce?: (pool: WorkerPool) => void;
    failed?: (error: unknown) => number;
    onMessage?: (worker: number, message: unknown) => void;
    onRestart?: (worker: number) => void;
  } = {},
): Promise<number> {
  const { tool } = config;
  let pool: WorkerPool;
  let started = false;
  try {
    pool = await listenWorkers(config.address as TcpAddress, start, {
      workers: config.workers ?? 1,
      onRestart: (worker, reason, delay) => {
        console.error(
          `[worker ${worker}] ${tool}: stopped unexpectedly (${
            oneLine(reason)
          }): restarting it in ${delay} ms`,
        );
        hooks.onRestart?.(worker);
      },
      ...(hooks.onMessage === undefined ? {} : { onMessage: hooks.onMessage }),
      onListening: (worker) => {
        if (started) console.error(`[worker ${worker}] ${tool}: restarted`);
      },
    });
    started = true;
  } catch (error) {
    return (hooks.failed ?? ((error) => reportError(tool, error)))(error);
  }
  // Only the primary gets here.
  hooks.announce?.(pool);
  using _signals = shutdownOnSignals(pool, {
    gracePeriod: config.gracePeriod,
    exit: (code) => {
      pool.close().finally(() => Deno.exit(code));
    },
  });
  console.error(
    `listening on ${formatAddress(pool.addr)}${
      listeningNotes(config)
    } (${pool.workers} ${pool.workers === 1 ? "worker" : "workers"})`,
  );
  await pool.finished;
  console.error("shut down");
  return EXIT_OK;
}

function isClosedError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}
