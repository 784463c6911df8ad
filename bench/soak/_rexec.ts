/**
 * The soak run's `rexec` scenario: the command server (`tools/rexec.ts
 * --allow sleep,echo`, `--allow-run` naming exactly those programs and
 * `kill`) as a child process, with
 *
 * - normal clients (`connectCommands()`) running `echo` with random
 *   arguments full of shell syntax, every byte of the output checked;
 * - clients that start a slow, silent command (`sleep 29.NNNNNN`, a
 *   duration unique to the run) and vanish 0.3–3 s later: by closing
 *   (FIN), by half-closing first and closing once the server's first
 *   probe frame shows the command runs, or by a reset (python3,
 *   `SO_LINGER` 0).
 *
 * The server must kill each such command as soon as its client is gone
 * (its log says `killed by SIGKILL (client gone)`; a `sleep` that runs to
 * its end outlived its client by ~27 s). Once a second, `ps` lists every
 * process: the server's children (the most at once is reported, and must
 * stay within `--max-commands`), and every `sleep 29.NNNNNN` of this run
 * — one running longer than a client holds it plus 7 s, or whose parent
 * is not the server, has outlived its client. At the end the server must
 * have no child left once its clients are gone, and after it exits no
 * `sleep 29.NNNNNN` may run anywhere (an orphan). Nothing is killed here:
 * an orphan is reported, and ends by itself within 30 s.
 *
 * @module
 */
import {
  CommandAllowList,
  CommandRefusedError,
  connectCommands,
} from "../../rexec/mod.ts";
import { writeAll } from "../../tests/reliability/_harness.ts";
import { ServerProcess } from "./_server_process.ts";
import { count, errorKind, random, sleep, stats } from "./_stats.ts";

/** The server's `--max-commands` (its default). */
export const MAX_COMMANDS = 16;
/** A vanishing client holds its connection this long (ms) at least… */
const HOLD_MIN = 300;
/** …and at most. */
const HOLD_MAX = 3000;
/**
 * A `sleep` of this run that has run this many seconds has outlived its
 * client: no client holds one longer than {@linkcode HOLD_MAX}.
 */
const OUTLIVED_AFTER = HOLD_MAX / 1000 + 7;
/** A normal client thinks up to this long (ms) between commands. */
const THINK_TIME = 500;
/** A command waiting longer than this for its answer counts as lost. */
const ANSWER_TIMEOUT = 30_000;
/** Characters of the normal clients' arguments: shell syntax, and spaces. */
const ALPHABET = "abcxyz019 ;$|&*'\"()<>`~#";

/**
 * The python3 vanishers: threads that each connect, send the `sleep`
 * request, wait 0.3–3 s and close with `SO_LINGER` 0 (a reset), until
 * their time is up. Prints JSON: each vanished client's local port, when
 * it sent its request and when it reset (ms since the epoch), and the
 * failures by kind.
 */
const VANISHER = `
import json, random, socket, struct, sys, threading, time
port, line = int(sys.argv[1]), sys.argv[2].encode() + b"\\n"
threads, deadline = int(sys.argv[3]), time.monotonic() + float(sys.argv[4])
hold_min, hold_max = float(sys.argv[5]), float(sys.argv[6])
vanished, failures = [], {}
lock = threading.Lock()
def run():
    while time.monotonic() + hold_max < deadline:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            local = s.getsockname()[1]
            s.sendall(line)
            sent = time.time() * 1000
            time.sleep(random.uniform(hold_min, hold_max))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            with lock:
                vanished.append([local, sent, time.time() * 1000])
        except OSError as error:
            with lock:
                failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
        time.sleep(random.uniform(0, 1))
workers = [threading.Thread(target=run) for _ in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(json.dumps({"vanished": vanished, "failures": failures}))
`;

/** A command as the server's log told it. */
interface LoggedCommand {
  argv: string[];
  /** `exit N` or `killed by SIGNAL`, or `refused REASON`. */
  how: string;
  /** The notes in brackets: `client gone`, `timed out`… */
  notes: string;
  /** Milliseconds it ran (0 for a refusal). */
  duration: number;
  /** When the runner read the line (`Date.now()`). */
  at: number;
}

/** A client that started a `sleep` and went away. */
interface Vanished {
  kind: string;
  port: number;
  /** When it sent its request and when it closed (`Date.now()`). */
  sent: number;
  closed: number;
}

/** A process as `ps` lists it. */
interface Listed {
  pid: number;
  ppid: number;
  stat: string;
  /** Seconds since it started. */
  elapsed: number;
  args: string;
}

const decoder = new TextDecoder();

