import {
  FrameTooLargeError,
  MalformedFrameError,
  TruncatedFrameError,
} from "../../framing/errors.ts";
import { lines } from "../../framing/delimiter.ts";
import { lengthPrefixed, netstrings } from "../../framing/length_prefix.ts";
import type { FrameCodec } from "../../framing/codec.ts";
import { connect } from "../../tcp/connect.ts";
import type { Connection } from "../../tcp/connection.ts";
import { listen } from "../../tcp/listen.ts";
import { relay, relayFrames, SharedInput } from "../../relay/mod.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  concatBytes,
  type ErrorClass,
} from "../_utils.ts";
import { peerTest } from "../_peers.ts";
import {
  bytes,
  deferred,
  echo,
  pattern,
  readAll,
  readUntilGone,
  text,
} from "../tcp/_helpers.ts";
import { Python } from "../tcp/_python.ts";

const decoder = new TextDecoder();

/** A writable that keeps what it is given. */
function collector(): {
  writable: WritableStream<Uint8Array>;
  bytes: () => Uint8Array;
  text: () => string;
} {
  const chunks: Uint8Array[] = [];
  return {
    writable: new WritableStream({
      write: (chunk) => void chunks.push(chunk.slice()),
    }),
    bytes: () => concatBytes(chunks),
    text: () => decoder.decode(concatBytes(chunks)),
  };
}

/** An input that yields `chunks`, then ends. */
function input(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? bytes(c) : c),
  );
}

/** An input that never yields and never ends (a silent terminal). */
function silentInput(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({}, { highWaterMark: 0 });
}

Deno.test("relay() sends the input, half-closes, and writes the reply until the peer closes", async () => {
  await using server = listen({ port: 0 }, echo);
  const conn = await connect(server.addr);
  const out = collector();
  const result = await relay(conn, {
    readable: input("hello, ", "world"),
    writable: out.writable,
  });
  assertEquals(result, {
    reason: "complete",
    bytesSent: 12,
    bytesReceived: 12,
  });
  assertEquals(out.text(), "hello, world");
  assert(conn.closed, "the relay closes the connection");
});

Deno.test("relay() keeps receiving after its half-close until the peer is done", async () => {
  // The server answers only once it has read everything: it needs our FIN.
  await using server = listen({ port: 0 }, async (conn) => {
    const request = await readAll(conn);
    await conn.write(`got ${request.length} bytes`);
  });
  const out = collector();
  const result = await relay(await connect(server.addr), {
    readable: input("a", "bc", "def"),
    writable: out.writable,
  });
  assertEquals(out.text(), "got 6 bytes");
  assertEquals(result.reason, "complete");
});

Deno.test("relay() keeps sending the input after the peer has closed its side", async () => {
  // The peer says "bye" without a newline and shuts down writing: the lines
  // codec hands out that last line only at EOF, so seeing it means the
  // relay has read the peer's EOF. The input goes on after that.
  const seen = deferred<string>();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("bye");
    await conn.shutdown("write");
    seen.resolve(text(await readAll(conn))!);
  });
  let enqueue!: (chunk: Uint8Array) => void;
  let end!: () => void;
  const readable = new ReadableStream<Uint8Array>({
    start: (controller) => {
      enqueue = (chunk) => controller.enqueue(chunk);
      end = () => controller.close();
    },
  });
  const eofSeen = deferred();
  const relaying = relayFrames(await connect(server.addr), {
    readable,
    writable: new WritableStream({
      write: (chunk) => {
        if (text(chunk) === "bye\n") eofSeen.resolve();
      },
    }),
  }, { codec: lines() });
  await eofSeen.promise;
  enqueue(bytes("after the peer's FIN\n"));
  end();
  const result = await relaying;
  assertEquals(await seen.promise, "after the peer's FIN\n");
  assertEquals(result.reason, "complete");
  assertEquals([result.framesSent, result.framesReceived], [1, 1]);
});

