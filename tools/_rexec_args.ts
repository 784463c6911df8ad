/**
 * The command line of the `rexec` tool: which mode (server, client, help,
 * version), the flags of each, and the token file. Parsing and validation
 * only; `tools/rexec.ts` wires the result to `rexec/`.
 *
 * @module
 */
import type { Address } from "../net/mod.ts";
import {
  SERVER_BOOLEAN_FLAGS,
  SERVER_STRING_FLAGS,
  type ServerConfig,
  serverConfig,
} from "./_server.ts";
import {
  parseHost,
  parsePort,
  parsePositiveInt,
  parseSeconds,
} from "./_values.ts";
import { type Flags, parseFlags, UsageError } from "./_flags.ts";
import {
  CLIENT_TLS_BOOLEAN_FLAGS,
  type ClientTlsFlags,
  clientTlsFlags,
} from "./_tls_flags.ts";

/** The tool's name, for messages. */
export const TOOL = "rexec";

/** Defaults, in milliseconds and bytes. */
export const DEFAULTS = {
  timeout: 10_000,
  maxOutput: 1024 * 1024,
  idleTimeout: 60_000,
  tokenTimeout: 5000,
  connectTimeout: 10_000,
  maxCommands: 16,
  maxLineBytes: 8192,
} as const;

/** Flags with a value that only the server takes. */
const SERVER_ONLY_STRINGS: readonly string[] = [
  ...SERVER_STRING_FLAGS,
  "allow",
  "timeout",
  "max-output",
  "max-commands",
  "max-frame",
  "token-timeout",
  "cwd",
  "tls-client-ca",
];
/**
 * Flags without a value that only the server takes. (`--insecure` is
 * both's: the server's to serve beyond loopback without a token or TLS,
 * the client's to send a token beyond loopback over `--tls-insecure`.)
 */
const SERVER_ONLY_BOOLEANS: readonly string[] = ["quiet"];
/** Flags with a value that only the client takes. */
const CLIENT_ONLY_STRINGS: readonly string[] = [
  "connect",
  "connect-timeout",
  "tls-ca",
  "tls-servername",
];
/** Flags without a value that only the client takes. */
const CLIENT_ONLY_BOOLEANS: readonly string[] = CLIENT_TLS_BOOLEAN_FLAGS;

const STRING_FLAGS: readonly string[] = [
  ...SERVER_ONLY_STRINGS,
  ...CLIENT_ONLY_STRINGS,
  "token-file",
  // The server's certificate, or the client's.
  "tls-cert",
  "tls-key",
];
const BOOLEAN_FLAGS: readonly string[] = [
  ...new Set([
    ...SERVER_BOOLEAN_FLAGS,
    ...SERVER_ONLY_BOOLEANS,
    ...CLIENT_ONLY_BOOLEANS,
    "insecure",
  ]),
];

/** `rexec` as a server. */
export interface ServeInvocation {
  /** Which mode. */
  mode: "serve";
  /** Address, grace period, connection limit, `--quiet` (no idle timeout: see `idleTimeout`). */
  server: ServerConfig;
  /** The `--allow` entries. */
  allow: string[];
  /** Per-command time limit, ms. */
  timeout: number;
  /** Output limit per command, bytes. */
  maxOutput: number;
  /** The most commands running at once. */
  maxCommands: number;
  /** The longest request line, bytes (`--max-frame`). */
  maxLineBytes: number;
  /** Time to wait for each request line, ms. */
  idleTimeout: number;
  /** Time to wait for the token line, ms. */
  tokenTimeout: number;
  /** `--token-file`, if given. */
  tokenFile: string | undefined;
  /** `--insecure`. */
  insecure: boolean;
  /** `--cwd`, if given. */
  cwd: string | undefined;
}

