import {
  delimited,
  DelimiterCodec,
  DelimiterInPayloadError,
  type DelimiterOptions,
  type FrameCodec,
  FrameDecoderStream,
  FrameEncoderStream,
  FrameTooLargeError,
  lines,
  TruncatedFrameError,
} from "../../framing/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
  concatBytes,
  fail,
  Prng,
  splitChunks,
  testSeed,
} from "../_utils.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (bytes: Uint8Array): string => dec.decode(bytes);

/** Every frame of `chunks`, the stream ended after the last one. */
function decodeFrames(codec: FrameCodec, chunks: Iterable<Uint8Array>) {
  const frames: Uint8Array[] = [];
  const sink = (frame: Uint8Array) => {
    frames.push(frame);
  };
  for (const chunk of chunks) codec.push(chunk, sink);
  codec.end(sink);
  return frames;
}

function decodeAll(
  options: DelimiterOptions,
  chunks: Uint8Array[],
): string[] {
  return decodeFrames(new DelimiterCodec(options), chunks).map(s);
}

Deno.test("lines mode accepts \\n and \\r\\n, even split across chunks", () => {
  // Each row: chunks, the lines expected.
  const rows: Array<[string[], string[]]> = [
    [["a\nb\r\nc"], ["a", "b", "c"]], // both endings, last line without one
    [["a\r", "\nb\n"], ["a", "b"]], // \r and \n in different chunks
    [["a", "\r", "\n", "\r", "\n"], ["a", ""]], // one byte at a time, an empty line
    [["\n\n"], ["", ""]], // empty lines are frames
    [["a\rb\n"], ["a\rb"]], // a lone \r inside a line is content
    [["x\r\r\n"], ["x\r"]], // only one \r belongs to the ending
    [[""], []], // no bytes, no lines
  ];
  for (const [chunks, expected] of rows) {
    assertEquals(
      decodeAll({ lines: true }, chunks.map(b)),
      expected,
      `${chunks}`,
    );
  }
});

Deno.test("keepDelimiter hands out each frame with the ending it had", () => {
  assertEquals(
    decodeAll({ lines: true, keepDelimiter: true }, [b("a\r"), b("\nb\nc")]),
    ["a\r\n", "b\n", "c"],
  );
  assertEquals(
    decodeAll({ delimiter: "||", keepDelimiter: true }, [b("x|"), b("|y||")]),
    ["x||", "y||"],
  );
});

Deno.test("a multi-byte delimiter is found wherever the chunks split it", () => {
  const stream = b("GET /\r\n\r\nPOST /x\r\n\r\n\r\n\r\n");
  const expected = ["GET /", "POST /x", ""];
  for (let size = 1; size <= stream.length; size++) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += size) {
      chunks.push(stream.slice(at, at + size));
    }
    assertEquals(
      decodeAll({ delimiter: "\r\n\r\n" }, chunks),
      expected,
      `chunk size ${size}`,
    );
  }
});

Deno.test("a self-overlapping delimiter matches at its earliest start", () => {
  // "aba" in "xabababa": earliest match at index 1, then "baba" holds "aba"
  // starting at index 1 of the rest.
  assertEquals(decodeAll({ delimiter: "aba" }, [b("xabababa")]), ["x", "b"]);
  assertEquals(
    decodeAll({ delimiter: "aba" }, [b("xa"), b("b"), b("ab"), b("aba")]),
    ["x", "b"],
  );
});

Deno.test("frames inside one chunk are views of it; frames across chunks are not", () => {
  const decoder = new DelimiterCodec({ delimiter: "\0" });
  const chunk = b("ab\0cd\0e");
  const frames = decoder.decode(chunk);
  assertEquals(frames.map(s), ["ab", "cd"]);
  for (const frame of frames) assertStrictEquals(frame.buffer, chunk.buffer);
  chunk.fill(0x7a); // reusing the chunk must not change the held "e"
  const [last] = decoder.decode(b("f\0"));
  assertEquals(s(last!), "ef");
  assert(last!.buffer !== chunk.buffer);
});

