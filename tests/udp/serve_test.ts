/**
 * Tests for `udp/serve.ts`: the datagram server loop, its counters, error
 * handling, and shutdown that leaves the socket usable.
 *
 * @module
 */
import {
  bind,
  DatagramServer,
  serveDatagrams,
  TimeoutError,
} from "../../udp/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../_utils.ts";

const decoder = new TextDecoder();
const text = (data: Uint8Array): string => decoder.decode(data);

Deno.test("serveDatagrams() sends each handler's reply back to the sender", async () => {
  using socket = bind();
  await using server = serveDatagrams(
    socket,
    ({ data }) => `ACK ${text(data)}`,
  );
  using a = bind();
  using b = bind();
  await a.send("from a", socket.addr);
  await b.send("from b", socket.addr);
  assertEquals(text((await a.receive({ timeout: 1000 })).data), "ACK from a");
  assertEquals(text((await b.receive({ timeout: 1000 })).data), "ACK from b");
  assertEquals(
    [server.datagramsReceived, server.repliesSent, server.errors],
    [2, 2, 0],
  );
  assertEquals(server.socket, socket);
});

Deno.test("a handler may answer nothing, asynchronously, or with bytes", async () => {
  using socket = bind();
  await using server = serveDatagrams(socket, async ({ data }) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (text(data) === "quiet") return null;
    return new Uint8Array([data.length]);
  });
  using client = bind();
  await client.send("quiet", socket.addr);
  await client.send("four", socket.addr);
  assertEquals(
    (await client.receive({ timeout: 1000 })).data,
    new Uint8Array([4]),
  );
  await assertRejects(() => client.receive({ timeout: 30 }), TimeoutError);
  assertEquals([server.datagramsReceived, server.repliesSent], [2, 1]);
});

Deno.test("handler errors are reported and counted, and the server keeps serving", async () => {
  using socket = bind();
  const reported: string[] = [];
  await using server = serveDatagrams(socket, ({ data }) => {
    if (text(data) === "bad") throw new Error("cannot handle this");
    return "ok";
  }, {
    onError: (error, datagram) =>
      reported.push(`${(error as Error).message} (${text(datagram!.data)})`),
  });
  using client = bind();
  await client.send("bad", socket.addr);
  await client.send("good", socket.addr);
  assertEquals(text((await client.receive({ timeout: 1000 })).data), "ok");
  assertEquals(reported, ["cannot handle this (bad)"]);
  assertEquals(server.errors, 1);
});

Deno.test("oversized datagrams are dropped and counted", async () => {
  using socket = bind({ port: 0 }, { maxDatagramSize: 8 });
  await using server = serveDatagrams(socket, () => "ok");
  using client = bind();
  await client.send("far too long for it", socket.addr);
  await client.send("short", socket.addr);
  assertEquals(text((await client.receive({ timeout: 1000 })).data), "ok");
  assertEquals([server.droppedDatagrams, server.datagramsReceived], [1, 1]);
});

Deno.test("shutdown() stops the loop but leaves the socket open, losing nothing", async () => {
  using socket = bind();
  const server = new DatagramServer(socket, () => "served");
  await server.shutdown();
  await server.shutdown(); // idempotent
  await server.finished;
  using client = bind();
  await client.send("after shutdown", socket.addr);
  const { data, from } = await socket.receive({ timeout: 1000 });
  assertEquals(text(data), "after shutdown");
  assertEquals(from, client.addr);
  await assertRejects(
    () => client.receive({ timeout: 30 }),
    TimeoutError,
    undefined,
    "the stopped server did not answer",
  );
});

Deno.test("a running handler finishes within the grace period and its reply is sent", async () => {
  using socket = bind();
  let started!: () => void;
  const running = new Promise<void>((resolve) => started = resolve);
  const server = serveDatagrams(socket, async () => {
    started();
    await new Promise((resolve) => setTimeout(resolve, 30));
    return "late but sent";
  });
  using client = bind();
  await client.send("slow", socket.addr);
  await running;
  await server.shutdown({ gracePeriod: 1000 });
  assertEquals(
    text((await client.receive({ timeout: 1000 })).data),
    "late but sent",
  );
  assertEquals(server.repliesSent, 1);
});

Deno.test("an aborted signal shuts the server down; closing the socket ends it too", async () => {
  using socket = bind();
  const controller = new AbortController();
  const server = serveDatagrams(socket, () => "x", {
    signal: controller.signal,
  });
  controller.abort();
  await server.finished;
  const other = bind();
  const second = serveDatagrams(other, () => "x");
  other.close();
  await second.finished;
  assertThrows(
    () => serveDatagrams(socket, () => "x", { gracePeriod: -1 }),
    RangeError,
    "gracePeriod",
  );
});