/** `rexec --connect` as a client. */
export interface ClientInvocation {
  /** Which mode. */
  mode: "client";
  /** The server. */
  address: Address;
  /** The command to run. */
  argv: string[];
  /** `--token-file`, if given. */
  tokenFile: string | undefined;
  /** Connect (and authenticate) timeout, ms. */
  connectTimeout: number;
  /** The TLS flags (`--tls`, `--tls-ca`…), or `undefined` for plain TCP. */
  tls: ClientTlsFlags | undefined;
  /** `--insecure`: send a token beyond loopback over `--tls-insecure`. */
  insecure: boolean;
}

/** What the command line asks for. */
export type RexecInvocation =
  | { mode: "help" }
  | { mode: "version" }
  | ServeInvocation
  | ClientInvocation;

/**
 * Splits the command line into the flags and the remote command: the
 * command starts at the first word that is not a flag or a flag's value
 * (or after `--`), so `rexec --connect h:1 ls -la` runs `ls -la`.
 */
function splitCommand(
  args: readonly string[],
): { flags: string[]; command: string[] } {
  const takesValue = new Set(STRING_FLAGS);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      return { flags: args.slice(0, i), command: args.slice(i + 1) };
    }
    if (!arg.startsWith("-") || arg === "-") {
      return { flags: args.slice(0, i), command: args.slice(i) };
    }
    if (arg.startsWith("--") && !arg.includes("=")) {
      if (takesValue.has(arg.slice(2))) i++;
    }
  }
  return { flags: [...args], command: [] };
}

function given(flags: Flags, names: readonly string[]): string | undefined {
  return names.find((name) => flags.values.has(name) || flags.set.has(name));
}

/**
 * Parses `rexec`'s command line.
 *
 * @param args The command line, without the program name.
 * @returns What to do.
 * @throws {UsageError} On any mistake, naming the flag.
 */
export function parseRexecArgs(args: readonly string[]): RexecInvocation {
  const { flags: flagArgs, command } = splitCommand(args);
  const flags = parseFlags(flagArgs, {
    string: STRING_FLAGS,
    boolean: BOOLEAN_FLAGS,
    alias: { h: "help" },
  });
  if (flags.set.has("help")) return { mode: "help" };
  if (flags.set.has("version")) return { mode: "version" };

  const connect = flags.values.get("connect");
  if (connect !== undefined) {
    const serverFlag = given(flags, [
      ...SERVER_ONLY_STRINGS,
      ...SERVER_ONLY_BOOLEANS,
    ]);
    if (serverFlag !== undefined) {
      throw new UsageError(
        `--${serverFlag} is a server flag: with --connect, rexec is a client`,
      );
    }
    if (command.length === 0) {
      throw new UsageError(
        "--connect needs a command after the flags: rexec --connect HOST:PORT COMMAND [ARGS...]",
      );
    }
    const timeout = flags.values.get("connect-timeout");
    const address = parseConnect(connect);
    const tls = clientTlsFlags(flags);
    if (tls !== undefined && "path" in address) {
      throw new UsageError(
        `--${
          given(flags, [
            ...CLIENT_ONLY_BOOLEANS,
            ...CLIENT_ONLY_STRINGS,
            "tls-cert",
            "tls-key",
          ])
        } and --connect unix:PATH exclude each other: TLS runs over TCP only`,
      );
    }
    return {
      mode: "client",
      address,
      argv: command,
      tokenFile: tokenFileFlag(flags),
      connectTimeout: timeout === undefined
        ? DEFAULTS.connectTimeout
        : parseSeconds(timeout, "connect-timeout"),
      tls,
      insecure: flags.set.has("insecure"),
    };
  }

  const clientFlag = given(flags, [
    ...CLIENT_ONLY_STRINGS,
    ...CLIENT_ONLY_BOOLEANS,
  ]);
  if (clientFlag !== undefined) {
    throw new UsageError(
      `--${clientFlag} needs --connect HOST:PORT${
        clientFlag.startsWith("tls")
          ? ": it is a client flag (a server serves TLS with --tls-cert FILE --tls-key FILE)"
          : ""
      }`,
    );
  }
  if (command.length > 0) {
    throw new UsageError(
      `unexpected argument ${
        JSON.stringify(command[0])
      }: to run a command on a server, give --connect HOST:PORT`,
    );
  }
  const allowText = flags.values.get("allow");
  if (allowText === undefined) {
    throw new UsageError(
      "needs --allow PROGRAM[,PROGRAM...]: rexec runs only the programs you name",
    );
  }
  const allow = allowText.split(",").map((entry) => entry.trim());
  if (allow.some((entry) => entry === "")) {
    throw new UsageError(
      `--allow has an empty entry in ${
        JSON.stringify(allowText)
      }: give names separated by commas`,
    );
  }
  if (!flags.values.has("port") && !flags.values.has("unix")) {
    throw new UsageError(
      "needs --port PORT (0 for any free one) or --unix PATH",
    );
  }
  const server = serverConfig(TOOL, flags, 0);
  const timeout = flags.values.get("timeout");
  const maxOutput = flags.values.get("max-output");
  const maxCommands = flags.values.get("max-commands");
  const maxFrame = flags.values.get("max-frame");
  const tokenTimeout = flags.values.get("token-timeout");
  const cwd = flags.values.get("cwd");
  if (cwd === "") throw new UsageError("--cwd needs a directory");
  return {
    mode: "serve",
    server: { ...server, idleTimeout: undefined },
    allow,
    timeout: timeout === undefined
      ? DEFAULTS.timeout
      : parseSeconds(timeout, "timeout"),
    maxOutput: maxOutput === undefined
      ? DEFAULTS.maxOutput
      : parsePositiveInt(maxOutput, "max-output"),
    maxCommands: maxCommands === undefined
      ? DEFAULTS.maxCommands
      : parsePositiveInt(maxCommands, "max-commands"),
    maxLineBytes: maxFrame === undefined
      ? DEFAULTS.maxLineBytes
      : parseMaxFrame(maxFrame),
    idleTimeout: server.idleTimeout ?? DEFAULTS.idleTimeout,
    tokenTimeout: tokenTimeout === undefined
      ? DEFAULTS.tokenTimeout
      : parseSeconds(tokenTimeout, "token-timeout"),
    tokenFile: tokenFileFlag(flags),
    insecure: flags.set.has("insecure"),
    cwd,
  };
}

