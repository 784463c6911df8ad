/**
 * Helpers for the tests that run a real HAProxy (Debian's `haproxy`, which
 * `.ci/run` installs when missing).
 *
 * Without `haproxy` on the machine, {@linkcode haproxyTest} ignores its
 * tests and says why on stderr, once; under CI (`CI=true`) they run and
 * fail with the reason instead: a CI machine without its peers is broken,
 * and a skipped test there would hide it.
 *
 * @module
 */

/**
 * Why `haproxy -v` cannot run here, or `null` when it runs: probed once,
 * when this module loads.
 */
export const HAPROXY_MISSING: string | null = await probe();

/** Whether this is a CI run: `CI` is `true` or `1`, as CI services set it. */
export const IN_CI: boolean = ciVariable();

let told = false;

/**
 * Registers a test that needs `haproxy`: run as usual when it is installed;
 * when it is not, ignored (with the reason printed once), or under CI run
 * and failed with the reason.
 *
 * @param name The test's name.
 * @param fn The test.
 */
export function haproxyTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): void {
  const missing = HAPROXY_MISSING;
  if (missing !== null && !IN_CI && !told) {
    told = true;
    console.error(
      `HAProxy tests ignored: ${missing} (under CI=true they fail instead; .ci/run installs haproxy)`,
    );
  }
  Deno.test({
    name,
    ignore: missing !== null && !IN_CI,
    fn: missing === null ? fn : () => {
      throw new Error(
        `Cannot run this test under CI as the peer it needs is missing: ${missing} (.ci/run installs it)`,
      );
    },
  });
}

/**
 * A port that was free a moment ago, for HAProxy's frontends (HAProxy binds
 * the ports its configuration names: it cannot take port 0 and say which).
 */
export function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr;
  probe.close();
  return port;
}

async function probe(): Promise<string | null> {
  try {
    const { success, code } = await new Deno.Command("haproxy", {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? null : `haproxy -v exited with code ${code}`;
  } catch (error) {
    return error instanceof Deno.errors.NotFound
      ? "haproxy is not installed (not found on PATH)"
      : `haproxy cannot be run: ${(error as Error).message}`;
  }
}

function ciVariable(): boolean {
  try {
    const value = Deno.env.get("CI");
    return value === "true" || value === "1";
  } catch {
    return false; // no --allow-env: not told it is CI
  }
}
