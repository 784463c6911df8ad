#!/usr/bin/env -S deno run --allow-read --allow-write --allow-run
/**
 * The chart of a `bench:net` run (`docs/bench.svg`): one panel per
 * measure, one horizontal bar per server (its length proportional to the
 * figure, from zero), sockit's bars highlighted, raw Deno's bar darker
 * (each label gives the figure and its ratio to raw Deno in the same run),
 * and the C server drawn as a dashed reference line across the panel
 * rather than as a bar. Plain TCP/UDP panels first, then TLS (where the
 * references are raw Deno's `listenTls` loop and C with OpenSSL).
 *
 * `bench/net/run.ts` writes it on every full run, from the same results
 * as `RESULTS.md`. To draw it again from saved results:
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-run bench/net/chart.ts [bench/net/results.json [docs/bench.svg]]
 * ```
 *
 * (`--allow-run`: the file is then laid out by `deno fmt`, which checks SVG
 * files too.)
 *
 * @module
 */
import {
  type BenchResults,
  parseResults,
  type RateMeasureId,
  type ServerResult,
} from "./results.ts";

/** One panel: a measure and how to show it. */
interface PanelSpec {
  measure: RateMeasureId | "idle";
  title: string;
  unit: string;
  /** Lower is better (memory). */
  lower?: boolean;
}

function plainPanels(idleConns: number): PanelSpec[] {
  return [
    { measure: "bulk", title: "Bulk echo, 1 connection", unit: "MB/s" },
    { measure: "pp1", title: "Ping-pong, 1 connection", unit: "round trips/s" },
    {
      measure: "pp1pin",
      title: "Ping-pong, 1 connection, pinned to 1 CPU",
      unit: "round trips/s",
    },
    {
      measure: "pp100",
      title: "Ping-pong, 100 connections",
      unit: "round trips/s",
    },
    {
      measure: "fr1",
      title: "Framed (64-byte u32 frames), 1 connection",
      unit: "frames/s",
    },
    {
      measure: "fr100",
      title: "Framed (64-byte u32 frames), 100 connections",
      unit: "frames/s",
    },
    { measure: "udp", title: "UDP echo, 16 in flight", unit: "round trips/s" },
    {
      measure: "idle",
      title: `${idleConns.toLocaleString("en-US")} idle connections`,
      unit: "peak RSS MiB",
      lower: true,
    },
  ];
}

const TLS_PANELS: PanelSpec[] = [
  { measure: "tls-bulk", title: "TLS bulk echo, 1 connection", unit: "MB/s" },
  {
    measure: "tls-pp100",
    title: "TLS ping-pong, 100 connections",
    unit: "round trips/s",
  },
  {
    measure: "tls-hs",
    title: "New TLS connections (full handshake)",
    unit: "connections/s",
  },
];

/** The chart's geometry, in SVG user units (pixels). */
const WIDTH = 960;
const MARGIN = 16;
const GAP = 24;
const COLUMNS = 2;
const PANEL_WIDTH = (WIDTH - 2 * MARGIN - (COLUMNS - 1) * GAP) / COLUMNS;
const LABEL_WIDTH = 150;
const VALUE_WIDTH = 92;
/** The longest bar: the panel's largest figure (bar or reference line). */
const BAR_AREA = PANEL_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
const PANEL_HEAD = 44;
const ROW = 18;
const BAR = 12;
const FONT =
  "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

const COLOR = {
  sockit: "#d9480f",
  reference: "#495057",
  other: "#adb5bd",
  line: "#1c7ed6",
  text: "#212529",
  muted: "#6c757d",
  grid: "#dee2e6",
};

/** `text` with `&`, `<`, `>` and quotes escaped for XML. */
function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll(
      "'",
      "&apos;",
    );
}

/** A figure in a few digits: `7.41 M`, `107 k`, `31.8 k`, `1,338`, `26.6`. */
function compact(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e4) {
    return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)} k`;
  }
  if (value >= 1000) return Math.round(value).toLocaleString("en-US");
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Two decimals below 10×, none above. */
function times(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}×`;
}

/** The figure `panel` shows for `row`, if it has a usable one. */
function valueOf(row: ServerResult, panel: PanelSpec): number | undefined {
  if (row.skipped !== undefined || row.failed !== undefined) return undefined;
  const value = panel.measure === "idle"
    ? (row.idle?.error === undefined ? row.idle?.peakMiB : undefined)
    : row.figures[panel.measure]?.value;
  return value !== undefined && Number.isFinite(value) && value >= 0
    ? value
    : undefined;
}

/** Is this server one of sockit's? */
function isSockit(row: ServerResult): boolean {
  return row.id.startsWith("sockit");
}

interface PanelData {
  spec: PanelSpec;
  bars: { row: ServerResult; value: number }[];
  /** The server the ratios are to, and its figure. */
  referenceId: string;
  reference: number | undefined;
  /** The reference line's figure (the C server). */
  line: number | undefined;
}

