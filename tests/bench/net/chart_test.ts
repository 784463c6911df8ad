/**
 * Tests of `bench/net/chart.ts`: the chart of a small sample of results is
 * well-formed XML (checked by the small parser below), has a panel per
 * measure with figures, a bar per server whose length is proportional to
 * its figure, sockit's bars highlighted, the C server as the reference
 * line, and nothing drawn for a failed or skipped figure.
 *
 * @module
 */
import { renderChart } from "../../../bench/net/chart.ts";
import {
  type BenchResults,
  type Figure,
  parseResults,
  type ServerResult,
  stringifyResults,
} from "../../../bench/net/results.ts";
import { renderReport, renderSummary } from "../../../bench/net/report.ts";
import { assert, assertEquals } from "../../_utils.ts";

// ---------------------------------------------------------------------------
// A small XML parser: elements, attributes, text; fails on anything
// unbalanced, an unknown entity or a stray `<`/`&`.

interface XmlElement {
  name: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

function decodeEntities(text: string): string {
  return text.replace(/&([a-z]+);|&/g, (whole, name?: string) => {
    if (name === undefined || !(name in ENTITIES)) {
      throw new SyntaxError(`Cannot parse XML as ${whole} is no entity`);
    }
    return ENTITIES[name]!;
  });
}

function parseXml(xml: string): XmlElement {
  let at = 0;
  const root: XmlElement = {
    name: "#document",
    attributes: new Map(),
    children: [],
    text: "",
  };
  const stack: XmlElement[] = [root];
  while (at < xml.length) {
    const lt = xml.indexOf("<", at);
    const text = xml.slice(at, lt === -1 ? xml.length : lt);
    if (text.includes(">")) throw new SyntaxError(`Stray > at ${at}`);
    stack.at(-1)!.text += decodeEntities(text);
    if (lt === -1) break;
    const gt = xml.indexOf(">", lt);
    if (gt === -1) throw new SyntaxError(`Unclosed tag at ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    at = gt + 1;
    if (tag.startsWith("?")) {
      if (lt !== 0 || !tag.endsWith("?")) {
        throw new SyntaxError("The XML declaration must come first");
      }
      continue;
    }
    if (tag.startsWith("/")) {
      const open = stack.pop();
      if (open === undefined || open.name !== tag.slice(1).trim()) {
        throw new SyntaxError(
          `Cannot close </${tag.slice(1)}> at ${lt}: <${open?.name}> is open`,
        );
      }
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const inner = selfClosing ? tag.slice(0, -1) : tag;
    const name = /^[A-Za-z][\w:.-]*/.exec(inner)?.[0];
    if (name === undefined) throw new SyntaxError(`Bad tag <${tag}>`);
    const attributes = new Map<string, string>();
    let rest = inner.slice(name.length);
    const attribute = /^\s+([\w:.-]+)="([^"<]*)"/;
    for (let m; (m = attribute.exec(rest)) !== null;) {
      if (attributes.has(m[1]!)) {
        throw new SyntaxError(`Attribute ${m[1]} twice in <${name}>`);
      }
      attributes.set(m[1]!, decodeEntities(m[2]!));
      rest = rest.slice(m[0].length);
    }
    if (rest.trim() !== "") {
      throw new SyntaxError(`Cannot parse <${name}> attributes: ${rest}`);
    }
    const element = { name, attributes, children: [], text: "" };
    stack.at(-1)!.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length !== 1) {
    throw new SyntaxError(`<${stack.at(-1)!.name}> is never closed`);
  }
  if (root.children.length !== 1 || root.text.trim() !== "") {
    throw new SyntaxError("An XML document has exactly one root element");
  }
  return root.children[0]!;
}

function all(element: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  for (const child of element.children) {
    if (child.name === name) found.push(child);
    found.push(...all(child, name));
  }
  return found;
}

function classes(element: XmlElement): string[] {
  return (element.attributes.get("class") ?? "").split(/\s+/).filter((c) =>
    c !== ""
  );
}

function numberAttribute(element: XmlElement, name: string): number {
  const value = Number(element.attributes.get(name));
  assert(Number.isFinite(value), `${name} of <${element.name}> is a number`);
  return value;
}

// ---------------------------------------------------------------------------
// A sample run

function figure(value: number, extra: Partial<Figure> = {}): Figure {
  return { value, runs: [value], ...extra };
}

function server(
  id: string,
  figures: ServerResult["figures"],
  extra: Partial<ServerResult> = {},
): ServerResult {
  return {
    id,
    label: `label of ${id}`,
    short: id,
    runtime: id.startsWith("node") ? "node" : id.startsWith("c") ? "c" : "deno",
    figures,
    ...extra,
  };
}

function sample(): BenchResults {
  return {
    date: "2026-12-03",
    machine: "a test machine",
    versions: ["Deno 2.9.6"],
    tlsVersions: [],
    seconds: 1,
    settings: {
      runs: 1,
      duration: 0.5,
      bulkDuration: 0.5,
      warmup: 0.2,
      idleConns: 2000,
    },
    repeated: 0,
    quietWaited: 0,
    plain: [
      server("sockit-echo", { bulk: figure(1300), pp100: figure(100_000) }, {
        idle: {
          live: 2000,
          conns: 2000,
          peakMiB: 60,
          perConnKiB: 10,
          runs: [60],
        },
      }),
      // A figure with decimals: labelled as a whole number.
      server("sockit-listen", { bulk: figure(1449.6), pp100: figure(95_000) }),
      server("deno-loop", { bulk: figure(1400), pp100: figure(104_000) }, {
        idle: {
          live: 2000,
          conns: 2000,
          peakMiB: 200,
          perConnKiB: 60,
          runs: [200],
        },
      }),
      // A failed run: no bar, never a zero-length one.
      server("node", {
        bulk: figure(850),
        pp100: figure(NaN, { runs: [], error: "reset" }),
      }),
      server("python", {}, { skipped: "`python3` is not on the PATH" }),
      server("c", { bulk: figure(1950), pp100: figure(160_000) }, {
        idle: {
          live: 2000,
          conns: 2000,
          peakMiB: 2,
          perConnKiB: 0.05,
          runs: [2],
        },
      }),
    ],
    tls: [
      server("sockit-echo-tls", { "tls-bulk": figure(445) }),
      server("deno-tls", { "tls-bulk": figure(708) }),
      server("c-tls", { "tls-bulk": figure(790) }),
    ],
  };
}

/** The bars the sample should have, per measure: server ids and figures. */
const EXPECTED: Record<string, [string, number][]> = {
  bulk: [
    ["sockit-echo", 1300],
    ["sockit-listen", 1449.6],
    ["deno-loop", 1400],
    ["node", 850],
  ],
  pp100: [["sockit-echo", 100_000], ["sockit-listen", 95_000], [
    "deno-loop",
    104_000,
  ]],
  idle: [["sockit-echo", 60], ["deno-loop", 200]],
  "tls-bulk": [["sockit-echo-tls", 445], ["deno-tls", 708]],
};
const REFERENCE_LINE: Record<string, number> = {
  bulk: 1950,
  pp100: 160_000,
  idle: 2,
  "tls-bulk": 790,
};

// ---------------------------------------------------------------------------

Deno.test("renderChart() writes well-formed SVG with no NaN, undefined or Infinity", () => {
  const svg = renderChart(sample());
  const root = parseXml(svg);
  assertEquals(root.name, "svg");
  assertEquals(root.attributes.get("xmlns"), "http://www.w3.org/2000/svg");
  assert(numberAttribute(root, "width") > 0);
  assert(numberAttribute(root, "height") > 0);
  for (const bad of ["NaN", "undefined", "Infinity", "null"]) {
    assert(!svg.includes(bad), `the chart says ${bad}`);
  }
});

Deno.test("renderChart() draws one panel per measure that has figures", () => {
  const root = parseXml(renderChart(sample()));
  const panels = all(root, "g").filter((g) => classes(g).includes("panel"));
  assertEquals(
    panels.map((p) => p.attributes.get("data-measure")),
    ["bulk", "pp100", "idle", "tls-bulk"],
  );
});

Deno.test("renderChart() draws a bar per server, its length proportional to its figure", () => {
  const root = parseXml(renderChart(sample()));
  const panels = all(root, "g").filter((g) => classes(g).includes("panel"));
  for (const panel of panels) {
    const measure = panel.attributes.get("data-measure")!;
    const bars = all(panel, "rect").filter((r) => classes(r).includes("bar"));
    assertEquals(
      bars.map((bar) => [
        bar.attributes.get("data-server"),
        numberAttribute(bar, "data-value"),
      ]),
      EXPECTED[measure],
      `bars of ${measure}`,
    );
    // One scale per panel: length / figure is the same for every bar,
    // and the longest bar (or the reference line) sets it.
    const x0 = numberAttribute(bars[0]!, "x");
    const scales = bars.map((bar) =>
      numberAttribute(bar, "width") / numberAttribute(bar, "data-value")
    );
    for (const scale of scales) {
      assert(
        Math.abs(scale - scales[0]!) * REFERENCE_LINE[measure]! < 0.05,
        `${measure}: bar lengths ${scales} are proportional`,
      );
    }
    for (const bar of bars) {
      assertEquals(numberAttribute(bar, "x"), x0, "bars start together");
      assert(numberAttribute(bar, "height") > 0);
    }
    // The C server is a dashed line on the same scale, not a bar.
    const [line, ...more] = all(panel, "line").filter((l) =>
      classes(l).includes("reference")
    );
    assert(line !== undefined && more.length === 0, `${measure}: one line`);
    assertEquals(numberAttribute(line, "data-value"), REFERENCE_LINE[measure]);
    const lineX = numberAttribute(line, "x1");
    assertEquals(numberAttribute(line, "x2"), lineX);
    assert(
      Math.abs((lineX - x0) - REFERENCE_LINE[measure]! * scales[0]!) < 0.05,
      `${measure}: the reference line is on the bars' scale`,
    );
    assert(line.attributes.has("stroke-dasharray"));
  }
});

