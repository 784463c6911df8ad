/**
 * PROXY protocol on `listen()` (`proxyProtocol`) and `connect()`
 * (`proxyHeader`) over loopback sockets: the real client's address in
 * `remoteAddr`, the proxy's in `proxyAddr`, bytes after the header handed
 * on untouched (even split byte by byte), trust by address, every way a
 * header is refused (the server keeps serving), health checks, the header
 * timeout, optional headers, TLS behind a header, and `reusePort`.
 *
 * The same against a real HAProxy: `tests/tools/haproxy_test.ts`.
 *
 * @module
 */
import {
  encodeProxyHeader,
  MalformedFrameError,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../framing/mod.ts";
import {
  connect,
  type Connection,
  listen,
  type ListenOptions,
  ProxyProtocolError,
  type SocketAddress,
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
  evalWithoutUnstableNet,
  readAll,
  text,
  waitFor,
} from "./_helpers.ts";

const CLIENT = { hostname: "192.0.2.1", port: 56324 };
const SERVER = { hostname: "198.51.100.7", port: 443 };

interface Seen {
  remote: SocketAddress<"tcp">;
  proxy: SocketAddress<"tcp"> | null;
  header: ProxyHeader | null;
  data: string;
}

/**
 * A server that records what each handler saw (addresses and the bytes
 * read until EOF) and replies with them, and collects `onError` errors.
 */
function recordingServer(options: ListenOptions) {
  const seen: Seen[] = [];
  const errors: unknown[] = [];
  let errorSeen = deferred<void>();
  const server = listen({ port: 0 }, async (conn: Connection<"tcp">) => {
    const data = new TextDecoder().decode(await readAll(conn));
    seen.push({
      remote: conn.remoteAddr,
      proxy: conn.proxyAddr,
      header: conn.proxyHeader,
      data,
    });
    await conn.write(
      `${conn.remoteAddr.hostname}:${conn.remoteAddr.port} ${data}`,
    );
  }, {
    ...options,
    onError: (error) => {
      errors.push(error);
      errorSeen.resolve();
    },
  });
  return {
    server,
    seen,
    errors,
    /** Settles at the next onError call. */
    nextError(): Promise<void> {
      errorSeen = deferred<void>();
      return errors.length > 0 ? Promise.resolve() : errorSeen.promise;
    },
  };
}

/** Connects plainly, writes `chunks` one write each, half-closes, reads all. */
async function exchange(
  port: number,
  chunks: Uint8Array[],
): Promise<string> {
  return (await exchangeFrom(port, chunks)).reply;
}

/** As {@linkcode exchange}, with the client's own port. */
async function exchangeFrom(
  port: number,
  chunks: Uint8Array[],
): Promise<{ reply: string; localPort: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const localPort = conn.localAddr.port;
  try {
    try {
      for (const chunk of chunks) await conn.write(chunk);
      await conn.closeWrite();
    } catch (error) {
      // A refused connection may be gone before the last write.
      if (
        !(error instanceof Deno.errors.BrokenPipe) &&
        !(error instanceof Deno.errors.ConnectionReset) &&
        !(error instanceof Deno.errors.NotConnected)
      ) throw error;
    }
    const out: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      out.push(buffer.slice(0, n));
    }
    const reply = new TextDecoder().decode(
      new Uint8Array(out.flatMap((chunk) => [...chunk])),
    );
    return { reply, localPort };
  } finally {
    conn.close();
  }
}

Deno.test("listen proxyProtocol: a v1 header names the client; the bytes after it reach the handler untouched", async () => {
  const { server, seen } = recordingServer({
    proxyProtocol: { from: "127.0.0.1" },
  });
  const header = encodeProxyHeader({
    transport: "tcp4",
    source: CLIENT,
    destination: SERVER,
  }, { version: 1 });
  // Header and data in one write: the decoder must hand on the rest.
  const reply = await exchange(server.addr.port, [
    new Uint8Array([...header, ...bytes("hello")]),
  ]);
  assertEquals(reply, "192.0.2.1:56324 hello");
  await server.shutdown();
  assertEquals(seen.length, 1);
  assertEquals(seen[0]!.remote, { transport: "tcp", ...CLIENT });
  assertEquals(seen[0]!.proxy?.hostname, "127.0.0.1");
  assert(seen[0]!.proxy?.port !== server.addr.port);
  assertEquals(seen[0]!.header?.version, 1);
  assertEquals(seen[0]!.header?.destination, SERVER);
});

