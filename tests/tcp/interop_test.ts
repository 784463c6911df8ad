/**
 * `tcp/` against python3 as the peer: echo both ways, half-close both ways,
 * `setTimeout` next to Python's `settimeout`, a peer that sends one byte at a
 * time, addresses as `getsockname()`/`getpeername()` see them, and framed
 * messages (`\n` lines, `struct.pack("!H", n)` length prefixes).
 *
 * @module
 */
import {
  FrameTooLargeError,
  lengthPrefixed,
  lines,
} from "../../framing/mod.ts";
import {
  connect,
  type Connection,
  IncompleteReadError,
  listen,
  TimeoutError,
} from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
} from "../_utils.ts";
import { deferred, echo, pattern, readAll, text } from "./_helpers.ts";
import { Python } from "./_python.ts";

/**
 * A Python server for one client, driven from the test: each stdin line is a
 * JSON command, acknowledged with the line `ok` once done.
 *
 * - `{"send": s}`: `sendall(s)` (latin-1, so any byte fits in a string)
 * - `{"bytewise": s}`: one `send` per byte, with TCP_NODELAY
 * - `{"shutdown": true}`: `shutdown(SHUT_WR)`
 * - `{"close": true}`: close the connection
 *
 * It first prints its port, then, once a client connects, the client's
 * address (`getpeername()`) and its own (`getsockname()`) as `host port`.
 */
const DRIVEN_SERVER = `
import json
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1])
c, peer = srv.accept()
srv.close()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print(*c.getpeername())
print(*c.getsockname())
for line in sys.stdin:
    cmd = json.loads(line)
    if "send" in cmd:
        c.sendall(cmd["send"].encode("latin-1"))
    elif "bytewise" in cmd:
        for b in cmd["bytewise"].encode("latin-1"):
            c.send(bytes([b]))
            time.sleep(0.0005)  # let each byte leave as its own segment
    elif "shutdown" in cmd:
        c.shutdown(socket.SHUT_WR)
    elif "close" in cmd:
        c.close()
    print("ok")
`;

/** A {@linkcode DRIVEN_SERVER} and our connection to it. */
interface Driven extends AsyncDisposable {
  python: Python;
  conn: Connection;
  /** Runs one command and waits for Python's `ok`. */
  run(command: Record<string, string | boolean>): Promise<void>;
}

async function drivenServer(): Promise<Driven> {
  const python = Python.spawn(DRIVEN_SERVER);
  try {
    const conn = await connect({ port: await python.port() });
    return {
      python,
      conn,
      async run(command) {
        await python.send(JSON.stringify(command));
        assertEquals(await python.line(), "ok");
      },
      async [Symbol.asyncDispose]() {
        conn.close();
        await python.success();
      },
    };
  } catch (error) {
    await python[Symbol.asyncDispose]();
    throw error;
  }
}

/** Skips the address lines a {@linkcode DRIVEN_SERVER} prints first. */
async function skipAddresses(peer: Driven): Promise<void> {
  await peer.python.line();
  await peer.python.line();
}

// ---------------------------------------------------------------------------
// Echo

Deno.test("a Python client gets its bytes back from our listen() echo server", async (t) => {
  await using server = listen({ port: 0 }, echo);
  // Python sends from a thread while its main thread recv()s, so a payload
  // bigger than the socket buffers cannot deadlock.
  const script = `
port, size = int(sys.argv[1]), int(sys.argv[2])
data = os.urandom(size)
s = socket.create_connection(("127.0.0.1", port))
sender = threading.Thread(target=s.sendall, args=(data,))
sender.start()
got = bytearray()
while len(got) < size:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
sender.join()
s.close()
print("ok" if bytes(got) == data else f"mismatch: {len(got)} of {size} bytes")
`;
  const sizes = [
    1, // a single byte
    65_536, // the size of one big read
    1_000_000, // many reads and partial writes
  ];
  for (const size of sizes) {
    await t.step(`${size} bytes`, async () => {
      await using python = Python.spawn(script, [server.addr.port, size]);
      assertEquals(await python.line(), "ok");
      assertEquals(await python.success(), []);
    });
  }
  assertEquals(server.acceptedConnections, sizes.length);
});

