/**
 * Helpers for tests that run tools and scripts as child processes.
 *
 * @module
 */

/** The repository root. */
export const ROOT: URL = new URL("../", import.meta.url);

/** What a server tool needs to listen on TCP and Unix sockets. */
export const TOOL_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
];

const decoder = new TextDecoder();

/** Reads a child's stderr line by line and waits for lines by pattern. */
export class Lines {
  /** Every line seen so far. */
  readonly seen: string[] = [];
  /** Settles when the stream has ended. */
  readonly done: Promise<void>;
  #cursor = 0;
  #ended = false;
  #notify: (() => void) | undefined;

  /** Starts reading `stream`. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      this.seen.push(...parts);
      this.#notify?.();
    }
    if (partial !== "") this.seen.push(partial);
    this.#ended = true;
    this.#notify?.();
  }

  /**
   * The next line (after the last one matched) that matches `pattern`;
   * fails, showing every line seen, when none comes within `timeout` ms (a
   * test that waits for a line that never comes fails instead of hanging).
   */
  async waitFor(pattern: RegExp, timeout = 30_000): Promise<RegExpExecArray> {
    const deadline = performance.now() + timeout;
    for (;;) {
      while (this.#cursor < this.seen.length) {
        const match = pattern.exec(this.seen[this.#cursor++]!);
        if (match !== null) return match;
      }
      if (this.#ended) {
        throw new Error(
          `stderr ended without a line matching ${pattern}:\n${
            this.seen.join("\n")
          }`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `no stderr line matching ${pattern} within ${timeout} ms:\n${
            this.seen.join("\n")
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
}

/**
 * A server tool running as `deno run tools/NAME.ts ARGS…`, with its stderr
 * read line by line. `await using` kills it if the test did not stop it.
 */
export class ToolProcess implements AsyncDisposable {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Its stderr, line by line. */
  readonly stderr: Lines;
  #status: Deno.CommandStatus | undefined;

  /** Spawns `tools/${tool}.ts` with `args`. */
  constructor(tool: string, args: readonly string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...TOOL_PERMISSIONS, `tools/${tool}.ts`, ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.stderr = new Lines(this.child.stderr);
  }

  /** Sends SIGTERM and waits for the exit. */
  async stop(): Promise<Deno.CommandStatus> {
    if (this.#status === undefined) {
      this.child.kill("SIGTERM");
      this.#status = await this.child.status;
      await this.stderr.done;
    }
    return this.#status;
  }

  /** Kills the tool if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#status === undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
      this.#status = await this.child.status;
      await this.stderr.done;
    }
  }
}

/** Runs `tools/${tool}.ts` to completion and returns its exit code and output. */
export async function runTool(
  tool: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...TOOL_PERMISSIONS, `tools/${tool}.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}