Deno.test("listen proxyProtocol: a v2 header split byte by byte, with TLVs and CRC32C", async () => {
  const { server, seen } = recordingServer({
    proxyProtocol: { from: ["10.0.0.0/8", "127.0.0.0/8"], version: "v2" },
  });
  const header = encodeProxyHeader({
    transport: "tcp6",
    source: { hostname: "2001:db8::1", port: 40000 },
    destination: { hostname: "2001:db8::2", port: 443 },
    tlvs: { authority: "example.com", alpn: "h2" },
  }, { version: 2, crc32c: true });
  const chunks = [...header, ...bytes("data")].map((byte) =>
    new Uint8Array([byte])
  );
  const reply = await exchange(server.addr.port, chunks);
  assertEquals(reply, "2001:db8::1:40000 data");
  await server.shutdown();
  assertEquals(seen[0]!.header?.tlvs.authority, "example.com");
  assertEquals(seen[0]!.header?.tlvs.alpn, "h2");
});

Deno.test("connect proxyHeader: v1 and v2 headers from the client's own addresses, or the ones given", async () => {
  const { server, seen } = recordingServer({
    proxyProtocol: { from: "127.0.0.1" },
  });
  for (const version of [1, 2] as const) {
    const conn = await connect(server.addr, { proxyHeader: { version } });
    await conn.write("own");
    await conn.shutdown("write");
    const reply = text(await readAll(conn));
    conn.close();
    assertEquals(reply, `127.0.0.1:${conn.localAddr.port} own`);
  }
  const conn = await connect(server.addr, {
    proxyHeader: { version: 2, source: CLIENT, destination: SERVER },
  });
  await conn.shutdown("write");
  assertEquals(text(await readAll(conn)), "192.0.2.1:56324 ");
  conn.close();
  await server.shutdown();
  assertEquals(seen.map((s) => s.header?.version), [1, 2, 2]);
});

Deno.test("listen proxyProtocol: refused headers fail only their connection, the server keeps serving", async () => {
  const { server, seen, errors, nextError } = recordingServer({
    proxyProtocol: { from: "127.0.0.1" },
  });
  const port = server.addr.port;
  const cases: Array<[string, Uint8Array, ProxyProtocolError["kind"], string]> =
    [
      ["no header", bytes("GET / HTTP/1.0\r\n\r\n"), "malformed", "PROXY"],
      [
        "bad v1 address",
        bytes("PROXY TCP4 300.1.1.1 1.1.1.1 1 2\r\n"),
        "malformed",
        "300.1.1.1",
      ],
      [
        "v1 line too long",
        bytes(`PROXY TCP4 ${"1".repeat(120)}`),
        "malformed",
        "",
      ],
      [
        "ended inside",
        bytes("PROXY TCP4 192.0.2.1"),
        "truncated",
        "ended inside",
      ],
    ];
  for (const [what, sent, kind, detail] of cases) {
    const error = nextError();
    const reply = await exchange(port, [sent]);
    await error;
    assertEquals(reply, "", what);
    const last = errors.at(-1);
    assertInstanceOf(last, ProxyProtocolError, what);
    assertEquals(last.kind, kind, `${what}: ${last.message}`);
    assertStringIncludes(last.message, detail, what);
    assertStringIncludes(last.message, "127.0.0.1:", what);
    errors.length = 0;
  }
  // ...and the next client is served.
  const header = encodeProxyHeader({
    transport: "tcp4",
    source: CLIENT,
    destination: SERVER,
  }, { version: 1 });
  assertEquals(
    await exchange(port, [header, bytes("ok")]),
    "192.0.2.1:56324 ok",
  );
  await server.shutdown();
  assertEquals(seen.length, 1);
});

