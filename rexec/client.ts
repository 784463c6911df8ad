/**
 * The client side of rexec: {@linkcode runRemoteCommand} for one command,
 * {@linkcode connectCommands} and {@linkcode CommandClient} for several on
 * one connection.
 *
 * @module
 */
import { LengthPrefixCodec, MalformedFrameError } from "../framing/mod.ts";
import type { Address } from "../net/mod.ts";
import { connect, type Connection, type TlsClientOptions } from "../tcp/mod.ts";
import { concat } from "../_internal/std.ts";
import { formatCommandLine } from "./_command_line.ts";
import { CommandRefusedError } from "./errors.ts";
import { checkTokenTransport } from "./_exposure.ts";
import {
  authLine,
  type CommandReply,
  decodeReply,
  MAX_REPLY_FRAME,
} from "./_protocol.ts";

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * How a remote command ended: the facts of an `exit` reply.
 *
 * @example A command the time limit killed
 * ```ts
 * import { type CommandExit, runRemoteCommand, serveCommands } from "@sockit/sockit/rexec";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveCommands({ port: 0 }, { allow: ["sleep"], timeout: 100 });
 * const { code, signal, timedOut, truncated } = await runRemoteCommand(server.addr, ["sleep", "5"]);
 * const exit: CommandExit = { code, signal, timedOut, truncated };
 * assertEquals(exit, { code: 137, signal: "SIGKILL", timedOut: true, truncated: false });
 * ```
 */
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

