/**
 * Helpers for the tests that run a real HAProxy (Debian's `haproxy`, which
 * `.ci/run` installs when missing).
 *
 * @module
 */

/** Whether the `haproxy` command runs here. */
export async function hasHaproxy(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("haproxy", {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
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
