/**
 * `listen()` and `Server` over real loopback sockets: many clients at once,
 * handler errors, `maxConnections`, `idleTimeout`, graceful shutdown (by
 * call, by signal, by `await using`) and option checks.
 *
 * @module
 */
import { type FrameCodec, lengthPrefixed, lines } from "../../framing/mod.ts";
import {
  connect,
  type Connection,
  formatAddress,
  listen,
  TimeoutError,
} from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  concatBytes,
  type ErrorClass,
} from "../_utils.ts";
import {
  bytes,
  deferred,
  echo,
  pattern,
  readAll,
  readUntilGone,
  text,
  waitFor,
  within,
} from "./_helpers.ts";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------
// Many clients

Deno.test("200 concurrent clients each get exactly their own 20 KB back", async () => {
  const CLIENTS = 200;
  const SIZE = 20_000;
  await using server = listen({ port: 0 }, echo);
  assertEquals(server.addr, {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, index) => {
      await using conn = await connect(server.addr);
      const payload = pattern(index, SIZE);
      const [, echoed] = await Promise.all([
        conn.write(payload).then(() => conn.shutdown("write")),
        readAll(conn),
      ]);
      return echoed.length === SIZE &&
        echoed.every((byte, i) => byte === payload[i]);
    }),
  );
  const wrong = results.flatMap((ok, index) => ok ? [] : [index]);
  assertEquals(wrong, [], `clients that got wrong bytes: ${wrong}`);
  assertEquals(server.acceptedConnections, CLIENTS);
});

// ---------------------------------------------------------------------------
// Handler errors

Deno.test("a handler that throws fails only its own connection and onError gets the error and connection", async () => {
  const reported = deferred<[unknown, Connection | undefined]>();
  await using server = listen({ port: 0 }, async (conn) => {
    for (;;) {
      const line = text(await conn.readUntil("\n").catch(() => null));
      if (line === null) return;
      if (line === "boom\n") throw new Error("boom from the handler");
      await conn.write(`echo ${line}`);
    }
  }, { onError: (error, conn) => reported.resolve([error, conn]) });

  await using steady = await connect(server.addr);
  await steady.write("one\n");
  assertEquals(text(await steady.readUntil("\n")), "echo one\n");

  await using doomed = await connect(server.addr);
  await doomed.write("boom\n");
  assertEquals(
    await within(readUntilGone(doomed), 2000, "closing the failed connection"),
    "eof",
  );
  const [error, conn] = await reported.promise;
  assertInstanceOf(error, Error);
  assertEquals(error.message, "boom from the handler");
  assert(conn !== undefined, "onError got no connection");
  assertEquals(conn.remoteAddr, doomed.localAddr);

  await steady.write("two\n");
  assertEquals(text(await steady.readUntil("\n")), "echo two\n");
  await using later = await connect(server.addr);
  await later.write("three\n");
  assertEquals(text(await later.readUntil("\n")), "echo three\n");
  assertEquals(server.acceptedConnections, 3);
});

Deno.test("a handler that returns without awaiting closes its connection after its writes", async () => {
  await using server = listen({ port: 0 }, (conn) => {
    void conn.write("fire and forget");
  });
  await using conn = await connect(server.addr);
  assertEquals(text(await readAll(conn)), "fire and forget");
});

// ---------------------------------------------------------------------------
// maxConnections

