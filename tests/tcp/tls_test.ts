/**
 * TLS through `connect()`, `listen()` and `Connection`, sockit against
 * sockit over loopback with throwaway certificates (made by openssl at test
 * time, `tests/_tls.ts`): every read and write path over each pair of
 * engines (Deno's TLS and `node:tls`, client and server), half-close,
 * graceful shutdown mid-transfer, `conn.tls`, STARTTLS on both sides, each
 * kind of `TlsError`, handshake timeouts and bad files at start-up.
 *
 * @module
 */
import { lines } from "../../framing/mod.ts";
import {
  connect,
  type Connection,
  listen,
  type ListenOptions,
  TimeoutError,
  type TlsClientOptions,
  TlsError,
  type TlsServerOptions,
} from "../../tcp/mod.ts";
import { testCertificates } from "../_tls.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_utils.ts";
import {
  bytes,
  deferred,
  echo,
  pattern,
  readAll,
  text,
  waitFor,
  within,
} from "./_helpers.ts";

const certs = await testCertificates();
const { ca, server: serverPair, client: clientPair } = certs;

/** A server and a client engine to run the same test over. */
interface Pair {
  name: string;
  server: TlsServerOptions;
  client: TlsClientOptions;
  /** `conn.tls.protocol` is known on the server's (node:tls) side. */
  nodeServer: boolean;
  /** And on the client's. */
  nodeClient: boolean;
}

const PAIRS: Pair[] = [
  {
    // The defaults: node:tls serves, Deno.startTls connects.
    name: "node:tls server, Deno client",
    server: { cert: serverPair.cert, key: serverPair.key },
    client: { caCerts: [ca] },
    nodeServer: true,
    nodeClient: false,
  },
  {
    name: "Deno server, Deno client",
    server: { cert: serverPair.cert, key: serverPair.key, engine: "deno" },
    client: { caCerts: [ca] },
    nodeServer: false,
    nodeClient: false,
  },
  {
    // A client certificate with a serverName that is not the hostname
    // (127.0.0.1) takes the node:tls client.
    name: "Deno server, node:tls client",
    server: { cert: serverPair.cert, key: serverPair.key, engine: "deno" },
    client: {
      caCerts: [ca],
      serverName: "localhost",
      cert: clientPair.cert,
      key: clientPair.key,
    },
    nodeServer: false,
    nodeClient: true,
  },
  {
    // Mutual TLS; a client certificate for the hostname itself takes
    // Deno.connectTls.
    name: "mutual TLS server, Deno client",
    server: { cert: serverPair.cert, key: serverPair.key, clientCa: ca },
    client: { caCerts: [ca], cert: clientPair.cert, key: clientPair.key },
    nodeServer: true,
    nodeClient: false,
  },
  {
    name: "mutual TLS server, node:tls client",
    server: { cert: serverPair.cert, key: serverPair.key, clientCa: ca },
    client: {
      caCerts: [ca],
      serverName: "localhost",
      cert: clientPair.cert,
      key: clientPair.key,
    },
    nodeServer: true,
    nodeClient: true,
  },
];

/** listen() options for TLS that report errors into `errors`. */
function tlsListen(
  tls: TlsServerOptions,
  errors: unknown[] = [],
  extra: ListenOptions = {},
): ListenOptions {
  return { tls, onError: (error) => errors.push(error), ...extra };
}

/**
 * Asserts that `error.cause` is the TLS engine's own error: an `Error` that
 * is not a `TlsError`, whose message or code (node:tls) matches `pattern`.
 */
function assertCause(error: TlsError, pattern: RegExp): void {
  const cause = error.cause;
  assertInstanceOf(cause, Error);
  assert(!(cause instanceof TlsError), "the cause is a TlsError");
  const code = String((cause as { code?: unknown }).code ?? "");
  assert(
    pattern.test(`${cause.message} ${code}`),
    `cause: ${cause.message} ${code}`,
  );
}

/** Waits for the next error `errors` receives. */
async function nextError(errors: unknown[], count = 1): Promise<unknown> {
  await waitFor(() => errors.length >= count, "the server's onError");
  return errors[count - 1];
}

// ---------------------------------------------------------------------------
// Every read and write path, over each pair of engines

