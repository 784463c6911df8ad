/**
 * The `time` tool and `cat --listen` against the library doing the same
 * work, as issue 18 asks of every server tool (≥ 0.95× the library's own
 * `listen()`; the `echo` tool is measured in the main table):
 *
 * - `time --frame raw --quiet` against `servers/sockit_stamp.ts`
 *   (`listen()` answering each chunk with `[<ctime>] ` and the chunk):
 *   ping-pong with 1 and 100 connections, each reply checked (the load
 *   generator's `--prefix 27`: the stamp, then the message);
 * - `cat --listen --keep-open --recv-only` against `servers/sockit_sink.ts`
 *   (`listen()` and `relay()` from each client to `Deno.stdout.writable`,
 *   the library function `cat` is built on, called as a user would): one
 *   client streaming as fast as the server takes it (`--mode sink`),
 *   stdout to `/dev/null` for both.
 *
 * Rounds alternate between the tool and the library server, so that a
 * disturbance of the machine touches both; the table gives the median of
 * the rounds and the ratio of the medians.
 *
 * Run: `deno run -A bench/net/tools.ts [--rounds 5] [--duration 1.5]`
 * (it builds the load generator into `bench/net/.build/` with `cc`).
 *
 * @module
 */

import {
  build,
  BUILD_DIR,
  median,
  numberFlag,
  runLoad,
  shebangFlags,
  startServer,
  stopServer,
} from "./_harness.ts";

const LOADGEN = `${BUILD_DIR}loadgen_plain`;

const ROUNDS = Math.min(numberFlag("--rounds", 5), 20);
const DURATION = Math.min(numberFlag("--duration", 1.5), 10);
/** `[` + Python's 24-character `ctime()` + `] `: what `time` puts first. */
const STAMP = 27;

/** Runs a command with its stdout thrown away (the data a sink prints). */
function quiet(command: string[]): string[] {
  return ["sh", "-c", 'exec "$@" > /dev/null', "sh", ...command];
}

function tool(name: string, ...args: string[]): string[] {
  const file = `tools/${name}.ts`;
  return [Deno.execPath(), "run", ...shebangFlags(file), file, ...args];
}

function library(file: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-net",
    `bench/net/servers/${file}`,
    "--idle-timeout",
    "60000",
  ];
}

interface Comparison {
  measure: string;
  unit: string;
  /** The load generator's flags. */
  load: string[];
  /** What the figure is: round trips/s or MB/s. */
  figure: "rate" | "mbps";
  tool: { label: string; command: string[] };
  library: { label: string; command: string[] };
}

const TIME = {
  label: "`time --frame raw --quiet`",
  command: tool(
    "time",
    "--frame",
    "raw",
    "--quiet",
    "--port",
    "0",
    "--idle-timeout",
    "60",
  ),
};
const STAMP_SERVER = {
  label: "`listen()` + stamp (`servers/sockit_stamp.ts`)",
  command: library("sockit_stamp.ts"),
};
const pingpong = (conns: number) => [
  "--mode",
  "pingpong",
  "--conns",
  String(conns),
  "--prefix",
  String(STAMP),
];

const COMPARISONS: Comparison[] = [
  {
    measure: "ping-pong, 1 conn",
    unit: "rt/s",
    load: pingpong(1),
    figure: "rate",
    tool: TIME,
    library: STAMP_SERVER,
  },
  {
    measure: "ping-pong, 100 conns",
    unit: "rt/s",
    load: pingpong(100),
    figure: "rate",
    tool: TIME,
    library: STAMP_SERVER,
  },
  {
    measure: "stream in, 1 conn",
    unit: "MB/s",
    load: ["--mode", "sink", "--conns", "1"],
    figure: "mbps",
    tool: {
      label: "`cat --listen --keep-open --recv-only`",
      command: quiet(
        tool("cat", "--listen", "--keep-open", "--recv-only", "--port", "0"),
      ),
    },
    library: {
      label: "`listen()` + `relay()` to stdout (`servers/sockit_sink.ts`)",
      command: quiet(library("sockit_sink.ts")),
    },
  },
];

/** Starts a server, waits for its port, runs one measure, stops it. */
async function measure(
  command: string[],
  comparison: Comparison,
): Promise<number> {
  const server = await startServer(command);
  try {
    const result = await runLoad(LOADGEN, [
      "--port",
      String(server.port),
      ...comparison.load,
      "--duration",
      String(DURATION),
      "--server-pid",
      String(server.pid),
    ], { boundSeconds: DURATION + 15 });
    if (result.error !== null) {
      throw new Error(`${command.join(" ")}: ${result.error}`);
    }
    return result[comparison.figure];
  } finally {
    await stopServer(server);
  }
}

if (import.meta.main) {
  await build("loadgen.c", LOADGEN, ["-pthread"]);
  const lines = [
    `The \`time\` tool and \`cat --listen\` against \`listen()\` servers doing the same work (median of ${ROUNDS} alternating rounds of ${DURATION} s; every reply checked). Target (issue 18): each tool ≥ 0.95× the library.`,
    "",
    "| measure | tool | figure | library server | figure | tool ÷ library |",
    "| ------- | ---- | -----: | -------------- | -----: | -------------: |",
  ];
  for (const comparison of COMPARISONS) {
    const tools: number[] = [];
    const libraries: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so neither always follows the other.
      const first = r % 2 === 0;
      const a = await measure(
        first ? comparison.tool.command : comparison.library.command,
        comparison,
      );
      const b = await measure(
        first ? comparison.library.command : comparison.tool.command,
        comparison,
      );
      tools.push(first ? a : b);
      libraries.push(first ? b : a);
    }
    const t = median(tools);
    const l = median(libraries);
    const format = (v: number) =>
      `${Math.round(v).toLocaleString("en")} ${comparison.unit}`;
    lines.push(
      `| ${comparison.measure} | ${comparison.tool.label} | ${
        format(t)
      } | ${comparison.library.label} | ${format(l)} | ${(t / l).toFixed(2)}× ${
        t / l >= 0.95 ? "✓" : "✗"
      } |`,
    );
  }
  console.log(lines.join("\n"));
}
