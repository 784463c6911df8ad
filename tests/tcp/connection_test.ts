/**
 * `Connection` over real loopback sockets, with our own `listen()` as the
 * peer: reads (`read(maxBytes)` as Python's `recv`, `readInto` straight into
 * the caller's buffer, `readExactly`, `readUntil`, limits, EOF), `for
 * await`, writes (ordering of concurrent writes, a signal), shutdown
 * (Python's numbers too) and close, socket options, the Web Streams and the
 * read-while-reading guard.
 *
 * @module
 */
import {
  connect,
  type Connection,
  Connection as ConnectionClass,
  IncompleteReadError,
  LimitOverrunError,
  listen,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  TimeoutError,
} from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  concatBytes,
} from "../_utils.ts";
import { bytes, deferred, echo, pattern, readAll, text } from "./_helpers.ts";

/** A server that writes `data` to each client, then closes. */
function sender(data: Uint8Array | string) {
  return listen({ port: 0 }, async (conn) => {
    await conn.write(data);
  });
}

// ---------------------------------------------------------------------------
// Reads

Deno.test("every chunk read() hands out stays as it was while later reads go on", async () => {
  // Small chunks are copied into shared blocks, large ones take the read
  // buffer itself: keep them all and check none was written over.
  const sizes = Array.from({ length: 1500 }, (_, i) => 1 + (i * 37) % 5000);
  const kept = deferred<Uint8Array[]>();
  await using server = listen({ port: 0 }, async (conn) => {
    const chunks: Uint8Array[] = [];
    for (const size of sizes) {
      chunks.push(await conn.readExactly(size));
      await conn.write("k"); // one message at a time: one read each
    }
    kept.resolve(chunks);
  });
  await using conn = await connect(server.addr);
  for (const [i, size] of sizes.entries()) {
    await conn.write(pattern(i, size));
    assertEquals(text(await conn.readExactly(1)), "k");
  }
  const chunks = await kept.promise;
  for (const [i, size] of sizes.entries()) {
    assertEquals(chunks[i], pattern(i, size), `chunk ${i} (${size} bytes)`);
  }
});

/**
 * A connection to a server that writes `size` bytes at once, returned when
 * the bytes have been written (so they wait in the client's socket).
 */
async function waitingBytes(
  size: number,
): Promise<{ conn: Connection<"tcp">; data: Uint8Array } & AsyncDisposable> {
  const data = pattern(3, size);
  const written = deferred();
  const done = deferred();
  const server = listen({ port: 0 }, async (conn) => {
    await conn.write(data);
    written.resolve();
    await done.promise;
  });
  const conn = await connect(server.addr);
  await written.promise;
  return {
    conn,
    data,
    async [Symbol.asyncDispose]() {
      conn.close();
      done.resolve();
      await server.shutdown();
    },
  };
}

Deno.test("read() on a new connection returns all 1,000 bytes the peer sent", async () => {
  await using peer = await waitingBytes(1000);
  const chunk = await peer.conn.read();
  assertEquals(chunk?.length, 1000);
  assertEquals(chunk, peer.data);
});

Deno.test("read() on a new connection parks only 2 KiB: of 16 KiB waiting it returns 2,048 bytes, then the rest", async () => {
  // What a client that connects and never speaks costs: the first read's
  // buffer (it was 16 KiB).
  await using peer = await waitingBytes(16 * 1024);
  const first = await peer.conn.read();
  assertEquals(first?.length, 2048);
  const rest = await peer.conn.readExactly(16 * 1024 - 2048);
  assertEquals(concatBytes([first!, rest]), peer.data);
});

Deno.test("read(maxBytes) is Python's recv(n): up to n bytes of what is there", async () => {
  await using peer = await waitingBytes(1000);
  const first = await peer.conn.read(600);
  const second = await peer.conn.read(600);
  assertEquals([first?.length, second?.length], [600, 400]);
  assertEquals(concatBytes([first!, second!]), peer.data);
  assertEquals(await peer.conn.read(0), new Uint8Array(0));
});

Deno.test("read(maxBytes) splits what was already read, keeping the rest", async () => {
  await using peer = await waitingBytes(1000);
  assertEquals((await peer.conn.readExactly(10)).length, 10); // reads it all
  assertEquals((await peer.conn.read(100))?.length, 100);
  assertEquals((await peer.conn.read())?.length, 890);
});