for (const pair of PAIRS) {
  Deno.test(`${pair.name}: read, readInto, readExactly and readUntil over TLS`, async () => {
    await using server = listen({ port: 0 }, echo, tlsListen(pair.server));
    await using conn = await connect(server.addr, { tls: pair.client });
    await conn.write("hello\nworld!");
    assertEquals(text(await conn.readUntil("\n")), "hello\n");
    assertEquals(text(await conn.readExactly(6)), "world!");
    await conn.write("abc");
    const buffer = new Uint8Array(64);
    let got = "";
    while (got.length < 3) {
      const n = await conn.readInto(buffer);
      assert(n !== null);
      got += text(buffer.subarray(0, n));
    }
    assertEquals(got, "abc");
    await conn.write("xyz");
    assertEquals(text(await conn.readExactly(3)), "xyz");
    await conn.write("12345");
    let read = "";
    while (read.length < 5) read += text(await conn.read(2));
    assertEquals(read, "12345");
  });

  Deno.test(`${pair.name}: conn.tls on both sides says what each engine knows`, async () => {
    const seen = deferred<Connection["tls"]>();
    await using server = listen({ port: 0 }, async (conn) => {
      seen.resolve(conn.tls);
      await echo(conn);
    }, tlsListen({ ...pair.server, alpnProtocols: ["sockit/1", "x"] }));
    await using conn = await connect(server.addr, {
      tls: { ...pair.client, alpnProtocols: ["sockit/1"] },
    });
    const client = conn.tls;
    assert(client !== null);
    assertEquals(client.alpnProtocol, "sockit/1");
    assertEquals(client.verified, true);
    if (pair.nodeClient) {
      assertEquals(client.protocol, "TLSv1.3");
      assertEquals(client.peerCertificate?.subject, "CN=localhost");
      assertEquals(client.peerCertificate?.issuer, "CN=sockit test CA");
      assert(Date.parse(client.peerCertificate!.validTo) > Date.now());
    } else {
      assertEquals([client.protocol, client.peerCertificate], [null, null]);
    }
    const onServer = await seen.promise;
    assert(onServer !== null);
    assertEquals(onServer.alpnProtocol, "sockit/1");
    assertEquals(onServer.protocol, pair.nodeServer ? "TLSv1.3" : null);
    if (pair.server.clientCa !== undefined) {
      assertEquals(onServer.verified, true);
      assertEquals(
        onServer.peerCertificate?.subject,
        "CN=sockit test client",
      );
    } else {
      assertEquals(onServer.verified, false); // no client certificates asked
      assertEquals(onServer.peerCertificate, null);
    }
  });

  Deno.test(`${pair.name}: 1 MB each way arrives intact (backpressure both ways)`, async () => {
    const SIZE = 1 << 20;
    await using server = listen({ port: 0 }, echo, tlsListen(pair.server));
    await using conn = await connect(server.addr, { tls: pair.client });
    const payload = pattern(7, SIZE);
    const [, echoed] = await Promise.all([
      conn.write(payload).then(() => conn.shutdown("write")),
      readAll(conn),
    ]);
    assertEquals(echoed.length, SIZE);
    assert(echoed.every((byte, i) => byte === payload[i]), "bytes differ");
  });

  Deno.test(`${pair.name}: half-close — the server reads EOF and still answers`, async () => {
    await using server = listen({ port: 0 }, async (conn) => {
      const request = await readAll(conn); // until our shutdown("write")
      await conn.write(`got ${request.length} bytes`);
    }, tlsListen(pair.server));
    await using conn = await connect(server.addr, { tls: pair.client });
    await conn.write("twelve bytes");
    await conn.shutdown("write");
    assertEquals(text(await readAll(conn)), "got 12 bytes");
  });

  Deno.test(`${pair.name}: for await, framed lines and a read timeout over TLS`, async () => {
    await using server = listen({ port: 0 }, async (conn) => {
      const framed = conn.framed(lines());
      for await (const line of framed) {
        if (text(line) === "quiet") continue; // answers nothing
        await framed.send(line.toReversed());
      }
    }, tlsListen(pair.server));
    await using conn = await connect(server.addr, {
      tls: pair.client,
      timeout: 10_000,
    });
    const framed = conn.framed(lines());
    await framed.send("abc");
    assertEquals(text(await framed.receive()), "cba");
    conn.setTimeout(100);
    await framed.send("quiet");
    await assertRejects(() => framed.receive(), TimeoutError);
    await framed.sendAll(["one", "two"]);
    conn.setTimeout(null);
    assertEquals(text(await framed.receive()), "eno");
    assertEquals(text(await framed.receive()), "owt");
    await conn.shutdown("write");
    const rest: Uint8Array[] = [];
    for await (const chunk of conn) rest.push(chunk);
    assertEquals(rest, []);
  });
}