Deno.test("maxConnections closes the client over the limit at once, names it to onRejected, and serves a new one when a slot frees", async () => {
  const rejected: string[] = [];
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("hello");
    await readAll(conn);
  }, {
    maxConnections: 2,
    onRejected: (addr) => rejected.push(formatAddress(addr)),
  });

  const first = await connect(server.addr);
  assertEquals(text(await first.readExactly(5)), "hello");
  await using second = await connect(server.addr);
  assertEquals(text(await second.readExactly(5)), "hello");

  {
    await using over = await connect(server.addr);
    over.setTimeout(2000); // closed at once, not after a timeout
    const outcome = await over.read().catch((error) => error);
    assert(
      outcome === null || outcome instanceof Deno.errors.ConnectionReset,
      `the client over the limit read ${outcome}, not EOF or a reset`,
    );
    assertEquals(rejected, [formatAddress(over.localAddr)]);
  }
  assertEquals(server.rejectedConnections, 1);
  assertEquals(server.connections, 2);
  assertEquals(server.acceptedConnections, 2);

  first.close();
  await waitFor(() => server.connections < 2, "the first connection to end");
  await using next = await connect(server.addr);
  assertEquals(text(await next.readExactly(5)), "hello");
  assertEquals(server.rejectedConnections, 1);
  assertEquals(server.acceptedConnections, 3);
});

// ---------------------------------------------------------------------------
// idleTimeout

Deno.test("idleTimeout closes a silent client and its handler's read rejects with TimeoutError, while an active client stays", async () => {
  const IDLE = 200;
  const errors = new Map<number, unknown>();
  const silentFailed = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    const port = "port" in conn.remoteAddr ? conn.remoteAddr.port : -1;
    try {
      for (let data; (data = await conn.read()) !== null;) {
        await conn.write(data);
      }
    } catch (error) {
      errors.set(port, error);
      silentFailed.resolve();
    }
  }, { idleTimeout: IDLE });

  await using silent = await connect(server.addr);
  await using active = await connect(server.addr);
  const talking = (async () => {
    // 24 round trips 25 ms apart: three times the idle timeout in all.
    for (let i = 0; i < 24; i++) {
      await active.write(`ping ${i}`.padEnd(8));
      assertEquals(text(await active.readExactly(8)), `ping ${i}`.padEnd(8));
      await delay(25);
    }
  })();

  silent.setTimeout(2000); // a generous bound: closed after ~IDLE ms
  assertEquals(await readUntilGone(silent), "eof");
  await silentFailed.promise;
  const port = "port" in silent.localAddr ? silent.localAddr.port : -2;
  const error = errors.get(port);
  assertInstanceOf(error, TimeoutError);
  assertEquals([error.name, error.timeout], ["TimeoutError", IDLE]);

  await talking;
  await active.write("last");
  assertEquals(text(await active.readExactly(4)), "last");
  assertEquals(errors.size, 1, "the active client's handler failed too");
});

Deno.test("idleTimeout closes a connection whose handler is busy; its next read rejects with TimeoutError", async () => {
  const busy = deferred();
  const readError = deferred<unknown>();
  await using server = listen({ port: 0 }, async (conn) => {
    await busy.promise;
    readError.resolve(await conn.read().catch((error) => error));
  }, { idleTimeout: 100 });
  await using conn = await connect(server.addr);
  conn.setTimeout(2000);
  assertEquals(await readUntilGone(conn), "eof");
  busy.resolve();
  const error = await readError.promise;
  assertInstanceOf(error, TimeoutError);
  assertEquals(error.timeout, 100);
});

// ---------------------------------------------------------------------------
// Graceful shutdown

Deno.test("shutdown() lets an in-flight exchange finish, then refuses new clients and frees the port", async () => {
  const working = deferred();
  const finishWork = deferred();
  const server = listen({ port: 0 }, async (conn) => {
    const request = text(await conn.readUntil("\n"));
    working.resolve();
    await finishWork.promise;
    await conn.write(`done: ${request}`);
  });
  const port = server.addr.port;
  await using client = await connect(server.addr);
  await client.write("job\n");
  await working.promise;

  const stopping = server.shutdown();
  assertStrictEquals(server.shutdown(), stopping); // idempotent
  finishWork.resolve();
  assertEquals(text(await readAll(client)), "done: job\n");
  await stopping;
  await server.finished;

  const error = await assertRejects(
    () => connect({ port }),
    Deno.errors.ConnectionRefused,
  );
  assertStringIncludes(error.message, `127.0.0.1:${port}`);
  const again = Deno.listen({ hostname: "127.0.0.1", port });
  again.close();
});

