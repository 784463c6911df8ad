/**
 * sockit's TLS against real peers: `openssl s_server` and `s_client`, and
 * Python's `ssl` module as client, server and STARTTLS peer — verification,
 * mutual TLS, half-close and ALPN with implementations that are not ours.
 * Peers listen on port 0 and say where (`ACCEPT host:port`, a printed
 * port); each is ended by its own PID when its test ends.
 *
 * @module
 */
import { connect, listen, TlsError } from "../../tcp/mod.ts";
import { peerTest } from "../_peers.ts";
import { testCertificates } from "../_tls.ts";
import { Lines } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../_utils.ts";
import { echo, readAll, text, waitFor } from "./_helpers.ts";
import { Python } from "./_python.ts";

const certs = await testCertificates();
const { ca, caFile, server, client } = certs;
const encoder = new TextEncoder();

/** An `openssl` child with its stdout read line by line. */
class OpenSsl implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly stdout: Lines;
  readonly stderr: Promise<string>;
  #status: Promise<Deno.CommandStatus> | undefined;

  constructor(args: string[]) {
    this.#child = new Deno.Command("openssl", {
      args,
      cwd: certs.dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.stdout = new Lines(this.#child.stdout);
    this.stderr = new Response(this.#child.stderr).text();
  }

  /** Writes `line` and a newline to its stdin. */
  async send(line: string): Promise<void> {
    await this.#stdin.write(encoder.encode(`${line}\n`));
  }

  /** Ends it (SIGTERM to its PID) and waits; idempotent. */
  stop(): Promise<Deno.CommandStatus> {
    return this.#status ??= (async () => {
      await this.#stdin.close().catch(() => {});
      try {
        this.#child.kill("SIGTERM");
      } catch { /* exited already */ }
      const status = await this.#child.status;
      await this.stdout.done;
      await this.stderr;
      return status;
    })();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** `openssl s_server -rev` (answers each line reversed) and its port. */
async function sServer(
  extra: string[] = [],
): Promise<{ peer: OpenSsl; port: number }> {
  const peer = new OpenSsl([
    "s_server",
    "-accept",
    "127.0.0.1:0",
    "-cert",
    server.certFile,
    "-key",
    server.keyFile,
    "-rev",
    ...extra,
  ]);
  const [, port] = await peer.stdout.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/);
  return { peer, port: Number(port) };
}

// ---------------------------------------------------------------------------
// sockit clients, foreign servers

Deno.test("a sockit client verifies openssl s_server and talks to it, with either client engine", async () => {
  const { peer, port } = await sServer();
  await using _ = peer;
  for (
    const tls of [
      { caCerts: [ca] }, // Deno's TLS, by the name "localhost"
      {
        caCerts: [ca],
        serverName: "localhost",
        cert: client.cert,
        key: client.key,
      }, // node:tls, connected to 127.0.0.1
    ]
  ) {
    const hostname = tls.serverName === undefined ? "localhost" : "127.0.0.1";
    await using conn = await connect({ hostname, port }, { tls });
    await conn.write("hello\n");
    assertEquals(text(await conn.readUntil("\n")), "olleh\n");
    await conn.write("sockit\n");
    assertEquals(text(await conn.readUntil("\n")), "tikcos\n");
  }
});

Deno.test("openssl s_server asking for a client certificate: sent, it works; missing, the client is told", async () => {
  const { peer, port } = await sServer(["-Verify", "1", "-CAfile", caFile]);
  await using _ = peer;
  const address = { hostname: "localhost", port };
  {
    await using conn = await connect(address, {
      tls: { caCerts: [ca], cert: client.cert, key: client.key },
    });
    await conn.write("mutual\n");
    assertEquals(text(await conn.readUntil("\n")), "lautum\n");
  }
  // TLS 1.3: the server's alert comes after the client's handshake, so
  // the first read reports it.
  await using bare = await connect(address, { tls: { caCerts: [ca] } });
  await bare.write("nobody\n").catch(() => {});
  const error = await assertRejects(() => bare.read(), TlsError);
  assertEquals(error.kind, "certificate-required");
  assertStringIncludes(
    error.message,
    "requires a client certificate; pass --tls-cert FILE --tls-key FILE (cert, key)",
  );
});

