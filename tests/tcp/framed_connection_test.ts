/**
 * `FramedConnection` (`Connection.framed(codec)`) over loopback: sending
 * checks a frame before anything is written, sends several frames in one
 * write, and a signal stops a send; receiving decodes a read a slice at a
 * time, so a flood of tiny frames never becomes more than a few thousand
 * decoded frames (issue 19 item 4), batches are bounded, and frames that
 * span slices arrive whole. Framing errors and cut-off frames are covered
 * with the servers too (`listen_test.ts`, the reliability suite).
 *
 * @module
 */
import {
  DelimiterCodec,
  type FrameCodec,
  FrameTooLargeError,
  lengthPrefixed,
  lines,
} from "../../framing/mod.ts";
import { connect, listen } from "../../tcp/mod.ts";
import {
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertStrictEquals,
} from "../_utils.ts";
import { deferred, pattern, readAll, text } from "./_helpers.ts";

Deno.test("framed().send() rejects an oversized payload before writing anything", async () => {
  const got = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    got.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  const framed = conn.framed(lengthPrefixed({ header: "u16be" }));
  assertStrictEquals(framed.connection, conn);
  await assertRejects(
    async () => await framed.send(new Uint8Array(70_000)),
    FrameTooLargeError,
  );
  await framed.send("ok");
  await conn.shutdown("write");
  assertEquals(await got.promise, new Uint8Array([0, 2, 0x6f, 0x6b]));
});

Deno.test("sendAll() sends several frames in one write, and receive() hands them out one by one", async () => {
  const codec = lengthPrefixed({ header: "u8" });
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(codec);
    for await (const frame of framed) await framed.send(frame);
  });
  await using conn = await connect(server.addr);
  const framed = conn.framed(codec);
  await framed.sendAll(["a", "bc", ""]);
  assertEquals(conn.bytesSent, 1 + 1 + 1 + 2 + 1);
  const got = [];
  for (let i = 0; i < 3; i++) got.push(text(await framed.receive()));
  assertEquals(got, ["a", "bc", ""]);
});

Deno.test("send() with an aborted signal sends nothing", async () => {
  const got = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    got.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  const framed = conn.framed(lines());
  const reason = new Error("not now");
  assertStrictEquals(
    await framed.send("no", { signal: AbortSignal.abort(reason) }).catch((e) =>
      e
    ),
    reason,
  );
  await framed.send("yes");
  await conn.shutdown("write");
  assertEquals(text(await got.promise), "yes\n");
});

/** The codec a framed connection decodes with: the clone it made. */
interface Decoding {
  codec: FrameCodec | null;
}

/**
 * `lines()` that records the clone a framed connection decodes with: a
 * `DelimiterCodec` whose `push` is framing's own, so `framed()` decodes
 * with its `pushRanges`.
 */
class WatchedLines extends DelimiterCodec {
  readonly watch: Decoding;

  constructor(watch: Decoding) {
    super({ lines: true });
    this.watch = watch;
  }

  override clone(): WatchedLines {
    const clone = new WatchedLines(this.watch);
    this.watch.codec = clone;
    return clone;
  }
}

/** Any other `FrameCodec`: `lines()` behind a plain object, watched. */
function plainCodec(watch: Decoding, inner = lines()): FrameCodec {
  return {
    name: inner.name,
    maxFrameSize: inner.maxFrameSize,
    get bufferedBytes() {
      return inner.bufferedBytes;
    },
    get bytesRead() {
      return inner.bytesRead;
    },
    push: (chunk, onFrame) => inner.push(chunk, onFrame),
    end: (onFrame) => inner.end(onFrame),
    encode: (payload) => inner.encode(payload),
    encodeAll: (payloads) => inner.encodeAll(payloads),
    clone: () => {
      const clone = plainCodec(watch, inner.clone());
      watch.codec = clone;
      return clone;
    },
  };
}

/** Empty lines sent in one write: one frame a byte. */
const FLOOD = 64 * 1024;
/** The most frames decoded ahead of receive() (the class docs). */
const MAX_AHEAD = 5119;

const CODECS: [string, (watch: Decoding) => FrameCodec][] = [
  // framing's codecs are decoded into ranges, views made as received
  ["a DelimiterCodec", (watch) => new WatchedLines(watch)],
  // any other codec through push(), frame objects held
  ["another FrameCodec", plainCodec],
];

