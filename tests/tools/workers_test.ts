/**
 * `--workers` on the server tools, run as real processes: `echo --workers
 * 2` serves from two workers (each connection's log line, matched by the
 * client's own port, names the worker), says `listening on` once; so does
 * `time --workers 2`; `--workers auto` starts one worker per CPU
 * (`navigator.hardwareConcurrency`) and says how many; `rexec
 * --workers 2` drains a command under way on each worker on SIGTERM, and a
 * second signal kills them; a worker that dies is restarted and logged
 * (`_crash_server.ts`, on the same runner as `echo` and `time`); bad
 * `--workers` values are usage errors. Every wait is for a log line.
 *
 * @module
 */
import { CommandAllowList, CommandClient } from "../../rexec/mod.ts";
import { connect, type Connection } from "../../tcp/mod.ts";
import { Lines, ROOT, runTool, TOOL_PERMISSIONS } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { tempDir } from "../tcp/_helpers.ts";
import { isRunning, waitForExit, writeScript } from "../rexec/_helpers.ts";

const decoder = new TextDecoder();

/** A server running as `deno run PERMISSIONS SCRIPT ARGS…`. */
class Spawned implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stderr: Lines;
  port = 0;
  #status: Promise<Deno.CommandStatus> | undefined;

  constructor(
    script: string,
    args: readonly string[],
    permissions: readonly string[] = TOOL_PERMISSIONS,
  ) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, script, ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.stderr = new Lines(this.child.stderr);
  }

  /** Waits for `listening on 127.0.0.1:PORT (N workers)`. */
  async listening(workers: number): Promise<number> {
    const [, port] = await this.stderr.waitFor(
      new RegExp(
        `^listening on 127\\.0\\.0\\.1:(\\d+) \\(${workers} ${
          workers === 1 ? "worker" : "workers"
        }\\)$`,
      ),
    );
    return this.port = Number(port);
  }

  /**
   * A connection served by worker `worker`: new connections (each from a
   * new client port, which the kernel hashes anew) until the log says that
   * worker took one; at most 200. `open` connects; the log line must name
   * the client's own port.
   */
  async connectToWorker<T>(
    worker: number,
    open: () => Promise<T>,
    connectionOf: (client: T) => Connection,
  ): Promise<T> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const client = await open();
      const conn = connectionOf(client) as Connection<"tcp">;
      const [, served] = await this.stderr.waitFor(
        new RegExp(
          `^\\[worker (\\d+)\\] connection from 127\\.0\\.0\\.1:${conn.localAddr.port}$`,
        ),
      );
      if (Number(served) === worker) return client;
      conn.close();
    }
    throw new Error(`no connection reached worker ${worker} in 200 attempts`);
  }

  /** Sends `signal` to the server. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    this.child.kill(signal);
  }

  /** Waits for the exit (and the end of stderr). */
  status(): Promise<Deno.CommandStatus> {
    return this.#status ??= Promise.all([this.child.status, this.stderr.done])
      .then(([status]) => status);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* exited */ }
    await this.status();
  }
}

Deno.test("echo --workers 2 serves from both workers and says listening once", async () => {
  await using echo = new Spawned("tools/echo.ts", [
    "--port",
    "0",
    "--workers",
    "2",
  ]);
  const port = await echo.listening(2);
  const seen = new Set<number>();
  for (let attempt = 0; attempt < 200 && seen.size < 2; attempt++) {
    await using conn = await connect({ port });
    await conn.write("ping");
    assertEquals(decoder.decode(await conn.readExactly(4)), "ping");
    const [, worker] = await echo.stderr.waitFor(
      new RegExp(
        `^\\[worker (\\d+)\\] connection from 127\\.0\\.0\\.1:${conn.localAddr.port}$`,
      ),
    );
    seen.add(Number(worker));
  }
  assertEquals(seen, new Set([1, 2]));
  echo.kill("SIGTERM");
  const status = await echo.status();
  assertEquals(status.code, 0, echo.stderr.seen.join("\n"));
  const listening = echo.stderr.seen.filter((line) =>
    line.startsWith("listening on")
  );
  assertEquals(listening.length, 1);
  assertEquals(echo.stderr.seen.at(-1), "shut down");
});

