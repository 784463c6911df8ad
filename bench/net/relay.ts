#!/usr/bin/env -S deno run --allow-run --allow-read --allow-write --allow-net=127.0.0.1
/**
 * The relay benchmark: what a relay in front of a server costs. Three
 * relays stand in front of the same echo backend (`c_echo.c`, the C
 * server of the network benchmarks, so the backend is never the limit),
 * driven by the same load generator (`loadgen.c`) in one run:
 *
 * - the sockit `relay` tool (`tools/relay.ts tcp:127.0.0.1:0
 *   tcp:127.0.0.1:BACKEND`),
 * - socat (`socat TCP-LISTEN:P,fork,reuseaddr TCP:127.0.0.1:BACKEND`),
 * - raw Deno: two `pipeTo()`s per client (`servers/deno_pipe_relay.ts`),
 *
 * and the backend alone, for reference. Measures: bulk throughput over one
 * connection (the load generator streams a pattern with 1 MiB in flight
 * and checks every byte that comes back; MB/s counted one way), and
 * ping-pong over one connection (one 64-byte message in flight, checked;
 * round trips per second and the median round trip, whose difference to
 * the backend alone is the latency a relay adds; the load generator waits
 * in epoll rather than busy-polling, `--spin 0`, as the load generator,
 * the relay and the backend share the machine's cores). Each measure runs
 * `--runs` times per relay in rounds (every relay once per round), the
 * median is reported, with ratios to socat and to the raw Deno relay.
 *
 * Output: a Markdown table on stdout (progress on stderr). Builds the load
 * generator and the backend with the machine's `cc` into
 * `bench/net/.build/` (under names of its own: `run.ts` may build there
 * at the same time). Every process it starts is stopped by its PID.
 *
 * Run: `deno run -A bench/net/relay.ts [--runs N] [--duration S] [--only
 * sockit,socat,deno-pipe]`
 *
 * Needs Linux, `cc`, and `socat` (its row is skipped, with the reason, if
 * it is missing).
 *
 * @module
 */

import {
  build,
  BUILD_DIR,
  bulkArgs,
  type LoadResult,
  median,
  runLoad,
  type Running,
  startServer,
  stopServer,
} from "./_harness.ts";

const LOADGEN = `${BUILD_DIR}relay_loadgen`;
const C_ECHO = `${BUILD_DIR}relay_c_echo`;

/** The relays, in the table's order. */
const RELAYS = ["sockit", "socat", "deno-pipe"] as const;
type RelayId = typeof RELAYS[number];

const LABELS: Record<RelayId | "direct", string> = {
  "direct": "no relay (the C echo backend alone)",
  "sockit": "sockit `relay` tool",
  "socat": "socat `TCP-LISTEN:P,fork,reuseaddr TCP:…`",
  "deno-pipe": "raw Deno `pipeTo` relay",
};

/** Options from the command line. */
export interface RelayBenchOptions {
  /** Runs per measure and relay; the median is reported. */
  runs: number;
  /** Seconds measured per ping-pong run (bulk runs a third longer). */
  duration: number;
  /** Only these relays (the backend alone always runs). */
  only: ReadonlySet<RelayId>;
}

