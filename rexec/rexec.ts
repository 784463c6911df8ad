/**
 * A restricted remote-command protocol, the Python tutorials' "remote
 * command server" made safe: {@linkcode serveCommands} runs the programs of
 * an allow-list that clients name, one request per line, and answers with
 * framed output and the exit status; {@linkcode runRemoteCommand} and
 * {@linkcode CommandClient} are the client side.
 *
 * What the server guarantees:
 *
 * - Only programs on the allow-list run, each started directly by its
 *   absolute path with its arguments — never through a shell, so `;`,
 *   `$(…)`, backticks, `|`, `&&`, `>`, globs and quotes are plain argument
 *   text. A request's first word must equal an allowed name exactly: never a
 *   path, and never looked up in `PATH` again after startup.
 * - Each command gets a minimal environment (nothing of the server's is
 *   inherited), stdin from `/dev/null`, a time limit (then SIGKILL) and an
 *   output limit (then SIGKILL, and the reply says the output was cut).
 * - A bad request gets an error reply naming the error, and the connection
 *   keeps serving the next request.
 * - A host other than loopback needs a shared-secret token (or an explicit
 *   `insecure: true`); the token is compared in constant time.
 *
 * ## The protocol (version 1)
 *
 * **Requests** go client → server, one per line: UTF-8 text ended by `\n`
 * (`\r\n` also works), at most `maxLineBytes` bytes (8192) without the line
 * end. A line becomes argv like this, and in no other way:
 *
 * 1. Spaces and tabs at the start of the line are skipped.
 * 2. If the line then starts with `[`, it must be a JSON array of strings
 *    (`["echo","a b"]`): its elements are argv, exactly. Use this form for
 *    arguments with spaces or tabs, empty arguments, or a first word
 *    starting with `[`.
 * 3. Otherwise the line is split at runs of spaces and tabs (ASCII 0x20 and
 *    0x09 only); the pieces are argv. Nothing else is special: no quotes, no
 *    escapes, no variables, no globs, no `~`, no comments.
 *
 * A request is refused (an `error` reply; the connection stays open) when it
 * is not valid UTF-8 (`InvalidUtf8`), longer than `maxLineBytes`
 * (`LineTooLong`; the rest of that line is skipped), empty or a bad JSON
 * array (`BadRequest`), has more than `maxArgs` arguments (256), a NUL byte
 * or a lone surrogate in an argument (`BadArguments`), or names a program
 * that is not allowed, or any path (`NotAllowed`). If the program cannot be
 * started, the reply is `SpawnFailed`. Requests are served one at a time, in
 * order; a client may send several before reading the replies.
 *
 * With a token, the first line must be `AUTH <token>` (the token is the rest
 * of the line), sent within `tokenTimeout` (5 s): the server answers
 * `ready`, or `Unauthorized` / `TokenTimeout` and closes the connection.
 * Without a token, an `AUTH` first line is answered `ready` too. A client
 * that sends no complete request for `idleTimeout` (60 s) gets `IdleTimeout`
 * and is disconnected.
 *
 * **Replies** go server → client as frames: a 32-bit big-endian length
 * (`struct.pack("!I", n)`), then `n` bytes of body. The body's first byte is
 * its kind:
 *
 * | kind | name | body (`struct` format, then the rest) |
 * | ---: | --- | --- |
 * | 1 | `stdout` | `!B`, then output bytes (at most 64 KiB a frame) |
 * | 2 | `stderr` | `!B`, then output bytes (at most 64 KiB a frame) |
 * | 3 | `exit` | `!BBi`: kind, flags (1 = timed out and killed, 2 = output truncated), exit code (128 + n after signal n); then the signal's name in ASCII (`SIGKILL`), or nothing |
 * | 4 | `error` | `!BB`: kind, length of the name; then the error's name in ASCII (`NotAllowed`), then a message in UTF-8 |
 * | 5 | `ready` | `!BB`: kind, protocol version (1) |
 *
 * Every request gets zero or more `stdout`/`stderr` frames (in the order the
 * output arrived) and then exactly one `exit` or `error` frame.
 *
 * A Python client:
 *
 * ```python
 * import socket, struct
 * s = socket.create_connection(("127.0.0.1", port))
 * s.sendall(b"echo hello; rm -rf /\n")
 * f = s.makefile("rb")
 * while True:
 *     (n,) = struct.unpack("!I", f.read(4))
 *     body = f.read(n)
 *     if body[0] in (1, 2): print(body[1:])            # b'hello; rm -rf /\n'
 *     elif body[0] == 3: print(struct.unpack("!BBi", body[:6])[2]); break
 *     elif body[0] == 4: print(body[2:2 + body[1]], body[2 + body[1]:]); break
 * ```
 *
 * @example Serve `echo` and run it remotely
 * ```ts
 * import { runRemoteCommand, serveCommands } from "./rexec.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveCommands({ port: 0 }, { allow: ["echo"] });
 * const result = await runRemoteCommand(server.addr, ["echo", "a;b", "$(id)"]);
 * assertEquals(new TextDecoder().decode(result.stdout), "a;b $(id)\n");
 * assertEquals(result.code, 0);
 * ```
 *
 * @module
 */
import { DelimiterDecoder } from "../framing/delimiter.ts";
import {
  type FrameTooLargeError,
  MalformedFrameError,
} from "../framing/errors.ts";
import { LengthPrefixDecoder } from "../framing/length_prefix.ts";
import { Struct } from "../framing/struct.ts";
import {
  type Address,
  formatAddress,
  type SocketAddress,
} from "../net/address.ts";
import { DEFAULT_HOSTNAME } from "../_internal/address.ts";
import { connect } from "../tcp/connect.ts";
import type { Connection } from "../tcp/connection.ts";
import { TimeoutError } from "../net/errors.ts";
import {
  type ConnectionHandler,
  listen,
  type ListenOptions,
  listenUnix,
  type Server,
} from "../tcp/listen.ts";
import { after } from "../_internal/timer.ts";
import {
  type CommandRunResult,
  type OutputStream,
  runCommand,
  SpawnError,
} from "./_runner.ts";

// ---------------------------------------------------------------------------
// Constants

/** The protocol version a `ready` reply announces. */
export const REXEC_PROTOCOL_VERSION = 1;

/** The kind byte that starts each reply body. */
export const COMMAND_REPLY_KIND: {
  readonly stdout: 1;
  readonly stderr: 2;
  readonly exit: 3;
  readonly error: 4;
  readonly ready: 5;
} = { stdout: 1, stderr: 2, exit: 3, error: 4, ready: 5 };

/** Bit of an `exit` reply's flags: the time limit killed the command. */
export const COMMAND_EXIT_TIMED_OUT = 1;
/** Bit of an `exit` reply's flags: the output passed the limit and was cut. */
export const COMMAND_EXIT_TRUNCATED = 2;

/** The environment a command gets by default: a `PATH`, nothing else. */
export const DEFAULT_COMMAND_ENV: Readonly<Record<string, string>> = Object
  .freeze({ PATH: "/usr/bin:/bin" });

