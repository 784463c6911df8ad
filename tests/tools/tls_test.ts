/**
 * The tools' TLS flags (issue 15), against real peers on loopback: the
 * echo and time tools with `--tls-cert`/`--tls-key`/`--tls-client-ca`
 * served to `openssl s_client`, Python's `ssl` and `ncat --ssl`; `cat`'s
 * client flags against `openssl s_server` and the echo tool; `cat
 * --listen` with TLS served to Python's `ssl` and to `cat`; `rexec`'s
 * server and client over TLS, and its rule that a token never leaves
 * loopback in clear text. Certificates
 * are made with `openssl` at test time (`tests/_tls.ts`).
 *
 * @module
 */
import { CommandAllowList } from "../../rexec/mod.ts";
import { connect } from "../../tcp/mod.ts";
import { parseCatArgs } from "../../tools/_cat_args.ts";
import { UsageError } from "../../tools/_flags.ts";
import {
  Lines,
  ROOT,
  runTool,
  TOOL_PERMISSIONS,
  ToolProcess,
} from "../_spawn.ts";
import { peerTest } from "../_peers.ts";
import { type TestCertificates, testCertificates } from "../_tls.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "../_utils.ts";
import { Python } from "../tcp/_python.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A server tool's TLS flags with the test certificate, and with
 * `clientCa` the test CA for client certificates.
 */
function serverTls(
  certs: TestCertificates,
  { clientCa = false }: { clientCa?: boolean } = {},
): string[] {
  return [
    "--tls-cert",
    certs.server.certFile,
    "--tls-key",
    certs.server.keyFile,
    ...(clientCa ? ["--tls-client-ca", certs.caFile] : []),
  ];
}

/**
 * A child process with stdin piped and stdout and stderr read line by
 * line: `cat`, `openssl`, `ncat`. `await using` kills it (by its PID) if
 * it still runs, and waits for it.
 */
class Child implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #result:
    | Promise<{ code: number; stdout: string; stderr: string }>
    | undefined;

  constructor(command: string, args: readonly string[], cwd?: URL) {
    this.child = new Deno.Command(command, {
      args: [...args],
      ...(cwd === undefined ? {} : { cwd }),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Lines(this.child.stdout);
    this.stderr = new Lines(this.child.stderr);
    this.#stdin = this.child.stdin.getWriter();
  }

  /** `deno run tools/cat.ts ARGS…`. */
  static cat(args: readonly string[]): Child {
    return new Child(
      Deno.execPath(),
      ["run", ...TOOL_PERMISSIONS, "tools/cat.ts", ...args],
      ROOT,
    );
  }

  /** Writes to stdin (ignoring a child that has gone). */
  async write(text: string): Promise<void> {
    try {
      await this.#stdin.write(encoder.encode(text));
    } catch { /* exited and closed its end */ }
  }

  /** Closes stdin. */
  async end(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#stdin.close();
    } catch { /* exited first */ }
  }

  /** Closes stdin and waits for the exit: the code, stdout and stderr. */
  finish(): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.#result ??= (async () => {
      await this.end();
      const [status] = await Promise.all([
        this.child.status,
        this.stdout.done,
        this.stderr.done,
      ]);
      return {
        code: status.code,
        stdout: this.stdout.seen.join("\n"),
        stderr: this.stderr.seen.join("\n"),
      };
    })();
  }

  /** Kills the child if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#result === undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await this.finish();
  }
}

/** Runs `cat ARGS…` with `input` on stdin, to the end. */
async function runCat(
  args: readonly string[],
  input = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  await using cat = Child.cat(args);
  await cat.write(input);
  return await cat.finish();
}

