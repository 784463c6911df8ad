import {
  FrameTooLargeError,
  lengthPrefixed,
  lines,
} from "../../framing/mod.ts";
import {
  connect,
  type Connection,
  type FramedConnection,
  listen,
  type Server,
} from "../../tcp/mod.ts";
import {
  poll,
  Poller,
  type PollEvent,
  type PollSource,
} from "../../poll/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../_utils.ts";
import { waitFor } from "../tcp/_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (bytes: Uint8Array): string => dec.decode(bytes);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A server whose handler hands each accepted connection to the test and
 * keeps it open until the test calls the returned `release`.
 */
function pairServer(): {
  server: Server<"tcp">;
  accepted: () => Promise<Connection>;
  release: () => void;
} {
  const queue: Connection[] = [];
  const waiters: ((conn: Connection) => void)[] = [];
  const released = Promise.withResolvers<void>();
  const server = listen({ port: 0 }, async (conn) => {
    const waiter = waiters.shift();
    if (waiter) waiter(conn);
    else queue.push(conn);
    await released.promise;
  });
  return {
    server,
    accepted: () =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise((resolve) => waiters.push(resolve)),
    release: () => released.resolve(),
  };
}

/** Connects a client and returns [client, server side]. */
async function pair(
  peers: ReturnType<typeof pairServer>,
): Promise<[Connection, Connection]> {
  const client = await connect(peers.server.addr);
  const serverSide = await peers.accepted();
  serverSide.setTimeout(2000); // a lost byte fails the test, not hangs it
  return [client, serverSide];
}

/** A one-loop echo server built on a Poller, as the classic select() one. */
function pollEchoServer(): {
  server: Server<"tcp">;
  poller: Poller;
  loop: Promise<PollEvent[]>;
} {
  const poller = new Poller();
  const server = listen({ port: 0 }, (conn) => poller.add(conn));
  const loop = (async () => {
    const events: PollEvent[] = [];
    for await (const event of poller) {
      events.push(event);
      if (event.type === "data") await event.source.write(event.data);
    }
    return events;
  })();
  return { server, poller, loop };
}

Deno.test("one poll loop echoes for several clients at once", async () => {
  const { server, poller, loop } = pollEchoServer();
  const clients = await Promise.all(
    Array.from({ length: 6 }, () => connect(server.addr)),
  );
  // Each client sends three messages, interleaved with the others.
  for (let round = 0; round < 3; round++) {
    await Promise.all(clients.map((c, i) => c.write(`c${i}r${round};`)));
  }
  await Promise.all(clients.map(async (c, i) => {
    const expected = `c${i}r0;c${i}r1;c${i}r2;`;
    assertEquals(text(await c.readExactly(expected.length)), expected);
  }));
  for (const c of clients) c.close();
  await server.shutdown();
  poller.close();
  const events = await loop;
  assertEquals(events.filter((e) => e.type === "eof").length, 6);
  assertEquals(poller.size, 0);
});

Deno.test("a Python client and Deno clients share one poll loop", async () => {
  const { server, poller, loop } = pollEchoServer();
  await using deno = await connect(server.addr);
  const [out] = await Promise.all([
    new Deno.Command("python3", {
      args: [
        "-c",
        `
import socket, sys
socket.setdefaulttimeout(10)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for word in (b"alpha ", b"beta ", b"gamma"):
    s.sendall(word)
s.shutdown(socket.SHUT_WR)
data = b""
while len(data) < 16:
    chunk = s.recv(100)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
`,
        String(server.addr.port),
      ],
      stdout: "piped",
    }).output(),
    (async () => {
      await deno.write("from deno");
      assertEquals(text(await deno.readExactly(9)), "from deno");
    })(),
  ]);
  assertEquals(out.code, 0);
  assertEquals(text(out.stdout), "alpha beta gamma");
  deno.close();
  await server.shutdown();
  poller.close();
  const events = await loop;
  assert(events.some((e) => e.type === "eof"));
});