const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const DEFAULT_MAX_LINE_BYTES = 8192;
const DEFAULT_MAX_ARGS = 256;
const DEFAULT_TOKEN_TIMEOUT = 5000;
const DEFAULT_IDLE_TIMEOUT = 60_000;
const DEFAULT_WRITE_TIMEOUT = 10_000;
const DEFAULT_CONNECT_TIMEOUT = 10_000;
const DEFAULT_CLIENT_MAX_OUTPUT = 64 * 1024 * 1024;
/** Output bytes in one `stdout`/`stderr` frame, at most. */
const MAX_OUTPUT_FRAME = 64 * 1024;
/** The largest reply frame a client accepts (servers send far smaller). */
const MAX_REPLY_FRAME = 1024 * 1024;
/** After refusing a client, how long to wait for its EOF before closing. */
const LINGER = 500;

const OUTPUT_PREFIX = new Struct("!IB");
const EXIT_HEADER = new Struct("!BBi");
const ERROR_HEADER = new Struct("!BB");
const READY_BODY = new Struct("!BB");

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder();
const AUTH_PREFIX = encoder.encode("AUTH");

// ---------------------------------------------------------------------------
// Errors and replies

/**
 * Why a server refused a request: the name in an `error` reply.
 *
 * - `BadRequest`: an empty line, or a `[` line that is not a JSON array of
 *   strings
 * - `BadArguments`: too many arguments, a NUL byte or a lone surrogate
 * - `LineTooLong`: more than `maxLineBytes` bytes before the line end
 * - `InvalidUtf8`: the line is not UTF-8
 * - `NotAllowed`: the program is not on the allow-list (or is a path)
 * - `SpawnFailed`: the program could not be started
 * - `Unauthorized`: no token, or a wrong one (the connection is closed)
 * - `TokenTimeout`: no token line in time (the connection is closed)
 * - `IdleTimeout`: no request in time (the connection is closed)
 */
export type CommandErrorReason =
  | "BadRequest"
  | "BadArguments"
  | "LineTooLong"
  | "InvalidUtf8"
  | "NotAllowed"
  | "SpawnFailed"
  | "Unauthorized"
  | "TokenTimeout"
  | "IdleTimeout";

/**
 * A request was refused: thrown by {@linkcode parseCommandLine} for a line
 * that is not a request, and by the client when the server answers with an
 * `error` reply. `reason` is the error's name ({@linkcode CommandErrorReason}
 * from a sockit server; any text from another).
 *
 * @example Telling refusals apart
 * ```ts
 * import { CommandRefusedError, parseCommandLine } from "./rexec.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const error = assertThrows(() => parseCommandLine('["echo", 1]'));
 * assertEquals((error as CommandRefusedError).reason, "BadRequest");
 * ```
 */
export class CommandRefusedError extends Error {
  /** The error's name: `NotAllowed`, `BadRequest`, … */
  readonly reason: string;
  /** What was refused and why: the message without the reason. */
  readonly detail: string;

  /**
   * Creates a `CommandRefusedError`; its message is `reason: detail`.
   *
   * @param reason The error's name.
   * @param detail What was refused and why.
   */
  constructor(reason: string, detail: string) {
    super(`${reason}: ${detail}`);
    this.name = "CommandRefusedError";
    this.reason = reason;
    this.detail = detail;
  }
}

/** How a remote command ended: the facts of an `exit` reply. */
export interface CommandExit {
  /** The exit code; 128 + n when signal n ended it (137 for SIGKILL). */
  code: number;
  /** The signal that ended it (`"SIGKILL"`), or `null`. */
  signal: string | null;
  /** Whether the time limit killed it. */
  timedOut: boolean;
  /** Whether its output passed the limit and was cut there. */
  truncated: boolean;
}

/** One reply frame's body, decoded by {@linkcode decodeCommandReply}. */
export type CommandReply =
  | { kind: "stdout"; data: Uint8Array }
  | { kind: "stderr"; data: Uint8Array }
  | ({ kind: "exit" } & CommandExit)
  | { kind: "error"; reason: string; message: string }
  | { kind: "ready"; version: number };

/**
 * Decodes the body of one reply frame (the bytes after its 32-bit length).
 *
 * @param body The frame's body.
 * @returns The reply; output `data` is a view of `body`.
 * @throws {MalformedFrameError} If the body is not a reply; `offset` is the
 * offending byte's index in `body`.
 *
 * @example An exit reply
 * ```ts
 * import { decodeCommandReply } from "./rexec.ts";
 * import { pack } from "../framing/struct.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const reply = decodeCommandReply(pack("!BBi", 3, 0, 2));
 * assertEquals(reply, {
 *   kind: "exit",
 *   code: 2,
 *   signal: null,
 *   timedOut: false,
 *   truncated: false,
 * });
 * ```
 */
export function decodeCommandReply(body: Uint8Array): CommandReply {
  const kind = body[0];
  switch (kind) {
    case COMMAND_REPLY_KIND.stdout:
      return { kind: "stdout", data: body.subarray(1) };
    case COMMAND_REPLY_KIND.stderr:
      return { kind: "stderr", data: body.subarray(1) };
    case COMMAND_REPLY_KIND.exit: {
      if (body.length < EXIT_HEADER.size) {
        throw new MalformedFrameError(
          `an exit reply needs ${EXIT_HEADER.size} bytes, got ${body.length}`,
          body.length,
        );
      }
      const [, flags, code] = EXIT_HEADER.unpackFrom(body, 0);
      const signal = lenient.decode(body.subarray(EXIT_HEADER.size));
      return {
        kind: "exit",
        code,
        signal: signal === "" ? null : signal,
        timedOut: (flags & COMMAND_EXIT_TIMED_OUT) !== 0,
        truncated: (flags & COMMAND_EXIT_TRUNCATED) !== 0,
      };
    }
    case COMMAND_REPLY_KIND.error: {
      const length = body[1];
      if (length === undefined || body.length < 2 + length) {
        throw new MalformedFrameError(
          "an error reply is cut off inside its name",
          body.length,
        );
      }
      return {
        kind: "error",
        reason: lenient.decode(body.subarray(2, 2 + length)),
        message: lenient.decode(body.subarray(2 + length)),
      };
    }
    case COMMAND_REPLY_KIND.ready: {
      const version = body[1];
      if (version === undefined) {
        throw new MalformedFrameError(
          "a ready reply needs its version byte",
          1,
        );
      }
      return { kind: "ready", version };
    }
    default:
      throw new MalformedFrameError(
        kind === undefined
          ? "a reply needs at least its kind byte"
          : `unknown reply kind ${kind}`,
        0,
      );
  }
}

/** Frames a reply body: its 32-bit big-endian length, then the body. */
function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

