/**
 * Tests for `udp/broadcast.ts`: one broadcast to `127.255.255.255`
 * (nothing leaves the machine), replies collected until the deadline, from
 * our own listeners and from python3.
 *
 * @module
 */
import {
  bind,
  broadcast,
  type Datagram,
  LIMITED_BROADCAST,
  LOOPBACK_BROADCAST,
  serveDatagrams,
} from "../../udp/mod.ts";
import { assert, assertEquals, assertRejects } from "../_utils.ts";
import { PythonPeer } from "./_python.ts";

const decoder = new TextDecoder();
const text = (data: Uint8Array): string => decoder.decode(data);
Deno.test("the broadcast addresses", () => {
  assertEquals(LOOPBACK_BROADCAST, "127.255.255.255");
  assertEquals(LIMITED_BROADCAST, "255.255.255.255");
});

Deno.test("broadcast() collects a reply from every listener until the deadline", async () => {
  using a = bind({ hostname: LOOPBACK_BROADCAST, port: 0 }, {
    reuseAddress: true,
  });
  const port = a.addr.port;
  using b = bind({ hostname: LOOPBACK_BROADCAST, port }, {
    reuseAddress: true,
  });
  await using _sa = serveDatagrams(a, ({ data }) => `A got ${text(data)}`);
  await using _sb = serveDatagrams(b, ({ data }) => `B got ${text(data)}`);
  const seen: string[] = [];
  const started = performance.now();
  const replies = await broadcast("Hi there!", {
    hostname: LOOPBACK_BROADCAST,
    port,
  }, {
    timeout: 200,
    onReply: (reply) => seen.push(text(reply.data)),
  });
  const took = performance.now() - started;
  assert(took >= 200, `returned after ${took} ms`);
  assertEquals(replies.map((r) => text(r.data)).sort(), [
    "A got Hi there!",
    "B got Hi there!",
  ]);
  assertEquals(seen, replies.map((r) => text(r.data)));
  for (const reply of replies) {
    assertEquals(reply.from, { transport: "udp", hostname: "127.0.0.1", port });
  }
});

Deno.test("broadcast() with count and interval sends again and collects meanwhile", async () => {
  using listener = bind({ hostname: LOOPBACK_BROADCAST, port: 0 });
  let n = 0;
  await using _server = serveDatagrams(listener, () => `ACK ${++n}`);
  const replies = await broadcast("again", {
    hostname: LOOPBACK_BROADCAST,
    port: listener.addr.port,
  }, { count: 3, interval: 20, timeout: 150 });
  assertEquals(replies.map((r) => text(r.data)), ["ACK 1", "ACK 2", "ACK 3"]);
});

Deno.test("broadcast() with nobody listening returns no replies after the wait", async () => {
  using nobody = bind({ hostname: LOOPBACK_BROADCAST, port: 0 });
  const port = nobody.addr.port;
  nobody.close(); // the port is now (almost certainly) unused
  const replies = await broadcast("anyone?", {
    hostname: LOOPBACK_BROADCAST,
    port,
  }, { timeout: 50 });
  assertEquals(replies, []);
});

Deno.test("broadcast() from a socket of ours, which stays open", async () => {
  using listener = bind({ hostname: LOOPBACK_BROADCAST, port: 0 });
  await using _server = serveDatagrams(listener, () => "ACK");
  using socket = bind();
  const replies: Datagram[] = await broadcast("hi", {
    hostname: LOOPBACK_BROADCAST,
    port: listener.addr.port,
  }, { socket, timeout: 100 });
  assertEquals(replies.length, 1);
  assert(!socket.closed);
  assertEquals(socket.datagramsSent, 1);
});

Deno.test("broadcast() collects a Python listener's ACK", async () => {
  await using python = PythonPeer.start(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.255.255.255", 0))
say(s.getsockname()[1])
data, addr = s.recvfrom(1024)
s.sendto(b"ACK", addr)
say(data.decode())
`);
  const port = await python.port();
  const replies = await broadcast("Hi there!", {
    hostname: LOOPBACK_BROADCAST,
    port,
  }, { timeout: 300 });
  assertEquals(replies.map((r) => text(r.data)), ["ACK"]);
  assertEquals(await python.line(), "Hi there!");
  await python.finish();
});

Deno.test("broadcast() needs an address and sane options", async () => {
  await assertRejects(
    () =>
      broadcast(
        "x",
        { port: 9 } as unknown as { hostname: string; port: number },
      ),
    TypeError,
    "127.255.255.255",
  );
  const to = { hostname: LOOPBACK_BROADCAST, port: 9 };
  for (
    const [options, what] of [
      [{ timeout: -1 }, "timeout -1"], // a negative timeout
      [{ count: 0 }, "count 0"], // nothing to send
      [{ count: 1.5 }, "count 1.5"], // a fraction of a send
      [{ interval: NaN }, "interval NaN"], // not a number
    ] as const
  ) {
    await assertRejects(() => broadcast("x", to, options), RangeError, what);
  }
});
