/**
 * Tests for `udp/socket.ts`: bind, send/receive on loopback, timeouts that
 * keep the socket usable, datagram sizes, closing, iteration, Unix
 * datagram sockets, python3 as the peer, and the missing-flag error.
 *
 * @module
 */
import {
  bind,
  type DatagramSocket,
  DatagramTooLargeError,
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
} from "../../udp/mod.ts";
import { TimeoutError } from "../../net/errors.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
  Prng,
  testSeed,
} from "../_utils.ts";
import { PythonPeer } from "./_python.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (data: Uint8Array): string => decoder.decode(data);
Deno.test("bind() defaults to 127.0.0.1 and a free port", () => {
  using socket = bind();
  assertEquals(socket.transport, "udp");
  assertEquals(socket.addr.transport, "udp");
  assertEquals(socket.addr.hostname, "127.0.0.1");
  assert(socket.addr.port > 0);
  assertEquals(socket.maxDatagramSize, MAX_UDP_PAYLOAD_IPV4);
  assertEquals(socket.timeout, null);
});

Deno.test("send() and receive() carry a datagram and its sender, with counters", async () => {
  using a = bind({ hostname: "127.0.0.1", port: 0 });
  using b = bind({ port: 0 });
  await a.send("hello", b.addr);
  await a.send(new Uint8Array([0, 1, 2, 255]), { port: b.addr.port });
  const first = await b.receive({ timeout: 2000 });
  assertEquals(text(first.data), "hello");
  assertEquals(first.from, a.addr);
  const second = await b.receive({ timeout: 2000 });
  assertEquals(second.data, new Uint8Array([0, 1, 2, 255]));
  assertEquals([a.datagramsSent, a.bytesSent], [2, 9]);
  assertEquals([b.datagramsReceived, b.bytesReceived], [2, 9]);
  // a reply to `from` reaches the sender
  await b.send("back", first.from);
  assertEquals(text((await a.receive({ timeout: 2000 })).data), "back");
});

Deno.test("received data is a copy the socket never overwrites", async () => {
  using a = bind();
  using b = bind();
  await a.send("first", b.addr);
  const first = await b.receive({ timeout: 2000 });
  await a.send("SECOND", b.addr);
  await b.receive({ timeout: 2000 });
  assertEquals(text(first.data), "first");
  // Copied out: a small datagram lives in a shared 4 KiB block (or a
  // buffer of its own), never in the 64 KiB receive buffer.
  assert(first.data.buffer.byteLength <= 4 * 1024);
});

Deno.test("a timeout of Infinity means no limit, like null", async () => {
  // Timers fire at once past 2**31 - 1 ms: an infinite timeout must not
  // time out before a datagram sent a moment later.
  using a = bind();
  using b = bind({ port: 0 }, { timeout: Infinity });
  const pending = b.receive();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await a.send("late", b.addr);
  assertEquals(text((await pending).data), "late");
  const next = b.receive({ timeout: Infinity });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await a.send("later", b.addr);
  assertEquals(text((await next).data), "later");
});

Deno.test("every datagram received stays as it was while later ones arrive", async () => {
  using a = bind();
  using b = bind();
  const sizes = Array.from({ length: 300 }, (_, i) => (i * 97) % 4000);
  const kept: Uint8Array[] = [];
  for (const [i, size] of sizes.entries()) {
    await a.send(new Uint8Array(size).fill(i & 0xff), b.addr);
    kept.push((await b.receive({ timeout: 2000 })).data);
  }
  for (const [i, size] of sizes.entries()) {
    assertEquals(kept[i], new Uint8Array(size).fill(i & 0xff), `datagram ${i}`);
  }
});