/** A server tool (`echo`, `time`) with TLS, and its port. */
async function startServer(
  tool: string,
  args: readonly string[],
): Promise<{ server: ToolProcess; port: number }> {
  const server = new ToolProcess(tool, ["--port", "0", ...args]);
  try {
    const [, port] = await server.stderr.waitFor(
      /^listening on 127\.0\.0\.1:(\d+) \(TLS(?:, client certificate required)?\)$/,
    );
    return { server, port: Number(port) };
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

/** The echo tool serving TLS with the test server certificate. */
async function startTlsEcho(
  extra: readonly string[] = [],
  pair?: { certFile: string; keyFile: string },
): Promise<{ server: ToolProcess; port: number }> {
  const certs = await testCertificates();
  const { certFile, keyFile } = pair ?? certs.server;
  return await startServer("echo", [
    "--tls-cert",
    certFile,
    "--tls-key",
    keyFile,
    ...extra,
  ]);
}

/** A port that was free a moment ago, for a peer that needs a number. */
function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

function assertCode(
  result: { code: number; stderr: string },
  code: number,
): void {
  assertEquals(result.code, code, result.stderr);
}

// ---------------------------------------------------------------------------
// The echo tool with TLS, against other clients

Deno.test("echo --tls-cert serves openssl s_client, which verifies it against the test CA", async () => {
  const certs = await testCertificates();
  const { server, port } = await startTlsEcho();
  await using _server = server;
  await using client = new Child("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-CAfile",
    certs.caFile,
    "-verify_return_error",
    "-verify_hostname",
    "localhost",
    "-quiet",
    "-no_ign_eof", // stdin's end ends it (after the echo has come)
  ]);
  await client.write("hello over TLS\n");
  await client.stdout.waitFor(/^hello over TLS$/);
  const result = await client.finish();
  assertCode(result, 0);
  await server.stderr.waitFor(
    /^closed 127\.0\.0\.1:\d+ \(15 bytes in, 15 out\)$/,
  );
  assertEquals((await server.stop()).code, 0);
});

peerTest(
  "echo --tls-cert serves Python's ssl client, which checks the name and the chain",
  ["python3"],
  async () => {
    const certs = await testCertificates();
    const { server, port } = await startTlsEcho();
    await using _server = server;
    await using python = Python.spawn(
      `
import ssl
port, ca = int(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context(cafile=ca)
assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
with socket.create_connection(("127.0.0.1", port)) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"hello from python\\n")
        data = b""
        while not data.endswith(b"\\n"):
            data += tls.recv(100)
        print(tls.version())
        print(data.decode().strip())
`,
      [port, certs.caFile],
    );
    assertEquals(await python.line(), "TLSv1.3");
    assertEquals(await python.line(), "hello from python");
    const result = await python.finish();
    assertEquals(result.code, 0, result.stderr);
    assertEquals((await server.stop()).code, 0);
  },
);

peerTest(
  "echo --tls-cert serves ncat --ssl --ssl-verify",
  ["ncat"],
  async () => {
    const certs = await testCertificates();
    const { server, port } = await startTlsEcho();
    await using _server = server;
    // ncat checks DNS names only, so it connects by name (over IPv4, where
    // the echo tool listens).
    await using ncat = new Child("ncat", [
      "-4",
      "--ssl",
      "--ssl-verify",
      "--ssl-trustfile",
      certs.caFile,
      "localhost",
      String(port),
    ]);
    await ncat.write("hello from ncat\n");
    const result = await ncat.finish();
    assertCode(result, 0);
    assertEquals(result.stdout, "hello from ncat");
    assertEquals((await server.stop()).code, 0);
  },
);

Deno.test("a plain-text client of the TLS echo tool is logged and closed, and the next client is served", async () => {
  const certs = await testCertificates();
  const { server, port } = await startTlsEcho();
  await using _server = server;
  {
    await using plain = await connect({ hostname: "127.0.0.1", port });
    await plain.write("hello in plain text\n");
    // What comes back is a TLS alert, then the end.
    for (;;) {
      try {
        if (await plain.read() === null) break;
      } catch {
        break; // reset
      }
    }
    const [, peer] = await server.stderr.waitFor(
      /^echo: Cannot accept TLS from (127\.0\.0\.1:\d+) as it does not speak TLS/,
    );
    assertEquals(peer, `127.0.0.1:${plain.localAddr.port}`);
  }
  {
    await using conn = await connect({ hostname: "127.0.0.1", port }, {
      tls: { caCerts: [certs.ca] },
    });
    await conn.write("after it");
    assertEquals(decoder.decode(await conn.readExactly(8)), "after it");
  }
  assertEquals((await server.stop()).code, 0);
});

// ---------------------------------------------------------------------------
// cat as a TLS client

Deno.test("cat --tls-ca talks to openssl s_server, and -v shows the ALPN protocol agreed", async () => {
  const certs = await testCertificates();
  const port = freePort();
  await using server = new Child("openssl", [
    "s_server",
    "-accept",
    `127.0.0.1:${port}`,
    "-cert",
    certs.server.certFile,
    "-key",
    certs.server.keyFile,
    "-alpn",
    "x-sockit",
    "-naccept",
    "1",
  ]);
  await server.stdout.waitFor(/^ACCEPT$/);
  await using cat = Child.cat([
    "-v",
    "--tls-ca",
    certs.caFile,
    "--tls-alpn",
    "x-sockit,h2",
    "127.0.0.1",
    String(port),
  ]);
  await server.write("from s_server\n");
  await cat.stdout.waitFor(/^from s_server$/);
  await cat.write("from cat\n");
  await cat.end(); // a half-close: close_notify, and s_server is done
  await server.stdout.waitFor(/^from cat$/);
  const result = await cat.finish();
  assertCode(result, 0);
  assertStringIncludes(
    result.stderr,
    `TLS with 127.0.0.1:${port}: version not reported (Deno's TLS engine), ALPN x-sockit, certificate verified`,
  );
  assertStringIncludes(
    result.stderr,
    `closed 127.0.0.1:${port}: 9 bytes sent, 14 received`,
  );
  assertEquals((await server.finish()).code, 0);
});

Deno.test("cat --tls refuses a server whose CA it does not know, naming --tls-ca; the server keeps serving", async () => {
  const certs = await testCertificates();
  const { server, port } = await startTlsEcho();
  await using _server = server;
  const refused = await runCat(["--tls", "127.0.0.1", String(port)], "x");
  assertCode(refused, 1);
  assertEquals(
    refused.stderr,
    `cat: Cannot verify 127.0.0.1:${port}: its certificate is signed by an unknown CA; pass the CA with --tls-ca FILE (or caCerts)`,
  );
  await server.stderr.waitFor(
    /^echo: Cannot accept TLS from 127\.0\.0\.1:\d+ as it refused our certificate \(UnknownCA\)/,
  );
  const served = await runCat(
    ["--tls-ca", certs.caFile, "127.0.0.1", String(port)],
    "trusted",
  );
  assertCode(served, 0);
  assertEquals(served.stdout, "trusted");
  assertEquals((await server.stop()).code, 0);
});

Deno.test("cat --tls-servername sets the name verified: a wrong one is refused, naming the names", async () => {
  const certs = await testCertificates();
  const { server, port } = await startTlsEcho();
  await using _server = server;
  const wrong = await runCat([
    "--tls-ca",
    certs.caFile,
    "--tls-servername",
    "example.com",
    "127.0.0.1",
    String(port),
  ], "x");
  assertCode(wrong, 1);
  assertEquals(
    wrong.stderr,
    `cat: Cannot verify 127.0.0.1:${port}: its certificate is for localhost, 127.0.0.1, not example.com; connect by one of those names or pass --tls-servername NAME (serverName)`,
  );
  const right = await runCat([
    "--tls-ca",
    certs.caFile,
    "--tls-servername",
    "localhost",
    "127.0.0.1",
    String(port),
  ], "by name");
  assertCode(right, 0);
  assertEquals(right.stdout, "by name");
  assertEquals((await server.stop()).code, 0);
});

Deno.test("cat refuses an expired certificate; --tls-insecure connects anyway, with a warning", async () => {
  const certs = await testCertificates();
  const { server, port } = await startTlsEcho([], certs.expired);
  await using _server = server;
  const expired = await runCat(
    ["--tls-ca", certs.caFile, "127.0.0.1", String(port)],
    "x",
  );
  assertCode(expired, 1);
  assertMatch(
    expired.stderr,
    /^cat: Cannot verify 127\.0\.0\.1:\d+: its certificate expired on 2020-01-02T00:00:00Z/,
  );
  for (const verbose of [[], ["-v"]]) {
    const insecure = await runCat(
      [...verbose, "--tls-insecure", "127.0.0.1", String(port)],
      "unverified",
    );
    assertCode(insecure, 0);
    assertEquals(insecure.stdout, "unverified");
    const lines = insecure.stderr.split("\n");
    assertEquals(
      lines[0],
      "cat: warning: --tls-insecure: the server's certificate is not verified; anyone on the path can read and change this connection",
    );
    if (verbose.length > 0) {
      assertEquals(
        lines[2],
        `TLS with 127.0.0.1:${port}: TLSv1.3, ALPN none, certificate NOT verified (--tls-insecure), peer CN=localhost (issuer CN=sockit test CA)`,
      );
    } else assertEquals(lines.length, 1);
  }
  assertEquals((await server.stop()).code, 0);
});

// ---------------------------------------------------------------------------
// cat as a TLS server

peerTest("cat --listen --tls-cert --tls-key serves a Python ssl client", [
  "python3",
], async () => {
  const certs = await testCertificates();
  await using cat = Child.cat([
    "--listen",
    "--port",
    "0",
    ...serverTls(certs),
  ]);
  const [, port] = await cat.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(TLS\)$/,
  );
  await cat.write("from cat\n");
  await cat.end(); // sent after the handshake, then close_notify
  await using python = Python.spawn(
    `
import ssl
port, ca = int(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context()
context.load_verify_locations(cafile=ca)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"from python\\n")
        data = b""
        while True:
            chunk = tls.recv(100)
            if not chunk:
                break
            data += chunk
        print(data.decode().strip())
`,
    [port!, certs.caFile],
  );
  assertEquals(await python.line(), "from cat");
  const ran = await python.finish();
  assertEquals(ran.code, 0, ran.stderr);
  const result = await cat.finish();
  assertCode(result, 0);
  assertEquals(result.stdout, "from python");
});

