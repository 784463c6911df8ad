#!/usr/bin/env -S deno run --allow-read --allow-write --allow-run --allow-env
/**
 * Compiles each tool in `tools/` (every `*.ts` file not starting with `_`)
 * into one executable, `dist/sockit-<name>`, with `deno compile`.
 *
 * The permissions each executable gets are the ones in its tool's shebang
 * line (`#!/usr/bin/env -S deno run --allow-net`), so the file is the single
 * source of truth.
 *
 * `deno compile` needs Deno's `denort` runtime binary. It downloads it when it
 * can; where it cannot (no route to dl.deno.land), point `DENORT_BIN` at a
 * `denort` of the same Deno version and it is used instead.
 *
 * Usage: `deno task compile [NAME…]` (all tools when no name is given).
 *
 * @module
 */

const root = new URL("../", import.meta.url);

function toolFlags(source: string, file: string): string[] {
  const first = source.split("\n", 1)[0] ?? "";
  const match = first.match(/^#!.*\bdeno run\b(.*)$/);
  if (!match) {
    throw new Error(
      `Cannot compile ${file}: its first line must be a shebang such as "#!/usr/bin/env -S deno run --allow-net"`,
    );
  }
  return match[1]!.trim().split(/\s+/).filter((flag) => flag.length > 0);
}

async function listTools(): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(new URL("tools/", root))) {
      if (
        entry.isFile && entry.name.endsWith(".ts") &&
        !entry.name.startsWith("_") && !entry.name.endsWith("_test.ts")
      ) {
        names.push(entry.name.slice(0, -3));
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(
      "Usage: deno task compile [NAME...] [--allow-run=/abs/prog,...]",
    );
    console.log(
      "Compiles tools/NAME.ts into dist/sockit-NAME (all tools by default),",
    );
    console.log("with the permissions in the tool's shebang line.");
    console.log(
      "--allow-run names the programs a compiled rexec server may run (one tool only):",
    );
    console.log(
      "  deno task compile rexec --allow-run=/usr/bin/date,/usr/bin/uptime,/usr/bin/kill",
    );
    console.log(
      "Set DENORT_BIN to a denort binary where it cannot be downloaded.",
    );
    return 0;
  }
  const runFlags = args.filter((arg) => arg.startsWith("--allow-run"));
  const names = args.filter((arg) => !arg.startsWith("--allow-run"));
  if (runFlags.some((flag) => !/^--allow-run=\/[^,]+(,\/[^,]+)*$/.test(flag))) {
    console.error(
      "compile: --allow-run must name programs by absolute path: --allow-run=/usr/bin/date,/usr/bin/uptime",
    );
    return 2;
  }
  if (runFlags.length > 0 && names.length !== 1) {
    console.error(
      "compile: --allow-run is for one tool: deno task compile rexec --allow-run=...",
    );
    return 2;
  }
  const available = await listTools();
  const wanted = names.length > 0 ? names : available;
  for (const name of wanted) {
    if (!available.includes(name)) {
      console.error(
        `compile: no tool named ${JSON.stringify(name)} (tools: ${
          available.join(", ") || "none yet"
        })`,
      );
      return 2;
    }
  }
  if (wanted.length === 0) {
    console.error("compile: tools/ holds no tools yet: nothing to compile");
    return 0;
  }
  await Deno.mkdir(new URL("dist/", root), { recursive: true });
  for (const name of wanted) {
    const file = `tools/${name}.ts`;
    const flags = [
      ...toolFlags(await Deno.readTextFile(new URL(file, root)), file),
      ...runFlags,
    ];
    const output = `dist/sockit-${name}`;
    const command = new Deno.Command(Deno.execPath(), {
      args: ["compile", ...flags, "--output", output, file],
      cwd: root,
      stdout: "inherit",
      stderr: "inherit",
    });
    const { code } = await command.output();
    if (code !== 0) {
      console.error(
        `compile: deno compile failed for ${file} (exit ${code})${
          Deno.env.get("DENORT_BIN")
            ? ""
            : "; if denort could not be downloaded, set DENORT_BIN"
        }`,
      );
      return 1;
    }
    console.error(`compile: ${output}`);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