Deno.test("listen proxyProtocol: a wrong v2 signature and an oversized v2 header are refused, naming the problem and its byte offset", async () => {
  const { server, seen, errors, nextError } = recordingServer({
    proxyProtocol: { from: "127.0.0.1" },
  });
  const port = server.addr.port;
  // The v2 signature: \r\n\r\n\0\r\nQUIT\n.
  const signature = [
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
  ];
  const cases: Array<[string, Uint8Array, number, string]> = [
    // Byte 3 is 0x0b, not the signature's 0x0a.
    [
      "wrong signature",
      new Uint8Array([0x0d, 0x0a, 0x0d, 0x0b, ...signature.slice(4)]),
      3,
      "wrong PROXY v2 signature, 0x0b where it has 0x0a",
    ],
    // PROXY over TCP4, announcing 65535 bytes: past the 4096-byte default
    // maxHeaderSize, refused at the length field before any is read.
    [
      "oversized",
      new Uint8Array([...signature, 0x21, 0x11, 0xff, 0xff, 1, 2, 3]),
      14,
      "PROXY v2 header of 65551 bytes (16 + length 65535) exceeds maxHeaderSize 4096",
    ],
  ];
  for (const [what, sent, offset, problem] of cases) {
    const error = nextError();
    const { reply, localPort } = await exchangeFrom(port, [sent]);
    await error;
    assertEquals(reply, "", what);
    const refused = errors.at(-1);
    assertInstanceOf(refused, ProxyProtocolError, what);
    assertEquals(refused.kind, "malformed", what);
    assertEquals(refused.peer, `127.0.0.1:${localPort}`, what);
    assertEquals(
      refused.message,
      `Cannot read the PROXY header from 127.0.0.1:${localPort}: ${problem}: at byte offset ${offset}`,
      what,
    );
    assertInstanceOf(refused.cause, MalformedFrameError, what);
    assertEquals(refused.cause.offset, offset, what);
    errors.length = 0;
  }
  // ...and the next client is served.
  const header = encodeProxyHeader({
    transport: "tcp4",
    source: CLIENT,
    destination: SERVER,
  }, { version: 2 });
  assertEquals(
    await exchange(port, [header, bytes("ok")]),
    "192.0.2.1:56324 ok",
  );
  await server.shutdown();
  assertEquals(seen.length, 1);
});

Deno.test("listen proxyProtocol: a required header from an untrusted address is refused before a byte is read", async () => {
  const { server, seen, errors, nextError } = recordingServer({
    proxyProtocol: { from: "10.0.0.0/8" },
  });
  const error = nextError();
  const header = encodeProxyHeader({
    transport: "tcp4",
    source: CLIENT,
    destination: SERVER,
  }, { version: 1 });
  const reply = await exchange(server.addr.port, [header, bytes("spoof")]);
  await error;
  await server.shutdown();
  assertEquals(reply, "");
  assertEquals(seen, []);
  assertInstanceOf(errors[0], ProxyProtocolError);
  assertEquals((errors[0] as ProxyProtocolError).kind, "untrusted");
  assertStringIncludes(
    (errors[0] as ProxyProtocolError).message,
    "not a trusted proxy (trusted: 10.0.0.0/8)",
  );
});

Deno.test("listen proxyProtocol optional: direct clients are served as they are, an untrusted header is refused", async () => {
  const { server, seen, errors, nextError } = recordingServer({
    proxyProtocol: { from: "10.0.0.0/8", required: false },
  });
  const port = server.addr.port;
  const direct = await exchangeFrom(port, [bytes("plain")]);
  assertEquals(direct.reply, `127.0.0.1:${direct.localPort} plain`);
  const error = nextError();
  const header = encodeProxyHeader({
    transport: "tcp4",
    source: CLIENT,
    destination: SERVER,
  }, { version: 2 });
  assertEquals(await exchange(port, [header, bytes("spoof")]), "");
  await error;
  assertEquals((errors[0] as ProxyProtocolError).kind, "untrusted");
  // A prefix of a signature that turns into other bytes is data.
  const almost = await exchangeFrom(port, [bytes("PROX"), bytes("IMA")]);
  assertEquals(almost.reply, `127.0.0.1:${almost.localPort} PROXIMA`);
  await server.shutdown();
  assertEquals(seen.map((s) => s.header), [null, null]);
  assertEquals(seen.map((s) => s.proxy?.hostname), ["127.0.0.1", "127.0.0.1"]);
});

