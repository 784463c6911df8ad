#!/usr/bin/env -S deno run --allow-run --allow-read --allow-write
/**
 * What `--workers` buys: the `echo` tool (run with its shebang's flags)
 * without workers, with `--workers 1` and with `--workers 2`, against Node's `node:cluster` with
 * 2 worker processes (`servers/node_cluster.mjs`), in one run, driven by
 * the network benchmarks' load generator (`loadgen.c`, built here with
 * `cc` into `bench/net/.build/workers_loadgen`), on loopback.
 *
 * Measures (each run bounded in time; the median of `--rounds` runs, the
 * servers taking turns in each round):
 *
 * - ping-pong, 100 connections: each sends 16 bytes and waits for their
 *   echo; round trips per second. One client thread that sleeps in
 *   `epoll_wait` (`--spin 0`): a busy-polling client would take a whole
 *   core of the two from the servers.
 * - bulk, 8 connections: each streams bytes and reads them back (1 MiB in
 *   flight each); MB/s echoed. Eight connections, so that two workers have
 *   something to share (one connection is always one worker's).
 *
 * Also: the CPU each server used while measured (cores, its processes and
 * threads together, from `/proc`), and its memory (VmRSS of its processes,
 * summed) after the runs. The Markdown table goes to stdout, with each
 * figure's ratio to `node:cluster`.
 *
 * Every server is started by this script on a free port, and stopped by its
 * PID (SIGTERM, then SIGKILL after 3 s).
 *
 * Run: `deno run -A bench/net/workers.ts [--duration S] [--rounds N]`
 * (defaults: 1.5 s, 3 rounds: about a minute). Needs Linux, `cc`, and
 * `node` for the Node row.
 *
 * @module
 */

import {
  build,
  BUILD_DIR,
  echoTool,
  type LoadResult,
  lowerMedian as median,
  runLoad,
  type Running,
  StartError,
  startServer,
  stopServer,
} from "./_harness.ts";

const LOADGEN = `${BUILD_DIR}workers_loadgen`;

interface ServerSpec {
  label: string;
  command: string[];
}

const ECHO = echoTool();

const SERVERS: ServerSpec[] = [
  { label: "sockit `echo`, no `--workers`", command: ECHO },
  { label: "sockit `echo --workers 1`", command: [...ECHO, "--workers", "1"] },
  { label: "sockit `echo --workers 2`", command: [...ECHO, "--workers", "2"] },
  {
    label: "Node `node:cluster`, 2 workers",
    command: ["node", "bench/net/servers/node_cluster.mjs", "--workers", "2"],
  },
];

interface Measure {
  id: "pp100" | "bulk";
  label: string;
  args: string[];
  value: (result: LoadResult) => number;
  unit: string;
}

function measures(duration: number): Measure[] {
  const timing = ["--duration", String(duration), "--warmup", "0.3"];
  return [
    {
      id: "pp100",
      label: "ping-pong, 100 conns (round trips/s)",
      args: ["--mode", "pingpong", "--conns", "100", "--spin", "0", ...timing],
      value: (result) => result.rate,
      unit: "",
    },
    {
      id: "bulk",
      label: "bulk, 8 conns (MB/s)",
      args: [
        "--mode",
        "bulk",
        "--conns",
        "8",
        "--threads",
        "2",
        "--window",
        String(1 << 20),
        ...timing,
      ],
      value: (result) => result.mbps,
      unit: "",
    },
  ];
}

// ---------------------------------------------------------------------------
// Processes

/** A server of the table, running. */
interface Server {
  spec: ServerSpec;
  running: Running;
}

/** Starts a server and waits (at most 30 s) for `listening on …:PORT`. */
async function start(spec: ServerSpec): Promise<Server> {
  try {
    return { spec, running: await startServer(spec.command) };
  } catch (error) {
    if (!(error instanceof StartError)) throw error;
    throw new Error(
      `${spec.label} ${error.exited ? "exited" : "did not listen in 30 s"}: ${
        error.tail.join(" | ")
      }`,
    );
  }
}

/** The PIDs of `pid` and its descendants (node:cluster's workers). */
function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      const children = Deno.readTextFileSync(
        `/proc/${pids[i]}/task/${pids[i]}/children`,
      ).trim();
      if (children !== "") pids.push(...children.split(/\s+/).map(Number));
    } catch { /* gone */ }
  }
  return pids;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) used so far by `pid`'s processes. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const each of processTree(pid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${each}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch { /* gone */ }
  }
  return ticks / CLOCK_TICKS;
}