function outputFrame(stream: OutputStream, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(OUTPUT_PREFIX.size + data.length);
  OUTPUT_PREFIX.packInto(out, 0, data.length + 1, COMMAND_REPLY_KIND[stream]);
  out.set(data, OUTPUT_PREFIX.size);
  return out;
}

function exitFrame(exit: CommandExit): Uint8Array {
  const flags = (exit.timedOut ? COMMAND_EXIT_TIMED_OUT : 0) |
    (exit.truncated ? COMMAND_EXIT_TRUNCATED : 0);
  const signal = encoder.encode(exit.signal ?? "");
  const body = new Uint8Array(EXIT_HEADER.size + signal.length);
  EXIT_HEADER.packInto(body, 0, COMMAND_REPLY_KIND.exit, flags, exit.code);
  body.set(signal, EXIT_HEADER.size);
  return frame(body);
}

function errorFrame(reason: CommandErrorReason, message: string): Uint8Array {
  const name = encoder.encode(reason);
  const text = encoder.encode(message);
  const body = new Uint8Array(ERROR_HEADER.size + name.length + text.length);
  ERROR_HEADER.packInto(body, 0, COMMAND_REPLY_KIND.error, name.length);
  body.set(name, ERROR_HEADER.size);
  body.set(text, ERROR_HEADER.size + name.length);
  return frame(body);
}

const READY_FRAME = frame(
  READY_BODY.pack(COMMAND_REPLY_KIND.ready, REXEC_PROTOCOL_VERSION),
);

// ---------------------------------------------------------------------------
// Request lines

/** Options for {@linkcode parseCommandLine}. */
export interface ParseCommandLineOptions {
  /**
   * The most words (program included) a request may have.
   *
   * @default {256}
   */
  maxArgs?: number;
}

/**
 * Turns one request line (without its line end) into argv, exactly as the
 * server does: a line starting with `[` (after spaces and tabs) is a JSON
 * array of strings; any other line is split at runs of spaces and tabs.
 * Nothing is expanded or unquoted: `$(…)`, `;`, quotes and `*` stay as they
 * are.
 *
 * @param line The request line.
 * @param options The argument limit.
 * @returns argv: the program's name, then its arguments.
 * @throws {CommandRefusedError} With reason `BadRequest` (empty, or a bad
 * JSON array) or `BadArguments` (too many, a NUL byte, a lone surrogate).
 *
 * @example Shell syntax is plain text
 * ```ts
 * import { parseCommandLine } from "./rexec.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseCommandLine("echo 'a b' $(id);ls"), [
 *   "echo",
 *   "'a",
 *   "b'",
 *   "$(id);ls",
 * ]);
 * assertEquals(parseCommandLine('["echo", "a b"]'), ["echo", "a b"]);
 * ```
 */