for (const pair of PAIRS) {
  Deno.test(`${pair.name}: a read timeout mid-message over TLS loses no bytes, the next read returns them`, async () => {
    const SIZE = 64 * 1024; // past the shared read block: read in place
    const big = pattern(3, SIZE);
    const [go, goOn] = [deferred(), deferred()];
    await using server = listen({ port: 0 }, async (conn) => {
      await conn.write("hel");
      await conn.write(big.subarray(0, 1000));
      await go.promise;
      await conn.write(big.subarray(1000));
      await conn.write("lo\nworld");
      await goOn.promise;
      await conn.write("!");
      await readAll(conn);
    }, tlsListen(pair.server));
    await using conn = await connect(server.addr, { tls: pair.client });
    // readExactly(): 1003 of 3 + SIZE bytes came, then nothing.
    conn.setTimeout(100);
    await assertRejects(() => conn.readExactly(3 + SIZE), TimeoutError);
    go.resolve();
    conn.setTimeout(5000);
    const first = await conn.readExactly(3 + SIZE);
    assertEquals(text(first.subarray(0, 3)), "hel");
    assert(
      first.subarray(3).every((byte, i) => byte === big[i]),
      "bytes differ",
    );
    // readUntil(): "lo\n" was there; then "world" and no "!" yet.
    assertEquals(text(await conn.readUntil("\n")), "lo\n");
    conn.setTimeout(100);
    await assertRejects(() => conn.readUntil("!"), TimeoutError);
    goOn.resolve();
    conn.setTimeout(5000);
    assertEquals(text(await conn.readUntil("!")), "world!");
  });
}

// ---------------------------------------------------------------------------
// Graceful shutdown

for (const pair of [PAIRS[0]!, PAIRS[1]!, PAIRS[4]!]) {
  Deno.test(`${pair.name}: a graceful shutdown mid-transfer loses no acknowledged request`, async () => {
    const CLIENTS = 5;
    const PAD = "x".repeat(16 * 1024); // each request spans TLS records
    const acked = new Map<string, string[]>();
    const busy = deferred();
    await using server = listen({ port: 0 }, async (conn) => {
      const framed = conn.framed(lines({ maxFrameSize: 64 * 1024 }));
      const mine: string[] = [];
      for await (const line of framed) {
        const [client, n] = text(line)!.split(" ");
        if (mine.length === 0) acked.set(client!, mine);
        mine.push(n!);
        await framed.send(`ack ${n} ${PAD}`);
        if (acked.size === CLIENTS && mine.length === 10) busy.resolve();
      }
    }, tlsListen(pair.server));
    const clients = Array.from({ length: CLIENTS }, async (_, index) => {
      await using conn = await connect(server.addr, { tls: pair.client });
      const framed = conn.framed(lines({ maxFrameSize: 64 * 1024 }));
      const received: string[] = [];
      try {
        for (let n = 0;; n++) {
          await framed.send(`c${index} ${n} ${PAD}`);
          const ack = await framed.receive();
          if (ack === null) break; // the server finished with us
          received.push(text(ack)!.split(" ")[1]!);
        }
      } catch (error) {
        // A request sent as the server closed: reset, never acknowledged.
        if (
          !(error instanceof Deno.errors.ConnectionReset ||
            error instanceof Deno.errors.BrokenPipe)
        ) throw error;
      }
      return { name: `c${index}`, received };
    });
    await within(busy.promise, 10_000, "ten requests from each client");
    await within(server.shutdown({ gracePeriod: 500 }), 5000, "shutdown");
    for (const { name, received } of await Promise.all(clients)) {
      assertEquals(received, acked.get(name), `${name}'s acknowledgements`);
      assert(received.length >= 10);
    }
  });
}

// ---------------------------------------------------------------------------
// Certificates refused

Deno.test("a server signed by an unknown CA fails connect() with kind unknown-issuer, with either client engine", async () => {
  const errors: unknown[] = [];
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: serverPair.cert, key: serverPair.key }, errors),
  );
  for (
    const client of [
      {}, // Deno's TLS, the system roots only
      { caCerts: [certs.otherCa] },
      {
        caCerts: [certs.otherCa],
        cert: clientPair.cert,
        key: clientPair.key,
        serverName: "localhost",
      }, // node:tls
    ] satisfies TlsClientOptions[]
  ) {
    const error = await assertRejects(
      () => connect(server.addr, { tls: client }),
      TlsError,
    );
    assertEquals(error.kind, "unknown-issuer");
    assertEquals(error.peer, `127.0.0.1:${server.addr.port}`);
    assertStringIncludes(error.message, "--tls-ca FILE (or caCerts)");
    // The cause is the engine's own error, untouched.
    assertCause(error, /UnknownIssuer|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  }
  // The server saw each client refuse its certificate (Deno's TLS says so
  // with an alert, node:tls hangs up), and kept serving.
  await waitFor(() => errors.length === 3, "three refusals");
  assertEquals(
    errors.map((error) => error instanceof TlsError && error.kind),
    ["bad-certificate", "bad-certificate", "closed-during-handshake"],
  );
  await using good = await connect(server.addr, { tls: { caCerts: [ca] } });
  await good.write("still here");
  assertEquals(text(await good.readExactly(10)), "still here");
});