Deno.test("readInto() on a new connection fills up to its buffer's length", async () => {
  await using peer = await waitingBytes(1000);
  const buffer = new Uint8Array(4096);
  assertEquals(await peer.conn.readInto(buffer), 1000);
  assertEquals(buffer.subarray(0, 1000), peer.data);
});

Deno.test("read() rejects a bad maxBytes with RangeError", async () => {
  await using peer = await waitingBytes(10);
  for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
    await assertRejects(() => peer.conn.read(bad), RangeError, "integer");
  }
  assertEquals((await peer.conn.read(10))?.length, 10);
});

/** A `Deno.Conn` that records the buffer of every `read()`. */
function spyOnReads(conn: Deno.Conn): { conn: Deno.Conn; reads: Uint8Array[] } {
  const reads: Uint8Array[] = [];
  const spy = new Proxy(conn, {
    get(target, key) {
      if (key === "read") {
        return (buffer: Uint8Array) => {
          reads.push(buffer);
          return target.read(buffer);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { conn: spy, reads };
}

Deno.test("readInto() reads the socket straight into the caller's buffer, unless a timeout could end the wait", async () => {
  await using server = listen({ port: 0 }, echo);
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const { conn: spied, reads } = spyOnReads(raw);
  using conn = new ConnectionClass(spied);
  const buffer = new Uint8Array(64 * 1024);
  await conn.write("direct");
  assertEquals(await conn.readInto(buffer), 6);
  assertStrictEquals(reads.at(-1), buffer); // no copy: the socket wrote here
  conn.setTimeout(1000);
  await conn.write("copied");
  assertEquals(await conn.readInto(buffer), 6);
  assert(reads.at(-1) !== buffer, "a timed read used the caller's buffer");
  assertEquals(text(buffer.subarray(0, 6)), "copied");
});

Deno.test("for await over a connection yields the chunks until EOF", async () => {
  const data = pattern(5, 300_000);
  await using server = sender(data);
  await using conn = await connect(server.addr);
  const chunks: Uint8Array[] = [];
  for await (const chunk of conn) chunks.push(chunk);
  assertEquals(concatBytes(chunks), data);
  assertEquals(conn.closed, false); // EOF, not a close
});

Deno.test("break out of for await leaves the connection open, and the next read gets the rest", async () => {
  const more = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("first");
    await more.promise;
    await conn.write("second");
    await conn.read(); // until the client closes
  });
  await using conn = await connect(server.addr);
  for await (const chunk of conn) {
    assertEquals(text(chunk), "first");
    break;
  }
  assertEquals(conn.closed, false);
  more.resolve();
  assertEquals(text(await conn.readExactly(6)), "second");
  await conn.write("and writing works");
});

Deno.test("readInto() fills the caller's buffer, keeps what does not fit, and returns null at EOF", async () => {
  const data = pattern(7, 300_000);
  await using server = sender(data);
  await using conn = await connect(server.addr);
  const buffer = new Uint8Array(1000);
  const received: Uint8Array[] = [];
  for (let n; (n = await conn.readInto(buffer)) !== null;) {
    assert(n > 0 && n <= buffer.length, `count ${n}`);
    received.push(buffer.slice(0, n));
    // read() and readInto() take turns on the same stream
    const chunk = await conn.read();
    if (chunk === null) break;
    received.push(chunk);
  }
  assertEquals(concatBytes(received), data);
  assertEquals(await conn.readInto(buffer), null);
  assertEquals(conn.bytesReceived, data.length);
});

Deno.test("readInto() of an empty buffer is 0 at once; a non-array is a TypeError", async () => {
  await using server = sender("x");
  await using conn = await connect(server.addr);
  assertEquals(await conn.readInto(new Uint8Array(0)), 0);
  await assertRejects(
    () => conn.readInto("abc" as unknown as Uint8Array),
    TypeError,
    "give a Uint8Array",
  );
  const one = new Uint8Array(8);
  assertEquals(await conn.readInto(one), 1);
  assertEquals(text(one.subarray(0, 1)), "x");
});

Deno.test("readInto() that times out loses nothing: the next one gets the data", async () => {
  const go = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    await go.promise;
    await conn.write("late");
    await conn.read(); // until the client closes
  });
  await using conn = await connect(server.addr);
  conn.setTimeout(30);
  const buffer = new Uint8Array(16);
  await assertRejects(() => conn.readInto(buffer), TimeoutError);
  conn.setTimeout(null);
  go.resolve();
  const n = await conn.readInto(buffer);
  assertEquals(text(buffer.subarray(0, n!)), "late");
});

Deno.test("readExactly() hands out exactly n bytes and keeps the rest for the next read", async () => {
  await using server = sender("abcdef");
  await using conn = await connect(server.addr);
  assertEquals(text(await conn.readExactly(2)), "ab");
  assertEquals(await conn.readExactly(0), new Uint8Array(0));
  assertEquals(text(await conn.readExactly(1)), "c");
  assertEquals(text(await readAll(conn)), "def");
});

Deno.test("readExactly() at EOF rejects with IncompleteReadError holding the bytes that came", async () => {
  await using server = sender("abc");
  await using conn = await connect(server.addr);
  const error = await assertRejects(
    () => conn.readExactly(8),
    IncompleteReadError,
  );
  assertEquals(error.name, "IncompleteReadError");
  assertEquals([error.expected, text(error.partial)], [8, "abc"]);
  assertStringIncludes(error.message, "8");
  assertEquals(await conn.read(), null);
});

Deno.test("readUntil() returns the bytes up to and including the delimiter", async (t) => {
  // Each row: what the server sends, the delimiter, the reads expected.
  const cases: [string, string, string | Uint8Array, string[]][] = [
    ["a one-byte delimiter", "a\nbc\n", "\n", ["a\n", "bc\n"]],
    ["a two-byte delimiter", "x\r\ny\r\n", "\r\n", ["x\r\n", "y\r\n"]],
    ["a delimiter as bytes", "nul\0", new Uint8Array([0]), ["nul\0"]],
    ["an empty frame", "\n\n", "\n", ["\n", "\n"]],
    ["a partial delimiter first", "ab<E<END>", "<END>", ["ab<E<END>"]],
  ];
  for (const [name, sent, delimiter, expected] of cases) {
    await t.step(name, async () => {
      await using server = sender(sent);
      await using conn = await connect(server.addr);
      const got: string[] = [];
      for (const _ of expected) {
        got.push(text(await conn.readUntil(delimiter))!);
      }
      assertEquals(got, expected);
      assertEquals(await conn.read(), null);
    });
  }
});

Deno.test("readUntil() counts the delimiter in maxBytes and loses nothing on LimitOverrunError", async (t) => {
  // Each row: what is sent, maxBytes, whether the first readUntil fits.
  const cases: [string, string, number, boolean][] = [
    ["the delimiter ends at maxBytes", "abcd\n", 5, true],
    ["the delimiter ends one past maxBytes", "abcde\n", 5, false],
    ["no delimiter within a long line", "abcdefghijklmnop\n", 4, false],
  ];
  for (const [name, sent, maxBytes, fits] of cases) {
    await t.step(name, async () => {
      await using server = sender(sent);
      await using conn = await connect(server.addr);
      if (fits) {
        assertEquals(text(await conn.readUntil("\n", { maxBytes })), sent);
      } else {
        const error = await assertRejects(
          () => conn.readUntil("\n", { maxBytes }),
          LimitOverrunError,
        );
        assertEquals([error.name, error.maxBytes], [
          "LimitOverrunError",
          maxBytes,
        ]);
        assertEquals(text(await conn.readUntil("\n")), sent);
      }
      assertEquals(await conn.read(), null);
    });
  }
});

Deno.test("readUntil() at EOF rejects with IncompleteReadError holding the bytes that came", async () => {
  await using server = sender("no newline");
  await using conn = await connect(server.addr);
  const error = await assertRejects(
    () => conn.readUntil("\n"),
    IncompleteReadError,
  );
  assertEquals([error.expected, text(error.partial)], [
    undefined,
    "no newline",
  ]);
});

Deno.test("reads reject bad arguments with RangeError", async (t) => {
  await using server = sender("");
  await using conn = await connect(server.addr);
  // Each row: the call, what is wrong with it.
  const cases: [string, () => Promise<unknown>][] = [
    ["readExactly(-1): negative", () => conn.readExactly(-1)],
    ["readExactly(1.5): not an integer", () => conn.readExactly(1.5)],
    ['readUntil(""): empty delimiter', () => conn.readUntil("")],
    [
      "readUntil(new Uint8Array()): empty delimiter",
      () => conn.readUntil(new Uint8Array()),
    ],
  ];
  for (const [name, call] of cases) {
    await t.step(name, async () => {
      await assertRejects(call, RangeError);
    });
  }
});

Deno.test("setTimeout() rejects a negative or non-numeric timeout with RangeError", async () => {
  await using server = sender("");
  await using conn = await connect(server.addr);
  for (const bad of [-1, Number.NaN, "10" as unknown as number]) {
    assertThrows(() => conn.setTimeout(bad), RangeError);
  }
  conn.setTimeout(0);
  assertEquals(conn.timeout, 0);
});

Deno.test("a read on a silent peer times out with TimeoutError and then gets data sent later", async () => {
  const go = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    await go.promise;
    await conn.write("later");
  });
  await using conn = await connect(server.addr);
  conn.setTimeout(80);
  const error = await assertRejects(() => conn.read(), TimeoutError);
  assertEquals([error.name, error.timeout], ["TimeoutError", 80]);
  assertStringIncludes(error.message, "80 ms");
  // Time out a second time on the same pending socket read.
  await assertRejects(() => conn.readExactly(5), TimeoutError);
  conn.setTimeout(null);
  const pending = conn.readExactly(5);
  go.resolve();
  assertEquals(text(await pending), "later");
});