Deno.test("renderChart() highlights sockit's bars and only those", () => {
  const root = parseXml(renderChart(sample()));
  const bars = all(root, "rect").filter((r) => classes(r).includes("bar"));
  const sockit = bars.filter((bar) => classes(bar).includes("sockit"));
  const others = bars.filter((bar) => !classes(bar).includes("sockit"));
  assertEquals(
    new Set(sockit.map((bar) => bar.attributes.get("data-server"))),
    new Set(["sockit-echo", "sockit-listen", "sockit-echo-tls"]),
  );
  const highlight = new Set(sockit.map((bar) => bar.attributes.get("fill")));
  assertEquals(highlight.size, 1, "one highlight colour");
  for (const bar of others) {
    assert(!highlight.has(bar.attributes.get("fill")!), "others are not");
  }
});

Deno.test("renderChart() labels each bar with its figure and its ratio to raw Deno", () => {
  const root = parseXml(renderChart(sample()));
  const bulk = all(root, "g").find((g) =>
    g.attributes.get("data-measure") === "bulk"
  )!;
  const labels = all(bulk, "text").map((t) => t.text);
  // 1300 / 1400 and 850 / 1400; raw Deno itself has no ratio.
  assert(labels.includes("1,300 · 0.93×"), labels.join(" | "));
  assert(labels.includes("850 · 0.61×"), labels.join(" | "));
  assert(labels.includes("1,400"), labels.join(" | "));
  assert(labels.includes("1,450 · 1.04×"), labels.join(" | "));
  assert(labels.includes("C 1,950"), labels.join(" | "));
});