/** `--max-frame`: at least 16 bytes, the shortest line limit the protocol takes. */
function parseMaxFrame(text: string): number {
  const n = parsePositiveInt(text, "max-frame");
  if (n < 16) {
    throw new UsageError(
      `--max-frame must be an integer >= 16, not ${JSON.stringify(text)}`,
    );
  }
  return n;
}

function tokenFileFlag(flags: Flags): string | undefined {
  const file = flags.values.get("token-file");
  if (file === "") throw new UsageError("--token-file needs a path");
  return file;
}

/**
 * Parses `--connect`: `HOST:PORT`, `[IPv6]:PORT` or `unix:PATH`.
 *
 * @param text The flag's value.
 * @returns The address.
 * @throws {UsageError} If it is none of those.
 */
export function parseConnect(text: string): Address {
  if (text.startsWith("unix:")) {
    const path = text.slice(5);
    if (path === "") throw new UsageError("--connect unix: needs a path");
    return { path };
  }
  const match = /^(\[[^\]]*\]|[^:]*):([^:]*)$/.exec(text);
  if (match === null || match[1] === "") {
    throw new UsageError(
      `--connect must be HOST:PORT, [IPv6]:PORT or unix:PATH, not ${
        JSON.stringify(text)
      }`,
    );
  }
  return {
    hostname: parseHost(match[1]!, "connect"),
    port: parsePort(match[2]!, "connect"),
  };
}

/**
 * Reads a token file: its text without one trailing line end. The token
 * must be non-empty and one line.
 *
 * @param path The file.
 * @returns The token.
 * @throws {UsageError} If it cannot be read or holds no usable token.
 */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `--token-file ${path} cannot be read: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  const token = text.replace(/\r?\n$/, "");
  if (token === "" || /[\r\n\0]/.test(token)) {
    throw new UsageError(
      `--token-file ${path} must hold one non-empty line: the token`,
    );
  }
  return token;
}
