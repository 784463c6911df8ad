import {
  DelimiterInPayloadError,
  FrameTooLargeError,
  lengthPrefixed,
  lines,
} from "../../framing/mod.ts";
import { ctime, type SocketAddress, TimeoutError } from "../../net/mod.ts";
import {
  connect,
  type Connection,
  connectProtocol,
  listen,
  type Protocol,
  type ProtocolFactory,
  serveProtocol,
  type Transport,
} from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../_utils.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (bytes: Uint8Array): string => dec.decode(bytes);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a Python script with the given arguments; returns its stdout. */
async function python(script: string, ...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, `python failed: ${text(stderr)}`);
  return text(stdout);
}

/** A protocol that records what happens to it. */
class Recorder implements Protocol {
  readonly log: string[] = [];
  transport: Transport | undefined;
  readonly lost: PromiseWithResolvers<Error | null> = Promise
    .withResolvers();
  connectionMade(transport: Transport): void {
    this.transport = transport;
    this.log.push("made");
  }
  dataReceived(data: Uint8Array): void {
    this.log.push(`data:${text(data)}`);
  }
  frameReceived(frame: Uint8Array): void {
    this.log.push(`frame:${text(frame)}`);
  }
  connectionLost(reason: Error | null): void {
    this.log.push(`lost:${reason === null ? "null" : reason.name}`);
    this.lost.resolve(reason);
  }
}

Deno.test("serveProtocol() runs the ten-line timestamp server for a Python client", async () => {
  // The seeds' time server, as the tool will write it.
  await using server = serveProtocol({ port: 0 }, () => ({
    frameReceived(line, transport) {
      transport.write(`[${ctime()}] ${text(line)}`);
    },
  }), { codec: lines() });

  const out = await python(
    `
import socket, sys, time
socket.setdefaulttimeout(10)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hello\\nworld\\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(time.ctime())
sys.stdout.write(data.decode())
`,
    String(server.addr.port),
  );
  const [pythonNow, first, second, rest] = out.split("\n");
  const stamp = /^\[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\] /;
  assertMatch(first!, stamp);
  assertEquals(first!.replace(stamp, ""), "hello");
  assertEquals(second!.replace(stamp, ""), "world");
  assertEquals(rest, "");
  // Our ctime() has Python's shape: same length, same fields.
  assertEquals(first!.match(stamp)![1]!.length, pythonNow!.length);
});

Deno.test("serveProtocol() calls connectionMade, dataReceived, connectionLost(null) in order, once", async () => {
  const protocols: Recorder[] = [];
  await using server = serveProtocol({ port: 0 }, () => {
    const protocol = new Recorder();
    protocol.dataReceived = (data: Uint8Array): void => {
      protocol.log.push("data");
      protocol.transport!.write(data);
    };
    protocols.push(protocol);
    return protocol;
  });
  {
    await using conn = await connect(server.addr);
    await conn.write("ping");
    await conn.shutdown("write");
    assertEquals(await new Response(conn.readable).text(), "ping");
  }
  const [protocol] = protocols;
  assertEquals(await protocol!.lost.promise, null);
  const log = protocol!.log;
  assertEquals(log[0], "made");
  assertEquals(log.at(-1), "lost:null");
  assert(log.slice(1, -1).every((entry) => entry === "data"));
  assertEquals(protocol!.transport!.connected, false);
});

Deno.test("serveProtocol() takes a factory object whose buildProtocol gets the peer, and null refuses", async () => {
  const peers: SocketAddress[] = [];
  const factory: ProtocolFactory = {
    buildProtocol(peer) {
      peers.push(peer);
      if (peers.length === 2) return null; // refuse the second client
      return { connectionMade: (t) => t.write("welcome") };
    },
  };
  await using server = serveProtocol({ port: 0 }, factory);
  await using first = await connect(server.addr);
  assertEquals(text(await first.readExactly(7)), "welcome");
  await using second = await connect(server.addr);
  assertEquals(await second.read(), null); // closed at once
  assertEquals(peers.length, 2);
  assertEquals(peers[0], first.localAddr);
});

Deno.test("serveProtocol() throws at once for a factory that is neither a function nor a factory", () => {
  assertThrows(
    () =>
      serveProtocol(
        { port: 0 },
        {} as unknown as ProtocolFactory,
      ),
    TypeError,
    "Cannot serve a protocol without a factory",
  );
});

