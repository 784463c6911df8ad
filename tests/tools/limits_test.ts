/**
 * The server tools' memory limits (issue 19 item 5): `--max-frame` (time:
 * 64 KiB by default; rexec: its request line, 8 KiB) closes or refuses a
 * client whose message runs past it, while others are served; `--max-conns`
 * defaults to 1,024 for echo, time and rexec, and every `--help` says so.
 * The memory these bound is measured in
 * `tests/reliability/hostile_framing_test.ts`.
 *
 * @module
 */
import { CommandAllowList } from "../../rexec/mod.ts";
import { connect, type Connection } from "../../tcp/mod.ts";
import { TimeoutError } from "../../net/mod.ts";
import { ROOT, runTool, ToolProcess } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { Lines } from "../_spawn.ts";

const decoder = new TextDecoder();

/** A server tool, spawned, with the port from its `listening on` line. */
class Server extends ToolProcess {
  port = 0;

  static async start(tool: string, args: string[]): Promise<Server> {
    const server = new Server(tool, ["--port", "0", ...args]);
    const [, port] = await server.stderr.waitFor(
      /^listening on 127\.0\.0\.1:(\d+)$/,
    );
    server.port = Number(port);
    return server;
  }
}

/**
 * Sends `line` (if not empty) and reads the next stamped reply's text
 * after `[ctime] `.
 */
async function stamped(conn: Connection, line: string): Promise<string> {
  if (line !== "") await conn.write(line);
  const reply = await conn.readUntil("\n", { maxBytes: 1 << 20 });
  return decoder.decode(reply).slice(27);
}

/** The server closes `conn` without an answer: EOF, or a reset. */
async function closedByServer(conn: Connection): Promise<void> {
  conn.setTimeout(10_000); // a bound, should it stay open after all
  const end = await conn.read().catch((error) => error);
  assert(
    end === null || (end instanceof Error && !(end instanceof TimeoutError)),
    `not closed: ${String(end)}`,
  );
}

Deno.test("time closes a client whose line runs past the default --max-frame (64 KiB), logs it, and serves the others", async () => {
  await using server = await Server.start("time", []);
  await using other = await connect({ port: server.port });
  assertEquals(await stamped(other, "before\n"), "before\n");
  {
    await using long = await connect({ port: server.port });
    // 64 KiB is served; without a newline, past 64 KiB and the one byte
    // that may be a line end's \r, a line is too long.
    assertEquals(
      (await stamped(long, "x".repeat(65_536) + "\n")).length,
      65_537,
    );
    await long.write("y".repeat(65_538));
    await closedByServer(long);
  }
  await server.stderr.waitFor(
    /^time: error with 127\.0\.0\.1:\d+: Cannot decode frame as it runs past maxFrameSize 65536/,
  );
  assertEquals(await stamped(other, "after\n"), "after\n");
  assertEquals((await server.stop()).code, 0);
});

Deno.test("time --max-frame sets the longest message for lines and u32 frames", async () => {
  await using server = await Server.start("time", ["--max-frame", "10"]);
  {
    await using conn = await connect({ port: server.port });
    assertEquals(await stamped(conn, "0123456789\n"), "0123456789\n");
    await conn.write("0123456789a\n");
    await closedByServer(conn);
  }
  await server.stderr.waitFor(/maxFrameSize 10\b/);
  assertEquals((await server.stop()).code, 0);

  await using u32 = await Server.start("time", [
    "--frame",
    "u32",
    "--max-frame",
    "10",
  ]);
  await using conn = await connect({ port: u32.port });
  // A header announcing 11 bytes is refused before the bytes arrive.
  await conn.write(new Uint8Array([0, 0, 0, 11]));
  await closedByServer(conn);
  await u32.stderr.waitFor(/maxFrameSize 10\b/);
  assertEquals((await u32.stop()).code, 0);
});

