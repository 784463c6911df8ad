// Process groups, private to rexec/: each command runs in a process group
// of its own (spawned `detached`, which starts a new session), and ending a
// command kills its whole group with SIGKILL — the program and whatever it
// started that stayed in the group —, never the program alone.
//
// `Deno.kill(-pgid)` needs an unscoped `--allow-run`, which the rexec tool
// refuses (Deno's permissions must repeat the allow-list). Under a scoped
// `--allow-run` the group is killed by the system's `kill` program instead,
// started by its absolute path (`/usr/bin/kill` or `/bin/kill`, never looked
// up in PATH, never through a shell); `--allow-run` must name it too, as
// `CommandAllowList.runFlag` does.
//
// Groups still running when the process exits are killed on the way out:
// by an `unload` listener for `Deno.exit()` (a second SIGINT, SIGTERM or
// SIGHUP, or the end of the program), and by `error` and
// `unhandledrejection` listeners for a program that dies of an uncaught
// exception or an unhandled rejection, which Deno ends without `unload`.
// Those two do not handle the error (no `preventDefault()`): the program
// fails as it would have. If a listener that ran before ours has handled
// it (`defaultPrevented`), the program lives on and so do its commands; one
// added after ours, which the first command's start adds, cannot be seen.
// A server killed with SIGKILL cannot clean up, and a process that leaves
// its group (setsid, setpgid) is beyond our reach: only the kernel
// (cgroups, PID namespaces) can follow it.

/** Where the `kill` program may be, in order: fixed, never from PATH. */
const KILL_PATHS: readonly string[] = ["/usr/bin/kill", "/bin/kill"];

/** `undefined`: not looked up yet; `null`: there is none. */
let killPath: string | null | undefined;

/**
 * The absolute path of the system's `kill` program, which ends process
 * groups under a scoped `--allow-run`, or `undefined` if there is none.
 */
export function killProgram(): string | undefined {
  if (killPath === undefined) {
    killPath = KILL_PATHS.find(isExecutable) ?? null;
  }
  return killPath ?? undefined;
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false; // missing, or not ours to look at
  }
}

/** Whether `Deno.kill` may signal any process: an unscoped `--allow-run`. */
export function mayKillAnyProcess(): boolean {
  return Deno.permissions.querySync({ name: "run" }).state === "granted";
}

/** Kills the groups with `Deno.kill`, if allowed; says whether it was. */
function killDirectly(groups: readonly number[]): boolean {
  if (!mayKillAnyProcess()) return false;
  for (const group of groups) {
    try {
      Deno.kill(-group, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  }
  return true;
}

/** `kill -s KILL -- -PGID…`, or `undefined` without a kill program. */
function killCommand(groups: readonly number[]): Deno.Command | undefined {
  const program = killProgram();
  if (program === undefined) return undefined;
  return new Deno.Command(program, {
    args: ["-s", "KILL", "--", ...groups.map((group) => `-${group}`)],
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null", // "no such process": a group that is gone already
  });
}

/**
 * Kills every process of the process groups `groups` (their leaders'
 * PIDs) with SIGKILL, and resolves once the signals are sent. Never throws:
 * a group that is gone already is fine, and if no way to signal a group is
 * left (no kill program, or it cannot start) the caller's own
 * `child.kill()` of the leader is all there is.
 */
export async function killProcessGroups(
  groups: readonly number[],
): Promise<void> {
  if (groups.length === 0 || killDirectly(groups)) return;
  try {
    await killCommand(groups)?.output();
  } catch {
    // Cannot start kill (no process slots, no file descriptors).
  }
}

/** {@linkcode killProcessGroups}, synchronously: for the way out. */
function killProcessGroupsSync(groups: readonly number[]): void {
  if (groups.length === 0 || killDirectly(groups)) return;
  try {
    killCommand(groups)?.outputSync();
  } catch {
    // As above.
  }
}

/** The groups of commands that are running. */
const running = new Set<number>();
let listening = false;

/**
 * Notes that a command's group runs, so that it is killed if the process
 * exits first.
 */
export function trackProcessGroup(group: number): void {
  running.add(group);
  if (!listening) {
    listening = true;
    globalThis.addEventListener("unload", onUnload);
    globalThis.addEventListener("error", onFatal);
    globalThis.addEventListener("unhandledrejection", onFatal);
  }
}

/** Notes that a command's group has been killed or has ended. */
export function untrackProcessGroup(group: number): void {
  running.delete(group);
}

function onUnload(): void {
  const groups = [...running];
  running.clear();
  killProcessGroupsSync(groups);
}

/**
 * An uncaught exception or unhandled rejection: unless a listener before
 * this one handled it, the process is about to die without `unload`.
 */
function onFatal(event: Event): void {
  if (!event.defaultPrevented) onUnload();
}
