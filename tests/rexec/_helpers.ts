/**
 * Helpers for the `rexec/` tests: a client that speaks the protocol byte
 * for byte (so tests can send what no well-behaved client would), and a
 * server on loopback port 0 that allows `echo` unless told otherwise.
 *
 * @module
 */
import { LengthPrefixCodec } from "../../framing/mod.ts";
import type { Address } from "../../net/mod.ts";
import { connect, type Connection, type Server } from "../../tcp/mod.ts";
import { serveCommands, type ServeCommandsOptions } from "../../rexec/mod.ts";
import { type CommandReply, decodeReply } from "../../rexec/_protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What one request got: its output by stream and its last reply. */
export interface Outcome {
  stdout: string;
  stderr: string;
  /** The `exit` or `error` reply that ended it. */
  end: CommandReply;
}

/** A client that speaks the protocol by hand. */
export class RawClient implements AsyncDisposable {
  readonly conn: Connection;
  readonly #decoder = new LengthPrefixCodec({ header: "u32be" });
  readonly #frames: Uint8Array[] = [];

  private constructor(conn: Connection) {
    this.conn = conn;
    conn.setTimeout(5000); // a broken test fails instead of hanging
  }

  /** Connects to `server` (anything with an `addr`). */
  static async open(server: { readonly addr: Address }): Promise<RawClient> {
    return new RawClient(await connect(server.addr));
  }

  async send(data: string | Uint8Array): Promise<void> {
    await this.conn.write(data);
  }

  /** The next reply, or `null` when the server closed the connection. */
  async reply(): Promise<CommandReply | null> {
    while (this.#frames.length === 0) {
      const chunk = await this.conn.read();
      if (chunk === null) return null;
      this.#decoder.push(
        chunk,
        (body: Uint8Array) => this.#frames.push(body.slice()),
      );
    }
    return decodeReply(this.#frames.shift()!);
  }

  /** Replies up to and including the `exit` or `error` one. */
  async outcome(): Promise<Outcome> {
    let stdout = "";
    let stderr = "";
    for (;;) {
      const reply = await this.reply();
      if (reply === null) throw new Error("the server closed the connection");
      if (reply.kind === "stdout") stdout += decoder.decode(reply.data);
      else if (reply.kind === "stderr") stderr += decoder.decode(reply.data);
      else return { stdout, stderr, end: reply };
    }
  }

  /** Sends `line` and a `\n`, and returns its outcome. */
  async request(line: string | Uint8Array): Promise<Outcome> {
    const bytes = typeof line === "string" ? encoder.encode(line) : line;
    const request = new Uint8Array(bytes.length + 1);
    request.set(bytes);
    request[bytes.length] = 0x0a;
    await this.send(request);
    return await this.outcome();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.conn.close();
    return Promise.resolve();
  }
}

/** The error name of an outcome, or `exit N` when it ran. */
export function verdict(outcome: Outcome): string {
  return outcome.end.kind === "error"
    ? outcome.end.reason
    : outcome.end.kind === "exit"
    ? `exit ${outcome.end.code}`
    : outcome.end.kind;
}

/** A command server on `127.0.0.1`, port 0, allowing `echo` by default. */
export function serve(options: Partial<ServeCommandsOptions> = {}): Server {
  return serveCommands({ port: 0 }, { allow: ["echo"], ...options });
}

/**
 * A script that starts a grandchild (`sleep 60`, in its process group),
 * prints its own PID and the grandchild's, then waits silently.
 */
export const FORKER = `#!/bin/sh
sleep 60 &
echo "$$ $!"
wait
`;

/**
 * A script that starts a grandchild detached from its output, prints both
 * PIDs, and exits at once, leaving the grandchild running in its group.
 */
export const LEAVER = `#!/bin/sh
sleep 60 >/dev/null 2>&1 &
echo "$$ $!"
`;

/**
 * A script that creates the file named by its argument (one per process
 * started), prints `started`, and becomes `sleep 60`.
 */
export const HOLDER = `#!/bin/sh
: > "$1"
echo started
exec sleep 60
`;

/** Writes an executable script `name` into `dir`; returns its path. */
export async function writeScript(
  dir: string,
  name: string,
  text: string,
): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
  return path;
}

/** The PIDs a {@linkcode FORKER} or {@linkcode LEAVER} printed. */
export function pidsOf(stdout: string): number[] {
  const pids = stdout.trim().split(" ").map(Number);
  if (pids.length !== 2 || !pids.every((pid) => Number.isSafeInteger(pid))) {
    throw new Error(`Expected two PIDs, got ${JSON.stringify(stdout)}`);
  }
  return pids;
}

/**
 * Whether process `pid` runs: `ps` knows it and it is not a zombie (a
 * killed process whose parent has not reaped it yet is dead too). `ps`
 * reads `/proc` for us: Deno lets a program read another process's
 * `/proc/PID` only under `--allow-all`, and the tests run without it.
 */
export async function isRunning(pid: number): Promise<boolean> {
  const { code, stdout } = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (code !== 0) return false; // no such process
  const state = new TextDecoder().decode(stdout).trim();
  return state !== "" && !state.startsWith("Z") && !state.startsWith("X");
}

/**
 * Waits until none of `pids` runs, for at most `timeout` ms. Nothing tells
 * one process of another's death (it is not our child), so this polls
 * `ps` every 10 ms, with a bounded deadline.
 *
 * @throws {Error} Naming the survivors, when the time runs out.
 */
export async function waitForExit(
  pids: readonly number[],
  timeout = 5000,
): Promise<void> {
  const deadline = performance.now() + timeout;
  for (;;) {
    const alive = [];
    for (const pid of pids) if (await isRunning(pid)) alive.push(pid);
    if (alive.length === 0) return;
    if (performance.now() > deadline) {
      throw new Error(
        `Processes ${alive.join(", ")} still run after ${timeout} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