Deno.test("time --max-frame is refused with --frame raw and when not an integer >= 1, exit 2", async () => {
  const cases: [args: string[], text: string][] = [
    [["--frame", "raw", "--max-frame", "100"], "--frame raw"], // chunks, not messages
    [["--max-frame", "0"], "--max-frame"], // zero
    [["--max-frame", "64k"], "--max-frame"], // not a number
  ];
  for (const [args, text] of cases) {
    const { code, stdout, stderr } = await runTool("time", args);
    const where = `time ${args.join(" ")}: ${stderr}`;
    assertEquals(code, 2, where);
    assertEquals(stdout, "", where);
    assertStringIncludes(stderr, text, where);
    assertMatch(stderr, /^time: [^\n]*; try --help\n$/, where);
  }
});

Deno.test("echo serves 1,024 clients at once by default and closes the next one at once", async () => {
  await using server = await Server.start("echo", ["--quiet"]);
  const clients: Connection[] = [];
  try {
    for (let i = 0; i < 1024; i++) {
      clients.push(await connect({ port: server.port }));
    }
    // Each is served: the last one proves all 1,024 were accepted.
    for (const client of [clients[0]!, clients[1023]!]) {
      await client.write("ok");
      assertEquals(decoder.decode(await client.readExactly(2)), "ok");
    }
    {
      await using extra = await connect({ port: server.port });
      await closedByServer(extra);
    }
    await clients[1]!.write("still");
    assertEquals(decoder.decode(await clients[1]!.readExactly(5)), "still");
  } finally {
    for (const client of clients) client.close();
  }
  assertEquals((await server.stop()).code, 0);
});

Deno.test("--help of echo, time and rexec states the --max-conns and --max-frame defaults", async () => {
  const cases: [tool: string, texts: string[]][] = [
    ["echo", ["--max-conns N", "(default 1024)"]],
    ["time", [
      "--max-conns N",
      "(default 1024)",
      "--max-frame BYTES",
      "(default 65536)",
    ]],
    ["rexec", [
      "--max-conns N",
      "(default 1024)",
      "--max-frame BYTES",
      "(default 8192)",
    ]],
  ];
  for (const [tool, texts] of cases) {
    const { code, stdout } = await runTool(tool, ["--help"]);
    assertEquals(code, 0, tool);
    for (const text of texts) assertStringIncludes(stdout, text, tool);
  }
});

Deno.test("rexec --max-frame refuses a longer request line with LineTooLong; less than 16 is refused, exit 2", async () => {
  const allow = await CommandAllowList.resolve(["echo"]);
  const permissions = [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env=PATH",
    allow.runFlag,
  ];
  const bad = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      "tools/rexec.ts",
      "--allow",
      "echo",
      "--port",
      "0",
      "--max-frame",
      "15",
    ],
    cwd: ROOT,
    stdin: "null",
  }).output();
  assertEquals(bad.code, 2);
  assertEquals(
    decoder.decode(bad.stderr),
    'rexec: --max-frame must be an integer >= 16, not "15"; try --help\n',
  );

  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      "tools/rexec.ts",
      "--allow",
      "echo",
      "--port",
      "0",
      "--max-frame",
      "64",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Lines(child.stderr);
  try {
    const [, port] = await stderr.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/);
    const client = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "tools/rexec.ts",
          "--connect",
          `127.0.0.1:${port}`,
          ...args,
        ],
        cwd: ROOT,
        stdin: "null",
      }).output();
    const short = await client(["echo", "x".repeat(50)]); // 55 bytes
    assertEquals(decoder.decode(short.stdout), "x".repeat(50) + "\n");
    const long = await client(["echo", "x".repeat(60)]); // 65 bytes
    assertEquals(long.code, 1);
    assertStringIncludes(decoder.decode(long.stderr), "LineTooLong");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await stderr.done;
  }
});

Deno.test("time answers messages sent together in order, large and small, a bounded write at a time", async () => {
  await using server = await Server.start("time", ["--quiet"]);
  await using conn = await connect({ port: server.port });
  const messages = Array.from(
    { length: 300 },
    (_, i) => i % 50 === 7 ? "L".repeat(60_000) + i : `m${i}`,
  );
  await conn.write(messages.map((m) => m + "\n").join(""));
  for (const message of messages) {
    assertEquals(await stamped(conn, ""), message + "\n");
  }
  assertEquals((await server.stop()).code, 0);
});