Deno.test("our connect() client gets its bytes back from a Python echo server", async () => {
  await using python = Python.spawn(`
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1])
c, _ = srv.accept()
n = 0
while True:
    data = c.recv(65536)
    if not data:
        break
    c.sendall(data)
    n += len(data)
c.close()
print(n)
`);
  await using conn = await connect({ port: await python.port() });
  const payload = pattern(7, 500_000);
  const [, echoed] = await Promise.all([
    conn.write(payload),
    conn.readExactly(payload.length),
  ]);
  assertEquals(echoed, payload);
  await conn.shutdown("write");
  assertEquals(await conn.read(), null);
  assertEquals(await python.success(), [String(payload.length)]);
});

// ---------------------------------------------------------------------------
// Half-close

Deno.test('shutdown("write") lets a Python server read to EOF and still answer', async () => {
  await using python = Python.spawn(`
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1])
c, _ = srv.accept()
request = bytearray()
while True:
    data = c.recv(4096)
    if not data:
        break
    request += data
c.sendall(b"got %d bytes: " % len(request) + bytes(request).upper())
c.close()
`);
  await using conn = await connect({ port: await python.port() });
  await conn.write("hello, ");
  await conn.write("half-closed world");
  await conn.shutdown("write");
  assertEquals(
    text(await readAll(conn)),
    "got 24 bytes: HELLO, HALF-CLOSED WORLD",
  );
  await python.success();
});

Deno.test("a Python client's shutdown(SHUT_WR) reads as EOF and it still gets the answer", async () => {
  const seen = deferred<string>();
  await using server = listen({ port: 0 }, async (conn) => {
    const request = text(await readAll(conn))!; // read() → null at the FIN
    seen.resolve(request);
    await conn.write(`answer to ${request}`);
  });
  await using python = Python.spawn(
    `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"the question")
s.shutdown(socket.SHUT_WR)
answer = bytearray()
while True:
    data = s.recv(4096)
    if not data:
        break
    answer += data
s.close()
print(answer.decode())
`,
    [server.addr.port],
  );
  assertEquals(await python.line(), "answer to the question");
  assertEquals(await seen.promise, "the question");
  await python.success();
});

// ---------------------------------------------------------------------------
// Timeouts

Deno.test("setTimeout() makes a read on a silent Python peer reject with TimeoutError, and the connection stays usable", async () => {
  await using peer = await drivenServer();
  await skipAddresses(peer);
  const { conn } = peer;
  conn.setTimeout(100);
  assertEquals(conn.timeout, 100);
  const error = await assertRejects(() => conn.read(), TimeoutError);
  assertEquals([error.name, error.timeout], ["TimeoutError", 100]);
  assertEquals(conn.closed, false);
  await peer.run({ send: "late data" });
  assertEquals(text(await conn.readExactly(9)), "late data");
});

Deno.test("setTimeout(null) after a timeout waits again, and the pending read gets the data", async () => {
  await using peer = await drivenServer();
  await skipAddresses(peer);
  const { conn } = peer;
  conn.setTimeout(50);
  await assertRejects(() => conn.read(), TimeoutError);
  conn.setTimeout(null);
  assertEquals(conn.timeout, null);
  // The read is waiting when the data comes: it must get it, not hang.
  const pending = conn.readExactly(5);
  await peer.run({ send: "after" });
  assertEquals(text(await pending), "after");
});

Deno.test("a timed-out readExactly() or readUntil() loses none of the bytes it had", async (t) => {
  await using peer = await drivenServer();
  await skipAddresses(peer);
  const { conn } = peer;
  await t.step("readExactly", async () => {
    await peer.run({ send: "abc" });
    conn.setTimeout(150);
    await assertRejects(() => conn.readExactly(5), TimeoutError);
    await peer.run({ send: "de" });
    assertEquals(text(await conn.readExactly(5)), "abcde");
  });
  await t.step("readUntil", async () => {
    await peer.run({ send: "key=va" });
    await assertRejects(() => conn.readUntil("\n"), TimeoutError);
    await peer.run({ send: "lue\nrest" });
    assertEquals(text(await conn.readUntil("\n")), "key=value\n");
    assertEquals(text(await conn.readExactly(4)), "rest");
  });
});