/** Options for {@linkcode connectCommands}. */
export interface CommandClientOptions {
  /**
   * The server's token: sent first as `AUTH <token>`. To a host other than
   * loopback only with `tls` that verifies the server: it never crosses a
   * network in clear text, nor goes to a server nobody checked (with
   * `unsafelyDisableVerification`, whoever answers gets it), unless
   * `insecure`.
   */
  token?: string;
  /**
   * Connect with TLS, as `tcp.connect()`'s `tls` does: `true` verifies the
   * server against the system's roots; options add a CA, a server name, a
   * client certificate. TCP only.
   *
   * @default {false}
   */
  tls?: boolean | TlsClientOptions;
  /**
   * Send the token to a host other than loopback over TLS that verifies
   * nothing (`tls: { unsafelyDisableVerification: true }`): encrypted, but
   * to whoever answers, so that anyone who can intercept the connection
   * may take it.
   *
   * @default {false}
   */
  insecure?: boolean;
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
 * import {
 *   CommandRefusedError,
 *   connectCommands,
 *   serveCommands,
 * } from "@sockit/sockit/rexec";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = serveCommands({ port: 0 }, { allow: ["echo"] });
 * await using client = await connectCommands(server.addr);
 * await assertRejects(() => client.run(["rm", "-rf", "/"]), CommandRefusedError);
 * const result = await client.run(["echo", "still", "here"]);
 * assertEquals(new TextDecoder().decode(result.stdout), "still here\n");
 * ```
 */
export class CommandClient implements AsyncDisposable, Disposable {
  readonly #conn: Connection;
  readonly #decoder = new LengthPrefixCodec({
    header: "u32be",
    maxFrameSize: MAX_REPLY_FRAME,
  });
  readonly #frames: Uint8Array[] = [];
  #head = 0;
  #busy = false;

  /**
   * Wraps a connection to a command server. {@linkcode connectCommands}
   * connects, authenticates and sets the timeouts too.
   *
   * @param conn The connection.
   *
   * @example Over a connection of your own
   * ```ts
   * import { CommandClient, serveCommands } from "@sockit/sockit/rexec";
   * import { connect } from "@sockit/sockit/tcp";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = serveCommands({ port: 0 }, { allow: ["echo"] });
   * await using client = new CommandClient(await connect(server.addr));
   * assertEquals((await client.run(["echo", "hi"])).code, 0);
   * ```
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
   * @throws {TypeError} If `argv` is not a non-empty array of strings, or
   * another command is running on this client.
   * @throws {RangeError} If collected output passes `maxOutput` (the
   * connection is closed).
   *
   * @example Stream the output as it arrives
   * ```ts
   * import { connectCommands, serveCommands } from "@sockit/sockit/rexec";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = serveCommands({ port: 0 }, { allow: ["echo"] });
   * await using client = await connectCommands(server.addr);
   * const seen: string[] = [];
   * const result = await client.run(["echo", "a b"], {
   *   onOutput: (stream, data) => {
   *     seen.push(`${stream}: ${new TextDecoder().decode(data)}`);
   *   },
   * });
   * assertEquals([result.success, seen], [true, ["stdout: a b\n"]]);
   * ```
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
    const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
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
   * @throws {TypeError} If the token is not a one-line string.
   * @throws {CommandRefusedError} `Unauthorized` (the server closes).
   *
   * @example Authenticate a connection of your own
   * ```ts
   * import { CommandClient, serveCommands } from "@sockit/sockit/rexec";
   * import { connect } from "@sockit/sockit/tcp";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = serveCommands({ port: 0 }, { allow: ["echo"], token: "t0ken" });
   * await using client = new CommandClient(await connect(server.addr));
   * await client.authenticate("t0ken");
   * assertEquals((await client.run(["echo"])).code, 0);
   * ```
   */
  async authenticate(token: string): Promise<void> {
    if (typeof token !== "string" || /[\r\n]/.test(token)) {
      throw new TypeError(
        "Cannot send a token that is not a one-line string",
      );
    }
    await this.#conn.write(authLine(token));
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
        // A TLS server that refuses a plain-text client may hang up without
        // a word (node:tls sends no alert): say what to try.
        const hint = this.#conn.bytesReceived === 0 && this.#conn.tls === null
          ? "; if it speaks TLS, connect with --tls (tls)"
          : "";
        throw new Deno.errors.UnexpectedEof(
          `Cannot get the reply to ${what}: the server closed the connection first${hint}`,
        );
      }
      if (this.#conn.bytesReceived === chunk.length && isTlsRecord(chunk)) {
        throw new Deno.errors.InvalidData(
          `Cannot get the reply to ${what} as the server speaks TLS: connect with --tls (tls)`,
        );
      }
      this.#decoder.push(chunk, (body) => this.#frames.push(body));
    }
    return decodeReply(this.#frames[this.#head++]!);
  }
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
 * @throws {TypeError} Before connecting, for a token to a host other than
 * loopback without `tls`, or over `tls` that verifies nothing (without
 * `insecure`).
 * @throws {TlsError} If the TLS handshake fails.
 * @throws {Deno.errors.ConnectionRefused} Or another network error.
 *
 * @example Connect with a token
 * ```ts
 * import { connectCommands, serveCommands } from "@sockit/sockit/rexec";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveCommands({ port: 0 }, { allow: ["echo"], token: "t0ken" });
 * await using client = await connectCommands(server.addr, { token: "t0ken" });
 * assertEquals((await client.run(["echo"])).code, 0);
 * ```
 */
export async function connectCommands(
  address: Address,
  options: CommandClientOptions = {},
): Promise<CommandClient> {
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const tls = options.tls === undefined || options.tls === false
    ? undefined
    : options.tls;
  checkTokenTransport(address, {
    token: options.token,
    tls: tls !== undefined,
    verified: tls === undefined || tls === true ||
      tls.unsafelyDisableVerification !== true,
    insecure: options.insecure,
  });
  const conn = await connect(address, {
    timeout: connectTimeout,
    ...(tls === undefined ? {} : { tls }),
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

/**
 * Whether the first bytes from the server are a TLS record (a handshake or
 * an alert, TLS 1.x): a TLS server's answer to a plain-text client. As a
 * reply frame's length they would be hundreds of megabytes, never valid.
 */
function isTlsRecord(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && (bytes[0] === 0x15 || bytes[0] === 0x16) &&
    bytes[1] === 0x03;
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
 * @throws {TypeError} If `argv` is not a non-empty array of strings, or
 * a token would go to a host other than loopback without `tls`, or over
 * `tls` that verifies nothing without `insecure` (before connecting).
 * @throws {CommandRefusedError} If the server refused the command or the
 * token.
 * @throws {Deno.errors.ConnectionRefused} Or another network error.
 *
 * @example Shell syntax stays text; a failing command's status
 * ```ts
 * import { runRemoteCommand, serveCommands } from "@sockit/sockit/rexec";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveCommands({ port: 0 }, { allow: ["echo", "ls"] });
 * const echo = await runRemoteCommand(server.addr, ["echo", "a;b", "$(id)"]);
 * assertEquals(new TextDecoder().decode(echo.stdout), "a;b $(id)\n");
 * const ls = await runRemoteCommand(server.addr, ["ls", "/nonexistent"]);
 * assertEquals([ls.success, ls.code], [false, 2]);
 * ```
 */
export async function runRemoteCommand(
  address: Address,
  argv: readonly string[],
  options: RunRemoteCommandOptions = {},
): Promise<RemoteCommandResult> {
  formatCommandLine(argv); // a bad argv fails before connecting
  using client = await connectCommands(address, options);
  return await client.run(argv, options);
}
