/**
 * Unix socket failures, each a clear error — what `tests/tcp/unix_test.ts`
 * does not already cover: a client connecting to a stale socket file, a
 * path too long for a socket address, and the echo tool started on a
 * stale file (left by a server killed with SIGKILL), on a path another
 * server uses, and in a directory that does not exist — each one line on
 * stderr naming the path, and exit code 1.
 *
 * @module
 */
import { connect, listen } from "../../tcp/mod.ts";
import { runTool, ToolProcess } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../_utils.ts";
import { echo, tempDir } from "../tcp/_helpers.ts";

/** A socket file left behind by an echo tool killed with SIGKILL. */
async function killedServer(path: string): Promise<void> {
  const tool = new ToolProcess("echo", ["--unix", path, "--quiet"]);
  await tool.stderr.waitFor(/^listening on unix:/);
  tool.child.kill("SIGKILL");
  await tool[Symbol.asyncDispose]();
  assert((await Deno.lstat(path)).isSocket, "no socket file was left");
}

Deno.test("connect() to a stale socket file is refused with an error naming the path", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/crashed.sock`;
  await killedServer(path);
  const error = await assertRejects(
    () => connect({ path }),
    Deno.errors.ConnectionRefused,
  );
  assertStringIncludes(error.message, `unix:${path}`);
});

Deno.test("a socket path too long for sun_path fails with an error naming the path", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/${"x".repeat(120)}.sock`;
  const fromListen = (() => {
    try {
      listen({ path }, echo);
      return undefined;
    } catch (error) {
      return error;
    }
  })();
  assert(
    fromListen instanceof Error,
    "listen() accepted a path over 107 bytes",
  );
  assertStringIncludes(fromListen.message, `unix:${path}`);
});

/** Runs the echo tool on `path`: it must exit 1 with one line naming it. */
async function failsToListen(path: string, why: string): Promise<string> {
  const { code, stdout, stderr } = await runTool("echo", ["--unix", path]);
  const lines = stderr.trimEnd().split("\n");
  assertEquals(code, 1, `exit code (stderr: ${stderr})`);
  assertEquals(stdout, "");
  assertEquals(lines.length, 1, `one line on stderr: ${stderr}`);
  assertStringIncludes(lines[0]!, path);
  assertStringIncludes(lines[0]!, why);
  return lines[0]!;
}

Deno.test("the echo tool on a stale socket file, a path in use or a missing directory exits 1 with one clear line", async (t) => {
  await using dir = await tempDir();
  await t.step(
    "a socket file left by a server killed with SIGKILL",
    async () => {
      const path = `${dir.path}/stale.sock`;
      await killedServer(path);
      await failsToListen(path, "left over from one that crashed");
      assert((await Deno.lstat(path)).isSocket, "the stale file was removed");
    },
  );
  await t.step("a path another server listens on", async () => {
    const path = `${dir.path}/busy.sock`;
    await using _server = listen({ path }, echo);
    await failsToListen(path, "a server listens there");
    // The first server is unharmed.
    await using conn = await connect({ path });
    await conn.write("ok");
    assertEquals(new TextDecoder().decode(await conn.readExactly(2)), "ok");
  });
  await t.step("a directory that does not exist", async () => {
    await failsToListen(
      `${dir.path}/missing/dir/echo.sock`,
      `directory ${dir.path}/missing/dir does not exist`,
    );
  });
  await t.step("a path too long for a socket address", async () => {
    await failsToListen(`${dir.path}/${"y".repeat(120)}.sock`, "");
  });
});