Deno.test("an exception in dataReceived goes to onError, closes that connection, and the server serves on", async () => {
  const reported: [unknown, Connection | undefined][] = [];
  const protocols: Recorder[] = [];
  await using server = serveProtocol({ port: 0 }, () => {
    const protocol = new Recorder();
    protocol.dataReceived = (data: Uint8Array): void => {
      if (text(data).includes("boom")) throw new RangeError("boom in data");
      protocol.transport!.write(data);
    };
    protocols.push(protocol);
    return protocol;
  }, { onError: (error, conn) => reported.push([error, conn]) });

  {
    await using bad = await connect(server.addr);
    await bad.write("boom");
    assertEquals(await bad.read().catch(() => null), null); // closed
  }
  const reason = await protocols[0]!.lost.promise;
  assertInstanceOf(reason, RangeError);
  assertEquals(reason.message, "boom in data");
  assertEquals(reported.length, 1);
  assertStrictEquals(reported[0]![0], reason); // the same error, not a copy
  assert(reported[0]![1] !== undefined);

  await using good = await connect(server.addr);
  await good.write("fine");
  assertEquals(text(await good.readExactly(4)), "fine");
});

Deno.test("exceptions in connectionMade and connectionLost are both reported", async () => {
  const reported: unknown[] = [];
  let lostWith: Error | null | undefined;
  await using server = serveProtocol({ port: 0 }, () => ({
    connectionMade() {
      throw new Error("made failed");
    },
    dataReceived() {
      throw new Error("never called");
    },
    connectionLost(reason) {
      lostWith = reason;
      throw new Error("lost failed");
    },
  }), { onError: (error) => reported.push(error) });
  await using conn = await connect(server.addr);
  await conn.write("data");
  assertEquals(await conn.read().catch(() => null), null);
  await server.shutdown();
  assertEquals(lostWith?.message, "made failed");
  assertEquals(reported.length, 1);
  assertInstanceOf(reported[0], AggregateError);
  assertEquals(
    (reported[0] as AggregateError).errors.map((e: Error) => e.message),
    ["made failed", "lost failed"],
  );
});

Deno.test("a framing error loses the connection with the codec's error, not reported as a protocol bug", async () => {
  const reported: unknown[] = [];
  const protocols: Recorder[] = [];
  await using server = serveProtocol({ port: 0 }, () => {
    const protocol = new Recorder();
    protocols.push(protocol);
    return protocol;
  }, {
    codec: lines({ maxFrameSize: 8 }),
    onError: (error) => reported.push(error),
  });
  await using conn = await connect(server.addr);
  await conn.write("short\nthis line is far too long\n");
  const reason = await protocols[0]!.lost.promise;
  assertInstanceOf(reason, FrameTooLargeError);
  assertEquals(protocols[0]!.log, [
    "made",
    "frame:short",
    "lost:FrameTooLargeError",
  ]);
  assertEquals(reported, []);
});

Deno.test("idleTimeout loses a quiet connection with TimeoutError", async () => {
  const protocols: Recorder[] = [];
  await using server = serveProtocol({ port: 0 }, () => {
    const protocol = new Recorder();
    protocols.push(protocol);
    return protocol;
  }, { idleTimeout: 50 });
  await using conn = await connect(server.addr);
  const reason = await protocols[0]!.lost.promise;
  assertInstanceOf(reason, TimeoutError);
  assertEquals(await conn.read().catch(() => null), null);
});

Deno.test("async methods are awaited: frames are handled one at a time, in order", async () => {
  let active = 0;
  let most = 0;
  const seen: number[] = [];
  const done = Promise.withResolvers<void>();
  await using server = serveProtocol({ port: 0 }, () => ({
    async frameReceived(frame, transport) {
      active++;
      most = Math.max(most, active);
      const n = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
      await delay(n % 3); // some slow, some fast
      seen.push(n);
      active--;
      transport.write(frame);
    },
    connectionLost: () => done.resolve(),
  }), { codec: lengthPrefixed() });
  const codec = lengthPrefixed();
  await using conn = await connect(server.addr);
  const framed = conn.framed(codec);
  const payloads = Array.from({ length: 40 }, (_, i) => {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, i);
    return bytes;
  });
  await framed.sendAll(payloads); // all at once: they queue up
  for (const payload of payloads) {
    assertEquals(await framed.receive(), payload);
  }
  conn.close();
  await done.promise;
  assertEquals(seen, payloads.map((_, i) => i));
  assertEquals(most, 1);
});