Deno.test("time --workers 2 serves from both workers: each stamps its clients' lines", async () => {
  await using time = new Spawned("tools/time.ts", [
    "--port",
    "0",
    "--workers",
    "2",
  ]);
  const port = await time.listening(2);
  const seen = new Set<number>();
  for (let attempt = 0; attempt < 200 && seen.size < 2; attempt++) {
    await using conn = await connect({ port });
    await conn.write(`ping ${attempt}\n`);
    assertMatch(
      decoder.decode(await conn.readUntil("\n")),
      new RegExp(
        `^\\[\\w{3} \\w{3} [ \\d]\\d [\\d:]{8} \\d{4}\\] ping ${attempt}\\n$`,
      ),
    );
    const [, worker] = await time.stderr.waitFor(
      new RegExp(
        `^\\[worker (\\d+)\\] connection from 127\\.0\\.0\\.1:${conn.localAddr.port}$`,
      ),
    );
    seen.add(Number(worker));
  }
  assertEquals(seen, new Set([1, 2]));
  time.kill("SIGTERM");
  assertEquals((await time.status()).code, 0, time.stderr.seen.join("\n"));
  assertEquals(time.stderr.seen.at(-1), "shut down");
});

Deno.test("echo --workers auto starts one worker per CPU and says how many", async () => {
  // navigator.hardwareConcurrency is the machine's, here as in the tool.
  const cpus = Math.max(1, navigator.hardwareConcurrency || 1);
  await using echo = new Spawned("tools/echo.ts", [
    "--port",
    "0",
    "--workers",
    "auto",
  ]);
  const port = await echo.listening(cpus);
  {
    await using conn = await connect({ port });
    await conn.write("auto");
    assertEquals(decoder.decode(await conn.readExactly(4)), "auto");
  }
  echo.kill("SIGTERM");
  assertEquals((await echo.status()).code, 0, echo.stderr.seen.join("\n"));
  assertEquals(echo.stderr.seen.at(-1), "shut down");
});

/** A program that says it started, works a while, and says it is done. */
const WORKER_JOB = `#!/bin/sh
echo started
sleep 0.5
echo done
`;

/** A program that prints its PID and becomes \`sleep 60\`. */
const SLEEPER = `#!/bin/sh
echo $$
exec sleep 60
`;

/** `rexec --allow PROGRAMS --port 0 --workers 2 ARGS…`. */
async function rexecWorkers(
  programs: readonly string[],
  args: readonly string[] = [],
): Promise<Spawned> {
  const runFlag = (await CommandAllowList.resolve(programs)).runFlag;
  const server = new Spawned("tools/rexec.ts", [
    "--allow",
    programs.join(","),
    "--port",
    "0",
    "--workers",
    "2",
    ...args,
  ], [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env=PATH",
    runFlag,
  ]);
  await server.listening(2);
  return server;
}

/** A command client served by worker `worker` of `server`. */
function clientOn(server: Spawned, worker: number): Promise<CommandClient> {
  return server.connectToWorker(
    worker,
    async () => new CommandClient(await connect({ port: server.port })),
    (client) => client.connection,
  );
}

Deno.test("rexec --workers 2 drains both workers on SIGTERM: each command under way finishes", async () => {
  await using dir = await tempDir();
  const job = await writeScript(dir.path, "job", WORKER_JOB);
  await using server = await rexecWorkers([job], ["--grace", "5"]);
  const clients = [await clientOn(server, 1), await clientOn(server, 2)];
  // Each command runs (it said "started") when the signal comes.
  const results = clients.map((client) => {
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => started = resolve);
    const output: string[] = [];
    const result = client.run(["job"], {
      onOutput: (_stream, data) => {
        output.push(decoder.decode(data));
        if (output.join("").includes("started")) started();
      },
    });
    return { running, result, output };
  });
  await Promise.all(results.map(({ running }) => running));
  const signalled = performance.now();
  server.kill("SIGTERM");
  for (const { result, output } of results) {
    assertEquals((await result).code, 0);
    assertEquals(output.join(""), "started\ndone\n");
  }
  const status = await server.status();
  assertLessOrEqual(performance.now() - signalled, 5000); // within --grace
  assertEquals(status.code, 0, server.stderr.seen.join("\n"));
  for (const worker of [1, 2]) {
    assert(
      server.stderr.seen.some((line) =>
        line.startsWith(`[worker ${worker}] `) && line.includes("ran [")
      ),
      `worker ${worker} logged its command:\n${server.stderr.seen.join("\n")}`,
    );
  }
  assertEquals(server.stderr.seen.at(-1), "shut down");
  for (const client of clients) client.close();
});