Deno.test("datagrams keep their boundaries (seeded sizes)", async () => {
  const seed = testSeed("UDP_SEED");
  const prng = new Prng(seed);
  using a = bind();
  using b = bind();
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) {
    // sizes from empty to a few KiB, including 0 and 1
    const payload = prng.bytes(i < 2 ? i : prng.int(0, 4096));
    sent.push(payload);
    await a.send(payload, b.addr);
    const { data } = await b.receive({ timeout: 2000 });
    assertEquals(data, payload, `seed ${seed}, datagram ${i}`);
  }
});

Deno.test("receive() times out with TimeoutError, and the socket stays usable", async () => {
  using socket = bind();
  const error = await assertRejects(
    () => socket.receive({ timeout: 30 }),
    TimeoutError,
  );
  assertEquals(error.name, "TimeoutError");
  assertEquals(error.timeout, 30);
  assertStringIncludes(error.message, "no datagram for 30 ms");
  assertStringIncludes(error.message, `127.0.0.1:${socket.addr.port}`);
  // a later datagram is not lost: it goes to the next receive
  await socket.send("after the timeout", socket.addr);
  assertEquals(
    text((await socket.receive({ timeout: 2000 })).data),
    "after the timeout",
  );
});

Deno.test("setTimeout() is the default for receive(); a per-call timeout overrides it", async () => {
  using socket = bind({ port: 0 }, { timeout: 20 });
  assertEquals(socket.timeout, 20);
  await assertRejects(() => socket.receive(), TimeoutError);
  socket.setTimeout(null);
  await assertRejects(() => socket.receive({ timeout: 10 }), TimeoutError);
  socket.setTimeout(15);
  await assertRejects(() => socket.receive(), TimeoutError);
  assertThrows(() => socket.setTimeout(-1), RangeError);
  await assertRejects(() => socket.receive({ timeout: NaN }), RangeError);
});

Deno.test("a timed-out receive hands the datagram that arrives next to the next receive", async () => {
  using a = bind();
  using b = bind();
  for (let i = 0; i < 5; i++) {
    await assertRejects(() => b.receive({ timeout: 5 }), TimeoutError);
  }
  await a.send("one", b.addr);
  await a.send("two", b.addr);
  assertEquals(text((await b.receive({ timeout: 2000 })).data), "one");
  assertEquals(text((await b.receive({ timeout: 2000 })).data), "two");
});

Deno.test("an aborted receive rejects with the reason and loses nothing", async () => {
  using a = bind();
  using b = bind();
  const controller = new AbortController();
  const waiting = b.receive({ signal: controller.signal });
  controller.abort(new Error("stop waiting"));
  await assertRejects(() => waiting, Error, "stop waiting");
  await assertRejects(
    () => b.receive({ signal: AbortSignal.abort(new Error("already")) }),
    Error,
    "already",
  );
  await a.send("kept", b.addr);
  assertEquals(text((await b.receive({ timeout: 2000 })).data), "kept");
});

Deno.test("only one receive() at a time", async () => {
  using socket = bind();
  const first = socket.receive({ timeout: 1000 });
  assert(socket.receiving);
  await assertRejects(
    () => socket.receive(),
    TypeError,
    "another receive is in progress",
  );
  await socket.send("x", socket.addr);
  assertEquals(text((await first).data), "x");
  assert(!socket.receiving);
});

Deno.test("close() is idempotent, ends a waiting receive and refuses later use", async () => {
  const socket = bind();
  const waiting = socket.receive();
  socket.close();
  socket.close();
  assert(socket.closed);
  const error = await assertRejects(() => waiting, Deno.errors.BadResource);
  assertStringIncludes(error.message, "is closed");
  await assertRejects(() => socket.receive(), Deno.errors.BadResource);
  await assertRejects(
    () => socket.send("x", { port: 9 }),
    Deno.errors.BadResource,
  );
  await socket[Symbol.asyncDispose]();
  socket[Symbol.dispose]();
});

