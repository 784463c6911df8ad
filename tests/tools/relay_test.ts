// The relay tool, run as a child process in front of real peers: Python
// servers (plain, TLS, UDP), ncat, and sockets of our own.
import {
  connect,
  type Connection,
  formatAddress,
  listen,
  type Server,
} from "../../tcp/mod.ts";
import { bind } from "../../udp/mod.ts";
import { main } from "../../tools/relay.ts";
import { equals } from "../../_internal/std.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertLessOrEqual,
  assertMatch,
  assertNotEquals,
} from "../_utils.ts";
import { ToolProcess } from "../_spawn.ts";
import { testCertificates } from "../_tls.ts";
import {
  closedPort,
  deferred,
  pattern,
  portOf,
  readAll,
  readUntilGone,
  tempDir,
  text,
} from "../tcp/_helpers.ts";
import { peerTest } from "../_peers.ts";
import { memoryStatus } from "../reliability/_harness.ts";
import { concatBytes } from "../_utils.ts";
import { Python, unansweredListener } from "../tcp/_python.ts";

/**
 * One Python backend, three behaviours chosen by the first byte a client
 * sends: `E` echoes what follows until EOF, then closes; `C` reads to EOF
 * (the client's FIN), then answers `got N bytes` and closes; `R` sends
 * `partial`, waits for a byte, then resets (SO_LINGER 0). Prints its port;
 * runs until its stdin closes.
 */
const BACKEND = `
import asyncio
async def handle(reader, writer):
    mode = await reader.read(1)
    if mode == b'E':
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    elif mode == b'C':
        total = 0
        while True:
            data = await reader.read(65536)
            if not data:
                break
            total += len(data)
        writer.write(b'got %d bytes' % total)
        await writer.drain()
    elif mode == b'R':
        writer.write(b'partial')
        await writer.drain()
        await reader.read(1)
        sock = writer.get_extra_info('socket')
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    writer.close()
async def main():
    server = await asyncio.start_server(handle, '127.0.0.1', 0, backlog=1024)
    print(server.sockets[0].getsockname()[1])
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
`;

/** Starts the relay tool and waits for its `listening on` line. */
async function startRelay(
  args: readonly string[],
): Promise<{ relay: ToolProcess; port: number }> {
  const relay = new ToolProcess("relay", args);
  const match = await relay.stderr.waitFor(/^listening on (\S+)/);
  const port = Number(/:(\d+),?$/.exec(match[1]!)?.[1] ?? 0);
  return { relay, port };
}

/** `size` random bytes. */
function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(out.subarray(at, at + 65536));
  }
  return out;
}

/** Runs `ncat` with `args` and `input` on its stdin; returns its stdout. */
async function ncat(args: string[], input: string): Promise<string> {
  const child = new Deno.Command("ncat", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, err);
  return new TextDecoder().decode(stdout);
}

Deno.test("relay: usage mistakes exit 2, --version exits 0", async () => {
  for (
    const args of [
      [], // no sides
      ["tcp:0"], // no TARGET
      ["tcp:0", "udp:127.0.0.1:53"], // a stream to datagrams
      ["tcp:0", "tcp:127.0.0.1:0"], // TARGET port 0
      ["tcp:0", "tcp:::1:80"], // IPv6 without brackets
      ["http:80", "tcp:127.0.0.1:80"], // no such side
      [
        "unix:/tmp/x.sock",
        "tcp:127.0.0.1:80",
        "--tls-cert",
        "c",
        "--tls-key",
        "k",
      ], // TLS on a Unix side
      ["tcp:0", "udp:127.0.0.1:53", "--target-tls"], // TLS to UDP
      ["tcp:0", "tcp:127.0.0.1:80", "--target-tls-key", "k"], // key without cert
      ["tcp:0", "tcp:127.0.0.1:80", "-v", "--quiet"], // both
      ["tcp:0", "tcp:127.0.0.1:80", "--max-conns", "0"], // bad count
    ]
  ) {
    assertEquals(await main(args), 2, args.join(" "));
  }
  assertEquals(await main(["--version"]), 0);
});

