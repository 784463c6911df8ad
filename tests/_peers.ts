/**
 * The real peer programs tests run (`python3`, `ncat`, `socat`): a test
 * that needs one that is not installed is skipped outside CI, with the
 * reason printed once, and fails under `CI=true`, naming the program (a CI
 * machine without its peers is broken: `.ci/run` installs them).
 *
 * @module
 */

/** A peer program a test may need. */
export type PeerProgram = "python3" | "ncat" | "socat";

/** How each program says its version (and so that it runs). */
const VERSION_ARGS: Record<PeerProgram, string[]> = {
  python3: ["--version"],
  ncat: ["--version"],
  socat: ["-V"],
};

/** Whether `program` runs here. */
async function runs(program: PeerProgram): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(program, {
      args: VERSION_ARGS[program],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

const PROGRAMS = Object.keys(VERSION_ARGS) as PeerProgram[];
const AVAILABLE = new Map<PeerProgram, boolean>(
  await Promise.all(
    PROGRAMS.map(async (program) => [program, await runs(program)] as const),
  ),
);

/** Whether the tests run under CI (`CI=true`), where a missing peer fails. */
export const IN_CI: boolean = (() => {
  try {
    return Deno.env.get("CI") === "true";
  } catch {
    return false; // no --allow-env: not told that this is CI
  }
})();

/**
 * The programs of `needs` that are not installed here.
 *
 * @param needs The programs.
 * @returns Those missing, in the order given.
 */
export function missingPeers(needs: readonly PeerProgram[]): PeerProgram[] {
  return needs.filter((program) => !AVAILABLE.get(program));
}

/**
 * `Deno.test(name, fn)` for a test that needs the real programs `needs`:
 * with one missing it is skipped (and said so on stderr), or under
 * `CI=true` it fails saying what is missing.
 *
 * @param name The test's name.
 * @param needs The programs it runs.
 * @param fn The test.
 */
export function peerTest(
  name: string,
  needs: readonly PeerProgram[],
  fn: () => Promise<void>,
): void {
  const missing = missingPeers(needs);
  if (missing.length === 0) {
    Deno.test(name, fn);
    return;
  }
  const what = `${missing.join(" and ")} ${
    missing.length === 1 ? "is" : "are"
  } not installed`;
  if (IN_CI) {
    Deno.test(name, () => {
      throw new Error(
        `Cannot run this test as ${what}: CI=true, and a CI machine must have the real peers (.ci/run installs them)`,
      );
    });
    return;
  }
  console.error(`skipped ${JSON.stringify(name)}: ${what}`);
  Deno.test({ name, ignore: true, fn });
}