Deno.test("relay() with endWithPeer ends when the peer closes, leaving the input unread", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("goodbye");
  });
  const out = collector();
  const readable = silentInput();
  const conn = await connect(server.addr);
  const result = await relay(conn, { readable, writable: out.writable }, {
    endWithPeer: true,
  });
  assertEquals(result, {
    reason: "peer-closed",
    bytesSent: 0,
    bytesReceived: 7,
  });
  assertEquals(out.text(), "goodbye");
  assert(conn.closed);
  assertEquals(readable.locked, false, "the input is released, not cancelled");
});

Deno.test("relay() with noHalfClose closes when the input ends, without the reply", async () => {
  const seen = deferred<string>();
  await using server = listen({ port: 0 }, async (conn) => {
    seen.resolve(text(await readAll(conn))!);
    await conn.write("too late").catch(() => {});
  });
  const out = collector();
  const result = await relay(await connect(server.addr), {
    readable: input("request"),
    writable: out.writable,
  }, { noHalfClose: true });
  assertEquals(result.reason, "input-ended");
  assertEquals(result.bytesSent, 7);
  assertEquals(await seen.promise, "request");
  assertEquals(out.text(), "");
});

Deno.test("relay() with sendOnly throws away what it receives and ends when the peer closes", async () => {
  const seen = deferred<string>();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("banner\n");
    seen.resolve(text(await readAll(conn))!);
  });
  const out = collector();
  const result = await relay(await connect(server.addr), {
    readable: input("upload"),
    writable: out.writable,
  }, { sendOnly: true });
  assertEquals(await seen.promise, "upload");
  assertEquals(out.text(), "");
  assertEquals(result, {
    reason: "complete",
    bytesSent: 6,
    bytesReceived: 7,
  });
});

Deno.test("relay() with recvOnly never reads the input and sends nothing", async () => {
  let pulled = false;
  const untouched = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      pulled = true;
      controller.enqueue(bytes("must not be sent"));
    },
  }, { highWaterMark: 0 });
  const seen = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("news");
    await conn.shutdown("write");
    seen.resolve(await readAll(conn));
  });
  const out = collector();
  const result = await relay(await connect(server.addr), {
    readable: untouched,
    writable: out.writable,
  }, { recvOnly: true });
  assertEquals(out.text(), "news");
  assertEquals(result, {
    reason: "complete",
    bytesSent: 0,
    bytesReceived: 4,
  });
  assertEquals((await seen.promise).length, 0);
  assertEquals(pulled, false);
  assertEquals(untouched.locked, false, "the relay releases its lock");
});

Deno.test("relay() ends with idle-timeout when nothing moves either way", async () => {
  const release = deferred();
  const gone = deferred<string>();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("one chunk, then silence");
    await release.promise;
    gone.resolve(await readUntilGone(conn));
  });
  const conn = await connect(server.addr);
  const out = collector();
  const started = performance.now();
  const result = await relay(conn, {
    readable: silentInput(),
    writable: out.writable,
  }, { idleTimeout: 150 });
  const elapsed = performance.now() - started;
  release.resolve();
  assertEquals(result.reason, "idle-timeout");
  assertEquals(out.text(), "one chunk, then silence");
  assertGreaterOrEqual(elapsed, 145);
  assert(conn.closed);
  assertEquals(await gone.promise, "eof");
});

Deno.test("relay() reads from the socket only as fast as the output takes it", async () => {
  const size = 8 * 1024 * 1024;
  const payload = pattern(7, size);
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write(payload);
  });
  const conn = await connect(server.addr);
  const firstChunk = deferred<number>();
  const go = deferred();
  const chunks: Uint8Array[] = [];
  const slow = new WritableStream<Uint8Array>({
    write: async (chunk) => {
      chunks.push(chunk.slice());
      if (chunks.length === 1) {
        firstChunk.resolve(chunk.length);
        await go.promise;
      }
    },
  });
  const relaying = relay(conn, { readable: input(), writable: slow });
  const first = await firstChunk.promise;
  // Nothing to wait on for "reads no more": give a runaway reader time to
  // show itself, then check it read nothing past the chunk it is writing.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(conn.bytesReceived, first);
  go.resolve();
  const result = await relaying;
  assertEquals(result.bytesReceived, size);
  assertEquals(concatBytes(chunks), payload);
});