/** VmRSS of `pid`'s processes, in MiB. */
function rssMiB(pid: number): number {
  let kib = 0;
  for (const each of processTree(pid)) {
    try {
      const status = Deno.readTextFileSync(`/proc/${each}/status`);
      kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return kib / 1024;
}

/** One run of the load generator against `server`. */
async function run(
  server: Server,
  measure: Measure,
  duration: number,
): Promise<{ value: number; cores: number; other: number; error?: string }> {
  const pid = server.running.pid;
  const before = cpuSeconds(pid);
  const started = performance.now();
  const result = await runLoad(
    LOADGEN,
    ["--port", String(server.running.port), ...measure.args],
    { boundSeconds: duration + 15 },
  );
  const elapsed = (performance.now() - started) / 1000;
  const cores = (cpuSeconds(pid) - before) / elapsed;
  if (result.error !== null) {
    return { value: 0, cores, other: 0, error: result.error };
  }
  return { value: measure.value(result), cores, other: result.cpu_other };
}

function format(value: number, digits = 0): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

// ---------------------------------------------------------------------------

async function main(args: string[]): Promise<number> {
  const flag = (name: string, fallback: number): number => {
    const at = args.indexOf(name);
    const value = at === -1 ? fallback : Number(args[at + 1]);
    if (!(value > 0)) throw new RangeError(`${name} must be a positive number`);
    return value;
  };
  const duration = flag("--duration", 1.5);
  const rounds = Math.round(flag("--rounds", 5));
  if (Deno.build.os !== "linux") {
    console.error("bench/net/workers.ts: needs Linux (epoll, /proc)");
    return 1;
  }
  await build("loadgen.c", LOADGEN, ["-pthread"]);
  const list = measures(duration);
  const servers: Server[] = [];
  const skipped: string[] = [];
  try {
    for (const spec of SERVERS) {
      try {
        servers.push(await start(spec));
      } catch (error) {
        skipped.push(`${spec.label}: ${(error as Error).message}`);
      }
    }
    const figures = new Map<
      string,
      { value: number[]; cores: number[]; other: number[]; errors: string[] }
    >();
    const key = (server: Server, measure: Measure) =>
      `${server.spec.label}|${measure.id}`;
    for (let round = 1; round <= rounds; round++) {
      for (const measure of list) {
        for (const server of servers) {
          const got = await run(server, measure, duration);
          const entry = figures.get(key(server, measure)) ??
            { value: [], cores: [], other: [], errors: [] };
          if (got.error !== undefined) entry.errors.push(got.error);
          else {
            entry.value.push(got.value);
            entry.cores.push(got.cores);
            entry.other.push(got.other);
          }
          figures.set(key(server, measure), entry);
          console.error(
            `workers bench: round ${round}, ${measure.id}, ${server.spec.label}: ${
              got.error ?? format(got.value)
            }`,
          );
        }
      }
    }
    const memory = new Map(
      servers.map((server) => [server.spec.label, rssMiB(server.running.pid)]),
    );
    const node = servers.find((server) => server.spec.label.startsWith("Node"));
    const medianOf = (server: Server, measure: Measure) => {
      const entry = figures.get(key(server, measure))!;
      return entry.value.length === 0 ? NaN : median(entry.value);
    };
    const lines: string[] = [];
    const load = Deno.readTextFileSync("/proc/loadavg").split(" ")
      .slice(0, 3).join(" ");
    lines.push(
      `${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}, ${rounds} rounds of ${duration} s per measure (median), load generator beside the servers on the same cores; load average after: ${load}`,
      "",
      `| server | ${
        list.map((measure) => measure.label).join(" | ")
      } | server CPU (cores), pp / bulk | memory (RSS) |`,
      `| --- | ${list.map(() => "---:").join(" | ")} | ---: | ---: |`,
    );
    for (const server of servers) {
      const cells = list.map((measure) => {
        const value = medianOf(server, measure);
        if (Number.isNaN(value)) {
          return `failed: ${figures.get(key(server, measure))!.errors[0]}`;
        }
        const ratio = node === undefined || node === server
          ? ""
          : ` (${(value / medianOf(node, measure)).toFixed(2)}×)`;
        return `${format(value)}${ratio}`;
      });
      const cores = list.map((measure) =>
        median(figures.get(key(server, measure))!.cores).toFixed(2)
      ).join(" / ");
      lines.push(
        `| ${server.spec.label} | ${cells.join(" | ")} | ${cores} | ${
          memory.get(server.spec.label)!.toFixed(1)
        } MiB |`,
      );
    }
    const others = [...figures.values()].flatMap((entry) => entry.other);
    lines.push(
      "",
      `In brackets: the ratio to Node's \`node:cluster\` with 2 workers. Other work on the machine during the runs (the load generator's count, cores): median ${
        median(others).toFixed(2)
      }, max ${Math.max(...others).toFixed(2)}.`,
    );
    const two = servers.find((server) =>
      server.spec.label.includes("--workers 2")
    );
    if (two !== undefined && node !== undefined) {
      lines.push(
        "",
        "Target (issue 16): sockit with 2 workers ≥ Node's `node:cluster` with 2 workers:",
        "",
        ...list.map((measure) => {
          const ratio = medianOf(two, measure) / medianOf(node, measure);
          return `- ${measure.label}: ${
            Number.isNaN(ratio)
              ? "not measured"
              : `${ratio.toFixed(2)}× ${ratio >= 1 ? "met ✓" : "**missed ✗**"}`
          }`;
        }),
      );
    }
    for (const line of skipped) lines.push(`Skipped: ${line}`);
    console.log(lines.join("\n"));
  } finally {
    await Promise.all(servers.map((server) => stopServer(server.running)));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