peerTest(
  "relay: TCP to a Python backend, 200 concurrent connections, every byte verified",
  ["python3", "ncat"],
  async () => {
    await using backend = Python.spawn(BACKEND);
    const target = await backend.port();
    const { relay, port } = await startRelay([
      "tcp:127.0.0.1:0",
      `tcp:127.0.0.1:${target}`,
    ]);
    await using _relay = relay;

    const clients = Array.from({ length: 200 }, async (_, i) => {
      const payload = randomBytes(32 * 1024 + i);
      await using conn = await connect({ port });
      const reading = readAll(conn);
      await conn.write("E");
      await conn.write(payload);
      await conn.shutdown("write");
      const echoed = await reading;
      assert(
        equals(echoed, payload),
        `client ${i}: ${echoed.length} bytes back`,
      );
    });
    await Promise.all(clients);

    // Half-close both ways, with ncat: its FIN reaches the backend, whose
    // answer comes back after it.
    assertEquals(
      await ncat(["127.0.0.1", String(port)], "Chello, backend"),
      "got 14 bytes",
    );

    // A backend that resets mid-stream: the client gets what was sent, then
    // a clean close; the log (failures are logged without -v) says why.
    {
      await using conn = await connect({ port });
      await conn.write("R");
      assertEquals(text(await conn.readExactly(7)), "partial");
      await conn.write("x");
      assertEquals(await readUntilGone(conn), "eof");
      const line = await relay.stderr.waitFor(/ -> 127\.0\.0\.1:\d+: /);
      assertMatch(
        line.input,
        /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: 2 bytes up, 7 down, [\d.]+ s, failed: .*reset/i,
      );
    }
    // Successful connections were not logged.
    assertEquals(relay.stderr.seen.filter((l) => l.includes(" -> ")).length, 1);

    const status = await relay.stop();
    assertEquals(status.code, 0);
    assertEquals(relay.stderr.seen.at(-1), "shut down");
    await backend.success();
  },
);

Deno.test("relay: a target that is down gives the client a clean close and a log line", async () => {
  const down = closedPort();
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${down}`,
  ]);
  await using _relay = relay;
  await using conn = await connect({ port });
  assertEquals(await readUntilGone(conn), "eof");
  const line = await relay.stderr.waitFor(/ -> /);
  assertMatch(
    line.input,
    new RegExp(
      `^127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${down}: 0 bytes up, 0 down, [\\d.]+ s, failed: .*refused`,
      "i",
    ),
  );
  assertEquals((await relay.stop()).code, 0);
});

peerTest(
  "relay: a unix: side with -v, and SIGTERM drains a quiet connection at once",
  ["python3", "ncat"],
  async () => {
    await using dir = await tempDir();
    await using backend = Python.spawn(BACKEND);
    const target = await backend.port();
    const path = `${dir.path}/relay.sock`;
    const { relay } = await startRelay([
      `unix:${path}`,
      `tcp:127.0.0.1:${target}`,
      "-v",
      "--grace",
      "20",
    ]);
    await using _relay = relay;
    // ncat over the Unix socket, half-closing at the end of its input.
    assertEquals(await ncat(["-U", path], "Cfrom unix"), "got 9 bytes");
    const done = await relay.stderr.waitFor(/ -> /);
    assertMatch(
      done.input,
      new RegExp(
        `^unix:${path} #1 -> 127\\.0\\.0\\.1:${target}: 10 bytes up, 11 down, [\\d.]+ s, both sides closed$`,
      ),
    );
    // A connection that sits quiet: a signal ends it without the 20 s grace.
    await using idle = await connect({ path });
    await idle.write("E");
    await idle.write("ping");
    assertEquals(text(await idle.readExactly(4)), "ping");
    const started = performance.now();
    const status = await relay.stop();
    assertLessOrEqual(performance.now() - started, 5000);
    assertEquals(status.code, 0);
    assert(
      relay.stderr.seen.some((line) =>
        /#2 -> .*: 5 bytes up, 4 down, .*ended by the shutdown$/.test(line)
      ),
      relay.stderr.seen.join("\n"),
    );
    assert(
      relay.stderr.seen.some((line) =>
        /^relay: total: 15 B up, 15 B down in /.test(line)
      ),
      relay.stderr.seen.join("\n"),
    );
    assertEquals(await readUntilGone(idle), "eof");
    await backend.success();
  },
);

