// relayDatagrams(socket, target): a UDP proxy, one flow per sender.
import { bind, type DatagramSocket } from "../../udp/mod.ts";
import type { SocketAddress } from "../../net/mod.ts";
import { relayDatagrams } from "../../relay/mod.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "../_utils.ts";
import { bytes, deferred, text } from "../tcp/_helpers.ts";

type FlowEnd = Parameters<
  NonNullable<NonNullable<Parameters<typeof relayDatagrams>[2]>["onFlowEnd"]>
>[0];

/**
 * A backend that answers each datagram with `port:payload` (the port it
 * came from: the flow's socket), and remembers the ports.
 */
function backend(): {
  socket: DatagramSocket<"udp">;
  ports: number[];
  done: Promise<void>;
} {
  const socket = bind({ port: 0 });
  const ports: number[] = [];
  const done = (async () => {
    try {
      for (;;) {
        const { data, from } = await socket.receive();
        if (!("port" in from)) continue;
        ports.push(from.port);
        await socket.send(`${from.port}:${text(data)}`, from);
      }
    } catch { /* closed */ }
  })();
  return { socket, ports, done };
}

async function ask(client: DatagramSocket, to: SocketAddress, message: string) {
  await client.send(message, to);
  const { data, from } = await client.receive({ timeout: 2000 });
  assertEquals("port" in from && from.port, "port" in to && to.port);
  return text(data)!;
}

Deno.test("relayDatagrams() to a target gives each sender a flow of its own", async () => {
  const server = backend();
  const proxy = bind({ port: 0 });
  const stop = new AbortController();
  const ended: FlowEnd[] = [];
  const relaying = relayDatagrams(proxy, server.socket.addr, {
    signal: stop.signal,
    onFlowEnd: (flow) => ended.push(flow),
  });
  using a = bind({ port: 0 });
  using b = bind({ port: 0 });
  const a1 = await ask(a, proxy.addr, "a1");
  const b1 = await ask(b, proxy.addr, "b1");
  const a2 = await ask(a, proxy.addr, "a2");
  const [portA, payloadA1] = a1.split(":");
  const [portB] = b1.split(":");
  assertEquals(payloadA1, "a1");
  assertNotEquals(portA, portB); // two flows, two sockets
  assertEquals(a2, `${portA}:a2`); // the same flow again
  stop.abort();
  const result = await relaying;
  assertEquals(result, {
    reason: "stopped",
    datagramsSent: 3,
    datagramsReceived: 3,
    bytesSent: a1.length + b1.length + a2.length,
    bytesReceived: 6,
    ignored: 0,
  });
  assertEquals(ended.map((flow) => [flow.reason, flow.datagramsReceived]), [
    ["stopped", 2],
    ["stopped", 1],
  ]);
  assertEquals(proxy.closed, true);
  server.socket.close();
  await server.done;
});

Deno.test("relayDatagrams() to a target closes a flow idle past idleTimeout", async () => {
  const server = backend();
  const proxy = bind({ port: 0 });
  const stop = new AbortController();
  const flowEnded = deferred<FlowEnd>();
  const relaying = relayDatagrams(proxy, server.socket.addr, {
    signal: stop.signal,
    idleTimeout: 100,
    onFlowEnd: (flow) => flowEnded.resolve(flow),
  });
  using client = bind({ port: 0 });
  const first = await ask(client, proxy.addr, "one");
  const flow = await flowEnded.promise;
  assertEquals(flow.reason, "idle-timeout");
  assertEquals(flow.peer, client.addr);
  assertEquals([flow.datagramsReceived, flow.datagramsSent], [1, 1]);
  assert(flow.duration >= 100, `lasted ${flow.duration} ms`);
  // The same sender again: a new flow, a new socket.
  const second = await ask(client, proxy.addr, "two");
  assertNotEquals(first.split(":")[0], second.split(":")[0]);
  stop.abort();
  await relaying;
  server.socket.close();
  await server.done;
});

Deno.test("relayDatagrams() to a target drops new senders past maxFlows", async () => {
  const server = backend();
  const proxy = bind({ port: 0 });
  const stop = new AbortController();
  const relaying = relayDatagrams(proxy, server.socket.addr, {
    signal: stop.signal,
    maxFlows: 1,
  });
  using a = bind({ port: 0 });
  using b = bind({ port: 0 });
  await ask(a, proxy.addr, "first");
  await b.send("second", proxy.addr);
  // a's next datagram is relayed, so b's (sent before it) was handled.
  await ask(a, proxy.addr, "third");
  stop.abort();
  const result = await relaying;
  assertEquals([result.datagramsReceived, result.ignored], [2, 1]);
  assertEquals(server.ports.length, 2);
  server.socket.close();
  await server.done;
});

Deno.test("relayDatagrams() to a target refuses options that are for streams", async () => {
  for (
    const [options, message] of [
      // to: the target is the second argument
      [
        { to: { port: 9 } },
        "Cannot relay datagrams to a target with options.to: it is for a relay to streams",
      ],
      // output: nothing is printed
      [
        { output: "hex" as const },
        "Cannot relay datagrams to a target with options.output: it is for a relay to streams",
      ],
    ] as const
  ) {
    using socket = bind({ port: 0 });
    await assertRejects(
      () => relayDatagrams(socket, { port: 9 }, options),
      TypeError,
      message,
    );
  }
  using socket = bind({ port: 0 });
  await assertRejects(
    () => relayDatagrams(socket, { port: 9 }, { maxFlows: 0 }),
    RangeError,
    "Cannot relay datagrams with maxFlows 0: give an integer >= 1",
  );
  await assertRejects(
    () => relayDatagrams(socket, { path: "/tmp/x" }),
    TypeError,
    "Cannot relay datagrams to unix:/tmp/x: flows need a UDP target { hostname, port }",
  );
  await socket.send(bytes("unused"), socket.addr); // still open and usable
});