Deno.test("caCerts are added to the roots Deno trusts (DENO_CERT, or the system store), not put in their place, with each client engine", async () => {
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: serverPair.cert, key: serverPair.key }),
  );
  // The server's CA becomes a root of a child process; the child's clients
  // are given only the other CA, so they verify only if it was added.
  const script = `
    import { connect, TlsError } from ${
    JSON.stringify(new URL("../../tcp/mod.ts", import.meta.url).href)
  };
    const [port, caFile, cert, key] = Deno.args;
    const caCerts = [Deno.readTextFileSync(caFile)];
    const clients = {
      "Deno.startTls": { caCerts },
      "Deno.connectTls": { caCerts, certFile: cert, keyFile: key },
      "node:tls": { caCerts, certFile: cert, keyFile: key, serverName: "localhost" },
    };
    for (const [engine, { certFile, keyFile, ...tls }] of Object.entries(clients)) {
      if (certFile !== undefined) {
        tls.cert = Deno.readTextFileSync(certFile);
        tls.key = Deno.readTextFileSync(keyFile);
      }
      try {
        await using conn = await connect({ hostname: "127.0.0.1", port: Number(port) }, { tls });
        console.log(engine, conn.tls.verified ? "verified" : "unverified");
      } catch (error) {
        console.log(engine, error instanceof TlsError ? error.kind : String(error));
      }
    }
  `;
  const run = async (env: Record<string, string>) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--no-config",
        "--import-map",
        new URL("../../deno.json", import.meta.url).pathname,
        script,
        String(server.addr.port),
        certs.otherCaFile,
        clientPair.certFile,
        clientPair.keyFile,
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    return new TextDecoder().decode(stdout).trim().split("\n");
  };
  const engines = ["Deno.startTls", "Deno.connectTls", "node:tls"];
  const cases: [string, Record<string, string>, string][] = [
    // Deno's --cert as an environment variable: one more root.
    ["DENO_CERT", { DENO_CERT: certs.caFile }, "verified"],
    // The system store, which rustls-native-certs reads from SSL_CERT_FILE
    // on Linux, instead of Deno's bundled Mozilla roots.
    ...(Deno.build.os === "linux"
      ? [[
        "the system store",
        { DENO_TLS_CA_STORE: "system", SSL_CERT_FILE: certs.caFile },
        "verified",
      ] as [string, Record<string, string>, string]]
      : []),
    // Neither: the other CA alone does not verify the server.
    ["no root", {}, "unknown-issuer"],
  ];
  const results = await Promise.all(cases.map(([, env]) => run(env)));
  cases.forEach(([why, , outcome], index) => {
    assertEquals(
      results[index],
      engines.map((engine) => `${engine} ${outcome}`),
      why,
    );
  });
});

Deno.test("a certificate for other names fails with kind name-mismatch, naming the names it is for", async () => {
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: serverPair.cert, key: serverPair.key }),
  );
  for (
    const client of [
      { caCerts: [ca], serverName: "example.com" },
      {
        caCerts: [ca],
        serverName: "example.com",
        unsafelyDisableVerification: false,
        cert: clientPair.cert,
        key: clientPair.key,
      },
    ] satisfies TlsClientOptions[]
  ) {
    const error = await assertRejects(
      () => connect(server.addr, { tls: client }),
      TlsError,
    );
    assertEquals(error.kind, "name-mismatch");
    assertCause(error, /not valid for name|ERR_TLS_CERT_ALTNAME_INVALID/);
    assertEquals(
      error.message,
      `Cannot verify 127.0.0.1:${server.addr.port}: its certificate is for localhost, 127.0.0.1, not example.com; connect by one of those names or pass --tls-servername NAME (serverName)`,
    );
  }
  // By a name it is for: the hostname of the address, or serverName.
  await using byName = await connect(
    { hostname: "localhost", port: server.addr.port },
    { tls: { caCerts: [ca] } },
  );
  await byName.write("ok");
  assertEquals(text(await byName.readExactly(2)), "ok");
});

Deno.test("an expired certificate fails with kind expired and its date", async () => {
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: certs.expired.cert, key: certs.expired.key }),
  );
  const error = await assertRejects(
    () => connect(server.addr, { tls: { caCerts: [ca] } }),
    TlsError,
  );
  assertEquals(error.kind, "expired");
  assertStringIncludes(
    error.message,
    "its certificate expired on 2020-01-02T00:00:00Z",
  );
  // node:tls in Deno does not tell an expired certificate from an unknown
  // CA: the message says both.
  const vague = await assertRejects(
    () =>
      connect(server.addr, {
        tls: {
          caCerts: [ca],
          serverName: "localhost",
          cert: clientPair.cert,
          key: clientPair.key,
        },
      }),
    TlsError,
  );
  assertEquals(vague.kind, "unknown-issuer");
  assertStringIncludes(vague.message, "or is out of its dates");
});

