/**
 * Tests for `udp/request.ts`: retries against a peer that drops the first
 * requests, a peer that never answers, late replies, malformed datagrams
 * and strangers, the answering side (`serveRequests`), and python3 on
 * both ends, speaking the header from its documented layout.
 *
 * @module
 */
import { pack, unpack } from "../../framing/mod.ts";
import {
  bind,
  DatagramTooLargeError,
  MAX_UDP_PAYLOAD_IPV4,
  request,
  RequestTimeoutError,
  serveRequests,
  TimeoutError,
} from "../../udp/mod.ts";
// The header's layout, which the module docs give for Python peers.
import {
  REQUEST_HEADER_FORMAT,
  REQUEST_HEADER_SIZE,
  REQUEST_MAGIC,
  REQUEST_VERSION,
} from "../../udp/_header.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_utils.ts";
import { PythonPeer } from "./_python.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (data: Uint8Array): string => decoder.decode(data);
/** A header plus payload, packed from the documented layout. */
function message(
  kind: number,
  id: number,
  attempt: number,
  payload: string,
): Uint8Array {
  const header = pack("!HBBIH", 0x534b, 1, kind, id, attempt);
  const body = encoder.encode(payload);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

Deno.test("the header is the documented 10-byte !HBBIH", () => {
  assertEquals(REQUEST_HEADER_FORMAT, "!HBBIH");
  assertEquals(REQUEST_HEADER_SIZE, 10);
  assertEquals(REQUEST_MAGIC, 0x534b);
  assertEquals(REQUEST_VERSION, 1);
  assertEquals(
    text(pack("!H", REQUEST_MAGIC)),
    "SK",
  );
});

Deno.test("request() gets the reply on the first try from serveRequests", async () => {
  using serverSocket = bind();
  await using server = serveRequests(
    serverSocket,
    (data, _from, info) => `${text(data).toUpperCase()} #${info.attempt}`,
  );
  using client = bind();
  const reply = await request(client, "hello", serverSocket.addr, {
    timeout: 500,
  });
  assertEquals(text(reply.data), "HELLO #1");
  assertEquals([reply.tries, reply.answeredTry], [1, 1]);
  assertEquals(reply.from, serverSocket.addr);
  assertEquals(reply.ignored, { malformed: 0, wrongPeer: 0, stale: 0 });
  assertEquals(
    [server.requests, server.repliesSent, server.malformed],
    [1, 1, 0],
  );
});

Deno.test("request() retries past a Python peer that drops the first N requests", async () => {
  const drop = 2;
  await using python = PythonPeer.start(
    `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
say(s.getsockname()[1])
drop = int(sys.argv[1])
seen = []
while True:
    data, addr = s.recvfrom(65535)
    kind, rid, try_no, payload = unpack_msg(data)
    seen.append(try_no)
    if len(seen) <= drop:
        continue
    s.sendto(pack_msg(2, rid, try_no, b"got " + payload), addr)
    break
say(*seen)
`,
    [drop],
  );
  const port = await python.port();
  using client = bind();
  const reply = await request(client, "ping", { port }, {
    timeout: 100,
    retries: 5,
    backoff: 1.5,
  });
  assertEquals(text(reply.data), "got ping");
  assertEquals(reply.tries, drop + 1);
  assertEquals(reply.answeredTry, drop + 1);
  assert(reply.elapsed >= 100 + 150, `elapsed ${reply.elapsed}`);
  assertEquals(await python.line(), "1 2 3");
  await python.finish();
});

Deno.test("request() gives up with a TimeoutError that says how many tries were made", async () => {
  using silent = bind(); // a peer that never answers
  using client = bind();
  const started = performance.now();
  const error = await assertRejects(
    () =>
      request(client, "anyone?", silent.addr, {
        timeout: 20,
        retries: 3,
        backoff: 2,
      }),
    RequestTimeoutError,
  );
  const took = performance.now() - started;
  assertInstanceOf(error, TimeoutError);
  assertEquals(error.name, "TimeoutError");
  assertEquals(error.tries, 4);
  assertEquals(error.timeout, 20 + 40 + 80 + 160);
  assertEquals(error.address, `127.0.0.1:${silent.addr.port}`);
  assertMatch(
    error.message,
    /^Cannot get a reply from 127\.0\.0\.1:\d+ after 4 tries over 300 ms: no matching reply came \(ignored 0 malformed, 0 from other peers, 0 stale\)$/,
  );
  assert(took >= 300, `took ${took} ms`);
  // all four tries reached the peer, numbered 1..4 with one request id
  const tries: number[] = [];
  const ids = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const { data } = await silent.receive({ timeout: 1000 });
    const [magic, version, kind, id, attempt] = unpack(
      "!HBBIH",
      data.subarray(0, 10),
    );
    assertEquals([magic, version, kind], [0x534b, 1, 1]);
    ids.add(id);
    tries.push(attempt);
    assertEquals(text(data.subarray(10)), "anyone?");
  }
  assertEquals(tries, [1, 2, 3, 4]);
  assertEquals(ids.size, 1);
  // the socket is still usable
  await silent.send("still there", client.addr);
  assertEquals(
    text((await client.receive({ timeout: 1000 })).data),
    "still there",
  );
});