Deno.test("renderChart() draws the same chart from results saved as JSON (NaN survives)", () => {
  const results = sample();
  const again = parseResults(stringifyResults(results));
  assert(Number.isNaN(again.plain[3]!.figures.pp100!.value));
  assertEquals(renderChart(again), renderChart(results));
});

Deno.test("renderSummary() embeds the chart and tabulates a row per server with figures", () => {
  const summary = renderSummary(sample());
  assert(summary.startsWith("![bench:net, 2026-12-03"));
  assert(summary.includes("](docs/bench.svg)"));
  const rows = summary.split("\n").filter((line) =>
    line.startsWith("| ") && !line.startsWith("| server") &&
    !line.startsWith("| ---")
  );
  assertEquals(rows.map((row) => row.split(" | ")[0]), [
    "| sockit `tcp.listen()` + handler",
    "| sockit `echo` tool",
    "| raw Deno `read`/`write` loop",
    "| Node `node:net` / `node:dgram`",
    "| C epoll",
    "| sockit `echo` tool, TLS",
    "| raw Deno `listenTls` loop",
    "| C epoll + OpenSSL",
  ]);
  assert(summary.includes("1,300 (0.93×)"), summary);
  assert(!summary.includes("NaN"));
});

Deno.test("the report keeps the companion benchmarks' sections, their headings under the run's", () => {
  const results: BenchResults = {
    ...sample(),
    companions: [{
      title: "Relays",
      command: "deno run -A bench/net/relay.ts",
      markdown:
        "## Relay throughput\n\n| relay | MB/s |\n| --- | --: |\n| sockit | 533 |",
    }],
  };
  const report = renderReport(results);
  const at = report.indexOf(
    "## Relays\n\nFrom the same run, made by `deno run -A bench/net/relay.ts`:",
  );
  assert(at > 0, report);
  assert(report.indexOf("#### Relay throughput", at) > at, report);
  assert(report.includes("| sockit | 533 |"));
  const again = parseResults(stringifyResults(results));
  assertEquals(again.companions, results.companions);
});