Deno.test("loseConnection() sends every queued write before closing; later writes are dropped", async () => {
  const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
  const lost = Promise.withResolvers<Error | null>();
  await using server = serveProtocol({ port: 0 }, () => ({
    connectionMade(transport) {
      transport.write(big);
      transport.write("end");
      transport.loseConnection();
      transport.write("dropped");
      assertEquals(transport.connected, true); // until the close happens
    },
    connectionLost: (reason) => lost.resolve(reason),
  }));
  await using conn = await connect(server.addr);
  const all = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  assertEquals(all.length, big.length + 3);
  assertEquals(all.subarray(0, big.length), big);
  assertEquals(text(all.subarray(big.length)), "end");
  assertEquals(await lost.promise, null);
});

Deno.test("flush() waits for the writes so far", async () => {
  const flushed = Promise.withResolvers<number>();
  await using server = serveProtocol({ port: 0 }, () => ({
    async connectionMade(transport) {
      transport.write(new Uint8Array(256 * 1024));
      await transport.flush();
      flushed.resolve(performance.now());
      transport.loseConnection();
    },
  }));
  await using conn = await connect(server.addr);
  const bytes = await new Response(conn.readable).arrayBuffer();
  assertEquals(bytes.byteLength, 256 * 1024);
  assert((await flushed.promise) > 0);
});

Deno.test("abortConnection() closes at once and connectionLost gets ConnectionAborted", async () => {
  const lost = Promise.withResolvers<Error | null>();
  await using server = serveProtocol({ port: 0 }, () => ({
    dataReceived(_data, transport) {
      transport.abortConnection();
      transport.write("dropped");
      assertEquals(transport.connected, false);
    },
    connectionLost: (reason) => lost.resolve(reason),
  }));
  await using conn = await connect(server.addr);
  await conn.write("x");
  const reason = await lost.promise;
  assertInstanceOf(reason, Deno.errors.ConnectionAborted);
  assertMatch(reason!.message, /abortConnection\(\)/);
  assertEquals(await conn.read().catch(() => null), null);
});

Deno.test("with a codec, write() sends one frame, writeSequence() several; a bad payload throws before sending", async () => {
  const thrown = Promise.withResolvers<unknown>();
  await using server = serveProtocol({ port: 0 }, () => ({
    connectionMade(transport) {
      transport.write("one");
      transport.writeSequence(["two", enc.encode("three")]);
      try {
        transport.write("not\none frame");
      } catch (error) {
        thrown.resolve(error);
      }
      transport.loseConnection();
    },
  }), { codec: lines() });
  await using conn = await connect(server.addr);
  assertEquals(
    await new Response(conn.readable).text(),
    "one\ntwo\nthree\n",
  );
  assertInstanceOf(await thrown.promise, DelimiterInPayloadError);
});

Deno.test("eofReceived lets the protocol answer after the peer half-closes", async () => {
  await using server = serveProtocol({ port: 0 }, () => {
    let sum = 0;
    return {
      frameReceived(line) {
        sum += Number(text(line));
      },
      async eofReceived(transport) {
        await delay(5); // may be async; the connection waits
        transport.write(`sum ${sum}`);
      },
    };
  }, { codec: lines() });
  await using conn = await connect(server.addr);
  await conn.write("1\n2\n39\n");
  await conn.shutdown("write");
  assertEquals(await new Response(conn.readable).text(), "sum 42\n");
});

Deno.test("server shutdown: each protocol reads EOF and gets connectionLost(null)", async () => {
  const protocols: Recorder[] = [];
  const server = serveProtocol({ port: 0 }, () => {
    const protocol = new Recorder();
    protocols.push(protocol);
    return protocol;
  });
  await using a = await connect(server.addr);
  await using b = await connect(server.addr);
  await a.write("hi");
  while (protocols.length < 2 || protocols[0]!.log.length < 2) await delay(2);
  await server.shutdown();
  assertEquals(await protocols[0]!.lost.promise, null);
  assertEquals(await protocols[1]!.lost.promise, null);
  assertEquals(protocols[0]!.log, ["made", "data:hi", "lost:null"]);
  assertEquals(await a.read(), null);
  assertEquals(await b.read(), null);
});

