/**
 * Tests for `tools/rexec.ts`, run as `deno run tools/rexec.ts …`: the server
 * and the client end to end (shell syntax stays text, exit codes come back,
 * refusals, time and output limits, tokens, Unix sockets), and every way
 * the tool refuses to start: no `--allow`, bad flags, a host other than
 * loopback without a token, and `--allow-run` that does not name exactly
 * the allowed programs.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { CommandAllowList } from "../../rexec/mod.ts";
import { connect } from "../../tcp/mod.ts";
import { Lines, ROOT } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { closedPort, tempDir, within } from "../tcp/_helpers.ts";
import { testCertificates } from "../_tls.ts";
import {
  FORKER,
  HOLDER,
  isRunning,
  pidsOf,
  RawClient,
  verdict,
  waitForExit,
  writeScript,
} from "../rexec/_helpers.ts";

const decoder = new TextDecoder();

/** What the server needs besides `--allow-run`. */
const SERVER_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env=PATH",
];
/** What the client needs: the network, and reading a token file. */
const CLIENT_PERMISSIONS: readonly string[] = ["--allow-net", "--allow-read"];

/** `--allow-run=…` naming exactly the programs `names` resolve to. */
async function runFlag(names: readonly string[]): Promise<string> {
  return (await CommandAllowList.resolve(names)).runFlag;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tools/rexec.ts` to completion with `permissions` and `args`. */
async function rexec(
  args: readonly string[],
  permissions: readonly string[] = CLIENT_PERMISSIONS,
): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "tools/rexec.ts", ...args],
    cwd: ROOT,
    stdin: "null",
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** A running `rexec` server, its stderr read line by line. */
class RexecServer implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stderr: Lines;
  /** `127.0.0.1:PORT` or `unix:PATH`, from `listening on …`. */
  address = "";
  #status: Deno.CommandStatus | undefined;

  private constructor(args: readonly string[], permissions: readonly string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, "tools/rexec.ts", ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.stderr = new Lines(this.child.stderr);
  }

  /** Starts `rexec ARGS` with `--allow-run` naming exactly `allowed`. */
  static async start(
    allowed: readonly string[],
    args: readonly string[],
  ): Promise<RexecServer> {
    const server = new RexecServer(
      ["--allow", allowed.join(","), ...args],
      [...SERVER_PERMISSIONS, await runFlag(allowed)],
    );
    try {
      const [, address] = await server.stderr.waitFor(/^listening on (.+)$/);
      server.address = address!;
      return server;
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Sends `signal` (SIGTERM) and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    if (this.#status === undefined) {
      this.child.kill(signal);
      this.#status = await this.child.status;
      await this.stderr.done;
    }
    return this.#status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#status === undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
      this.#status = await this.child.status;
      await this.stderr.done;
    }
  }
}

Deno.test("rexec --help names every flag, --version prints the package version", async () => {
  const help = await rexec(["--help"]);
  assertEquals(help.code, 0);
  for (
    const flag of [
      "--allow",
      "--host",
      "--port",
      "--unix",
      "--timeout",
      "--max-output",
      "--max-commands",
      "--token-file",
      "--insecure",
      "--token-timeout",
      "--idle-timeout",
      "--cwd",
      "--max-conns",
      "--grace",
      "--quiet",
      "--connect",
      "--connect-timeout",
      "--version",
      "--allow-run=",
    ]
  ) {
    assertStringIncludes(help.stdout, flag);
  }
  const version = await rexec(["--version"]);
  assertEquals(
    [version.code, version.stdout.trim()],
    [0, `sockit-rexec ${denoJson.version}`],
  );
});

Deno.test("rexec refuses to start without --allow and on bad flags, with exit 2 and one line", async () => {
  const echoOnly = [...SERVER_PERMISSIONS, await runFlag(["echo"])];
  const cases: [string[], string][] = [
    [[], "needs --allow"], // no allow-list: refuse
    [["--port", "0"], "needs --allow"], // still none
    [["--allow", "echo"], "needs --port"], // nowhere to listen
    [["--allow", "", "--port", "0"], "--allow has an empty entry"],
    [["--allow", "echo,", "--port", "0"], "--allow has an empty entry"],
    [["--allow", "../bin/touch", "--port", "0"], "never a relative path"],
    [["--allow", "./echo", "--port", "0"], "never a relative path"],
    [["--allow", "no-such-program-sockit", "--port", "0"], "no executable"],
    [["--allow", "echo", "--port", "99999"], "--port must be"],
    [["--allow", "echo", "--port", "0", "--timeout", "abc"], "--timeout must"],
    [["--allow", "echo", "--port", "0", "--max-output", "0"], "--max-output"],
    [
      ["--allow", "echo", "--port", "0", "--max-commands", "0"],
      "--max-commands",
    ],
    [
      ["--allow", "echo", "--port", "0", "--timeout"],
      "--timeout needs a value",
    ],
    [
      ["--allow", "echo", "--port", "0", "--cwd", "/nonexistent-sockit"],
      "--cwd",
    ],
    [
      ["--allow", "echo", "--unix", "/tmp/x.sock", "--port", "1"],
      "--unix cannot",
    ],
    [["--allow", "echo", "--port", "0", "ls"], 'unexpected argument "ls"'],
    [["--bogus"], "unknown flag --bogus"],
    [
      ["--allow", "echo", "--port", "0", "--token-file", "/nonexistent-sockit"],
      "cannot be read",
    ],
    [["--connect", "127.0.0.1:1"], "needs a command"],
    [["--connect", "no-port", "echo"], "--connect must be"],
    [
      ["--connect", "127.0.0.1:1", "--allow", "echo", "ls"],
      "--allow is a server flag",
    ],
    [
      ["--connect-timeout", "1", "--allow", "echo", "--port", "0"],
      "needs --connect",
    ],
  ];
  const runs = await Promise.all(cases.map(([args]) => rexec(args, echoOnly)));
  cases.forEach(([args, expected], i) => {
    const { code, stdout, stderr } = runs[i]!;
    const what = JSON.stringify(args);
    assertEquals(code, 2, `${what}: ${stderr}`);
    assertEquals(stdout, "", what);
    assertStringIncludes(stderr, expected, what);
    assertMatch(stderr, /^rexec: [^\n]+; try --help\n$/, what);
  });
});

Deno.test("rexec refuses a host other than loopback without --token-file or --insecure", async () => {
  await using dir = await tempDir();
  const tokenFile = `${dir.path}/token`;
  await Deno.writeTextFile(tokenFile, "s3cret\n");
  const permissions = [...SERVER_PERMISSIONS, await runFlag(["echo"])];
  const [bare, insecure, token] = await Promise.all([
    rexec(["--allow", "echo", "--host", "0.0.0.0", "--port", "0"], permissions),
    // These pass the host check and stop at the next one, before binding.
    rexec([
      "--allow",
      "no-such-program-sockit",
      "--host",
      "0.0.0.0",
      "--port",
      "0",
      "--insecure",
    ], permissions),
    rexec([
      "--allow",
      "no-such-program-sockit",
      "--host",
      "0.0.0.0",
      "--port",
      "0",
      "--token-file",
      tokenFile,
    ], permissions),
  ]);
  assertEquals(bare.code, 2);
  assertStringIncludes(bare.stderr, "0.0.0.0 is not loopback");
  for (const run of [insecure, token]) {
    assertEquals(run.code, 2);
    assertStringIncludes(run.stderr, "Cannot allow no-such-program-sockit");
  }
});

Deno.test("rexec refuses --allow-run that does not name exactly the allowed programs, and says which flag to use", async () => {
  const exact = await runFlag(["echo", "sleep"]);
  const [unscoped, none, partial] = await Promise.all([
    rexec(
      ["--allow", "echo,sleep", "--port", "0"],
      [...SERVER_PERMISSIONS, "--allow-run"],
    ),
    rexec(["--allow", "echo,sleep", "--port", "0"], SERVER_PERMISSIONS),
    rexec(
      ["--allow", "echo,sleep", "--port", "0"],
      [...SERVER_PERMISSIONS, await runFlag(["echo"])],
    ),
  ]);
  for (const run of [unscoped, none, partial]) {
    assertEquals(run.code, 2, run.stderr);
    assertStringIncludes(run.stderr, `start with ${exact}`);
  }
  assertStringIncludes(unscoped.stderr, "unscoped --allow-run");
  assertStringIncludes(partial.stderr, "may not run /");
});

Deno.test("rexec serves commands end to end: shell syntax stays text, statuses and limits come back, refusals exit 1", async () => {
  await using dir = await tempDir();
  await using server = await RexecServer.start(
    ["echo", "false", "ls", "sleep"],
    [
      "--port",
      "0",
      "--timeout",
      "0.5",
      "--max-output",
      "100",
      "--cwd",
      dir.path,
    ],
  );
  assertMatch(server.address, /^127\.0\.0\.1:\d+$/);
  const client = (...argv: string[]) =>
    rexec(["--connect", server.address, ...argv]);
  const injection = [
    "hi;",
    "touch",
    "MARKER",
    "$(touch MARKER)",
    "`touch MARKER`",
    "|",
    "&&",
    ">MARKER",
    "*",
  ];
  const [echo, json, failed, missing, refused, path, slow, long] = await Promise
    .all([
      client("echo", ...injection),
      client("echo", "a b", "--help"), // spaces go as JSON; flags after the command are its own
      client("false"),
      client("ls", "/nonexistent-sockit"),
      client("rm", "-rf", "/"),
      client("/usr/bin/touch", "MARKER"),
      client("sleep", "5"),
      client("echo", "x".repeat(200)),
    ]);
  assertEquals(
    [echo.code, echo.stdout, echo.stderr],
    [0, `${injection.join(" ")}\n`, ""],
  );
  assertEquals([json.code, json.stdout], [0, "a b --help\n"]);
  assertEquals([failed.code, failed.stdout, failed.stderr], [1, "", ""]);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "/nonexistent-sockit");
  assertEquals([refused.code, refused.stdout], [1, ""]);
  assertMatch(refused.stderr, /^rexec: NotAllowed: Cannot run "rm": [^\n]+\n$/);
  assertEquals(path.code, 1);
  assertStringIncludes(path.stderr, "never a path");
  assertEquals(slow.code, 137);
  assertStringIncludes(slow.stderr, "ran out of time");
  assertEquals(long.stdout, "x".repeat(100));
  assertStringIncludes(long.stderr, "cut off at the server's limit");
  assertEquals(await Array.fromAsync(Deno.readDir(dir.path)), []);

  const status = await server.stop();
  assertEquals(status.code, 0);
  const log = server.stderr.seen.join("\n");
  assertStringIncludes(log, "allowing echo (/");
  assertStringIncludes(log, `ran ["false"]: exit 1`);
  assertStringIncludes(log, `refused NotAllowed ["rm","-rf","/"]`);
  assertStringIncludes(log, `ran ["sleep","5"]: killed by SIGKILL (timed out)`);
  // A line when each client connects and when it goes, as echo and time log.
  const lines = server.stderr.seen;
  const connected = lines.filter((line) =>
    /^connection from 127\.0\.0\.1:\d+$/.test(line)
  );
  const closed = lines.filter((line) =>
    /^closed 127\.0\.0\.1:\d+ \(\d+ bytes in, \d+ out\)$/.test(line)
  );
  assertEquals([connected.length, closed.length], [8, 8]);
  assertEquals(server.stderr.seen.at(-1), "shut down");
});

/** A raw protocol client connected to a tool's `HOST:PORT`. */
function openClient(address: string): Promise<RawClient> {
  const at = address.lastIndexOf(":");
  return RawClient.open({
    addr: {
      hostname: address.slice(0, at),
      port: Number(address.slice(at + 1)),
    },
  });
}

/**
 * Starts `rexec` allowing a {@linkcode FORKER} script, runs it on a raw
 * client, and returns the server, the client and the script's two PIDs
 * (both running, the command now silent).
 */
async function startForker(
  dir: string,
  args: readonly string[],
): Promise<{ server: RexecServer; client: RawClient; pids: number[] }> {
  const forker = await writeScript(dir, "forker", FORKER);
  const server = await RexecServer.start(
    [forker],
    ["--port", "0", "--timeout", "60", ...args],
  );
  const client = await openClient(server.address);
  await client.send("forker\n");
  const output = await client.reply();
  assert(output?.kind === "stdout", JSON.stringify(output));
  const pids = pidsOf(decoder.decode(output.data));
  for (const pid of pids) assert(await isRunning(pid), `${pid} runs`);
  return { server, client, pids };
}

Deno.test("rexec kills a command and what it started as soon as its client disconnects", async () => {
  await using dir = await tempDir();
  const { server, client, pids } = await startForker(dir.path, []);
  await using _server = server;
  client.conn.close();
  await waitForExit(pids, 5000);
  await server.stderr.waitFor(
    /ran \[".*forker"\]: killed by SIGKILL \(client gone\)/,
  );
  assertEquals((await server.stop()).code, 0);
});

// SIGHUP is the terminal closing. Before, it ended the server at once
// (exit 129) and left the running command behind, its parent gone.
for (const [signal, code] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  Deno.test(`rexec on ${signal} kills what still runs when --grace ends, logs why, and exits`, async () => {
    await using dir = await tempDir();
    const { server, client, pids } = await startForker(dir.path, [
      "--grace",
      "0.5",
    ]);
    await using _server = server;
    await using _client = client; // connected and waiting: only --grace ends it
    const started = performance.now();
    const status = await within(server.stop(signal), 5000, "the exit");
    assertEquals(status.code, 0);
    assertLessOrEqual(performance.now() - started, 2500);
    await waitForExit(pids, 2000);
    assertStringIncludes(
      server.stderr.seen.join("\n"),
      `shutting down (signal ${signal})`,
    );
    // Before: "(client gone)", though the client was there all along.
    assertMatch(
      server.stderr.seen.find((line) => line.includes(" ran ")) ?? "",
      /ran \[".*forker"\]: killed by SIGKILL \(killed at the end of the grace period\)/,
    );
    assertEquals(server.stderr.seen.at(-1), "shut down");
  });

  Deno.test(`rexec on a second ${signal} exits at once and leaves no command behind`, async () => {
    await using dir = await tempDir();
    const { server, client, pids } = await startForker(dir.path, [
      "--grace",
      "30",
    ]);
    await using _server = server;
    await using _client = client;
    server.child.kill(signal);
    await server.stderr.waitFor(/^shutting down/);
    server.child.kill(signal);
    const status = await within(server.child.status, 5000, "the exit");
    assertEquals(status.code, code);
    await waitForExit(pids, 2000);
  });
}

Deno.test("rexec's log escapes every control character a client sends in argv, C1 included", async () => {
  await using server = await RexecServer.start(["echo"], ["--port", "0"]);
  await using client = await openClient(server.address);
  // U+009B is CSI: "\u009b31m" turns a terminal red, as "ESC [31m" does.
  const ran = await client.request("echo a\u009b31mb\u007fc\u001b[2Jd");
  assertEquals(ran.stdout, "a\u009b31mb\u007fc\u001b[2Jd\n");
  const refused = await client.request("nope\u009d0;title\u0007");
  assertEquals(verdict(refused), "NotAllowed");
  const ranLine = (await server.stderr.waitFor(/ ran \[/)).input;
  const refusedLine =
    (await server.stderr.waitFor(/ refused NotAllowed /)).input;
  // Still JSON (scripts parse it), with nothing raw left.
  assertStringIncludes(
    ranLine,
    String.raw`ran ["echo","a\u009b31mb\u007fc\u001b[2Jd"]: exit 0`,
  );
  assertStringIncludes(refusedLine, String.raw`["nope\u009d0;title\u0007"]`);
  for (const line of server.stderr.seen) {
    // deno-lint-ignore no-control-regex
    assertEquals(/[\x00-\x1f\x7f-\x9f]/.test(line), false, line);
  }
});

Deno.test("rexec --max-commands: a request beyond the limit is refused at once with Busy", async () => {
  await using dir = await tempDir();
  const holder = await writeScript(dir.path, "holder", HOLDER);
  await using server = await RexecServer.start(["echo", holder], [
    "--port",
    "0",
    "--max-commands",
    "1",
  ]);
  await using client = await openClient(server.address);
  await client.send(`holder ${dir.path}/started\n`);
  assertEquals((await client.reply())?.kind, "stdout"); // it runs, and holds
  const busy = await rexec(["--connect", server.address, "echo", "hi"]);
  assertEquals([busy.code, busy.stdout], [1, ""]);
  assertMatch(
    busy.stderr,
    /^rexec: Busy: Cannot run echo now: 1 command is running/,
  );
  client.conn.close();
  await server.stderr.waitFor(/ran \[".*holder",.*\(client gone\)/);
  const ok = await rexec(["--connect", server.address, "echo", "hi"]);
  assertEquals([ok.code, ok.stdout], [0, "hi\n"]);
  assertStringIncludes(
    server.stderr.seen.join("\n"),
    `refused Busy ["echo","hi"]`,
  );
});

Deno.test("rexec --token-file: the client must present the same token", async () => {
  await using dir = await tempDir();
  const good = `${dir.path}/good`;
  const bad = `${dir.path}/bad`;
  await Deno.writeTextFile(good, "correct horse battery staple\n");
  await Deno.writeTextFile(bad, "correct horse battery stapler\n");
  await using server = await RexecServer.start(["echo"], [
    "--port",
    "0",
    "--token-file",
    good,
    "--token-timeout",
    "2",
  ]);
  const [ok, wrong, none] = await Promise.all([
    rexec(["--connect", server.address, "--token-file", good, "echo", "in"]),
    rexec(["--connect", server.address, "--token-file", bad, "echo", "in"]),
    rexec(["--connect", server.address, "echo", "in"]),
  ]);
  assertEquals([ok.code, ok.stdout], [0, "in\n"]);
  for (const run of [wrong, none]) {
    assertEquals([run.code, run.stdout], [1, ""]);
    assertMatch(run.stderr, /^rexec: Unauthorized: [^\n]+\n$/);
  }
});

Deno.test("the rexec client refuses a token beyond loopback over --tls-insecure unless --insecure, with exit 2 and what to type", async () => {
  const certs = await testCertificates();
  await using dir = await tempDir();
  const tokenFile = `${dir.path}/token`;
  await Deno.writeTextFile(tokenFile, "s3cret\n");
  await using server = await RexecServer.start(["echo"], [
    "--port",
    "0",
    "--token-file",
    tokenFile,
    "--tls-cert",
    certs.server.certFile,
    "--tls-key",
    certs.server.keyFile,
  ]);
  // 0.0.0.0 is not a loopback name, yet Linux delivers a connection to it
  // on this machine: the server listening on 127.0.0.1 answers.
  const port = /^127\.0\.0\.1:(\d+) /.exec(server.address)?.[1];
  const client = (...flags: string[]) =>
    rexec([
      "--connect",
      `0.0.0.0:${port}`,
      "--token-file",
      tokenFile,
      "--tls-insecure",
      ...flags,
      "echo",
      "hi",
    ]);
  const [refused, accepted] = await Promise.all([
    client(),
    client("--insecure"),
  ]);
  // Before: the token went to whoever answered, encrypted but unverified.
  assertEquals(refused.code, 2, refused.stderr);
  assertEquals(refused.stdout, "");
  assertMatch(
    refused.stderr,
    /rexec: Cannot send the token to 0\.0\.0\.0:\d+ over TLS that verifies nothing as 0\.0\.0\.0 is not loopback: .*--tls-ca FILE.*--insecure.*; try --help\n$/,
  );
  assertEquals([accepted.code, accepted.stdout], [0, "hi\n"], accepted.stderr);
  assertStringIncludes(accepted.stderr, "--tls-insecure"); // the warning
  // No server is contacted to refuse: one client connected.
  assertEquals(
    server.stderr.seen.filter((line) => line.startsWith("connection from"))
      .length,
    1,
  );
});

Deno.test("rexec --unix serves on a Unix socket and --connect unix:PATH runs there", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/rexec.sock`;
  await using server = await RexecServer.start(["echo"], ["--unix", path]);
  assertEquals(server.address, `unix:${path}`);
  const run = await rexec(
    ["--connect", `unix:${path}`, "echo", "over unix"],
    [...CLIENT_PERMISSIONS, "--allow-write"], // Unix sockets need both
  );
  assertEquals([run.code, run.stdout], [0, "over unix\n"], run.stderr);
  assertEquals((await server.stop()).code, 0);
  // Unix clients have no address: they are numbered.
  const log = server.stderr.seen.join("\n");
  assertStringIncludes(log, `connection from unix:${path} #1\n`);
  assertStringIncludes(
    log,
    `unix:${path} #1: ran ["echo","over unix"]: exit 0`,
  );
  // The request, `["echo","over unix"]` and its line end; two reply frames.
  assertStringIncludes(log, `closed unix:${path} #1 (21 bytes in, 25 out)`);
  assert(!(await Deno.stat(path).then(() => true, () => false)));
});

