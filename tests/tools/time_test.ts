import denoJson from "../../deno.json" with { type: "json" };
import type { FrameCodec } from "../../framing/codec.ts";
import { delimited, lines } from "../../framing/delimiter.ts";
import { lengthPrefixed } from "../../framing/length_prefix.ts";
import { type Address, connect } from "../../tcp/mod.ts";
import { ctime } from "../../net/mod.ts";
import { runTool, ToolProcess } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Python's `time.ctime()`: weekday, month, day padded to 2, time, year. */
const CTIME =
  /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d \d{4}$/;

/** A running time server, spawned as `deno run tools/time.ts …`. */
class TimeServer extends ToolProcess {
  address: Address = { port: 0 };

  static async start(args: string[]): Promise<TimeServer> {
    const server = new TimeServer("time", args);
    const [, path, port] = await server.stderr.waitFor(
      /^listening on (?:unix:(.*)|127\.0\.0\.1:(\d+))$/,
    );
    server.address = path !== undefined ? { path } : { port: Number(port) };
    return server;
  }
}

/** Runs the time tool to completion. */
function run(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runTool("time", args);
}

/** The ctime texts for every second from `from` to now. */
function ctimesSince(from: number): Set<string> {
  const texts = new Set<string>();
  for (let s = Math.floor(from / 1000); s <= Date.now() / 1000; s++) {
    texts.add(ctime(new Date(s * 1000)));
  }
  return texts;
}

/** Splits `[ctime] data` and checks the stamp is a time since `from`. */
function parseStamp(reply: Uint8Array, from: number): Uint8Array {
  const head = decoder.decode(reply.subarray(0, 27));
  const match = /^\[(.{24})\] $/.exec(head);
  assert(match !== null, `not a stamped reply: ${JSON.stringify(head)}`);
  assertMatch(match[1]!, CTIME);
  assert(
    ctimesSince(from).has(match[1]!),
    `${match[1]} is not a time since the request`,
  );
  return reply.subarray(27);
}

const FRAMED: [frame: string, codec: () => FrameCodec][] = [
  ["lines", () => lines()], // newline-terminated
  ["nul", () => delimited("\0")], // NUL-terminated
  ["u32", () => lengthPrefixed({ header: "u32be" })], // length-prefixed
];

for (const [frame, codec] of FRAMED) {
  Deno.test(`time --frame ${frame} answers each message with [ctime] message`, async () => {
    await using server = await TimeServer.start([
      "--port",
      "0",
      "--frame",
      frame,
    ]);
    {
      await using conn = await connect(server.address);
      const framed = conn.framed(codec());
      const messages = frame === "u32"
        ? [
          encoder.encode("hello"),
          new Uint8Array([0, 10, 255]),
          new Uint8Array(),
        ]
        : [encoder.encode("hello"), encoder.encode("wörld"), new Uint8Array()];
      const from = Date.now();
      await framed.sendAll(messages); // one write: the server splits it
      for (const message of messages) {
        const reply = await framed.receive();
        assert(reply !== null, "the server closed early");
        assertEquals(parseStamp(reply, from), message);
      }
    }
    assertEquals((await server.stop()).code, 0);
    assertEquals(server.stderr.seen.at(-1), "shut down");
  });
}

Deno.test("time answers lines by default, \\r\\n lines too", async () => {
  await using server = await TimeServer.start(["--port", "0"]);
  {
    await using conn = await connect(server.address);
    const from = Date.now();
    await conn.write("one\r\ntwo\n");
    for (const want of ["one", "two"]) {
      const line = await conn.readUntil("\n");
      const data = parseStamp(line, from);
      assertEquals(decoder.decode(data), `${want}\n`);
    }
  }
  assertEquals((await server.stop()).code, 0);
});

Deno.test("time --frame raw stamps each chunk as it arrives, as the Twisted example does", async () => {
  await using server = await TimeServer.start([
    "--port",
    "0",
    "--frame",
    "raw",
  ]);
  {
    await using conn = await connect(server.address);
    const from = Date.now();
    await conn.write("no newline");
    const reply = await conn.readExactly(27 + 10);
    assertEquals(decoder.decode(parseStamp(reply, from)), "no newline");
  }
  assertEquals((await server.stop()).code, 0);
});

Deno.test("time --frame u32 --unix serves stamped frames on a Unix socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockit_time_" });
  const path = `${dir}/time.sock`;
  try {
    await using server = await TimeServer.start([
      "--unix",
      path,
      "--frame",
      "u32",
      "--quiet",
    ]);
    assertEquals(server.address, { path });
    {
      await using conn = await connect({ path });
      const framed = conn.framed(lengthPrefixed({ header: "u32be" }));
      const from = Date.now();
      await framed.send("ping");
      const reply = await framed.receive();
      assert(reply !== null);
      assertEquals(decoder.decode(parseStamp(reply, from)), "ping");
    }
    assertEquals((await server.stop()).code, 0);
    assertEquals(
      server.stderr.seen.filter((l) => l.startsWith("connection")),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("time --help and --version print on stdout and exit 0", async () => {
  const help = await run(["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /^Usage: time /);
  for (
    const name of ["--frame", "raw|lines|nul|u32", "--idle-timeout", "--grace"]
  ) {
    assertStringIncludes(help.stdout, name);
  }
  const version = await run(["--version"]);
  assertEquals(version.code, 0);
  assertEquals(version.stdout, `sockit-time ${denoJson.version}\n`);
});

Deno.test("time rejects bad flags with one line naming the flag, exit 2", async () => {
  const cases: [args: string[], name: string][] = [
    [["--frame", "xml"], "--frame"], // unknown framing
    [["--frame"], "--frame"], // missing value
    [["--suffix", "x"], "--suffix"], // echo's flag, not time's
    [["--port", "-1"], "--port"], // negative port
  ];
  for (const [args, name] of cases) {
    const { code, stdout, stderr } = await run(args);
    const where = `time ${args.join(" ")}: ${stderr}`;
    assertEquals(code, 2, where);
    assertEquals(stdout, "", where);
    assertStringIncludes(stderr, name, where);
    assertMatch(stderr, /^time: [^\n]*; try --help\n$/, where);
  }
});