/** Every process on the machine, from `ps`. */
async function listProcesses(): Promise<Listed[]> {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-eo", "pid=,ppid=,stat=,etimes=,args="],
    stdin: "null",
    stderr: "null",
  }).output();
  const listed: Listed[] = [];
  for (const line of decoder.decode(stdout).split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    listed.push({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      stat: match[3]!,
      elapsed: Number(match[4]),
      args: match[5]!,
    });
  }
  return listed;
}

/** The rexec server of the soak, its clients and the checks on its processes. */
export class RexecScenario {
  readonly server: ServerProcess;
  /** The `sleep` argument of this run: no other run uses the same. */
  readonly duration: string = `29.${
    String(random(1_000_000)).padStart(6, "0")
  }`;
  /** Commands and refusals as logged, by client port. */
  readonly #logged = new Map<number, LoggedCommand[]>();
  readonly #vanished: Vanished[] = [];
  #pythonFailures: Record<string, number> = {};
  /** The most children of the server seen at once by `ps`. */
  #maxChildren = 0;
  /** PIDs of this run's `sleep`s that outlived their clients, by `ps`. */
  readonly #outlived = new Set<number>();
  /** PIDs of this run's `sleep`s whose parent was not the server. */
  readonly #escaped = new Set<number>();
  #sampling = false;
  #samples = 0;
  /** Children of the server left once every client was gone. */
  #left: number | undefined;
  /** This run's `sleep`s still running after the server exited. */
  #orphans: number[] | undefined;

