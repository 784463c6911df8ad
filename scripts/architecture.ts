#!/usr/bin/env -S deno run --allow-read --allow-write --allow-run
/**
 * The layout's rules as code: which folder may import which, and the list of
 * public symbols per entry point that `docs/architecture.md` shows.
 *
 * - `checkImports()` scans every source file's static and dynamic imports and
 *   returns each one that breaks a rule of `docs/architecture.md`.
 * - `publicApi()` asks `deno doc --json` for the symbols of every library
 *   entry point in `deno.json`.
 *
 * Usage: `deno task api` rewrites the public-symbol block of
 * `docs/architecture.md` from the code; `deno task api --check` only says
 * whether it is current (`tests/architecture_test.ts` does the same).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/** The library's folders, bottom layer first. */
export const FOLDERS = [
  "framing",
  "_internal",
  "net",
  "tcp",
  "udp",
  "poll",
  "relay",
  "rexec",
  "tools",
] as const;

/** A folder of the library (or `root` for the top-level `mod.ts`). */
export type Folder = (typeof FOLDERS)[number] | "root";

/** Which folders each folder may import (besides itself). */
export const ALLOWED: Readonly<Record<Folder, readonly Folder[]>> = {
  framing: ["_internal"], // _internal/std.ts only (checked below)
  _internal: ["framing", "net"],
  net: ["_internal"],
  tcp: ["framing", "net", "_internal"],
  udp: ["framing", "net", "_internal"],
  poll: ["framing", "net", "tcp", "udp", "_internal"],
  relay: ["framing", "net", "tcp", "udp", "_internal"],
  rexec: ["framing", "net", "tcp", "_internal"],
  tools: [
    "framing",
    "net",
    "tcp",
    "udp",
    "poll",
    "relay",
    "rexec",
    "_internal",
  ],
  root: ["framing", "net", "tcp", "udp", "poll", "relay", "rexec"],
};

/**
 * What tools/ may take from _internal/: the std boundary, and the address
 * blocks behind `cat --allow`/`--deny` (no public symbol is spent on them).
 */
const TOOLS_INTERNAL: readonly string[] = [
  "_internal/std.ts",
  "_internal/cidr.ts",
];

/** One import that breaks a rule. */
export interface Violation {
  /** The importing file, relative to the repository root. */
  file: string;
  /** The import specifier as written. */
  specifier: string;
  /** Which rule it breaks. */
  rule: string;
}

const IMPORT_RE =
  /^(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']|^import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gms;

/** The import specifiers of `source`, without those in comments. */
export function importsOf(source: string): string[] {
  // Doc comments hold example imports of the package; drop every line of a
  // block comment and every line comment before scanning.
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, " "))
    .replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const match of code.matchAll(IMPORT_RE)) {
    found.push(match[1] ?? match[2] ?? match[3]!);
  }
  return found;
}

function folderOf(path: string): Folder | null {
  if (path === "mod.ts") return "root";
  const top = path.split("/")[0]!;
  return (FOLDERS as readonly string[]).includes(top) ? top as Folder : null;
}

/** Source files of the library (and `examples/`), relative to the root. */
export async function sourceFiles(): Promise<string[]> {
  const files = ["mod.ts"];
  for (const folder of [...FOLDERS, "examples"]) {
    await walk(folder, files);
  }
  return files.sort();
}

async function walk(dir: string, out: string[]): Promise<void> {
  for await (const entry of Deno.readDir(new URL(dir + "/", ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await walk(path, out);
    else if (/\.(ts|mts|js)$/.test(entry.name)) out.push(path);
  }
}

function resolve(from: string, specifier: string): string {
  const url = new URL(specifier, new URL(from, ROOT));
  return url.href.slice(ROOT.href.length);
}

/**
 * Checks one file's imports against the rules.
 *
 * @param file The file, relative to the repository root.
 * @param source Its text.
 * @returns The imports that break a rule.
 */
export function checkFile(file: string, source: string): Violation[] {
  const violations: Violation[] = [];
  const from = folderOf(file);
  const add = (specifier: string, rule: string) =>
    violations.push({ file, specifier, rule });
  if (from === "framing" && /(?<![\w.])Deno\./.test(stripComments(source))) {
    add("Deno.*", "framing/ is bytes only: it uses no Deno API");
  }
  for (const specifier of importsOf(source)) {
    if (file.startsWith("examples/")) {
      if (
        !specifier.startsWith("@sockit/sockit") &&
        !specifier.startsWith("@std/")
      ) {
        add(
          specifier,
          "examples import only the package (@sockit/sockit or a subpath), as users do",
        );
      }
      continue;
    }
    if (specifier.startsWith("@std/")) {
      const ok = file === "_internal/std.ts" ||
        (from === "tools" && /^@std\/(cli|fmt)\//.test(specifier));
      if (!ok) {
        add(
          specifier,
          "library code takes std functions from _internal/std.ts, the typed boundary",
        );
      }
      continue;
    }
    if (specifier.startsWith("@sockit/")) {
      add(specifier, "library code imports its own files by relative path");
      continue;
    }
    if (!specifier.startsWith(".")) {
      add(
        specifier,
        "dependencies are named in deno.json and typed in _internal/std.ts",
      );
      continue;
    }
    const target = resolve(file, specifier);
    if (target === "deno.json" && from === "tools") continue;
    const to = folderOf(target);
    if (to === null || from === null) {
      add(specifier, `imports ${target}, outside the library's folders`);
      continue;
    }
    if (to === from) continue;
    if (!ALLOWED[from].includes(to)) {
      add(specifier, `${from}/ may not import ${to}/ (docs/architecture.md)`);
      continue;
    }
    const name = target.split("/").pop()!;
    if (to === "_internal") {
      if (name.startsWith("_")) {
        add(specifier, "nothing imports a _file of another folder");
      }
      if (from === "framing" && target !== "_internal/std.ts") {
        add(
          specifier,
          "framing/ may import only _internal/std.ts from _internal/",
        );
      }
      if (from === "tools" && !TOOLS_INTERNAL.includes(target)) {
        add(
          specifier,
          "tools/ may import only _internal/std.ts and _internal/cidr.ts from _internal/",
        );
      }
      continue;
    }
    if (name.startsWith("_")) {
      add(
        specifier,
        `a _file of another folder is private: import ${to}/mod.ts or one of ${to}/'s public files`,
      );
    }
  }
  return violations;
}

function stripComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
}

/** Every import in the repository's library and examples that breaks a rule. */
export async function checkImports(): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const file of await sourceFiles()) {
    out.push(...checkFile(file, await Deno.readTextFile(new URL(file, ROOT))));
  }
  return out;
}

