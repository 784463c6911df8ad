/**
 * python3 as the peer in the udp tests: {@linkcode PythonPeer.start} runs a
 * script (`python3 -u -c`), `line()` reads what it prints (its port, what it
 * received), and `finish()` waits for it to exit and checks its exit code.
 * `await using` kills a script that is still running (only the child this
 * object started) and waits for it.
 *
 * Every script starts with {@linkcode PY_PRELUDE}: imports, a 10 s default
 * socket timeout (a broken test fails instead of hanging), and the request
 * header helpers `pack_msg`/`unpack_msg` written from the documented layout
 * (`"!HBBIH"`: magic 0x534B, version 1, kind 1/2, request id, try).
 *
 * @module
 */

/** Prepended to every script. */
export const PY_PRELUDE: string = `
import os, socket, struct, sys, time
socket.setdefaulttimeout(10)
HEADER = struct.Struct("!HBBIH")
def pack_msg(kind, rid, try_no, payload=b""):
    return HEADER.pack(0x534B, 1, kind, rid, try_no) + payload
def unpack_msg(data):
    magic, version, kind, rid, try_no = HEADER.unpack_from(data)
    assert magic == 0x534B and version == 1, data
    return kind, rid, try_no, data[HEADER.size:]
def say(*parts):
    print(*parts, flush=True)
`;

/** A finished script's exit code and leftover output. */
export interface PythonExit {
  /** The exit code. */
  code: number;
  /** stdout lines not read with `line()`. */
  lines: string[];
  /** Everything on stderr. */
  stderr: string;
}

/** A running python3 script. */
export class PythonPeer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<string>;
  readonly #stderr: Promise<string>;
  #buffer = "";
  #lines: string[] = [];
  #ended = false;
  #exit: Promise<PythonExit> | undefined;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    this.#stderr = new Response(child.stderr).text();
  }

  /**
   * Starts `python3 -u -c PY_PRELUDE+script args…`.
   *
   * @param script The Python source.
   * @param args `sys.argv[1:]`.
   */
  static start(
    script: string,
    args: readonly (string | number)[] = [],
  ): PythonPeer {
    const child = new Deno.Command("python3", {
      args: ["-u", "-c", PY_PRELUDE + script, ...args.map(String)],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new PythonPeer(child);
  }

  /** The next line printed; throws with stderr if the script ends first. */
  async line(): Promise<string> {
    for (;;) {
      const next = this.#lines.shift();
      if (next !== undefined) return next;
      if (this.#ended) {
        const exit = await this.finish(false);
        throw new Error(
          `python3 exited (code ${exit.code}) before printing a line:\n${exit.stderr}`,
        );
      }
      await this.#pull();
    }
  }

  /** Reads a line and parses it as a port number. */
  async port(): Promise<number> {
    const text = await this.line();
    const port = Number(text);
    if (!Number.isInteger(port) || port <= 0) {
      throw new Error(`python3 printed ${JSON.stringify(text)}, not a port`);
    }
    return port;
  }

  /**
   * Waits for the script to exit.
   *
   * @param check Throw (with its stderr) unless it exited with code 0.
   */
  finish(check = true): Promise<PythonExit> {
    this.#exit ??= (async () => {
      while (!this.#ended) await this.#pull();
      const [status, stderr] = await Promise.all([
        this.#child.status,
        this.#stderr,
      ]);
      return { code: status.code, lines: this.#lines.splice(0), stderr };
    })();
    return this.#exit.then((exit) => {
      if (check && exit.code !== 0) {
        throw new Error(
          `python3 exited with code ${exit.code}:\n${exit.stderr}`,
        );
      }
      return exit;
    });
  }

  /** Kills the script if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already exited */ }
    await this.finish(false);
  }

  async #pull(): Promise<void> {
    const { value, done } = await this.#reader.read();
    if (done) {
      if (this.#buffer !== "") this.#lines.push(this.#buffer);
      this.#buffer = "";
      this.#ended = true;
      return;
    }
    const parts = (this.#buffer + value).split("\n");
    this.#buffer = parts.pop()!;
    this.#lines.push(...parts);
  }
}