Deno.test("framed sources give frame events, whole frames however the bytes arrive", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  const codec = lengthPrefixed({ header: "u16be" });
  const framedA = serverA.framed(codec);
  const framedB = serverB.framed(lines());
  const bytes = codec.encodeAll([
    enc.encode("first"),
    enc.encode("second"),
  ]);
  // Split one frame across writes.
  await clientA.write(bytes.subarray(0, 4));
  await clientB.write("line one\nline");
  const seen: string[] = [];
  const loop = (async () => {
    for await (const event of poll([framedA, framedB])) {
      if (event.type === "frame") {
        seen.push(
          `${event.source === framedA ? "A" : "B"}:${text(event.frame)}`,
        );
      } else if (event.type !== "timeout") {
        seen.push(`${event.type}:${event.source === framedA ? "A" : "B"}`);
      }
    }
  })();
  await delay(20);
  await clientA.write(bytes.subarray(4));
  await clientB.write(" two\n");
  await delay(20);
  clientA.close();
  clientB.close();
  await loop;
  assertEquals(seen.filter((s) => s.startsWith("A")), ["A:first", "A:second"]);
  assertEquals(seen.filter((s) => s.startsWith("B")), [
    "B:line one",
    "B:line two",
  ]);
  assertEquals(seen.filter((s) => s.startsWith("eof")).length, 2);
  peers.release();
  await peers.server.shutdown();
});