export function parseCommandLine(
  line: string,
  options: ParseCommandLineOptions = {},
): string[] {
  const maxArgs = options.maxArgs ?? DEFAULT_MAX_ARGS;
  const text = line.replace(/^[ \t]+/, "");
  if (text === "") {
    throw new CommandRefusedError(
      "BadRequest",
      "Cannot run an empty request: send a program's name and its arguments",
    );
  }
  let argv: string[];
  if (text.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new CommandRefusedError(
        "BadRequest",
        `Cannot parse a request starting with "[" as a JSON array: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    if (
      !Array.isArray(value) || value.length === 0 ||
      !value.every((item) => typeof item === "string")
    ) {
      throw new CommandRefusedError(
        "BadRequest",
        'Cannot run a JSON request that is not a non-empty array of strings: send ["program", "argument", …]',
      );
    }
    argv = value;
  } else {
    argv = text.split(/[ \t]+/);
    if (argv.at(-1) === "") argv.pop();
  }
  if (argv.length > maxArgs) {
    throw new CommandRefusedError(
      "BadArguments",
      `Cannot run a request of ${argv.length} words: the limit is ${maxArgs}`,
    );
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.includes("\0")) {
      throw new CommandRefusedError(
        "BadArguments",
        `Cannot pass word ${i} as it holds a NUL byte, which no program can receive`,
      );
    }
    if (!arg.isWellFormed()) {
      throw new CommandRefusedError(
        "BadArguments",
        `Cannot pass word ${i} as it holds a lone UTF-16 surrogate`,
      );
    }
  }
  if (argv[0] === "") {
    throw new CommandRefusedError(
      "BadRequest",
      "Cannot run a program with an empty name",
    );
  }
  return argv;
}

/**
 * Writes argv as a request line (without the `\n`) that
 * {@linkcode parseCommandLine} turns back into the same argv: words joined by
 * spaces when that is exact, else a JSON array.
 *
 * @param argv The program's name, then its arguments.
 * @returns The line.
 * @throws {TypeError} If `argv` is empty or holds a non-string.
 *
 * @example Arguments with spaces become JSON
 * ```ts
 * import { formatCommandLine } from "./rexec.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatCommandLine(["echo", "a;b"]), "echo a;b");
 * assertEquals(formatCommandLine(["echo", "a b"]), '["echo","a b"]');
 * ```
 */
export function formatCommandLine(argv: readonly string[]): string {
  if (
    !Array.isArray(argv) || argv.length === 0 ||
    !argv.every((arg) => typeof arg === "string")
  ) {
    throw new TypeError(
      "Cannot send a command that is not a non-empty array of strings",
    );
  }
  const plain = !argv[0]!.startsWith("[") &&
    argv.every((arg) => arg !== "" && !/[ \t\r\n]/.test(arg));
  return plain ? argv.join(" ") : JSON.stringify(argv);
}

// ---------------------------------------------------------------------------
// The allow-list

/** Options for {@linkcode CommandAllowList.resolve}. */
export interface ResolveAllowListOptions {
  /**
   * The search path for bare names, `:`-separated. Only absolute
   * directories are searched: empty and relative entries (`""`, `.`,
   * `bin`) are skipped, so the server's working directory never matters.
   *
   * @default {the `PATH` environment variable}
   */
  searchPath?: string;
}

/** What {@linkcode CommandAllowList.checkRunPermission} insists on. */
export interface CheckRunPermissionOptions {
  /**
   * Also refuse an unscoped `--allow-run` (which lets Deno run any
   * program), so Deno's permissions repeat the allow-list.
   *
   * @default {false}
   */
  requireScoped?: boolean;
}

const NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
const ABSOLUTE = /^(?:\/[A-Za-z0-9_+][A-Za-z0-9._+-]*)+$/;

/**
 * The programs a command server may run: each a bare name that clients use
 * (`date`) and the absolute path it was resolved to once, at startup
 * (`/usr/bin/date`). Entries are bare names, searched in `PATH`, or
 * absolute paths, allowed under their last component's name.
 *
 * @example Resolve names once
 * ```ts
 * import { CommandAllowList } from "./rexec.ts";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const allow = await CommandAllowList.resolve(["echo"]);
 * assertEquals(allow.names, ["echo"]);
 * assert(allow.pathOf("echo")!.startsWith("/"));
 * assertEquals(allow.pathOf("/bin/echo"), undefined); // never a path
 * ```
 */
export class CommandAllowList {
  readonly #programs: ReadonlyMap<string, string>;

  /**
   * Makes an allow-list from names and absolute paths that are already
   * resolved. Use {@linkcode CommandAllowList.resolve} to look names up.
   *
   * @param programs Each allowed name and the absolute path it runs.
   * @throws {TypeError} If a name is not a bare program name or a path is
   * not a normalized absolute path.
   */
  constructor(programs: Iterable<readonly [string, string]>) {
    const map = new Map<string, string>();
    for (const [name, path] of programs) {
      if (typeof name !== "string" || !NAME.test(name)) {
        throw new TypeError(
          `Cannot allow ${
            JSON.stringify(name)
          }: a program name is letters, digits and . _ + - (not starting with . or -), never a path`,
        );
      }
      if (typeof path !== "string" || !isNormalizedAbsolute(path)) {
        throw new TypeError(
          `Cannot allow ${name} as ${
            JSON.stringify(path)
          }: give a normalized absolute path`,
        );
      }
      const known = map.get(name);
      if (known !== undefined && known !== path) {
        throw new TypeError(
          `Cannot allow ${name} twice, as ${known} and as ${path}: a name must mean one program`,
        );
      }
      map.set(name, path);
    }
    if (map.size === 0) {
      throw new TypeError(
        "Cannot serve commands without an allow-list: name at least one program",
      );
    }
    this.#programs = map;
  }

  /**
   * Resolves allow-list entries: a bare name (`date`) is looked up in the
   * search path, the first absolute directory holding an executable file of
   * that name winning; an absolute path (`/opt/bin/report`) must be an
   * executable file and is allowed as its last component (`report`).
   * Relative paths (`./x`, `../bin/x`, `bin/x`) are refused.
   *
   * @param entries Names and absolute paths.
   * @param options The search path.
   * @returns The allow-list.
   * @throws {TypeError} If an entry is neither a bare name nor an absolute
   * path, two entries share a name, or there are none.
   * @throws {Deno.errors.NotFound} If a program is not found or not
   * executable.
   */
  static async resolve(
    entries: readonly string[],
    options: ResolveAllowListOptions = {},
  ): Promise<CommandAllowList> {
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new TypeError(
        "Cannot serve commands without an allow-list: name at least one program",
      );
    }
    const searchPath = options.searchPath ?? Deno.env.get("PATH") ?? "";
    const dirs = searchPath.split(":")
      .filter((dir) => dir.startsWith("/"))
      .map((dir) => dir.length > 1 ? dir.replace(/\/+$/, "") : dir);
    const resolved: [string, string][] = [];
    for (const entry of entries) {
      if (typeof entry !== "string") {
        throw new TypeError(
          `Cannot allow ${String(entry)}: give a program name or path`,
        );
      }
      if (entry.startsWith("/")) {
        if (!isNormalizedAbsolute(entry)) {
          throw new TypeError(
            `Cannot allow ${
              JSON.stringify(entry)
            }: give a normalized absolute path (no . or .. parts, no //)`,
          );
        }
        if (!(await isExecutableFile(entry))) {
          throw new Deno.errors.NotFound(
            `Cannot allow ${entry}: it is not an executable file`,
          );
        }
        resolved.push([entry.slice(entry.lastIndexOf("/") + 1), entry]);
        continue;
      }
      if (!NAME.test(entry)) {
        throw new TypeError(
          `Cannot allow ${
            JSON.stringify(entry)
          }: give a bare program name (letters, digits and . _ + -, not starting with . or -) or an absolute path, never a relative path`,
        );
      }
      let found: string | undefined;
      for (const dir of dirs) {
        const candidate = dir === "/" ? `/${entry}` : `${dir}/${entry}`;
        if (await isExecutableFile(candidate)) {
          found = candidate;
          break;
        }
      }
      if (found === undefined) {
        throw new Deno.errors.NotFound(
          `Cannot allow ${entry}: no executable of that name in the absolute directories of PATH (${
            dirs.join(":") || "none"
          })`,
        );
      }
      resolved.push([entry, found]);
    }
    return new CommandAllowList(resolved);
  }

  /** The allowed names, in the order given. */
  get names(): string[] {
    return [...this.#programs.keys()];
  }

  /** Each allowed name and the absolute path it runs. */
  get programs(): ReadonlyMap<string, string> {
    return this.#programs;
  }

  /**
   * The `--allow-run` flag that grants exactly these programs:
   * `--allow-run=/usr/bin/date,/usr/bin/echo`.
   */
  get runFlag(): string {
    return `--allow-run=${[...new Set(this.#programs.values())].join(",")}`;
  }

  /**
   * The absolute path that `name` runs, or `undefined` if `name` is not
   * exactly an allowed name (a path never is).
   *
   * @param name A request's first word.
   * @returns The path, or `undefined`.
   */
  pathOf(name: string): string | undefined {
    return this.#programs.get(name);
  }

  /**
   * Checks that Deno's permissions let this process run every allowed
   * program (`Deno.permissions.querySync`, no prompt), so a command never
   * fails for want of `--allow-run`; with `requireScoped`, also that
   * `--allow-run` is not unscoped.
   *
   * @param options Whether to refuse an unscoped `--allow-run`.
   * @throws {Deno.errors.NotCapable} Naming the flag to use,
   * {@linkcode runFlag}.
   */
  checkRunPermission(options: CheckRunPermissionOptions = {}): void {
    const missing = [...new Set(this.#programs.values())].filter((command) =>
      Deno.permissions.querySync({ name: "run", command }).state !== "granted"
    );
    if (missing.length > 0) {
      throw new Deno.errors.NotCapable(
        `Cannot serve commands as Deno may not run ${
          missing.join(", ")
        }: start with ${this.runFlag} (exactly the allowed programs)`,
      );
    }
    if (
      options.requireScoped &&
      Deno.permissions.querySync({ name: "run" }).state === "granted"
    ) {
      throw new Deno.errors.NotCapable(
        `Cannot serve commands with an unscoped --allow-run, which lets Deno run any program: start with ${this.runFlag} (exactly the allowed programs)`,
      );
    }
  }
}

function isNormalizedAbsolute(path: string): boolean {
  return ABSOLUTE.test(path) &&
    !path.split("/").some((part) => part === "." || part === "..");
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotADirectory
    ) {
      return false;
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Exposure

/** Options for {@linkcode checkCommandServerAddress}. */
export interface CommandServerExposureOptions {
  /** The shared secret clients must present. */
  token?: string;
  /**
   * Serve a host other than loopback without a token: anyone who can
   * connect may run the allowed programs.
   *
   * @default {false}
   */
  insecure?: boolean;
}

/**
 * Whether `hostname` is a loopback address: `127.0.0.0/8`, `::1`
 * (also as `::ffff:127.x.y.z`) or `localhost`.
 *
 * @param hostname A host name or IP address (IPv6 with or without brackets).
 * @returns `true` for loopback.
 *
 * @example Loopback or not
 * ```ts
 * import { isLoopbackHost } from "./rexec.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(isLoopbackHost("127.0.0.1"), true);
 * assertEquals(isLoopbackHost("[::1]"), true);
 * assertEquals(isLoopbackHost("0.0.0.0"), false);
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1") return true;
  if (/^(?:0{0,4}:){7}0{0,3}1$/.test(host)) return true; // ::1 written out
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
    .exec(host);
  return v4 !== null && Number(v4[1]) === 127 &&
    v4.slice(2).every((part) => Number(part) <= 255);
}

/**
 * Refuses to expose a command server beyond this machine without a token:
 * a TCP address whose host is not loopback needs `token` or `insecure`.
 * Unix sockets are local (their file permissions decide who connects).
 *
 * @param address Where the server will listen.
 * @param options The token, or `insecure`.
 * @throws {TypeError} If the address is exposed without either.
 *
 * @example Exposed only with a token
 * ```ts
 * import { checkCommandServerAddress } from "./rexec.ts";
 * import { assertThrows } from "@std/assert";
 *
 * checkCommandServerAddress({ port: 0 }, {}); // 127.0.0.1: fine
 * checkCommandServerAddress({ hostname: "0.0.0.0", port: 0 }, { token: "s3cret" });
 * assertThrows(() => checkCommandServerAddress({ hostname: "0.0.0.0", port: 0 }, {}));
 * ```
 */
export function checkCommandServerAddress(
  address: Address,
  options: CommandServerExposureOptions,
): void {
  if ("path" in address) return;
  const host = address.hostname ?? DEFAULT_HOSTNAME;
  if (
    isLoopbackHost(host) || options.token !== undefined ||
    options.insecure === true
  ) {
    return;
  }
  throw new TypeError(
    `Cannot serve commands on ${
      formatAddress(address)
    } without a token: a host other than loopback needs a token (or insecure, to let anyone who can connect run the allowed programs)`,
  );
}

// ---------------------------------------------------------------------------
// The server

/** What happened to one request: for logs. */
export type CommandEvent =
  | {
    /** The command ran. */
    type: "exit";
    /** The client: `127.0.0.1:50000`, or `unix:PATH` for a Unix socket. */
    peer: string;
    /** The command. */
    argv: readonly string[];
    /** How it ended. */
    exit: CommandExit;
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

/** Options for {@linkcode createCommandHandler}. */
export interface CommandHandlerOptions {
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
   * The longest request line, in bytes, without its line end.
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
   * A shared secret: each client must first send `AUTH <token>`. Compared in
   * constant time. No newline, carriage return or NUL.
   */
  token?: string;
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
   * The commands' working directory.
   *
   * @default {the server's}
   */
  cwd?: string;
  /**
   * The commands' whole environment; nothing of the server's is inherited.
   *
   * @default {DEFAULT_COMMAND_ENV: `{ PATH: "/usr/bin:/bin" }`}
   */
  env?: Readonly<Record<string, string>>;
  /** Told of each request's outcome (for logs). */
  onCommand?: (event: CommandEvent) => void;
}

interface HandlerConfig {
  allowList: CommandAllowList;
  timeout: number;
  maxOutput: number;
  maxLineBytes: number;
  maxArgs: number;
  token: Uint8Array | undefined;
  tokenTimeout: number;
  idleTimeout: number;
  writeTimeout: number;
  cwd: string | undefined;
  env: Readonly<Record<string, string>>;
  onCommand: ((event: CommandEvent) => void) | undefined;
}

function checkMs(value: number | undefined, name: string, fallback: number) {
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

function handlerConfig(
  allowList: CommandAllowList,
  options: CommandHandlerOptions,
): HandlerConfig {
  if (!(allowList instanceof CommandAllowList)) {
    throw new TypeError(
      "Cannot serve commands without a CommandAllowList: use CommandAllowList.resolve()",
    );
  }
  const maxLineBytes = checkCount(
    options.maxLineBytes,
    "maxLineBytes",
    DEFAULT_MAX_LINE_BYTES,
    16,
  );
  const { token } = options;
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
    cwd: options.cwd,
    env: { ...env },
    onCommand: options.onCommand,
  };
}

/**
 * The connection handler of a command server, for `listen()` or any server
 * that hands out {@linkcode Connection}s: it speaks the protocol of this
 * module on each connection, running programs of `allowList`.
 * {@linkcode serveCommands} is this plus the checks and the listening.
 *
 * @param allowList The programs that may run.
 * @param options Limits, token, environment and a log callback.
 * @returns A handler for `listen()`.
 * @throws {RangeError} If a limit is out of range.
 * @throws {TypeError} If the token or env is unusable.
 *
 * @example Behind your own listen()
 * ```ts
 * import { CommandAllowList, createCommandHandler, runRemoteCommand } from "./rexec.ts";
 * import { listen } from "../tcp/listen.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const allow = await CommandAllowList.resolve(["echo"]);
 * await using server = listen({ port: 0 }, createCommandHandler(allow, { timeout: 2000 }));
 * const result = await runRemoteCommand(server.addr, ["echo", "hi"]);
 * assertEquals(new TextDecoder().decode(result.stdout), "hi\n");
 * ```
 */
export function createCommandHandler(
  allowList: CommandAllowList,
  options: CommandHandlerOptions = {},
): ConnectionHandler {
  const config = handlerConfig(allowList, options);
  const expected = config.token === undefined
    ? undefined
    : digest(config.token);
  return (conn) => new CommandSession(conn, config, expected).serve();
}

/** Options for {@linkcode serveCommands}. */
export interface ServeCommandsOptions
  extends
    CommandHandlerOptions,
    CommandServerExposureOptions,
    Omit<ListenOptions, "idleTimeout"> {
  /**
   * The programs that may run: bare names (looked up in `PATH` once, now)
   * or absolute paths, or a resolved {@linkcode CommandAllowList}.
   */
  allow: readonly string[] | CommandAllowList;
  /**
   * Refuse to start under an unscoped `--allow-run` (see
   * {@linkcode CommandAllowList.checkRunPermission}).
   *
   * @default {false}
   */
  requireScopedRun?: boolean;
}

/**
 * Starts a command server: resolves the allow-list, checks that Deno may
 * run each program (and, with `requireScopedRun`, nothing more), refuses a
 * host other than loopback without a token or `insecure`, then listens on
 * TCP (`{ hostname, port }`, `127.0.0.1` by default) or a Unix socket
 * (`{ path }`) and serves the protocol of this module to every client.
 *
 * @param address Where to listen.
 * @param options The allow-list, limits, token and listen options.
 * @returns The running server (`await using` shuts it down).
 * @throws {TypeError} If the allow-list is empty or bad, or the address is
 * exposed without a token.
 * @throws {Deno.errors.NotFound} If an allowed program does not exist.
 * @throws {Deno.errors.NotCapable} If Deno may not run an allowed program.
 *
 * @example A token-protected server
 * ```ts
 * import { CommandRefusedError, runRemoteCommand, serveCommands } from "./rexec.ts";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = await serveCommands({ port: 0 }, {
 *   allow: ["echo"],
 *   token: "s3cret-token",
 *   timeout: 5000,
 *   maxOutput: 65536,
 * });
 * const ok = await runRemoteCommand(server.addr, ["echo", "ok"], { token: "s3cret-token" });
 * assertEquals(ok.code, 0);
 * const error = await assertRejects(
 *   () => runRemoteCommand(server.addr, ["echo", "no"], { token: "guess" }),
 *   CommandRefusedError,
 * );
 * assertEquals(error.reason, "Unauthorized");
 * ```
 */
export async function serveCommands(
  address: Address,
  options: ServeCommandsOptions,
): Promise<Server> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      "Cannot serve commands without options: give at least { allow }",
    );
  }
  checkCommandServerAddress(address, options);
  const allowList = options.allow instanceof CommandAllowList
    ? options.allow
    : await CommandAllowList.resolve(options.allow);
  allowList.checkRunPermission({
    requireScoped: options.requireScopedRun ?? false,
  });
  const handler = createCommandHandler(allowList, options);
  const listenOptions: ListenOptions = {};
  if (options.maxConnections !== undefined) {
    listenOptions.maxConnections = options.maxConnections;
  }
  if (options.signal !== undefined) listenOptions.signal = options.signal;
  if (options.onError !== undefined) listenOptions.onError = options.onError;
  if (options.gracePeriod !== undefined) {
    listenOptions.gracePeriod = options.gracePeriod;
  }
  if (options.replaceStaleSocket !== undefined) {
    listenOptions.replaceStaleSocket = options.replaceStaleSocket;
  }
  return "path" in address
    ? await listenUnix(address, handler, listenOptions)
    : listen(address, handler, listenOptions);
}

function digest(bytes: Uint8Array): Promise<Uint8Array> {
  return crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)
    .then((hash) => new Uint8Array(hash));
}