Deno.test("the final frame without a delimiter: emitted for lines, an error for others", () => {
  assertEquals(decodeAll({ lines: true }, [b("a\nlast")]), ["a", "last"]);
  const error = assertThrows(
    () => decodeAll({ delimiter: "\0" }, [b("ok\0"), b("cut")]),
    TruncatedFrameError,
    "ended before its delimiter",
  );
  assertEquals([error.expected, error.received, error.offset], [
    undefined,
    3,
    3,
  ]);
  // Chosen by option either way.
  assertEquals(decodeAll({ delimiter: "\0", finalFrame: "emit" }, [b("x")]), [
    "x",
  ]);
  assertThrows(
    () => decodeAll({ lines: true, finalFrame: "error" }, [b("x")]),
    TruncatedFrameError,
  );
});

Deno.test("maxFrameSize raises FrameTooLargeError as soon as it is known", () => {
  // Each row: chunks, the frames delivered before the error, size, offset.
  const rows: Array<[string[], string[], number, number]> = [
    [["ab\nabcdef\n"], ["ab"], 6, 3], // a whole oversized line inside a chunk
    [["ok\nabc", "def"], ["ok"], 6, 3], // found while holding, no delimiter yet
    [["abcd", "e\r"], [], 6, 0], // a held \r may be a line ending: 5 + 1 allowed
  ];
  for (const [chunks, before, size, offset] of rows) {
    const decoder = new DelimiterCodec({ lines: true, maxFrameSize: 4 });
    const got: string[] = [];
    const error = assertThrows(() => {
      for (const chunk of chunks) decoder.push(b(chunk), (f) => got.push(s(f)));
    }, FrameTooLargeError);
    assertEquals(got, before);
    assertEquals(
      [error.limit, error.size, error.offset, error.announced],
      [4, size, offset, false],
    );
    // The decoder stays failed.
    assertStrictEquals(
      assertThrows(() => decoder.push(b("x\n"), () => {})),
      error,
    );
    assert(decoder.bufferedBytes <= 5);
  }
  // A line of exactly maxFrameSize with a \r\n ending is fine.
  assertEquals(
    decodeAll({ lines: true, maxFrameSize: 4 }, [b("abcd\r"), b("\n")]),
    ["abcd"],
  );
});

Deno.test("an unterminated final frame just over maxFrameSize: TruncatedFrameError in error mode, FrameTooLargeError in emit mode", () => {
  // push() holds up to delimiter length - 1 bytes past maxFrameSize (they
  // may begin the delimiter; in lines mode a \r), so end() meets a final
  // frame of maxFrameSize 4 + 1 bytes. Each row: options, the final bytes,
  // the error end() raises.
  const rows: Array<
    [
      DelimiterOptions,
      string,
      typeof TruncatedFrameError | typeof FrameTooLargeError,
    ]
  > = [
    // the missing delimiter is reported first
    [{ delimiter: "\r\n", finalFrame: "error" }, "abcd\r", TruncatedFrameError],
    [{ delimiter: "\r\n", finalFrame: "error" }, "abcde", TruncatedFrameError],
    [{ lines: true, finalFrame: "error" }, "abcde", TruncatedFrameError],
    // a frame that would be handed out is too large
    [{ delimiter: "\r\n", finalFrame: "emit" }, "abcde", FrameTooLargeError],
    [{ lines: true }, "abcd\r", FrameTooLargeError], // a \r without \n is data
  ];
  for (const [options, final, expected] of rows) {
    const codec = new DelimiterCodec({ ...options, maxFrameSize: 4 });
    assertEquals(codec.decode(b(final)), [], final);
    const error = assertThrows(() => codec.end(() => fail("no frame")));
    assert(error instanceof expected, `${JSON.stringify(options)}: ${error}`);
    if (error instanceof FrameTooLargeError) {
      assertEquals([error.limit, error.size, error.announced], [4, 5, false]);
    }
  }
  // In skip mode an emitted final frame over the limit is skipped, counted.
  const skip = new DelimiterCodec({
    delimiter: "\r\n",
    finalFrame: "emit",
    maxFrameSize: 4,
    onOversize: "skip",
  });
  assertEquals(skip.decode(b("ok\r\nabcde")).map(s), ["ok"]);
  skip.end(() => fail("no frame"));
  assertEquals(skip.skippedFrames, 1);
});

