/**
 * Shared helpers for the reliability suite: servers run as child processes
 * (so their memory and file descriptors can be read from `/proc`), a
 * position-dependent byte stream that finds any lost, duplicated or
 * reordered byte, kernel socket queues from `/proc/net/tcp`, and latency
 * percentiles.
 *
 * Linux only: everything measured here comes from `/proc`. A Deno process
 * given `--allow-run` may not read `/proc` itself (Deno asks for
 * `--allow-all` then, as `/proc` can be a way around permissions), so the
 * files are read by `cat` and `ls` child processes.
 *
 * @module
 */
import { Lines, ROOT, TOOL_PERMISSIONS, ToolProcess } from "../_spawn.ts";
import { within } from "../tcp/_helpers.ts";

/** Resident memory of a process, from `/proc/PID/status`. */
export interface MemoryStatus {
  /** `VmRSS`: resident set size now, in KiB. */
  rssKiB: number;
  /** `VmHWM`: the peak resident set size so far, in KiB. */
  peakRssKiB: number;
}

const decoder = new TextDecoder();

/** The output of `program args…`, which must succeed. */
async function run(program: string, args: readonly string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(program, {
    args: [...args],
    stdin: "null",
  }).output();
  if (!success) {
    throw new Error(
      `${program} ${args.join(" ")} failed: ${decoder.decode(stderr)}`,
    );
  }
  return decoder.decode(stdout);
}

