// One client of a command server, private to rexec/: the connection
// handler that `serveCommands()` gives `listen()`. It reads request lines
// (with a deadline for each), checks the token, turns each line into argv,
// looks the program up in the allow-list, runs it (`_runner.ts`) and writes
// the replies (`_protocol.ts`); a refused request gets an `error` reply and
// the connection goes on. While a command runs it watches the client, and
// kills the command as soon as the client is gone (see #watch).
import { DelimiterCodec, type FrameTooLargeError } from "../framing/mod.ts";
import { formatAddress, TimeoutError } from "../net/mod.ts";
import type { Connection, ConnectionHandler } from "../tcp/mod.ts";
import { delay, timingSafeEqual } from "../_internal/std.ts";
import { after } from "../_internal/timer.ts";
import type { CommandAllowList } from "./allow_list.ts";
import type { CommandExit } from "./client.ts";
import { parseCommandLine } from "./_command_line.ts";
import { type CommandErrorReason, CommandRefusedError } from "./errors.ts";
import {
  authToken,
  encodeError,
  encodeExit,
  encodeOutput,
  MAX_OUTPUT_FRAME,
  PROBE_FRAME,
  READY_FRAME,
} from "./_protocol.ts";
import { type CommandRunResult, runCommand, SpawnError } from "./_runner.ts";
import type { CommandEvent } from "./server.ts";

/** A server's checked options, with the defaults filled in. */
export interface SessionConfig {
  allowList: CommandAllowList;
  timeout: number;
  maxOutput: number;
  maxLineBytes: number;
  maxArgs: number;
  maxCommands: number;
  token: Uint8Array | undefined;
  tokenTimeout: number;
  idleTimeout: number;
  writeTimeout: number;
  cwd: string | undefined;
  env: Readonly<Record<string, string>>;
  onCommand: ((event: CommandEvent) => void) | undefined;
}

/** After refusing a client, how long to wait for its EOF before closing. */
const LINGER = 500;

/**
 * While a command runs silently and reading cannot tell whether its client
 * is still there, an empty frame goes out this often (ms): a client that
 * closed answers the first with a reset, and the next write fails. So a
 * command outlives its client by at most about this long, and a shutdown's
 * grace period by as much.
 */
const PROBE_INTERVAL = 250;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The handler that serves the protocol on each connection. */
export function commandHandler(config: SessionConfig): ConnectionHandler {
  const { token } = config;
  // Made when the first client authenticates, so that a server nobody
  // talks to starts no work it may not finish.
  let expected: Promise<Uint8Array> | undefined;
  const want = token === undefined
    ? undefined
    : () => expected ??= digest(token);
  const server: ServerState = { running: 0, clients: 0 };
  return (conn) => new CommandSession(conn, config, want, server).serve();
}

/** What the sessions of one server share. */
interface ServerState {
  /** Commands running, across its connections. */
  running: number;
  /** Clients served so far: numbers Unix peers, which have no address. */
  clients: number;
}

/**
 * The SHA-256 of a token: comparing digests (of one length) in constant
 * time says nothing about the token's length either.
 */
async function digest(bytes: Uint8Array): Promise<Uint8Array> {
  const hash = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return new Uint8Array(hash);
}

/** What the line reader hands out: a line, or news of a skipped one. */
type LineItem = { line: Uint8Array } | { tooLong: FrameTooLargeError };

/**
 * The most bytes one socket read takes. Reads go into one buffer of the
 * session's, so a client streaming an endless line costs no allocation per
 * read: the decoder keeps at most `maxLineBytes` of a line and discards the
 * rest of a longer one as it arrives (refusing it as soon as it passes the
 * limit), and complete lines are copied out, as the buffer is read into
 * again.
 */
const READ_SIZE = 16 * 1024;

/**
 * A read is decoded this many bytes at a time, as lines are asked for: a
 * read of 16 KiB of empty lines never becomes 16,384 queued objects, but
 * at most this many (the rest stays as bytes in the read buffer, which is
 * not read into again until they are decoded).
 */
const DECODE_STEP = 256;