Deno.test("skip mode discards oversized frames up to the next delimiter and carries on", () => {
  const skipped: FrameTooLargeError[] = [];
  const decoder = new DelimiterCodec({
    delimiter: "\r\n",
    maxFrameSize: 3,
    onOversize: "skip",
    onSkip: (error) => skipped.push(error),
  });
  const frames = decodeFrames(decoder, [
    b("ok\r\ntoo long\r\nyes\r"),
    b("\nalso too "),
    b("long, across chunks\r"),
    b("\nend\r\n"),
  ]);
  assertEquals(frames.map(s), ["ok", "yes", "end"]);
  assertEquals(decoder.skippedFrames, 2);
  assertEquals(skipped.map((e) => e.offset), [4, 19]);
  assert(decoder.bufferedBytes === 0);
});

Deno.test("push() after end() is a TypeError", () => {
  const decoder = new DelimiterCodec();
  decoder.end(() => {});
  assertThrows(() => decoder.push(b("x"), () => {}), TypeError, "after end()");
});

Deno.test("bad options are caller errors", () => {
  assertThrows(() => new DelimiterCodec({ delimiter: "" }), RangeError);
  assertThrows(() => new DelimiterCodec({ maxFrameSize: -1 }), RangeError);
  assertThrows(
    () => new DelimiterCodec({ lines: true, delimiter: "\0" }),
    TypeError,
    "lines mode",
  );
  assertThrows(
    () => new DelimiterCodec({ delimiter: 5 as unknown as string }),
    TypeError,
  );
});

Deno.test("the encoder refuses a payload that contains its delimiter", () => {
  // Each row: options, payload, index reported.
  const rows: Array<[DelimiterOptions, string, number]> = [
    [{ lines: true }, "a\nb", 1], // a newline inside a line
    [{ lines: true }, "ends in cr\r", 10], // \r\n would be read as the ending
    [{ delimiter: "\0" }, "x\0", 1], // NUL inside a NUL-terminated message
    [{ delimiter: "\r\n\r\n" }, "a\r\n\r\nb", 1], // multi-byte, inside
    [{ delimiter: "aba" }, "xab", 1], // "xab" + "aba" has "aba" at index 1
  ];
  for (const [options, payload, index] of rows) {
    const error = assertThrows(
      () => new DelimiterCodec(options).encode(b(payload)),
      DelimiterInPayloadError,
      "contains the delimiter",
    );
    assertEquals(error.index, index, JSON.stringify(payload));
  }
  // With \r\n endings a trailing \r is content, and survives a round trip.
  const crlf = new DelimiterCodec({ lines: true, lineEnding: "\r\n" });
  assertEquals(
    decodeAll({ lines: true }, [crlf.encode(b("ends in cr\r"))]),
    ["ends in cr\r"],
  );
});

Deno.test("the encoder enforces maxFrameSize and encodeAll() makes one buffer", () => {
  const encoder = new DelimiterCodec({ delimiter: "\0", maxFrameSize: 2 });
  const error = assertThrows(
    () => encoder.encode(b("abc")),
    FrameTooLargeError,
    "Cannot encode frame as its length 3 exceeds maxFrameSize 2",
  );
  assertEquals(error.offset, undefined);
  assertEquals(s(encoder.encodeAll([b("ab"), b(""), b("c")])), "ab\0\0c\0");
});

Deno.test("streams decode and encode, and a stream errors after the frames before the error", async () => {
  const frames = await Array.fromAsync(
    ReadableStream.from([b("one\0tw"), b("o\0")])
      .pipeThrough(new FrameDecoderStream(delimited("\0"))),
  );
  assertEquals(frames.map(s), ["one", "two"]);

  const encoded = await Array.fromAsync(
    ReadableStream.from([b("x"), b("")])
      .pipeThrough(new FrameEncoderStream(lines())),
  );
  assertEquals(encoded.map(s), ["x\n", "\n"]);

  const got: string[] = [];
  await assertRejects(
    async () => {
      const stream = ReadableStream.from([b("ok\ntoo long\n")])
        .pipeThrough(
          new FrameDecoderStream(lines({ maxFrameSize: 3 })),
        );
      for await (const frame of stream) got.push(s(frame));
    },
    FrameTooLargeError,
  );
  assertEquals(got, ["ok"]);
});