Deno.test("with --baseline rows the report has a before-and-now table of per-round ratios", () => {
  const base = sample();
  const results: BenchResults = {
    ...base,
    plain: [
      ...base.plain,
      // Rounds of 100 k then 120 k now against 110 k, 100 k before.
      server("sockit-echo-before", {
        pp100: figure(105_000, { runs: [110_000, 100_000] }),
      }, {
        idle: {
          live: 2000,
          conns: 2000,
          peakMiB: 75,
          perConnKiB: 12,
          runs: [75],
        },
      }),
    ],
  };
  results.plain[0]!.figures.pp100 = figure(110_000, {
    runs: [100_000, 120_000],
  });
  const report = renderReport(results);
  const at = report.indexOf("## Before and now");
  assert(at > 0, report);
  const rows = report.slice(at).split("\n").filter((line) =>
    line.startsWith("| label of sockit-echo |")
  );
  // pp100: rounds 100/110 and 120/100, median of the two 1.05 (0.91–1.20);
  // idle: less memory now is better (75 before / 60 now = 1.25).
  assertEquals(rows, [
    "| label of sockit-echo | ping-pong, 100 conns | 1.06× | 1.01× | 1.05 (0.91–1.20) |",
    "| label of sockit-echo | idle: peak RSS | 0.30× | 0.38× | 1.25 (1.25–1.25) |",
  ]);
  // Without baseline rows, no such section.
  assert(!renderReport(sample()).includes("## Before and now"));
});

Deno.test("the TLS table marks each measure's cell by its own target", () => {
  const results: BenchResults = {
    ...sample(),
    tls: [
      server("sockit-echo-tls", {
        "tls-bulk": figure(700), // 0.99× raw Deno: met
        "tls-pp100": figure(40_000), // 0.5×: missed
      }),
      server("deno-tls", {
        "tls-bulk": figure(708),
        "tls-pp100": figure(80_000),
      }),
    ],
  };
  const row = renderReport(results).split("\n").find((line) =>
    line.startsWith("| label of sockit-echo-tls")
  );
  assert(row !== undefined);
  const cells = row.split("|").map((cell) => cell.trim());
  assert(cells[2]!.startsWith("700 ✓"), cells[2]);
  assert(cells[3]!.startsWith("40,000 ✗"), cells[3]);
});
