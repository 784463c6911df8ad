/**
 * Shared plumbing for the tools: flag parsing with clear errors, `\n`-style
 * escapes, address and number validation, `--help`/`--version`, and the
 * wiring of the server tools (`echo`, `time`) to `tcp/`'s `listen()` and
 * `shutdownOnSignals()`, with their connection logs.
 *
 * @module
 */
import { parseArgs as stdParseArgs } from "@std/cli/parse-args";
import denoJson from "../deno.json" with { type: "json" };
import type { Address } from "../net/mod.ts";
import { formatAddress, shutdownOnSignals } from "../net/mod.ts";
import { DEFAULT_HOSTNAME } from "../_internal/address.ts";
import type { Connection } from "../tcp/mod.ts";
import { listen, listenUnix, type Server } from "../tcp/mod.ts";

/** The version in `deno.json`. */
export const VERSION: string = denoJson.version;

/** Exit codes: success, failure, bad usage. */
export const EXIT_OK = 0;
/** Something failed (the network, a file). */
export const EXIT_FAILURE = 1;
/** The command line was wrong. */
export const EXIT_USAGE = 2;

/** A mistake on the command line: reported with "try --help", exit 2. */
export class UsageError extends Error {
  /**
   * Creates a `UsageError`.
   *
   * @param message What is wrong, naming the flag.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

// ---------------------------------------------------------------------------
// Parsing

/** The flags a tool takes. */
export interface FlagSpec {
  /** Flags that take a value (`--port 80` or `--port=80`). */
  string: readonly string[];
  /** Flags that take none (`--quiet`). */
  boolean: readonly string[];
  /** Short names: `{ h: "help" }`. */
  alias?: Readonly<Record<string, string>>;
}

/** Parsed flags: the values of string flags given, and boolean flags. */
export interface Flags {
  /** Values of the string flags that were given (the last one wins). */
  values: Map<string, string>;
  /** Boolean flags that were given. */
  set: Set<string>;
}

/** What we take from `@std/cli`'s untyped `parseArgs`. */
type StdParseArgs = (args: string[], options: {
  string: string[];
  boolean: string[];
  alias: Record<string, string>;
  unknown: (arg: string) => boolean;
}) => Record<string, unknown>;

const parseArgs = stdParseArgs as StdParseArgs;

/**
 * Parses `args` against `spec`, strictly: an unknown flag, a positional
 * argument, a missing value or a value given to a boolean flag is a
 * {@linkcode UsageError} naming it. A value may start with `-` (`--grace
 * -1` reaches the validation, which says what is wrong with it) unless it
 * is one of the tool's own flags (`--port --quiet` lacks a port).
 *
 * @param args The command line.
 * @param spec The flags the tool takes.
 * @returns The flags given.
 * @throws {UsageError} On any mistake.
 */
export function parseFlags(args: readonly string[], spec: FlagSpec): Flags {
  const strings = new Set(spec.string);
  const booleans = new Set(spec.boolean);
  const alias = spec.alias ?? {};
  const isOwnFlag = (arg: string): boolean => {
    if (arg.startsWith("--")) {
      const name = arg.slice(2).split("=", 1)[0]!;
      return strings.has(name) || booleans.has(name);
    }
    return arg.length === 2 && arg[0] === "-" && arg[1]! in alias;
  };

  // Join each string flag with its value first, so that parseArgs never
  // mistakes a value such as "-1" for a flag, nor a flag for a value.
  const normalized: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      const rest = args[i + 1];
      if (rest !== undefined) {
        throw new UsageError(`unexpected argument ${JSON.stringify(rest)}`);
      }
      break;
    }
    const match = /^--([^=]+)(=.*)?$/s.exec(arg);
    if (match !== null) {
      const name = match[1]!;
      if (strings.has(name) && match[2] === undefined) {
        const value = args[i + 1];
        if (value === undefined || isOwnFlag(value) || value === "--") {
          throw new UsageError(`--${name} needs a value`);
        }
        normalized.push(`--${name}=${value}`);
        i++;
        continue;
      }
      if (booleans.has(name) && match[2] !== undefined) {
        throw new UsageError(`--${name} takes no value`);
      }
    }
    normalized.push(arg);
  }

  const unknown: string[] = [];
  const parsed = parseArgs(normalized, {
    string: [...strings],
    boolean: [...booleans],
    alias: { ...alias },
    unknown: (arg: string) => {
      unknown.push(arg);
      return false;
    },
  });
  const first = unknown[0];
  if (first !== undefined) {
    throw new UsageError(
      first.startsWith("-")
        ? `unknown flag ${first.split("=", 1)[0]}`
        : `unexpected argument ${JSON.stringify(first)}`,
    );
  }
  const flags: Flags = { values: new Map(), set: new Set() };
  for (const name of strings) {
    let value = parsed[name];
    if (Array.isArray(value)) value = value.at(-1);
    if (typeof value === "string") flags.values.set(name, value);
  }
  for (const name of booleans) {
    if (parsed[name] === true) flags.set.add(name);
  }
  return flags;
}

