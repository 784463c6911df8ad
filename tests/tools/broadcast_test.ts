/**
 * Tests for `tools/broadcast.ts`, run as `deno run tools/broadcast.ts …`
 * against python3 peers and against itself, on the loopback broadcast
 * address `127.255.255.255` only.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { Lines, ROOT, runTool } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { PythonPeer } from "../udp/_python.ts";

/** A `broadcast listen` running as a child, its stdout and stderr read by line. */
class Listener implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  address = "";
  port = 0;
  #status: Deno.CommandStatus | undefined;

  private constructor(args: readonly string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "tools/broadcast.ts", "listen", ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Lines(this.child.stdout);
    this.stderr = new Lines(this.child.stderr);
  }

  static async start(args: readonly string[]): Promise<Listener> {
    const listener = new Listener(args);
    try {
      const [, address, port] = await listener.stderr.waitFor(
        /^listening on ((?:.*):(\d+))$/,
      );
      listener.address = address!;
      listener.port = Number(port);
      return listener;
    } catch (error) {
      await listener[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Sends SIGTERM and waits for the exit and the end of its output. */
  async stop(): Promise<Deno.CommandStatus> {
    if (this.#status === undefined) {
      this.child.kill("SIGTERM");
      this.#status = await this.child.status;
      await Promise.all([this.stdout.done, this.stderr.done]);
    }
    return this.#status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#status === undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
      this.#status = await this.child.status;
      await Promise.all([this.stdout.done, this.stderr.done]);
    }
  }
}

/** A Python sender: SO_BROADCAST, "Hi there!" to 127.255.255.255, then the reply. */
const PYTHON_SENDER = `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("127.0.0.1", 0))
say(s.getsockname()[1])
s.settimeout(float(sys.argv[3]))
s.sendto(sys.argv[2].encode("latin-1"), ("127.255.255.255", int(sys.argv[1])))
try:
    data, addr = s.recvfrom(1024)
    say("reply", data.decode(), addr[0], addr[1])
except socket.timeout:
    say("no reply")
`;

Deno.test("broadcast listen answers a Python broadcast with ACK, prints it, and exits 0 on SIGTERM", async () => {
  await using listener = await Listener.start(["--port", "0"]);
  assertMatch(listener.address, /^127\.255\.255\.255:\d+$/);
  {
    await using python = PythonPeer.start(PYTHON_SENDER, [
      listener.port,
      "Hi there!",
      5,
    ]);
    const pythonPort = await python.port();
    assertEquals(
      await python.line(),
      `reply ACK 127.0.0.1 ${listener.port}`,
    );
    await python.finish();
    await listener.stdout.waitFor(
      new RegExp(`^127\\.0\\.0\\.1:${pythonPort} Hi there!$`),
    );
  }
  const status = await listener.stop();
  assertEquals(status.code, 0, listener.stderr.seen.join("\n"));
  assertEquals(listener.stderr.seen.at(-1), "shut down");
  assertEquals(listener.stdout.seen.length, 1);
});

Deno.test("broadcast listen --ack TEXT replies with ACK TEXT, and escapes control characters on stdout", async () => {
  await using listener = await Listener.start([
    "--port",
    "0",
    "--ack",
    "Got it",
  ]);
  await using python = PythonPeer.start(PYTHON_SENDER, [
    listener.port,
    "line one\nline\ttwo\\\x01",
    5,
  ]);
  const pythonPort = await python.port();
  assertEquals(
    await python.line(),
    `reply ACK Got it 127.0.0.1 ${listener.port}`,
  );
  await python.finish();
  const [line] = await listener.stdout.waitFor(/^127\.0\.0\.1:.*$/);
  assertEquals(
    line,
    `127.0.0.1:${pythonPort} line one\\nline\\ttwo\\\\\\x01`,
  );
  assertEquals((await listener.stop()).code, 0);
});

Deno.test("broadcast listen and send escape C1 control characters (U+009B, a terminal's CSI) as they do C0", async () => {
  await using listener = await Listener.start(["--port", "0"]);
  // PYTHON_SENDER encodes its message as latin-1: "\u00c2\u009b" is the
  // UTF-8 of U+009B (C2 9B). Then U+0085 (NEL), U+009F, ESC, DEL, and a
  // lone 0x9b byte, which is not UTF-8 (U+FFFD, harmless).
  await using python = PythonPeer.start(PYTHON_SENDER, [
    listener.port,
    "a\u00c2\u009b2Jb\u00c2\u0085\u00c2\u009f\x1b[0m\x7f\u009bz",
    5,
  ]);
  const pythonPort = await python.port();
  await python.line();
  await python.finish();
  const [line] = await listener.stdout.waitFor(/^127\.0\.0\.1:.*$/);
  assertEquals(
    line,
    `127.0.0.1:${pythonPort} a\\x9b2Jb\\x85\\x9f\\x1b[0m\\x7f\ufffdz`,
  );
  assertEquals((await listener.stop()).code, 0);

  // send prints a reply with the same escapes.
  await using receiver = PythonPeer.start(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.255.255.255", 0))
say(s.getsockname()[1])
data, addr = s.recvfrom(1024)
s.sendto("ACK \u009b31mred".encode(), addr)
say(data.decode())
`);
  const port = await receiver.port();
  const { code, stdout, stderr } = await runTool("broadcast", [
    "send",
    "hi",
    "--to",
    "127.255.255.255",
    "--port",
    String(port),
    "--wait",
    "0.5",
  ]);
  assertEquals(code, 0, stderr);
  assertEquals(stdout, `127.0.0.1:${port} ACK \\x9b31mred\n`);
  assertEquals(await receiver.line(), "hi");
  await receiver.finish();
});

Deno.test("broadcast listen --no-ack stays silent", async () => {
  await using listener = await Listener.start(["--port", "0", "--no-ack"]);
  await using python = PythonPeer.start(PYTHON_SENDER, [
    listener.port,
    "anyone?",
    0.3,
  ]);
  await python.port();
  assertEquals(await python.line(), "no reply");
  await python.finish();
  await listener.stdout.waitFor(/ anyone\?$/);
  assertEquals((await listener.stop()).code, 0);
});

Deno.test("broadcast send gets a Python receiver's ACK and exits 0", async () => {
  await using python = PythonPeer.start(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.255.255.255", 0))
say(s.getsockname()[1])
data, addr = s.recvfrom(1024)
s.sendto(b"ACK", addr)
say(data.decode())
`);
  const port = await python.port();
  const { code, stdout, stderr } = await runTool("broadcast", [
    "send",
    "Hi there!",
    "--to",
    "127.255.255.255",
    "--port",
    String(port),
    "--wait",
    "0.5",
  ]);
  assertEquals(code, 0, stderr);
  assertEquals(stdout, `127.0.0.1:${port} ACK\n`);
  assertStringIncludes(stderr, `sending 9 bytes to 127.255.255.255:${port}`);
  assertStringIncludes(stderr, "1 reply");
  assertEquals(await python.line(), "Hi there!");
  await python.finish();
});

Deno.test("broadcast send --count 2 --interval reaches broadcast listen twice", async () => {
  await using listener = await Listener.start(["--port", "0"]);
  const { code, stdout, stderr } = await runTool("broadcast", [
    "send",
    "--to",
    "127.255.255.255",
    "--port",
    String(listener.port),
    "--count",
    "2",
    "--interval",
    "50",
    "--wait",
    "0.5",
    "--",
    "-dash first",
  ]);
  assertEquals(code, 0, stderr);
  assertEquals(stdout, `127.0.0.1:${listener.port} ACK\n`.repeat(2));
  assertStringIncludes(stderr, "2 times, 50 ms apart");
  assertStringIncludes(stderr, "2 replies");
  await listener.stdout.waitFor(/ -dash first$/);
  await listener.stdout.waitFor(/ -dash first$/);
  assertEquals((await listener.stop()).code, 0);
});

Deno.test("broadcast send exits 1 when no reply comes", async () => {
  const { code, stdout, stderr } = await runTool("broadcast", [
    "send",
    "hello?",
    "--to",
    "127.255.255.255",
    "--port",
    "9", // discard: nobody answers
    "--wait",
    "0.1",
  ]);
  assertEquals(code, 1, stderr);
  assertEquals(stdout, "");
  assertStringIncludes(stderr, "0 replies");
});

Deno.test("broadcast send warns that a message in reply format gets no answer from listen", async () => {
  await using listener = await Listener.start(["--port", "0"]);
  const { code, stdout, stderr } = await runTool("broadcast", [
    "send",
    "ACK anyone?",
    "--to",
    "127.255.255.255",
    "--port",
    String(listener.port),
    "--wait",
    "0.2",
  ]);
  assertEquals(code, 1, stderr); // no reply
  assertEquals(stdout, "");
  assertStringIncludes(stderr, "looks like a reply");
  await listener.stdout.waitFor(/ ACK anyone\?$/); // printed, not answered
  assertEquals((await listener.stop()).code, 0);
});

Deno.test("broadcast listen exits 1 when it cannot bind", async () => {
  const { code, stderr } = await runTool("broadcast", [
    "listen",
    "--host",
    "203.0.113.7", // TEST-NET-3: not an address of this machine
    "--port",
    "0",
  ]);
  assertEquals(code, 1, stderr);
  assertMatch(stderr, /^broadcast: Cannot bind 203\.0\.113\.7:0: /);
});

Deno.test("broadcast --help names both broadcast addresses; --version comes from deno.json", async () => {
  for (
    const args of [["--help"], ["-h"], ["send", "--help"], ["listen", "-h"]]
  ) {
    const { code, stdout } = await runTool("broadcast", args);
    assertEquals(code, 0, args.join(" "));
    assertStringIncludes(stdout, "Usage: broadcast listen --port PORT");
    assertStringIncludes(
      stdout,
      "255.255.255.255   every host on the local network",
    );
    assertStringIncludes(stdout, "127.255.255.255   this machine only");
    for (
      const flag of [
        "--port",
        "--host",
        "--ack",
        "--no-ack",
        "--to",
        "--wait",
        "--count",
        "--interval",
        "--version",
      ]
    ) {
      assertStringIncludes(stdout, flag);
    }
  }
  for (const args of [["--version"], ["send", "--version"]]) {
    const { code, stdout } = await runTool("broadcast", args);
    assertEquals(code, 0);
    assertEquals(stdout, `sockit-broadcast ${denoJson.version}\n`);
  }
});

Deno.test("broadcast rejects bad usage with exit code 2 and a clear message", async () => {
  const cases: [string[], string][] = [
    // no command at all
    [[], "give a command: listen or send"],
    // an unknown command
    [["shout"], 'unknown command "shout"'],
    // a flag before the command
    [["--port", "1"], "give a command (listen or send) before --port"],
    // --to is never defaulted
    [["send", "hi", "--port", "9"], "--to is required: 255.255.255.255"],
    // the message is required
    [
      ["send", "--to", "127.255.255.255", "--port", "9"],
      "send needs a MESSAGE",
    ],
    // one message only
    [
      ["send", "a", "b", "--to", "127.255.255.255", "--port", "9"],
      'unexpected argument "b"',
    ],
    // a port is required to send
    [["send", "hi", "--to", "127.255.255.255"], "--port is required"],
    // port 0 is for listening
    [
      ["send", "hi", "--to", "127.255.255.255", "--port", "0"],
      "--port must be in 1..65535 to send",
    ],
    // an impossible port
    [["listen", "--port", "70000"], "--port must be an integer in 0..65535"],
    // listen needs a port
    [["listen"], "--port is required"],
    // listen takes no message
    [["listen", "--port", "0", "hello"], 'unexpected argument "hello"'],
    // the two ack flags conflict
    [
      ["listen", "--port", "0", "--ack", "X", "--no-ack"],
      "--ack and --no-ack exclude each other",
    ],
    // a flag of the other command
    [["listen", "--port", "0", "--to", "x"], "unknown flag --to"],
    // a missing value
    [["send", "hi", "--to"], "--to needs a value"],
    // a negative wait
    [
      ["send", "hi", "--to", "127.255.255.255", "--port", "9", "--wait", "-1"],
      "--wait must be a number of seconds >= 0",
    ],
    // a count of zero
    [
      ["send", "hi", "--to", "127.255.255.255", "--port", "9", "--count", "0"],
      "--count must be an integer >= 1",
    ],
    // an interval that is not whole milliseconds
    [
      [
        "send",
        "hi",
        "--to",
        "127.255.255.255",
        "--port",
        "9",
        "--interval",
        "0.5",
      ],
      "--interval must be a whole number of milliseconds",
    ],
    // a host that cannot be one
    [["listen", "--port", "0", "--host", "no such/host"], "--host must be"],
  ];
  const results = await Promise.all(
    cases.map(([args]) => runTool("broadcast", args)),
  );
  for (let i = 0; i < cases.length; i++) {
    const [args, message] = cases[i]!;
    const { code, stdout, stderr } = results[i]!;
    assertEquals(code, 2, `${args.join(" ")}: ${stderr}`);
    assertEquals(stdout, "");
    assert(stderr.startsWith("broadcast: "), stderr);
    assertStringIncludes(stderr, message, args.join(" "));
    assertStringIncludes(stderr, "try --help");
  }
});