Deno.test("mutual TLS: echo --tls-client-ca serves cat with a client certificate and refuses cat without one or with another CA's", async () => {
  const certs = await testCertificates();
  const { server, port } = await startTlsEcho([
    "--tls-client-ca",
    certs.caFile,
  ]);
  await using _server = server;
  const target = ["127.0.0.1", String(port)];
  const none = await runCat(["--tls-ca", certs.caFile, ...target], "x");
  assertCode(none, 1);
  assertStringIncludes(none.stderr, "pass --tls-cert FILE --tls-key FILE");
  await server.stderr.waitFor(
    /^echo: Cannot accept TLS from 127\.0\.0\.1:\d+ as it sent no client certificate, which --tls-client-ca FILE \(clientCa\) requires$/,
  );
  const other = await runCat([
    "--tls-ca",
    certs.caFile,
    "--tls-cert",
    certs.otherClient.certFile,
    "--tls-key",
    certs.otherClient.keyFile,
    ...target,
  ], "x");
  assertCode(other, 1);
  assertStringIncludes(other.stderr, "--tls-cert FILE");
  await server.stderr.waitFor(
    /^echo: Cannot verify the client certificate of 127\.0\.0\.1:\d+: it is not signed by a CA of --tls-client-ca FILE \(clientCa\)(, or is out of its dates \(node:tls does not say which\))?$/,
  );
  const good = await runCat([
    "--tls-ca",
    certs.caFile,
    "--tls-cert",
    certs.client.certFile,
    "--tls-key",
    certs.client.keyFile,
    ...target,
  ], "with a certificate");
  assertCode(good, 0);
  assertEquals(good.stdout, "with a certificate");
  assertEquals((await server.stop()).code, 0);
});