Deno.test("setTimeout(Infinity) means no limit, like setTimeout(null)", async () => {
  // Timers cap their delay at 2**31 - 1 ms and fire at once past it: a
  // read with an infinite timeout must not time out after 1 ms.
  await using server = listen({ port: 0 }, async (conn) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await conn.write("worth the wait");
  });
  await using conn = await connect(server.addr);
  conn.setTimeout(Infinity);
  assertEquals(text(await conn.readExactly(14)), "worth the wait");
});

Deno.test("a read's signal stops the wait and the data stays for the next read", async () => {
  const go = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    await go.promise;
    await conn.write("kept");
  });
  await using conn = await connect(server.addr);
  const controller = new AbortController();
  const pending = conn.read({ signal: controller.signal });
  const reason = new Error("stop waiting");
  controller.abort(reason);
  assertStrictEquals(await pending.catch((e) => e), reason);
  await assertRejects(
    () => conn.read({ signal: controller.signal }),
    Error,
    "stop waiting",
  );
  go.resolve();
  assertEquals(text(await conn.readExactly(4)), "kept");
});

Deno.test("read() while another read is pending throws TypeError", async () => {
  const go = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    await go.promise;
    await conn.write("one");
  });
  await using conn = await connect(server.addr);
  const first = conn.read();
  await assertRejects(() => conn.read(), TypeError, "another read");
  await assertRejects(() => conn.readExactly(1), TypeError);
  go.resolve();
  assertEquals(text(await first), "one");
});

