#!/usr/bin/env -S deno run --allow-read
/**
 * Summarises a V8 CPU profile (`deno run --cpu-prof`, or
 * `bench/net/run.ts --profile DIR`): where the time goes, as self time per
 * function (the function itself, not its callees) and as total time per
 * function (with its callees), largest first. `(program)` is time in
 * native code V8 cannot attribute (Deno's Rust side and system calls),
 * `(idle)` is waiting, `(garbage collector)` is GC.
 *
 * Usage: `deno run --allow-read bench/net/profile.ts FILE.cpuprofile [TOP]`
 *
 * @module
 */

/** One node of a `.cpuprofile` call tree. */
interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
  children?: number[];
}

/** A V8 CPU profile as `--cpu-prof` writes it. */
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Time per function, in microseconds. */
export interface ProfileSummary {
  /** Total sampled time. */
  total: number;
  /** Self time per function name and location. */
  self: Map<string, number>;
  /** Time with callees per function name and location. */
  inclusive: Map<string, number>;
}

function nameOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || "(anonymous)";
  if (!url) return name;
  const file = url.replace(/^.*\/(main|deno_std[^/]*|ext|runtime)\//, "");
  return `${name} ${file}:${lineNumber + 1}`;
}

/**
 * Adds up the samples of `profile` per function.
 *
 * @param profile The parsed `.cpuprofile`.
 * @returns Total, self and inclusive time in microseconds.
 */
export function summarise(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(profile.samples[i]!);
    if (node === undefined) continue;
    const key = nameOf(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined;) {
      const at = byId.get(id)!;
      const name = nameOf(at);
      if (!seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  return { total, self, inclusive };
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map((
    [name, us],
  ) => `${(us / total * 100).toFixed(1).padStart(5)}%  ${name}`);
}

if (import.meta.main) {
  const [file, count] = Deno.args;
  if (file === undefined) {
    console.error("Usage: profile.ts FILE.cpuprofile [TOP]");
    Deno.exit(2);
  }
  const n = Number(count ?? 25);
  const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  const { total, self, inclusive } = summarise(profile);
  const idle = self.get("(idle)") ?? 0;
  console.log(
    `${file}: ${(total / 1e6).toFixed(2)} s sampled, ${
      ((total - idle) / 1e6).toFixed(2)
    } s busy`,
  );
  console.log("\nself time (share of all samples):");
  for (const line of top(self, total, n)) console.log(line);
  console.log("\ntotal time with callees:");
  for (const line of top(inclusive, total, n)) console.log(line);
}
