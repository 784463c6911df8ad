/**
 * Tests for `tools/cat.ts`, run as `deno run tools/cat.ts …` against
 * python3 peers, the echo tool and itself, on loopback only.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { Lines, ROOT, runTool, TOOL_PERMISSIONS } from "../_spawn.ts";
import { assertCode, Cat, runCat, startEcho } from "./_cat.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { closedPort, pattern, tempDir } from "../tcp/_helpers.ts";
import { Python, unansweredListener } from "../tcp/_python.ts";

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// TCP connect and listen

Deno.test("printf data | cat HOST PORT gets the whole reply from echo, thanks to half-close", async () => {
  await using echo = await startEcho();
  const [, port] = echo.stderr.seen[0]!.match(/:(\d+)$/)!;
  const result = await runCat(["--verbose", "127.0.0.1", port!], "data");
  assertCode(result, 0);
  assertEquals(result.stdout, "data");
  assertMatch(
    result.stderr[0]!,
    new RegExp(
      `^connected to 127\\.0\\.0\\.1:${port} from 127\\.0\\.0\\.1:\\d+$`,
    ),
  );
  assertEquals(
    result.stderr.at(-1),
    `closed 127.0.0.1:${port}: 4 bytes sent, 4 received; stdin ended and the peer closed`,
  );

  // Megabytes of binary data, both ways at once: all of it comes back.
  const payload = pattern(3, 3 * 1024 * 1024 + 17);
  const big = await runCat(["127.0.0.1", port!], payload);
  assertCode(big, 0);
  assertEquals(big.bytes.length, payload.length);
  assertEquals(big.bytes, payload);
  assertEquals((await echo.stop()).code, 0);
});

Deno.test("cat --hex dumps the traffic to stderr, > sent and < received", async () => {
  await using echo = await startEcho();
  const [, port] = echo.stderr.seen[0]!.match(/:(\d+)$/)!;
  const result = await runCat(["--hex", "127.0.0.1", port!], "hi\n\x00");
  assertCode(result, 0);
  assertEquals(result.stdout, "hi\n\x00");
  assertEquals(result.stderr, [
    "> 00000000  68 69 0a 00                                       |hi..|",
    "< 00000000  68 69 0a 00                                       |hi..|",
  ]);
});

Deno.test("cat --listen serves one Python client, then exits 0", async () => {
  const { cat, port } = await Cat.listening(
    ["--listen", "--port", "0", "--verbose"],
    "from cat\n",
  );
  await using _cat = cat;
  assertMatch(cat.stderr.seen[0]!, /^listening on 127\.0\.0\.1:\d+$/);
  await using python = Python.spawn(
    `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"from python\\n")
s.shutdown(socket.SHUT_WR)
got = b""
while chunk := s.recv(4096):
    got += chunk
print(repr(got))
print(s.getsockname()[1])
`,
    [port],
  );
  assertEquals(await python.line(), "b'from cat\\n'");
  const clientPort = await python.line();
  const result = await cat.finish();
  assertCode(result, 0);
  assertEquals(result.stdout, "from python\n");
  assert(result.stderr.includes(`connection from 127.0.0.1:${clientPort}`));
  assertEquals(
    result.stderr.at(-1),
    `closed 127.0.0.1:${clientPort}: 9 bytes sent, 12 received; stdin ended and the peer closed`,
  );
  assertEquals((await python.finish()).code, 0);
});

Deno.test("cat --listen ends on SIGTERM (exit 0) even while it waits for stdin", async () => {
  const { cat, port } = await Cat.listening(
    ["--listen", "--port", "0", "--verbose"],
  ); // stdin stays open: the relay waits for it after the client's FIN
  await using _cat = cat;
  await using python = Python.spawn(
    `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x\\n")
s.shutdown(socket.SHUT_WR)
print("sent")
while s.recv(4096):
    pass
print("eof")
`,
    [port],
  );
  assertEquals(await python.line(), "sent");
  await cat.stderr.waitFor(/^connection from /);
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(result.stdout, "x\n");
  assertMatch(
    result.stderr.at(-1)!,
    /: 0 bytes sent, 2 received; shutting down$/,
  );
  assertEquals(await python.line(), "eof");
});

/**
 * A Python client of `cat -lk` on `port` that streams a 1 KiB line every
 * 2 ms (never quiet long enough for a draining read to give up) and prints
 * `streaming`; when its stdin says `go` (cat was signalled), it streams
 * for `seconds` more, then sends `end`, half-closes, reads to EOF and
 * prints `done N`; or, when cat cuts it off first, prints `cut N SECS`.
 */
