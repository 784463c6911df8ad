/**
 * The Markdown report of a `bench:net` run (`RESULTS.md` above its notes
 * marker), made from the run's {@linkcode BenchResults}: one table per
 * section (rows: servers; columns: the measures, each figure with its ratio
 * to raw Deno and to C from the same run), the CPU each server used, the
 * targets met or missed; and the short summary table of README.md.
 *
 * @module
 */
import { median } from "./_harness.ts";
import {
  type BenchResults,
  type Figure,
  HS_CONNS,
  HS_MAX,
  HS_THREADS,
  MAX_RETRIES,
  NOISE_CORES,
  PAYLOAD,
  type RateMeasureId,
  REPEAT_BUDGET,
  type ServerResult,
  TCP_MEASURES,
  type TcpMeasureId,
  TLS_MEASURES,
  type TlsMeasureId,
} from "./results.ts";

// ---------------------------------------------------------------------------
// Formatting

/**
 * A figure as the report shows it: grouped thousands, 0–2 decimals
 * (`1,338`, `26.6`, `2.02`), `—` when not finite.
 *
 * @param value The figure.
 * @returns Its text.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "—";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ratio(value: number, reference: number | undefined): string {
  if (reference === undefined || !(reference > 0) || !Number.isFinite(value)) {
    return "–";
  }
  const r = value / reference;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

type Column = {
  title: string;
  /** The measure the column shows. */
  measure: RateMeasureId | "idle";
  /** The figure, or undefined when the row has none. */
  get: (row: ServerResult) => number | undefined;
  /** A second figure shown after a slash (p99 next to p50). */
  second?: (row: ServerResult) => number | undefined;
};

function figureOf(row: ServerResult, id: RateMeasureId): Figure | undefined {
  return row.figures[id];
}

/** A column of a measure's main figure (round trips/s, MB/s, frames/s). */
function rateColumn(title: string, measure: RateMeasureId): Column {
  return { title, measure, get: (r) => figureOf(r, measure)?.value };
}

/** A column of a measure's latencies: p50, then p99 after a slash. */
function latencyColumn(title: string, measure: TcpMeasureId): Column {
  return {
    title,
    measure,
    get: (r) => figureOf(r, measure)?.p50,
    second: (r) => figureOf(r, measure)?.p99,
  };
}

const COLUMNS: Column[] = [
  rateColumn("bulk echo MB/s (1 conn)", "bulk"),
  rateColumn("ping-pong rt/s, 1 conn", "pp1"),
  latencyColumn("1 conn p50 / p99 µs", "pp1"),
  rateColumn("ping-pong rt/s, 1 conn, pinned to 1 CPU", "pp1pin"),
  rateColumn("ping-pong rt/s, 100 conns", "pp100"),
  latencyColumn("100 conns p50 / p99 µs", "pp100"),
  rateColumn("framed frames/s, 1 conn", "fr1"),
  rateColumn("framed frames/s, 100 conns", "fr100"),
  rateColumn("UDP rt/s (16 in flight)", "udp"),
  { title: "idle conns: live", measure: "idle", get: (r) => r.idle?.live },
  {
    title: "idle: peak RSS MiB",
    measure: "idle",
    get: (r) => r.idle?.error ? undefined : r.idle?.peakMiB,
  },
  {
    title: "idle: KiB/conn",
    measure: "idle",
    get: (r) => r.idle?.error ? undefined : r.idle?.perConnKiB,
  },
];

function cell(
  row: ServerResult,
  column: Column,
  deno: ServerResult | undefined,
  c: ServerResult | undefined,
  marks: Map<string, string>,
): string {
  const figure = column.measure === "idle"
    ? row.idle
    : row.figures[column.measure];
  if (figure === undefined) return "";
  if (figure.skipped !== undefined) return `skipped: ${figure.skipped}`;
  const mark = marks.get(`${row.id}|${column.title}`) ?? "";
  if (column.measure === "idle" && column.title.endsWith("live")) {
    return `${row.idle!.live.toLocaleString("en-US")}/${
      row.idle!.conns.toLocaleString("en-US")
    }${figure.error !== undefined ? " failed" : ""}${mark}`;
  }
  const value = column.get(row);
  if (figure.error !== undefined || value === undefined) return `failed${mark}`;
  const second = column.second?.(row);
  const shown = second === undefined
    ? formatNumber(value)
    : `${formatNumber(value)} / ${formatNumber(second)}`;
  const ratios = (
    reference: ServerResult | undefined,
    name: string,
  ): string => {
    if (reference === undefined || reference === row) return "";
    const base = column.get(reference);
    if (base === undefined) return "";
    const baseSecond = column.second?.(reference);
    return second === undefined || baseSecond === undefined
      ? `${name} ${ratio(value, base)}`
      : `${name} ${ratio(value, base)} / ${ratio(second, baseSecond)}`;
  };
  const under = [ratios(deno, "D"), ratios(c, "C")].filter((s) => s !== "")
    .join(" · ");
  const noisy = "noise" in figure && figure.noise !== undefined ? " †" : "";
  return `${shown}${noisy}${mark}${under ? `<br>${under}` : ""}`;
}

