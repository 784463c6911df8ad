// tools/_progress.ts: the live line on a terminal and the summary line
// elsewhere, alone and through `relay -v` with stderr as a pseudo-terminal
// (Python's pty module) and as a pipe.
import { formatBytes, formatElapsed, Progress } from "../../tools/_progress.ts";
import { connect } from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { peerTest } from "../_peers.ts";
import { ROOT, TOOL_PERMISSIONS, ToolProcess } from "../_spawn.ts";
import { deferred, readAll, within } from "../tcp/_helpers.ts";
import { Python } from "../tcp/_python.ts";
import { ptyScript } from "./_pty.ts";
import { assertCode, Cat } from "./_cat.ts";

const CLEAR = "\r\x1b[K";

/** `text` with ESC shown as "ESC" (regular expressions hold no control characters). */
function shown(text: string): string {
  return text.replaceAll("\x1b", "ESC");
}

Deno.test("formatBytes() and formatElapsed() read as pv's figures", () => {
  for (
    const [n, text] of [
      [0, "0 B"], // nothing
      [1023, "1023 B"], // just under a KiB
      [1024, "1.00 KiB"], // the first unit
      [1536, "1.50 KiB"], // two decimals under 10
      [20 * 1024 * 1024 + 512 * 1024, "20.5 MiB"], // one decimal under 100
      [300 * 1024 ** 3, "300 GiB"], // none from 100 on
    ] as const
  ) {
    assertEquals(formatBytes(n), text);
  }
  for (
    const [ms, text] of [
      [0, "0.0 s"], // the start
      [4250, "4.2 s"], // tenths under a minute
      [750_000, "12:30"], // minutes and seconds
      [3_723_000, "1:02:03"], // hours
    ] as const
  ) {
    assertEquals(formatElapsed(ms), text);
  }
});

Deno.test("Progress prints one summary line at the end when not live", () => {
  const out: string[] = [];
  const progress = new Progress({
    live: false,
    prefix: "cat",
    write: (text) => void out.push(text),
  });
  progress.onTraffic("sent", new Uint8Array(2048));
  progress.onTraffic("received", new Uint8Array(100));
  progress.add(1, 28);
  progress.log("a log line");
  assertEquals(out, ["a log line\n"]);
  assertEquals(progress.counts, [2048, 128]);
  progress.end();
  progress.end(); // once only
  assertEquals(out.length, 2);
  assertMatch(
    out[1]!,
    /^cat: 2\.00 KiB sent, 128 B received in \d+\.\d s \([\d.]+ (B|KiB|MiB)\/s\)\n$/,
  );
});