Deno.test("a Python client with settimeout(0.2) gets socket.timeout from our silent server", async () => {
  const ended = deferred<Uint8Array | null>();
  await using server = listen({ port: 0 }, async (conn) => {
    ended.resolve(await conn.read()); // silent: only waits for the client
  });
  await using python = Python.spawn(
    `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
try:
    data = s.recv(1)
    print("no timeout:", data)
except socket.timeout as error:
    print("socket.timeout:", error)
s.close()
`,
    [server.addr.port],
  );
  assertEquals(await python.line(), "socket.timeout: timed out");
  assertEquals(await ended.promise, null);
  await python.success();
});

// ---------------------------------------------------------------------------
// Reads over a peer that sends one byte at a time

Deno.test("readExactly() and readUntil() reassemble bytes a Python peer sends one at a time", async () => {
  await using peer = await drivenServer();
  await skipAddresses(peer);
  const { conn } = peer;
  const message = "HEAD" + "line one\n" + "line two\r\n" +
    "multi-byte<END>" + "0123456789" + "xyz";
  const sending = peer.run({ bytewise: message });
  assertEquals(text(await conn.readExactly(4)), "HEAD");
  assertEquals(text(await conn.readUntil("\n")), "line one\n");
  assertEquals(text(await conn.readUntil("\r\n")), "line two\r\n");
  assertEquals(text(await conn.readUntil("<END>")), "multi-byte<END>");
  assertEquals(text(await conn.readExactly(10)), "0123456789");
  await sending;
  await peer.run({ close: true });
  const error = await assertRejects(
    () => conn.readExactly(10),
    IncompleteReadError,
  );
  assertEquals([error.expected, text(error.partial)], [10, "xyz"]);
  assertEquals(await conn.read(), null);
  assert(
    conn.bytesReceived === message.length,
    `bytesReceived ${conn.bytesReceived}`,
  );
});

// ---------------------------------------------------------------------------
// Addresses

Deno.test("localAddr and remoteAddr match what a Python server's getpeername() and getsockname() say", async () => {
  await using peer = await drivenServer();
  const [peerHost, peerPort] = (await peer.python.line()).split(" ");
  const [ownHost, ownPort] = (await peer.python.line()).split(" ");
  assertEquals(peer.conn.localAddr, {
    transport: "tcp",
    hostname: peerHost!,
    port: Number(peerPort),
  });
  assertEquals(peer.conn.remoteAddr, {
    transport: "tcp",
    hostname: ownHost!,
    port: Number(ownPort),
  });
});

Deno.test("a handler's localAddr and remoteAddr match a Python client's getpeername() and getsockname()", async () => {
  const addrs = deferred<[unknown, unknown]>();
  await using server = listen({ port: 0 }, async (conn) => {
    addrs.resolve([conn.localAddr, conn.remoteAddr]);
    await conn.write("x");
  });
  await using python = Python.spawn(
    `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(1)
print(*s.getpeername())
print(*s.getsockname())
s.close()
`,
    [server.addr.port],
  );
  const [peerHost, peerPort] = (await python.line()).split(" ");
  const [ownHost, ownPort] = (await python.line()).split(" ");
  const [local, remote] = await addrs.promise;
  assertEquals(local, {
    transport: "tcp",
    hostname: peerHost!,
    port: Number(peerPort),
  });
  assertEquals(remote, {
    transport: "tcp",
    hostname: ownHost!,
    port: Number(ownPort),
  });
  assertEquals(local, server.addr);
  await python.success();
});

// ---------------------------------------------------------------------------
// Framed messages