Deno.test("await using closes the socket and waits for its receive to settle", async () => {
  let kept: DatagramSocket;
  {
    await using socket = bind();
    kept = socket;
    await assertRejects(() => socket.receive({ timeout: 5 }), TimeoutError);
  }
  assert(kept.closed);
});

Deno.test("for await yields datagrams and ends quietly when the socket closes", async () => {
  using a = bind();
  const b = bind();
  const seen: string[] = [];
  const loop = (async () => {
    for await (const { data } of b) {
      seen.push(text(data));
      if (seen.length === 3) b.close();
    }
  })();
  for (const word of ["a", "b", "c"]) await a.send(word, b.addr);
  await loop;
  assertEquals(seen, ["a", "b", "c"]);
  const idle = bind();
  const idleLoop = (async () => {
    for await (const _ of idle) { /* nothing comes */ }
    return "ended";
  })();
  idle.close();
  assertEquals(await idleLoop, "ended");
});

Deno.test("send() refuses more than one UDP datagram holds, before sending anything", async () => {
  using a = bind();
  using b = bind();
  const error = await assertRejects(
    () => a.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV4 + 1), b.addr),
    DatagramTooLargeError,
  );
  assertEquals(
    [error.direction, error.size, error.limit],
    ["send", 65508, 65507],
  );
  assertEquals(error.address, `127.0.0.1:${b.addr.port}`);
  assertMatch(
    error.message,
    /^Cannot send 65508 bytes to 127\.0\.0\.1:\d+ as one datagram holds at most 65507: nothing was sent$/,
  );
  assertInstanceOf(error, RangeError);
  assertEquals(a.datagramsSent, 0);
  // the largest one fits, and arrives whole
  const largest = new Uint8Array(MAX_UDP_PAYLOAD_IPV4).fill(7);
  await a.send(largest, b.addr);
  const { data } = await b.receive({ timeout: 2000 });
  assertEquals(data.length, MAX_UDP_PAYLOAD_IPV4);
  await assertRejects(
    () => b.receive({ timeout: 20 }),
    TimeoutError,
    undefined,
    "only the one datagram arrived",
  );
});

Deno.test("over IPv6 the limit is 65,527 bytes", async () => {
  let a: DatagramSocket;
  try {
    a = bind({ hostname: "::1", port: 0 });
  } catch (error) {
    console.log(`skipped: no IPv6 loopback here (${String(error)})`);
    return;
  }
  using _a = a;
  using b = bind({ hostname: "::1", port: 0 });
  assertEquals(a.maxDatagramSize, MAX_UDP_PAYLOAD_IPV6);
  await assertRejects(
    () => a.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV6 + 1), b.addr),
    DatagramTooLargeError,
    "at most 65527",
  );
  await a.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV6), b.addr);
  assertEquals(
    (await b.receive({ timeout: 2000 })).data.length,
    MAX_UDP_PAYLOAD_IPV6,
  );
});

Deno.test("a datagram over maxDatagramSize is reported, never truncated, and the socket stays usable", async () => {
  using a = bind();
  using b = bind({ port: 0 }, { maxDatagramSize: 100 });
  await a.send(new Uint8Array(101), b.addr);
  await a.send(new Uint8Array(5000), b.addr);
  await a.send(new Uint8Array(100).fill(1), b.addr);
  for (const size of [101, 101]) {
    const error = await assertRejects(
      () => b.receive({ timeout: 2000 }),
      DatagramTooLargeError,
    );
    assertEquals([error.direction, error.size, error.limit], [
      "receive",
      size,
      100,
    ]);
    assertStringIncludes(error.message, `from 127.0.0.1:${a.addr.port}`);
  }
  assertEquals(b.droppedDatagrams, 2);
  const { data } = await b.receive({ timeout: 2000 });
  assertEquals(data, new Uint8Array(100).fill(1));
  // sending is held to the same limit
  await assertRejects(
    () => b.send(new Uint8Array(101), a.addr),
    DatagramTooLargeError,
    "at most 100",
  );
});