Deno.test("cat --listen --tls-client-ca serves a cat client with a certificate, and -v names it", async () => {
  const certs = await testCertificates();
  await using listener = Child.cat([
    "-v",
    "--listen",
    "--port",
    "0",
    ...serverTls(certs, { clientCa: true }),
  ]);
  const [, port] = await listener.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(TLS, client certificate required\)$/,
  );
  await using client = Child.cat([
    "--tls-ca",
    certs.caFile,
    "--tls-cert",
    certs.client.certFile,
    "--tls-key",
    certs.client.keyFile,
    "localhost",
    port!,
  ]);
  await listener.stderr.waitFor(
    /^TLS with 127\.0\.0\.1:\d+: TLSv1\.3, ALPN none, client certificate verified, peer CN=sockit test client \(issuer CN=sockit test CA\)$/,
  );
  await client.write("hello listener\n");
  await listener.stdout.waitFor(/^hello listener$/);
  await listener.write("hello client\n");
  await client.stdout.waitFor(/^hello client$/);
  await listener.end();
  await client.end();
  assertCode(await client.finish(), 0);
  assertCode(await listener.finish(), 0);
});

Deno.test("cat --listen --tls-alpn agrees on a protocol the client offers, and -v names it on both sides", async () => {
  const certs = await testCertificates();
  await using listener = Child.cat([
    "-v",
    "--listen",
    "--port",
    "0",
    ...serverTls(certs),
    "--tls-alpn",
    "x-first,x-second",
  ]);
  const [, port] = await listener.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(TLS\)$/,
  );
  await listener.end(); // nothing to send: stdin ends at once
  const client = await runCat([
    "-v",
    "--tls-ca",
    certs.caFile,
    "--tls-alpn",
    "x-second",
    "127.0.0.1",
    port!,
  ], "over ALPN");
  assertCode(client, 0);
  assertStringIncludes(client.stderr, "ALPN x-second, certificate verified");
  const served = await listener.finish();
  assertCode(served, 0);
  assertEquals(served.stdout, "over ALPN");
  assertMatch(
    served.stderr,
    /TLS with 127\.0\.0\.1:\d+: (TLSv1\.3|version not reported \(Deno's TLS engine\)), ALPN x-second, no client certificate asked/,
  );
});

Deno.test("echo --quiet does not log failed handshakes, and serves the next client", async () => {
  const certs = await testCertificates();
  const { server, port } = await startTlsEcho(["--quiet"]);
  await using _server = server;
  {
    await using plain = await connect({ hostname: "127.0.0.1", port });
    await plain.write("plain\n");
    for (;;) {
      try {
        if (await plain.read() === null) break;
      } catch {
        break; // reset
      }
    }
  }
  {
    await using conn = await connect({ hostname: "127.0.0.1", port }, {
      tls: { caCerts: [certs.ca] },
    });
    await conn.write("ok");
    assertEquals(decoder.decode(await conn.readExactly(2)), "ok");
  }
  assertEquals((await server.stop()).code, 0);
  assertEquals(
    server.stderr.seen.filter((line) => line.startsWith("echo:")),
    [],
  );
});

// ---------------------------------------------------------------------------
// The time tool, start-up errors, usage

Deno.test("time --tls-cert answers a line over TLS", async () => {
  const certs = await testCertificates();
  const { server, port } = await startServer("time", [
    ...serverTls(certs),
  ]);
  await using _server = server;
  {
    await using conn = await connect({ hostname: "localhost", port }, {
      tls: { caCerts: [certs.ca] },
    });
    await conn.write("what time is it\n");
    const line = decoder.decode(await conn.readUntil("\n"));
    assertMatch(
      line,
      /^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] what time is it\n$/,
    );
  }
  assertEquals((await server.stop()).code, 0);
});

