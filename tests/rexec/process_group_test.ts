/**
 * Tests for `rexec/_process_group.ts`: a program that serves commands and
 * dies of an uncaught exception or an unhandled rejection takes its
 * commands' process groups with it, and still fails as it would have.
 *
 * @module
 */
import { CommandAllowList } from "../../rexec/mod.ts";
import { Lines, ROOT } from "../_spawn.ts";
import { assert, assertEquals, assertStringIncludes } from "../_utils.ts";
import { tempDir, within } from "../tcp/_helpers.ts";
import {
  FORKER,
  isRunning,
  pidsOf,
  RawClient,
  waitForExit,
  writeScript,
} from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

for (
  const [how, line, message] of [
    // A throw in a timer's callback: Deno's `error` event, then exit 1.
    ["an uncaught exception", "throw", "boom from a timer"],
    // A rejected promise nobody awaits: `unhandledrejection`, then exit 1.
    ["an unhandled rejection", "reject", "boom from a promise"],
  ] as const
) {
  Deno.test(`a program that dies of ${how} kills its running commands and still fails`, async () => {
    await using dir = await tempDir();
    const forker = await writeScript(dir.path, "forker", FORKER);
    const { runFlag } = CommandAllowList.resolve([forker]);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-env=PATH",
        runFlag, // scoped: the groups die by the kill program, synchronously
        "tests/rexec/_crashing_server.ts",
        forker,
      ],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = new Lines(child.stdout);
    const err = new Lines(child.stderr);
    const stdin = child.stdin.getWriter();
    try {
      const [, port] = await out.waitFor(/^port (\d+)$/);
      await using client = await RawClient.open({
        addr: { hostname: "127.0.0.1", port: Number(port) },
      });
      await client.send("forker\n");
      const reply = await client.reply();
      assert(reply?.kind === "stdout", JSON.stringify(reply));
      const pids = pidsOf(decoder.decode(reply.data));
      for (const pid of pids) assert(await isRunning(pid), `${pid} runs`);
      await stdin.write(encoder.encode(`${line}\n`));
      const status = await within(child.status, 10_000, "the exit");
      // The error was not swallowed: Deno reported it and exited 1.
      assertEquals(status.code, 1);
      await err.done;
      assertStringIncludes(err.seen.join("\n"), message);
      // Before: the forker and its sleep ran on, their parent gone.
      await waitForExit(pids, 2000);
    } finally {
      await stdin.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await out.done;
      await err.done;
    }
  });
}