function streamingClient(port: number, seconds: number): Python {
  return Python.spawn(
    `
import select, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
line = b"x" * 1023 + b"\\n"
n = 0
go = None
start = time.monotonic()
print("streaming")
try:
    while time.monotonic() < start + 30:
        if go is None and select.select([sys.stdin], [], [], 0)[0]:
            sys.stdin.readline()
            go = time.monotonic()
        if go is not None and time.monotonic() - go >= float(sys.argv[2]):
            break
        s.sendall(line)
        n += 1
        time.sleep(0.002)
    s.sendall(b"end\\n")
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    print("done", n)
except OSError:
    print("cut", n, round(time.monotonic() - (go or start), 3))
`,
    [port, seconds],
  );
}

Deno.test("cat --listen --grace 4: a transfer under way at SIGTERM finishes past the default 1 s, then cat exits 0", async () => {
  const { cat, port } = await Cat.listening(
    ["-lk", "--port", "0", "-v", "--grace", "4"],
  );
  await using _cat = cat;
  await using python = streamingClient(port, 1.5);
  assertEquals(await python.line(), "streaming");
  await cat.stderr.waitFor(/^connection from /);
  const stopped = cat.stop();
  await cat.stderr.waitFor(/^shutting down \(signal SIGTERM\)/);
  await python.send("go");
  assertMatch(await python.line(), /^done \d+$/);
  const result = await stopped;
  assertCode(result, 0);
  assert(result.stdout.endsWith("x\nend\n"), result.stdout.slice(-40));
  assertMatch(result.stderr.at(-1)!, /; the peer closed the connection$/);
});

Deno.test("cat --listen --grace 0: a transfer under way at SIGTERM is cut off at once, exit 0", async () => {
  const { cat, port } = await Cat.listening(
    ["-lk", "--port", "0", "-v", "--grace", "0"],
  );
  await using _cat = cat;
  await using python = streamingClient(port, 5);
  assertEquals(await python.line(), "streaming");
  await cat.stderr.waitFor(/^connection from /);
  const stopped = cat.stop();
  await cat.stderr.waitFor(/^shutting down \(signal SIGTERM\)/);
  await python.send("go");
  // Cut off long before its 5 s were over.
  const [, , after] = (await python.line()).split(" ");
  assert(Number(after) < 3, `cut off after ${after} s`);
  const result = await stopped;
  assertCode(result, 0);
  assert(!result.stdout.includes("end"));
});

Deno.test("cat --listen --keep-open --max-conns 2 serves two clients at once and sends stdin to both", async () => {
  const { cat, port } = await Cat.listening([
    "--listen",
    "--keep-open",
    "--max-conns",
    "2",
    "--port",
    "0",
    "--verbose",
  ]);
  await using _cat = cat;
  await using python = Python.spawn(
    `
def read_exactly(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        assert chunk, got
        got += chunk
    return got
def read_to_eof(s):
    got = b""
    while chunk := s.recv(4096):
        got += chunk
    return got
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port))
b = socket.create_connection(("127.0.0.1", port))
print("connected")
# both are served at once: each gets what cat reads from stdin
print(repr(read_exactly(a, 6)), repr(read_exactly(b, 6)))
b.sendall(b"from b\\n")
a.sendall(b"from a\\n")
print("sent")
a.shutdown(socket.SHUT_WR)
b.shutdown(socket.SHUT_WR)
print(repr(read_to_eof(a)), repr(read_to_eof(b)))
`,
    [port],
  );
  assertEquals(await python.line(), "connected");
  await cat.stderr.waitFor(/^connection from /);
  await cat.stderr.waitFor(/^connection from /);
  await cat.write("hello\n");
  assertEquals(await python.line(), "b'hello\\n' b'hello\\n'");
  assertEquals(await python.line(), "sent");
  await cat.end(); // stdin ends: both clients get FIN
  assertEquals(await python.line(), "b'' b''");
  await cat.stderr.waitFor(
    /^closed 127\.0\.0\.1:\d+: 6 bytes sent, 7 received/,
  );
  await cat.stderr.waitFor(
    /^closed 127\.0\.0\.1:\d+: 6 bytes sent, 7 received/,
  );
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(result.stdout.split("\n").sort(), ["", "from a", "from b"]);
  assertEquals((await python.finish()).code, 0);
});