Deno.test("relay() reads the input only as fast as the socket takes it", async () => {
  const chunk = 64 * 1024;
  const count = 128; // 8 MiB
  const received = deferred<number>();
  await using server = listen({ port: 0 }, async (c) => {
    received.resolve((await readAll(c)).length);
  });
  const conn = await connect(server.addr);
  let pulledBytes = 0;
  const ahead: number[] = [];
  const source = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      // Each pull comes only after the last chunk was written in full.
      ahead.push(pulledBytes - conn.bytesSent);
      if (pulledBytes === chunk * count) return controller.close();
      controller.enqueue(pattern(pulledBytes / chunk, chunk));
      pulledBytes += chunk;
    },
  }, { highWaterMark: 0 });
  const result = await relay(conn, {
    readable: source,
    writable: collector().writable,
  });
  assertEquals(await received.promise, chunk * count);
  assertEquals(result.bytesSent, chunk * count);
  assertEquals(ahead.length, count + 1);
  assertEquals(Math.max(...ahead), 0, "never more than one chunk in flight");
});

Deno.test("relay() calls onTraffic with every byte, both ways", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("greeting;");
    await echo(conn);
  });
  const seen: Record<"sent" | "received", Uint8Array[]> = {
    sent: [],
    received: [],
  };
  const out = collector();
  await relay(await connect(server.addr), {
    readable: input("ping;", "pong;"),
    writable: out.writable,
  }, {
    onTraffic: (direction, chunk) => void seen[direction].push(chunk.slice()),
  });
  assertEquals(text(concatBytes(seen.sent)), "ping;pong;");
  assertEquals(text(concatBytes(seen.received)), out.text());
  assertEquals(out.text(), "greeting;ping;pong;");
});

Deno.test("relay() rejects with the signal's reason and closes the connection", async () => {
  const arrived = deferred();
  const gone = deferred<string>();
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.read();
    arrived.resolve();
    gone.resolve(await readUntilGone(conn));
  });
  const conn = await connect(server.addr);
  const controller = new AbortController();
  let enqueue!: (chunk: Uint8Array) => void;
  const relaying = relay(conn, {
    readable: new ReadableStream<Uint8Array>({
      start: (c) => void (enqueue = (chunk) => c.enqueue(chunk)),
    }),
    writable: collector().writable,
  }, { signal: controller.signal });
  enqueue(bytes("x"));
  await arrived.promise;
  const reason = new Error("stop now");
  controller.abort(reason);
  const error = await assertRejects(() => relaying);
  assertEquals(error, reason);
  assert(conn.closed);
  assertEquals(await gone.promise, "eof");
});

peerTest("relay() rejects with the reset when the peer resets the connection", [
  "python3",
], async () => {
  // SO_LINGER 0 makes close() send RST instead of FIN.
  await using python = Python.spawn(`
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1])
conn, _ = srv.accept()
conn.recv(10)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
conn.close()
`);
  const conn = await connect({ port: await python.port() });
  let enqueue!: (chunk: Uint8Array) => void;
  const relaying = relay(conn, {
    readable: new ReadableStream<Uint8Array>({
      start: (c) => void (enqueue = (chunk) => c.enqueue(chunk)),
    }),
    writable: collector().writable,
  });
  enqueue(bytes("hi"));
  const error = await assertRejects(() => relaying);
  assertInstanceOf(error, Deno.errors.ConnectionReset);
  assertStringIncludes(error.message, "Cannot read from 127.0.0.1:");
  assert(conn.closed);
  assertEquals((await python.finish()).code, 0);
});

Deno.test("relay() checks its options and the locks before touching anything", async () => {
  await using server = listen({ port: 0 }, echo);
  await using conn = await connect(server.addr);
  const streams = () => ({ readable: input(), writable: collector().writable });
  await assertRejects(
    () => relay(conn, streams(), { sendOnly: true, recvOnly: true }),
    TypeError,
    "both sendOnly and recvOnly",
  );
  await assertRejects(
    () => relay(conn, streams(), { idleTimeout: 0 }),
    RangeError,
    "idleTimeout 0",
  );
  const locked = input("x");
  const reader = locked.getReader();
  await assertRejects(
    () => relay(conn, { readable: locked, writable: collector().writable }),
    TypeError,
  );
  reader.releaseLock();
  await assertRejects(
    () => relayFrames(conn, streams(), {} as { codec: FrameCodec }),
    TypeError,
    "without a codec",
  );
  assertEquals(conn.closed, false, "nothing was started");
});