Deno.test("for await skips oversized datagrams and counts them", async () => {
  using a = bind();
  const b = bind({ port: 0 }, { maxDatagramSize: 10 });
  const seen: number[] = [];
  const loop = (async () => {
    for await (const { data } of b) {
      seen.push(data.length);
      if (seen.length === 2) b.close();
    }
  })();
  for (const size of [3, 11, 10]) await a.send(new Uint8Array(size), b.addr);
  await loop;
  assertEquals(seen, [3, 10]);
  assertEquals(b.droppedDatagrams, 1);
});

Deno.test("bad addresses and options are clear errors", async () => {
  assertThrows(() => bind({ port: 70000 }), RangeError, "port 70000");
  assertThrows(
    () => bind({ port: 0 }, { maxDatagramSize: 70000 }),
    RangeError,
    "maxDatagramSize 70000",
  );
  assertThrows(
    () => bind({ port: 0 }, { timeout: -5 }),
    RangeError,
    "timeout",
  );
  using socket = bind();
  await assertRejects(
    () => socket.send("x", { port: 0 }),
    RangeError,
    "port 0",
  );
  await assertRejects(
    () => socket.send("x", { path: "/tmp/nowhere.sock" }),
    TypeError,
    "from UDP socket",
  );
  await assertRejects(
    () => socket.send(42 as unknown as string, socket.addr),
    TypeError,
  );
  using other = bind();
  assertThrows(
    () => bind(other.addr),
    Deno.errors.AddrInUse,
    `127.0.0.1:${other.addr.port}`,
  );
});

Deno.test("reuseAddress lets two sockets share a port, and both get a broadcast", async () => {
  using a = bind({ hostname: "127.255.255.255", port: 0 }, {
    reuseAddress: true,
  });
  using b = bind({ hostname: "127.255.255.255", port: a.addr.port }, {
    reuseAddress: true,
  });
  using sender = bind();
  await sender.send("to all", {
    hostname: "127.255.255.255",
    port: a.addr.port,
  });
  assertEquals(text((await a.receive({ timeout: 2000 })).data), "to all");
  assertEquals(text((await b.receive({ timeout: 2000 })).data), "to all");
});

Deno.test("a Python sender with SO_BROADCAST reaches our listener and gets its ACK", async () => {
  using listener = bind({ hostname: "127.255.255.255", port: 0 });
  await using python = PythonPeer.start(
    `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("127.0.0.1", 0))
say(s.getsockname()[1])
s.sendto(b"Hi there!", ("127.255.255.255", int(sys.argv[1])))
data, addr = s.recvfrom(1024)
say(data.decode(), addr[0], addr[1])
`,
    [listener.addr.port],
  );
  const pythonPort = await python.port();
  const { data, from } = await listener.receive({ timeout: 5000 });
  assertEquals(text(data), "Hi there!");
  assertEquals(from, {
    transport: "udp",
    hostname: "127.0.0.1",
    port: pythonPort,
  });
  await listener.send("ACK", from);
  assertEquals(await python.line(), `ACK 127.0.0.1 ${listener.addr.port}`);
  await python.finish();
});

Deno.test("our sender broadcasts to a Python receiver, which answers ACK", async () => {
  await using python = PythonPeer.start(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.255.255.255", 0))
say(s.getsockname()[1])
data, addr = s.recvfrom(65535)
s.sendto(b"ACK", addr)
say(len(data), data[:9].decode())
`);
  const port = await python.port();
  using sender = bind();
  await sender.send("Hi there!", { hostname: "127.255.255.255", port });
  const { data, from } = await sender.receive({ timeout: 5000 });
  assertEquals(text(data), "ACK");
  assertEquals(from.port, port);
  assertEquals(await python.line(), "9 Hi there!");
  await python.finish();
});

Deno.test("Python receives our largest datagram whole", async () => {
  await using python = PythonPeer.start(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
say(s.getsockname()[1])
data, addr = s.recvfrom(70000)
say(len(data), data.count(b"z"))
`);
  const port = await python.port();
  using sender = bind();
  await sender.send(new Uint8Array(MAX_UDP_PAYLOAD_IPV4).fill(0x7a), { port });
  assertEquals(await python.line(), "65507 65507");
  await python.finish();
});