Deno.test("time --tls-client-ca refuses a client without a certificate, logs it, and serves one with", async () => {
  const certs = await testCertificates();
  const { server, port } = await startServer("time", [
    ...serverTls(certs, { clientCa: true }),
  ]);
  await using _server = server;
  const address = { hostname: "localhost", port };
  {
    // TLS 1.3: the refusal reaches the client on its first read.
    await using none = await connect(address, { tls: { caCerts: [certs.ca] } });
    await none.write("what time is it\n");
    const error = await none.read().then(() => null, (error) => error);
    assertStringIncludes(String(error), "it may require a client certificate");
  }
  await server.stderr.waitFor(
    /^time: Cannot accept TLS from 127\.0\.0\.1:\d+ as it sent no client certificate, which --tls-client-ca FILE \(clientCa\) requires$/,
  );
  {
    await using conn = await connect(address, {
      tls: {
        caCerts: [certs.ca],
        cert: certs.client.cert,
        key: certs.client.key,
      },
    });
    await conn.write("and now\n");
    assertMatch(
      decoder.decode(await conn.readUntil("\n")),
      /^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] and now\n$/,
    );
  }
  assertEquals((await server.stop()).code, 0);
});

Deno.test("echo, time and cat refuse unusable TLS files at start-up, naming the file", async () => {
  const certs = await testCertificates();
  const missing = `${certs.dir}/missing.crt`;
  const { certFile, keyFile } = certs.server;
  const cases: [string, string[], number, string][] = [
    // The certificate file does not exist.
    [
      "echo",
      ["--tls-cert", missing, "--tls-key", keyFile],
      1,
      `echo: Cannot read the TLS certificate file ${missing} (--tls-cert FILE, certFile): no such file`,
    ],
    // The key file holds a certificate.
    [
      "time",
      ["--tls-cert", certFile, "--tls-key", certFile],
      1,
      `time: Cannot listen on 127.0.0.1:0 with TLS as ${certFile} holds no PEM private key (--tls-key FILE, keyFile)`,
    ],
    // The key is another certificate's.
    [
      "echo",
      ["--tls-cert", certFile, "--tls-key", certs.client.keyFile],
      1,
      `echo: Cannot listen on 127.0.0.1:0 with TLS as the key in ${certs.client.keyFile} does not match the certificate in ${certFile} (--tls-key FILE, --tls-cert FILE)`,
    ],
    // The client CA file holds a key.
    [
      "echo",
      [
        "--tls-cert",
        certFile,
        "--tls-key",
        keyFile,
        "--tls-client-ca",
        keyFile,
      ],
      1,
      `echo: Cannot use the TLS client CA file ${keyFile} (--tls-client-ca FILE) as it holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`,
    ],
    // A key without its certificate is a usage mistake.
    [
      "time",
      ["--tls-key", keyFile],
      2,
      "time: --tls-key needs --tls-cert: give the certificate the key belongs to; try --help",
    ],
    // A client CA without a certificate to serve.
    [
      "echo",
      ["--tls-client-ca", certs.caFile],
      2,
      "echo: --tls-client-ca needs --tls-cert and --tls-key: a server checks client certificates only over TLS; try --help",
    ],
  ];
  for (const [tool, args, code, message] of cases) {
    const result = await runTool(tool, ["--port", "0", ...args]);
    assertEquals(result.code, code, result.stderr);
    assertEquals(result.stderr.trim(), message);
  }
  const cat = await runCat(["--tls-ca", missing, "127.0.0.1", "1"]);
  assertCode(cat, 1);
  assertEquals(
    cat.stderr,
    `cat: Cannot read the TLS CA file ${missing} (--tls-ca FILE): no such file`,
  );
  const mismatch = await runCat([
    "--tls-cert",
    certs.client.certFile,
    "--tls-key",
    certs.otherClient.keyFile,
    "127.0.0.1",
    "1",
  ]);
  assertCode(mismatch, 1);
  assertEquals(
    mismatch.stderr,
    `cat: Cannot use the TLS key file ${certs.otherClient.keyFile} (--tls-key FILE) as it does not match the certificate in ${certs.client.certFile} (--tls-cert FILE)`,
  );
});