Deno.test("a reset from a Python peer loses the connection with an error", async () => {
  const protocols: Recorder[] = [];
  await using server = serveProtocol({ port: 0 }, () => {
    const protocol = new Recorder();
    const made = protocol.connectionMade.bind(protocol);
    protocol.connectionMade = (transport: Transport): void => {
      made(transport);
      transport.write("hi");
    };
    protocols.push(protocol);
    return protocol;
  });
  await python(
    `
import socket, struct, sys
socket.setdefaulttimeout(10)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
assert s.recv(2) == b"hi"  # accepted: the protocol is running
s.sendall(b"bye")
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # RST, not FIN
`,
    String(server.addr.port),
  );
  const reason = await protocols[0]!.lost.promise;
  assertInstanceOf(reason, Deno.errors.ConnectionReset);
  assertEquals(protocols[0]!.log.at(-1), "lost:ConnectionReset");
});

Deno.test("transport.peer and transport.host are the connection's addresses", async () => {
  const seen = Promise.withResolvers<[SocketAddress, SocketAddress]>();
  await using server = serveProtocol({ port: 0 }, () => ({
    connectionMade(transport) {
      seen.resolve([transport.peer, transport.host]);
      transport.loseConnection();
    },
  }));
  await using conn = await connect(server.addr);
  const [peer, host] = await seen.promise;
  assertEquals(peer, conn.localAddr);
  assertEquals(host, conn.remoteAddr);
  assertEquals(host, server.addr);
});

Deno.test("serveProtocol() serves a Unix socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/proto.sock`;
    await using server = serveProtocol({ path }, () => ({
      dataReceived: (data, transport) => transport.write(data),
    }));
    assertEquals(server.addr, { transport: "unix", path });
    await using conn = await connect({ path });
    await conn.write("unix");
    assertEquals(text(await conn.readExactly(4)), "unix");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectProtocol() resolves after connectionMade; done resolves with null on a clean close", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(lines());
    for await (const line of framed) await framed.send(line.toReversed());
  });
  const client = new Recorder();
  const running = await connectProtocol(server.addr, client, {
    codec: lines(),
  });
  assertEquals(client.log, ["made"]);
  assertStrictEquals(running.protocol, client);
  assertStrictEquals(running.transport, client.transport);
  running.transport.write("olleh");
  while (client.log.length < 2) await delay(2);
  await running[Symbol.asyncDispose](); // loseConnection, wait for the end
  assertEquals(await running.done, null);
  assertEquals(client.log, ["made", "frame:hello", "lost:null"]);
});

Deno.test("connectProtocol() with a timeout loses a quiet connection with TimeoutError", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.read(); // says nothing; waits for the client to go
  });
  // As connect(): the timeout limits the connect, then each wait for data.
  const running = await connectProtocol(server.addr, {}, { timeout: 30 });
  assertInstanceOf(await running.done, TimeoutError);
  await assertRejects(
    () => connectProtocol(server.addr, {}, { timeout: -1 }),
    RangeError,
  );
});

Deno.test("connectProtocol() reports protocol exceptions to onError; done gets the error", async () => {
  await using server = listen({ port: 0 }, (conn) => conn.write("hi"));
  const reported: unknown[] = [];
  const running = await connectProtocol(server.addr, {
    dataReceived() {
      throw new SyntaxError("bad reply");
    },
  }, { onError: (error) => reported.push(error) });
  const reason = await running.done;
  assertInstanceOf(reason, SyntaxError);
  assertStrictEquals(reported[0], reason);
  assertEquals(running.transport.connected, false);
});

Deno.test("connectProtocol() rejects when no one listens", async () => {
  const server = listen({ port: 0 }, () => {});
  const addr = server.addr;
  await server.shutdown();
  await assertRejects(
    () => connectProtocol(addr, {}),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("a Python server that resets the connection: connectProtocol's done gets the error", async () => {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      `
import socket, struct, sys
socket.setdefaulttimeout(10)
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
print(l.getsockname()[1], flush=True)
s, _ = l.accept()
s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # RST, not FIN
`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  while (!printed.includes("\n")) printed += (await reader.read()).value ?? "";
  const client = new Recorder();
  const running = await connectProtocol(
    { port: Number(printed.trim()) },
    client,
  );
  running.transport.write("hello");
  const reason = await running.done;
  assertInstanceOf(reason, Deno.errors.ConnectionReset);
  assertEquals(client.log, ["made", "lost:ConnectionReset"]);
  assertEquals(running.transport.connected, false);
  await reader.cancel();
  assertEquals((await child.status).code, 0);
});
