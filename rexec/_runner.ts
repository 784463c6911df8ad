// The process side of rexec (private to rexec/): start one allow-listed
// program directly with Deno.Command — never through a shell —, stream its
// stdout and stderr to a callback, and bound it in time and output.
//
// - The program is an absolute path resolved by the caller once, at startup;
//   nothing here looks at PATH.
// - The child gets exactly `env` (clearEnv: nothing of ours is inherited),
//   stdin from /dev/null, and `cwd`.
// - It runs in a process group of its own (a new session, so a terminal's
//   Ctrl-C does not reach it either), and it is always ended as a group
//   (`_process_group.ts`): killing it kills what it started too, and when
//   the program exits, whatever it left running in its group is killed —
//   a command is over when its program is.
// - `timeout` ms after the start the group is killed with SIGKILL and the
//   pipes are no longer read (a process that left the group and holds them
//   cannot stall us).
// - Once `maxOutput` bytes of stdout and stderr together have been handed
//   out, the group is killed the same way and `truncated` is set: the
//   caller got exactly `maxOutput` bytes.
// - `onOutput` is awaited, so a slow client slows the child down (the pipes
//   fill and it blocks) instead of growing our memory; if it throws (the
//   client went away) the group is killed and the error is rethrown.
// - An aborted `signal` (the client is gone, the server stops) kills the
//   group too.
import { after } from "../_internal/timer.ts";
import {
  killProcessGroups,
  trackProcessGroup,
  untrackProcessGroup,
} from "./_process_group.ts";

/** Which pipe a chunk of output came from. */
export type OutputStream = "stdout" | "stderr";

/** Options for {@linkcode runCommand}. */
export interface CommandRunOptions {
  /** The arguments, passed as they are (argv[1..]). */
  args: readonly string[];
  /** The child's working directory; `undefined` keeps ours. */
  cwd: string | undefined;
  /** The child's whole environment. */
  env: Readonly<Record<string, string>>;
  /** Kill the child after this many ms (`Infinity`: never). */
  timeout: number;
  /** The most bytes of stdout and stderr together to hand out. */
  maxOutput: number;
  /** Kills the child (its whole process group) when aborted. */
  signal?: AbortSignal;
  /** Receives each chunk of output, in order per stream; awaited. */
  onOutput: (stream: OutputStream, data: Uint8Array) => Promise<void>;
}

/** How a command ended. */
export interface CommandRunResult {
  /** The exit code; 128 + the signal's number when a signal ended it. */
  code: number;
  /** The signal that ended it, or `null`. */
  signal: Deno.Signal | null;
  /** Whether the time limit killed it (or cut its output off). */
  timedOut: boolean;
  /** Whether its output passed `maxOutput` and was cut there. */
  truncated: boolean;
  /** Bytes of output handed out. */
  outputBytes: number;
  /** Milliseconds from start to exit. */
  duration: number;
}

/** The program could not be started at all. */
export class SpawnError extends Error {
  /**
   * Creates a `SpawnError`.
   *
   * @param program The program's path.
   * @param cause What `Deno.Command#spawn` threw.
   */
  constructor(program: string, cause: unknown) {
    super(
      `Cannot start ${program}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "SpawnError";
  }
}

/**
 * Runs `program` (an absolute path) with `options.args` in a process group
 * of its own, and resolves when it has exited, its group has been killed
 * and its output has been handed out (or cut off).
 *
 * @throws {SpawnError} If it cannot be started.
 * @throws Whatever `onOutput` throws, after killing the child.
 */
export async function runCommand(
  program: string,
  options: CommandRunOptions,
): Promise<CommandRunResult> {
  const { timeout, maxOutput, signal, onOutput } = options;
  signal?.throwIfAborted();
  const started = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: [...options.args],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      clearEnv: true,
      env: { ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // setsid(): its own session and process group
    }).spawn();
  } catch (error) {
    throw new SpawnError(program, error);
  }
  const group = child.pid;
  trackProcessGroup(group);

  let killed: Promise<void> | undefined;
  /**
   * Kills the whole group, once: the program at once through its handle,
   * then every process of its group. After the program has exited and been
   * reaped, its group lives on as long as a process of it does, so the
   * number cannot name another group then — unless the PIDs wrap around in
   * the moment between, which takes tens of thousands of new processes.
   */
  const killGroup = (): Promise<void> => {
    if (killed === undefined) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
      killed = killProcessGroups([group]).finally(() => {
        untrackProcessGroup(group);
      });
    }
    return killed;
  };

  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  let timedOut = false;
  let truncated = false;
  let stopped = false;
  let total = 0;
  /** Kills the group (if it still runs) and stops reading its pipes. */
  const stop = () => {
    if (stopped) return;
    stopped = true;
    killGroup();
    for (const reader of readers) reader.cancel().catch(() => {});
  };
  const cancelTimer = after(timeout, () => {
    timedOut = true;
    stop();
  });
  if (signal?.aborted) stop();
  else signal?.addEventListener("abort", stop, { once: true });

  const pump = async (
    reader: ReadableStreamDefaultReader<Uint8Array>,
    stream: OutputStream,
  ): Promise<void> => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || stopped) return;
      let data = value;
      const room = maxOutput - total;
      if (data.length > room) {
        data = data.subarray(0, room);
        truncated = true;
      }
      total += data.length;
      if (data.length > 0) await onOutput(stream, data);
      if (truncated) {
        stop();
        return;
      }
    }
  };

  let failure: { error: unknown } | undefined;
  // A pump that fails (the client is gone) stops the child and the other
  // pump at once, which may be waiting for output that never comes.
  const fail = (error: unknown) => {
    failure ??= { error };
    stop();
  };
  let status: Deno.CommandStatus;
  try {
    const pumps = Promise.all([
      pump(readers[0]!, "stdout").catch(fail),
      pump(readers[1]!, "stderr").catch(fail),
    ]);
    status = await child.status;
    // The program has exited: what it left in its group goes too, and then
    // the pipes end (what it wrote before exiting is still read).
    await killGroup();
    await pumps;
  } finally {
    cancelTimer();
    signal?.removeEventListener("abort", stop);
    for (const reader of readers) reader.releaseLock();
  }
  if (failure !== undefined) throw failure.error;
  return {
    code: status.code,
    signal: status.signal,
    timedOut,
    truncated,
    outputBytes: total,
    duration: performance.now() - started,
  };
}