Deno.test("maxRepliesPerSecond bounds the replies to one source address, whatever its port, and not to another", async () => {
  using socket = bind({ hostname: "127.0.0.1", port: 0 });
  // Two ports of one address share a budget; 127.0.0.2 has its own.
  using a = bind({ hostname: "127.0.0.1", port: 0 });
  using b = bind({ hostname: "127.0.0.1", port: 0 });
  using other = bind({ hostname: "127.0.0.2", port: 0 });
  const sends = [...Array(12).fill(a), ...Array(12).fill(b), other];
  let handled = 0;
  const allHandled = Promise.withResolvers<void>();
  const server = serveDatagrams(socket, () => {
    if (++handled === sends.length) allHandled.resolve();
    return "ACK";
  }, { maxRepliesPerSecond: 5 });
  const started = performance.now();
  for (const client of sends) await client.send("ping", socket.addr);
  await allHandled.promise;
  await server.shutdown(); // the last reply decided
  const elapsed = performance.now() - started;
  // 127.0.0.1: a burst of 5, plus what 5 a second refilled meanwhile.
  const bound = 5 + Math.floor((5 * elapsed) / 1000);
  const loopback = server.repliesSent - 1; // other's one reply aside
  assertEquals(server.datagramsReceived, sends.length);
  assertEquals(server.repliesSent + server.repliesLimited, sends.length);
  assert(
    loopback >= 5 && loopback <= bound,
    `${loopback} replies, bound ${bound}`,
  );
  assertEquals(text((await other.receive({ timeout: 1000 })).data), "ACK");
});

Deno.test("maxRepliesPerSecond refills: a source over it is answered again a little later", async () => {
  using socket = bind({ hostname: "127.0.0.1", port: 0 });
  using client = bind({ hostname: "127.0.0.1", port: 0 });
  // 50 a second: a burst of 50, then one every 20 ms.
  await using server = serveDatagrams(socket, ({ data }) => data, {
    maxRepliesPerSecond: 50,
  });
  for (let i = 0; i < 60; i++) await client.send("ping", socket.addr);
  for (let i = 0; i < 50; i++) await client.receive({ timeout: 1000 });
  // The burst is spent; 40 ms refill 2 tokens (the pause is the point).
  await new Promise((resolve) => setTimeout(resolve, 40));
  await client.send("again", socket.addr);
  // At most one late "ping" (a token refilled while they arrived) first.
  let reply = text((await client.receive({ timeout: 1000 })).data);
  if (reply === "ping") {
    reply = text((await client.receive({ timeout: 1000 })).data);
  }
  assertEquals(reply, "again");
  assert(server.repliesLimited >= 9 && server.repliesLimited <= 10);
});

Deno.test("two servers that answer everything, one forged datagram apart, exchange a bounded number with maxRepliesPerSecond", async () => {
  // A and B answer every datagram (as the Python tutorial's listener does):
  // one datagram sent from B's socket to A starts an exchange that, without
  // a limit, never ends. With 10 replies a second each, the chain breaks
  // at the first reply withheld: a burst of 10 each.
  using a = bind({ hostname: "127.0.0.1", port: 0 });
  using b = bind({ hostname: "127.0.0.1", port: 0 });
  const options = { maxRepliesPerSecond: 10 };
  const serverA = serveDatagrams(a, () => "ACK", options);
  const serverB = serveDatagrams(b, () => "ACK", options);
  const started = performance.now();
  await b.send("hello", a.addr);
  // The window in which a storm would run flat out.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await Promise.all([serverA.shutdown(), serverB.shutdown()]);
  const elapsed = performance.now() - started;
  const exchanged = serverA.datagramsReceived + serverB.datagramsReceived;
  console.log(
    `  two answer-everything servers, ${
      Math.round(elapsed)
    } ms: ${exchanged} datagrams, ${
      serverA.repliesLimited + serverB.repliesLimited
    } replies withheld`,
  );
  // Each sends at most its burst plus the refill over the window.
  const bound = 2 * (10 + Math.floor((10 * elapsed) / 1000)) + 1;
  assert(exchanged <= bound, `${exchanged} datagrams, bound ${bound}`);
  assertEquals(serverA.repliesLimited + serverB.repliesLimited, 1);
});

Deno.test("maxRepliesPerSecond must be a number > 0", () => {
  using socket = bind();
  for (const rate of [0, -1, NaN, "10"]) {
    assertThrows(
      () =>
        serveDatagrams(socket, () => "x", {
          maxRepliesPerSecond: rate as number,
        }),
      RangeError,
      `Cannot use maxRepliesPerSecond ${String(rate)}: give a number > 0`,
    );
  }
});