Deno.test("cat --listen --keep-open serves one client after another", async () => {
  const { cat, port } = await Cat.listening(
    ["--listen", "--keep-open", "--port", "0", "--verbose"],
  );
  await using _cat = cat;
  await using python = Python.spawn(
    `
for name in (b"first", b"second"):
    with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
        s.sendall(name + b"\\n")
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
print("done")
`,
    [port],
  );
  assertEquals(await python.line(), "done");
  await cat.stderr.waitFor(/^closed .*0 bytes sent, 6 received/);
  await cat.stderr.waitFor(/^closed .*0 bytes sent, 7 received/);
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(result.stdout, "first\nsecond\n");
});

Deno.test("cat talks to itself over IPv6 (--listen --host ::1, then cat ::1 PORT)", async () => {
  const { cat: server, port } = await Cat.listening(
    ["--listen", "--host", "::1", "--port", "0"],
    "hello from the listener\n",
  );
  await using _server = server;
  assertMatch(server.stderr.seen[0]!, /^listening on \[::1\]:\d+$/);
  const client = await runCat(
    ["[::1]", String(port)],
    "hello from the client\n",
  );
  assertCode(client, 0);
  assertEquals(client.stdout, "hello from the listener\n");
  const listener = await server.finish();
  assertCode(listener, 0);
  assertEquals(listener.stdout, "hello from the client\n");
});