Deno.test("rexec --workers 2: a second SIGTERM ends both workers at once and kills their commands", async () => {
  await using dir = await tempDir();
  const sleeper = await writeScript(dir.path, "sleeper", SLEEPER);
  await using server = await rexecWorkers([sleeper]);
  const clients = [await clientOn(server, 1), await clientOn(server, 2)];
  const pids: number[] = [];
  const runs = clients.map((client) =>
    new Promise<void>((resolve) => {
      client.run(["sleeper"], {
        onOutput: (_stream, data) => {
          pids.push(Number(decoder.decode(data).trim()));
          resolve();
        },
      }).catch(() => {}); // cut off by the second signal
    })
  );
  await Promise.all(runs);
  for (const pid of pids) assert(await isRunning(pid));
  server.kill("SIGTERM");
  await server.stderr.waitFor(/^shutting down \(signal SIGTERM\)/);
  server.kill("SIGTERM");
  const status = await server.status();
  assertEquals(status.code, 143, server.stderr.seen.join("\n"));
  await waitForExit(pids, 2000); // killed, not left behind
  for (const client of clients) client.close();
});

Deno.test("a worker that dies is restarted, and the log says so", async () => {
  await using server = new Spawned("tests/tools/_crash_server.ts", [
    "--port",
    "0",
    "--workers",
    "2",
  ]);
  const port = await server.listening(2);
  const conn = await server.connectToWorker(
    2,
    () => connect({ port }),
    (conn) => conn,
  );
  await conn.write("crash");
  assertEquals(await conn.read(), null); // its worker is gone
  conn.close();
  await server.stderr.waitFor(
    /^\[worker 2\] crash: stopped unexpectedly \(Uncaught Error: crash requested\): restarting it in 100 ms$/,
  );
  await server.stderr.waitFor(/^\[worker 2\] crash: restarted$/);
  // It serves again.
  const again = await server.connectToWorker(
    2,
    () => connect({ port }),
    (conn) => conn,
  );
  await again.write("still here");
  assertEquals(decoder.decode(await again.readExactly(10)), "still here");
  again.close();
  server.kill("SIGTERM");
  assertEquals((await server.status()).code, 0);
});

Deno.test("--workers takes a positive integer or auto, on TCP only", async () => {
  const cases: [string[], string][] = [
    // zero workers
    [
      ["--workers", "0"],
      '--workers must be a positive integer or auto, not "0"',
    ],
    // not a number
    [
      ["--workers", "x"],
      '--workers must be a positive integer or auto, not "x"',
    ],
    // a negative number
    [
      ["--workers", "-2"],
      '--workers must be a positive integer or auto, not "-2"',
    ],
    // a Unix socket cannot be shared
    [
      ["--workers", "2", "--unix", "/tmp/sockit-workers.sock"],
      "--workers is for TCP",
    ],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runTool("echo", args);
    assertEquals(code, 2, stderr);
    assertStringIncludes(stderr, `echo: ${message}`);
  }
  const { code, stderr } = await runTool("time", ["--workers", "many"]);
  assertEquals(code, 2, stderr);
  assertStringIncludes(stderr, "time: --workers must be a positive integer");
});

Deno.test("echo --workers fails the whole start when the port is taken", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  const { code, stderr } = await runTool("echo", [
    "--port",
    String(port),
    "--workers",
    "2",
  ]);
  assertEquals(code, 1, stderr);
  assertStringIncludes(stderr, `echo: Cannot listen on 127.0.0.1:${port}`);
  assert(!stderr.includes("restarting"), stderr);
});