Deno.test("lines() and delimited() make codecs that round-trip empty frames", () => {
  for (const codec of [lines(), delimited("\0"), delimited("-->")]) {
    const payloads = [b(""), b("a"), b(""), b("bc")];
    const bytes = codec.encodeAll(payloads);
    assertEquals(
      decodeFrames(codec, [bytes]),
      payloads,
      codec.name,
    );
  }
  assertEquals(lines().name, "lines");
  assertEquals(delimited("-->").name, 'delimited("-->")');
  assertEquals(delimited("\0").name, "nul");
  assertEquals(new DelimiterCodec().name, 'delimited("\\n")');
  assertEquals(new DelimiterCodec({ lines: true }).name, "lines");
});

Deno.test("clone() keeps the options and starts a fresh stream", () => {
  const codec = lines({ maxFrameSize: 4, lineEnding: "\r\n" });
  assertEquals(codec.decode(b("ab\ncd")).map(s), ["ab"]);
  codec.end(() => {});
  const next = codec.clone();
  assertEquals([next.bufferedBytes, next.bytesRead], [0, 0]);
  assertEquals(next.decode(b("x\r\n")).map(s), ["x"]);
  assertEquals(s(next.encode(b("y"))), "y\r\n"); // same lineEnding
  assertThrows(() => next.decode(b("12345\n")), FrameTooLargeError); // same limit
});

Deno.test("the stream adapters decode with a clone: one codec serves two streams", async () => {
  const codec = delimited("\0");
  const [one, two] = await Promise.all([
    Array.fromAsync(
      ReadableStream.from([b("a"), b("b\0")])
        .pipeThrough(new FrameDecoderStream(codec)),
    ),
    Array.fromAsync(
      ReadableStream.from([b("x\0"), b("y\0")])
        .pipeThrough(new FrameDecoderStream(codec)),
    ),
  ]);
  assertEquals([one.map(s), two.map(s)], [["ab"], ["x", "y"]]);
  assertEquals(codec.bytesRead, 0); // the codec itself decoded nothing
});

// ---------------------------------------------------------------------------
// Property tests

const SEED = testSeed("SOCKIT_FRAMING_SEED");

// Configurations that exercise every path: one-byte, multi-byte and
// self-overlapping delimiters, lines with both endings, kept delimiters.
const CONFIGS: DelimiterOptions[] = [
  { lines: true },
  { lines: true, lineEnding: "\r\n" },
  { lines: true, keepDelimiter: true },
  { delimiter: "\0" },
  { delimiter: "\r\n\r\n" },
  { delimiter: "aba" },
  { delimiter: "aba", keepDelimiter: true },
];

// Bytes drawn from a small alphabet that collides with the delimiters often.
const ALPHABET = b("ab\r\n\0x");

function randomText(prng: Prng, max: number): Uint8Array {
  const out = new Uint8Array(prng.int(0, max));
  for (let i = 0; i < out.length; i++) out[i] = prng.pick([...ALPHABET]);
  return out;
}

/** What a decoder must produce for a whole stream: a plain reference. */
function reference(
  options: DelimiterOptions,
  stream: Uint8Array,
): Uint8Array[] {
  const delimiter = options.lines
    ? b("\n")
    : typeof options.delimiter === "string"
    ? b(options.delimiter)
    : options.delimiter!;
  const frames: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i + delimiter.length <= stream.length;) {
    if (delimiter.every((byte, k) => stream[i + k] === byte)) {
      let end = i;
      if (options.lines && end > start && stream[end - 1] === 0x0d) end--;
      frames.push(
        stream.slice(start, options.keepDelimiter ? i + delimiter.length : end),
      );
      i += delimiter.length;
      start = i;
    } else {
      i++;
    }
  }
  if (start < stream.length) frames.push(stream.slice(start));
  return frames;
}