  constructor() {
    const allow = CommandAllowList.resolve(["sleep", "echo"]);
    this.server = new ServerProcess("rexec", [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env=PATH",
      allow.runFlag,
      "tools/rexec.ts",
      "--allow",
      "sleep,echo",
      "--port",
      "0",
      "--timeout",
      "60",
      "--max-commands",
      String(MAX_COMMANDS),
    ], (line) => this.#line(line));
  }

  #line(line: string): void {
    const ran =
      /^127\.0\.0\.1:(\d+): ran (\[.*\]): (exit \d+|killed by \w+)(?: \(([^)]*)\))?, \d+ bytes out in (\d+) ms$/
        .exec(line);
    const refused = /^127\.0\.0\.1:(\d+): refused (\w+)(?: (\[.*\]))?$/.exec(
      line,
    );
    let port: number;
    let command: LoggedCommand;
    if (ran !== null) {
      port = Number(ran[1]);
      command = {
        argv: JSON.parse(ran[2]!),
        how: ran[3]!,
        notes: ran[4] ?? "",
        duration: Number(ran[5]),
        at: Date.now(),
      };
    } else if (refused !== null) {
      port = Number(refused[1]);
      command = {
        argv: refused[3] === undefined ? [] : JSON.parse(refused[3]),
        how: `refused ${refused[2]}`,
        notes: "",
        duration: 0,
        at: Date.now(),
      };
    } else return;
    const list = this.#logged.get(port) ?? [];
    list.push(command);
    this.#logged.set(port, list);
  }

  /** Every logged command and refusal. */
  #commands(): LoggedCommand[] {
    return [...this.#logged.values()].flat();
  }

  #isOurSleep(process: Listed): boolean {
    return process.args.endsWith(`sleep ${this.duration}`) &&
      !process.stat.startsWith("Z");
  }

  /**
   * One look at the machine's processes (skipped while the last one is
   * still running): the server's children, and this run's `sleep`s.
   */
  async sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const pid = this.server.child.pid;
      const all = await listProcesses();
      this.#samples++;
      const children = all.filter((p) =>
        p.ppid === pid && !p.stat.startsWith("Z") && !/\/kill\b/.test(p.args)
      );
      this.#maxChildren = Math.max(this.#maxChildren, children.length);
      for (const p of all.filter((p) => this.#isOurSleep(p))) {
        if (p.ppid !== pid) this.#escaped.add(p.pid);
        if (p.elapsed >= OUTLIVED_AFTER) this.#outlived.add(p.pid);
      }
    } finally {
      this.#sampling = false;
    }
  }

  /** Normal commands: `echo` with random arguments, the output checked. */
  async normal(deadline: number): Promise<void> {
    const s = stats("rexec: normal (echo)");
    const port = this.server.port;
    while (performance.now() < deadline) {
      s.sessions++;
      try {
        await using client = await connectCommands(
          { hostname: "127.0.0.1", port },
          { readTimeout: ANSWER_TIMEOUT },
        );
        const rounds = 1 + random(10);
        for (let r = 0; r < rounds && performance.now() < deadline; r++) {
          const words = Array.from(
            { length: 1 + random(8) },
            () =>
              Array.from(
                { length: 1 + random(12) },
                () => ALPHABET[random(ALPHABET.length)],
              ).join(""),
          );
          const want = `${words.join(" ")}\n`;
          s.bytesSent += want.length;
          try {
            const result = await client.run(["echo", ...words]);
            const got = decoder.decode(result.stdout);
            if (result.code !== 0 || got !== want || result.stderr.length) {
              s.corrupted += want.length;
              count(s.outcomes, "unexpected: a wrong answer");
            } else {
              s.bytesVerified += got.length;
              s.requests++;
            }
          } catch (error) {
            if (!(error instanceof CommandRefusedError)) throw error;
            count(s.outcomes, `refused ${error.reason}`);
          }
          await sleep(random(THINK_TIME));
        }
        count(s.outcomes, "completed");
      } catch (error) {
        count(s.outcomes, `cut (${errorKind(error)})`);
      }
    }
  }

  /**
   * A client that starts `sleep 29.NNNNNN` and vanishes: closes after
   * 0.3–3 s, or half-closes at once and closes that long after the
   * server's first probe frame (the command runs).
   */
  async vanish(deadline: number, how: "close" | "half-close"): Promise<void> {
    const kind = how === "close"
      ? "rexec: vanish mid-command (close)"
      : "rexec: vanish mid-command (half-close, then close)";
    const s = stats(kind);
    const request = new TextEncoder().encode(`sleep ${this.duration}\n`);
    while (performance.now() + HOLD_MAX < deadline) {
      s.sessions++;
      let conn: Deno.TcpConn | undefined;
      try {
        conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: this.server.port,
        });
        await writeAll(conn, request);
        const sent = Date.now();
        s.bytesSent += request.length;
        s.requests++;
        if (how === "half-close") {
          await conn.closeWrite();
          // The first reply: a probe (an empty stdout frame) while the
          // command runs, or an error frame (Busy).
          const head = new Uint8Array(5);
          const timer = setTimeout(() => conn?.close(), ANSWER_TIMEOUT);
          let got = 0;
          try {
            while (got < head.length) {
              const n = await conn.read(head.subarray(got));
              if (n === null) break;
              got += n;
            }
          } finally {
            clearTimeout(timer);
          }
          if (got < head.length) {
            count(s.outcomes, "unexpected: no probe frame");
          } else if (head[4] === 4) {
            count(s.outcomes, "refused (an error reply)");
          } else {
            count(s.outcomes, "probed: the command runs");
          }
        }
        await sleep(HOLD_MIN + random(HOLD_MAX - HOLD_MIN));
        const port = conn.localAddr.port;
        conn.close();
        conn = undefined;
        this.#vanished.push({ kind, port, sent, closed: Date.now() });
        if (how === "close") count(s.outcomes, "closed");
      } catch (error) {
        count(s.outcomes, `unexpected ${errorKind(error)}`);
      } finally {
        conn?.close();
      }
      await sleep(random(1000));
    }
  }

  /** The python3 vanishers (resets), `threads` of them for `seconds`. */
  async resetters(threads: number, seconds: number): Promise<void> {
    const { code, stdout, stderr } = await new Deno.Command("python3", {
      args: [
        "-c",
        VANISHER,
        String(this.server.port),
        `sleep ${this.duration}`,
        String(threads),
        String(seconds),
        String(HOLD_MIN / 1000),
        String(HOLD_MAX / 1000),
      ],
      stdin: "null",
    }).output();
    if (code !== 0) {
      throw new Error(
        `The python3 rexec vanisher failed: ${decoder.decode(stderr)}`,
      );
    }
    const report = JSON.parse(decoder.decode(stdout)) as {
      vanished: [number, number, number][];
      failures: Record<string, number>;
    };
    const kind = "rexec: vanish mid-command (reset, python3)";
    const s = stats(kind);
    for (const [port, sent, closed] of report.vanished) {
      this.#vanished.push({ kind, port, sent, closed });
    }
    s.sessions += report.vanished.length;
    s.requests += report.vanished.length;
    count(s.outcomes, "RST sent", report.vanished.length);
    this.#pythonFailures = report.failures;
    for (const [failure, n] of Object.entries(report.failures)) {
      count(s.outcomes, `unexpected ${failure}`, n);
    }
  }

  /**
   * After the clients: waits (10 s at most) until the server has no child
   * left, and records how many there were at the end of the wait.
   */
  async settle(): Promise<void> {
    const until = performance.now() + 10_000;
    for (;;) {
      const pid = this.server.child.pid;
      const left = (await listProcesses()).filter((p) =>
        p.ppid === pid && !p.stat.startsWith("Z")
      ).length;
      if (left === 0 || performance.now() > until) {
        this.#left = left;
        return;
      }
      await sleep(250);
    }
  }

  /** Once the server has exited: this run's `sleep`s still running. */
  async lookForOrphans(): Promise<void> {
    this.#orphans = (await listProcesses())
      .filter((p) => this.#isOurSleep(p)).map((p) => p.pid);
  }

  /**
   * What became of each vanished client's command, by the server's log:
   * killed when its client went (and how long after the client closed the
   * runner read that line), refused, or never started.
   */
  #fates(): { outcomes: Map<string, number>; latencies: number[] } {
    const outcomes = new Map<string, number>();
    const latencies: number[] = [];
    for (const v of this.#vanished) {
      const candidates = (this.#logged.get(v.port) ?? []).filter((c) =>
        c.at >= v.sent - 5 && c.at <= v.closed + 20_000 &&
        (c.argv.length === 0 || c.argv[1] === this.duration)
      );
      if (candidates.length === 0) {
        count(outcomes, "never started (gone before the server read it)");
      } else if (candidates.length > 1) {
        count(outcomes, "not matched (port reused)");
      } else {
        const c = candidates[0]!;
        if (c.how.startsWith("refused")) {
          count(outcomes, c.how);
        } else if (c.how === "killed by SIGKILL" && c.notes === "client gone") {
          count(outcomes, "killed when its client went");
          latencies.push(Math.max(0, Math.round(c.at - v.closed)));
        } else {
          count(outcomes, `unexpected: ${c.how} (${c.notes})`);
        }
      }
    }
    return { outcomes, latencies };
  }

  /** The server's table cells: commands run, and refusals and kills by kind. */
  serverFigures(): { served: number; errors: Map<string, number> } {
    const errors = new Map<string, number>();
    let served = 0;
    for (const c of this.#commands()) {
      if (c.how.startsWith("refused")) {
        count(errors, c.how);
        continue;
      }
      served++;
      if (c.notes !== "") count(errors, `${c.how} (${c.notes})`);
    }
    return { served, errors };
  }

  /** The rexec report: rows of a figure/value table, and whether it is clean. */
  report(): { rows: string[][]; ok: boolean } {
    const commands = this.#commands().filter((c) =>
      !c.how.startsWith("refused")
    );
    const sleeps = commands.filter((c) => c.argv[1] === this.duration);
    const killedGone = commands.filter((c) =>
      c.how === "killed by SIGKILL" && c.notes.includes("client gone")
    );
    const outlivedLog = sleeps.filter((c) =>
      !(c.how === "killed by SIGKILL" && c.notes === "client gone")
    );
    const busy = this.#commands().filter((c) => c.how === "refused Busy");
    const { outcomes, latencies } = this.#fates();
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies.length === 0 ? "-" : `${
        latencies[
          Math.min(latencies.length - 1, Math.floor(latencies.length * p))
        ]
      } ms`;
    const fates = [...outcomes.entries()].sort((a, b) => b[1] - a[1])
      .map(([o, n]) => `${o} ${n.toLocaleString("en-US")}`).join("; ");
    const num = (n: number) => n.toLocaleString("en-US");
    const rows = [
      ["commands started", num(commands.length)],
      [
        `of them \`sleep ${this.duration}\` (vanishing clients)`,
        num(sleeps.length),
      ],
      [
        "killed when their client went (log: client gone)",
        num(killedGone.length),
      ],
      ["refused Busy (--max-commands)", num(busy.length)],
      [
        "vanished clients and their commands",
        `${num(this.#vanished.length)}: ${fates || "none"}`,
      ],
      [
        "client closed → its command's kill logged, an upper bound (p50 / p99 / max)",
        `${pct(0.5)} / ${pct(0.99)} / ${
          latencies.length === 0 ? "-" : `${latencies.at(-1)} ms`
        }`,
      ],
      [
        `most commands at once (ps, ${
          num(this.#samples)
        } looks a second apart)`,
        `${this.#maxChildren} (limit ${MAX_COMMANDS})`,
      ],
      [
        `\`sleep\`s that outlived their client (log / ps: over ${OUTLIVED_AFTER} s, or not the server's child)`,
        `${outlivedLog.length} / ${this.#outlived.size + this.#escaped.size}`,
      ],
      [
        "children of the server once its clients were gone",
        String(this.#left ?? "not looked"),
      ],
      [
        "this run's `sleep`s running after the server exited (orphans)",
        this.#orphans === undefined
          ? "not looked"
          : `${this.#orphans.length}${
            this.#orphans.length
              ? ` (PIDs ${
                this.#orphans.join(", ")
              }: not killed, they end within 30 s)`
              : ""
          }`,
      ],
    ];
    const unexpected =
      [...outcomes.keys()].some((o) => o.startsWith("unexpected")) ||
      Object.keys(this.#pythonFailures).length > 0;
    const ok = !unexpected && outlivedLog.length === 0 &&
      this.#outlived.size === 0 && this.#escaped.size === 0 &&
      this.#maxChildren <= MAX_COMMANDS && this.#left === 0 &&
      this.#orphans?.length === 0 && killedGone.length > 0;
    return { rows, ok };
  }
}
