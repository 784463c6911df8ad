/**
 * What the network benchmark programs (`run.ts`, `relay.ts`, `workers.ts`,
 * `proxy.ts`) share: where things are, building the C programs with `cc`
 * into `bench/net/.build/`, starting a server child and waiting for its
 * `listening on HOST:PORT` line, stopping it by its PID (SIGTERM, then
 * SIGKILL), one bounded run of the load generator (`loadgen.c`) and its
 * JSON, and the median of runs.
 *
 * Private to `bench/net/`: nothing here is part of sockit. It uses no
 * network permission, so that `run.ts` runs with `--allow-run
 * --allow-read --allow-write` only.
 *
 * @example Start a server, run the load generator against it, stop it
 * ```ts ignore
 * import { build, BUILD_DIR, runLoad, startServer, stopServer } from "./_harness.ts";
 *
 * const loadgen = `${BUILD_DIR}my_loadgen`;
 * await build("loadgen.c", loadgen, ["-pthread"]);
 * const server = await startServer(["python3", "bench/net/servers/python_echo.py"]);
 * try {
 *   const result = await runLoad(loadgen, [
 *     "--port", String(server.port), "--mode", "pingpong", "--duration", "1",
 *   ], { boundSeconds: 16 });
 *   console.log(result.error ?? result.rate);
 * } finally {
 *   await stopServer(server);
 * }
 * ```
 *
 * @module
 */

/** `bench/net/`, this folder. */
export const BENCH_NET: URL = new URL(".", import.meta.url);
/** The repository's root: every server child runs there. */
export const ROOT: URL = new URL("../../", import.meta.url);

/**
 * A file URL as a path.
 *
 * @param url A `file:` URL.
 * @returns Its path, percent-decoded.
 */
export function path(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** Where the C programs are built (`bench/net/.build/`, ends in `/`). */
export const BUILD_DIR: string = path(new URL(".build/", BENCH_NET));

const decoder = new TextDecoder();

/**
 * A promise that resolves after `ms` milliseconds.
 *
 * @param ms How long.
 * @returns The promise.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `promise`'s value, or `undefined` if it takes longer than `ms`; the timer
 * is cleared either way.
 *
 * @param promise What to wait for.
 * @param ms How long to wait, at most.
 * @returns Its value, or `undefined` on time out.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A companion's numeric flag (`--rounds 5`) from `Deno.args`, or
 * `fallback` when it is not given.
 *
 * @param name The flag, with its dashes.
 * @param fallback Its value when absent.
 * @returns The value.
 * @throws {RangeError} If the value is not a number > 0.
 */
export function numberFlag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(Deno.args[at + 1]);
  if (!(value > 0)) {
    throw new RangeError(
      `Cannot use ${name} ${Deno.args[at + 1]}: give a number > 0`,
    );
  }
  return value;
}

/**
 * The middle of `values`: the mean of the two middle ones when there is an
 * even number of them.
 *
 * @param values At least one number.
 * @returns The median.
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The middle of `values`, the lower of the two middle ones when there is an
 * even number of them: always one of the runs.
 *
 * @param values At least one number.
 * @returns The lower median.
 */
export function lowerMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * The `deno run` flags in a tool's shebang line (permissions,
 * `--unstable-net`, V8 flags), so that the tool runs here as it does from
 * its file and as `scripts/compile.ts` compiles it.
 *
 * @param file The tool, relative to the repository's root.
 * @returns The flags.
 * @throws {Error} If its first line is no `deno run` shebang.
 */
export function shebangFlags(file: string): string[] {
  const first = Deno.readTextFileSync(new URL(file, ROOT)).split("\n", 1)[0]!;
  const match = /^#!.*\bdeno run\b(.*)$/.exec(first);
  if (match === null) throw new Error(`${file} has no deno run shebang`);
  return match[1]!.trim().split(/\s+/).filter((flag) => flag !== "");
}

// ---------------------------------------------------------------------------
// Building

/** Flags of {@linkcode compile}. */
export interface CompileOptions {
  /** Flags before `-o` (`-pthread`, `-DWITH_TLS`). @default {[]} */
  before?: readonly string[];
  /** Flags after the source (libraries: `-lssl`). @default {[]} */
  after?: readonly string[];
}

/**
 * Compiles `source` (in `bench/net/`) into `output` with `cc -O2 -Wall`,
 * making {@linkcode BUILD_DIR} first.
 *
 * @param source The C file, relative to `bench/net/`.
 * @param output The executable's path.
 * @param options Extra flags.
 * @returns The compiler's complaint, or `""` if it built.
 */