Deno.test("a client certificate whose key does not match is a config TlsError before any connection", async () => {
  let accepted = 0;
  await using server = listen({ port: 0 }, () => {
    accepted++;
  });
  const error = await assertRejects(
    () =>
      connect(server.addr, {
        tls: {
          caCerts: [ca],
          cert: certs.client.cert,
          key: certs.otherClient.key,
        },
      }),
    TlsError,
  );
  assertEquals(error.kind, "config");
  assertStringIncludes(
    error.message,
    "Cannot use the client certificate as its key does not match its certificate",
  );
  assertEquals([server.acceptedConnections, accepted], [0, 0]);
});

Deno.test("unsafelyDisableVerification accepts an expired certificate and says it is unverified", async () => {
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: certs.expired.cert, key: certs.expired.key }),
  );
  await using conn = await connect(server.addr, {
    tls: { unsafelyDisableVerification: true, serverName: "anything" },
  });
  assertEquals(conn.tls?.verified, false);
  assertEquals(conn.tls?.peerCertificate?.validTo, "2020-01-02T00:00:00Z");
  await conn.write("risky");
  assertEquals(text(await conn.readExactly(5)), "risky");
});

Deno.test("mutual TLS: a client without a certificate, or with one from another CA, is refused and the server keeps serving", async () => {
  const errors: unknown[] = [];
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen(
      { cert: serverPair.cert, key: serverPair.key, clientCa: ca },
      errors,
    ),
  );
  // TLS 1.3: the client's handshake ends before the server checks its
  // certificate, so the client learns it on its first read.
  const none = await connect(server.addr, { tls: { caCerts: [ca] } });
  try {
    const error = await assertRejects(() => none.read(), TlsError);
    assertEquals(error.kind, "closed-during-handshake");
    assertStringIncludes(
      error.message,
      "it may require a client certificate: pass --tls-cert FILE --tls-key FILE (cert, key)",
    );
  } finally {
    none.close();
  }
  const missing = await nextError(errors);
  assertInstanceOf(missing, TlsError);
  assertEquals(missing.kind, "certificate-required");
  assertStringIncludes(missing.message, "--tls-client-ca FILE (clientCa)");

  const other = await connect(server.addr, {
    tls: {
      caCerts: [ca],
      cert: certs.otherClient.cert,
      key: certs.otherClient.key,
    },
  });
  try {
    const error = await assertRejects(() => other.read(), TlsError);
    assertStringIncludes(error.message, "it may refuse our client certificate");
  } finally {
    other.close();
  }
  const refused = await nextError(errors, 2);
  assertInstanceOf(refused, TlsError);
  assertEquals(refused.kind, "unknown-issuer");
  assertStringIncludes(
    refused.message,
    "is not signed by a CA of --tls-client-ca FILE (clientCa)",
  );

  await using good = await connect(server.addr, {
    tls: { caCerts: [ca], cert: clientPair.cert, key: clientPair.key },
  });
  await good.write("mine");
  assertEquals(text(await good.readExactly(4)), "mine");
  assertEquals(server.connections, 1);
});

Deno.test("no ALPN protocol in common fails both sides with kind no-application-protocol", async () => {
  for (const engine of ["deno", "node"] as const) {
    const errors: unknown[] = [];
    await using server = listen(
      { port: 0 },
      echo,
      tlsListen({
        cert: serverPair.cert,
        key: serverPair.key,
        alpnProtocols: ["h2"],
        engine,
      }, errors),
    );
    const error = await assertRejects(
      () =>
        connect(server.addr, {
          tls: { caCerts: [ca], alpnProtocols: ["sockit/1"] },
        }),
      TlsError,
    );
    if (engine === "deno") {
      assertEquals(error.kind, "no-application-protocol");
      assertStringIncludes(
        error.message,
        "as no ALPN protocol was agreed (offered: sockit/1)",
      );
    } else {
      // node:tls hangs up without the alert that would say why.
      assertEquals(error.kind, "closed-during-handshake");
      assertStringIncludes(
        error.message,
        "one of the ALPN protocols offered (sockit/1; --tls-alpn LIST, alpnProtocols)",
      );
    }
    const seen = await nextError(errors);
    assertInstanceOf(seen, TlsError);
    assertEquals(seen.kind, "no-application-protocol");
    assertStringIncludes(
      seen.message,
      "(ours: h2; --tls-alpn LIST, alpnProtocols)",
    );
  }
});