peerTest(
  "a sockit client and a Python ssl server: verification, half-close, ALPN",
  ["python3"],
  async () => {
    await using python = Python.spawn(
      `
import ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.set_alpn_protocols(["sockit/1"])
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
tls = ctx.wrap_socket(conn, server_side=True)
data = b""
while True:
    chunk = tls.recv(65536)
    if not chunk:
        break  # close_notify: the client shut down writing
    data += chunk
tls.sendall(b"got %d bytes over %s, alpn %s" % (len(data), tls.version().encode(), tls.selected_alpn_protocol().encode()))
tls.unwrap().close()
print("done")
`,
      [server.certFile, server.keyFile],
    );
    const port = await python.port();
    await using conn = await connect({ hostname: "localhost", port }, {
      tls: { caCerts: [ca], alpnProtocols: ["sockit/1"] },
    });
    assertEquals(conn.tls?.alpnProtocol, "sockit/1");
    await conn.write(new Uint8Array(100_000));
    await conn.shutdown("write");
    assertEquals(
      text(await readAll(conn)),
      "got 100000 bytes over TLSv1.3, alpn sockit/1",
    );
    assertEquals(await python.success(), ["done"]);
  },
);

peerTest(
  "a sockit client against a Python server whose certificate is for other names fails with name-mismatch",
  ["python3"],
  async () => {
    await using python = Python.spawn(
      `
import ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
try:
    ctx.wrap_socket(conn, server_side=True)
except ssl.SSLError as error:
    print("refused", error.reason)
`,
      [server.certFile, server.keyFile],
    );
    const port = await python.port();
    const error = await assertRejects(
      () =>
        connect({ port }, {
          tls: { caCerts: [ca], serverName: "db.internal" },
        }),
      TlsError,
    );
    assertEquals(error.kind, "name-mismatch");
    assertStringIncludes(
      error.message,
      "is for localhost, 127.0.0.1, not db.internal",
    );
    const [said] = await python.success();
    assertStringIncludes(said!, "refused");
  },
);

// ---------------------------------------------------------------------------
// Foreign clients, sockit servers

Deno.test("openssl s_client verifies a sockit server (either engine) and gets its echo", async () => {
  for (const engine of ["node", "deno"] as const) {
    await using srv = listen({ port: 0 }, echo, {
      tls: { cert: server.cert, key: server.key, engine },
    });
    await using peer = new OpenSsl([
      "s_client",
      "-connect",
      `127.0.0.1:${srv.addr.port}`,
      "-CAfile",
      caFile,
      "-verify_return_error",
      "-verify_hostname",
      "localhost",
      "-quiet",
    ]);
    await peer.send("ping from openssl");
    await peer.stdout.waitFor(/^ping from openssl$/);
    await peer.stop();
    assertStringIncludes(await peer.stderr, "verify return:1");
  }
});

Deno.test("openssl s_client with and without a client certificate against a sockit mutual TLS server", async () => {
  const errors: unknown[] = [];
  await using srv = listen({ port: 0 }, async (conn) => {
    await conn.write(`hello ${conn.tls?.peerCertificate?.subject}\n`);
    await echo(conn);
  }, {
    tls: { cert: server.cert, key: server.key, clientCa: ca },
    onError: (error) => errors.push(error),
  });
  const args = [
    "s_client",
    "-connect",
    `127.0.0.1:${srv.addr.port}`,
    "-CAfile",
    caFile,
    "-verify_return_error",
    "-quiet",
  ];
  {
    await using peer = new OpenSsl([
      ...args,
      "-cert",
      client.certFile,
      "-key",
      client.keyFile,
    ]);
    await peer.stdout.waitFor(/^hello CN=sockit test client$/);
  }
  {
    await using peer = new OpenSsl(args);
    await peer.send("let me in");
    await waitFor(() => errors.length === 1, "the refusal");
  }
  assertInstanceOf(errors[0], TlsError);
  assertEquals(errors[0].kind, "certificate-required");
});

