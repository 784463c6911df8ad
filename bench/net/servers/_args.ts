/**
 * Command-line and lifecycle helpers shared by the Deno benchmark servers in
 * `bench/net/servers/`: the `--idle-timeout MS` flag, the `listening on`
 * line the harness reads the port from, and a clean exit on SIGTERM (so
 * `--cpu-prof` writes its profile).
 *
 * @module
 */

/**
 * The `--idle-timeout MS` flag: milliseconds, or `undefined` when absent or
 * 0 (no idle timeout).
 *
 * @param args The command line.
 * @returns The idle timeout in milliseconds, or `undefined`.
 */
export function idleTimeoutFlag(args: readonly string[]): number | undefined {
  const at = args.indexOf("--idle-timeout");
  if (at === -1) return undefined;
  const ms = Number(args[at + 1]);
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(
      `Cannot use --idle-timeout ${args[at + 1]}: give milliseconds (>= 0)`,
    );
  }
  return ms === 0 ? undefined : ms;
}

/**
 * Prints `listening on 127.0.0.1:PORT` (the harness waits for it) and makes
 * SIGTERM end the process with exit code 0.
 *
 * @param addr The address the server is bound to.
 */
export function announce(addr: Deno.Addr | { port?: number }): void {
  const port = "port" in addr ? addr.port : undefined;
  console.log(`listening on 127.0.0.1:${port}`);
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