function panelData(
  rows: ServerResult[],
  spec: PanelSpec,
  referenceId: string,
  lineId: string,
): PanelData {
  const bars: PanelData["bars"] = [];
  let line: number | undefined;
  for (const row of rows) {
    const value = valueOf(row, spec);
    if (value === undefined) continue;
    if (row.id === lineId) line = value;
    else bars.push({ row, value });
  }
  const ref = rows.find((r) => r.id === referenceId);
  return {
    spec,
    bars,
    referenceId,
    reference: ref && valueOf(ref, spec),
    line,
  };
}

function renderPanel(
  data: PanelData,
  x: number,
  y: number,
  height: number,
  referenceName: string,
  lineName: string,
): string[] {
  const { spec, bars, reference, line } = data;
  const out: string[] = [];
  out.push(
    `<g class="panel" data-measure="${spec.measure}" transform="translate(${x} ${y})">`,
  );
  out.push(
    `<rect class="frame" x="0" y="0" width="${PANEL_WIDTH}" height="${height}" fill="none" stroke="${COLOR.grid}"/>`,
  );
  out.push(
    `<text x="8" y="17" font-size="13" font-weight="bold" fill="${COLOR.text}">${
      escapeXml(spec.title)
    }</text>`,
  );
  out.push(
    `<text x="8" y="32" font-size="11" fill="${COLOR.muted}">${
      escapeXml(
        `${spec.unit}, ${
          spec.lower ? "lower" : "higher"
        } is better · × = ratio to ${referenceName}`,
      )
    }</text>`,
  );
  const max = Math.max(...bars.map((b) => b.value), line ?? 0);
  const scale = max > 0 ? BAR_AREA / max : 0;
  const top = PANEL_HEAD;
  if (line !== undefined) {
    const lineX = LABEL_WIDTH + line * scale;
    const bottom = top + Math.max(bars.length, 1) * ROW - (ROW - BAR);
    out.push(
      `<line class="reference" data-server="${
        escapeXml(lineName)
      }" data-value="${line}" x1="${lineX.toFixed(2)}" y1="${top - 4}" x2="${
        lineX.toFixed(2)
      }" y2="${
        bottom + 4
      }" stroke="${COLOR.line}" stroke-width="1.5" stroke-dasharray="4 3"><title>${
        escapeXml(`${lineName}: ${line.toLocaleString("en-US")} ${spec.unit}`)
      }</title></line>`,
    );
    const labelX = Math.min(
      Math.max(lineX, LABEL_WIDTH + 20),
      PANEL_WIDTH - 40,
    );
    out.push(
      `<text x="${labelX.toFixed(2)}" y="${
        bottom + 15
      }" font-size="10" text-anchor="middle" fill="${COLOR.line}">${
        escapeXml(`C ${compact(line)}`)
      }</text>`,
    );
  }
  bars.forEach(({ row, value }, i) => {
    const rowY = top + i * ROW;
    const sockit = isSockit(row);
    const isReference = row.id === data.referenceId;
    const fill = sockit
      ? COLOR.sockit
      : isReference
      ? COLOR.reference
      : COLOR.other;
    const width = value * scale;
    const ratio = reference !== undefined && reference > 0 && !isReference
      ? ` · ${times(value / reference)}`
      : "";
    const full = `${row.label}: ${value.toLocaleString("en-US")} ${spec.unit}${
      reference !== undefined && reference > 0 && !isReference
        ? ` (${times(value / reference)} ${referenceName})`
        : ""
    }`;
    out.push(
      `<text x="${LABEL_WIDTH - 6}" y="${
        rowY + BAR - 2
      }" font-size="11" text-anchor="end" fill="${COLOR.text}"${
        sockit ? ' font-weight="bold"' : ""
      }>${escapeXml(row.short)}</text>`,
    );
    out.push(
      `<rect class="bar${sockit ? " sockit" : ""}" data-server="${
        escapeXml(row.id)
      }" data-value="${value}" x="${LABEL_WIDTH}" y="${rowY}" width="${
        width.toFixed(2)
      }" height="${BAR}" fill="${fill}"><title>${
        escapeXml(full)
      }</title></rect>`,
    );
    out.push(
      `<text x="${(LABEL_WIDTH + width + 4).toFixed(2)}" y="${
        rowY + BAR - 2
      }" font-size="11" fill="${
        sockit ? COLOR.sockit : COLOR.muted
      }" stroke="#ffffff" stroke-width="3" paint-order="stroke"${
        sockit ? ' font-weight="bold"' : ""
      }>${escapeXml(`${compact(value)}${ratio}`)}</text>`,
    );
  });
  out.push("</g>");
  return out;
}

interface Section {
  title: string;
  panels: PanelData[];
  referenceName: string;
  lineName: string;
}

