/**
 * Bad input on every codec.
 *
 * 1. The seeded fuzzer (`_fuzz.ts`): over 100,000 random, biased, valid,
 *    cut and corrupted inputs a run, across every codec configuration, in
 *    two workers — only frames or typed errors, `bufferedBytes` within the
 *    limit, and no hang: a worker that reports nothing for 20 s is stopped
 *    and the test fails naming the codec and the last input reached.
 * 2. The decoder streams: frames before a bad one in the same chunk reach
 *    the reader before the error.
 * 3. Over real sockets: a framed echo server per codec gets an oversized
 *    frame, a malformed header where the codec has one, and a frame cut off
 *    by the client's EOF, each after a good frame. The good frame comes
 *    back, the handler fails with the typed error (reported to `onError`
 *    with its facts), and the server goes on serving the next client.
 *
 * Replay a fuzzer failure with `SOCKIT_TEST_SEED=<seed>`.
 *
 * @module
 */
import {
  delimited,
  type FrameCodec,
  FrameDecoderStream,
  FrameTooLargeError,
  type LengthHeader,
  lengthPrefixed,
  lines,
  MalformedFrameError,
  netstrings,
  TruncatedFrameError,
} from "../../framing/mod.ts";
import { connect, listen } from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertRejects,
  type ErrorClass,
  testSeed,
} from "../_utils.ts";
import { within } from "../tcp/_helpers.ts";
import { CODECS, type FuzzSummary } from "./_fuzz.ts";
import type { FuzzJob, FuzzMessage } from "./_fuzz_worker.ts";

const SEED = testSeed("SOCKIT_TEST_SEED");
const ERRORS = {
  tooLarge: FrameTooLargeError.name,
  malformed: MalformedFrameError.name,
  truncated: TruncatedFrameError.name,
};
const INPUTS_PER_CODEC = 5_200;
const WORKERS = 2;
/** A worker silent for this long (ms) is taken to hang. */
const WATCHDOG = 20_000;

/** Runs one worker over `codecs`; resolves with its summaries. */
function runWorker(codecs: number[]): Promise<FuzzSummary[]> {
  const worker = new Worker(new URL("./_fuzz_worker.ts", import.meta.url), {
    type: "module",
  });
  const summaries: FuzzSummary[] = [];
  let last = "no input yet";
  return new Promise<FuzzSummary[]>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      worker.terminate();
      if (error === undefined) resolve(summaries);
      else reject(error);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(
            new Error(
              `The fuzzer hung (seed ${SEED}): nothing for ${WATCHDOG} ms after ${last}`,
            ),
          ),
        WATCHDOG,
      );
    };
    worker.onmessage = ({ data }: MessageEvent<FuzzMessage>) => {
      arm();
      if (data.type === "progress") {
        last = `${data.codec} input ${data.input}`;
      } else if (data.type === "summary") {
        summaries.push(data.summary);
        last = `${data.summary.codec} (finished)`;
      } else if (data.type === "done") {
        finish();
      } else {
        finish(new Error(`${data.message} (run seed ${SEED})`));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish(new Error(`The fuzzer worker crashed: ${event.message}`));
    };
    arm();
    const job: FuzzJob = {
      seed: SEED,
      codecs,
      inputs: INPUTS_PER_CODEC,
      streamEvery: 25,
    };
    worker.postMessage(job);
  });
}