/** Whether `command` runs (`--version`-style probe). */
async function available(command: string, args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago (for socat, which cannot print one). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** One load generator run, killed if it overruns. */
function load(
  port: number,
  args: string[],
  boundSeconds: number,
): Promise<LoadResult> {
  return runLoad(LOADGEN, ["--port", String(port), ...args], { boundSeconds });
}

function formatNumber(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function ratio(value: number, base: number | undefined): string {
  return base === undefined || base === 0 || value === 0
    ? ""
    : `${(value / base).toFixed(2)}×`;
}

interface Row {
  id: RelayId | "direct";
  bulk: number[];
  pp: number[];
  p50: number[];
  error: string | null;
}

/**
 * Runs the relay benchmark and returns its Markdown (table, targets,
 * notes). `bench/net/run.ts` may call it; `deno run bench/net/relay.ts`
 * prints it.
 *
 * @param options Runs, duration, relays.
 * @returns The Markdown.
 */
export async function runRelayBench(
  options: RelayBenchOptions,
): Promise<string> {
  await build("loadgen.c", LOADGEN, ["-pthread"]);
  await build("c_echo.c", C_ECHO);
  const haveSocat = await available("socat", ["-V"]);

  const backend = await startServer([C_ECHO]);
  const rows: Row[] = [];
  const running = new Map<Row, Running>();
  try {
    const commands: Record<RelayId, () => Promise<Running>> = {
      "sockit": () =>
        startServer([
          Deno.execPath(),
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-write",
          "tools/relay.ts",
          "tcp:127.0.0.1:0",
          `tcp:127.0.0.1:${backend.port}`,
          "--quiet",
          "--grace",
          "0",
        ]),
      "socat": () => {
        const port = freePort();
        return startServer([
          "socat",
          `TCP-LISTEN:${port},fork,reuseaddr,bind=127.0.0.1`,
          `TCP:127.0.0.1:${backend.port}`,
        ], { port });
      },
      "deno-pipe": () =>
        startServer([
          Deno.execPath(),
          "run",
          "--allow-net",
          "bench/net/servers/deno_pipe_relay.ts",
          String(backend.port),
        ]),
    };
    const direct: Row = {
      id: "direct",
      bulk: [],
      pp: [],
      p50: [],
      error: null,
    };
    rows.push(direct);
    running.set(direct, backend);
    for (const id of RELAYS) {
      if (!options.only.has(id)) continue;
      const row: Row = { id, bulk: [], pp: [], p50: [], error: null };
      rows.push(row);
      if (id === "socat" && !haveSocat) {
        row.error = "socat is not installed";
        continue;
      }
      try {
        running.set(row, await commands[id]());
      } catch (error) {
        row.error = error instanceof Error ? error.message : String(error);
      }
    }

    const d = options.duration;
    const bulkFlags = bulkArgs(d * 4 / 3, 0.3);
    const ppFlags = [
      "--mode",
      "pingpong",
      "--conns",
      "1",
      // Three processes share this machine's cores: a load generator
      // that busy-polls would take one from the relay and the backend.
      "--spin",
      "0",
      "--duration",
      String(d),
      "--warmup",
      "0.3",
    ];
    for (let round = 0; round < options.runs; round++) {
      // Rotate the order each round, so no relay always runs first.
      const order = rows.slice(round % rows.length).concat(
        rows.slice(0, round % rows.length),
      );
      for (const row of order) {
        const relay = running.get(row);
        if (relay === undefined || row.error !== null) continue;
        const bulk = await load(relay.port, bulkFlags, d * 4 / 3 + 15);
        const pp = await load(relay.port, ppFlags, d + 15);
        const error = bulk.error ?? pp.error ?? null;
        if (error) {
          row.error = error;
          continue;
        }
        row.bulk.push(bulk.mbps);
        row.pp.push(pp.rate);
        row.p50.push(pp.p50_us);
        console.error(
          `round ${round + 1}: ${row.id}: bulk ${
            bulk.mbps.toFixed(0)
          } MB/s, ping-pong ${formatNumber(pp.rate)} rt/s (p50 ${
            pp.p50_us.toFixed(1)
          } µs)`,
        );
      }
    }
  } finally {
    for (const [row, relay] of running) {
      if (row.id !== "direct") await stopServer(relay);
    }
    await stopServer(backend);
  }
  return render(rows, options);
}

function render(rows: Row[], options: RelayBenchOptions): string {
  const fig = (row: Row | undefined, key: "bulk" | "pp" | "p50") =>
    row === undefined || row.error !== null || row[key].length === 0
      ? undefined
      : median(row[key]);
  const byId = (id: string) => rows.find((row) => row.id === id);
  const socat = byId("socat");
  const pipe = byId("deno-pipe");
  const direct = byId("direct");
  const lines = [
    `| relay, in front of the C echo backend | bulk MB/s, 1 conn | ping-pong rt/s, 1 conn | median round trip µs (added) |`,
    "| --- | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    const label = LABELS[row.id];
    if (row.error !== null) {
      lines.push(`| ${label} | ${row.error} | | |`);
      continue;
    }
    const bulk = fig(row, "bulk")!;
    const pp = fig(row, "pp")!;
    const p50 = fig(row, "p50")!;
    const ratios = (value: number, key: "bulk" | "pp") => {
      const parts: string[] = [];
      for (
        const [other, name] of [[socat, "socat"], [pipe, "pipeTo"]] as const
      ) {
        const text = other === row ? "" : ratio(value, fig(other, key));
        if (text !== "") parts.push(`${text} ${name}`);
      }
      return row.id === "direct" || parts.length === 0
        ? ""
        : ` (${parts.join(", ")})`;
    };
    const base = fig(direct, "p50");
    const added = row.id === "direct" || base === undefined
      ? ""
      : ` (+${(p50 - base).toFixed(1)})`;
    lines.push(
      `| ${label} | ${formatNumber(bulk)}${ratios(bulk, "bulk")} | ${
        formatNumber(pp)
      }${ratios(pp, "pp")} | ${p50.toFixed(1)}${added} |`,
    );
  }
  const sockit = byId("sockit");
  const targets: string[] = [];
  const check = (what: string, value?: number, base?: number, factor = 1) => {
    if (value === undefined || base === undefined) {
      targets.push(`- ${what}: not measured`);
      return;
    }
    const met = value >= base * factor;
    targets.push(
      `- ${what}: ${met ? "met" : "missed"} (${(value / base).toFixed(2)}×)`,
    );
  };
  check("bulk ≥ socat", fig(sockit, "bulk"), fig(socat, "bulk"));
  check(
    "bulk ≥ 0.9× raw Deno pipeTo",
    fig(sockit, "bulk"),
    fig(pipe, "bulk"),
    0.9,
  );
  check("ping-pong ≥ socat", fig(sockit, "pp"), fig(socat, "pp"));
  check(
    "ping-pong ≥ 0.9× raw Deno pipeTo",
    fig(sockit, "pp"),
    fig(pipe, "pp"),
    0.9,
  );
  return [
    `Medians of ${options.runs} runs (${
      (options.duration * 4 / 3).toFixed(1)
    } s bulk, ${options.duration} s ping-pong each), one machine, loopback; ratios to socat and to the raw Deno relay in the same run.`,
    "",
    ...lines,
    "",
    "Targets (issue 17: at least socat's throughput and 0.9× the raw Deno relay):",
    "",
    ...targets,
    "",
  ].join("\n");
}

function parseOptions(args: string[]): RelayBenchOptions {
  const options = {
    runs: 3,
    duration: 1.5,
    only: new Set<RelayId>(RELAYS),
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--runs") {
      options.runs = Math.max(1, Math.floor(Number(value)));
    } else if (flag === "--duration") {
      options.duration = Math.max(0.2, Number(value));
    } else if (flag === "--only") {
      const ids = value.split(",");
      for (const id of ids) {
        if (!(RELAYS as readonly string[]).includes(id)) {
          throw new Error(`--only takes ${RELAYS.join(",")}, not ${id}`);
        }
      }
      options.only = new Set(ids as RelayId[]);
    } else throw new Error(`unknown flag ${flag}`);
  }
  if (!Number.isFinite(options.runs) || !Number.isFinite(options.duration)) {
    throw new Error("--runs and --duration take numbers");
  }
  return options;
}

if (import.meta.main) {
  let options: RelayBenchOptions;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error(
      `bench relay: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(2);
  }
  console.log(await runRelayBench(options));
}
