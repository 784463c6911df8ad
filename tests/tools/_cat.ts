/**
 * Helpers for the `cat` tests: `cat` (or the real `ncat`) as a child with
 * stdin piped, stdout collected and stderr read line by line.
 *
 * @module
 */
import { Lines, ROOT, TOOL_PERMISSIONS, ToolProcess } from "../_spawn.ts";
import { assertEquals } from "../_utils.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a finished `cat` (or `ncat`) left behind. */
export interface CatResult {
  /** The exit code. */
  code: number;
  /** stdout as text. */
  stdout: string;
  /** stdout as bytes. */
  bytes: Uint8Array;
  /** stderr, line by line. */
  stderr: string[];
}

/** The programs a {@linkcode Peer} runs: sockit's `cat`, or `ncat`. */
export type Program = "cat" | "ncat";

/**
 * `cat` or `ncat` running as a child: stdin piped (written and closed at
 * once when `input` is given, else left open for `write()`/`end()`),
 * stdout collected, stderr read line by line.
 */
export class Peer implements AsyncDisposable {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Its stderr, line by line. */
  readonly stderr: Lines;
  /** What it runs. */
  readonly program: Program;
  readonly #stdout: Promise<Uint8Array>;
  readonly #chunks: Uint8Array[] = [];
  #received = 0;
  #notify: (() => void) | undefined;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #result: Promise<CatResult> | undefined;

  /** Starts `program args`, with `input` on stdin if given. */
  constructor(
    program: Program,
    args: readonly string[],
    input?: string | Uint8Array,
  ) {
    this.program = program;
    this.child = new Deno.Command(
      program === "cat" ? Deno.execPath() : "ncat",
      {
        args: program === "cat"
          ? ["run", ...TOOL_PERMISSIONS, "tools/cat.ts", ...args]
          : [...args],
        cwd: ROOT,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      },
    ).spawn();
    this.stderr = new Lines(this.child.stderr);
    this.#stdout = this.#collect(this.child.stdout);
    this.#stdin = this.child.stdin.getWriter();
    if (input !== undefined) {
      this.write(input).then(() => this.end());
    }
  }

  /**
   * Starts a listener and waits until it listens: `cat … --port 0` says
   * its port; `ncat -v -l … PORT` is given a port that was free (it
   * prints the port it was given).
   */
  static async listener(
    program: Program,
    args: readonly string[],
    input?: string | Uint8Array,
  ): Promise<{ peer: Peer; port: number }> {
    const peer = new Peer(program, args, input);
    try {
      const [, port] = await peer.stderr.waitFor(
        program === "cat"
          ? /^listening on .*?:?(\d*)$/
          : /^Ncat: Listening on .*:(\d+)$/,
      );
      return { peer, port: Number(port) };
    } catch (error) {
      await peer[Symbol.asyncDispose]();
      throw error;
    }
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
    for await (const chunk of stream) {
      this.#chunks.push(chunk);
      this.#received += chunk.length;
      this.#notify?.();
    }
    this.#notify?.();
    const bytes = new Uint8Array(this.#received);
    let at = 0;
    for (const chunk of this.#chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  }

  /** stdout so far, as text. */
  get output(): string {
    const stream = new TextDecoder();
    return this.#chunks.map((c) => stream.decode(c, { stream: true })).join("");
  }

  /**
   * Waits until stdout so far includes `text`; fails after `timeout` ms
   * (or when stdout ends without it), showing what came.
   */
  async waitForOutput(text: string, timeout = 10_000): Promise<void> {
    const deadline = performance.now() + timeout;
    let ended = false;
    this.#stdout.then(() => ended = true, () => ended = true);
    while (!this.output.includes(text)) {
      const left = deadline - performance.now();
      if (left <= 0 || ended) {
        throw new Error(
          `${this.program} never printed ${JSON.stringify(text)}: ${
            JSON.stringify(this.output)
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#notify = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /**
   * Waits until stdout so far holds at least `count` bytes; fails after
   * `timeout` ms (or when stdout ends short).
   */
  async waitForBytes(count: number, timeout = 10_000): Promise<void> {
    const deadline = performance.now() + timeout;
    let ended = false;
    this.#stdout.then(() => ended = true, () => ended = true);
    while (this.#received < count) {
      const left = deadline - performance.now();
      if (left <= 0 || ended) {
        throw new Error(
          `${this.program} printed ${this.#received} bytes, not ${count}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#notify = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Writes to stdin (ignoring a child that has gone). */
  async write(data: string | Uint8Array): Promise<void> {
    try {
      await this.#stdin.write(
        typeof data === "string" ? encoder.encode(data) : data,
      );
    } catch { /* the child exited and closed its end */ }
  }

  /** Closes stdin. */
  async end(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#stdin.close();
    } catch { /* the child exited first */ }
  }

  /** Waits for the exit; the code and output. */
  finish(): Promise<CatResult> {
    return this.#result ??= (async () => {
      const [status, bytes] = await Promise.all([
        this.child.status,
        this.#stdout,
        this.stderr.done,
      ]);
      await this.end();
      return {
        code: status.code,
        stdout: decoder.decode(bytes),
        bytes,
        stderr: this.stderr.seen,
      };
    })();
  }

  /** Sends SIGTERM, then {@linkcode finish}. */
  stop(): Promise<CatResult> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    return this.finish();
  }

  /** Kills the child if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#result === undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await this.finish();
  }
}

/** sockit's `cat` as a child (see {@linkcode Peer}). */
export class Cat extends Peer {
  /** Starts `cat args`, with `input` on stdin if given. */
  constructor(args: readonly string[], input?: string | Uint8Array) {
    super("cat", args, input);
  }

  /** Starts `cat --listen …` and waits for its `listening on` line. */
  static async listening(
    args: readonly string[],
    input?: string | Uint8Array,
  ): Promise<{ cat: Cat; port: number }> {
    const cat = new Cat(args, input);
    try {
      // A note may follow: " (TLS)", " (2 workers)".
      const [, port] = await cat.stderr.waitFor(
        /^listening on .*?:?(\d*)(?: \([^)]*\))?$/,
      );
      return { cat, port: Number(port) };
    } catch (error) {
      await cat[Symbol.asyncDispose]();
      throw error;
    }
  }
}

/** Runs `cat args` with `input` on stdin to the end. */
export async function runCat(
  args: readonly string[],
  input: string | Uint8Array = "",
): Promise<CatResult> {
  await using cat = new Cat(args, input);
  return await cat.finish();
}

/** The echo tool, on a free port. */
export async function startEcho(
  args: readonly string[] = ["--port", "0"],
): Promise<ToolProcess> {
  const echo = new ToolProcess("echo", [...args, "--quiet"]);
  await echo.stderr.waitFor(/^listening on /);
  return echo;
}

/** Asserts the exit code, showing stderr when it is wrong. */
export function assertCode(result: CatResult, code: number): void {
  assertEquals(result.code, code, result.stderr.join("\n"));
}