// ---------------------------------------------------------------------------
// Plain text against TLS, and silent clients

Deno.test("a plain-text client fails its handshake with kind not-tls and the TLS server keeps serving", async () => {
  for (const pair of [PAIRS[0]!, PAIRS[1]!, PAIRS[3]!]) {
    const errors: unknown[] = [];
    await using server = listen(
      { port: 0 },
      echo,
      tlsListen(pair.server, errors),
    );
    {
      await using plain = await connect(server.addr);
      await plain.write("GET / HTTP/1.0\r\n\r\n");
      await readAll(plain).catch(() => {}); // an alert, or nothing
    }
    const error = await nextError(errors);
    assertInstanceOf(error, TlsError);
    assertEquals(error.kind, "not-tls", pair.name);
    assertStringIncludes(
      error.message,
      "as it does not speak TLS (it sent plain text); the client must connect with --tls (or tls)",
    );
    assertEquals(server.connections, 0);
    await using good = await connect(server.addr, { tls: pair.client });
    await good.write("after");
    assertEquals(text(await good.readExactly(5)), "after");
  }
});

Deno.test("a TLS client against a plain-text server fails with kind not-tls and the server keeps serving", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    const request = await conn.read();
    await conn.write(`220 plain here (${request?.length ?? 0} bytes)\r\n`);
  });
  const error = await assertRejects(
    () => connect(server.addr, { tls: { caCerts: [ca] } }),
    TlsError,
  );
  assertEquals(error.kind, "not-tls");
  assertEquals(
    error.message,
    `Cannot start TLS with 127.0.0.1:${server.addr.port} as it does not speak TLS (it sent plain text); connect without --tls, or check the port`,
  );
  await using plain = await connect(server.addr);
  await plain.write("hi");
  assertStringIncludes(text(await plain.readUntil("\n"))!, "220 plain here");
});

Deno.test("a client that never handshakes is dropped after handshakeTimeout, never reaches the handler and frees its maxConnections slot", async () => {
  const errors: unknown[] = [];
  let handled = 0;
  await using server = listen(
    { port: 0 },
    async (conn) => {
      handled++;
      await echo(conn);
    },
    tlsListen(
      { cert: serverPair.cert, key: serverPair.key, handshakeTimeout: 300 },
      errors,
      { maxConnections: 1 },
    ),
  );
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    await waitFor(() => server.connections === 1, "the silent client's slot");
    // The slot is taken: the next client is turned away at once.
    const turnedAway = await assertRejects(
      () => connect(server.addr, { tls: { caCerts: [ca] } }),
      TlsError,
    );
    assertEquals(turnedAway.kind, "closed-during-handshake");
    assertEquals(server.rejectedConnections, 1);
    const error = await nextError(errors);
    assertInstanceOf(error, TlsError);
    assertEquals(error.kind, "handshake-timeout");
    assertStringIncludes(error.message, "within 300 ms");
    assertEquals(server.connections, 0);
    // The silent client finds its connection closed.
    assertEquals(await silent.read(new Uint8Array(8)), null);
  } finally {
    silent.close();
  }
  await using good = await connect(server.addr, { tls: { caCerts: [ca] } });
  await good.write("slot");
  assertEquals(text(await good.readExactly(4)), "slot");
  assertEquals(handled, 1);
});

Deno.test("idleTimeout closes a silent TLS client on both server engines, and the handler's read says why", async () => {
  for (const engine of ["node", "deno"] as const) {
    const handlerSaw = deferred<unknown>();
    await using server = listen(
      { port: 0 },
      async (conn) => {
        await conn.write(await conn.readExactly(5));
        handlerSaw.resolve(await conn.read().catch((error) => error));
      },
      tlsListen(
        { cert: serverPair.cert, key: serverPair.key, engine },
        [],
        { idleTimeout: 200 },
      ),
    );
    await using conn = await connect(server.addr, { tls: { caCerts: [ca] } });
    await conn.write("hello");
    assertEquals(text(await conn.readExactly(5)), "hello");
    const silentSince = performance.now();
    // Silent now: the server closes the connection, which reads as EOF.
    assertEquals(await within(readAll(conn), 5000, engine), new Uint8Array());
    const silentFor = performance.now() - silentSince;
    assert(silentFor >= 150, `${engine}: closed after ${silentFor} ms`);
    const error = await handlerSaw.promise;
    assertInstanceOf(error, TimeoutError, engine);
    assertStringIncludes(error.message, "idle for 200 ms");
    await waitFor(() => server.connections === 0, "the connection's end");
  }
});