// ---------------------------------------------------------------------------
// Values

/** The one-character escapes and their bytes. */
const ESCAPES: ReadonlyMap<string, number> = new Map([
  ["n", 0x0a],
  ["r", 0x0d],
  ["t", 0x09],
  ["0", 0x00],
  ["\\", 0x5c],
]);

/**
 * Decodes backslash escapes in a flag's text into bytes: `\n`, `\r`, `\t`,
 * `\0`, `\\` and `\xHH` (one raw byte, as in a Python bytes literal); the
 * rest is UTF-8.
 *
 * @param text The text as typed.
 * @param flag The flag, for the error message.
 * @returns The bytes.
 * @throws {UsageError} On an unknown or incomplete escape.
 */
export function decodeEscapes(text: string, flag: string): Uint8Array {
  const encoder = new TextEncoder();
  const parts: number[] = [];
  let literal = "";
  const flush = () => {
    if (literal !== "") parts.push(...encoder.encode(literal));
    literal = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\") {
      literal += c;
      continue;
    }
    const e = text[i + 1];
    const byte = e === undefined ? undefined : ESCAPES.get(e);
    if (byte !== undefined) {
      flush();
      parts.push(byte);
      i++;
    } else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      flush();
      parts.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const shown = e === "x"
        ? `\\x${text.slice(i + 2, i + 4)}`
        : `\\${e ?? ""}`;
      throw new UsageError(
        `--${flag} has a bad escape ${shown}: use \\n \\r \\t \\0 \\\\ or \\xHH`,
      );
    }
  }
  flush();
  return new Uint8Array(parts);
}

/**
 * Parses a port: an integer in 0..65535 (0: any free port).
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @returns The port.
 * @throws {UsageError} If it is not one.
 */
export function parsePort(text: string, flag = "port"): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(
      `--${flag} must be an integer in 0..65535, not ${JSON.stringify(text)}`,
    );
  }
  return port;
}

/**
 * Parses a duration in seconds (decimals allowed) into milliseconds.
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @param allowZero Whether 0 is allowed.
 * @returns Milliseconds.
 * @throws {UsageError} If it is not a number, or too small.
 */
export function parseSeconds(
  text: string,
  flag: string,
  allowZero = false,
): number {
  const seconds = /^\s*$/.test(text) ? NaN : Number(text);
  if (
    !Number.isFinite(seconds) || seconds < 0 || (!allowZero && seconds === 0)
  ) {
    throw new UsageError(
      `--${flag} must be a number of seconds ${
        allowZero ? ">= 0" : "> 0"
      }, not ${JSON.stringify(text)}`,
    );
  }
  return Math.round(seconds * 1000);
}

/**
 * Parses a positive integer.
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @returns The integer (>= 1).
 * @throws {UsageError} If it is not one.
 */