// ---------------------------------------------------------------------------
// Writes

Deno.test("concurrent write() calls arrive whole, one after the other", async () => {
  const got = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    got.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  const blocks = [
    new Uint8Array(2_000_000).fill(0x61),
    new Uint8Array(2_000_000).fill(0x62),
    pattern(3, 1_000_000),
  ];
  // Started together: each is many partial socket writes.
  await Promise.all(blocks.map((block) => conn.write(block)));
  await conn.shutdown("write");
  const received = await got.promise;
  assertEquals(received.length, 5_000_000);
  assert(
    received.subarray(0, 2_000_000).every((b) => b === 0x61),
    "the first block is interleaved with another",
  );
  assert(
    received.subarray(2_000_000, 4_000_000).every((b) => b === 0x62),
    "the second block is interleaved with another",
  );
  assertEquals(received.subarray(4_000_000), blocks[2]);
  assertEquals(conn.bytesSent, 5_000_000);
});

Deno.test("write() takes strings as UTF-8 and counts bytesSent and bytesReceived", async () => {
  await using server = listen({ port: 0 }, echo);
  await using conn = await connect(server.addr);
  await conn.write("héllo");
  assertEquals(text(await conn.readExactly(6)), "héllo");
  assertEquals([conn.bytesSent, conn.bytesReceived], [6, 6]);
});

