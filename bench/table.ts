#!/usr/bin/env -S deno run --allow-run --allow-read
/**
 * Runs `deno bench --json` on the given bench files and prints a Markdown
 * table per group: each benchmark's time per operation and its ratio to the
 * group's baseline, all from the same run.
 *
 * Usage: `deno run --allow-run --allow-read bench/table.ts FILE…`
 * (`deno task bench:table` runs it on `bench/struct_bench.ts`).
 *
 * @module
 */
import { BATCH } from "./struct_bench.ts";

interface BenchResult {
  group?: string;
  name: string;
  baseline: boolean;
  results: Array<{ ok?: { avg: number; n: number } }>;
}

const files = Deno.args.length > 0 ? Deno.args : ["bench/struct_bench.ts"];
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

const groups = new Map<string, BenchResult[]>();
for (const bench of report.benches) {
  const group = bench.group ?? "";
  groups.set(group, [...(groups.get(group) ?? []), bench]);
}

console.log(`${report.runtime}, ${report.cpu}\n`);
console.log("| operation | implementation | ns/op | ratio to hand-written |");
console.log("| --- | --- | ---: | ---: |");
for (const [group, benches] of groups) {
  const base = benches.find((b) => b.baseline)?.results[0]?.ok?.avg;
  for (const bench of benches) {
    const avg = bench.results[0]?.ok?.avg;
    if (avg === undefined || base === undefined) continue;
    const perOp = avg / BATCH;
    console.log(
      `| ${group} | ${bench.name} | ${perOp.toFixed(1)} | ${
        (avg / base).toFixed(2)
      }× |`,
    );
  }
}