/** Compares two SHA-256 digests in time independent of their contents. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** What the line reader hands out: a line, or news of a skipped one. */
type LineItem = { line: Uint8Array } | { tooLong: FrameTooLargeError };

/** Reads request lines from a connection, with a deadline per line. */
class LineReader {
  readonly #conn: Connection;
  readonly #decoder: DelimiterDecoder;
  readonly #queue: LineItem[] = [];
  #head = 0;
  #ended = false;
  readonly #sink = (line: Uint8Array) => {
    this.#queue.push({ line });
  };

  constructor(conn: Connection, maxLineBytes: number) {
    this.#conn = conn;
    this.#decoder = new DelimiterDecoder({
      lines: true,
      maxFrameSize: maxLineBytes,
      onOversize: "skip",
      onSkip: (tooLong) => this.#queue.push({ tooLong }),
    });
  }

  /**
   * The next line, or `null` at EOF; rejects with `TimeoutError` if no
   * complete line arrives within `ms` (what arrived stays for the next
   * call).
   */
  async next(ms: number, what: string): Promise<LineItem | null> {
    if (this.#head === this.#queue.length && !this.#ended) {
      const controller = new AbortController();
      const cancel = after(ms, () => {
        controller.abort(
          new TimeoutError(`Cannot wait longer than ${ms} ms for ${what}`, ms),
        );
      });
      try {
        while (this.#head === this.#queue.length) {
          const chunk = await this.#conn.read({ signal: controller.signal });
          if (chunk === null) {
            this.#ended = true;
            // A graceful shutdown stopped reading: a partial line is not a
            // request. The peer's EOF ends its last line.
            if (!this.#conn.readingStopped) this.#decoder.end(this.#sink);
            break;
          }
          this.#decoder.push(chunk, this.#sink);
        }
      } finally {
        cancel();
      }
    }
    if (this.#head === this.#queue.length) return null;
    const item = this.#queue[this.#head++]!;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    return item;
  }
}

/** Errors that mean the client is gone (or we gave up on it). */
function isGone(error: unknown): boolean {
  return error instanceof TimeoutError ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}

/** One client of a command server. */
class CommandSession {
  readonly #conn: Connection;
  readonly #config: HandlerConfig;
  readonly #expected: Promise<Uint8Array> | undefined;
  readonly #lines: LineReader;
  readonly #peer: string;

  constructor(
    conn: Connection,
    config: HandlerConfig,
    expected: Promise<Uint8Array> | undefined,
  ) {
    this.#conn = conn;
    this.#config = config;
    this.#expected = expected;
    this.#lines = new LineReader(conn, config.maxLineBytes);
    this.#peer = formatPeer(conn);
    // Replies are whole frames, and an exit frame often follows an output
    // frame at once: Nagle's algorithm would hold it for the client's
    // delayed ACK (40 ms a command).
    if (conn.localAddr.transport === "tcp") conn.setNoDelay(true);
  }

  async serve(): Promise<void> {
    try {
      let first = true;
      if (this.#expected !== undefined) {
        if (!(await this.#authenticate(this.#expected))) return;
        first = false;
      }
      for (;;) {
        let item: LineItem | null;
        try {
          item = await this.#lines.next(
            this.#config.idleTimeout,
            "a request line",
          );
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
          await this.#refuseAndClose(
            "IdleTimeout",
            `Cannot wait longer than ${this.#config.idleTimeout} ms for a request: closing the connection`,
          );
          return;
        }
        if (item === null) return;
        if (first && "line" in item && authToken(item.line) !== undefined) {
          await this.#send(READY_FRAME); // no token needed: any AUTH is fine
        } else {
          await this.#request(item);
        }
        first = false;
      }
    } catch (error) {
      if (isGone(error)) return; // the client left, or read nothing
      throw error;
    }
  }

  async #authenticate(expected: Promise<Uint8Array>): Promise<boolean> {
    let item: LineItem | null;
    try {
      item = await this.#lines.next(this.#config.tokenTimeout, "the token");
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      await this.#refuseAndClose(
        "TokenTimeout",
        `Cannot authenticate: no complete "AUTH <token>" line within ${this.#config.tokenTimeout} ms`,
      );
      return false;
    }
    if (item === null) return false;
    const presented = "line" in item ? authToken(item.line) : undefined;
    if (presented === undefined) {
      await this.#refuseAndClose(
        "Unauthorized",
        'Cannot serve this connection: send "AUTH <token>" as the first line',
      );
      return false;
    }
    const [want, got] = await Promise.all([expected, digest(presented)]);
    if (!sameDigest(want, got)) {
      await this.#refuseAndClose(
        "Unauthorized",
        "Cannot serve this connection: the token is wrong",
      );
      return false;
    }
    await this.#send(READY_FRAME);
    return true;
  }

  async #request(item: LineItem): Promise<void> {
    if ("tooLong" in item) {
      await this.#refuse(
        "LineTooLong",
        `Cannot read a request line longer than ${this.#config.maxLineBytes} bytes: the rest of the line is skipped`,
        undefined,
      );
      return;
    }
    let line: string;
    try {
      line = utf8.decode(item.line);
    } catch {
      await this.#refuse(
        "InvalidUtf8",
        "Cannot read the request as it is not valid UTF-8",
        undefined,
      );
      return;
    }
    let argv: string[];
    try {
      argv = parseCommandLine(line, { maxArgs: this.#config.maxArgs });
    } catch (error) {
      if (!(error instanceof CommandRefusedError)) throw error;
      await this.#refuse(
        error.reason as CommandErrorReason,
        error.detail,
        undefined,
      );
      return;
    }
    const name = argv[0]!;
    const program = this.#config.allowList.pathOf(name);
    if (program === undefined) {
      const allowed = this.#config.allowList.names.join(", ");
      await this.#refuse(
        "NotAllowed",
        name.includes("/")
          ? `Cannot run ${
            JSON.stringify(name)
          }: a command is a bare name from the allow-list, never a path (allowed: ${allowed})`
          : `Cannot run ${
            JSON.stringify(name)
          }: it is not on the allow-list (allowed: ${allowed})`,
        argv,
      );
      return;
    }
    await this.#run(program, argv);
  }

  async #run(program: string, argv: readonly string[]): Promise<void> {
    const config = this.#config;
    let result: CommandRunResult;
    try {
      result = await runCommand(program, {
        args: argv.slice(1),
        cwd: config.cwd,
        env: config.env,
        timeout: config.timeout,
        maxOutput: config.maxOutput,
        onOutput: async (stream, data) => {
          for (let at = 0; at < data.length; at += MAX_OUTPUT_FRAME) {
            await this.#send(
              outputFrame(stream, data.subarray(at, at + MAX_OUTPUT_FRAME)),
            );
          }
        },
      });
    } catch (error) {
      if (!(error instanceof SpawnError)) throw error;
      await this.#refuse(
        "SpawnFailed",
        `Cannot start ${argv[0]}: ${
          error.cause instanceof Error ? error.cause.message : String(error)
        }`,
        argv,
      );
      return;
    }
    const exit: CommandExit = {
      code: result.code,
      signal: result.signal,
      timedOut: result.timedOut,
      truncated: result.truncated,
    };
    await this.#send(exitFrame(exit));
    config.onCommand?.({
      type: "exit",
      peer: this.#peer,
      argv,
      exit,
      outputBytes: result.outputBytes,
      duration: result.duration,
    });
  }

  async #refuse(
    reason: CommandErrorReason,
    message: string,
    argv: readonly string[] | undefined,
  ): Promise<void> {
    await this.#send(errorFrame(reason, message));
    this.#config.onCommand?.({
      type: "refused",
      peer: this.#peer,
      argv,
      reason,
      message,
    });
  }

  /**
   * Refuses, then ends the connection so that the error reply arrives:
   * FIN first, then waiting briefly for the client's EOF, so that unread
   * data of its does not turn our close into a reset that loses the reply.
   */
  async #refuseAndClose(
    reason: CommandErrorReason,
    message: string,
  ): Promise<void> {
    await this.#refuse(reason, message, undefined);
    await this.#conn.shutdown("write");
    const controller = new AbortController();
    const cancel = after(LINGER, () => controller.abort());
    try {
      let drained = 0;
      while (drained < 65536) {
        const data = await this.#conn.read({ signal: controller.signal });
        if (data === null) break;
        drained += data.length;
      }
    } catch {
      // Out of patience, or the client reset: close either way.
    } finally {
      cancel();
    }
  }

  /** Writes a reply, giving up on a client that reads nothing. */
  async #send(bytes: Uint8Array): Promise<void> {
    const ms = this.#config.writeTimeout;
    let timedOut = false;
    const cancel = after(ms, () => {
      timedOut = true;
      this.#conn.close();
    });
    try {
      await this.#conn.write(bytes);
    } catch (error) {
      if (timedOut) {
        throw new TimeoutError(
          `Cannot write to ${this.#peer}: it read nothing for ${ms} ms`,
          ms,
          { cause: error },
        );
      }
      throw error;
    } finally {
      cancel();
    }
  }
}