Deno.test("unixpacket: a round trip between two Unix datagram sockets in a temp dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockit-udp-" });
  try {
    using a = bind({ path: `${dir}/a.sock` });
    using b = bind({ path: `${dir}/b.sock` });
    assertEquals(a.transport, "unixpacket");
    assertEquals(a.addr, { transport: "unixpacket", path: `${dir}/a.sock` });
    assertEquals(a.maxDatagramSize, 65536);
    await a.send("over unix", b.addr);
    const { data, from } = await b.receive({ timeout: 2000 });
    assertEquals(text(data), "over unix");
    assertEquals(from, a.addr);
    await b.send(encoder.encode("and back"), from);
    assertEquals(text((await a.receive({ timeout: 2000 })).data), "and back");
    // sizes are ours to bound: 65536 by default
    await assertRejects(
      () => a.send(new Uint8Array(65537), b.addr),
      DatagramTooLargeError,
    );
    await a.send(new Uint8Array(65536), b.addr);
    assertEquals((await b.receive({ timeout: 2000 })).data.length, 65536);
    // the other transport's addresses are refused
    await assertRejects(
      () => a.send("x", { port: 9 }),
      TypeError,
      "from Unix socket",
    );
    await assertRejects(() => a.joinMulticast("239.1.2.3"), TypeError);
    assertThrows(
      () => bind({ path: `${dir}/c.sock` }, { reuseAddress: true }),
      TypeError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unixpacket: close() removes the socket file, so the path can be bound again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockit-udp-" });
  try {
    const path = `${dir}/again.sock`;
    bind({ path }).close();
    await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
    using again = bind({ path });
    assertEquals(again.addr, { transport: "unixpacket", path });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unixpacket: a Python AF_UNIX SOCK_DGRAM peer, and an unbound sender", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockit-udp-" });
  try {
    using ours = bind({ path: `${dir}/ours.sock` });
    {
      await using python = PythonPeer.start(
        `
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1] + "/py.sock")
s.sendto(b"from python", sys.argv[1] + "/ours.sock")
data, addr = s.recvfrom(1024)
say(data.decode(), addr)
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.sendto(b"unbound", sys.argv[1] + "/ours.sock")
`,
        [dir],
      );
      const { data, from } = await ours.receive({ timeout: 5000 });
      assertEquals(text(data), "from python");
      assertEquals(from, { transport: "unixpacket", path: `${dir}/py.sock` });
      await ours.send("hello python", from);
      assertEquals(await python.line(), `hello python ${dir}/ours.sock`);
      const unbound = await ours.receive({ timeout: 5000 });
      assertEquals(text(unbound.data), "unbound");
      assertEquals(unbound.from, { transport: "unixpacket", path: "" });
      await assertRejects(
        () => ours.send("reply", unbound.from),
        TypeError,
        "unbound Unix socket",
      );
      await python.finish();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without --unstable-net, bind() says which flag is missing", async () => {
  const script = `
import { bind } from ${
    JSON.stringify(new URL("../../udp/socket.ts", import.meta.url).href)
  };
try {
  bind();
  console.log("bound?!");
} catch (error) {
  console.log(error.name + ": " + error.message);
}
`;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", script],
    stdin: "null",
  }).output();
  assertEquals(code, 0, decoder.decode(stderr));
  const line = decoder.decode(stdout).trim();
  assertStringIncludes(line, "NotSupported: ");
  assertStringIncludes(line, "--unstable-net");
  assertStringIncludes(line, '"unstable": ["net"]');
});