export function parsePositiveInt(text: string, flag: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(
      `--${flag} must be an integer >= 1, not ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/**
 * Parses a host: a name or an IP address (`[::1]` or `::1` for IPv6).
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @returns The hostname, without brackets.
 * @throws {UsageError} If it cannot be a host.
 */
export function parseHost(text: string, flag = "host"): string {
  const host = /^\[.*\]$/.test(text) ? text.slice(1, -1) : text;
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) {
    throw new UsageError(
      `--${flag} must be a host name or IP address, not ${
        JSON.stringify(text)
      }`,
    );
  }
  return host;
}

/**
 * The address from `--host`/`--port` or `--unix`, which exclude each other.
 *
 * @param flags The parsed flags.
 * @param defaultPort The port when `--port` is not given.
 * @returns A TCP or Unix address.
 * @throws {UsageError} If the flags are bad or conflict.
 */
export function addressFromFlags(flags: Flags, defaultPort: number): Address {
  const unix = flags.values.get("unix");
  const host = flags.values.get("host");
  const port = flags.values.get("port");
  if (unix !== undefined) {
    if (host !== undefined || port !== undefined) {
      throw new UsageError(
        `--unix cannot be combined with --${
          host !== undefined ? "host" : "port"
        }: a Unix socket has a path, not a host and port`,
      );
    }
    if (unix === "") throw new UsageError("--unix needs a path");
    return { path: unix };
  }
  return {
    hostname: host === undefined ? DEFAULT_HOSTNAME : parseHost(host),
    port: port === undefined ? defaultPort : parsePort(port),
  };
}

// ---------------------------------------------------------------------------
// Output

/**
 * The `--version` line: `sockit-echo 0.1.0`.
 *
 * @param tool The tool's name.
 * @returns The line.
 */
export function versionLine(tool: string): string {
  return `sockit-${tool} ${VERSION}`;
}

/**
 * Reports an error the tool's way, on one line of stderr, and picks the
 * exit code: a {@linkcode UsageError} adds "try --help" and gives 2,
 * anything else gives 1.
 *
 * @param tool The tool's name.
 * @param error What went wrong.
 * @returns The exit code.
 */
export function reportError(tool: string, error: unknown): number {
  const message = oneLine(error);
  if (error instanceof UsageError) {
    console.error(`${tool}: ${message}; try --help`);
    return EXIT_USAGE;
  }
  console.error(`${tool}: ${message}`);
  return EXIT_FAILURE;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n", 1)[0]!.trim() || String(error);
}

// ---------------------------------------------------------------------------
// Server tools

/** The flags every server tool takes. */
export const SERVER_STRING_FLAGS: readonly string[] = [
  "host",
  "port",
  "unix",
  "idle-timeout",
  "max-conns",
  "grace",
];

/** The boolean flags every server tool takes. */
export const SERVER_BOOLEAN_FLAGS: readonly string[] = [
  "quiet",
  "help",
  "version",
];

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
    "  --grace SECONDS         on SIGINT/SIGTERM, let clients finish for this",
    "                          long, then close them (default 5); a second",
    "                          signal stops at once",
    ...(extra === "" ? [] : [extra]),
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
  /** The most clients at once. */
  maxConnections: number | undefined;
  /** Grace period for a signalled shutdown, in milliseconds. */
  gracePeriod: number;
  /** Whether connection logs are off. */
  quiet: boolean;
}

/**
 * Reads the common server flags.
 *
 * @param tool The tool's name.
 * @param flags The parsed flags.
 * @param defaultPort The port when `--port` is not given.
 * @returns The configuration.
 * @throws {UsageError} If a flag is bad.
 */
export function serverConfig(
  tool: string,
  flags: Flags,
  defaultPort: number,
): ServerConfig {
  const idle = flags.values.get("idle-timeout");
  const max = flags.values.get("max-conns");
  const grace = flags.values.get("grace");
  return {
    tool,
    address: addressFromFlags(flags, defaultPort),
    idleTimeout: idle === undefined
      ? undefined
      : parseSeconds(idle, "idle-timeout"),
    maxConnections: max === undefined
      ? undefined
      : parsePositiveInt(max, "max-conns"),
    gracePeriod: grace === undefined
      ? 5000
      : parseSeconds(grace, "grace", true),
    quiet: flags.set.has("quiet"),
  };
}

/**
 * Runs a server tool until a signal stops it: listens (printing the real
 * address, so `--port 0` is usable), logs each connection's start, end,
 * byte counts and idle timeout to stderr, and shuts down gracefully on
 * SIGINT/SIGTERM.
 *
 * @param config From {@linkcode serverConfig}.
 * @param handler Serves one client; a `TimeoutError` it lets through is
 * logged as an idle timeout.
 * @returns The exit code: 0 after a clean shutdown, 1 if it cannot listen.
 */
export async function runServer(
  config: ServerConfig,
  handler: (conn: Connection) => Promise<void>,
): Promise<number> {
  const { tool, quiet } = config;
  const log = (line: string) => console.error(line);
  let clients = 0;
  // The peer's name is made only when a line is logged: with --quiet an
  // idle connection holds no strings for it.
  const peerOf = (conn: Connection, client: number): string =>
    conn.remoteAddr.transport === "unix"
      ? `${formatAddress(conn.localAddr)} #${client}`
      : formatAddress(conn.remoteAddr);
  const serve = async (conn: Connection): Promise<void> => {
    const client = ++clients;
    if (!quiet) log(`connection from ${peerOf(conn, client)}`);
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
      } else if (!(conn.closed && isClosedError(error))) {
        log(`${tool}: error with ${peerOf(conn, client)}: ${oneLine(error)}`);
      }
    } finally {
      if (!quiet) {
        log(
          `closed ${
            peerOf(conn, client)
          } (${conn.bytesRead} bytes in, ${conn.bytesWritten} out)`,
        );
      }
    }
  };
  const options = {
    onError: (error: unknown) => log(`${tool}: error: ${oneLine(error)}`),
    ...(config.idleTimeout === undefined
      ? {}
      : { idleTimeout: config.idleTimeout }),
    ...(config.maxConnections === undefined
      ? {}
      : { maxConnections: config.maxConnections }),
  };
  let server: Server;
  try {
    server = "path" in config.address
      ? await listenUnix(config.address, serve, options)
      : listen(config.address, serve, options);
  } catch (error) {
    return reportError(tool, error);
  }
  // Handle signals before saying we listen: whoever waits for that line
  // may signal us at once.
  using _signals = shutdownOnSignals(server, {
    gracePeriod: config.gracePeriod,
  });
  log(`listening on ${formatAddress(server.addr)}`);
  await server.finished;
  log("shut down");
  return EXIT_OK;
}

function isClosedError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}