Deno.test("listen proxyProtocol optional: a silent client of a server that speaks first is served after the header timeout", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write(`hello ${conn.proxyHeader === null}`);
    assertEquals(text(await conn.read()), "reply");
  }, {
    proxyProtocol: { from: "127.0.0.1", required: false, headerTimeout: 100 },
  });
  await using conn = await connect(server.addr);
  assertEquals(text(await conn.readExactly(10)), "hello true");
  await conn.write("reply"); // the read in flight at the timeout gets it
  assertEquals(await conn.read(), null);
});

Deno.test("listen proxyProtocol: the header timeout closes a stalled connection and frees its slot", async () => {
  const { server, errors, nextError } = recordingServer({
    proxyProtocol: { from: "127.0.0.1", headerTimeout: 150 },
    maxConnections: 1,
  });
  const error = nextError();
  const stalled = await Deno.connect(server.addr);
  await stalled.write(bytes("PROXY TCP4 "));
  const started = performance.now();
  await error;
  assert(performance.now() - started >= 100);
  const e = errors[0] as ProxyProtocolError;
  assertEquals(e.kind, "timeout");
  assertStringIncludes(e.message, "within 150 ms (11 bytes received)");
  assertEquals(await stalled.read(new Uint8Array(8)).catch(() => null), null);
  stalled.close();
  await waitFor(() => server.connections === 0, "the slot freed");
  const header = encodeProxyHeader({
    transport: "tcp4",
    source: CLIENT,
    destination: SERVER,
  }, { version: 1 });
  assertEquals(await exchange(server.addr.port, [header]), "192.0.2.1:56324 ");
  await server.shutdown();
});

Deno.test("listen proxyProtocol: a health check (connect, close) is no error; a LOCAL header keeps the real address", async () => {
  const { server, seen, errors } = recordingServer({
    proxyProtocol: { from: "127.0.0.1" },
  });
  const check = await Deno.connect(server.addr);
  check.close();
  await waitFor(
    () => server.acceptedConnections === 1 && server.connections === 0,
    "the health check accepted and gone",
  );
  const local = encodeProxyHeader({ command: "local", transport: "unknown" }, {
    version: 2,
  });
  const { reply, localPort } = await exchangeFrom(server.addr.port, [local]);
  assertEquals(reply, `127.0.0.1:${localPort} `);
  await server.shutdown();
  assertEquals(errors, []);
  assertEquals(seen[0]!.header?.command, "local");
  assertEquals(seen[0]!.proxy, seen[0]!.remote);
});

Deno.test("listen proxyProtocol: shutdown ends connections still waiting for their header", async () => {
  const { server, errors } = recordingServer({
    proxyProtocol: { from: "127.0.0.1" },
  });
  const waiting = await Deno.connect(server.addr);
  await waitFor(() => server.connections === 1, "the connection accepted");
  await server.shutdown();
  assertEquals(await waiting.read(new Uint8Array(8)).catch(() => null), null);
  waiting.close();
  assertEquals(errors, []);
});

Deno.test("listen proxyProtocol with TLS: the header comes first, then the handshake; both addresses known", async () => {
  const certs = await testCertificates();
  let seen:
    | [SocketAddress<"tcp">, SocketAddress<"tcp"> | null, string | null]
    | undefined;
  await using server = listen({ port: 0 }, async (conn) => {
    seen = [conn.remoteAddr, conn.proxyAddr, conn.tls?.alpnProtocol ?? null];
    for await (const chunk of conn) await conn.write(chunk);
  }, {
    tls: {
      cert: certs.server.cert,
      key: certs.server.key,
      alpnProtocols: ["echo"],
    },
    proxyProtocol: { from: "127.0.0.1" },
  });
  await using conn = await connect(server.addr, {
    tls: { caCerts: [certs.ca], alpnProtocols: ["echo"] },
    proxyHeader: { version: 2, source: CLIENT, destination: SERVER },
  });
  await conn.write("secret");
  assertEquals(text(await conn.readExactly(6)), "secret");
  assertEquals(seen?.[0], { transport: "tcp", ...CLIENT });
  assertEquals(seen?.[1]?.hostname, "127.0.0.1");
  assertEquals(seen?.[2], "echo");
});