Deno.test("write() with an aborted signal sends nothing and rejects with its reason", async () => {
  const got = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    got.resolve(await readAll(conn));
  });
  const conn = await connect(server.addr);
  const reason = new Error("changed my mind");
  const signal = AbortSignal.abort(reason);
  assertStrictEquals(
    await conn.write("no", { signal }).catch((e) => e),
    reason,
  );
  await conn.write("yes", { signal: new AbortController().signal });
  conn.close();
  assertEquals(text(await got.promise), "yes");
  assertEquals(conn.bytesSent, 3);
});

Deno.test("aborting a write that is stuck on a peer that does not read closes the connection", async () => {
  const stop = deferred();
  await using server = listen({ port: 0 }, async () => {
    await stop.promise; // never reads: the client's write fills the buffers
  });
  const conn = await connect(server.addr);
  const controller = new AbortController();
  const writing = conn.write(new Uint8Array(64 * 1024 * 1024), {
    signal: controller.signal,
  });
  // 64 MiB is more than the socket buffers hold: the write is in flight.
  controller.abort(new Error("give up"));
  await assertRejects(() => writing, Error, "give up");
  assertEquals(conn.closed, true);
  assert(conn.bytesSent < 64 * 1024 * 1024, `sent ${conn.bytesSent}`);
  stop.resolve();
});

// ---------------------------------------------------------------------------
// Shutdown and close

Deno.test('shutdown("write") sends EOF, later writes reject with BrokenPipe, and reading goes on', async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    const request = await readAll(conn);
    await conn.write(`${request.length} bytes`);
  });
  await using conn = await connect(server.addr);
  await conn.write("12345");
  await conn.shutdown("write");
  await conn.shutdown("write"); // idempotent
  await assertRejects(() => conn.write("more"), Deno.errors.BrokenPipe);
  assertEquals(text(await readAll(conn)), "5 bytes");
});

Deno.test('shutdown("read") makes a pending and every later read return null', async () => {
  const go = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    await go.promise;
    await conn.write("ignored");
  });
  await using conn = await connect(server.addr);
  const pending = conn.read();
  await conn.shutdown("read");
  assertEquals(await pending, null);
  go.resolve();
  assertEquals(await conn.read(), null);
  await conn.write("writing still works");
});

Deno.test("shutdown() takes Python's SHUT_RD, SHUT_WR and SHUT_RDWR (0, 1, 2)", async (t) => {
  assertEquals([SHUT_RD, SHUT_WR, SHUT_RDWR], [0, 1, 2]);
  await t.step("SHUT_WR sends EOF and reading goes on", async () => {
    await using server = listen({ port: 0 }, async (conn) => {
      const request = await readAll(conn);
      await conn.write(`${request.length} bytes`);
    });
    await using conn = await connect(server.addr);
    await conn.write("1234");
    await conn.shutdown(SHUT_WR);
    await assertRejects(() => conn.write("x"), Deno.errors.BrokenPipe);
    assertEquals(text(await readAll(conn)), "4 bytes");
  });
  await t.step("SHUT_RD ends reading, writing goes on", async () => {
    const seen = deferred<Uint8Array>();
    await using server = listen({ port: 0 }, async (conn) => {
      await conn.write("unread");
      seen.resolve(await readAll(conn));
    });
    await using conn = await connect(server.addr);
    await conn.shutdown(0);
    assertEquals(await conn.read(), null);
    await conn.write("still");
    await conn.shutdown(1);
    assertEquals(text(await seen.promise), "still");
  });
  await t.step("SHUT_RDWR ends both; 3 is a TypeError", async () => {
    await using server = listen({ port: 0 }, echo);
    await using conn = await connect(server.addr);
    await assertRejects(
      () => conn.shutdown(3 as 2),
      TypeError,
      "SHUT_RDWR",
    );
    await conn.shutdown(SHUT_RDWR);
    assertEquals(await conn.read(), null);
    await assertRejects(() => conn.write("x"), Deno.errors.BrokenPipe);
  });
});

