/**
 * Runs the programs in `examples/` as child processes for their smoke
 * tests: `Example.spawn(name, args)` starts `deno run` with exactly the
 * permissions that the example's header comment tells users to give (so a
 * wrong `deno run …` line fails its test), reads stdout and stderr line by
 * line, and feeds stdin. `await using` kills an example that still runs and
 * waits for it, so nothing leaks past a test.
 *
 * @module
 */
import { Lines, ROOT } from "../_spawn.ts";

const encoder = new TextEncoder();

/**
 * The flags of the `deno run … examples/NAME.ts` line in the example's
 * header comment.
 */
export async function runFlags(name: string): Promise<string[]> {
  const source = await Deno.readTextFile(
    new URL(`examples/${name}.ts`, ROOT),
  );
  const match = new RegExp(`deno run((?: --\\S+)*) examples/${name}\\.ts`)
    .exec(source);
  if (match === null) {
    throw new Error(
      `examples/${name}.ts has no "deno run … examples/${name}.ts" line`,
    );
  }
  return match[1]!.trim().split(" ").filter((flag) => flag !== "");
}

/** How to start an example. */
export interface SpawnOptions {
  /** Text written to stdin, which is then closed; `"piped"` keeps it open. */
  stdin?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** What an example left behind when it ended. */
export interface ExampleResult {
  /** The exit code. */
  code: number;
  /** Everything it printed to stdout. */
  stdout: string;
  /** Its stderr lines. */
  stderr: string[];
}

/** An example running as `deno run FLAGS examples/NAME.ts ARGS…`. */
export class Example implements AsyncDisposable {
  /** Its stdout, line by line. */
  readonly stdout: Lines;
  /** Its stderr, line by line. */
  readonly stderr: Lines;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | null;
  readonly #stdout: Promise<string>;
  #result: Promise<ExampleResult> | undefined;

  private constructor(child: Deno.ChildProcess, piped: boolean) {
    this.#child = child;
    this.#stdin = piped ? child.stdin.getWriter() : null;
    const [forLines, forText] = child.stdout.tee();
    this.stdout = new Lines(forLines);
    this.#stdout = new Response(forText).text();
    this.stderr = new Lines(child.stderr);
  }

  /**
   * Starts `examples/${name}.ts` with `args`.
   *
   * @param name The example's file name without `.ts`.
   * @param args Its arguments.
   * @param options Its stdin and environment.
   * @returns The running example.
   */
  static async spawn(
    name: string,
    args: readonly string[] = [],
    options: SpawnOptions = {},
  ): Promise<Example> {
    const flags = await runFlags(name);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, `examples/${name}.ts`, ...args],
      cwd: ROOT,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
    }).spawn();
    const example = new Example(child, options.stdin !== undefined);
    if (options.stdin !== undefined && options.stdin !== "piped") {
      await example.write(options.stdin);
      await example.closeStdin();
    }
    return example;
  }

  /**
   * Waits for the `listening on …` line.
   *
   * @returns The port (0 for a Unix socket) and the address as printed.
   */
  async listening(): Promise<{ port: number; address: string }> {
    const [, address, port] = await this.stderr.waitFor(
      /^listening on ((?:unix:.*)|(?:.*:(\d+)))$/,
    );
    return { port: Number(port ?? 0), address: address! };
  }

  /** Writes `text` to stdin (spawned with `stdin: "piped"`). */
  async write(text: string): Promise<void> {
    await this.#stdin!.write(encoder.encode(text));
  }

  /** Closes stdin: the example reads the end of its input. */
  async closeStdin(): Promise<void> {
    try {
      await this.#stdin?.close();
    } catch { /* it exited first, or stdin is already closed */ }
  }

  /** Sends `signal` to the example. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    this.#child.kill(signal);
  }

  /** Sends SIGTERM and waits for the example to end. */
  stop(): Promise<ExampleResult> {
    if (this.#result === undefined) {
      try {
        this.kill("SIGTERM");
      } catch { /* it has exited by itself */ }
    }
    return this.finish();
  }

  /** Closes stdin and waits for the example to end. Idempotent. */
  finish(): Promise<ExampleResult> {
    return this.#result ??= this.#finish();
  }

  /** Kills the example if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#result === undefined) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await this.finish();
  }

  async #finish(): Promise<ExampleResult> {
    await this.closeStdin();
    const [status, stdout] = await Promise.all([
      this.#child.status,
      this.#stdout,
      this.stdout.done,
      this.stderr.done,
    ]);
    return { code: status.code, stdout, stderr: this.stderr.seen };
  }
}

/**
 * What every {@linkcode python} script starts with: imports, a 10 s default
 * socket timeout (a broken test fails instead of hanging), and
 * `exchange(sock, *parts)`: send each part, shut down writing, read the
 * answer to EOF, close, return the answer.
 */
const PYTHON_PRELUDE = `import socket, struct, sys
socket.setdefaulttimeout(10)
def exchange(sock, *parts):
    for part in parts:
        sock.sendall(part)
    sock.shutdown(socket.SHUT_WR)
    answer = b""
    while chunk := sock.recv(1024):
        answer += chunk
    sock.close()
    return answer
`;

/**
 * Runs `python3 -c PRELUDE+script args…` to completion and returns its
 * stdout; throws with its stderr if it fails.
 */
export async function python(
  script: string,
  args: readonly (string | number)[] = [],
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: [
      "-c",
      PYTHON_PRELUDE + script,
      ...args.map(String),
    ],
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  if (code !== 0) {
    throw new Error(`python3 exited with ${code}:\n${decoder.decode(stderr)}`);
  }
  return decoder.decode(stdout);
}