Deno.test("any split of a valid stream into chunks yields the same frames", () => {
  const prng = new Prng(SEED);
  for (let round = 0; round < 400; round++) {
    const options = prng.pick(CONFIGS);
    const encoder = new DelimiterCodec(options);
    const payloads: Uint8Array[] = [];
    const pieces: Uint8Array[] = [];
    while (payloads.length < prng.int(0, 12)) {
      const payload = randomText(prng, 12);
      try {
        pieces.push(encoder.encode(payload));
        payloads.push(payload);
      } catch (error) {
        if (!(error instanceof DelimiterInPayloadError)) throw error;
      }
    }
    const stream = concatBytes(pieces);
    const chunks = splitChunks(stream, prng);
    const frames = decodeFrames(new DelimiterCodec(options), chunks);
    const expected = options.keepDelimiter
      ? reference(options, stream)
      : payloads;
    assertEquals(
      frames,
      expected,
      `seed ${SEED}, round ${round}, ${JSON.stringify(options)}`,
    );
  }
});

Deno.test("random streams decode the same in one chunk, in random chunks and in the reference", () => {
  const prng = new Prng(SEED ^ 0x5eed);
  for (let round = 0; round < 600; round++) {
    const options: DelimiterOptions = {
      ...prng.pick(CONFIGS),
      finalFrame: "emit",
    };
    const stream = randomText(prng, 80);
    const expected = reference(options, stream);
    const whole = decodeFrames(new DelimiterCodec(options), [stream]);
    const split = decodeFrames(
      new DelimiterCodec(options),
      splitChunks(stream, prng),
    );
    const why = `seed ${SEED}, round ${round}, ${JSON.stringify(options)}`;
    assertEquals(whole, expected, why);
    assertEquals(split, expected, why);
  }
});

Deno.test("random garbage gives frames or typed errors, and memory stays bounded", () => {
  const prng = new Prng(SEED ^ 0x9a7b);
  const max = 64;
  let frames = 0;
  let errors = 0;
  for (let round = 0; round < 3000; round++) {
    const options: DelimiterOptions = {
      ...prng.pick(CONFIGS),
      maxFrameSize: max,
      onOversize: prng.pick(["error", "skip"] as const),
    };
    const decoder = new DelimiterCodec(options);
    const garbage = prng.next() < 0.5
      ? prng.bytes(prng.int(0, 400))
      : randomText(prng, 400);
    try {
      for (const chunk of splitChunks(garbage, prng)) {
        decoder.push(chunk, (frame) => {
          frames++;
          if (frame.length > max + 4) fail(`frame of ${frame.length} bytes`);
        });
        if (decoder.bufferedBytes > max + 3) {
          fail(`seed ${SEED}: ${decoder.bufferedBytes} bytes held`);
        }
      }
      decoder.end(() => frames++);
    } catch (error) {
      if (
        !(error instanceof FrameTooLargeError ||
          error instanceof TruncatedFrameError)
      ) {
        throw error;
      }
      errors++;
    }
  }
  assert(frames > 1000 && errors > 100, `frames ${frames}, errors ${errors}`);
});

Deno.test("skip mode gives the reference frames minus the oversized ones", () => {
  const prng = new Prng(SEED ^ 0x51c1);
  for (let round = 0; round < 400; round++) {
    const options: DelimiterOptions = {
      ...prng.pick(CONFIGS.filter((c) => !c.keepDelimiter)),
      finalFrame: "emit",
      maxFrameSize: 6,
      onOversize: "skip",
    };
    const stream = randomText(prng, 120);
    const all = reference(options, stream);
    const expected = all.filter((frame) => frame.length <= 6);
    const decoder = new DelimiterCodec(options);
    const frames = decodeFrames(decoder, splitChunks(stream, prng));
    const why = `seed ${SEED}, round ${round}, ${JSON.stringify(options)}`;
    assertEquals(frames, expected, why);
    assertEquals(decoder.skippedFrames, all.length - expected.length, why);
  }
});

// ---------------------------------------------------------------------------
// Interop: python3 as the peer