Deno.test("fuzzer: over 100,000 random inputs across every codec give only frames or typed errors, within the memory limit", async () => {
  const indexes = CODECS.map((_, i) => i);
  const shares = Array.from(
    { length: WORKERS },
    (_, w) => indexes.filter((i) => i % WORKERS === w),
  );
  const start = performance.now();
  const summaries = (await Promise.all(shares.map(runWorker))).flat();
  const elapsed = performance.now() - start;
  assertEquals(summaries.length, CODECS.length);
  const inputs = summaries.reduce((n, s) => n + s.inputs, 0);
  const bytes = summaries.reduce((n, s) => n + s.bytes, 0);
  assertGreaterOrEqual(inputs, 100_000);
  const lines = summaries.map((s) =>
    `  ${s.codec}: ${s.inputs} inputs, ${s.frames} frames, ${
      Object.entries(s.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")
    }; peak bufferedBytes ${s.peakBuffered}, largest frame ${s.largestFrame}`
  );
  console.log(
    `fuzzer (seed ${SEED}): ${inputs} inputs, ${
      (bytes / 1e6).toFixed(1)
    } MB, in ${(elapsed / 1000).toFixed(1)} s\n${lines.join("\n")}`,
  );
  // The generator reaches frames on every codec, and every kind of error.
  for (const summary of summaries) {
    assert(summary.frames > 0, `${summary.codec}: no frames`);
  }
  for (const name of Object.values(ERRORS)) {
    assert(
      summaries.some((s) => (s.outcomes[name] ?? 0) > 0),
      `no input gave ${name}`,
    );
  }
});

Deno.test("a decoder stream hands out every frame before a bad one in the same chunk, then the error", async (t) => {
  // A socket read often holds many frames: the good ones before a bad one
  // must reach the reader, as the push decoders hand them out.
  const cases: [
    string,
    TransformStream<Uint8Array, Uint8Array>,
    string[],
    ErrorClass,
  ][] = [
    [
      "lines, then a line over maxFrameSize",
      new FrameDecoderStream(lines({ maxFrameSize: 3 })),
      ["a\nb\nc\ntoo long\n"],
      FrameTooLargeError,
    ],
    [
      "netstrings, then a malformed one",
      new FrameDecoderStream(netstrings()),
      ["1:a,1:b,1:c,x"],
      MalformedFrameError,
    ],
    [
      "u8 frames, then the stream ends mid-frame",
      new FrameDecoderStream(lengthPrefixed({ header: "u8" })),
      ["\x01a\x01b", "\x01c\x05d"],
      TruncatedFrameError,
    ],
  ];
  for (const [name, stream, chunks, errorClass] of cases) {
    await t.step(name, async () => {
      const frames: string[] = [];
      const error = await assertRejects(async () => {
        const source = ReadableStream.from(chunks.map((c) => text.encode(c)));
        for await (const frame of source.pipeThrough(stream)) {
          frames.push(new TextDecoder().decode(frame));
        }
      }, errorClass);
      assertEquals(frames, ["a", "b", "c"], `then ${error.name}`);
    });
  }
});

// ---------------------------------------------------------------------------
// Over real sockets

const MAX = 64;
const text = new TextEncoder();

interface SocketCase {
  /** The bytes after one good frame. */
  bad: Uint8Array;
  /** Whether the client ends the stream (FIN) after them. */
  end: boolean;
  /** The error the handler must get. */
  error: ErrorClass;
  /** Facts the error must carry. */
  facts: Record<string, unknown>;
}

interface SocketCodec {
  name: string;
  codec: FrameCodec;
  /** Encodes a payload with no limit. */
  encode: (payload: Uint8Array) => Uint8Array;
  /** A malformed header, when the codec has a way to be malformed. */
  malformed?: Uint8Array;
}

function lengthCodec(header: LengthHeader): SocketCodec {
  const encoder = lengthPrefixed({ header, maxFrameSize: 1 << 20 });
  const malformed: Partial<Record<LengthHeader, Uint8Array>> = {
    varint: new Uint8Array(11).fill(0x80), // a varint over 10 bytes
    ascii: text.encode("12x:"), // a non-digit
    netstring: text.encode("3:abcX"), // no "," after the payload
  };
  return {
    name: header,
    codec: header === "netstring"
      ? netstrings({ maxFrameSize: MAX })
      : lengthPrefixed({ header, maxFrameSize: MAX }),
    encode: (payload) => encoder.encode(payload),
    ...(malformed[header] ? { malformed: malformed[header] } : {}),
  };
}