Deno.test("shutdown() makes a handler blocked in read() see EOF, and it can still answer", async () => {
  const reading = deferred();
  const got = deferred<Uint8Array | null>();
  const server = listen({ port: 0 }, async (conn) => {
    const pending = conn.read();
    reading.resolve();
    got.resolve(await pending);
    await conn.write("goodbye");
  });
  await using client = await connect(server.addr);
  await reading.promise;
  await server.shutdown();
  assertEquals(await got.promise, null);
  assertEquals(text(await readAll(client)), "goodbye");
});

Deno.test("shutdown() closes the connection of a handler that outlives gracePeriod", async () => {
  const started = deferred();
  const stuck = deferred();
  const lateWrite = deferred<unknown>();
  const server = listen({ port: 0 }, async (conn) => {
    started.resolve();
    await stuck.promise; // ignores the shutdown
    lateWrite.resolve(await conn.write("too late").catch((error) => error));
  });
  await using client = await connect(server.addr);
  await started.promise;
  const stopping = server.shutdown({ gracePeriod: 100 });
  client.setTimeout(2000); // a generous bound: closed after ~100 ms
  assertEquals(await readUntilGone(client), "eof");
  stuck.resolve();
  assertInstanceOf(await lateWrite.promise, Deno.errors.BrokenPipe);
  await stopping;
  await server.finished;
});

Deno.test("shutdown({ gracePeriod: Infinity }) waits for handlers instead of closing at once", async () => {
  const started = deferred();
  const reported: unknown[] = [];
  const server = listen({ port: 0 }, async (conn) => {
    started.resolve();
    await delay(50); // work in progress at shutdown
    await conn.write("finished my work");
  }, { onError: (error) => reported.push(error) });
  await using client = await connect(server.addr);
  await started.promise;
  const stopping = server.shutdown({ gracePeriod: Infinity });
  const answer = text(await readAll(client));
  await stopping; // the handler is done, whatever happened
  assertEquals(answer, "finished my work");
  assertEquals(reported, []);
});

Deno.test("a handler cut off at the end of gracePeriod is not reported to onError", async (t) => {
  // The server closed the connection itself: the handler's failing I/O is
  // the shutdown's doing, not an error to report.
  await t.step("its write was pending when the connection closed", async () => {
    const reported: unknown[] = [];
    const started = deferred();
    const server = listen({ port: 0 }, async (conn) => {
      started.resolve();
      await conn.write(new Uint8Array(32 << 20)); // the client never reads
    }, { onError: (error) => reported.push(error) });
    await using _client = await connect(server.addr);
    await started.promise;
    await server.shutdown({ gracePeriod: 100 });
    assertEquals(reported, []);
  });
  await t.step("it wrote after the connection closed", async () => {
    const reported: unknown[] = [];
    const started = deferred();
    const stuck = deferred();
    const server = listen({ port: 0 }, async (conn) => {
      started.resolve();
      await stuck.promise;
      await conn.write("too late");
    }, { onError: (error) => reported.push(error) });
    await using client = await connect(server.addr);
    await started.promise;
    const stopping = server.shutdown({ gracePeriod: 100 });
    client.setTimeout(2000);
    assertEquals(await readUntilGone(client), "eof");
    stuck.resolve();
    await stopping;
    assertEquals(
      reported.map((e) => e instanceof Error ? `${e.name}: ${e.message}` : e),
      [],
    );
  });
});