peerTest(
  "Python ssl clients against a sockit server: verified echo, mutual TLS, a client certificate refused",
  ["python3"],
  async () => {
    const errors: unknown[] = [];
    await using srv = listen({ port: 0 }, async (conn) => {
      const subject = conn.tls?.peerCertificate?.subject ?? "nobody";
      const size = Number(text(await conn.readUntil("\n")));
      const data = await conn.readExactly(size);
      await conn.write(`${subject} sent ${data.length} bytes\n`);
    }, {
      tls: {
        certFile: server.certFile,
        keyFile: server.keyFile,
        clientCa: ca,
        alpnProtocols: ["x", "sockit/1"],
      },
      onError: (error) => errors.push(error),
    });
    const script = `
import ssl
ctx = ssl.create_default_context(cafile=sys.argv[2])
if len(sys.argv) > 3:
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
ctx.set_alpn_protocols(["sockit/1"])
try:
    tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
    print(tls.version(), tls.selected_alpn_protocol())
    tls.sendall(b"50000\\n" + b"x" * 50000)
    answer = b""
    while not answer.endswith(b"\\n"):
        chunk = tls.recv(1024)
        if not chunk:
            break
        answer += chunk
    print(answer.decode().strip() or "nothing")
except (ssl.SSLError, OSError) as error:
    print("refused", type(error).__name__)
`;
    {
      await using python = Python.spawn(script, [
        srv.addr.port,
        caFile,
        client.certFile,
        client.keyFile,
      ]);
      assertEquals(await python.success(), [
        "TLSv1.3 sockit/1",
        "CN=sockit test client sent 50000 bytes",
      ]);
    }
    {
      await using python = Python.spawn(script, [srv.addr.port, caFile]);
      const said = await python.success();
      assert(said.at(-1) === "nothing" || said.at(-1)!.startsWith("refused"));
    }
    await waitFor(() => errors.length === 1, "the refusal");
    assertInstanceOf(errors[0], TlsError);
    assertEquals(errors[0].kind, "certificate-required");
  },
);

// ---------------------------------------------------------------------------
// STARTTLS

peerTest(
  "STARTTLS: a sockit client upgrades with a Python server that speaks plain text first",
  ["python3"],
  async () => {
    await using python = Python.spawn(
      `
import ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
conn.sendall(b"220 ready\\r\\n")
f = conn.makefile("rb")
assert f.readline() == b"STARTTLS\\r\\n"
conn.sendall(b"220 go ahead\\r\\n")
tls = ctx.wrap_socket(conn, server_side=True)
line = tls.recv(100)
tls.sendall(b"secure " + line)
tls.unwrap().close()
print("done")
`,
      [server.certFile, server.keyFile],
    );
    const port = await python.port();
    await using plain = await connect({ port });
    assertEquals(text(await plain.readUntil("\r\n")), "220 ready\r\n");
    await plain.write("STARTTLS\r\n");
    assertEquals(text(await plain.readUntil("\r\n")), "220 go ahead\r\n");
    const conn = await plain.startTls({
      caCerts: [ca],
      serverName: "localhost",
    });
    await conn.write("hello");
    assertEquals(text(await readAll(conn)), "secure hello");
    await conn.shutdown("write"); // our close_notify, which unwrap() awaits
    assertEquals(await python.success(), ["done"]);
  },
);

peerTest("STARTTLS: a sockit startTls server upgrades a Python client", [
  "python3",
], async () => {
  await using srv = listen({ port: 0 }, async (plain) => {
    await plain.write("220 ready\r\n");
    const command = text(await plain.readUntil("\r\n"));
    if (command !== "STARTTLS\r\n") {
      await plain.write("500 say STARTTLS\r\n");
      return;
    }
    await plain.write("220 go ahead\r\n");
    const conn = await plain.startTls();
    const line = text(await conn.readUntil("\n"));
    await conn.write(`secure ${conn.tls?.protocol} ${line}`);
  }, { startTls: { cert: server.cert, key: server.key } });
  await using python = Python.spawn(
    `
import ssl
ctx = ssl.create_default_context(cafile=sys.argv[2])
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = sock.makefile("rb")
print(f.readline().decode().strip())
sock.sendall(b"STARTTLS\\r\\n")
print(f.readline().decode().strip())
tls = ctx.wrap_socket(sock, server_hostname="localhost")
tls.sendall(b"hello\\n")
answer = b""
while True:
    chunk = tls.recv(1024)
    if not chunk:
        break
    answer += chunk
print(answer.decode().strip())
`,
    [srv.addr.port, caFile],
  );
  assertEquals(await python.success(), [
    "220 ready",
    "220 go ahead",
    "secure TLSv1.3 hello",
  ]);
});