/** Reads request lines from a connection, with a deadline per line. */
class LineReader {
  readonly #conn: Connection;
  readonly #decoder: DelimiterCodec;
  readonly #buffer = new Uint8Array(READ_SIZE);
  readonly #queue: LineItem[] = [];
  #head = 0;
  /** The part of the last read not decoded yet (a view of `#buffer`). */
  #held: Uint8Array | null = null;
  #ended = false;
  readonly #sink = (line: Uint8Array) => {
    this.#queue.push({ line: line.slice() });
  };

  constructor(conn: Connection, maxLineBytes: number) {
    this.#conn = conn;
    this.#decoder = new DelimiterCodec({
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
    this.#decodeHeld();
    if (this.#head === this.#queue.length && !this.#ended) {
      const controller = new AbortController();
      const cancel = after(ms, () => {
        controller.abort(
          new TimeoutError(`Cannot wait longer than ${ms} ms for ${what}`, ms),
        );
      });
      try {
        while (this.#head === this.#queue.length && !this.#ended) {
          await this.#read(controller.signal);
          this.#decodeHeld();
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

  /**
   * Reads on while a command runs, without a deadline: resolves once a
   * complete request is waiting (the client pipelines: reading more would
   * only queue more), at EOF, or when reading was stopped (a graceful
   * shutdown); rejects when `signal` aborts (the command ended: what is on
   * its way stays for the next read) or the connection fails.
   */
  async readAhead(signal: AbortSignal): Promise<void> {
    this.#decodeHeld();
    while (this.#head === this.#queue.length && !this.#ended) {
      await this.#read(signal);
      this.#decodeHeld();
    }
  }

  /**
   * Decodes held bytes, {@linkcode DECODE_STEP} at a time, until a line
   * (or news of a skipped one) is queued or none are left.
   */
  #decodeHeld(): void {
    while (this.#head === this.#queue.length && this.#held !== null) {
      const held = this.#held;
      const step = Math.min(held.length, DECODE_STEP);
      this.#held = step === held.length ? null : held.subarray(step);
      this.#decoder.push(held.subarray(0, step), this.#sink);
    }
  }

  /**
   * One socket read, held for decoding; at EOF, the last line. Called only
   * when every held byte is decoded: the read reuses the buffer.
   */
  async #read(signal: AbortSignal): Promise<void> {
    const n = await this.#conn.readInto(this.#buffer, { signal });
    if (n === null) {
      this.#ended = true;
      // A graceful shutdown stopped reading: a partial line is not a
      // request. The peer's EOF ends its last line.
      if (!this.#conn.readingStopped) this.#decoder.end(this.#sink);
      return;
    }
    this.#held = this.#buffer.subarray(0, n);
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

/** `127.0.0.1:50000`, or `unix:PATH #3` (the third client). */
function formatPeer(conn: Connection, client: number): string {
  return conn.remoteAddr.transport === "unix"
    ? `${formatAddress(conn.localAddr)} #${client}`
    : formatAddress(conn.remoteAddr);
}

/** One client of a command server. */
class CommandSession {
  readonly #conn: Connection;
  readonly #config: SessionConfig;
  readonly #expected: (() => Promise<Uint8Array>) | undefined;
  readonly #server: ServerState;
  readonly #lines: LineReader;
  readonly #peer: string;

  constructor(
    conn: Connection,
    config: SessionConfig,
    expected: (() => Promise<Uint8Array>) | undefined,
    server: ServerState,
  ) {
    this.#conn = conn;
    this.#config = config;
    this.#expected = expected;
    this.#server = server;
    this.#lines = new LineReader(conn, config.maxLineBytes);
    this.#peer = formatPeer(conn, ++server.clients);
    // Replies are whole frames, and an exit frame often follows an output
    // frame at once: Nagle's algorithm would hold it for the client's
    // delayed ACK (40 ms a command).
    if (conn.localAddr.transport === "tcp") conn.setNoDelay(true);
  }

  /** Serves the client, telling `onCommand` of its start and end. */
  async serve(): Promise<void> {
    const { onCommand } = this.#config;
    onCommand?.({ type: "connection", peer: this.#peer });
    try {
      await this.#serve();
    } finally {
      onCommand?.({
        type: "closed",
        peer: this.#peer,
        bytesReceived: this.#conn.bytesReceived,
        bytesSent: this.#conn.bytesSent,
      });
    }
  }

  async #serve(): Promise<void> {
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

  async #authenticate(
    expected: () => Promise<Uint8Array>,
  ): Promise<boolean> {
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
    const [want, got] = await Promise.all([expected(), digest(presented)]);
    if (!timingSafeEqual(want, got)) {
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
    // Refused at once rather than queued: a client that is told can retry,
    // and one that waits holds nothing of ours meanwhile.
    const commands = this.#server;
    const max = this.#config.maxCommands;
    if (commands.running >= max) {
      await this.#refuse(
        "Busy",
        `Cannot run ${name} now: ${max} ${
          max === 1 ? "command is" : "commands are"
        } running, the server's limit; try again later`,
        argv,
      );
      return;
    }
    commands.running++;
    try {
      await this.#run(program, argv);
    } finally {
      commands.running--;
    }
  }

  async #run(program: string, argv: readonly string[]): Promise<void> {
    const config = this.#config;
    const gone = new AbortController(); // kills the command
    const ended = new AbortController(); // ends the watch
    // Whether the server cut the connection off at the end of a shutdown's
    // grace period (it stopped reading, then closed), rather than the
    // client leaving or reading nothing (a write timeout closes it too).
    let cutOff = false;
    const watching = this.#watch(ended.signal, (error) => {
      cutOff = this.#conn.readingStopped && this.#conn.closed &&
        !(error instanceof TimeoutError);
      gone.abort();
    });
    let result: CommandRunResult;
    try {
      result = await runCommand(program, {
        args: argv.slice(1),
        cwd: config.cwd,
        env: config.env,
        timeout: config.timeout,
        maxOutput: config.maxOutput,
        signal: gone.signal,
        onOutput: async (stream, data) => {
          for (let at = 0; at < data.length; at += MAX_OUTPUT_FRAME) {
            await this.#send(
              encodeOutput(stream, data.subarray(at, at + MAX_OUTPUT_FRAME)),
            );
          }
        },
      });
    } catch (error) {
      ended.abort();
      await watching;
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
    ended.abort();
    await watching;
    const exit: CommandExit = {
      code: result.code,
      signal: result.signal,
      timedOut: result.timedOut,
      truncated: result.truncated,
    };
    // Told before the reply goes out, which fails if the client is gone.
    config.onCommand?.({
      type: "exit",
      peer: this.#peer,
      argv,
      exit,
      clientGone: gone.signal.aborted && !cutOff,
      gracePeriodEnded: cutOff,
      outputBytes: result.outputBytes,
      duration: result.duration,
    });
    await this.#send(encodeExit(exit));
  }

  /**
   * Watches the client while its command runs, until `ended` aborts, and
   * if it goes away calls `onGone` with the error that showed it (the
   * server's own close at the end of a shutdown's grace period shows the
   * same way). Reading on notices a reset at once. Once reading can tell
   * no more — the client sent EOF (it may have half-closed and still wait
   * for the reply, or closed for good), or more requests, or a graceful
   * shutdown stopped reading — an empty frame goes out every
   * {@linkcode PROBE_INTERVAL} ms in which nothing else did: a write that
   * fails means the client is gone, or the shutdown's grace period is over
   * and the server closed the connection.
   */
  async #watch(
    ended: AbortSignal,
    onGone: (error: unknown) => void,
  ): Promise<void> {
    try {
      await this.#lines.readAhead(ended);
      let sent = this.#conn.bytesSent;
      for (;;) {
        if (this.#conn.bytesSent === sent) await this.#send(PROBE_FRAME);
        sent = this.#conn.bytesSent;
        await delay(PROBE_INTERVAL, { signal: ended });
      }
    } catch (error) {
      if (ended.aborted) return;
      onGone(error);
      if (!isGone(error)) throw error;
    }
  }

  async #refuse(
    reason: CommandErrorReason,
    message: string,
    argv: readonly string[] | undefined,
  ): Promise<void> {
    await this.#send(encodeError(reason, message));
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
    const signal = AbortSignal.timeout(LINGER);
    try {
      let drained = 0;
      while (drained < 65536) {
        const data = await this.#conn.read({ signal });
        if (data === null) break;
        drained += data.length;
      }
    } catch {
      // Out of patience, or the client reset: close either way.
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
