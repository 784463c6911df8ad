/**
 * A server of the soak run as a child process (`deno run …`), and what its
 * log says: the port it listens on, connections accepted, each closed
 * connection's bytes in and out, and the errors that ended connections,
 * by kind. Every log line also goes to an optional `onLine` hook, for the
 * lines a scenario reads itself (rexec's commands).
 *
 * @module
 */
import { count } from "./_stats.ts";

/** The repository's root: servers run from there. */
export const ROOT: URL = new URL("../../", import.meta.url);

/** A connection as a server counted it. */
export interface Logged {
  /** Bytes the server read. */
  in: number;
  /** Bytes the server wrote. */
  out: number;
  /** When it was closed (`Date.now()`, as it was logged). */
  at: number;
}

/** A server child process and what its log said. */
export class ServerProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  port = 0;
  accepted = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly errors = new Map<string, number>();
  /** Bytes in and out of each closed connection, by client port. */
  readonly closed = new Map<number, Logged[]>();
  #stdout: Promise<string>;
  #stderr: Promise<void>;
  #listening = Promise.withResolvers<number>();

  #onLine: ((line: string) => void) | undefined;

  /**
   * Starts `deno ARGS` in the repository's root; `onLine` sees every line
   * it logs on stderr.
   */
  constructor(
    name: string,
    args: string[],
    onLine?: (line: string) => void,
  ) {
    this.name = name;
    this.#onLine = onLine;
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdout = new Response(this.child.stdout).text();
    this.#stderr = this.#readLog();
  }

  /** Resolves with the port once the server logs `listening on …`. */
  listening(): Promise<number> {
    return this.#listening.promise;
  }

  async #readLog(): Promise<void> {
    let partial = "";
    const stream = this.child.stderr.pipeThrough(new TextDecoderStream());
    for await (const text of stream) {
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) this.#line(line);
    }
    this.#listening.reject(new Error(`${this.name} exited before listening`));
  }

  #line(line: string): void {
    this.#onLine?.(line);
    let match;
    if ((match = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line))) {
      this.port = Number(match[1]);
      this.#listening.resolve(this.port);
    } else if (line.startsWith("connection from ")) {
      this.accepted++;
    } else if (
      (match = /^closed 127\.0\.0\.1:(\d+) \((\d+) bytes in, (\d+) out\)$/
        .exec(line))
    ) {
      const [port, bytesIn, bytesOut] = match.slice(1).map(Number) as [
        number,
        number,
        number,
      ];
      this.bytesIn += bytesIn;
      this.bytesOut += bytesOut;
      const list = this.closed.get(port) ?? [];
      list.push({ in: bytesIn, out: bytesOut, at: Date.now() });
      this.closed.set(port, list);
    } else if (line.startsWith("timeout ")) {
      count(this.errors, "TimeoutError (idle)");
    } else if ((match = /^\w+: error with [^:]+:\d+: (.*)$/.exec(line))) {
      count(this.errors, classifyLogged(match[1]!));
    } else if (/^\w+: error: /.test(line)) {
      count(this.errors, "accept error");
    }
  }

  /** Sends SIGTERM; resolves with the exit code and stdout. */
  async stop(): Promise<{ code: number; stdout: string }> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    const [status, stdout] = await Promise.all([
      this.child.status,
      this.#stdout,
      this.#stderr,
    ]);
    return { code: status.code, stdout };
  }
}

/** The error class a tool's one-line log message stands for. */
export function classifyLogged(message: string): string {
  if (/reset by peer/i.test(message)) return "ConnectionReset";
  if (/broken pipe/i.test(message)) return "BrokenPipe";
  if (/maxFrameSize/.test(message)) return "FrameTooLargeError";
  if (
    /stream ended|reset the connection|connection was (reset|aborted)/.test(
      message,
    )
  ) {
    return "TruncatedFrameError";
  }
  if (/frame header/.test(message)) return "MalformedFrameError";
  if (/contains the delimiter/.test(message)) return "DelimiterInPayloadError";
  if (/Cannot read properties of null/.test(message)) {
    return "TypeError (a read racing the idle timeout)";
  }
  // Unknown: group by the message with addresses and numbers taken out.
  return message.replace(/\[?[0-9a-f.:]+\]?:\d+/gi, "ADDR")
    .replace(/\d+/g, "N").slice(0, 60);
}