/** A server that answers each u16 frame with the frame reversed. */
function reverser(codec: FrameCodec) {
  return async (conn: Connection) => {
    const framed = conn.framed(codec);
    for await (const frame of framed) await framed.send(frame.toReversed());
  };
}

Deno.test("relayFrames() sends each input line as one frame and prints each frame as a line", async () => {
  const codec = lengthPrefixed({ header: "u16be" });
  await using server = listen({ port: 0 }, reverser(codec));
  const out = collector();
  const result = await relayFrames(await connect(server.addr), {
    // Lines split across chunks, \r\n, an empty line, a last line without \n.
    readable: input("ab", "c\nxy\r\n", "\nlast"),
    writable: out.writable,
  }, { codec });
  assertEquals(out.text(), "cba\nyx\n\ntsal\n");
  assertEquals(result, {
    reason: "complete",
    bytesSent: 4 * 2 + 3 + 2 + 0 + 4,
    bytesReceived: 4 * 2 + 3 + 2 + 0 + 4,
    framesSent: 4,
    framesReceived: 4,
  });
});

Deno.test("relayFrames() prints binary frames in hex", async () => {
  const codec = lengthPrefixed({ header: "u32be" });
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(codec);
    await framed.sendAll([new Uint8Array([0, 0xff, 0x0a]), new Uint8Array()]);
  });
  const out = collector();
  await relayFrames(await connect(server.addr), {
    readable: input(),
    writable: out.writable,
  }, { codec, output: "hex" });
  assertEquals(out.text(), "00ff0a\n\n");
});

Deno.test("relayFrames() fails on a bad frame with its offset, after the frames before it", async () => {
  const cases: {
    name: string;
    codec: FrameCodec;
    wire: Uint8Array;
    error: ErrorClass;
    offset: number;
    printed: string;
  }[] = [
    // a length header over maxFrameSize: refused at the header
    {
      name: "oversized",
      codec: lengthPrefixed({ header: "u16be", maxFrameSize: 100 }),
      wire: new Uint8Array([0, 2, 0x6f, 0x6b, 0x03, 0xe8]),
      error: FrameTooLargeError,
      offset: 4,
      printed: "ok\n",
    },
    // a netstring with a letter in its length
    {
      name: "malformed",
      codec: netstrings(),
      wire: bytes("2:ok,3x"),
      error: MalformedFrameError,
      offset: 6,
      printed: "ok\n",
    },
    // the stream ends inside a frame
    {
      name: "truncated",
      codec: lengthPrefixed({ header: "u32be" }),
      wire: new Uint8Array([0, 0, 0, 1, 0x61, 0, 0, 0, 10, 1, 2, 3]),
      error: TruncatedFrameError,
      offset: 5,
      printed: "a\n",
    },
  ];
  for (
    const { name, codec, wire, error: ErrorClass, offset, printed } of cases
  ) {
    const gone = deferred<string>();
    await using server = listen({ port: 0 }, async (conn) => {
      await conn.write(wire);
      if (name === "truncated") await conn.shutdown("write");
      gone.resolve(await readUntilGone(conn));
    });
    const out = collector();
    const conn = await connect(server.addr);
    const error = await assertRejects(
      () =>
        relayFrames(conn, {
          readable: silentInput(),
          writable: out.writable,
        }, { codec }),
    );
    assertInstanceOf(error, ErrorClass, name);
    assertEquals((error as { offset?: number }).offset, offset, name);
    assertStringIncludes(error.message, `at byte offset ${offset}`, name);
    assertEquals(out.text(), printed, name);
    assertEquals(await gone.promise, "eof", `${name}: a clean close`);
  }
});