Deno.test("framed(lines()) talks to a Python peer that reads and writes \\n lines", async () => {
  await using python = Python.spawn(`
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1])
c, _ = srv.accept()
f = c.makefile("rb")
for i, line in enumerate(f):
    ending = b"\\r\\n" if i % 2 else b"\\n"
    c.sendall(line.rstrip(b"\\r\\n").upper() + ending)
f.close()
c.close()
`);
  await using conn = await connect({ port: await python.port() });
  const framed = conn.framed(lines());
  await framed.send("hello");
  assertEquals(text(await framed.receive()), "HELLO");
  await framed.sendAll(["two", "", "lines"]);
  const replies: (string | null)[] = [];
  for (let i = 0; i < 3; i++) replies.push(text(await framed.receive()));
  assertEquals(replies, ["TWO", "", "LINES"]);
  await conn.shutdown("write");
  assertEquals(await framed.receive(), null);
  await python.success();
});

Deno.test('framed(lengthPrefixed({ header: "u16be" })) talks to a Python peer using struct.pack("!H")', async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(lengthPrefixed({ header: "u16be" }));
    for await (const frame of framed) await framed.send(frame.toReversed());
  });
  await using python = Python.spawn(
    `
def recv_exactly(s, n):
    out = bytearray()
    while len(out) < n:
        data = s.recv(n - len(out))
        if not data:
            raise EOFError(f"EOF after {len(out)} of {n} bytes")
        out += data
    return bytes(out)

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
messages = [b"", b"a", b"hello", os.urandom(1000), os.urandom(65535)]
s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in messages))
for m in messages:
    (n,) = struct.unpack("!H", recv_exactly(s, 2))
    reply = recv_exactly(s, n)
    print("ok" if reply == m[::-1] else f"bad reply to {len(m)} bytes")
s.shutdown(socket.SHUT_WR)
print("eof" if s.recv(1) == b"" else "more")
s.close()
`,
    [server.addr.port],
  );
  assertEquals(await python.success(), ["ok", "ok", "ok", "ok", "ok", "eof"]);
});

Deno.test("an oversized u16 frame fails receive() only after the frames before it, and the server keeps serving", async () => {
  const received: string[] = [];
  const failed = deferred<unknown>();
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(
      lengthPrefixed({ header: "u16be", maxFrameSize: 16 }),
    );
    for await (const frame of framed) {
      received.push(text(frame)!);
      await framed.send(frame);
    }
  }, { onError: (error) => failed.resolve(error) });
  const script = `
def recv_exactly(s, n):
    out = bytearray()
    while len(out) < n:
        data = s.recv(n - len(out))
        if not data:
            return bytes(out)
        out += data
    return bytes(out)

def gone(s):
    try:
        return s.recv(1) == b""
    except ConnectionResetError:  # closed with bytes unread: RST, not FIN
        return True

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
frames = [m.encode() for m in sys.argv[2].split(",")]
bad = sys.argv[3] == "bad"
data = b"".join(struct.pack("!H", len(m)) + m for m in frames)
if bad:
    data += struct.pack("!H", 1000) + b"x" * 20
s.sendall(data)
for m in frames:
    (n,) = struct.unpack("!H", recv_exactly(s, 2))
    print(recv_exactly(s, n).decode())
if not bad:
    s.shutdown(socket.SHUT_WR)
print("eof" if gone(s) else "more")
s.close()
`;
  {
    await using bad = Python.spawn(script, [
      server.addr.port,
      "one,two",
      "bad",
    ]);
    assertEquals(await bad.success(), ["one", "two", "eof"]);
  }
  const error = await failed.promise;
  assertInstanceOf(error, FrameTooLargeError);
  assertEquals([error.limit, error.size, error.announced], [16, 1000, true]);
  assertEquals(received, ["one", "two"]);
  await using good = Python.spawn(script, [server.addr.port, "three", "good"]);
  assertEquals(await good.success(), ["three", "eof"]);
  assertStrictEquals(server.acceptedConnections, 2);
});