Deno.test("connect proxyHeader: the bytes on the wire are the header, then the data", async () => {
  const received = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    received.resolve(await readAll(conn));
  });
  const conn = await connect(server.addr, {
    proxyHeader: { version: 1, source: CLIENT, destination: SERVER },
  });
  await conn.write("x");
  conn.close();
  const wire = await received.promise;
  const result = new ProxyHeaderDecoder().push(wire);
  assertEquals(result?.header?.source, CLIENT);
  assertEquals(text(result!.rest), "x");
});

Deno.test("listen/connect PROXY options: clear errors for what cannot work", async () => {
  assertThrows(
    () =>
      listen({ port: 0 }, () => {}, { proxyProtocol: { from: "10.0.0.300" } }),
    TypeError,
    "Cannot listen on 127.0.0.1:0 with proxyProtocol: Cannot parse trusted proxy",
  );
  assertThrows(
    () => listen({ port: 0 }, () => {}, { proxyProtocol: { from: [] } }),
    TypeError,
    "lists no trusted proxy",
  );
  assertThrows(
    () =>
      listen({ path: "/tmp/x.sock" }, () => {}, {
        proxyProtocol: { from: "127.0.0.1" },
      }),
    TypeError,
    "TCP only",
  );
  const certs = await testCertificates();
  assertThrows(
    () =>
      listen({ port: 0 }, () => {}, {
        proxyProtocol: { from: "127.0.0.1" },
        tls: { cert: certs.server.cert, key: certs.server.key, engine: "deno" },
      }),
    TypeError,
    'use the default engine ("node")',
  );
  assertThrows(
    () =>
      listen({ port: 0 }, () => {}, {
        proxyProtocol: { from: "127.0.0.1", headerTimeout: 0 },
      }),
    RangeError,
    "headerTimeout 0",
  );
  await assertRejects(
    () => connect({ path: "/tmp/x.sock" }, { proxyHeader: { version: 1 } }),
    TypeError,
    "TCP only",
  );
  await using plain = listen({ port: 0 }, async (conn) => {
    assertEquals([conn.proxyHeader, conn.proxyAddr], [null, null]);
    await conn.write("ok");
  });
  await using conn = await connect(plain.addr);
  assertEquals(text(await conn.readExactly(2)), "ok");
});

Deno.test("listen reusePort: two servers share a port", async () => {
  await using first = listen({ port: 0 }, (conn) => conn.write("1"), {
    reusePort: true,
  });
  await using second = listen(
    { port: first.addr.port },
    (conn) => conn.write("2"),
    {
      reusePort: true,
    },
  );
  assertEquals(second.addr.port, first.addr.port);
  assertThrows(
    () => listen({ port: first.addr.port }, () => {}),
    Deno.errors.AddrInUse,
  );
  // Each server answers whoever the kernel gives it.
  const replies = new Set<string>();
  for (let i = 0; i < 64 && replies.size < 2; i++) {
    await using conn = await connect(first.addr);
    replies.add(text(await conn.readExactly(1))!);
  }
  assertEquals([...replies].sort(), ["1", "2"]);
});

Deno.test("listen reusePort without --unstable-net: a TypeError naming the flag, not an exit", async () => {
  const stdout = await evalWithoutUnstableNet(`
    try {
      listen({ port: 0 }, () => {}, { reusePort: true });
      console.log("listened");
    } catch (error) {
      console.log(error.name + ": " + error.message);
    }
  `);
  assertStringIncludes(
    stdout,
    "TypeError: Cannot listen on 127.0.0.1:0 with reusePort: Deno allows it only with --unstable-net",
  );
});