Deno.test("cat refuses TLS flags that do not go together, naming both", async () => {
  const file = "ca.crt";
  const cases: [string[], string][] = [
    // DTLS is not supported.
    [["--tls", "-u", "127.0.0.1", "9"], "--tls and --udp exclude each other"],
    // TLS over a Unix socket.
    [
      ["--tls-ca", file, "--unix", "/tmp/s"],
      "--tls-ca and --unix exclude each other",
    ],
    // The client CA is a listener's.
    [
      ["--tls-client-ca", file, "127.0.0.1", "9"],
      "--tls-client-ca needs --listen",
    ],
    // A key without its certificate, and the other way round.
    [["--tls-key", file, "127.0.0.1", "9"], "--tls-key needs --tls-cert"],
    [["--tls-cert", file, "127.0.0.1", "9"], "--tls-cert needs --tls-key"],
    // Verify with a CA, or verify nothing.
    [
      ["--tls-insecure", "--tls-ca", file, "127.0.0.1", "9"],
      "--tls-insecure and --tls-ca exclude each other",
    ],
    // A listener's TLS is its certificate.
    [
      ["--listen", "--port", "0", "--tls"],
      "--tls with --listen needs --tls-cert FILE and --tls-key FILE",
    ],
    [
      ["--listen", "--port", "0", "--tls-client-ca", file],
      "--tls-client-ca needs --tls-cert and --tls-key",
    ],
    // Client-only flags with --listen.
    [[
      "--listen",
      "--port",
      "0",
      "--tls-cert",
      file,
      "--tls-key",
      file,
      "--tls-ca",
      file,
    ], "--tls-ca and --listen exclude each other"],
    [[
      "--listen",
      "--port",
      "0",
      "--tls-cert",
      file,
      "--tls-key",
      file,
      "--tls-insecure",
    ], "--tls-insecure and --listen exclude each other"],
    // An empty ALPN name.
    [
      ["--tls-alpn", "h2,", "127.0.0.1", "9"],
      "--tls-alpn needs protocol names",
    ],
  ];
  for (const [args, message] of cases) {
    const error = assertThrows(() => parseCatArgs(args), UsageError);
    assert(
      error.message.startsWith(message),
      `${args.join(" ")}: ${error.message}`,
    );
  }
  // Every --tls-* flag implies --tls when connecting.
  const command = parseCatArgs(["--tls-servername", "db", "10.0.0.5", "8443"]);
  assert(command.action === "run");
  assertEquals(command.config.tls?.role, "client");

  const result = await runCat(["--tls", "--udp", "127.0.0.1", "9"]);
  assertCode(result, 2);
  assertEquals(
    result.stderr,
    "cat: --tls and --udp exclude each other: TLS runs over TCP (DTLS is not supported); try --help",
  );
});