Deno.test("maxTimeout caps the backoff, and retries: 0 means a single try", async () => {
  using silent = bind();
  using client = bind();
  const capped = await assertRejects(
    () =>
      request(client, "x", silent.addr, {
        timeout: 10,
        retries: 3,
        backoff: 10,
        maxTimeout: 30,
      }),
    RequestTimeoutError,
  );
  assertEquals(capped.timeout, 10 + 30 + 30 + 30);
  const once = await assertRejects(
    () => request(client, "x", silent.addr, { timeout: 10, retries: 0 }),
    RequestTimeoutError,
    "after 1 try over 10 ms",
  );
  assertEquals(once.tries, 1);
});

Deno.test("a late reply to an earlier request is not taken for the answer to the next one", async () => {
  // The Python peer answers its first request only after 150 ms: the
  // client gives up on it after 40 ms and asks again (a new request); the
  // late answer arrives first and must be ignored as stale.
  await using python = PythonPeer.start(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
say(s.getsockname()[1])
for n in range(2):
    data, addr = s.recvfrom(65535)
    kind, rid, try_no, payload = unpack_msg(data)
    if n == 0:
        time.sleep(0.15)
    s.sendto(pack_msg(2, rid, try_no, b"answer to " + payload), addr)
say("done")
`);
  const port = await python.port();
  using client = bind();
  const first = await assertRejects(
    () =>
      request(client, "first", { port }, {
        timeout: 40,
        retries: 0,
      }),
    RequestTimeoutError,
  );
  assertEquals(first.tries, 1);
  const second = await request(client, "second", { port }, {
    timeout: 1000,
    retries: 0,
  });
  assertEquals(text(second.data), "answer to second");
  assertEquals(second.ignored, { malformed: 0, wrongPeer: 0, stale: 1 });
  assertEquals(await python.line(), "done");
  await python.finish();
});

Deno.test("a reply to an earlier try of the same request is its answer", async () => {
  using peer = bind();
  using client = bind();
  const asking = request(client, "q", peer.addr, { timeout: 30, retries: 3 });
  const one = await peer.receive({ timeout: 1000 });
  const two = await peer.receive({ timeout: 1000 }); // the client retried
  const [, , , id, attempt2] = unpack("!HBBIH", two.data.subarray(0, 10));
  assertEquals(attempt2, 2);
  await peer.send(message(2, id, 1, "late but right"), one.from);
  const reply = await asking;
  assertEquals(text(reply.data), "late but right");
  assertEquals(reply.answeredTry, 1);
  assert(reply.tries >= 2);
});

Deno.test("malformed datagrams and strangers are ignored and counted", async () => {
  using peer = bind();
  using stranger = bind();
  using client = bind();
  const asking = request(client, "q", peer.addr, { timeout: 2000, retries: 0 });
  const { data, from } = await peer.receive({ timeout: 1000 });
  const [, , , id] = unpack("!HBBIH", data.subarray(0, 10));
  // from the wrong peer, even with a perfect reply
  await stranger.send(message(2, id, 1, "impostor"), client.addr);
  // from the peer, but malformed:
  await peer.send("short", from); // shorter than the header
  await peer.send(new Uint8Array(12), from); // wrong magic
  const wrongVersion = message(2, id, 1, "v2");
  wrongVersion[2] = 2;
  await peer.send(wrongVersion, from); // unknown version
  await peer.send(message(3, id, 1, "?"), from); // unknown kind
  await peer.send(message(1, id, 1, "a request"), from); // not a reply
  await peer.send(message(2, id, 0, "try 0"), from); // try numbers start at 1
  await peer.send(message(2, id, 9, "future"), from); // a try never sent
  // a stale reply (another id)
  await peer.send(message(2, (id + 1) >>> 0, 1, "other"), from);
  // and the answer
  await peer.send(message(2, id, 1, "real"), from);
  const reply = await asking;
  assertEquals(text(reply.data), "real");
  assertEquals(reply.ignored, { malformed: 7, wrongPeer: 1, stale: 1 });
});

Deno.test("what was ignored is on the TimeoutError too", async () => {
  using peer = bind();
  using stranger = bind();
  using client = bind();
  const asking = request(client, "q", peer.addr, { timeout: 300, retries: 0 });
  const { from } = await peer.receive({ timeout: 1000 });
  await stranger.send("hi", client.addr);
  await peer.send("garbage", from);
  const error = await assertRejects(() => asking, RequestTimeoutError);
  assertEquals(error.ignored, { malformed: 1, wrongPeer: 1, stale: 0 });
  assertStringIncludes(
    error.message,
    "ignored 1 malformed, 1 from other peers",
  );
});

Deno.test("request() checks its arguments before sending", async () => {
  using client = bind();
  using peer = bind();
  for (
    const [options, what] of [
      [{ timeout: 0 }, "timeout 0"], // a zero wait
      [{ retries: -1 }, "retries -1"], // negative retries
      [{ retries: 1.5 }, "retries 1.5"], // fractional retries
      [{ retries: 70000 }, "16-bit"], // more tries than the header counts
      [{ backoff: 0.5 }, "backoff 0.5"], // a shrinking wait
    ] as const
  ) {
    await assertRejects(
      () => request(client, "x", peer.addr, options),
      RangeError,
      what,
    );
  }
  await assertRejects(
    () =>
      request(
        client,
        new Uint8Array(MAX_UDP_PAYLOAD_IPV4 - REQUEST_HEADER_SIZE + 1),
        peer.addr,
      ),
    DatagramTooLargeError,
    "65508 bytes",
  );
  const waiting = client.receive({ timeout: 1000 });
  await assertRejects(
    () => request(client, "x", peer.addr),
    TypeError,
    "another receive is in progress",
  );
  await peer.send("done", client.addr);
  await waiting;
  await assertRejects(
    () => peer.receive({ timeout: 20 }),
    TimeoutError,
    undefined,
    "nothing was sent",
  );
});

Deno.test("request() stops when its signal aborts", async () => {
  using silent = bind();
  using client = bind();
  const controller = new AbortController();
  const asking = request(client, "x", silent.addr, {
    timeout: 5000,
    signal: controller.signal,
  });
  await silent.receive({ timeout: 1000 });
  controller.abort(new Error("no longer needed"));
  await assertRejects(() => asking, Error, "no longer needed");
});

Deno.test("serveRequests() answers a retry from memory: the handler runs once", async () => {
  using serverSocket = bind();
  let calls = 0;
  await using server = serveRequests(serverSocket, (data) => {
    calls++;
    return `#${calls} ${text(data)}`;
  });
  using client = bind();
  // the same request twice, as when the first reply was lost
  await client.send(message(1, 77, 1, "q"), serverSocket.addr);
  await client.send(message(1, 77, 2, "q"), serverSocket.addr);
  const first = await client.receive({ timeout: 1000 });
  const second = await client.receive({ timeout: 1000 });
  assertEquals(unpack("!HBBIH", first.data.subarray(0, 10)), [
    0x534b,
    1,
    2,
    77,
    1,
  ]);
  assertEquals(unpack("!HBBIH", second.data.subarray(0, 10)), [
    0x534b,
    1,
    2,
    77,
    2,
  ]);
  assertEquals(text(first.data.subarray(10)), "#1 q");
  assertEquals(text(second.data.subarray(10)), "#1 q");
  assertEquals(calls, 1);
  assertEquals(
    [server.requests, server.duplicates, server.repliesSent],
    [1, 1, 2],
  );
  // a new id is a new request
  await client.send(message(1, 78, 1, "r"), serverSocket.addr);
  assertEquals(
    text((await client.receive({ timeout: 1000 })).data.subarray(10)),
    "#2 r",
  );
});