Deno.test("Progress keeps a live line, redrawn, with log lines above it", async () => {
  const out: string[] = [];
  const drawn = deferred();
  const progress = new Progress({
    live: true,
    interval: 10,
    labels: ["up", "down"],
    detail: () => "2 open",
    write: (text) => {
      out.push(text);
      if (text.startsWith(CLEAR)) drawn.resolve();
    },
  });
  try {
    progress.add(0, 5000);
    await within(drawn.promise, 5000, "the first drawing");
    assertMatch(
      shown(out[0]!),
      /^\rESC\[K4\.88 KiB up, 0 B down, \d+\.\d s \(.*\/s\), 2 open$/,
    );
    progress.log("client went away");
    const logged = out.at(-1)!;
    // Cleared, the line, then the live line drawn again below it.
    assert(logged.startsWith(`${CLEAR}client went away\n4.88 KiB up`), logged);
  } finally {
    progress.end();
  }
  assertMatch(
    shown(out.at(-1)!),
    /^\rESC\[K4\.88 KiB up, 0 B down in .*, 2 open\n$/,
  );
  const count = out.length;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assertEquals(out.length, count); // no drawing after end()
});

/** A Python echo backend that runs until its stdin closes. */
const ECHO = `
srv = socket.create_server(('127.0.0.1', 0))
print(srv.getsockname()[1])
def serve():
    while True:
        conn, _ = srv.accept()
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
        conn.close()
threading.Thread(target=serve, daemon=True).start()
sys.stdin.read()
`;

peerTest(
  "relay -v with stderr a pseudo-terminal draws a live line of the totals",
  ["python3"],
  async () => {
    await using backend = Python.spawn(ECHO);
    const target = await backend.port();
    // Runs the relay with stderr on a pty; relays one 10,000-byte echo; waits
    // for a live line showing it; then SIGTERM; prints what the pty showed.
    await using driver = Python.spawn(
      ptyScript(
        `
import signal
relay = child
assert read_until(b'relaying to', 20), seen
line = seen.split(b'listening on ', 1)[1]
assert read_until(b'\x1b[Krelay: total:', 10), seen  # the live line is up
port = int(line.split(b',', 1)[0].rsplit(b':', 1)[1])
with socket.create_connection(('127.0.0.1', port)) as c:
    c.sendall(b'x' * 10000)
    c.shutdown(socket.SHUT_WR)
    got = b''
    while len(got) < 10000:
        data = c.recv(65536)
        if not data:
            break
        got += data
    assert len(got) == 10000, len(got)
assert read_until(b'9.77 KiB up, 9.77 KiB down', 10), seen
relay.send_signal(signal.SIGTERM)
read_until(b'shut down', 10)
code = relay.wait(10)
print(json.dumps({'code': code, 'seen': seen.decode()}))
`,
        "null",
      ),
      [
        ROOT.pathname,
        Deno.execPath(),
        "run",
        ...TOOL_PERMISSIONS,
        "tools/relay.ts",
        "tcp:0",
        `tcp:127.0.0.1:${target}`,
        "-v",
      ],
    );
    const result = JSON.parse(await driver.line()) as {
      code: number;
      seen: string;
    };
    await driver.success();
    await backend.success();
    assertEquals(result.code, 0);
    const seen = shown(result.seen);
    // The live line: drawn in place (after a clear, or below a log line),
    // never ended by a newline.
    assertMatch(
      seen,
      /(\rESC\[K|\n)relay: total: 9\.77 KiB up, 9\.77 KiB down, \d+\.\d s \([^)]*\/s\), [01] open, 1 in all/,
    );
    // The connection's own line, printed above the live line.
    assertMatch(
      seen,
      /\rESC\[K127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: 10000 bytes up, 10000 down, [\d.]+ s, both sides closed\r?\n/,
    );
    // At the end the live line gives way to the summary.
    assertMatch(seen, /\rESC\[Krelay: total: 9\.77 KiB up, 9\.77 KiB down in /);
  },
);

peerTest(
  "relay -v with stderr a pipe prints no live line, one summary at the end",
  ["python3"],
  async () => {
    await using backend = Python.spawn(ECHO);
    const target = await backend.port();
    await using relay = new ToolProcess("relay", [
      "tcp:0",
      `tcp:127.0.0.1:${target}`,
      "-v",
    ]);
    const match = await relay.stderr.waitFor(/^listening on \S+:(\d+),/);
    {
      await using conn = await connect({ port: Number(match[1]) });
      await conn.write(new Uint8Array(3000));
      await conn.shutdown("write");
      assertEquals((await readAll(conn)).length, 3000);
    }
    await relay.stderr.waitFor(/ -> /);
    assertEquals((await relay.stop()).code, 0);
    const text = relay.stderr.seen.join("\n");
    assert(!text.includes("\x1b"), text);
    assert(!text.includes("\r"), text);
    const summaries = relay.stderr.seen.filter((line) =>
      line.startsWith("relay: total:")
    );
    assertEquals(summaries.length, 1, text);
    assertMatch(
      summaries[0]!,
      /^relay: total: 2\.93 KiB up, 2\.93 KiB down in \d+\.\d s \([^)]*\/s\), 0 open, 1 in all$/,
    );
    assertStringIncludes(text, "shut down");
    await backend.success();
  },
);

/** Reads exactly `size` bytes from `conn`. */
async function readBytes(conn: Deno.Conn, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let at = 0; at < size;) {
    const n = await conn.read(out.subarray(at));
    if (n === null) throw new Error(`EOF after ${at} of ${size} bytes`);
    at += n;
  }
  return out;
}

Deno.test("cat --broker --progress with stderr a pipe: the summary counts the bytes from clients as received, each copy to a client as sent", async () => {
  const { cat, port } = await Cat.listening([
    "-lv",
    "--broker",
    "--progress",
    "0",
  ]);
  await using _cat = cat;
  const clients: Deno.TcpConn[] = [];
  try {
    for (let i = 1; i <= 3; i++) {
      clients.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      await cat.stderr.waitFor(new RegExp(` as user${i}$`));
    }
    const [a, b, c] = clients as [Deno.TcpConn, Deno.TcpConn, Deno.TcpConn];
    // 500 bytes from a reach b and c; 100 from b reach a and c.
    await a.write(new Uint8Array(500).fill(1));
    await Promise.all([readBytes(b, 500), readBytes(c, 500)]);
    await b.write(new Uint8Array(100).fill(2));
    await Promise.all([readBytes(a, 100), readBytes(c, 100)]);
  } finally {
    for (const conn of clients) conn.close();
  }
  for (let i = 0; i < 3; i++) await cat.stderr.waitFor(/^closed /);
  const result = await cat.stop();
  assertCode(result, 0);
  const text = result.stderr.join("\n");
  assert(!text.includes("\x1b"), text);
  // The members' own lines add up to the summary's figures.
  let into = 0;
  let out = 0;
  for (const line of result.stderr) {
    const m = /^closed .*: (\d+) bytes in, (\d+) out;/.exec(line);
    if (m !== null) {
      into += Number(m[1]);
      out += Number(m[2]);
    }
  }
  assertEquals([into, out], [600, 1200], text);
  const summaries = result.stderr.filter((line) => line.startsWith("cat: "));
  assertEquals(summaries.length, 1, text);
  assertMatch(
    summaries[0]!,
    /^cat: 1\.17 KiB sent, 600 B received in \d+\.\d s \([^)]*\/s\)$/,
  );
});