Deno.test("cat talks to itself over a Unix socket (--listen --unix, then --unix)", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/cat.sock`;
  const { cat: server } = await Cat.listening(
    ["--listen", "--unix", path],
    "over unix\n",
  );
  await using _server = server;
  assertEquals(server.stderr.seen[0], `listening on unix:${path}`);
  const client = await runCat(["--unix", path], "ping\n");
  assertCode(client, 0);
  assertEquals(client.stdout, "over unix\n");
  const listener = await server.finish();
  assertCode(listener, 0);
  assertEquals(listener.stdout, "ping\n");
});

// ---------------------------------------------------------------------------
// Direction and end

/** A Python server for one connection per mode in argv[2:]; see each mode. */
const MODES_SERVER = `
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
for mode in sys.argv[1:]:
    conn, _ = srv.accept()
    if mode == "banner":      # talks first, then reads to EOF
        conn.sendall(b"server says hi\\n")
    if mode == "news":        # talks first, says it is done, reads to EOF
        conn.sendall(b"news\\n")
        conn.shutdown(socket.SHUT_WR)
    got = b""
    while chunk := conn.recv(4096):
        got += chunk
    if mode == "reply":       # answers only after our EOF
        try:
            conn.sendall(b"reply\\n")
        except OSError:
            pass
    if mode == "hold":        # keeps the connection open until told
        sys.stdin.readline()
    print(mode, repr(got))
    conn.close()
`;

Deno.test("cat --send-only never prints, --recv-only never sends", async () => {
  await using python = Python.spawn(MODES_SERVER, ["banner", "news"]);
  const port = String(await python.port());

  const sendOnly = await runCat(["--send-only", "127.0.0.1", port], "upload\n");
  assertCode(sendOnly, 0);
  assertEquals(sendOnly.stdout, "");
  assertEquals(await python.line(), "banner b'upload\\n'");

  const recvOnly = await runCat(["--recv-only", "127.0.0.1", port], "secret\n");
  assertCode(recvOnly, 0);
  assertEquals(recvOnly.stdout, "news\n");
  assertEquals(await python.line(), "news b''");
  assertEquals((await python.finish()).code, 0);
});

Deno.test("cat waits for the reply after stdin ends; --no-half-close does not", async () => {
  await using python = Python.spawn(MODES_SERVER, ["reply", "reply"]);
  const port = String(await python.port());

  const halfClose = await runCat(["127.0.0.1", port], "question\n");
  assertCode(halfClose, 0);
  assertEquals(halfClose.stdout, "reply\n");
  assertEquals(await python.line(), "reply b'question\\n'");

  const noHalfClose = await runCat(
    ["--no-half-close", "--verbose", "127.0.0.1", port],
    "question\n",
  );
  assertCode(noHalfClose, 0);
  assertEquals(noHalfClose.stdout, "");
  assertMatch(noHalfClose.stderr.at(-1)!, /; stdin ended$/);
  assertEquals(await python.line(), "reply b'question\\n'");
  assertEquals((await python.finish()).code, 0);
});

Deno.test("cat --idle-timeout ends a silent connection cleanly (exit 0)", async () => {
  await using python = Python.spawn(MODES_SERVER, ["hold"]);
  const port = String(await python.port());
  const started = performance.now();
  const result = await runCat(
    ["--idle-timeout", "0.3", "--verbose", "127.0.0.1", port],
    "",
  );
  const elapsed = performance.now() - started;
  assertCode(result, 0);
  assertEquals(
    result.stderr.at(-1),
    `closed 127.0.0.1:${port}: 0 bytes sent, 0 received; idle for 0.3 s`,
  );
  assertGreaterOrEqual(elapsed, 300);
  await python.send("go");
  assertEquals(await python.line(), "hold b''");
  assertEquals((await python.finish()).code, 0);
});

Deno.test("cat --connect-timeout: a refused port and a silent one fail with one line, exit 1", async () => {
  const port = closedPort();
  const refused = await runTool("cat", [
    "--connect-timeout",
    "2",
    "127.0.0.1",
    String(port),
  ]);
  assertEquals(refused.code, 1);
  assertEquals(
    refused.stderr,
    `cat: Cannot connect to 127.0.0.1:${port}: connection refused (is a server listening there?)\n`,
  );

  await using python = unansweredListener();
  const silent = String(await python.port());
  const started = performance.now();
  const timedOut = await runTool("cat", [
    "--connect-timeout",
    "0.3",
    "127.0.0.1",
    silent,
  ]);
  assertGreaterOrEqual(performance.now() - started, 300);
  assertEquals(timedOut.code, 1);
  assertEquals(
    timedOut.stderr,
    `cat: Cannot connect to 127.0.0.1:${silent}: no answer within 300 ms\n`,
  );
  assertEquals((await python.finish()).code, 0);
});

Deno.test("cat --connect-timeout limits the connect only: a reply slower than it still arrives", async () => {
  await using python = Python.spawn(`
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
print(srv.getsockname()[1])
c, _ = srv.accept()
time.sleep(0.6)
c.sendall(b"late\\n")
c.close()
`);
  const port = String(await python.port());
  const result = await runCat(["--connect-timeout", "0.3", "127.0.0.1", port]);
  assertCode(result, 0);
  assertEquals(result.stdout, "late\n");
  assertEquals((await python.finish()).code, 0);
});

// ---------------------------------------------------------------------------
// Framed mode

Deno.test("cat --frame u16 talks to a Python peer that speaks struct.pack('!H', len(m)) + m", async () => {
  await using python = Python.spawn(`
def read_exactly(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            return None if not got else got
        got += chunk
    return got
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
frames = []
while (header := read_exactly(conn, 2)) is not None:
    (n,) = struct.unpack("!H", header)
    frames.append(read_exactly(conn, n) if n else b"")
for m in frames:
    conn.sendall(struct.pack("!H", len(m)) + m[::-1])
conn.close()
print(repr(frames))
`);
  const port = String(await python.port());
  const result = await runCat(
    ["--frame", "u16", "--verbose", "127.0.0.1", port],
    "hello\r\n\nworld\nno newline",
  );
  assertCode(result, 0);
  assertEquals(result.stdout, "olleh\n\ndlrow\nenilwen on\n");
  assertEquals(
    await python.line(),
    "[b'hello', b'', b'world', b'no newline']",
  );
  assertEquals(
    result.stderr.at(-1),
    `closed 127.0.0.1:${port}: 4 frames sent (28 bytes), 4 received (28 bytes); stdin ended and the peer closed`,
  );
});

Deno.test("cat --frame lines --frame-out hex prints each line in hex", async () => {
  await using python = Python.spawn(`
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
conn.sendall(b"hi\\n\\x00\\xff\\r\\n\\n")
conn.close()
`);
  const port = String(await python.port());
  const result = await runCat(
    [
      "--frame",
      "lines",
      "--frame-out",
      "hex",
      "--recv-only",
      "127.0.0.1",
      port,
    ],
  );
  assertCode(result, 0);
  assertEquals(result.stdout, "6869\n00ff\n\n");
});

Deno.test("cat reports a bad frame with its byte offset and exits 1 after a clean close", async () => {
  const cases: {
    name: string;
    args: string[];
    wire: string;
    printed: string;
    message: RegExp;
  }[] = [
    // a 16-bit length of 1000 over --max-frame 100, after one good frame
    {
      name: "oversized",
      args: ["--frame", "u16", "--max-frame", "100"],
      wire: "\\x00\\x02ok\\x03\\xe8",
      printed: "ok\n",
      message:
        /^Cannot decode frame as its length 1000 exceeds maxFrameSize 100: at byte offset 4$/,
    },
    // a netstring whose length holds a letter
    {
      name: "malformed",
      args: ["--frame", "netstring"],
      wire: "2:ok,3x",
      printed: "ok\n",
      message: /^Cannot decode frame header: .*: at byte offset 6$/,
    },
    // a 32-bit length of 10 with only 3 bytes before the peer closes
    {
      name: "truncated",
      args: ["--frame", "u32"],
      wire: "\\x00\\x00\\x00\\x01a\\x00\\x00\\x00\\x0a123",
      printed: "a\n",
      message:
        /^Cannot decode frame as the stream ended after 7 of its 14 bytes: at byte offset 5$/,
    },
  ];
  for (const { name, args, wire, printed, message } of cases) {
    await using python = Python.spawn(
      `
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
conn.sendall(b"${wire}")
if sys.argv[1] == "truncated":
    conn.shutdown(socket.SHUT_WR)
try:
    while conn.recv(4096):
        pass
    print("eof")
except ConnectionResetError:
    print("reset")
`,
      [name],
    );
    const port = String(await python.port());
    const result = await runCat([...args, "127.0.0.1", port]);
    assertCode(result, 1);
    assertEquals(result.stdout, printed, name);
    assertEquals(result.stderr.length, 1, result.stderr.join("\n"));
    const prefix = `cat: bad frame from 127.0.0.1:${port}: `;
    assert(result.stderr[0]!.startsWith(prefix), result.stderr[0]);
    assertMatch(result.stderr[0]!.slice(prefix.length), message);
    assertEquals(
      await python.line(),
      "eof",
      `${name}: the connection ends cleanly`,
    );
  }
});

// ---------------------------------------------------------------------------
// UDP

Deno.test("cat --udp sends each line as a datagram and prints only its peer's replies", async () => {
  await using python = Python.spawn(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.bind(("127.0.0.1", 0))
got = []
for _ in range(2):
    data, addr = s.recvfrom(65535)
    got.append(data)
    other.sendto(b"not from the peer", addr)   # cat must ignore this one
    s.sendto(data.upper(), addr)
print(repr(got))
`);
  const port = String(await python.port());
  const result = await runCat(
    ["--udp", "--idle-timeout", "0.5", "--verbose", "127.0.0.1", port],
    "hello\nworld\n",
  );
  assertCode(result, 0);
  assertEquals(result.stdout, "HELLO\nWORLD\n");
  assertEquals(await python.line(), "[b'hello', b'world']");
  assertMatch(
    result.stderr.at(-1)!,
    /^done: 2 datagrams sent \(10 bytes\), 2 received \(10 bytes\), 2 ignored; idle for 0.5 s$/,
  );
  assert(result.stderr.includes(`sent 5 bytes to 127.0.0.1:${port}`));
});