for (const [name, makeCodec] of CODECS) {
  Deno.test(`receive() decodes one read a slice at a time: 64 KiB of empty lines in one write never has more than ${MAX_AHEAD} frames decoded and not received (${name})`, async () => {
    const watch: Decoding = { codec: null };
    const written = deferred();
    const result = deferred<{ received: number; ahead: number }>();
    await using server = listen({ port: 0 }, async (conn) => {
      await written.promise; // the whole flood waits in the kernel
      const framed = conn.framed(makeCodec(watch));
      let received = 0;
      let ahead = 0;
      for (let frame; (frame = await framed.receive()) !== null;) {
        assertEquals(frame.length, 0);
        received++;
        // Each byte pushed to the decoder completed one frame.
        ahead = Math.max(ahead, watch.codec!.bytesRead - received);
      }
      result.resolve({ received, ahead });
    });
    await using conn = await connect(server.addr);
    await conn.write(new Uint8Array(FLOOD).fill(0x0a));
    written.resolve();
    await conn.shutdown("write");
    const { received, ahead } = await result.promise;
    assertEquals(received, FLOOD);
    assertLessOrEqual(
      ahead,
      MAX_AHEAD,
      `${ahead} frames were decoded and not received at once`,
    );
  });
}

Deno.test("receiveBatch() hands out the frames ready, a bounded batch at a time, in order, then null", async () => {
  const frames = 20_000;
  const payloads = Array.from({ length: frames }, (_, i) => String(i % 1000));
  const result = deferred<{ got: string[]; largest: number }>();
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(lengthPrefixed({ header: "u8" }));
    const got: string[] = [];
    let largest = 0;
    for (let batch; (batch = await framed.receiveBatch()) !== null;) {
      largest = Math.max(largest, batch.length);
      for (const frame of batch) got.push(text(frame)!);
    }
    result.resolve({ got, largest });
  });
  await using conn = await connect(server.addr);
  await conn.framed(lengthPrefixed({ header: "u8" })).sendAll(payloads);
  await conn.shutdown("write");
  const { got, largest } = await result.promise;
  assertEquals(got, payloads);
  assertLessOrEqual(largest, MAX_AHEAD);
});

Deno.test("receive() delivers the frames before a framing error, then the error, also across slices", async () => {
  const result = deferred<{ received: number; error: unknown }>();
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(lines({ maxFrameSize: 10 }));
    let received = 0;
    try {
      while ((await framed.receive()) !== null) received++;
      result.resolve({ received, error: null });
    } catch (error) {
      result.resolve({ received, error });
    }
  });
  await using conn = await connect(server.addr);
  // 10,000 short lines (several slices), then one too long
  await conn.write("ab\n".repeat(10_000) + "x".repeat(11) + "\nok\n");
  await conn.shutdown("write");
  const { received, error } = await result.promise;
  assertEquals(received, 10_000);
  assertInstanceOf(error, FrameTooLargeError);
});

Deno.test("a frame that spans slices of one read arrives whole, and stays valid after later frames", async () => {
  const big = pattern(7, 10_000);
  const result = deferred<Uint8Array[]>();
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(lengthPrefixed({ header: "u32be" }));
    const frames: Uint8Array[] = [];
    for (let frame; (frame = await framed.receive()) !== null;) {
      frames.push(frame);
    }
    result.resolve(frames);
  });
  await using conn = await connect(server.addr);
  const sender = conn.framed(lengthPrefixed({ header: "u32be" }));
  const payloads = [
    pattern(1, 4090),
    big,
    pattern(2, 3),
    pattern(3, 5000),
    pattern(4, 0),
  ];
  await sender.sendAll(payloads);
  await conn.shutdown("write");
  assertEquals(await result.promise, payloads);
});

Deno.test("a DelimiterCodec subclass that overrides push() decodes with its push()", async () => {
  class Upper extends DelimiterCodec {
    override clone(): Upper {
      return new Upper({ lines: true });
    }
    override push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void) {
      super.push(chunk, (frame) => onFrame(frame.map((b) => b & ~0x20)));
    }
  }
  const result = deferred<(string | null)[]>();
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(new Upper({ lines: true }));
    result.resolve([
      text(await framed.receive()),
      text(await framed.receive()),
    ]);
  });
  await using conn = await connect(server.addr);
  await conn.write("abc\nxyz\n");
  assertEquals(await result.promise, ["ABC", "XYZ"]);
});

Deno.test("receiveBatch(maxFrames) takes at most maxFrames and leaves the rest for the next call; a bad maxFrames is a RangeError", async () => {
  const result = deferred<number[]>();
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(lines());
    for (const bad of [0, 1.5, -1, NaN]) {
      await assertRejects(() => framed.receiveBatch(bad), RangeError);
    }
    const sizes: number[] = [];
    for (let batch; (batch = await framed.receiveBatch(3)) !== null;) {
      sizes.push(batch.length);
    }
    result.resolve(sizes);
  });
  await using conn = await connect(server.addr);
  await conn.write("1\n2\n3\n4\n5\n6\n7\n");
  await conn.shutdown("write");
  const sizes = await result.promise;
  assertEquals(sizes.reduce((a, b) => a + b, 0), 7);
  assertLessOrEqual(Math.max(...sizes), 3);
});