export async function compile(
  source: string,
  output: string,
  options: CompileOptions = {},
): Promise<string> {
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const { success, stderr } = await new Deno.Command("cc", {
    args: [
      "-O2",
      "-Wall",
      ...options.before ?? [],
      "-o",
      output,
      path(new URL(source, BENCH_NET)),
      ...options.after ?? [],
    ],
    stderr: "piped",
  }).output();
  return success ? "" : decoder.decode(stderr).trim() || "cc failed";
}

/**
 * {@linkcode compile}, failing when it does not build.
 *
 * @param source The C file, relative to `bench/net/`.
 * @param output The executable's path.
 * @param before Flags before `-o`.
 * @throws {Error} `Cannot build SOURCE with cc: …` with the compiler's complaint.
 */
export async function build(
  source: string,
  output: string,
  before: readonly string[] = [],
): Promise<void> {
  const failure = await compile(source, output, { before });
  if (failure !== "") {
    throw new Error(`Cannot build ${source} with cc: ${failure}`);
  }
}

// ---------------------------------------------------------------------------
// Servers

/** A child we started; stopped by its PID only ({@linkcode stopServer}). */
export interface Running {
  /** The process. */
  child: Deno.ChildProcess;
  /** Its PID (the server's own: `sh` `exec`s it). */
  pid: number;
  /** Where it listens on 127.0.0.1. */
  port: number;
  /** The last 20 lines it wrote, stdout and stderr together. */
  tail: string[];
  /** Its exit. */
  done: Promise<Deno.CommandStatus>;
}

/**
 * Reads lines from `stream` into `tail` (keeping the last 20), calling
 * `onLine` for each; ends quietly when the process goes away.
 *
 * @param stream A child's stdout or stderr.
 * @param tail Where the last lines are kept.
 * @param onLine Called with each line, without its newline.
 */
export async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  tail: string[],
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  try {
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onLine(line);
      }
    }
  } catch { /* the process went away */ }
  if (pending !== "") {
    tail.push(pending);
    onLine(pending);
  }
}

/** A server that exited, or said nothing, before it listened. */
export class StartError extends Error {
  override name = "StartError";
  /** The command line. */
  readonly command: readonly string[];
  /** Whether it exited (else it did not listen in time). */
  readonly exited: boolean;
  /** The last lines it wrote. */
  readonly tail: readonly string[];
  /** Why, in a line: the first thing the server said, or the time out. */
  readonly reason: string;
  /**
   * @param command The command line.
   * @param exited Whether it exited.
   * @param tail The last lines it wrote.
   */
  constructor(command: string[], exited: boolean, tail: string[]) {
    const said = tail.map((line) => line.trim()).find((line) => line !== "");
    super(
      `${command.join(" ")} ${
        exited ? "exited" : "did not say where it listens within 30 s"
      }: ${tail.slice(-5).join(" | ")}`,
    );
    this.command = command;
    this.exited = exited;
    this.tail = tail;
    this.reason = exited
      ? said?.slice(0, 300) ?? "it exited without a word"
      : "it did not say where it listens within 30 s";
  }
}

/** Options of {@linkcode startServer}. */
export interface StartServerOptions {
  /**
   * The port it will listen on, for a server that cannot say so (socat):
   * then the wait is for the port to accept a connection (at most 10 s;
   * needs `--allow-net=127.0.0.1`), not for a line.
   * @default {undefined}
   */
  port?: number;
}

/** Waits until something accepts connections on `port` (at most 10 s). */
async function waitForPort(port: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return true;
    } catch {
      await sleep(50);
    }
  }
  return false;
}

/**
 * Runs `command` in the repository's root through `sh`, so that its soft
 * file-descriptor limit is raised to the hard limit (`exec` keeps the PID),
 * and waits (at most 30 s) for its `listening on HOST:PORT` line.
 *
 * @param command The server's command line.
 * @param options A fixed port to wait for instead.
 * @returns The running server.
 * @throws {StartError} If it exits or does not listen in time (it is stopped).
 */