/** The figures each table under a section's columns is compared to. */
interface References {
  /** Raw Deno's row (D). */
  deno: ServerResult | undefined;
  /** C's row (C). */
  c: ServerResult | undefined;
  /** Target marks by `id|column title`. */
  marks: Map<string, string>;
}

/**
 * A section's table: a row per server, a cell per column; a row that
 * `whole` says something about (skipped, failed to start) is that text in
 * its first cell.
 */
function serverTable(
  rows: ServerResult[],
  columns: Column[],
  references: References,
  whole: (row: ServerResult) => string | undefined,
): string[] {
  const { deno, c, marks } = references;
  const out = [
    `| server | ${columns.map((col) => col.title).join(" | ")} |`,
    `| --- | ${columns.map(() => "---:").join(" | ")} |`,
  ];
  for (const row of rows) {
    const text = whole(row);
    if (text !== undefined) {
      out.push(
        `| ${row.label} | ${text} |${
          columns.slice(1).map(() => " |").join("")
        }`,
      );
      continue;
    }
    const cells = columns.map((col) => cell(row, col, deno, c, marks));
    out.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  return out;
}

/** The "Failed runs:" list under a table, or nothing when none failed. */
function failedRuns(errors: string[]): string[] {
  return errors.length === 0
    ? []
    : ["", "Failed runs:", "", ...errors.map((e) => `- ${e}`)];
}

/** A CPU table's cell: server cores / load generator busy (medians). */
function cpuCell(figure: Figure | undefined): string {
  if (figure?.serverCpu === undefined) return "";
  return `${figure.serverCpu.toFixed(2)} / ${
    figure.loadgenBusy?.toFixed(2) ?? "?"
  }`;
}

/**
 * The columns in which another server beat C's figure (a line each), and
 * in how many columns C had a figure.
 */
function fasterThanC(
  rows: ServerResult[],
  c: ServerResult,
  columns: Column[],
): { lines: string[]; compared: number } {
  const lines: string[] = [];
  let compared = 0;
  for (const column of columns) {
    const cValue = column.get(c);
    if (cValue === undefined || !Number.isFinite(cValue)) continue;
    compared++;
    const faster = rows.filter((r) => r !== c && (column.get(r) ?? 0) > cValue);
    if (faster.length > 0) {
      lines.push(
        `${column.title}: ${
          faster.map((r) =>
            `${r.label} ${formatNumber(column.get(r)!)} vs C ${
              formatNumber(cValue)
            }`
          ).join("; ")
        }`,
      );
    }
  }
  return { lines, compared };
}

// ---------------------------------------------------------------------------
// Targets

interface Target {
  text: string;
  met: boolean | undefined;
  detail: string;
  /** Cells to mark: `id|column title`. */
  cells: string[];
}

/**
 * A target that holds when `a >= k * b` for every `[a, b, k]` of `pairs`;
 * not measured when a figure is missing (or there is no pair).
 */
function pairTarget(
  text: string,
  pairs: [number | undefined, number | undefined, number][],
  detail: string,
  cells: string[],
): Target {
  const known = pairs.length > 0 &&
    pairs.every(([a, b]) =>
      a !== undefined && b !== undefined && Number.isFinite(a) &&
      Number.isFinite(b)
    );
  return {
    text,
    met: known ? pairs.every(([a, b, k]) => a! >= k * b!) : undefined,
    detail,
    cells,
  };
}

/** `a / b` with 2 decimals, `?` when either is missing. */
function ratioText(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : "?";
}

function targets(rows: ServerResult[]): Target[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const value = (id: string, m: TcpMeasureId | "udp") =>
    byId.get(id)?.figures[m]?.value;
  const list: Target[] = [];
  const check = (...args: Parameters<typeof pairTarget>): void => {
    list.push(pairTarget(...args));
  };
  for (const id of ["sockit-echo", "sockit-listen"]) {
    if (!byId.has(id)) continue;
    const label = byId.get(id)!.label;
    const bulk = value(id, "bulk");
    check(
      `${label}: bulk echo ≥ 0.9× C and ≥ 1.5× Python asyncio`,
      [[bulk, value("c", "bulk"), 0.9], [bulk, value("python", "bulk"), 1.5]],
      `${ratioText(bulk, value("c", "bulk"))}× C, ${
        ratioText(bulk, value("python", "bulk"))
      }× Python`,
      [`${id}|${COLUMNS[0]!.title}`],
    );
    const pp = value(id, "pp100");
    check(
      `${label}: ping-pong, 100 conns ≥ Node and ≥ 0.75× C (never the pipeTo collapse)`,
      [[pp, value("node", "pp100"), 1], [pp, value("c", "pp100"), 0.75]],
      `${ratioText(pp, value("node", "pp100"))}× Node, ${
        ratioText(pp, value("c", "pp100"))
      }× C, ${ratioText(pp, value("deno-pipe", "pp100"))}× pipeTo`,
      [`${id}|${COLUMNS[4]!.title}`],
    );
  }
  for (const id of ["sockit-echo", "sockit-listen", "sockit-framed"]) {
    const row = byId.get(id);
    if (row?.idle === undefined) continue;
    const node = byId.get("node")?.idle;
    const deno = byId.get("deno-loop")?.idle;
    const peak = row.idle.error ? undefined : row.idle.peakMiB;
    const allLive = row.idle.live === row.idle.conns;
    const known = peak !== undefined && node !== undefined &&
      deno !== undefined;
    list.push({
      text: `${row.label}: ${
        row.idle.conns.toLocaleString("en-US")
      } idle connections all served, peak RSS ≤ Node's and ≤ ¼ of raw Deno's`,
      met: known
        ? allLive && peak <= node.peakMiB && peak * 4 <= deno.peakMiB
        : allLive
        ? undefined
        : false,
      detail: `${row.idle.live} live; ${peak?.toFixed(0) ?? "?"} MiB = ${
        ratioText(peak, node?.peakMiB)
      }× Node, ${ratioText(peak, deno?.peakMiB)}× raw Deno`,
      cells: [`${id}|${COLUMNS[10]!.title}`],
    });
  }
  const withIdle = value("sockit-listen", "pp100");
  const without = value("sockit-listen-no-idle", "pp100");
  check(
    "Idle timeouts cost ≤ 5% of ping-pong throughput (sockit `tcp.listen()`, 100 conns, with vs without)",
    [[withIdle, without, 0.95]],
    `with: ${formatNumber(withIdle ?? NaN)} rt/s, without: ${
      formatNumber(without ?? NaN)
    } rt/s (${ratioText(withIdle, without)}×)`,
    [`sockit-listen|${COLUMNS[4]!.title}`],
  );
  const framed = value("sockit-framed", "fr1");
  const plain = value("sockit-listen", "fr1");
  check(
    "Framed echo of 64-byte frames on 1 conn ≥ 40% of the unframed echo's bytes/s (sockit `tcp.listen()` echo under the same load)",
    [[framed, plain, 0.4]],
    `${formatNumber(framed ?? NaN)} vs ${
      formatNumber(plain ?? NaN)
    } frames/s = ${ratioText(framed, plain)}× (${
      formatNumber((framed ?? NaN) * (PAYLOAD + 4) / 1e6)
    } MB/s of frames; ${
      ratioText(
        (framed ?? NaN) * (PAYLOAD + 4) / 1e6,
        value("sockit-listen", "bulk"),
      )
    }× its bulk echo)`,
    [`sockit-framed|${COLUMNS[6]!.title}`],
  );
  const udp = value("sockit-listen", "udp");
  check(
    "UDP echo ≥ 0.95× raw `Deno.listenDatagram` and ≥ Node `dgram`",
    [[udp, value("deno-loop", "udp"), 0.95], [udp, value("node", "udp"), 1]],
    `${ratioText(udp, value("deno-loop", "udp"))}× raw Deno, ${
      ratioText(udp, value("node", "udp"))
    }× Node`,
    [`sockit-listen|${COLUMNS[8]!.title}`],
  );
  return list;
}

/** The rate measures a tool is held to the library's `listen()` on. */
const TOOL_MEASURES: readonly TcpMeasureId[] = TCP_MEASURES;

/** The tools that run the echo measures, besides the library's server. */
const TOOL_ROWS: readonly string[] = ["sockit-echo"];

/**
 * The targets of issue 18 ("the tools at the runtime's speed, framing nearly
 * free"): the tools at ≥ 0.95× the library's `listen()` echo on every
 * measure, framed echo ≥ 0.75× raw Deno's unframed echo of the same bytes,
 * and idle memory against Node's.
 */
function speedTargets(rows: ServerResult[]): Target[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const value = (id: string, m: TcpMeasureId) =>
    byId.get(id)?.figures[m]?.value;
  const column = (m: RateMeasureId) =>
    COLUMNS.find((col) => col.measure === m && col.second === undefined)!
      .title;
  const known = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && Number.isFinite(a) &&
    Number.isFinite(b) && b > 0;
  const list: Target[] = [];
  for (const id of TOOL_ROWS) {
    const tool = byId.get(id);
    if (tool === undefined || !byId.has("sockit-listen")) continue;
    const pairs = TOOL_MEASURES.map((m) =>
      [m, value(id, m), value("sockit-listen", m)] as const
    ).filter(([, a, b]) => known(a, b));
    const low = pairs.filter(([, a, b]) => a! < 0.95 * b!);
    list.push({
      text:
        `${tool.label}: ≥ 0.95× the library's \`tcp.listen()\` echo on every measure`,
      met: pairs.length === 0 ? undefined : low.length === 0,
      detail: pairs.length === 0
        ? "no measure of both"
        : pairs.map(([m, a, b]) => `${m} ${(a! / b!).toFixed(2)}×`).join(
          ", ",
        ),
      cells: low.map(([m]) => `${id}|${column(m)}`),
    });
  }
  const framed = value("sockit-framed", "fr1");
  const raw = value("deno-loop", "fr1");
  list.push({
    text:
      "Framed echo of 64-byte u32 frames on 1 conn ≥ 0.75× raw Deno's unframed echo of the same bytes",
    met: known(framed, raw) ? framed! >= 0.75 * raw! : undefined,
    detail: known(framed, raw)
      ? `${formatNumber(framed!)} vs ${formatNumber(raw!)} frames/s = ${
        (framed! / raw!).toFixed(2)
      }×`
      : "not measured",
    cells: [`sockit-framed|${column("fr1")}`],
  });
  const node = byId.get("node")?.idle;
  const peakTitle = COLUMNS[10]!.title;
  for (
    const [id, limit] of [["sockit-echo", 1], ["sockit-listen", 1.1]] as const
  ) {
    const row = byId.get(id);
    if (row?.idle === undefined) continue;
    const peak = row.idle.error ? undefined : row.idle.peakMiB;
    const nodePeak = node?.error ? undefined : node?.peakMiB;
    list.push({
      text: `${row.label}: ${
        row.idle.conns.toLocaleString("en-US")
      } idle connections at a peak RSS ≤ ${
        limit === 1 ? "" : `${limit}× `
      }Node's`,
      met: known(peak, nodePeak) ? peak! <= limit * nodePeak! : undefined,
      detail: known(peak, nodePeak)
        ? `${formatNumber(peak!)} vs ${formatNumber(nodePeak!)} MiB = ${
          (peak! / nodePeak!).toFixed(2)
        }× Node`
        : "not measured",
      cells: [`${id}|${peakTitle}`],
    });
  }
  return list;
}

/** Is C the fastest server in every throughput column? */
function loadgenCheck(rows: ServerResult[]): string {
  const c = rows.find((r) => r.id === "c");
  if (c === undefined) return "";
  const { lines } = fasterThanC(
    rows,
    c,
    [0, 1, 3, 4, 6, 7, 8].map((index) => COLUMNS[index]!),
  );
  return lines.length === 0
    ? "The load generator drives the C server faster than any other server in every throughput column: it is not the bottleneck."
    : `The C server is the fastest in every throughput column except: ${
      lines.join("; ")
    }. There the load generator drove another server faster still, so it could have driven C faster too: on one connection a C server that answers at once makes the client read the echo in smaller pieces (more system calls per byte) than a slower server that lets bytes pile up, so the client's own limit, not the server's, sets C's figure there. The table below shows how busy the load generator was.`;
}

// ---------------------------------------------------------------------------
// Report

/**
 * The whole Markdown of `RESULTS.md` above its notes marker: the plain
 * section, then the TLS one (if run).
 *
 * @param results A run.
 * @returns The Markdown (not yet `deno fmt`-ed).
 */
export function renderReport(results: BenchResults): string {
  const out: string[] = [];
  out.push("# Network benchmarks: sockit side by side");
  out.push("");
  out.push(
    "Written by `deno task bench:net` (`bench/net/run.ts`) from one run; do not edit by hand above the notes marker. The same run's figures: `bench/net/results.json`; as a chart: `docs/bench.svg`.",
  );
  if (results.source !== undefined) out.push("", `Source: ${results.source}`);
  if (results.plain.length > 0) out.push("", ...plainReport(results));
  if (results.tls.length > 0) out.push("", ...tlsReport(results));
  for (const companion of results.companions ?? []) {
    out.push(
      "",
      `## ${companion.title}`,
      "",
      `From the same run, made by \`${companion.command}\`:`,
      "",
      // The companions' own headings sit under this one.
      companion.markdown.replace(/^(#+) /gm, "##$1 "),
    );
  }
  return out.join("\n");
}

/** Marks for the cells of the targets: ✓ met, ✗ missed. */
function targetMarks(goals: Target[]): Map<string, string> {
  const marks = new Map<string, string>();
  for (const goal of goals) {
    for (const key of goal.cells) {
      if (goal.met === false) marks.set(key, " ✗");
      else if (goal.met === true && !marks.has(key)) marks.set(key, " ✓");
    }
  }
  return marks;
}

function goalLine(goal: Target): string {
  const verdict = goal.met === undefined
    ? "not measured"
    : goal.met
    ? "met ✓"
    : "**missed ✗**";
  return `- ${goal.text}: ${verdict} — ${goal.detail}.`;
}

function plainReport(results: BenchResults): string[] {
  const rows = results.plain;
  const options = results.settings;
  const { repeated, quietWaited } = results;
  const facts = results;
  const deno = rows.find((r) => r.id === "deno-loop");
  const c = rows.find((r) => r.id === "c");
  const goals = targets(rows);
  const speedGoals = speedTargets(rows);
  const marks = targetMarks([...goals, ...speedGoals]);
  const out: string[] = [];
  out.push(
    `${facts.machine}. ${
      facts.versions.join(", ")
    }. Loopback only. Each figure is the median of ${options.runs} run${
      options.runs === 1 ? "" : "s"
    } of ${options.duration} s (bulk ${options.bulkDuration} s) after ${options.warmup} s of warm-up, taken in rounds (one run of every server per round, each round in a rotated order); the whole run took ${
      Math.round(facts.seconds)
    } s${
      repeated > 0 || quietWaited > 0
        ? ` (this machine is shared: ${repeated} run${
          repeated === 1 ? " was" : "s were"
        } repeated because other work disturbed ${
          repeated === 1 ? "it" : "them"
        }, and ${Math.round(quietWaited)} s went to waiting for quiet)`
        : ""
    }. Under each figure: its ratio to raw Deno (D, the \`read\`/\`write\` loop) and to C in the same run; for latency and memory, lower is better. ✓/✗: a target of issue 7 or 18 met/missed (below).`,
  );
  out.push("");
  out.push(
    ...serverTable(
      rows,
      COLUMNS,
      { deno, c, marks },
      (row) =>
        row.skipped !== undefined ? `skipped: ${row.skipped}` : undefined,
    ),
  );
  out.push("");
  out.push("Servers (in `bench/net/`):");
  out.push("");
  for (const row of rows) {
    const udp = row.udpLabel ? ` UDP column: ${row.udpLabel}.` : "";
    out.push(`- ${row.label}: ${row.note ?? ""}.${udp}`);
  }
  out.push("");
  out.push("Measures (one load generator, `loadgen.c`, for every server):");
  out.push("");
  out.push(
    `- bulk echo: one connection streams a byte pattern (writes of up to 256 KiB, at most 1 MiB in flight) and checks every byte that comes back; MB/s of echoed bytes.`,
  );
  out.push(
    `- ping-pong: ${PAYLOAD}-byte messages, one in flight per connection, each echo checked; round trips/s and the latency of each round trip (p50/p99). "Pinned": server and load generator both on CPU 0 (\`taskset\`), which removes the cross-core wake-up from each round trip.`,
  );
  out.push(
    `- framed: ${PAYLOAD}-byte payloads with a u32 big-endian length prefix, pipelined (up to 512 frames in flight per connection, 64 per write), every frame's header, sequence number and payload checked; frames/s. Plain echo servers echo the bytes, the framed server decodes and re-encodes them. The load generator uses two threads for 100 connections, one otherwise.`,
  );
  out.push(
    `- UDP: 16 sockets, one ${PAYLOAD}-byte datagram in flight each, checked; unanswered after 200 ms counts as lost and is resent.`,
  );
  out.push(
    `- idle: ${
      options.idleConns.toLocaleString("en-US")
    } connections opened (64 handshakes at a time), each proven live by a 1-byte echo, then held idle; every server runs with its idle timeout on (60 s, longer than the test). Peak RSS is the server's VmHWM from \`/proc/PID/status\` with all connections open; KiB/conn is (VmRSS then − VmRSS before the first connection) / live connections. A fresh server for each run.`,
  );
  const errors = rows.flatMap((row) => [
    ...Object.entries(row.figures).filter(([, f]) => f?.error).map((
      [m, f],
    ) => `${row.label}, ${m}: ${f!.error}`),
    ...(row.idle?.error ? [`${row.label}, idle: ${row.idle.error}`] : []),
  ]);
  out.push(...failedRuns(errors));
  if (rows.some((r) => Object.values(r.figures).some((f) => f?.noise))) {
    out.push("");
    out.push(
      `† Other work on this (shared) machine used more than ${NOISE_CORES} cores during a run kept for this figure (runs are repeated at most ${MAX_RETRIES} times each and ${REPEAT_BUDGET} times in all): take it with salt.`,
    );
  }
  out.push("");
  out.push("## The load generator is not the bottleneck");
  out.push("");
  out.push(loadgenCheck(rows));
  out.push("");
  out.push(
    "Each cell: CPU cores the server used while measured / the share of that time the load generator was busy (medians of the runs). A server near 1.00 core was the bottleneck itself — all of these servers echo on one thread; a load generator well below 1.00 was waiting for the server, not the other way round (ping-pong and UDP busy-poll, so there it counts only the polls that found work):",
  );
  out.push("");
  const cpuColumns: (TcpMeasureId | "udp")[] = [...TCP_MEASURES, "udp"];
  out.push(`| server | ${cpuColumns.join(" | ")} |`);
  out.push(`| --- | ${cpuColumns.map(() => "---:").join(" | ")} |`);
  for (const row of rows) {
    if (row.skipped !== undefined) continue;
    const cells = cpuColumns.map((m) => cpuCell(row.figures[m]));
    out.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  out.push(...beforeAndNow(rows));
  out.push("");
  out.push("## Targets (issue 7)");
  out.push("");
  for (const goal of goals) out.push(goalLine(goal));
  out.push("");
  out.push("## Targets (issue 18)");
  out.push("");
  for (const goal of speedGoals) out.push(goalLine(goal));
  return out;
}

/** The measures a before-and-now table compares, and which way is better. */
const COMPARED: readonly [RateMeasureId | "idle", string, boolean][] = [
  ["bulk", "bulk MB/s", true],
  ["pp1", "ping-pong, 1 conn", true],
  ["pp1pin", "ping-pong, 1 conn, pinned", true],
  ["pp100", "ping-pong, 100 conns", true],
  ["fr1", "framed, 1 conn", true],
  ["fr100", "framed, 100 conns", true],
  ["udp", "UDP", true],
  ["idle", "idle: peak RSS", false],
];

/**
 * With `--baseline REV`: each sockit row next to its row as it was at
 * `REV`, both as ratios to raw Deno in this run, and how the ratio moved:
 * the median over the rounds of now ÷ before within a round (both ran in
 * every round, minutes apart at most, so a slow spell of the machine
 * touches both), with the least and greatest.
 */
function beforeAndNow(rows: ServerResult[]): string[] {
  const deno = rows.find((r) => r.id === "deno-loop");
  const pairs = rows.flatMap((before) => {
    if (!before.id.endsWith("-before")) return [];
    const now = rows.find((r) => `${r.id}-before` === before.id);
    return now === undefined ? [] : [[now, before] as const];
  });
  if (pairs.length === 0 || deno === undefined) return [];
  const runsOf = (row: ServerResult, m: RateMeasureId | "idle") =>
    m === "idle" ? row.idle?.runs : row.figures[m]?.runs;
  const valueOf = (row: ServerResult, m: RateMeasureId | "idle") =>
    m === "idle" ? row.idle?.peakMiB : row.figures[m]?.value;
  const out = [
    "",
    "## Before and now",
    "",
    "Each sockit row of this run next to the same server at the baseline revision (`--baseline`), both as ratios to raw Deno's figure in this run (for peak RSS lower is better), and now ÷ before: the median over the rounds of the two runs of the same round (least–greatest after it); above 1.00 is better now (for peak RSS: less memory now).",
    "",
    "| server | measure | now ÷ D | before ÷ D | now ÷ before (rounds) |",
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const [now, before] of pairs) {
    for (const [m, title, higherBetter] of COMPARED) {
      const a = runsOf(now, m);
      const b = runsOf(before, m);
      if (a === undefined || b === undefined) continue;
      const changes = a.flatMap((x, i) => {
        const y = b[i];
        if (y === undefined || !(x > 0) || !(y > 0)) return [];
        return [higherBetter ? x / y : y / x];
      });
      if (changes.length === 0) continue;
      changes.sort((x, y) => x - y);
      const d = valueOf(deno, m);
      out.push(
        `| ${now.label} | ${title} | ${ratio(valueOf(now, m)!, d)} | ${
          ratio(valueOf(before, m)!, d)
        } | ${median(changes).toFixed(2)} (${changes[0]!.toFixed(2)}–${
          changes.at(-1)!.toFixed(2)
        }) |`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// TLS report

const TLS_COLUMNS: Column[] = [
  rateColumn("TLS bulk echo MB/s (1 conn)", "tls-bulk"),
  rateColumn("TLS ping-pong rt/s, 100 conns", "tls-pp100"),
  rateColumn(
    `TLS new connections/s (full handshake + 1 round trip, ${HS_CONNS} at a time)`,
    "tls-hs",
  ),
];

/** Short names of the TLS measures, for the targets' details. */
const TLS_SHORT: Record<TlsMeasureId, string> = {
  "tls-bulk": "bulk",
  "tls-pp100": "ping-pong 100 conns",
  "tls-hs": "handshakes",
};

function tlsTargets(rows: ServerResult[]): Target[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sockit = byId.get("sockit-echo-tls");
  if (sockit === undefined) return [];
  const value = (id: string, m: TlsMeasureId) =>
    byId.get(id)?.figures[m]?.value;
  const why = sockit.failed !== undefined
    ? ` (it failed to start: ${sockit.failed})`
    : sockit.skipped !== undefined
    ? ` (skipped: ${sockit.skipped})`
    : "";
  const measured = TLS_MEASURES.filter((m) =>
    sockit.figures[m] !== undefined || byId.get("deno-tls")?.figures[m]
  );
  const pp = value(sockit.id, "tls-pp100");
  // One target per measure, so that each cell's mark is its own.
  return [
    ...measured.map((m) =>
      pairTarget(
        `${sockit.label}: ${TLS_SHORT[m]} ≥ 0.95× raw Deno TLS`,
        [[value(sockit.id, m), value("deno-tls", m), 0.95]],
        `${ratioText(value(sockit.id, m), value("deno-tls", m))}×${why}`,
        [`${sockit.id}|${TLS_COLUMNS.find((col) => col.measure === m)!.title}`],
      )
    ),
    pairTarget(
      `${sockit.label}: ping-pong, 100 conns ≥ Node \`node:tls\``,
      [[pp, value("node-tls", "tls-pp100"), 1]],
      `${ratioText(pp, value("node-tls", "tls-pp100"))}× Node${why}`,
      [`${sockit.id}|${TLS_COLUMNS[1]!.title}`],
    ),
  ];
}

/** Is the C OpenSSL server the fastest in every TLS column? */
function tlsLoadgenCheck(rows: ServerResult[]): string {
  const c = rows.find((r) => r.id === "c-tls");
  if (c === undefined) {
    return "The C OpenSSL server was not run, so this run cannot show that the load generator outpaces the servers.";
  }
  const { lines, compared } = fasterThanC(rows, c, TLS_COLUMNS);
  if (compared === 0) {
    return "The C OpenSSL server has no figure in this run, so this run cannot show that the load generator outpaces the servers.";
  }
  return lines.length === 0
    ? "The load generator drives the C OpenSSL server faster than any other server in every TLS column: the others' figures are theirs, not the load generator's."
    : `The C OpenSSL server is the fastest in every TLS column except: ${
      lines.join("; ")
    }. There the load generator drove another server faster than C, so it did not limit C either: C's own cost per byte or per handshake set its figure. The table below shows how busy each side was.`;
}

function tlsReport(results: BenchResults): string[] {
  const rows = results.tls;
  const options = results.settings;
  const facts = results;
  const deno = rows.find((r) => r.id === "deno-tls");
  const c = rows.find((r) => r.id === "c-tls");
  const goals = tlsTargets(rows);
  const marks = targetMarks(goals);
  const out: string[] = [];
  out.push("## TLS");
  out.push("");
  out.push(
    `${facts.machine}. ${
      [...facts.versions, ...facts.tlsVersions].join(", ")
    }. Loopback only, TLS 1.3 as each server and the load generator negotiate it by default (below). Each figure is the median of ${options.runs} run${
      options.runs === 1 ? "" : "s"
    } of ${options.duration} s (bulk ${options.bulkDuration} s) after ${options.warmup} s of warm-up, taken in rounds like the plain measures. Under each figure: its ratio to raw Deno TLS (D, the \`listenTls\` \`read\`/\`write\` loop) and to C OpenSSL (C) in the same run. ✓/✗: a target of "TLS everywhere" met/missed (below).`,
  );
  out.push("");
  out.push(
    ...serverTable(
      rows,
      TLS_COLUMNS,
      { deno, c, marks },
      (row) =>
        row.skipped !== undefined
          ? `skipped: ${row.skipped}`
          : row.failed !== undefined
          ? `failed to start: ${row.failed.replaceAll("|", "\\|")}`
          : undefined,
    ),
  );
  out.push("");
  out.push("TLS servers (in `bench/net/`), each with the run's certificate:");
  out.push("");
  for (const row of rows) out.push(`- ${row.label}: ${row.note}.`);
  out.push("");
  out.push(
    "TLS measures (the same load generator, `loadgen.c`, as an OpenSSL client):",
  );
  out.push("");
  out.push(
    "- Certificates: a throwaway CA and a server certificate for `127.0.0.1` and `localhost` signed by it, EC P-256, made with the `openssl` command in `bench/net/.build/tls/` at each run. The load generator verifies each server's certificate against that CA and its IP address, as a verifying client does (there is no insecure mode), and never resumes a session: every handshake is a full one, for every server alike.",
  );
  out.push(
    "- TLS bulk echo: as bulk echo above (one connection, at most 1 MiB in flight, every byte checked), over TLS; the handshake happens before the measuring.",
  );
  out.push(
    `- TLS ping-pong: 100 connections, one ${PAYLOAD}-byte message in flight each, each echo checked; the handshakes happen before the measuring.`,
  );
  out.push(
    `- TLS new connections: ${HS_CONNS} connections at a time (${HS_THREADS} load generator threads), each: TCP connect, a full TLS handshake (certificate verified), one ${PAYLOAD}-byte message and its echo (checked), \`close_notify\` and close; then the next. Completed ones per second, at most ${
      HS_MAX.toLocaleString("en-US")
    } per run. On a small machine the load generator's share of this one is large: a TLS client does more public-key work per handshake (two signature checks) than the server (one signature).`,
  );
  const errors = rows.flatMap((row) =>
    Object.entries(row.figures).filter(([, f]) => f?.error).map((
      [m, f],
    ) => `${row.label}, ${m}: ${f!.error}`)
  );
  out.push(...failedRuns(errors));
  if (rows.some((r) => Object.values(r.figures).some((f) => f?.noise))) {
    out.push("");
    out.push(
      `† Other work on this (shared) machine used more than ${NOISE_CORES} cores during a run kept for this figure: take it with salt.`,
    );
  }
  out.push("");
  out.push("### The load generator is not the bottleneck (TLS)");
  out.push("");
  out.push(tlsLoadgenCheck(rows));
  out.push("");
  out.push(
    "Each cell: CPU cores the server used while measured / the share of that time the load generator's busiest thread was busy (medians); then the new connections' time from connect to echo, and what each server negotiated with the load generator:",
  );
  out.push("");
  out.push(
    "| server | tls-bulk | tls-pp100 | tls-hs | new connection p50 / p99 ms | negotiated |",
  );
  out.push("| --- | ---: | ---: | ---: | ---: | --- |");
  for (const row of rows) {
    if (row.skipped !== undefined || row.failed !== undefined) continue;
    const cells = TLS_MEASURES.map((m) => cpuCell(row.figures[m]));
    const hs = row.figures["tls-hs"];
    const latency = hs?.p50 !== undefined && hs.p99 !== undefined
      ? `${formatNumber(hs.p50 / 1000)} / ${formatNumber(hs.p99 / 1000)}`
      : "";
    const tls = TLS_MEASURES.map((m) => row.figures[m]?.tls).find((t) => t) ??
      "";
    out.push(
      `| ${row.label} | ${cells.join(" | ")} | ${latency} | ${tls} |`,
    );
  }
  out.push("");
  out.push('### Targets ("TLS everywhere")');
  out.push("");
  if (goals.length === 0) {
    out.push(
      "- The sockit row (`sockit-echo-tls`) was not in this run: no target to check.",
    );
  }
  for (const goal of goals) out.push(goalLine(goal));
  return out;
}

// ---------------------------------------------------------------------------
// README summary

/** README's rows: a server's id and its name there. */
const SUMMARY_ROWS: readonly [string, string][] = [
  ["sockit-listen", "sockit `tcp.listen()` + handler"],
  ["sockit-echo", "sockit `echo` tool"],
  ["sockit-framed", "sockit framed echo (u32 prefix)"],
  ["deno-loop", "raw Deno `read`/`write` loop"],
  ["deno-pipe", "raw Deno `pipeTo`"],
  ["node", "Node `node:net` / `node:dgram`"],
  ["python", "Python asyncio"],
  ["c", "C epoll"],
];

const SUMMARY_TLS_ROWS: readonly [string, string][] = [
  ["sockit-echo-tls", "sockit `echo` tool, TLS"],
  ["deno-tls", "raw Deno `listenTls` loop"],
  ["node-tls", "Node `node:tls`"],
  ["c-tls", "C epoll + OpenSSL"],
];

/** A figure with its ratio to `reference` in brackets. */
function summaryCell(
  value: number | undefined,
  reference: number | undefined,
  unit = "",
): string {
  if (value === undefined || !Number.isFinite(value)) return "";
  const shown = `${formatNumber(value)}${unit}`;
  return reference === undefined || value === reference
    ? shown
    : `${shown} (${ratio(value, reference)})`;
}

function summaryTable(
  rows: ServerResult[],
  names: readonly [string, string][],
  reference: string,
  columns: [string, (row: ServerResult) => number | undefined, string?][],
): string[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const base = byId.get(reference);
  const out = [
    `| server | ${columns.map(([title]) => title).join(" | ")} |`,
    `| --- | ${columns.map(() => "---:").join(" | ")} |`,
  ];
  for (const [id, name] of names) {
    const row = byId.get(id);
    if (row === undefined || row.skipped !== undefined) continue;
    const cells = columns.map(([, get, unit]) =>
      summaryCell(get(row), base && get(base), unit)
    );
    if (cells.every((c) => c === "")) continue;
    out.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return out;
}

/**
 * README.md's summary of a run: the chart, then a short table of the
 * figures most people ask about (bulk, 100-connection ping-pong, framed,
 * UDP, idle memory; TLS), each with its ratio to raw Deno in brackets.
 *
 * @param results A run.
 * @param chart The chart's path, relative to README.md.
 * @returns Markdown for README.md's summary block.
 */
export function renderSummary(
  results: BenchResults,
  chart = "docs/bench.svg",
): string {
  const rate = (m: RateMeasureId) => (row: ServerResult) =>
    row.figures[m]?.value;
  const out: string[] = [];
  out.push(
    `![bench:net, ${results.date}: a panel per measure, a bar per server, sockit's highlighted, the C server as a reference line](${chart})`,
  );
  out.push("");
  out.push(
    `Figures from the run of ${results.date}${
      results.source === undefined ? "" : `: ${results.source}`
    }.`,
  );
  out.push("");
  out.push(...summaryTable(results.plain, SUMMARY_ROWS, "deno-loop", [
    ["bulk echo MB/s", rate("bulk")],
    ["ping-pong rt/s, 100 conns", rate("pp100")],
    ["framed frames/s, 1 conn", rate("fr1")],
    ["UDP rt/s", rate("udp")],
    [
      `${
        results.settings.idleConns.toLocaleString("en-US")
      } idle conns: peak RSS`,
      (row) => row.idle?.error ? undefined : row.idle?.peakMiB,
      " MiB",
    ],
  ]));
  if (results.tls.some((row) => row.skipped === undefined)) {
    out.push("");
    out.push("TLS (in brackets the ratio to raw Deno's `listenTls` loop):");
    out.push("");
    out.push(...summaryTable(results.tls, SUMMARY_TLS_ROWS, "deno-tls", [
      ["TLS bulk MB/s", rate("tls-bulk")],
      ["TLS ping-pong rt/s, 100 conns", rate("tls-pp100")],
      ["new TLS connections/s", rate("tls-hs")],
    ]));
  }
  return out.join("\n");
}