peerTest("relay: TLS terminated and originated, with Python ssl at both ends", [
  "python3",
], async () => {
  const certs = await testCertificates();
  // A Python TLS echo server (the target) with the test server certificate.
  await using backend = Python.spawn(
    `
import ssl
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.create_server(('127.0.0.1', 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
tls = ctx.wrap_socket(conn, server_side=True)
data = tls.recv(65536)
tls.sendall(b'backend saw ' + data + b' over ' + tls.version().encode())
tls.close()
`,
    [certs.server.certFile, certs.server.keyFile],
  );
  const target = await backend.port();
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${target}`,
    "--tls-cert",
    certs.server.certFile,
    "--tls-key",
    certs.server.keyFile,
    "--target-tls-ca",
    certs.caFile,
    "-v",
  ]);
  await using _relay = relay;
  assertMatch(
    relay.stderr.seen[0]!,
    /^listening on 127\.0\.0\.1:\d+ \(TLS\), relaying to 127\.0\.0\.1:\d+ \(TLS\)$/,
  );
  // A Python TLS client that verifies the relay's certificate.
  await using client = Python.spawn(
    `
import ssl
ctx = ssl.create_default_context(cafile=sys.argv[1])
with socket.create_connection(('127.0.0.1', int(sys.argv[2]))) as raw:
    with ctx.wrap_socket(raw, server_hostname='127.0.0.1') as tls:
        tls.sendall(b'hello')
        got = b''
        while True:
            data = tls.recv(65536)
            if not data:
                break
            got += data
        print(got.decode())
`,
    [certs.caFile, port],
  );
  assertMatch(await client.line(), /^backend saw hello over TLSv1\.[23]$/);
  await client.success();
  await backend.success();
  const line = await relay.stderr.waitFor(/ -> /);
  assertMatch(line.input, /: 5 bytes up, \d+ down, [\d.]+ s, /);
  assertEquals((await relay.stop()).code, 0);
});

peerTest(
  "relay: a target whose certificate does not verify is refused, the client closed",
  ["python3"],
  async () => {
    const certs = await testCertificates();
    await using backend = Python.spawn(
      `
import ssl
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.create_server(('127.0.0.1', 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
try:
    ctx.wrap_socket(conn, server_side=True)
except ssl.SSLError:
    pass
`,
      [certs.server.certFile, certs.server.keyFile],
    );
    const target = await backend.port();
    const { relay, port } = await startRelay([
      "tcp:0",
      `tcp:127.0.0.1:${target}`,
      "--target-tls-ca",
      certs.otherCaFile, // not the CA that signed the backend's certificate
    ]);
    await using _relay = relay;
    await using conn = await connect({ port });
    assertEquals(await readUntilGone(conn), "eof");
    const line = await relay.stderr.waitFor(/ -> /);
    assertMatch(line.input, /failed: .*(certificate|issuer)/i);
    await backend.finish();
    assertEquals((await relay.stop()).code, 0);
  },
);

peerTest("relay: UDP flows, one socket per client, closed when idle", [
  "python3",
], async () => {
  await using backend = Python.spawn(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1])
s.settimeout(None)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
while True:
    data, addr = s.recvfrom(65536)
    s.sendto(b'%d:' % addr[1] + data, addr)
`);
  const target = await backend.port();
  const { relay, port } = await startRelay([
    "udp:127.0.0.1:0",
    `udp:127.0.0.1:${target}`,
    "--idle-timeout",
    "0.2",
    "-v",
  ]);
  await using _relay = relay;
  using a = bind({ port: 0 });
  using b = bind({ port: 0 });
  const ask = async (socket: typeof a, message: string) => {
    await socket.send(message, { port });
    const { data, from } = await socket.receive({ timeout: 3000 });
    assertEquals("port" in from && from.port, port); // from the relay
    return text(data)!.split(":");
  };
  const [flowA, gotA] = await ask(a, "from a");
  const [flowB, gotB] = await ask(b, "from b");
  const [flowA2] = await ask(a, "again");
  assertEquals([gotA, gotB], ["from a", "from b"]);
  assertNotEquals(flowA, flowB);
  assertEquals(flowA2, flowA);
  // Both flows end on their idle timeout, each logged with its counts.
  const lines = [
    (await relay.stderr.waitFor(/ -> /)).input,
    (await relay.stderr.waitFor(/ -> /)).input,
  ].sort();
  assertMatch(
    lines.find((line) => line.startsWith(`127.0.0.1:${a.addr.port} `)) ?? "",
    /: 11 bytes up, \d+ down \(2 datagrams up, 2 down\), [\d.]+ s, idle for 0\.2 s$/,
  );
  assertMatch(
    lines.find((line) => line.startsWith(`127.0.0.1:${b.addr.port} `)) ?? "",
    /: 6 bytes up, \d+ down \(1 datagrams up, 1 down\), /,
  );
  assertEquals((await relay.stop()).code, 0);
  await backend.finish();
});

// ---------------------------------------------------------------------------
// Limits, timeouts, shutdown, --quiet

/** An echo server in this process, on a free port. */
function echoServer(): Server<"tcp"> {
  return listen({ port: 0 }, async (conn) => {
    for (;;) {
      const chunk = await conn.read();
      if (chunk === null) break;
      await conn.write(chunk);
    }
    await conn.shutdown("write");
  }) as Server<"tcp">;
}

/** Sends `word`, reads it back: the connection works. */
async function ping(conn: Connection, word: string): Promise<void> {
  await conn.write(word);
  assertEquals(text(await conn.readExactly(word.length)), word);
}

Deno.test("relay --max-conns 1 turns a second client away, a line in the log; the first keeps working", async () => {
  await using target = echoServer();
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${portOf(target)}`,
    "--max-conns",
    "1",
  ]);
  await using _relay = relay;
  await using first = await connect({ port });
  await ping(first, "one");
  await using second = await connect({ port });
  assertEquals(await readUntilGone(second), "eof");
  const { input: line } = await relay.stderr.waitFor(/ -> /);
  assertEquals(
    line,
    `${formatAddress(second.localAddr)} -> 127.0.0.1:${
      portOf(target)
    }: turned away: 1 client already (--max-conns 1)`,
  );
  await ping(first, "still here");
  first.close();
  const status = await relay.stop();
  assertEquals(status.code, 0);
  assert(
    relay.stderr.seen.some((l) => /^shutting down \(signal SIGTERM\)/.test(l)),
    relay.stderr.seen.join("\n"),
  );
  assertEquals(relay.stderr.seen.at(-1), "shut down");
});

Deno.test("relay --quiet logs the listening line only: not a client turned away, a failed connection or the shutdown", async () => {
  // A target in this process: it holds the first client, then goes away.
  let held: Connection | undefined;
  const accepted = deferred();
  const target = listen({ port: 0 }, async (conn) => {
    held = conn;
    accepted.resolve();
    await readAll(conn);
  }) as Server<"tcp">;
  const targetPort = portOf(target);
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${targetPort}`,
    "--max-conns",
    "1",
    "--quiet",
  ]);
  await using _relay = relay;
  {
    await using first = await connect({ port });
    await accepted.promise;
    await using over = await connect({ port }); // turned away
    assertEquals(await readUntilGone(over), "eof");
    held!.close();
    assertEquals(await readUntilGone(first), "eof");
  }
  await target.shutdown();
  {
    await using failing = await connect({ port }); // the target is down
    assertEquals(await readUntilGone(failing), "eof");
  }
  assertEquals((await relay.stop()).code, 0);
  assertEquals(relay.stderr.seen.length, 1, relay.stderr.seen.join("\n"));
  assertMatch(relay.stderr.seen[0]!, /^listening on /);
});

