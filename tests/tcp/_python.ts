/**
 * Runs python3 as the peer in the tcp tests: `Python.spawn(script, args)`
 * starts `python3 -u -c script args…`, `line()` reads what it prints (a port,
 * a result), `send()` writes a line to its stdin (a "go" the script waits
 * for), and `finish()` closes stdin, reads the rest of its output and waits
 * for it to exit. `await using` kills a script that is still running (only
 * the child this object started) and waits for it, so nothing leaks.
 *
 * Every script starts with {@linkcode PRELUDE}: a 10 s default socket timeout,
 * so a broken test fails instead of hanging.
 *
 * @module
 */

/** Imports and a default socket timeout, prepended to every script. */
export const PRELUDE: string = [
  "import os, socket, struct, sys, threading, time",
  "socket.setdefaulttimeout(10)",
  "",
].join("\n");

/** What a finished script left behind. */
export interface PythonResult {
  /** The exit code. */
  code: number;
  /** The stdout lines not yet read with `line()`. */
  lines: string[];
  /** Everything it wrote to stderr. */
  stderr: string;
}

const encoder = new TextEncoder();

/** A running python3 script. */
export class Python implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdout: ReadableStreamDefaultReader<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderr: Promise<string>;
  #pending = "";
  #lines: string[] = [];
  #eof = false;
  #stdinClosed = false;
  #finished: Promise<PythonResult> | undefined;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdout = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    this.#stdin = child.stdin.getWriter();
    this.#stderr = new Response(child.stderr).text();
  }

  /**
   * Starts `python3 -u -c PRELUDE+script` with `args` in `sys.argv[1:]`.
   *
   * @param script The Python source.
   * @param args Arguments (ports, paths, sizes).
   * @returns The running script.
   */
  static spawn(
    script: string,
    args: readonly (string | number)[] = [],
  ): Python {
    const child = new Deno.Command("python3", {
      args: ["-u", "-c", PRELUDE + script, ...args.map(String)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new Python(child);
  }

  /**
   * The next line the script prints.
   *
   * @returns The line, without its `\n`.
   * @throws {Error} With the script's stderr, if it exits first.
   */
  async line(): Promise<string> {
    for (;;) {
      const next = this.#lines.shift();
      if (next !== undefined) return next;
      if (this.#eof) {
        const result = await this.finish();
        throw new Error(
          `python3 exited with code ${result.code} before printing a line; stderr:\n${result.stderr}`,
        );
      }
      await this.#fill();
    }
  }

  /** The next line, parsed as a port number. */
  async port(): Promise<number> {
    const text = await this.line();
    const port = Number(text);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`python3 printed ${JSON.stringify(text)}, not a port`);
    }
    return port;
  }

  /**
   * Writes `text` and a newline to the script's stdin.
   *
   * @param text One line (a command such as `"go"`).
   */
  async send(text: string): Promise<void> {
    await this.#stdin.write(encoder.encode(`${text}\n`));
  }

  /**
   * Closes stdin, reads the rest of stdout and stderr, and waits for the
   * exit. Idempotent.
   *
   * @returns The exit code, the unread lines and stderr.
   */
  finish(): Promise<PythonResult> {
    return this.#finished ??= this.#finish();
  }

  /**
   * {@linkcode finish}, then throws unless the script exited with 0.
   *
   * @returns The stdout lines not yet read.
   */
  async success(): Promise<string[]> {
    const result = await this.finish();
    if (result.code !== 0) {
      throw new Error(
        `python3 exited with code ${result.code}; stdout:\n${
          result.lines.join("\n")
        }\nstderr:\n${result.stderr}`,
      );
    }
    return result.lines;
  }

  /** Kills the script if it is still running, then {@linkcode finish}. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#finished === undefined) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // It has already exited.
      }
    }
    await this.finish();
  }

  async #finish(): Promise<PythonResult> {
    await this.#closeStdin();
    while (!this.#eof) await this.#fill();
    const [status, stderr] = await Promise.all([
      this.#child.status,
      this.#stderr,
    ]);
    const lines = this.#lines;
    this.#lines = [];
    return { code: status.code, lines, stderr };
  }

  async #closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#stdin.close();
    } catch {
      // The script exited and closed its end first.
    }
  }

  async #fill(): Promise<void> {
    const { done, value } = await this.#stdout.read();
    if (done) {
      this.#eof = true;
      if (this.#pending !== "") this.#lines.push(this.#pending);
      this.#pending = "";
      return;
    }
    const parts = (this.#pending + value).split("\n");
    this.#pending = parts.pop()!;
    this.#lines.push(...parts);
  }
}

/**
 * A Python listener that answers no connect: its accept queue (`listen(0)`)
 * is filled by connections of its own, so the kernel drops new SYNs and a
 * connect to its port hangs until the caller's timeout. Its port is its
 * first line (`await python.port()`); it ends when disposed.
 *
 * @returns The running listener.
 */
export function unansweredListener(): Python {
  return Python.spawn(`
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
port = srv.getsockname()[1]
held = []
for _ in range(3):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", port))
    held.append(c)
time.sleep(0.1)
print(port)
sys.stdin.readline()
`);
}