/** The bytes after `AUTH ` on a line that is an AUTH line, else `undefined`. */
function authToken(line: Uint8Array): Uint8Array | undefined {
  if (line.length < AUTH_PREFIX.length) return undefined;
  for (let i = 0; i < AUTH_PREFIX.length; i++) {
    if (line[i] !== AUTH_PREFIX[i]) return undefined;
  }
  if (line.length === AUTH_PREFIX.length) return new Uint8Array(0);
  return line[AUTH_PREFIX.length] === 0x20
    ? line.subarray(AUTH_PREFIX.length + 1)
    : undefined;
}

function formatPeer(conn: Connection): string {
  return conn.remoteAddr.transport === "unix"
    ? formatAddress(conn.localAddr)
    : formatAddress(conn.remoteAddr);
}

// ---------------------------------------------------------------------------
// The client

/** Options for {@linkcode connectCommands}. */
export interface CommandClientOptions {
  /** The server's token: sent first as `AUTH <token>`. */
  token?: string;
  /**
   * Give up connecting (and authenticating) after this many milliseconds.
   *
   * @default {10000}
   */
  connectTimeout?: number;
  /** Aborts connecting. */
  signal?: AbortSignal;
  /**
   * Give up on a server that sends nothing for this many milliseconds
   * while a command runs (`TimeoutError`).
   *
   * @default {no limit: the server's own time limit applies}
   */
  readTimeout?: number;
}