Deno.test("eof and error events remove their source, and poll() ends when none remain", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  const framedB = serverB.framed(lines({ maxFrameSize: 4 }));
  const poller = poll([serverA, framedB]);
  await clientA.write("data");
  await clientA.shutdown("write");
  await clientB.write("ok\nmuch too long\n");
  const events: PollEvent[] = [];
  for await (const event of poller) events.push(event);

  const forA = events.filter((e) =>
    e.type !== "timeout" && e.source === serverA
  );
  assertEquals(forA.map((e) => e.type), ["data", "eof"]);
  const forB = events.filter((e) =>
    e.type !== "timeout" && e.source === framedB
  );
  assertEquals(forB.map((e) => e.type), ["frame", "error"]);
  const error = forB[1]!;
  assert(error.type === "error");
  assertInstanceOf(error.error, FrameTooLargeError);
  assertEquals(poller.size, 0);
  assertEquals(poller.has(serverA), false);
  assertEquals(poller.closed, true); // ended empty: closed, signal let go
  clientA.close();
  clientB.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("a closed or failing source gives an error event", async () => {
  const peers = pairServer();
  const [client, serverSide] = await pair(peers);
  serverSide.close();
  const events: PollEvent[] = [];
  for await (const event of poll([serverSide])) events.push(event);
  assertEquals(events.length, 1);
  assert(events[0]!.type === "error");
  assertInstanceOf(events[0]!.error, Deno.errors.BadResource);
  client.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("timeout events come when nothing happens for the timeout", async () => {
  const peers = pairServer();
  const [client, serverSide] = await pair(peers);
  const events: string[] = [];
  const started = performance.now();
  for await (const event of poll([serverSide], { timeout: 30 })) {
    events.push(event.type);
    if (event.type === "timeout" && events.length === 2) {
      await client.write("wake up");
    }
    if (event.type === "data") break;
  }
  assertEquals(events, ["timeout", "timeout", "data"]);
  assert(performance.now() - started >= 55);
  client.close();
  serverSide.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("events come in arrival order", async () => {
  const peers = pairServer();
  const pairs = [await pair(peers), await pair(peers), await pair(peers)];
  const sources = pairs.map(([, s]) => s);
  const order: number[] = [];
  const loop = (async () => {
    for await (const event of poll(sources)) {
      if (event.type === "data") order.push(sources.indexOf(event.source));
    }
  })();
  for (const i of [2, 0, 1, 0, 2]) {
    await pairs[i]![0].write("x");
    await delay(15);
  }
  for (const [client] of pairs) client.close();
  await loop;
  assertEquals(order, [2, 0, 1, 0, 2]);
  peers.release();
  await peers.server.shutdown();
});

Deno.test("add() and remove() work during iteration; add() resolves when the source leaves", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  const poller = new Poller([serverA], { endWhenEmpty: true });
  let leftB = false;
  const seen: string[] = [];
  await clientA.write("a1");
  for await (const event of poller) {
    if (event.type !== "data") {
      seen.push(event.type);
      continue;
    }
    const name = event.source === serverA ? "A" : "B";
    seen.push(`${name}:${text(event.data)}`);
    if (text(event.data) === "a1") {
      void poller.add(serverB).then(() => leftB = true);
      assertEquals(poller.size, 2);
      await clientB.write("b1");
    } else if (text(event.data) === "b1") {
      assertEquals(poller.remove(serverA), true);
      assertEquals(poller.remove(serverA), false);
      await clientA.write("a2"); // not watched any more
      await delay(10);
      await clientB.write("b2");
    } else if (text(event.data) === "b2") {
      clientB.close(); // B reads eof and leaves; then the loop ends
    }
  }
  assertEquals(seen, ["A:a1", "B:b1", "B:b2", "eof"]);
  assert(leftB);
  // A's data was never taken by the poller.
  assertEquals(text(await serverA.readExactly(2)), "a2");
  clientA.close();
  serverA.close();
  serverB.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("break leaves no read behind: every connection reads on with no data lost", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  const [clientC, serverC] = await pair(peers);
  const framedC = serverC.framed(lines());
  await clientA.write("A1");
  await delay(10);
  await clientB.write("B1");
  await clientC.write("C1\nC2\n");
  let first = "";
  for await (const event of poll([serverA, serverB, framedC])) {
    assert(event.type === "data");
    first = text(event.data);
    // Meanwhile B's and C's reads complete: read, but not delivered.
    await delay(20);
    break;
  }
  assertEquals(first, "A1");
  // The loop had taken B's and C's bytes off their sockets...
  assertEquals([serverB.bytesReceived, serverC.bytesReceived], [2, 6]);
  await clientA.write("A2");
  await clientB.write("B2");
  await clientC.write("C3\n");
  // Each connection, read normally, starts where the loop left it.
  assertEquals(text(await serverA.readExactly(2)), "A2");
  assertEquals(text(await serverB.readExactly(4)), "B1B2");
  assertEquals(text((await framedC.receive())!), "C1");
  assertEquals(text((await framedC.receive())!), "C2");
  assertEquals(text((await framedC.receive())!), "C3");
  for (const c of [clientA, clientB, clientC]) c.close();
  assertEquals(await serverA.read(), null);
  assertEquals(await serverB.read(), null);
  assertEquals(await framedC.receive(), null);
  peers.release();
  await peers.server.shutdown();
});

Deno.test("break while reads are still waiting: the connection keeps the data for its next read", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  await clientA.write("go");
  for await (const _event of poll([serverA, serverB])) break; // B waits
  // A direct read right away is not refused as a second read.
  const pending = serverB.read();
  await clientB.write("late");
  assertEquals(text((await pending)!), "late");
  clientA.close();
  clientB.close();
  serverA.close();
  serverB.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("remove() hands back what was read but not delivered, in order", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  const poller = new Poller([serverA, serverB]);
  await clientA.write("A");
  await delay(10);
  await clientB.write("first");
  let handedBack = "";
  for await (const event of poller) {
    assert(event.type === "data");
    assertStrictEquals(event.source, serverA);
    await delay(20); // B's chunk is read and queued now
    assertEquals(poller.remove(serverB), true);
    assertEquals(serverB.bytesReceived, 5); // taken off the socket, not lost
    await clientB.write(" then more");
    // B's next read returns the queued chunk first, then the rest.
    handedBack = text(await serverB.readExactly(15));
    poller.close();
  }
  assertEquals(handedBack, "first then more");
  for (const c of [clientA, clientB, serverA, serverB]) c.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("what remove() hands back comes first to readInto() and to for await", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  const poller = new Poller([serverA, serverB]);
  await clientA.write("A");
  let got = "";
  for await (const event of poller) {
    assert(event.type === "data");
    assertStrictEquals(event.source, serverA);
    await clientB.write("first");
    await waitFor(() => serverB.bytesReceived === 5, "the poller reading B");
    poller.remove(serverB); // B's chunk was read, not delivered
    await clientB.write(" then more");
    const buffer = new Uint8Array(64);
    const n = await serverB.readInto(buffer);
    got = text(buffer.subarray(0, n!));
    for await (const chunk of serverB) {
      got += text(chunk);
      if (got.length === 15) break;
    }
    poller.close();
  }
  assertEquals(got, "first then more");
  for (const c of [clientA, clientB, serverA, serverB]) c.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("remove() hands back an eof too", async () => {
  const peers = pairServer();
  const [clientA, serverA] = await pair(peers);
  const [clientB, serverB] = await pair(peers);
  const poller = new Poller([serverA, serverB]);
  await clientA.write("A");
  await delay(10);
  clientB.close();
  for await (const _event of poller) {
    await delay(20); // B's EOF is read and queued now
    poller.remove(serverB);
    break;
  }
  assertEquals(await serverB.read(), null);
  for (const c of [clientA, serverA, serverB]) c.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("a paused Poller resumes in a new loop with its sources", async () => {
  const peers = pairServer();
  const [client, serverSide] = await pair(peers);
  const poller = new Poller([serverSide], { endWhenEmpty: true });
  await client.write("one");
  for await (const event of poller) {
    assert(event.type === "data");
    assertEquals(text(event.data), "one");
    break;
  }
  assertEquals(poller.size, 1);
  await client.write("two");
  client.close();
  const rest: string[] = [];
  for await (const event of poller) {
    rest.push(event.type === "data" ? text(event.data) : event.type);
  }
  assertEquals(rest, ["two", "eof"]);
  serverSide.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("the signal ends the loop and the connections stay usable", async () => {
  const peers = pairServer();
  const [client, serverSide] = await pair(peers);
  const controller = new AbortController();
  const loop = (async () => {
    const events: PollEvent[] = [];
    for await (
      const event of poll([serverSide], { signal: controller.signal })
    ) {
      events.push(event);
    }
    return events;
  })();
  await delay(10);
  controller.abort();
  assertEquals(await loop, []);
  await client.write("after");
  assertEquals(text(await serverSide.readExactly(5)), "after");
  // An aborted signal ends a new loop at once.
  assertEquals(
    await Array.fromAsync(poll([serverSide], { signal: controller.signal })),
    [],
  );
  client.close();
  serverSide.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("an empty Poller waits for add() until close()", async () => {
  const peers = pairServer();
  const poller = new Poller([], { timeout: 1000 });
  const loop = (async () => {
    const seen: string[] = [];
    for await (const event of poller) {
      seen.push(event.type === "data" ? text(event.data) : event.type);
      if (event.type === "data") poller.close();
    }
    return seen;
  })();
  await delay(20); // still waiting, not ended
  const [client, serverSide] = await pair(peers);
  const left = poller.add(serverSide);
  await client.write("hi");
  assertEquals(await loop, ["hi"]);
  await left; // close() let it go
  assertThrows(() => poller.add(serverSide), TypeError, "closed Poller");
  client.close();
  serverSide.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("two loops at once are refused; so are sources that are not connections", async () => {
  const peers = pairServer();
  const [client, serverSide] = await pair(peers);
  using poller = new Poller([serverSide]);
  const first = poller[Symbol.asyncIterator]();
  const next = first.next();
  await delay(5);
  const second = poller[Symbol.asyncIterator]();
  await assertRejects(() => second.next(), TypeError, "two loops");
  await client.write("x");
  const event = (await next).value as PollEvent;
  assertEquals(event.type, "data");
  await first.return?.();
  assertThrows(
    () => poller.add({} as unknown as PollSource),
    TypeError,
    "Cannot poll object",
  );
  assertThrows(() => new Poller([], { timeout: -1 }), RangeError);
  client.close();
  serverSide.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("a slow loop applies backpressure: one chunk per source is held at most", async () => {
  const peers = pairServer();
  const [client, serverSide] = await pair(peers);
  const total = 4 * 1024 * 1024;
  const writer = (async () => {
    const chunk = new Uint8Array(64 * 1024);
    for (let sent = 0; sent < total; sent += chunk.length) {
      await client.write(chunk);
    }
    client.close();
  })();
  let received = 0;
  let readAhead = 0;
  for await (const event of poll([serverSide])) {
    if (event.type !== "data") break;
    received += event.data.length;
    // What the connection has read beyond what we were given.
    readAhead = Math.max(readAhead, serverSide.bytesReceived - received);
    await delay(0);
  }
  await writer;
  assertEquals(received, total);
  assertEquals(readAhead, 0);
  serverSide.close();
  peers.release();
  await peers.server.shutdown();
});

Deno.test("typed events: data for connections, frame for framed connections", () => {
  // Compile-time checks that the union narrows as documented.
  const describe = (event: PollEvent): string => {
    switch (event.type) {
      case "data": {
        const source: Connection = event.source;
        return `${source.constructor.name}:${event.data.length}`;
      }
      case "frame": {
        const source: FramedConnection = event.source;
        return `${source.constructor.name}:${event.frame.length}`;
      }
      case "datagram":
        return `datagram:${event.data.length}`;
      case "eof":
        return "eof";
      case "error":
        return event.error.message;
      case "timeout":
        return "timeout";
    }
  };
  assertEquals(describe({ type: "timeout" }), "timeout");
});