Deno.test("relay --idle-timeout closes a silent relayed connection after that long, saying why", async () => {
  await using target = echoServer();
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${portOf(target)}`,
    "--idle-timeout",
    "0.3",
    "-v",
  ]);
  await using _relay = relay;
  await using conn = await connect({ port });
  await ping(conn, "hello");
  const quiet = performance.now();
  assertEquals(await readUntilGone(conn), "eof");
  const waited = performance.now() - quiet;
  assertGreaterOrEqual(waited, 250);
  assertLessOrEqual(waited, 2000);
  const { input: line } = await relay.stderr.waitFor(/ -> /);
  assertMatch(
    line,
    /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: 5 bytes up, 5 down, [\d.]+ s, idle for 0\.3 s$/,
  );
  assertEquals((await relay.stop()).code, 0);
});

peerTest(
  "relay --connect-timeout gives up on a target that never answers: the client gets a clean close, the log says why",
  [
    "python3",
  ],
  async () => {
    await using python = unansweredListener();
    const silent = await python.port();
    const { relay, port } = await startRelay([
      "tcp:0",
      `tcp:127.0.0.1:${silent}`,
      "--connect-timeout",
      "0.4",
    ]);
    await using _relay = relay;
    await using conn = await connect({ port });
    const started = performance.now();
    assertEquals(await readUntilGone(conn), "eof");
    const waited = performance.now() - started;
    assertGreaterOrEqual(waited, 350);
    assertLessOrEqual(waited, 3000);
    const { input: line } = await relay.stderr.waitFor(/ -> /);
    assertMatch(
      line,
      new RegExp(
        `^127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${silent}: 0 bytes up, 0 down, [\\d.]+ s, failed: Cannot connect to 127\\.0\\.0\\.1:${silent}: no answer within 400 ms$`,
      ),
    );
    assertEquals((await relay.stop()).code, 0);
    await python.send("done");
    assertEquals((await python.finish()).code, 0);
  },
);

Deno.test("relay --grace: a transfer that ends within it finishes; one still running when it ends is cut off, each logged", async () => {
  // The target streams `S` pieces of 1000 bytes, one every 20 ms, then
  // closes its side: "short" is 15 of them, "long" 1000 (20 s).
  const target = listen({ port: 0 }, async (conn) => {
    const what = text(await conn.read());
    const pieces = what === "short" ? 15 : 1000;
    try {
      for (let i = 0; i < pieces; i++) {
        await conn.write(pattern(i, 1000));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await conn.shutdown("write");
      await readAll(conn);
    } catch { /* cut off */ }
  }) as Server<"tcp">;
  await using _target = target;
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${portOf(target)}`,
    "--grace",
    "1",
    "-v",
  ]);
  await using _relay = relay;
  await using short = await connect({ port });
  await using long = await connect({ port });
  await short.write("short");
  await long.write("long");
  // Both transfers are under way.
  assertEquals(await short.readExactly(1000), pattern(0, 1000));
  assertEquals(await long.readExactly(1000), pattern(0, 1000));
  const signalled = performance.now();
  const stopping = relay.stop(); // one SIGTERM (a second stops at once)
  const [shortRest, longRest] = await Promise.all([
    readAll(short),
    readAll(long).catch(() => new Uint8Array(0)),
  ]);
  const status = await stopping;
  const took = performance.now() - signalled;
  assertEquals(status.code, 0);
  // The short one got all of it.
  assertEquals(
    shortRest,
    concatBytes(Array.from({ length: 14 }, (_, i) => pattern(i + 1, 1000))),
  );
  // The long one was cut off after about a second.
  assert(longRest.length < 999_000, `${longRest.length} bytes`);
  assertGreaterOrEqual(took, 950);
  assertLessOrEqual(took, 4000);
  const lines = relay.stderr.seen.join("\n");
  assertMatch(
    lines,
    /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: 5 bytes up, 15000 down, [\d.]+ s, ended by the shutdown$/m,
  );
  assertMatch(
    lines,
    /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: 4 bytes up, \d+ down, [\d.]+ s, cut off at the end of the grace period$/m,
  );
});