Deno.test("shutdown() does not hand a framed handler a half-received frame as if it were complete", async (t) => {
  // The end of reading at shutdown is ours, not the peer's: the frame the
  // peer is still sending is not a frame (lines would emit it, length
  // prefixes would raise TruncatedFrameError).
  const u16 = (payload: string, announced = payload.length) =>
    concatBytes([
      new Uint8Array([announced >> 8, announced & 0xff]),
      bytes(payload),
    ]);
  // Each row: codec, the bytes sent (one whole frame, then part of one).
  const cases: [string, FrameCodec, Uint8Array][] = [
    ["lines", lines(), bytes("complete\npartial")],
    [
      "u16be",
      lengthPrefixed({ header: "u16be" }),
      concatBytes([u16("complete"), u16("part", 10)]),
    ],
  ];
  for (const [name, codec, sent] of cases) {
    await t.step(name, async () => {
      const frames: string[] = [];
      const first = deferred<number>();
      const reported: unknown[] = [];
      const server = listen({ port: 0 }, async (conn) => {
        const framed = conn.framed(codec);
        for await (const frame of framed) {
          frames.push(text(frame)!);
          first.resolve(conn.bytesReceived);
        }
      }, { onError: (error) => reported.push(error) });
      await using client = await connect(server.addr);
      await client.write(sent);
      assertEquals(await first.promise, sent.length, "sent in one segment");
      await server.shutdown();
      assertEquals(frames, ["complete"]);
      assertEquals(reported.map(String), []);
    });
  }
});

Deno.test("aborting the signal shuts the server down gracefully", async () => {
  const controller = new AbortController();
  const reading = deferred();
  const server = listen({ port: 0 }, async (conn) => {
    const pending = conn.read();
    reading.resolve();
    assertEquals(await pending, null);
    await conn.write("stopping");
  }, { signal: controller.signal, gracePeriod: 1000 });
  const port = server.addr.port;
  await using client = await connect(server.addr);
  await reading.promise;
  controller.abort();
  assertEquals(text(await readAll(client)), "stopping");
  await server.finished;
  await assertRejects(() => connect({ port }), Deno.errors.ConnectionRefused);
});

Deno.test("a server given an already-aborted signal stops at once", async () => {
  const server = listen({ port: 0 }, echo, { signal: AbortSignal.abort() });
  await server.finished;
  await assertRejects(
    () => connect(server.addr),
    Deno.errors.ConnectionRefused,
  );
  assertEquals(server.acceptedConnections, 0);
});

Deno.test("await using a server shuts it down at the end of the block", async () => {
  let port = 0;
  {
    await using server = listen({ port: 0 }, echo);
    port = server.addr.port;
    await using conn = await connect(server.addr);
    await conn.write("x");
    assertEquals(text(await conn.readExactly(1)), "x");
  }
  await assertRejects(() => connect({ port }), Deno.errors.ConnectionRefused);
});

// ---------------------------------------------------------------------------
// Addresses and options

Deno.test("listen() on a port in use throws AddrInUse naming the address", async () => {
  await using server = listen({ port: 0 }, echo);
  const port = server.addr.port;
  const error = assertThrows(
    () => listen({ port }, echo),
    Deno.errors.AddrInUse,
  );
  assertStringIncludes(error.message, `127.0.0.1:${port}`);
});

Deno.test("listen() rejects bad options and addresses before listening", () => {
  // Each row: the call, what is wrong with it, the error class.
  const cases: [string, () => unknown, ErrorClass][] = [
    [
      "idleTimeout 0",
      () => listen({ port: 0 }, echo, { idleTimeout: 0 }),
      RangeError,
    ],
    [
      "idleTimeout -5",
      () => listen({ port: 0 }, echo, { idleTimeout: -5 }),
      RangeError,
    ],
    [
      "maxConnections 0",
      () => listen({ port: 0 }, echo, { maxConnections: 0 }),
      RangeError,
    ],
    [
      "maxConnections 1.5",
      () => listen({ port: 0 }, echo, { maxConnections: 1.5 }),
      RangeError,
    ],
    ["port 65536", () => listen({ port: 65536 }, echo), RangeError],
    ["port -1", () => listen({ port: -1 }, echo), RangeError],
    ["an empty path", () => listen({ path: "" }, echo), TypeError],
  ];
  for (const [name, call, ErrorClass] of cases) {
    assertThrows(call, ErrorClass, undefined, name);
  }
});