/** Options for {@linkcode CommandClient.run}. */
export interface RunCommandOptions {
  /**
   * Receives the output as it arrives (awaited, so a slow consumer slows
   * the server). Without it, output is collected in the result.
   */
  onOutput?: (
    stream: "stdout" | "stderr",
    data: Uint8Array,
  ) => void | Promise<void>;
  /**
   * Collected output beyond this many bytes is an error (`RangeError`);
   * guards against a server that sends without end.
   *
   * @default {67108864}
   */
  maxOutput?: number;
}

/** How a remote command ended, and its output when collected. */
export interface RemoteCommandResult extends CommandExit {
  /** Whether it exited with code 0. */
  success: boolean;
  /** Its stdout (empty when `onOutput` took it). */
  stdout: Uint8Array;
  /** Its stderr (empty when `onOutput` took it). */
  stderr: Uint8Array;
}

/**
 * A connection to a command server that runs commands one after another.
 * A refused command throws {@linkcode CommandRefusedError} and the
 * connection stays usable (except after `Unauthorized`, `TokenTimeout` and
 * `IdleTimeout`, where the server closes it).
 *
 * @example Several commands on one connection
 * ```ts
 * import { CommandRefusedError, connectCommands, serveCommands } from "./rexec.ts";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = await serveCommands({ port: 0 }, { allow: ["echo"] });
 * await using client = await connectCommands(server.addr);
 * await assertRejects(() => client.run(["rm", "-rf", "/"]), CommandRefusedError);
 * const result = await client.run(["echo", "still", "here"]);
 * assertEquals(new TextDecoder().decode(result.stdout), "still here\n");
 * ```
 */