Deno.test("cat --udp --listen prints a datagram and answers its sender from stdin", async () => {
  const { cat, port } = await Cat.listening(
    ["--udp", "--listen", "--port", "0", "--verbose"],
  );
  await using _cat = cat;
  await using python = Python.spawn(
    `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
data, addr = s.recvfrom(65535)
print(repr(data), addr[1] == int(sys.argv[1]))
`,
    [port],
  );
  await cat.stderr.waitFor(/^received 4 bytes from 127\.0\.0\.1:\d+$/);
  await cat.write("pong\n");
  assertEquals(await python.line(), "b'pong' True");
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(result.stdout, "ping\n");
});

Deno.test("cat --udp --broadcast sends to 127.255.255.255 and prints the replies", async () => {
  await using python = Python.spawn(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.255.255.255", 0))
print(s.getsockname()[1])
data, addr = s.recvfrom(65535)
s.sendto(b"ACK", addr)
print(repr(data))
`);
  const port = String(await python.port());
  const result = await runCat(
    ["--udp", "--broadcast", "--idle-timeout", "0.5", "127.255.255.255", port],
    "Hi there!\n",
  );
  assertCode(result, 0);
  assertEquals(result.stdout, "ACK\n");
  assertEquals(await python.line(), "b'Hi there!'");
});

// ---------------------------------------------------------------------------
// Usage

Deno.test("cat --help, --version, and bad usage (exit 2, one line naming the problem)", async () => {
  const help = await runTool("cat", ["--help"]);
  assertEquals(help.code, 0);
  assert(help.stdout.startsWith("Usage: cat [OPTIONS] HOST PORT\n"));
  for (
    const flag of [
      "--listen",
      "--keep-open",
      "--max-conns",
      "--udp",
      "--unix",
      "--broadcast",
      "--no-half-close",
      "--send-only",
      "--recv-only",
      "--connect-timeout",
      "--idle-timeout",
      "--verbose",
      "--hex",
      "--frame lines|nul|u16|u32|varint|netstring",
      "--frame-out text|hex",
      "--max-frame",
      "--workers N|auto",
      "--grace SECONDS",
    ]
  ) {
    assertStringIncludes(help.stdout, flag);
  }
  const version = await runTool("cat", ["--version"]);
  assertEquals([version.code, version.stdout], [
    0,
    `sockit-cat ${denoJson.version}\n`,
  ]);

  const cases: [string[], string][] = [
    [["--bogus"], "unknown flag --bogus"],
    [[], "give HOST and PORT"],
    [["127.0.0.1"], "give HOST and PORT"],
    [["127.0.0.1", "0"], "PORT must be an integer in 1..65535"],
    [["127.0.0.1", "80", "extra"], 'unexpected argument "extra"'],
    [["bad host!", "80"], "HOST must be a host name or IP address"],
    [["--listen"], "--listen needs a port: -l PORT"],
    [["--listen", "h", "9000", "x"], 'unexpected argument "x"'],
    [["--port", "80", "h", "1"], "--port is for --listen"],
    [["--keep-open", "h", "1"], "--keep-open needs --listen"],
    [
      ["--listen", "--port", "0", "--max-conns", "2"],
      "--max-conns needs --keep-open",
    ],
    [["--broadcast", "h", "1"], "--broadcast needs --udp"],
    [["--send-only", "--recv-only", "h", "1"], "exclude each other"],
    [
      ["--udp", "--frame", "u16", "h", "1"],
      "--udp and --frame exclude each other",
    ],
    [["--frame", "xml", "h", "1"], "--frame must be one of lines, nul, u16"],
    [["--frame-out", "hex", "h", "1"], "--frame-out needs --frame or --udp"],
    [
      ["--frame", "u16", "--frame-out", "base64", "h", "1"],
      "--frame-out must be text or hex",
    ],
    [["--max-frame", "10", "h", "1"], "--max-frame needs --frame"],
    [
      ["--idle-timeout", "-1", "h", "1"],
      "--idle-timeout must be a number of seconds > 0",
    ],
    [
      ["--connect-timeout", "x", "h", "1"],
      "--connect-timeout must be a number",
    ],
    [
      ["--listen", "--port", "0", "--connect-timeout", "1"],
      "--listen and --connect-timeout",
    ],
    [["--grace", "1", "h", "1"], "--grace needs --listen"],
    [
      ["--listen", "--port", "0", "--grace", "-1"],
      "--grace must be a number of seconds >= 0",
    ],
    [
      ["-lu", "--port", "0", "--grace", "1"],
      "--udp and --grace exclude each other",
    ],
    [["--unix", "/tmp/x.sock", "h", "1"], "--unix PATH replaces HOST PORT"],
    [
      ["--listen", "--unix", "/tmp/x", "--port", "1"],
      "--unix cannot be combined with --port",
    ],
  ];
  const results = await Promise.all(
    cases.map(([args]) => runTool("cat", args)),
  );
  cases.forEach(([args, expected], i) => {
    const { code, stdout, stderr } = results[i]!;
    const what = JSON.stringify(args);
    assertEquals(code, 2, `${what}: ${stderr}`);
    assertEquals(stdout, "", what);
    assertStringIncludes(stderr, expected, what);
    assertMatch(stderr, /^cat: [^\n]*; try --help\n$/, what);
  });
});

/** Sends 16 KiB chunks to `conn` until it fails (cat has gone). */
async function flood(conn: Deno.Conn): Promise<void> {
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  try {
    for (;;) await conn.write(chunk);
  } catch {
    /* cat has gone: the end of the flood */
  } finally {
    try {
      conn.close();
    } catch { /* closed already */ }
  }
}

Deno.test("cat ends quietly with exit code 0 when its stdout is closed, like nc (cat HOST PORT | head -c 10)", async (t) => {
  // Each row: the mode, cat's arguments (PORT: the flooding server's port),
  // and how the test floods cat with data to print once it listens (or,
  // for connect mode, the server it connects to does).
  type Flood = (port: number, done: Promise<unknown>) => Promise<void>;
  const tcpClient: Flood = async (port) => {
    await flood(await Deno.connect({ hostname: "127.0.0.1", port }));
  };
  const udpClient: Flood = async (port, done) => {
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port: 0,
    });
    let exited = false;
    done.then(() => exited = true);
    const datagram = encoder.encode("0123456789abcdef\n");
    try {
      // Datagrams until cat has exited: UDP never says the peer has gone.
      // The pause only paces them.
      while (!exited) {
        await socket.send(datagram, {
          transport: "udp",
          hostname: "127.0.0.1",
          port,
        });
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      socket.close();
    }
  };
  const rows: Array<[string, string[], Flood | "server"]> = [
    ["connect", ["127.0.0.1", "PORT"], "server"], // the case
    ["listen", ["--listen", "--port", "0"], tcpClient],
    [
      "listen --keep-open",
      ["--listen", "--keep-open", "--port", "0"],
      tcpClient,
    ], // stops serving
    ["udp listen", ["--udp", "--listen", "--port", "0"], udpClient],
  ];
  for (const [mode, args, how] of rows) {
    await t.step(mode, async () => {
      using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const serving = how === "server"
        ? server.accept().then(flood, () => {})
        : Promise.resolve();
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...TOOL_PERMISSIONS,
          "tools/cat.ts",
          ...args.map((arg) => arg === "PORT" ? String(server.addr.port) : arg),
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Lines(child.stderr);
      const status = child.status;
      let flooding: Promise<void> = Promise.resolve();
      if (how !== "server") {
        const [, port] = await stderr.waitFor(/^listening on .*:(\d+)$/);
        flooding = how(Number(port), status);
      }
      // head -c 10: read 10 bytes, then close the pipe.
      const reader = child.stdout.getReader();
      let got = 0;
      while (got < 10) {
        const { value, done } = await reader.read();
        if (done) break;
        got += value.length;
      }
      await reader.cancel();
      // A cat that goes on serving would never exit: killed after 20 s, so
      // that the test fails rather than hangs.
      let killed = false;
      const guard = setTimeout(() => {
        killed = true;
        child.kill("SIGKILL");
      }, 20_000);
      const { code } = await status.finally(() => clearTimeout(guard));
      server.close();
      assert(!killed, `${mode}: cat still ran 20 s after its stdout closed`);
      await Promise.all([serving, flooding, stderr.done]);
      assertGreaterOrEqual(got, 10);
      assertEquals(code, 0, stderr.seen.join("\n"));
      assertEquals(
        stderr.seen.filter((line) => !line.startsWith("listening on ")),
        [],
      );
    });
  }
});