// ---------------------------------------------------------------------------
// TLS on one side only; backpressure

/** The test certificates' server pair and CA written to files of our own. */
async function certFiles(dir: string) {
  const certs = await testCertificates();
  const files = {
    cert: `${dir}/server.crt`,
    key: `${dir}/server.key`,
    ca: `${dir}/ca.crt`,
  };
  await Deno.writeTextFile(files.cert, certs.server.cert);
  await Deno.writeTextFile(files.key, certs.server.key);
  await Deno.writeTextFile(files.ca, certs.ca);
  return { certs, files };
}

Deno.test("relay terminates TLS alone: a TLS client, a plain target", async () => {
  await using dir = await tempDir();
  const { certs, files } = await certFiles(dir.path);
  await using target = echoServer();
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${portOf(target)}`,
    "--tls-cert",
    files.cert,
    "--tls-key",
    files.key,
  ]);
  await using _relay = relay;
  assertMatch(
    relay.stderr.seen[0]!,
    /^listening on 127\.0\.0\.1:\d+ \(TLS\), relaying to 127\.0\.0\.1:\d+$/,
  );
  await using conn = await connect({ port }, {
    tls: { caCerts: [certs.ca], serverName: "localhost" },
  });
  assert(conn.tls !== null);
  await ping(conn, "through TLS to plain");
  // Refused in plain text: a client that does not speak TLS.
  await using plain = await connect({ port });
  await plain.write("hello?\r\n\r\n");
  assertEquals(await readUntilGone(plain), "eof");
  await relay.stderr.waitFor(/^relay: .*127\.0\.0\.1/);
  assertEquals((await relay.stop()).code, 0);
});

Deno.test("relay originates TLS alone: a plain client, a TLS target verified against --target-tls-ca", async () => {
  await using dir = await tempDir();
  const { certs, files } = await certFiles(dir.path);
  let sawTls = false;
  await using target = listen({ port: 0 }, async (conn) => {
    sawTls = conn.tls !== null;
    for (;;) {
      const chunk = await conn.read();
      if (chunk === null) break;
      await conn.write(chunk);
    }
  }, { tls: { cert: certs.server.cert, key: certs.server.key } });
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${portOf(target)}`,
    "--target-tls-ca",
    files.ca,
  ]);
  await using _relay = relay;
  assertMatch(
    relay.stderr.seen[0]!,
    /^listening on 127\.0\.0\.1:\d+, relaying to 127\.0\.0\.1:\d+ \(TLS\)$/,
  );
  await using conn = await connect({ port });
  assertEquals(conn.tls, null);
  await ping(conn, "plain to TLS");
  assert(sawTls);
  conn.close();
  assertEquals((await relay.stop()).code, 0);
});