export async function startServer(
  command: string[],
  options: StartServerOptions = {},
): Promise<Running> {
  const child = new Deno.Command("sh", {
    args: ["-c", 'ulimit -Sn "$(ulimit -Hn)" && exec "$@"', "sh", ...command],
    cwd: path(ROOT),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  const said = Promise.withResolvers<number>();
  const onLine = (line: string) => {
    const match = /listening on \S*:(\d+)/.exec(line);
    if (match) said.resolve(Number(match[1]));
  };
  pumpLines(child.stdout, tail, onLine);
  pumpLines(child.stderr, tail, onLine);
  const done = child.status;
  let port: number;
  if (options.port !== undefined) {
    port = await waitForPort(options.port) ? options.port : -2;
  } else {
    port = await within(
      Promise.race([said.promise, done.then(() => -1)]),
      30_000,
    ) ?? -2;
  }
  const running = { child, pid: child.pid, port, tail, done };
  if (port < 0) {
    await stopServer(running);
    throw new StartError(command, port === -1, tail);
  }
  return running;
}

/**
 * SIGTERM, then SIGKILL after 3 s: only the process we started, by its PID.
 *
 * @param server A server {@linkcode startServer} started.
 */
export async function stopServer(server: Running): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch { /* exited already */ }
  await killAfter(server.child, 3000);
}

/**
 * Waits at most `ms` for `child` to exit, then SIGKILLs it and waits for
 * that.
 *
 * @param child A process we started.
 * @param ms How long it may take to exit by itself.
 */
export async function killAfter(
  child: Deno.ChildProcess,
  ms: number,
): Promise<void> {
  if (await within(child.status, ms) === undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* exited already */ }
    await child.status;
  }
}

/**
 * The `echo` tool's command line as the benchmarks run it: with its
 * shebang's flags, on a free port, quiet, 1 s of grace at the end.
 *
 * @param extra More flags (`--workers 2`, `--tls-cert FILE`, …).
 * @returns The command line, run from the repository's root.
 */
export function echoTool(...extra: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    ...shebangFlags("tools/echo.ts"),
    "tools/echo.ts",
    "--port",
    "0",
    "--quiet",
    "--grace",
    "1",
    ...extra,
  ];
}

// ---------------------------------------------------------------------------
// The load generator

/** What the load generator prints: one JSON line per run. */
export interface LoadResult {
  /** Round trips, frames or connections per second. */
  rate: number;
  /** MB/s echoed (bulk). */
  mbps: number;
  /** Median latency, µs. */
  p50_us: number;
  /** 99th percentile latency, µs. */
  p99_us: number;
  /** Datagrams lost (UDP). */
  lost: number;
  /** CPU cores the server used while measuring. */
  cpu_server: number;
  /** CPU cores everything else (not the server, not us) used. */
  cpu_other: number;
  /** CPU cores the hypervisor took. */
  cpu_steal: number;
  /** Share of the time the load generator's busiest thread was working. */
  loadgen_busy: number;
  /** With TLS: protocol, cipher and key-exchange group negotiated. */
  tls?: string;
  /** Why the run failed, or null. */
  error: string | null;
}

/**
 * A run that failed: every figure 0.
 *
 * @param error Why.
 * @returns The result.
 */
export function failedLoad(error: string): LoadResult {
  return {
    rate: 0,
    mbps: 0,
    p50_us: 0,
    p99_us: 0,
    lost: 0,
    cpu_server: 0,
    cpu_other: 0,
    cpu_steal: 0,
    loadgen_busy: 0,
    error,
  };
}

/**
 * The load generator's flags for bulk echo: one connection streams a
 * checked pattern with 1 MiB in flight.
 *
 * @param duration Seconds measured.
 * @param warmup Seconds before measuring.
 * @returns The flags (without `--port`).
 */
export function bulkArgs(duration: number, warmup: number): string[] {
  return [
    "--mode",
    "bulk",
    "--conns",
    "1",
    "--window",
    String(1 << 20),
    "--duration",
    String(duration),
    "--warmup",
    String(warmup),
  ];
}

/** Options of {@linkcode runLoad}. */
export interface RunLoadOptions {
  /** Seconds after which the run is killed and fails. */
  boundSeconds: number;
  /** Run it with `taskset -c CPUS` (`"0"`). @default {undefined} */
  cpus?: string;
}

/**
 * Runs the load generator once, killed (SIGKILL) if it overruns its bound,
 * and reads the last line of its output.
 *
 * @param loadgen The built load generator.
 * @param args Its flags (`--port`, `--mode`, …).
 * @param options The time bound and CPU pinning.
 * @returns Its result; a failure (overrun, no JSON) as {@linkcode failedLoad}.
 */
export async function runLoad(
  loadgen: string,
  args: readonly string[],
  options: RunLoadOptions,
): Promise<LoadResult> {
  const pinned = options.cpus !== undefined;
  const child = new Deno.Command(pinned ? "taskset" : loadgen, {
    args: pinned ? ["-c", options.cpus!, loadgen, ...args] : [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const result = await within(output, options.boundSeconds * 1000);
  if (result === undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await output.catch(() => {});
    return failedLoad(`the load generator overran ${options.boundSeconds} s`);
  }
  const text = decoder.decode(result.stdout).trim();
  try {
    return JSON.parse(text.split("\n").at(-1) ?? "") as LoadResult;
  } catch {
    return failedLoad(
      decoder.decode(result.stderr).trim() || `exit code ${result.code}`,
    );
  }
}
