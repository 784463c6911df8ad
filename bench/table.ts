#!/usr/bin/env -S deno run --allow-run --allow-read
/**
 * Runs `deno bench --json` on the given bench files in one run and prints a
 * Markdown table per file: for each benchmark, the time per operation, the
 * operations (frames) per second, MB/s where bytes are counted, and its speed
 * relative to its group's baseline (`2.00×` = twice as fast as the
 * baseline), all from the same run.
 *
 * Each bench file exports `UNITS`: for each `group/name`, how many
 * operations (and bytes) one iteration of that benchmark performs.
 *
 * Usage: `deno run --allow-run --allow-read bench/table.ts FILE…`
 * (`deno task bench:table` runs it on every bench file).
 *
 * @module
 */

/** What one iteration of a benchmark does. */
export interface BenchUnits {
  /** Operations (or frames) per iteration. */
  ops: number;
  /** Bytes processed per iteration, for MB/s. */
  bytes?: number;
}

interface BenchResult {
  origin: string;
  group?: string;
  name: string;
  baseline: boolean;
  results: Array<{ ok?: { avg: number; n: number } }>;
}

function format(value: number, digits = 1): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

if (import.meta.main) {
  const files = Deno.args;
  if (files.length === 0) {
    console.error("Usage: bench/table.ts BENCH_FILE...");
    Deno.exit(2);
  }
  const units = new Map<string, Record<string, BenchUnits>>();
  for (const file of files) {
    const url = new URL(file, `file://${Deno.cwd()}/`).href;
    const module = await import(url) as { UNITS?: Record<string, BenchUnits> };
    units.set(url, module.UNITS ?? {});
  }
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--json", ...files],
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.error(`table: deno bench failed (exit ${code})`);
    Deno.exit(1);
  }
  const report = JSON.parse(new TextDecoder().decode(stdout)) as {
    runtime: string;
    cpu: string;
    benches: BenchResult[];
  };
  console.log(`${report.runtime}, ${report.cpu}, one run`);
  for (const [origin, table] of units) {
    const benches = report.benches.filter((b) => b.origin === origin);
    const withBytes = Object.values(table).some((u) => u.bytes !== undefined);
    console.log(`\n${origin.slice(origin.lastIndexOf("/bench/") + 1)}\n`);
    console.log(
      withBytes
        ? "| group | implementation | ns/frame | M frames/s | MB/s | speed vs baseline |\n| --- | --- | ---: | ---: | ---: | ---: |"
        : "| group | implementation | ns/op | M ops/s | speed vs baseline |\n| --- | --- | ---: | ---: | ---: |",
    );
    const groups = new Map<string, BenchResult[]>();
    for (const bench of benches) {
      const group = bench.group ?? "";
      groups.set(group, [...(groups.get(group) ?? []), bench]);
    }
    for (const [group, members] of groups) {
      const base = members.find((b) => b.baseline)?.results[0]?.ok?.avg;
      for (const bench of members) {
        const avg = bench.results[0]?.ok?.avg; // ns per iteration
        const unit = table[`${group}/${bench.name}`];
        if (avg === undefined || unit === undefined) continue;
        const perOp = avg / unit.ops;
        const speed = base === undefined ? "" : `${format(base / avg, 2)}×`;
        const cells = [
          group,
          bench.name,
          format(perOp),
          format(1e3 / perOp, 2),
          ...(withBytes
            ? [
              unit.bytes === undefined ? "" : format(unit.bytes / avg * 1e3, 0),
            ]
            : []),
          speed,
        ];
        console.log(`| ${cells.join(" | ")} |`);
      }
    }
  }
}