/** The resident set size of process `pid`, in bytes (Linux). */
async function rss(pid: number): Promise<number> {
  // Through `cat`: reading another process's /proc needs --allow-all.
  return (await memoryStatus(pid)).rssKiB * 1024;
}

Deno.test("relay holds back a client whose target does not read: the client's writes stall, the relay's memory stays bounded", async () => {
  const MiB = 1024 * 1024;
  const accepted = deferred();
  const release = deferred();
  // A target that takes the connection and never reads.
  await using target = listen({ port: 0 }, async () => {
    accepted.resolve();
    await release.promise;
  }) as Server<"tcp">;
  const { relay, port } = await startRelay([
    "tcp:0",
    `tcp:127.0.0.1:${portOf(target)}`,
  ]);
  await using _relay = relay;
  const before = await rss(relay.child.pid);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await accepted.promise;
  const chunk = new Uint8Array(256 * 1024).fill(7);
  let written = 0;
  let stalled = false;
  // Write until one write waits 500 ms: the buffers on the way are full.
  // Bounded: 512 MiB would be far past any loopback buffers.
  while (written < 512 * MiB) {
    const write = conn.write(chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      write,
      new Promise<null>((resolve) => timer = setTimeout(resolve, 500, null)),
    ]);
    clearTimeout(timer);
    if (n === null) {
      stalled = true;
      const after = await rss(relay.child.pid);
      console.log(
        `relay backpressure: the client's writes stalled after ${
          (written / MiB).toFixed(1)
        } MiB; the relay's RSS ${(before / MiB).toFixed(1)} MiB before, ${
          (after / MiB).toFixed(1)
        } MiB stalled (+${((after - before) / MiB).toFixed(1)})`,
      );
      // Kernel buffers hold what was written; the relay holds a chunk.
      assertLessOrEqual(written, 64 * MiB);
      assertLessOrEqual(after - before, 24 * MiB);
      conn.close();
      await write.catch(() => {});
      break;
    }
    written += n;
  }
  assert(stalled, `wrote ${written} bytes without a stall`);
  release.resolve();
  assertEquals((await relay.stop()).code, 0);
});