Deno.test("a client's handshakeTimeout and signal bound a silent server", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    await readAll(conn); // takes the hello, never answers
  });
  const started = performance.now();
  const timedOut = await assertRejects(
    () => connect(server.addr, { tls: { handshakeTimeout: 200 } }),
    TlsError,
  );
  assertEquals(timedOut.kind, "handshake-timeout");
  assert(performance.now() - started < 2000);
  const reason = new Error("user gave up");
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 100);
  const aborted = await assertRejects(() =>
    connect(server.addr, { tls: true, signal: controller.signal })
  );
  assertEquals(aborted, reason);
});

Deno.test("a server shutting down drops clients still in their handshake", async () => {
  const errors: unknown[] = [];
  const server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: serverPair.cert, key: serverPair.key }, errors),
  );
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    await waitFor(() => server.connections === 1, "the handshake");
    await within(server.shutdown(), 2000, "shutdown");
    assertEquals(server.connections, 0);
    assertEquals(errors, []); // not an error: the server is going away
    assertEquals(await silent.read(new Uint8Array(8)), null);
  } finally {
    silent.close();
  }
});

// ---------------------------------------------------------------------------
// STARTTLS

Deno.test("STARTTLS: a sockit client upgrades against a sockit startTls server, both sides", async () => {
  const onServer = deferred<Connection["tls"]>();
  await using server = listen({ port: 0 }, async (plain) => {
    await plain.write("220 ready\r\n");
    assertEquals(text(await plain.readUntil("\r\n")), "STARTTLS\r\n");
    await plain.write("220 go ahead\r\n");
    const conn = await plain.startTls();
    onServer.resolve(conn.tls);
    await echo(conn);
  }, {
    startTls: { cert: serverPair.cert, key: serverPair.key, clientCa: ca },
  });
  await using plain = await connect({
    hostname: "localhost",
    port: server.addr.port,
  });
  assertEquals(plain.tls, null);
  assertEquals(text(await plain.readUntil("\r\n")), "220 ready\r\n");
  await plain.write("STARTTLS\r\n");
  assertEquals(text(await plain.readUntil("\r\n")), "220 go ahead\r\n");
  // Verified for "localhost", the name connect() was given.
  const conn = await plain.startTls({
    caCerts: [ca],
    cert: clientPair.cert,
    key: clientPair.key,
  });
  assertEquals(conn.tls?.verified, true);
  assertEquals(plain.closed, true);
  await assertRejects(() => plain.read());
  await conn.write("secret");
  await conn.shutdown("write");
  assertEquals(text(await readAll(conn)), "secret");
  const info = await onServer.promise;
  assertEquals(info?.peerCertificate?.subject, "CN=sockit test client");
  // Closing the consumed connection (await using) closes its successor.
  plain.close();
  assertEquals(conn.closed, true);
});

Deno.test("STARTTLS: a server shutting down ends a handshake its handler is waiting for", async () => {
  const outcome = deferred<unknown>();
  const server = listen({ port: 0 }, async (plain) => {
    await plain.write("220 ready\r\n");
    outcome.resolve(await plain.startTls().catch((error) => error));
  }, { startTls: { cert: serverPair.cert, key: serverPair.key } });
  await using plain = await connect(server.addr);
  await plain.readUntil("\r\n"); // and never starts the handshake
  await waitFor(() => server.connections === 1, "the handler");
  await within(server.shutdown({ gracePeriod: 100 }), 2000, "the shutdown");
  const error = await outcome.promise;
  assertInstanceOf(error, Deno.errors.BadResource);
  assertStringIncludes(error.message, "the connection was closed");
  assertEquals(await plain.read(), null);
});

Deno.test("STARTTLS is refused while bytes are unread or a read is in flight, and on a server without startTls", async () => {
  const refusal = deferred<unknown>();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("220 ready\r\nearly bytes");
    refusal.resolve(await conn.startTls().catch((error) => error));
    await readAll(conn);
  });
  await using plain = await connect(server.addr);
  await plain.readUntil("\r\n");
  const unread = await assertRejects(() => plain.startTls(), TypeError);
  assertStringIncludes(unread.message, "bytes arrived that were not read yet");
  await plain.readExactly(11);
  plain.setTimeout(50);
  await assertRejects(() => plain.read(), TimeoutError);
  const inFlight = await assertRejects(() => plain.startTls(), TypeError);
  assertStringIncludes(inFlight.message, "a read is in progress");
  const serverSide = await refusal.promise;
  assertInstanceOf(serverSide, TypeError);
  assertStringIncludes(serverSide.message, "no startTls option");
});