Deno.test("--help of cat, echo, time and rexec documents the TLS flags", async () => {
  const cat = await runTool("cat", ["--help"]);
  for (
    const flag of [
      "--tls ",
      "--tls-ca FILE",
      "--tls-servername NAME",
      "--tls-cert FILE",
      "--tls-key FILE",
      "--tls-client-ca FILE",
      "--tls-alpn PROTO",
      "--tls-insecure",
      "verified by default, unlike ncat",
    ]
  ) assertStringIncludes(cat.stdout, flag);
  for (const tool of ["echo", "time"]) {
    const help = await runTool(tool, ["--help"]);
    for (
      const flag of [
        "--tls-cert FILE",
        "--tls-key FILE",
        "--tls-client-ca FILE",
      ]
    ) {
      assertStringIncludes(help.stdout, flag);
    }
  }
  const rexec = await runRexec(["--help"]);
  for (
    const flag of [
      "--tls ",
      "--tls-ca FILE",
      "--tls-servername NAME",
      "--tls-cert FILE",
      "--tls-key FILE",
      "--tls-client-ca FILE",
      "--tls-insecure",
    ]
  ) assertStringIncludes(rexec.stdout, flag);
});

// ---------------------------------------------------------------------------
// rexec

/** Runs `rexec ARGS…` as a client, to the end. */
async function runRexec(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "tools/rexec.ts", ...args],
    cwd: ROOT,
    stdin: "null",
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** `rexec --allow echo` as a server, with `--allow-run` naming echo. */
async function rexecServer(args: readonly string[]): Promise<Child> {
  const { runFlag } = await CommandAllowList.resolve(["echo"]);
  return new Child(Deno.execPath(), [
    "run",
    ...TOOL_PERMISSIONS,
    "--allow-env=PATH",
    runFlag,
    "tools/rexec.ts",
    "--allow",
    "echo",
    ...args,
  ], ROOT);
}

Deno.test("rexec serves commands over TLS with a token, mutual TLS too; a plain client is told, and a token never leaves loopback in clear text", async () => {
  const certs = await testCertificates();
  const tokenFile = `${certs.dir}/rexec.token`;
  await Deno.writeTextFile(tokenFile, "s3cret-token\n");
  const tlsFlags = serverTls(certs);
  {
    await using server = await rexecServer([
      "--port",
      "0",
      "--token-file",
      tokenFile,
      ...tlsFlags,
    ]);
    const [, port] = await server.stderr.waitFor(
      /^listening on 127\.0\.0\.1:(\d+) \(TLS\)$/,
    );
    const target = [
      "--connect",
      `127.0.0.1:${port}`,
      "--token-file",
      tokenFile,
    ];
    const ok = await runRexec([
      ...target,
      "--tls-ca",
      certs.caFile,
      "echo",
      "hi",
    ]);
    assertCode(ok, 0);
    assertEquals(ok.stdout, "hi\n");
    // No CA: the server's certificate is not trusted.
    const unknown = await runRexec([...target, "--tls", "echo", "x"]);
    assertCode(unknown, 1);
    assertStringIncludes(unknown.stderr, "pass the CA with --tls-ca FILE");
    // Plain text to a TLS server.
    const plain = await runRexec([...target, "echo", "x"]);
    assertCode(plain, 1);
    // Deno's TLS server answers plain text with a TLS record (recognised:
    // "the server speaks TLS"); node:tls, the default, hangs up without a
    // word, so the client can only suggest it.
    assertMatch(
      plain.stderr,
      /the server speaks TLS: connect with --tls|if it speaks TLS, connect with --tls/,
    );
    await server.stderr.waitFor(
      /^rexec: Cannot accept TLS from 127\.0\.0\.1:\d+ as it does not speak TLS/,
    );
    // --tls-insecure warns, and works.
    const insecure = await runRexec([...target, "--tls-insecure", "echo", "y"]);
    assertCode(insecure, 0);
    assertEquals(insecure.stdout, "y\n");
    assertStringIncludes(insecure.stderr, "rexec: warning: --tls-insecure:");
    server.child.kill("SIGTERM");
    assertCode(await server.finish(), 0);
  }
  {
    await using server = await rexecServer([
      "--port",
      "0",
      ...tlsFlags,
      "--tls-client-ca",
      certs.caFile,
    ]);
    const [, port] = await server.stderr.waitFor(
      /^listening on 127\.0\.0\.1:(\d+) \(TLS, client certificate required\)$/,
    );
    const withCert = await runRexec([
      "--connect",
      `localhost:${port}`,
      "--tls-ca",
      certs.caFile,
      "--tls-cert",
      certs.client.certFile,
      "--tls-key",
      certs.client.keyFile,
      "echo",
      "mutual",
    ]);
    assertCode(withCert, 0);
    assertEquals(withCert.stdout, "mutual\n");
    server.child.kill("SIGTERM");
    assertCode(await server.finish(), 0);
  }
  // Beyond loopback: the client refuses to send the token in clear text,
  // the server refuses a token without TLS (exit 2, before binding).
  const clear = await runRexec([
    "--connect",
    "192.0.2.1:7070",
    "--token-file",
    tokenFile,
    "echo",
  ]);
  assertCode(clear, 2);
  assertStringIncludes(
    clear.stderr,
    "rexec: Cannot send the token to 192.0.2.1:7070 in clear text as 192.0.2.1 is not loopback",
  );
  await using exposed = await rexecServer([
    "--host",
    "0.0.0.0",
    "--port",
    "0",
    "--token-file",
    tokenFile,
  ]);
  const refused = await exposed.finish();
  assertCode(refused, 2);
  assertStringIncludes(
    refused.stderr,
    "with a token but without TLS as 0.0.0.0 is not loopback",
  );
});