/**
 * Renders the chart of `results` as an SVG document: a panel for each
 * measure some server has a figure for, a bar for each server with one
 * (lengths proportional to the figures), sockit's bars highlighted and
 * the C server as the reference line. Failed and skipped figures are left
 * out, never drawn as zero.
 *
 * @param results A run (or a sample of one).
 * @returns The SVG text.
 */
export function renderChart(results: BenchResults): string {
  const sections: Section[] = [
    {
      title: "Plain TCP and UDP",
      panels: plainPanels(results.settings.idleConns).map((spec) =>
        panelData(results.plain, spec, "deno-loop", "c")
      ),
      referenceName: "raw Deno",
      lineName: "C epoll",
    },
    {
      title: "TLS",
      panels: TLS_PANELS.map((spec) =>
        panelData(results.tls, spec, "deno-tls", "c-tls")
      ),
      referenceName: "raw Deno TLS",
      lineName: "C OpenSSL",
    },
  ].map((section) => ({
    ...section,
    panels: section.panels.filter((p) => p.bars.length > 0),
  })).filter((section) => section.panels.length > 0);

  const body: string[] = [];
  let y = MARGIN;
  body.push(
    `<text x="${MARGIN}" y="${
      y + 16
    }" font-size="18" font-weight="bold" fill="${COLOR.text}">${
      escapeXml("sockit network benchmarks (deno task bench:net)")
    }</text>`,
  );
  y += 22;
  const settings = results.settings;
  body.push(
    `<text x="${MARGIN}" y="${y + 12}" font-size="11" fill="${COLOR.muted}">${
      escapeXml(
        `Run of ${results.date} · ${results.machine} · medians of ${settings.runs} run${
          settings.runs === 1 ? "" : "s"
        } · loopback, one C load generator for all`,
      )
    }</text>`,
  );
  y += 16;
  if (results.source !== undefined) {
    body.push(
      `<text x="${MARGIN}" y="${y + 12}" font-size="11" fill="${COLOR.muted}">${
        escapeXml(`Figures: ${results.source}`)
      }</text>`,
    );
    y += 16;
  }
  y += 4;
  // Legend.
  const legend: [string, string][] = [
    [COLOR.sockit, "sockit"],
    [COLOR.reference, "raw Deno (the ratios' reference)"],
    [COLOR.other, "other runtimes"],
  ];
  let lx = MARGIN;
  for (const [color, text] of legend) {
    body.push(
      `<rect x="${lx}" y="${y + 2}" width="12" height="10" fill="${color}"/>`,
    );
    body.push(
      `<text x="${lx + 16}" y="${y + 11}" font-size="11" fill="${COLOR.text}">${
        escapeXml(text)
      }</text>`,
    );
    lx += 24 + text.length * 6;
  }
  if (
    sections.some((section) => section.panels.some((p) => p.line !== undefined))
  ) {
    body.push(
      `<line x1="${lx}" y1="${y + 7}" x2="${lx + 14}" y2="${
        y + 7
      }" stroke="${COLOR.line}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    );
    body.push(
      `<text x="${lx + 18}" y="${y + 11}" font-size="11" fill="${COLOR.text}">${
        escapeXml("C server (reference line)")
      }</text>`,
    );
  }
  y += 24;

  for (const section of sections) {
    const most = Math.max(...section.panels.map((p) => p.bars.length));
    const height = PANEL_HEAD + most * ROW + 22;
    body.push(
      `<text x="${MARGIN}" y="${
        y + 14
      }" font-size="14" font-weight="bold" fill="${COLOR.text}">${
        escapeXml(section.title)
      }</text>`,
    );
    y += 22;
    section.panels.forEach((panel, i) => {
      const column = i % COLUMNS;
      const row = Math.floor(i / COLUMNS);
      body.push(
        ...renderPanel(
          panel,
          MARGIN + column * (PANEL_WIDTH + GAP),
          y + row * (height + GAP / 2),
          height,
          section.referenceName,
          section.lineName,
        ),
      );
    });
    const gridRows = Math.ceil(section.panels.length / COLUMNS);
    y += gridRows * (height + GAP / 2) + GAP / 2;
  }
  const height = Math.ceil(y + MARGIN);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${
      escapeXml(FONT)
    }" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">${
      escapeXml(
        `sockit network benchmarks, run of ${results.date}: ${
          sections.reduce((n, s) => n + s.panels.length, 0)
        } measures, one bar per server`,
      )
    }</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

if (import.meta.main) {
  const [from = "bench/net/results.json", to = "docs/bench.svg"] = Deno.args;
  try {
    const results = parseResults(await Deno.readTextFile(from));
    await Deno.writeTextFile(to, renderChart(results));
    await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", to],
      stdout: "null",
      stderr: "null",
    }).output();
    console.error(`chart: wrote ${to} from ${from}`);
  } catch (error) {
    console.error(
      `chart: ${error instanceof Error ? error.message : String(error)}`,
    );
    Deno.exit(1);
  }
}