Deno.test("relayFrames() refuses an input line too long for one frame, sending nothing", async () => {
  const seen: number[] = [];
  await using server = listen({ port: 0 }, async (conn) => {
    seen.push((await readAll(conn)).length);
  });
  const codec = lengthPrefixed({ header: "u16be", maxFrameSize: 4 });
  // A line over the limit, and one that runs past it without a newline.
  for (const line of ["12345\n", "123456789"]) {
    const conn = await connect(server.addr);
    const error = await assertRejects(
      () =>
        relayFrames(conn, {
          readable: input(line),
          writable: collector().writable,
        }, { codec }),
      FrameTooLargeError,
    );
    assertEquals(error.offset, undefined, line);
    assertEquals(conn.bytesSent, 0, line);
  }
});

Deno.test("SharedInput hands every chunk to every subscriber, at the slowest one's pace", async () => {
  let pulls = 0;
  const source = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      pulls++;
      if (pulls > 3) controller.close();
      else controller.enqueue(new Uint8Array([pulls]));
    },
  }, { highWaterMark: 0 });
  const shared = new SharedInput(source);
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  const a = shared.subscribe().getReader();
  const b = shared.subscribe().getReader();
  assertEquals(shared.subscribers, 2);

  const firstA = a.read();
  await tick();
  assertEquals(pulls, 0, "b has not asked yet: nothing is read");
  const firstB = b.read();
  assertEquals((await firstA).value, new Uint8Array([1]));
  assertEquals((await firstB).value, new Uint8Array([1]));
  assertEquals(pulls, 1);

  const secondA = a.read();
  await tick();
  assertEquals(pulls, 1, "a waits for b");
  const secondB = b.read();
  assertEquals((await secondA).value, new Uint8Array([2]));
  assertEquals((await secondB).value, new Uint8Array([2]));

  // A subscriber that leaves no longer holds the others up.
  await b.cancel();
  assertEquals(shared.subscribers, 1);
  assertEquals((await a.read()).value, new Uint8Array([3]));
  assertEquals((await a.read()).done, true);
  assertEquals(shared.ended, true);
  // Subscribing after the end gives a stream that is already closed.
  assertEquals(await Array.fromAsync(shared.subscribe()), []);
});

Deno.test("SharedInput keeps the data for the next subscriber when nobody listens", async () => {
  const shared = new SharedInput(input("first", "second"));
  const one = shared.subscribe().getReader();
  assertEquals(text((await one.read()).value!), "first");
  await one.cancel();
  const two = shared.subscribe();
  assertEquals((await Array.fromAsync(two)).map((c) => text(c)), ["second"]);
});

Deno.test("SharedInput keeps a chunk that arrives after its only subscriber left", async () => {
  // The source answers a read only when told to, so the subscriber can
  // leave while the read is under way (a client that disconnects while
  // cat -k waits for stdin).
  const answer = deferred<void>();
  let pulls = 0;
  const source = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      pulls++;
      if (pulls > 1) return controller.close();
      await answer.promise;
      controller.enqueue(new TextEncoder().encode("late"));
    },
  }, { highWaterMark: 0 });
  const shared = new SharedInput(source);
  const one = shared.subscribe().getReader();
  const pending = one.read();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(pulls, 1, "the read is under way");
  await one.cancel();
  assertEquals((await pending).done, true);
  answer.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const two = shared.subscribe();
  assertEquals((await Array.fromAsync(two)).map((c) => text(c)), ["late"]);
});

Deno.test("relay() feeds two connections from one SharedInput", async () => {
  const got: string[] = [];
  await using server = listen({ port: 0 }, async (conn) => {
    got.push(text(await readAll(conn))!);
  });
  const shared = new SharedInput(input("to ", "everyone"));
  const relayOne = async () => {
    const subscription = shared.subscribe();
    try {
      return await relay(await connect(server.addr), {
        readable: subscription,
        writable: collector().writable,
      });
    } finally {
      await subscription.cancel();
    }
  };
  const results = await Promise.all([relayOne(), relayOne()]);
  assertEquals(results.map((r) => r.bytesSent), [11, 11]);
  assertEquals(got, ["to everyone", "to everyone"]);
});