const SOCKET_CODECS: SocketCodec[] = [
  {
    name: "nul",
    codec: delimited("\0", { maxFrameSize: MAX }),
    encode: (p) => new Uint8Array([...p, 0]),
  },
  {
    name: "CRLFCRLF",
    codec: delimited("\r\n\r\n", { maxFrameSize: MAX }),
    encode: (p) => new Uint8Array([...p, 13, 10, 13, 10]),
  },
  {
    name: "lines",
    codec: lines({ maxFrameSize: MAX }),
    encode: (p) => new Uint8Array([...p, 10]),
  },
  ...(
    [
      "u8",
      "u16be",
      "u16le",
      "u32be",
      "u32le",
      "u64be",
      "u64le",
      "varint",
      "ascii",
      "netstring",
    ] as const
  ).map(lengthCodec),
];

function casesFor(c: SocketCodec, goodLength: number): SocketCase[] {
  const oversized = c.encode(new Uint8Array(MAX + 36).fill(0x41));
  const cases: SocketCase[] = [{
    bad: oversized,
    end: false,
    error: FrameTooLargeError,
    facts: { limit: MAX, offset: goodLength },
  }];
  if (c.malformed !== undefined) {
    cases.push({
      bad: c.malformed,
      end: false,
      error: MalformedFrameError,
      facts: {},
    });
  }
  if (c.name !== "lines") { // lines hands out a last line without "\n"
    const whole = c.encode(text.encode("cut off"));
    cases.push({
      bad: whole.subarray(0, whole.length - 2),
      end: true,
      error: TruncatedFrameError,
      facts: { offset: goodLength },
    });
  }
  return cases;
}

/** Reads until the server ends the connection; resets count as an end. */
async function readToEnd(
  conn: Awaited<ReturnType<typeof connect>>,
): Promise<Uint8Array> {
  const chunks: number[] = [];
  try {
    for (let data; (data = await conn.read()) !== null;) chunks.push(...data);
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
  }
  return new Uint8Array(chunks);
}

for (const c of SOCKET_CODECS) {
  Deno.test(`over TCP, ${c.name}: oversized, malformed and cut-off frames fail only their connection with typed errors`, async () => {
    const reported: unknown[] = [];
    const ended: PromiseWithResolvers<void>[] = [];
    await using server = listen({ port: 0 }, async (conn) => {
      const done = ended[server.acceptedConnections - 1];
      try {
        const framed = conn.framed(c.codec);
        for await (const frame of framed) await framed.send(frame);
      } finally {
        done?.resolve();
      }
    }, { onError: (error) => reported.push(error) });
    const good = c.encode(text.encode("good"));
    for (const bad of casesFor(c, good.length)) {
      ended.push(Promise.withResolvers<void>());
      await using conn = await connect(server.addr);
      await conn.write(new Uint8Array([...good, ...bad.bad]));
      if (bad.end) await conn.shutdown("write");
      // The good frame comes back whole; then the server ends the connection.
      assertEquals(
        await readToEnd(conn),
        good,
        `${c.name}: the good frame's echo`,
      );
      await within(ended.at(-1)!.promise, 5000, "the handler's end");
      const error = reported.at(-1);
      assertEquals(
        reported.length,
        ended.length,
        "one error per bad connection",
      );
      assertInstanceOf(error, bad.error, `${c.name}: ${error}`);
      for (const [key, value] of Object.entries(bad.facts)) {
        assertEquals(
          (error as unknown as Record<string, unknown>)[key],
          value,
          `${c.name}: ${key}`,
        );
      }
    }
    // Still serving.
    await using conn = await connect(server.addr);
    const framed = conn.framed(c.codec);
    await framed.send("still here");
    assertEquals(
      new TextDecoder().decode((await framed.receive()) ?? new Uint8Array()),
      "still here",
    );
  });
}