Deno.test('shutdown("both") ends reading and writing; an unknown how is a TypeError', async () => {
  const seen = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    seen.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  await conn.write("bye");
  await assertRejects(
    () => conn.shutdown("sideways" as "both"),
    TypeError,
    "sideways",
  );
  await conn.shutdown();
  assertEquals(await conn.read(), null);
  await assertRejects(() => conn.write("x"), Deno.errors.BrokenPipe);
  assertEquals(text(await seen.promise), "bye");
});

Deno.test("close() is idempotent, and reads and writes after it reject", async () => {
  await using server = listen({ port: 0 }, echo);
  const conn = await connect(server.addr);
  assertEquals(conn.closed, false);
  conn.close();
  conn.close();
  conn[Symbol.dispose]();
  assertEquals(conn.closed, true);
  await assertRejects(() => conn.read(), Deno.errors.BadResource);
  await assertRejects(() => conn.write("x"), Deno.errors.BrokenPipe, "closed");
});

Deno.test("close() ends a pending read", async () => {
  await using server = listen({ port: 0 }, echo);
  const conn = await connect(server.addr);
  const pending = conn.read();
  conn.close();
  const outcome = await pending.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  assert(
    !("value" in outcome) || outcome.value === null,
    "a pending read returned data after close()",
  );
});

Deno.test("await using closes the connection: the server reads EOF", async () => {
  const ended = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    ended.resolve(await readAll(conn));
  });
  let outer: Connection | undefined;
  {
    await using conn = await connect(server.addr);
    outer = conn;
    void conn.write("queued before dispose");
  }
  assertEquals(outer.closed, true);
  assertEquals(text(await ended.promise), "queued before dispose");
});

// ---------------------------------------------------------------------------
// Socket options

Deno.test("setNoDelay() and setKeepAlive() work on TCP connections, and connect() takes them as options", async () => {
  await using server = listen({ port: 0 }, echo);
  await using conn = await connect(server.addr, {
    noDelay: false,
    keepAlive: true,
  });
  conn.setNoDelay();
  conn.setNoDelay(false);
  conn.setKeepAlive();
  conn.setKeepAlive(false);
  await conn.write("still fine");
  assertEquals(text(await conn.readExactly(10)), "still fine");
});

// ---------------------------------------------------------------------------
// Web Streams

Deno.test("a 1 MB payload piped through writable comes back through readable", async () => {
  await using server = listen({ port: 0 }, echo);
  await using conn = await connect(server.addr);
  const payload = pattern(11, 1_000_000);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += 65_536) {
    chunks.push(payload.subarray(at, at + 65_536));
  }
  const received: Uint8Array[] = [];
  await Promise.all([
    ReadableStream.from(chunks).pipeTo(conn.writable), // close → FIN
    conn.readable.pipeTo(
      new WritableStream({ write: (chunk) => void received.push(chunk) }),
    ),
  ]);
  assertEquals(concatBytes(received), payload);
});

Deno.test("closing writable half-closes: the peer reads EOF and we can still read its answer", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    const request = await readAll(conn);
    await conn.write(`answer after EOF to ${text(request)}`);
  });
  await using conn = await connect(server.addr);
  const writer = conn.writable.getWriter();
  await writer.write(bytes("question"));
  await writer.close();
  assertEquals(conn.closed, false);
  assertEquals(text(await readAll(conn)), "answer after EOF to question");
});

Deno.test("cancelling readable stops reading, and the connection can still write", async () => {
  const got = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("unread");
    got.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  await conn.readable.cancel();
  assertEquals(await conn.read(), null);
  await conn.write("written after cancel");
  await conn.shutdown("write");
  assertEquals(text(await got.promise), "written after cancel");
});

Deno.test("aborting writable closes the connection", async () => {
  const ended = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    ended.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  const writer = conn.writable.getWriter();
  await writer.write(bytes("partial"));
  await writer.abort(new Error("changed my mind"));
  assertEquals(conn.closed, true);
  assertEquals(text(await ended.promise), "partial");
});
