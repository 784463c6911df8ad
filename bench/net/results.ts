/**
 * The results of one `bench:net` run as data: what `bench/net/run.ts`
 * measures, and what both the Markdown report (`bench/net/report.ts`,
 * written into `RESULTS.md`) and the chart (`bench/net/chart.ts`, written
 * into `docs/bench.svg`) are made from. `run.ts` saves them as
 * `bench/net/results.json`, so the report and the chart can be made again
 * without measuring again (`run.ts --from bench/net/results.json`).
 *
 * @module
 */

/** The plain TCP measures with a figure per run, in order. */
const TCP = ["bulk", "pp1", "pp1pin", "pp100", "fr1", "fr100"] as const;
/** The TLS measures, in order. */
const TLS = ["tls-bulk", "tls-pp100", "tls-hs"] as const;

/** Every measure, plain and TLS, in the order of the report. */
export const MEASURE_IDS = [...TCP, "udp", "idle", ...TLS] as const;
/** A measure's identifier (`--measures`). */
export type MeasureId = typeof MEASURE_IDS[number];
/** The TLS measures. */
export type TlsMeasureId = typeof TLS[number];
/** The measures with a figure per run (all but idle). */
export type RateMeasureId = Exclude<MeasureId, "idle">;
/** The plain TCP measures with a figure per run. */
export type TcpMeasureId = typeof TCP[number];
/** The TLS measures, in order. */
export const TLS_MEASURES: readonly TlsMeasureId[] = TLS;
/** The plain TCP measures with a figure per run, in order. */
export const TCP_MEASURES: readonly TcpMeasureId[] = TCP;

/** Bytes of each ping-pong message, framed payload and datagram. */
export const PAYLOAD = 64;
/** TLS handshakes: connections in flight. */
export const HS_CONNS = 32;
/** TLS handshakes: load generator threads. */
export const HS_THREADS = 2;
/** TLS handshakes: at most this many per run. */
export const HS_MAX = 100_000;
/**
 * A run during which other work on the machine used more than this many
 * cores is disturbed: it is repeated (at most {@linkcode MAX_RETRIES}
 * times per measure, {@linkcode REPEAT_BUDGET} in all).
 */
export const NOISE_CORES = 0.25;
/** Repeats of one measure's disturbed runs, at most. */
export const MAX_RETRIES = 4;
/** Repeats of disturbed runs in a whole run, at most. */
export const REPEAT_BUDGET = 20;

/** The program a server runs in. */
export type Runtime = "deno" | "node" | "python3" | "c";

/** One measure of one server: the median of its runs. */
export interface Figure {
  /** The median: MB/s for bulk, round trips, frames or handshakes per second otherwise; `NaN` if failed or skipped. */
  value: number;
  /** Median latency, µs (ping-pong, handshakes). */
  p50?: number;
  /** 99th percentile latency, µs. */
  p99?: number;
  /** The figure of every run. */
  runs: number[];
  /** Median CPU cores the server used. */
  serverCpu?: number;
  /** Median share of the time the load generator was working. */
  loadgenBusy?: number;
  /** The most cores other work used in a kept run, if over the limit. */
  noise?: number;
  /** Runs repeated because other work disturbed them. */
  retries?: number;
  /** With TLS: what was negotiated. */
  tls?: string;
  /** Why a run failed. */
  error?: string;
  /** Why the measure was not run. */
  skipped?: string;
}

/** The idle test of one server: the median of its runs. */
export interface IdleFigure {
  /** Connections that were still served at the end (the least of the runs). */
  live: number;
  /** Connections opened. */
  conns: number;
  /** Median peak RSS (VmHWM), MiB. */
  peakMiB: number;
  /** Median RSS added per live connection, KiB. */
  perConnKiB: number;
  /** The peak RSS of every run, MiB. */
  runs: number[];
  /** Why a run failed. */
  error?: string;
  /** Why the test was not run. */
  skipped?: string;
}

/** One server (a row of the report, a bar in each panel of the chart). */
export interface ServerResult {
  /** Its `--only` identifier (`sockit-echo`, `deno-loop`, `c`, …). */
  id: string;
  /** Its name in the report. */
  label: string;
  /** Its name in the chart (a few words). */
  short: string;
  /** The program it runs in. */
  runtime: Runtime;
  /** How it is made, said under the report's table. */
  note?: string;
  /** The name of its UDP echo, if it has one. */
  udpLabel?: string;
  /** The measures it ran. */
  figures: Partial<Record<RateMeasureId, Figure>>;
  /** The idle test, if it ran. */
  idle?: IdleFigure;
  /** Why it was not run at all. */
  skipped?: string;
  /** Why it did not start. */
  failed?: string;
}

/** How the run measured. */
export interface RunSettings {
  /** Runs per measure (the figure is their median). */
  runs: number;
  /** Seconds measured per run. */
  duration: number;
  /** Seconds measured per bulk run. */
  bulkDuration: number;
  /** Seconds of warm-up before each run. */
  warmup: number;
  /** Connections of the idle test. */
  idleConns: number;
}

/** A whole run. */
export interface BenchResults {
  /** The day of the run, `YYYY-MM-DD`. */
  date: string;
  /** Where the figures come from, when not from `run.ts` measuring. */
  source?: string;
  /** CPU, CPU count and kernel. */
  machine: string;
  /** Deno, Node, Python and cc versions. */
  versions: string[];
  /** What speaks TLS in each runtime. */
  tlsVersions: string[];
  /** How long the whole run took. */
  seconds: number;
  /** How it measured. */
  settings: RunSettings;
  /** Runs repeated because other work disturbed them. */
  repeated: number;
  /** Seconds spent waiting for other work to stop. */
  quietWaited: number;
  /** The plain servers (TCP, UDP, idle). */
  plain: ServerResult[];
  /** The TLS servers. */
  tls: ServerResult[];
  /** The companion benchmarks' reports, when the run made them. */
  companions?: Companion[];
}

/** A companion benchmark's report (`relay.ts`, `workers.ts`, `proxy.ts`). */
export interface Companion {
  /** The section's title. */
  title: string;
  /** The command that makes it alone. */
  command: string;
  /** Its Markdown, as it printed it. */
  markdown: string;
}

/**
 * `results` as JSON (`NaN` becomes `null`, as `JSON.stringify` does).
 *
 * @param results A run.
 * @returns Indented JSON, ending in a newline.
 */
export function stringifyResults(results: BenchResults): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}

/**
 * Reads results written by {@linkcode stringifyResults} (`null` figures
 * become `NaN` again).
 *
 * @param text The JSON.
 * @returns The run.
 * @throws {TypeError} If `text` is not a run's results.
 */
export function parseResults(text: string): BenchResults {
  const results = JSON.parse(
    text,
    (_key, value) => value === null ? NaN : value,
  ) as BenchResults;
  if (
    typeof results !== "object" || results === null ||
    !Array.isArray(results.plain) || !Array.isArray(results.tls) ||
    typeof results.settings !== "object"
  ) {
    throw new TypeError(
      "Cannot read bench results as the JSON lacks plain, tls or settings",
    );
  }
  return results;
}