Deno.test("Python's \\n- and \\0-terminated messages decode, and Python splits ours", async () => {
  const script = `
import sys
data = sys.stdin.buffer.read()
ours_lines, ours_nul = data.split(b"\\x01")
# Check what we sent, then answer with Python-made messages.
assert ours_lines.split(b"\\n")[:-1] == [b"hello", b"", b"caf\\xc3\\xa9"], ours_lines
assert ours_nul.split(b"\\0")[:-1] == [b"x", b"y z"], ours_nul
out = b"".join(m + b"\\n" for m in [b"one", b"two", b""]) + b"\\x01"
out += b"".join(m + b"\\0" for m in [b"a", b"bc"])
sys.stdout.buffer.write(out)
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(concatBytes([
    lines().encodeAll([b("hello"), b(""), b("café")]),
    new Uint8Array([1]),
    delimited("\0").encodeAll([b("x"), b("y z")]),
  ]));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assertEquals(code, 0, s(stderr));
  const split = stdout.indexOf(1);
  assertEquals(
    decodeAll({ lines: true }, [stdout.subarray(0, split)]),
    ["one", "two", ""],
  );
  assertEquals(
    decodeAll({ delimiter: "\0" }, [stdout.subarray(split + 1)]),
    ["a", "bc"],
  );
});

Deno.test("large chunks (the SIMD scanning path) decode like the reference", () => {
  const prng = new Prng(SEED ^ 0x1a26e);
  for (let round = 0; round < 40; round++) {
    const options: DelimiterOptions = {
      ...prng.pick(CONFIGS),
      finalFrame: "emit",
    };
    // Mostly long runs of filler with the alphabet sprinkled in, so frames
    // range from empty to tens of kilobytes.
    const size = prng.int(1000, 300_000);
    const stream = new Uint8Array(size);
    const sparse = prng.pick([0.0005, 0.01, 0.2]);
    for (let i = 0; i < size; i++) {
      stream[i] = prng.next() < sparse ? prng.pick([...ALPHABET]) : 0x71;
    }
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < size;) {
      const n = prng.int(512, 100_000);
      chunks.push(stream.subarray(at, at + n));
      at += n;
    }
    assertEquals(
      decodeFrames(new DelimiterCodec(options), chunks),
      reference(options, stream),
      `seed ${SEED}, round ${round}, ${JSON.stringify(options)}`,
    );
  }
});

Deno.test("pushRanges() hands out the same frames as ranges, without views", () => {
  const chunk = b("ab\r\ncd\nlong".repeat(100));
  const viaViews = new DelimiterCodec({ lines: true }).decode(chunk);
  const viaRanges: Uint8Array[] = [];
  new DelimiterCodec({ lines: true }).pushRanges(
    chunk,
    (bytes, start, end) => {
      viaRanges.push(bytes.slice(start, end));
    },
  );
  assertEquals(viaRanges, viaViews);
  assertEquals(viaViews.length, 200); // "long" runs into the next "ab"
});

Deno.test("pushing to a decoder from inside its own callback is a TypeError", () => {
  const decoder = new DelimiterCodec({ lines: true });
  assertThrows(
    () => decoder.push(b("a\n"), () => decoder.push(b("b\n"), () => {})),
    TypeError,
    "inside its own frame callback",
  );
});

Deno.test("pushRanges() over random splits matches push(), reused memory included", () => {
  const prng = new Prng(SEED ^ 0x7a11);
  for (let round = 0; round < 300; round++) {
    const options: DelimiterOptions = {
      ...prng.pick(CONFIGS),
      finalFrame: "emit",
    };
    const stream = randomText(prng, 120);
    const chunks = splitChunks(stream, prng);
    const expected = decodeFrames(new DelimiterCodec(options), chunks);
    const decoder = new DelimiterCodec(options);
    const got: Uint8Array[] = [];
    for (const chunk of chunks) {
      decoder.pushRanges(chunk, (bytes, start, end) => {
        got.push(bytes.slice(start, end));
      });
    }
    decoder.end((frame) => got.push(frame.slice()));
    assertEquals(got, expected, `seed ${SEED}, round ${round}`);
  }
});