Deno.test("startTls() on a TLS connection or a Unix socket is a TypeError", async () => {
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: serverPair.cert, key: serverPair.key }),
  );
  await using conn = await connect(server.addr, { tls: { caCerts: [ca] } });
  await assertRejects(() => conn.startTls(), TypeError, "TLS already");
  assertThrows(
    () => listen({ path: "/tmp/x.sock" }, echo, { tls: { cert: "", key: "" } }),
    TypeError,
    "TLS is TCP only",
  );
  await assertRejects(
    () => connect({ path: "/tmp/x.sock" }, { tls: true }),
    TypeError,
    "TLS is TCP only",
  );
});

// ---------------------------------------------------------------------------
// Start-up

Deno.test("listen() refuses bad certificate and key files at start-up, naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockit_tls_bad_" });
  try {
    const notPem = `${dir}/not.pem`;
    await Deno.writeTextFile(notPem, "hello\n");
    const cases: {
      tls: TlsServerOptions;
      file: string | undefined;
      says: string;
    }[] = [
      // A missing certificate file.
      {
        tls: { certFile: `${dir}/missing.crt`, keyFile: serverPair.keyFile },
        file: `${dir}/missing.crt`,
        says:
          `Cannot read the TLS certificate file ${dir}/missing.crt (--tls-cert FILE, certFile): no such file`,
      },
      // A certificate file that is not PEM.
      {
        tls: { certFile: notPem, keyFile: serverPair.keyFile },
        file: notPem,
        says: `${notPem} holds no PEM certificate (--tls-cert FILE, certFile)`,
      },
      // A key file that is not PEM.
      {
        tls: { certFile: serverPair.certFile, keyFile: notPem },
        file: notPem,
        says: `${notPem} holds no PEM private key (--tls-key FILE, keyFile)`,
      },
      // A key that belongs to another certificate.
      {
        tls: { certFile: serverPair.certFile, keyFile: clientPair.keyFile },
        file: clientPair.keyFile,
        says:
          `the key in ${clientPair.keyFile} does not match the certificate in ${serverPair.certFile}`,
      },
      // The same through the mutual TLS (node:tls) engine.
      {
        tls: {
          certFile: serverPair.certFile,
          keyFile: clientPair.keyFile,
          clientCa: ca,
        },
        file: clientPair.keyFile,
        says: "does not match the certificate",
      },
      // A client CA that holds no certificate.
      {
        tls: { cert: serverPair.cert, key: serverPair.key, clientCa: "junk" },
        file: undefined,
        says: "clientCa holds no PEM certificate (--tls-client-ca FILE)",
      },
    ];
    for (const { tls, file, says } of cases) {
      const error = assertThrows(
        () => listen({ port: 0 }, echo, { tls }),
        TlsError,
      );
      assertEquals(error.kind, "config");
      assertEquals(error.file, file);
      assertStringIncludes(error.message, says);
    }
    assertThrows(
      () => listen({ port: 0 }, echo, { tls: { cert: serverPair.cert } }),
      TypeError,
      "without a key: pass --tls-key FILE (keyFile, or key as PEM)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listen() serves certificate files read at start-up", async () => {
  await using server = listen({ port: 0 }, echo, {
    tls: { certFile: serverPair.certFile, keyFile: serverPair.keyFile },
  });
  await using conn = await connect(server.addr, { tls: { caCerts: [ca] } });
  await conn.write("files");
  assertEquals(text(await conn.readExactly(5)), "files");
});

Deno.test("connect() checks TLS options before connecting", async () => {
  await assertRejects(
    () => connect({ port: 1 }, { tls: { cert: clientPair.cert } }),
    TypeError,
    "pass both --tls-cert FILE and --tls-key FILE (cert and key)",
  );
  await assertRejects(
    () => connect({ port: 1 }, { tls: { handshakeTimeout: -1 } }),
    RangeError,
    "handshakeTimeout -1",
  );
});

Deno.test("a plain connection has no TLS, and setNoDelay() is harmless on a TLS one", async () => {
  {
    await using plainServer = listen({ port: 0 }, echo);
    await using plain = await connect(plainServer.addr);
    assertEquals(plain.tls, null);
    await plain.write("plain");
    assertEquals(text(await plain.readExactly(5)), "plain");
    assertEquals(plain.tls, null);
  }
  await using server = listen(
    { port: 0 },
    echo,
    tlsListen({ cert: serverPair.cert, key: serverPair.key }),
  );
  await using conn = await connect(server.addr, {
    tls: { caCerts: [ca] },
    keepAlive: true,
  });
  assert(conn.tls !== null);
  conn.setNoDelay(true);
  conn.setKeepAlive(true);
  await conn.write(bytes("nodelay"));
  assertEquals(text(await conn.readExactly(7)), "nodelay");
});
