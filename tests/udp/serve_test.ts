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
import { assertEquals, assertRejects, assertThrows } from "../_utils.ts";

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