/** The public symbols of one entry point. */
export interface EntryPoint {
  /** The subpath, as in `deno.json` (`./tcp`, …). */
  subpath: string;
  /** Symbol names, sorted. */
  symbols: string[];
  /** `name file` of each symbol: where it is declared. */
  declared: string[];
}

/**
 * The library entry points of `deno.json` and their symbols: every subpath
 * but the root (which re-exports the folders) and the tools.
 */
export async function publicApi(): Promise<EntryPoint[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { exports: Record<string, string> };
  const out: EntryPoint[] = [];
  for (const [subpath, file] of Object.entries(config.exports)) {
    if (subpath === "." || subpath.startsWith("./tools/")) continue;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["doc", "--json", file],
      cwd: ROOT,
    }).output();
    if (code !== 0) {
      throw new Error(
        `Cannot list the symbols of ${file}: deno doc failed: ${
          new TextDecoder().decode(stderr)
        }`,
      );
    }
    const doc = JSON.parse(new TextDecoder().decode(stdout)) as {
      nodes: Record<string, {
        symbols: {
          name: string;
          declarations: { location: { filename: string } }[];
        }[];
      }>;
    };
    const symbols = Object.values(doc.nodes).flatMap((n) => n.symbols);
    out.push({
      subpath,
      symbols: [...new Set(symbols.map((s) => s.name))].sort(),
      declared: symbols.map((s) =>
        `${s.name} ${
          s.declarations[0]?.location.filename.slice(ROOT.href.length)
        }`
      ),
    });
  }
  return out;
}

/** Symbols counted once, whatever entry points re-export them. */
export function countSymbols(api: readonly EntryPoint[]): number {
  return new Set(api.flatMap((entry) => entry.declared)).size;
}

const START = "<!-- public-api:start (deno task api) -->";
const END = "<!-- public-api:end -->";

/** The markdown block `docs/architecture.md` holds between its markers. */
export function renderApi(api: readonly EntryPoint[]): string {
  const lines = [
    START,
    "",
    `${
      countSymbols(api)
    } public symbols, each counted once where it is declared (\`tcp\` and \`udp\` re-export \`net\`'s addresses and \`TimeoutError\`; the root entry point \`@sockit/sockit\` re-exports the folders and adds nothing).`,
    "",
    "| entry point | symbols |",
    "| --- | --- |",
  ];
  for (const entry of api) {
    const name = `@sockit/sockit/${entry.subpath.slice(2)}`;
    lines.push(
      `| \`${name}\` (${entry.symbols.length}) | ${
        entry.symbols.map((s) => `\`${s}\``).join(", ")
      } |`,
    );
  }
  lines.push("", END);
  return lines.join("\n");
}

/**
 * Whether `text` holds `block` between the markers, up to how `deno fmt`
 * lays it out (wrapped prose, padded table cells).
 */
export function holdsBlock(text: string, block: string): boolean {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) return false;
  const normalize = (s: string) => s.replace(/[\s-]+/g, " ").trim();
  return normalize(text.slice(start, end + END.length)) === normalize(block);
}

/** Replaces the block between the markers of `text` with `block`. */
export function replaceBlock(text: string, block: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) {
    throw new Error(
      `Cannot update docs/architecture.md as its markers are missing: add "${START}" and "${END}"`,
    );
  }
  return text.slice(0, start) + block + text.slice(end + END.length);
}

if (import.meta.main) {
  const path = new URL("docs/architecture.md", ROOT);
  const text = await Deno.readTextFile(path);
  const block = renderApi(await publicApi());
  if (Deno.args.includes("--check")) {
    if (!holdsBlock(text, block)) {
      console.error("docs/architecture.md is out of date: run `deno task api`");
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(path, replaceBlock(text, block));
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", decodeURIComponent(path.pathname)],
    }).output();
    if (fmt.code !== 0) throw new Error("Cannot format docs/architecture.md");
  }
  const violations = await checkImports();
  for (const v of violations) {
    console.error(`${v.file}: ${v.specifier}: ${v.rule}`);
  }
  if (violations.length > 0) Deno.exit(1);
}
