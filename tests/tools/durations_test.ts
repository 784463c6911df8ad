/**
 * Every duration flag of every tool, table-driven: a value that rounds to
 * 0 ms (`0.0001`) or passes the longest timer (2**31-1 ms, about 24.8 days;
 * a longer one fires at once) is bad usage — exit code 2, one line naming
 * the flag — and `0` is accepted exactly where a flag documents it as
 * "none". (`cat --grace` is left to cat's own tests for now: it is new.)
 *
 * @module
 */
import { ROOT, TOOL_PERMISSIONS, ToolProcess } from "../_spawn.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../_utils.ts";

/** relay's duration flags, and whether `0` is allowed (`--grace 0`: none). */
const RELAY_FLAGS: Array<[string, boolean]> = [
  ["idle-timeout", false],
  ["connect-timeout", false],
  ["grace", true],
];

/** What `--proxy-timeout` needs beside it. */
const PROXY_ARGS: readonly string[] = [
  "--proxy-protocol",
  "--proxy-from",
  "127.0.0.1",
];

/** The tools that take `--proxy-timeout`, with the rest of a server's line. */
const PROXY_TOOLS: Array<[string, string[]]> = [
  ["echo", ["--port", "0"]],
  ["time", ["--port", "0"]],
  ["rexec", ["--allow", "echo", "--port", "0"]],
  ["cat", ["--listen", "127.0.0.1", "0"]],
  ["relay", ["tcp:127.0.0.1:0", "tcp:127.0.0.1:9"]],
];

/**
 * Each row: the tool, its arguments with `V` where the duration goes, the
 * flag, and whether `0` is allowed (documented as none). The other
 * arguments are valid, so only the duration can be wrong.
 */
const FLAGS: Array<[string, string[], string, boolean]> = [
  [
    "cat",
    ["--connect-timeout", "V", "127.0.0.1", "9"],
    "connect-timeout",
    false,
  ],
  ["cat", ["--idle-timeout", "V", "127.0.0.1", "9"], "idle-timeout", false],
  ["echo", ["--port", "0", "--idle-timeout", "V"], "idle-timeout", false],
  ["echo", ["--port", "0", "--grace", "V"], "grace", true],
  ["time", ["--port", "0", "--idle-timeout", "V"], "idle-timeout", false],
  ["time", ["--port", "0", "--grace", "V"], "grace", true],
  [
    "rexec",
    ["--allow", "echo", "--port", "0", "--timeout", "V"],
    "timeout",
    false,
  ],
  [
    "rexec",
    ["--allow", "echo", "--port", "0", "--idle-timeout", "V"],
    "idle-timeout",
    false,
  ],
  [
    "rexec",
    ["--allow", "echo", "--port", "0", "--token-timeout", "V"],
    "token-timeout",
    false,
  ],
  ["rexec", ["--allow", "echo", "--port", "0", "--grace", "V"], "grace", true],
  [
    "rexec",
    ["--connect", "127.0.0.1:9", "--connect-timeout", "V", "echo", "hi"],
    "connect-timeout",
    false,
  ],
  [
    "broadcast",
    ["send", "hi", "--to", "127.255.255.255", "--port", "9", "--wait", "V"],
    "wait",
    true,
  ],
  // cat -w: nc's spelling, named --wait in the message.
  ["cat", ["-w", "V", "127.0.0.1", "9"], "wait", false],
  ...RELAY_FLAGS.map((
    [flag, allowZero],
  ): [string, string[], string, boolean] => [
    "relay",
    ["tcp:127.0.0.1:0", "tcp:127.0.0.1:9", `--${flag}`, "V"],
    flag,
    allowZero,
  ]),
  // --proxy-timeout: every tool that reads PROXY protocol headers.
  ...PROXY_TOOLS.map(([tool, args]): [string, string[], string, boolean] => [
    tool,
    [...args, ...PROXY_ARGS, "--proxy-timeout", "V"],
    "proxy-timeout",
    false,
  ]),
];

/** Each row: a bad value and what the message says about it. */
const BAD: Array<[string, string]> = [
  ["0.0001", "rounds to 0 ms"], // 0.1 ms: once silently 0 (no timeout, or none)
  ["0.0004", "rounds to 0 ms"], // the largest that rounds to 0
  ["1e10", "the longest is 2147483.647"], // a timer this long fires at once
  ["2147483.648", "the longest is 2147483.647"], // one millisecond too long
];

const decoder = new TextDecoder();

/**
 * Runs a tool to its exit. A tool that took the value and went on to serve
 * would never exit: it is killed after 20 s and reported as still running,
 * so that the test fails rather than hangs.
 */
async function run(
  tool: string,
  args: readonly string[],
): Promise<{ code: number | "still running"; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...TOOL_PERMISSIONS, `tools/${tool}.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const guard = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, 20_000);
  try {
    const { code, stdout, stderr } = await child.output();
    return {
      code: killed ? "still running" : code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    clearTimeout(guard);
  }
}

Deno.test("every duration flag refuses what rounds to 0 ms or passes the longest timer, with exit code 2 naming the flag", async () => {
  const cases = FLAGS.flatMap(([tool, args, flag, allowZero]) =>
    BAD.map(([value, why]) => ({
      tool,
      args: args.map((arg) => arg === "V" ? value : arg),
      flag,
      allowZero,
      why,
    }))
  );
  // Two at a time: the machine is shared.
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (let i = 0; i < cases.length; i += 2) {
    results.push(
      ...await Promise.all(
        cases.slice(i, i + 2).map((c) => run(c.tool, c.args)),
      ),
    );
  }
  cases.forEach((c, i) => {
    const { code, stdout, stderr } = results[i]!;
    const what = `${c.tool} ${c.args.join(" ")}`;
    assertEquals(code, 2, `${what}: ${stderr}`);
    assertEquals(stdout, "", what);
    assertStringIncludes(
      stderr,
      `${c.tool}: --${c.flag} must be a number of seconds ${
        c.allowZero ? ">= 0" : "> 0"
      }`,
      what,
    );
    assertStringIncludes(stderr, c.why, what);
    if (c.allowZero && c.why.startsWith("rounds")) {
      assertStringIncludes(stderr, "0 means none", what);
    }
    assertMatch(stderr, /; try --help\n$/, what);
    assertEquals(stderr.split("\n").length, 2, what); // one line
  });
});

Deno.test("0 is taken as none where a flag documents it, and 1 ms is the shortest duration", async () => {
  // broadcast send --wait 0: send, collect nothing, exit 1 (no reply).
  const wait = await run("broadcast", [
    "send",
    "hi",
    "--to",
    "127.255.255.255",
    "--port",
    "9",
    "--wait",
    "0",
  ]);
  assertEquals(wait.code, 1, wait.stderr);
  assertStringIncludes(wait.stderr, "collecting replies for 0 s");
  // --grace 0 and a 1 ms idle timeout: the server starts, and a signal
  // stops it at once.
  for (const tool of ["echo", "time"]) {
    await using server = new ToolProcess(tool, [
      "--port",
      "0",
      "--grace",
      "0",
      "--idle-timeout",
      "0.001",
    ]);
    await server.stderr.waitFor(/^listening on /);
    const status = await server.stop();
    assertEquals(status.code, 0, server.stderr.seen.join("\n"));
  }
  // 0.0005 s rounds up to 1 ms: a duration, not 0.
  const cat = await run("cat", [
    "--connect-timeout",
    "0.0005",
    "127.0.0.1",
    "9",
  ]);
  assertEquals(cat.code, 1, cat.stderr); // nobody listens on the discard port
});