Deno.test("rexec --tls-servername sets the name verified: a wrong one fails naming the names, the right one works", async () => {
  const certs = await testCertificates();
  await using server = await rexecServer([
    "--port",
    "0",
    ...serverTls(certs),
  ]);
  const [, port] = await server.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(TLS\)$/,
  );
  const target = ["--connect", `127.0.0.1:${port}`, "--tls-ca", certs.caFile];
  const wrong = await runRexec([
    ...target,
    "--tls-servername",
    "example.com",
    "echo",
    "x",
  ]);
  assertCode(wrong, 1);
  assertEquals(
    wrong.stderr.trim(),
    `rexec: Cannot verify 127.0.0.1:${port}: its certificate is for localhost, 127.0.0.1, not example.com; connect by one of those names or pass --tls-servername NAME (serverName)`,
  );
  const right = await runRexec([
    ...target,
    "--tls-servername",
    "localhost",
    "echo",
    "named",
  ]);
  assertCode(right, 0);
  assertEquals(right.stdout, "named\n");
  server.child.kill("SIGTERM");
  assertCode(await server.finish(), 0);
});

Deno.test("rexec --tls-client-ca refuses a client without a certificate, logs it and keeps serving", async () => {
  const certs = await testCertificates();
  await using server = await rexecServer([
    "--port",
    "0",
    ...serverTls(certs, { clientCa: true }),
  ]);
  const [, port] = await server.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(TLS, client certificate required\)$/,
  );
  const target = ["--connect", `127.0.0.1:${port}`, "--tls-ca", certs.caFile];
  const none = await runRexec([...target, "echo", "x"]);
  assertCode(none, 1);
  assertStringIncludes(
    none.stderr,
    "it may require a client certificate: pass --tls-cert FILE --tls-key FILE (cert, key)",
  );
  await server.stderr.waitFor(
    /^rexec: Cannot accept TLS from 127\.0\.0\.1:\d+ as it sent no client certificate, which --tls-client-ca FILE \(clientCa\) requires$/,
  );
  // Still serving: a client with a certificate (and --tls-servername, so
  // the node:tls client engine, which adds --tls-ca to the roots).
  const withCert = await runRexec([
    ...target,
    "--tls-cert",
    certs.client.certFile,
    "--tls-key",
    certs.client.keyFile,
    "--tls-servername",
    "localhost",
    "echo",
    "still",
  ]);
  assertCode(withCert, 0);
  assertEquals(withCert.stdout, "still\n");
  server.child.kill("SIGTERM");
  assertCode(await server.finish(), 0);
});