/** Reads `VmRSS` and `VmHWM` of process `pid`. */
export async function memoryStatus(pid: number): Promise<MemoryStatus> {
  const status = await run("cat", [`/proc/${pid}/status`]);
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    if (match === null) throw new Error(`No ${name} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return { rssKiB: field("VmRSS"), peakRssKiB: field("VmHWM") };
}

/** How many file descriptors process `pid` has open (`/proc/PID/fd`). */
export async function openFds(pid: number): Promise<number> {
  const listing = await run("ls", ["-1", `/proc/${pid}/fd`]);
  return listing.split("\n").filter((line) => line !== "").length;
}

/** The kernel's queues for one TCP socket, from `/proc/net/tcp`. */
export interface SocketQueues {
  /** Bytes written by the process and not yet acknowledged by the peer. */
  sendQueue: number;
  /** Bytes received by the kernel and not yet read by the process. */
  receiveQueue: number;
}

/**
 * The queues of the IPv4 TCP socket with local port `localPort` and remote
 * port `remotePort` on 127.0.0.1, or `undefined` if there is none.
 */
export async function socketQueues(
  localPort: number,
  remotePort: number,
): Promise<SocketQueues | undefined> {
  const hex = (port: number) =>
    port.toString(16).toUpperCase().padStart(4, "0");
  const local = `0100007F:${hex(localPort)}`;
  const remote = `0100007F:${hex(remotePort)}`;
  for (const line of (await run("cat", ["/proc/net/tcp"])).split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote) {
      const [tx, rx] = fields[4]!.split(":");
      return {
        sendQueue: parseInt(tx!, 16),
        receiveQueue: parseInt(rx!, 16),
      };
    }
  }
  return undefined;
}

/**
 * The `p`-th percentile (0..100) of `samples`, nearest-rank method. Sorts a
 * copy.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError("No samples");
  const sorted = samples.toSorted((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(rank, 1)) - 1]!;
}

/**
 * The byte at stream position `position` of stream `seed`: every byte of a
 * stream depends on all the bits of its position, so a lost, duplicated or
 * reordered byte (or block of bytes) shows as a mismatch.
 */
export function streamByte(position: number, seed: number): number {
  const low = position >>> 0;
  const high = Math.floor(position / 4294967296);
  return (low ^ (low >>> 8) ^ (low >>> 16) ^ (low >>> 24) ^ high ^ seed) &
    0xff;
}

/** Fills `buffer` with stream `seed` from position `offset` on. */
export function fillStream(
  buffer: Uint8Array,
  offset: number,
  seed: number,
): Uint8Array {
  for (let i = 0; i < buffer.length; i++) {
    buffer[i] = streamByte(offset + i, seed);
  }
  return buffer;
}

/**
 * Checks that `chunk` is stream `seed` from position `offset` on: the
 * index in `chunk` of the first wrong byte, or -1.
 */
export function checkStream(
  chunk: Uint8Array,
  offset: number,
  seed: number,
): number {
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== streamByte(offset + i, seed)) return i;
  }
  return -1;
}

/** Writes all of `bytes` to a raw Deno connection (looping over partial writes). */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

/** A port of a raw Deno TCP connection's end. */
export function portOfAddr(addr: Deno.Addr): number {
  if (addr.transport !== "tcp") {
    throw new TypeError(`Expected a TCP address, not ${addr.transport}`);
  }
  return addr.port;
}

/** A server tool running as a child process, with its port and pid. */
export interface RunningTool {
  /** The child process and its stderr lines. */
  tool: ToolProcess;
  /** The TCP port it listens on. */
  port: number;
  /** The process id, for `/proc`. */
  pid: number;
}

/**
 * Spawns `tools/${name}.ts` with `args` (add `--port 0`) and waits for its
 * `listening on` line.
 */
export async function startTool(
  name: string,
  args: readonly string[],
): Promise<RunningTool> {
  const tool = new ToolProcess(name, args);
  try {
    const [, port] = await tool.stderr.waitFor(
      /^listening on 127\.0\.0\.1:(\d+)$/,
    );
    return { tool, port: Number(port), pid: tool.child.pid };
  } catch (error) {
    await tool[Symbol.asyncDispose]();
    throw error;
  }
}

/** What {@linkcode Probe.stats} reports from inside the server process. */
export interface ProbeStats {
  /** `Deno.memoryUsage().rss`, bytes. */
  rss: number;
  /** V8 heap in use after a full garbage collection, bytes. */
  heapUsed: number;
  /** V8 heap reserved, bytes. */
  heapTotal: number;
  /** Memory outside the V8 heap held by JS objects (array buffers), bytes. */
  external: number;
  /** Open file descriptors (counted in `/proc/PID/fd` from outside). */
  fds: number;
}

const encoder = new TextEncoder();

/**
 * A tool run by `tests/reliability/_probe.ts` with V8's `gc()` exposed:
 * the same server code as `deno run tools/NAME.ts`, plus a control line on
 * stdin (`stats`) that answers on stdout after a full garbage collection;
 * {@linkcode Probe.stats} adds the fd count from `/proc/PID/fd`. `await using` kills it if still running.
 */
export class Probe implements AsyncDisposable {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** The port the tool listens on. */
  port = 0;
  /** Its stderr, line by line. */
  readonly stderr: Lines;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stdout: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #status: Deno.CommandStatus | undefined;

  private constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.stderr = new Lines(child.stderr);
    this.#stdin = child.stdin.getWriter();
    this.#stdout = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
  }

  /** Starts `tools/${tool}.ts` under the probe with `args`. */
  static async start(tool: string, args: readonly string[]): Promise<Probe> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--v8-flags=--expose-gc",
        ...TOOL_PERMISSIONS,
        "tests/reliability/_probe.ts",
        tool,
        ...args,
      ],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const probe = new Probe(child);
    try {
      const [, port] = await probe.stderr.waitFor(
        /^listening on 127\.0\.0\.1:(\d+)$/,
      );
      probe.port = Number(port);
      return probe;
    } catch (error) {
      await probe[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid;
  }

  /**
   * Collects garbage in the server process and reports its memory and fds.
   *
   * @throws {Error} If the probe fails or does not answer within 10 s.
   */
  stats(): Promise<ProbeStats> {
    return within(this.#stats(), 10_000, "the probe's stats");
  }

  async #stats(): Promise<ProbeStats> {
    await this.#stdin.write(encoder.encode("stats\n"));
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline !== -1) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        const stats = JSON.parse(line) as Omit<ProbeStats, "fds"> & {
          error?: string;
        };
        if (stats.error !== undefined) {
          throw new Error(`The probe failed: ${stats.error}`);
        }
        return { ...stats, fds: await openFds(this.pid) };
      }
      const { done, value } = await this.#stdout.read();
      if (done) throw new Error("The probe exited before answering stats");
      this.#buffer += value;
    }
  }

  /** Sends SIGTERM and waits for the exit. */
  async stop(): Promise<Deno.CommandStatus> {
    if (this.#status === undefined) {
      this.child.kill("SIGTERM");
      this.#status = await this.#finish();
    }
    return this.#status;
  }

  /** Kills the probe if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#status === undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
      this.#status = await this.#finish();
    }
  }

  async #finish(): Promise<Deno.CommandStatus> {
    try {
      await this.#stdin.close();
    } catch { /* the child closed it first */ }
    while (!(await this.#stdout.read()).done) { /* drain */ }
    const status = await this.child.status;
    await this.stderr.done;
    return status;
  }
}