Deno.test("serveRequests(): a handler that answers nothing is asked again on the retry", async () => {
  using serverSocket = bind();
  let calls = 0;
  await using server = serveRequests(serverSocket, (_data, _from, info) => {
    calls++;
    return calls <= 2 ? null : `answered try ${info.attempt}`;
  });
  using client = bind();
  const reply = await request(client, "q", serverSocket.addr, {
    timeout: 100,
    retries: 4,
    backoff: 1,
  });
  assertEquals(text(reply.data), "answered try 3");
  assertEquals([reply.tries, reply.answeredTry, calls], [3, 3, 3]);
  assertEquals([server.requests, server.duplicates], [3, 0]);
});

Deno.test("serveRequests() ignores and counts malformed datagrams, and survives handler errors", async () => {
  using serverSocket = bind();
  const errors: string[] = [];
  await using server = serveRequests(serverSocket, (data) => {
    if (text(data) === "boom") throw new Error("handler failed");
    return "ok";
  }, { onError: (error) => errors.push((error as Error).message) });
  using client = bind();
  await client.send("not a request", serverSocket.addr);
  await client.send(message(2, 1, 1, "a reply"), serverSocket.addr);
  await client.send(message(1, 5, 1, "boom"), serverSocket.addr);
  const reply = await request(client, "fine", serverSocket.addr, {
    timeout: 500,
  });
  assertEquals(text(reply.data), "ok");
  assertEquals(server.malformed, 2);
  assertEquals(server.errors, 1);
  assertEquals(errors, ["handler failed"]);
});

Deno.test("a Python client speaks the header to serveRequests()", async () => {
  using serverSocket = bind();
  await using _server = serveRequests(
    serverSocket,
    (data, _from, info) => `${info.id}:${info.attempt}:${text(data)}`,
  );
  await using python = PythonPeer.start(
    `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(pack_msg(1, 4000000000, 3, b"from python"), ("127.0.0.1", int(sys.argv[1])))
data, addr = s.recvfrom(65535)
say(*unpack_msg(data))
`,
    [serverSocket.addr.port],
  );
  assertEquals(
    await python.line(),
    "2 4000000000 3 b'4000000000:3:from python'",
  );
  await python.finish();
});

Deno.test("request() and serveRequests() over Unix datagram sockets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockit-udp-" });
  try {
    using serverSocket = bind({ path: `${dir}/server.sock` });
    await using _server = serveRequests(serverSocket, (data) => data);
    using client = bind({ path: `${dir}/client.sock` });
    const reply = await request(client, "echo", serverSocket.addr, {
      timeout: 500,
    });
    assertEquals(text(reply.data), "echo");
    assertEquals(reply.from, serverSocket.addr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