export class CommandClient implements AsyncDisposable, Disposable {
  readonly #conn: Connection;
  readonly #decoder = new LengthPrefixDecoder({
    header: "u32be",
    maxFrameSize: MAX_REPLY_FRAME,
  });
  readonly #frames: Uint8Array[] = [];
  #head = 0;
  #busy = false;

  /**
   * Wraps a connection to a command server. Use
   * {@linkcode connectCommands}, which also authenticates.
   *
   * @param conn The connection.
   */
  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** The connection underneath. */
  get connection(): Connection {
    return this.#conn;
  }

  /**
   * Runs one command and waits for its end.
   *
   * @param argv The program's allowed name, then its arguments.
   * @param options Where the output goes.
   * @returns The exit code, signal, flags and (collected) output.
   * @throws {CommandRefusedError} If the server refused it.
   * @throws {Deno.errors.UnexpectedEof} If the server closed the connection
   * first.
   * @throws {TypeError} If another command is running on this client.
   */
  async run(
    argv: readonly string[],
    options: RunCommandOptions = {},
  ): Promise<RemoteCommandResult> {
    if (this.#busy) {
      throw new TypeError(
        "Cannot run two commands at once on one CommandClient: await the first, or connect again",
      );
    }
    const line = formatCommandLine(argv);
    const maxOutput = options.maxOutput ?? DEFAULT_CLIENT_MAX_OUTPUT;
    const onOutput = options.onOutput;
    this.#busy = true;
    try {
      await this.#conn.write(`${line}\n`);
      const chunks: Record<"stdout" | "stderr", Uint8Array[]> = {
        stdout: [],
        stderr: [],
      };
      let collected = 0;
      for (;;) {
        const reply = await this.#reply(argv[0]!);
        switch (reply.kind) {
          case "stdout":
          case "stderr":
            if (onOutput !== undefined) {
              await onOutput(reply.kind, reply.data);
            } else {
              collected += reply.data.length;
              if (collected > maxOutput) {
                this.close();
                throw new RangeError(
                  `Cannot collect more than maxOutput ${maxOutput} bytes of output from ${
                    argv[0]
                  }: closed the connection`,
                );
              }
              chunks[reply.kind].push(reply.data);
            }
            break;
          case "exit":
            return {
              code: reply.code,
              signal: reply.signal,
              timedOut: reply.timedOut,
              truncated: reply.truncated,
              success: reply.code === 0,
              stdout: concat(chunks.stdout),
              stderr: concat(chunks.stderr),
            };
          case "error":
            throw new CommandRefusedError(reply.reason, reply.message);
          case "ready":
            throw new MalformedFrameError(
              "a ready reply came in answer to a command",
              0,
            );
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Sends `AUTH <token>` and waits for `ready`. {@linkcode connectCommands}
   * does this when given a token.
   *
   * @param token The server's token.
   * @throws {CommandRefusedError} `Unauthorized` (the server closes).
   */
  async authenticate(token: string): Promise<void> {
    if (typeof token !== "string" || /[\r\n]/.test(token)) {
      throw new TypeError(
        "Cannot send a token that is not a one-line string",
      );
    }
    await this.#conn.write(`AUTH ${token}\n`);
    const reply = await this.#reply("AUTH");
    if (reply.kind === "error") {
      throw new CommandRefusedError(reply.reason, reply.message);
    }
    if (reply.kind !== "ready") {
      throw new MalformedFrameError(
        `a ${reply.kind} reply came in answer to AUTH`,
        0,
      );
    }
  }

  /** Closes the connection at once (idempotent). */
  close(): void {
    this.#conn.close();
  }

  /** Closes the connection after pending writes. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#conn[Symbol.asyncDispose]();
  }

  /** Closes the connection at once. */
  [Symbol.dispose](): void {
    this.close();
  }

  async #reply(what: string): Promise<CommandReply> {
    while (this.#head === this.#frames.length) {
      this.#frames.length = 0;
      this.#head = 0;
      const chunk = await this.#conn.read();
      if (chunk === null) {
        throw new Deno.errors.UnexpectedEof(
          `Cannot get the reply to ${what}: the server closed the connection first`,
        );
      }
      this.#decoder.push(chunk, (body) => this.#frames.push(body));
    }
    return decodeCommandReply(this.#frames[this.#head++]!);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Connects to a command server (and authenticates, given a token).
 *
 * @param address The server: `{ hostname, port }` or `{ path }`.
 * @param options Token and timeouts.
 * @returns The client (`await using` closes it).
 * @throws {TimeoutError} If connecting or authenticating takes longer than
 * `connectTimeout`.
 * @throws {CommandRefusedError} `Unauthorized` for a wrong token.
 *
 * @example Connect with a token
 * ```ts
 * import { connectCommands, serveCommands } from "./rexec.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveCommands({ port: 0 }, { allow: ["echo"], token: "t0ken" });
 * await using client = await connectCommands(server.addr, { token: "t0ken" });
 * assertEquals((await client.run(["echo"])).code, 0);
 * ```
 */
export async function connectCommands(
  address: Address | SocketAddress,
  options: CommandClientOptions = {},
): Promise<CommandClient> {
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const conn = await connect(address as Address, {
    timeout: connectTimeout,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const client = new CommandClient(conn);
  try {
    if (options.token !== undefined) {
      conn.setTimeout(connectTimeout);
      await client.authenticate(options.token);
    }
    conn.setTimeout(options.readTimeout ?? null);
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/** Options for {@linkcode runRemoteCommand}. */
export interface RunRemoteCommandOptions
  extends CommandClientOptions, RunCommandOptions {}

/**
 * Runs one command on a command server: connects, authenticates if given a
 * token, runs `argv`, and closes.
 *
 * @param address The server: `{ hostname, port }` or `{ path }`.
 * @param argv The program's allowed name, then its arguments.
 * @param options Token, timeouts and where the output goes.
 * @returns The exit code, signal, flags and (collected) output.
 * @throws {CommandRefusedError} If the server refused the command or the
 * token.
 * @throws {Deno.errors.ConnectionRefused} Or another network error.
 *
 * @example A failing command's status
 * ```ts
 * import { runRemoteCommand, serveCommands } from "./rexec.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveCommands({ port: 0 }, { allow: ["ls"] });
 * const result = await runRemoteCommand(server.addr, ["ls", "/nonexistent"]);
 * assertEquals([result.success, result.code], [false, 2]);
 * ```
 */
export async function runRemoteCommand(
  address: Address | SocketAddress,
  argv: readonly string[],
  options: RunRemoteCommandOptions = {},
): Promise<RemoteCommandResult> {
  formatCommandLine(argv); // a bad argv fails before connecting
  using client = await connectCommands(address, options);
  return await client.run(argv, options);
}
