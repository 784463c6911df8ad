import { connect } from "../../tcp/mod.ts";
import { Lines, ROOT } from "../_spawn.ts";
import { assertEquals, assertStringIncludes } from "../_utils.ts";
import denoJson from "../../deno.json" with { type: "json" };

const decoder = new TextDecoder();
const DENORT_BIN = Deno.env.get("DENORT_BIN");

async function compileTask(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "scripts/compile.ts",
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

Deno.test("deno task compile explains itself and rejects an unknown tool", async () => {
  const help = await compileTask(["--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.stdout, "DENORT_BIN");
  const unknown = await compileTask(["no-such-tool"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, 'no tool named "no-such-tool"');
  assertStringIncludes(unknown.stderr, "echo");
});

const SKIPPED =
  " (skipped: DENORT_BIN is not set, so deno compile cannot get its denort runtime here)";

Deno.test({
  name:
    `every tool compiles into an executable that answers --help and --version${
      DENORT_BIN ? "" : SKIPPED
    }`,
  ignore: DENORT_BIN === undefined,
  async fn() {
    const built = await compileTask([]);
    assertEquals(built.code, 0, built.stderr);
    for (
      const tool of [
        "cat",
        "echo",
        "time",
        "broadcast",
        "struct",
        "rexec",
        "relay",
      ]
    ) {
      const binary = new URL(`dist/sockit-${tool}`, ROOT).pathname;
      const help = await new Deno.Command(binary, { args: ["--help"] })
        .output();
      assertEquals(help.code, 0, tool);
      assertStringIncludes(decoder.decode(help.stdout), "Usage:");
      const version = await new Deno.Command(binary, { args: ["--version"] })
        .output();
      assertEquals(
        decoder.decode(version.stdout).trim(),
        `sockit-${tool} ${denoJson.version}`,
      );
    }
  },
});

Deno.test({
  name: `a compiled echo executable echoes over loopback${
    DENORT_BIN ? "" : SKIPPED
  }`,
  ignore: DENORT_BIN === undefined,
  async fn() {
    const built = await compileTask(["echo"]);
    assertEquals(built.code, 0, built.stderr);
    const binary = new URL("dist/sockit-echo", ROOT).pathname;
    const version = await new Deno.Command(binary, { args: ["--version"] })
      .output();
    assertEquals(
      decoder.decode(version.stdout).trim(),
      `sockit-echo ${denoJson.version}`,
    );
    const child = new Deno.Command(binary, {
      args: ["--port", "0"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Lines(child.stderr);
    const [, port] = await stderr.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/);
    {
      await using conn = await connect({ port: Number(port) });
      await conn.write("compiled");
      assertEquals(decoder.decode(await conn.readExactly(8)), "compiled");
    }
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
    await stderr.done;
  },
});