Deno.test("the rexec client exits 1 with one line when it cannot connect", async () => {
  const run = await rexec([
    "--connect",
    `127.0.0.1:${closedPort()}`,
    "echo",
    "hi",
  ]);
  assertEquals([run.code, run.stdout], [1, ""]);
  assertMatch(
    run.stderr,
    /^rexec: Cannot connect to 127\.0\.0\.1:\d+: [^\n]+\n$/,
  );
});

Deno.test("rexec --proxy-protocol: behind a load balancer, the log names the real client", async () => {
  await using server = await RexecServer.start(["echo"], [
    "--port",
    "0",
    "--proxy-protocol",
    "--proxy-from",
    "127.0.0.1",
  ]);
  const match = /^127\.0\.0\.1:(\d+) \(PROXY protocol from 127\.0\.0\.1\)$/
    .exec(server.address);
  assert(match !== null, server.address);
  const port = Number(match[1]);
  const conn = await connect({ port }, {
    proxyHeader: {
      version: 1,
      source: { hostname: "198.51.100.23", port: 6000 },
      destination: { hostname: "127.0.0.1", port },
    },
  });
  await conn.write("echo behind\n");
  await conn.shutdown("write");
  while ((await conn.read()) !== null) { /* the reply */ }
  conn.close();
  await server.stderr.waitFor(/^connection from 198\.51\.100\.23:6000$/);
  await server.stderr.waitFor(
    /^198\.51\.100\.23:6000: ran \["echo","behind"\]: exit 0/,
  );
});
