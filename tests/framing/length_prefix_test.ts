/**
 * Tests of `framing/length_prefix.ts`: exact bytes of every header kind, the
 * tokio/Netty layout options, every error with its facts, memory and view
 * rules, seeded property tests (random payloads, random chunkings), random
 * garbage into every decoder, the stream wrappers, and python3 as a peer.
 *
 * The property and garbage tests print their seed on failure; replay with
 * `SOCKIT_FRAMING_SEED=<seed>` (and `--allow-env`).
 *
 * @module
 */
import {
  type FrameCodec,
  FrameDecoderStream,
  FrameEncoderStream,
  FrameTooLargeError,
  type LengthHeader,
  LengthPrefixCodec,
  lengthPrefixed,
  type LengthPrefixOptions,
  MalformedFrameError,
  netstrings,
  TruncatedFrameError,
} from "../../framing/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  fail,
  fromHex,
  Prng,
  testSeed,
  toHex,
} from "../_utils.ts";

// ---------------------------------------------------------------------------
// Helpers

const ALL_HEADERS: readonly LengthHeader[] = [
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
  "ascii-fixed",
];

/**
 * Largest random payload for each header: what it can describe, less a few
 * bytes of room for a length that includes the header.
 */
const HEADER_LIMIT: Readonly<Record<LengthHeader, number>> = {
  u8: 250,
  u16be: 65_000,
  u16le: 65_000,
  u32be: Infinity,
  u32le: Infinity,
  u64be: Infinity,
  u64le: Infinity,
  varint: Infinity,
  ascii: Infinity,
  netstring: Infinity,
  "ascii-fixed": Infinity,
};

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Every codec's default `maxFrameSize`: 8 MiB. */
const DEFAULT_MAX_FRAME_SIZE = 8 * 1024 * 1024;

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
const ascii = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const HELLO_WORLD = "48454c4c4f2c20574f524c44"; // "HELLO, WORLD", 12 bytes

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Decodes `chunks` with a fresh decoder and returns the frames as hex. */
function decodeHex(
  options: LengthPrefixOptions,
  chunks: readonly Uint8Array[],
): string[] {
  return decodeFrames(new LengthPrefixCodec(options), chunks).map(toHex);
}

/** Pushes `chunks`, collecting frames, and returns the error thrown. */
function decodeError(
  options: LengthPrefixOptions,
  chunks: readonly Uint8Array[],
): { error: unknown; frames: string[]; decoder: LengthPrefixCodec } {
  const decoder = new LengthPrefixCodec(options);
  const frames: string[] = [];
  try {
    for (const chunk of chunks) {
      decoder.push(chunk, (frame) => frames.push(toHex(frame)));
    }
    decoder.end();
  } catch (error) {
    return { error, frames, decoder };
  }
  return fail(`Expected an error, got frames ${JSON.stringify(frames)}`);
}

/** Decodes `chunks` with pushRanges(), copying each range out as hex. */
function decodeRanges(
  options: LengthPrefixOptions,
  chunks: readonly Uint8Array[],
): string[] {
  const decoder = new LengthPrefixCodec(options);
  const frames: string[] = [];
  const onRange = (bytes: Uint8Array, start: number, end: number) => {
    frames.push(toHex(bytes.subarray(start, end)));
  };
  for (const chunk of chunks) decoder.pushRanges(chunk, onRange);
  decoder.end();
  return frames;
}

/** Splits `bytes` into 1-byte chunks. */
function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

// ---------------------------------------------------------------------------
// Seeded PRNG

const SEED: number = testSeed("SOCKIT_FRAMING_SEED");

/** Runs `body` with a PRNG seeded from SEED and `salt`; names the seed on failure. */
function seeded(salt: string, body: (rng: Prng) => void): void {
  let mixed = SEED;
  for (let i = 0; i < salt.length; i++) {
    mixed = Math.imul(mixed ^ salt.charCodeAt(i), 0x9e3779b1) >>> 0;
  }
  try {
    body(new Prng(mixed));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n(seed ${SEED}: replay with SOCKIT_FRAMING_SEED=${SEED} and --allow-env)`,
      { cause: error },
    );
  }
}

// ---------------------------------------------------------------------------
// Exact bytes

Deno.test("encode() and decode() agree with the exact bytes of each header kind", () => {
  const big = new Uint8Array(300).fill(0x61);
  const cases: {
    header: LengthHeader;
    payload: Uint8Array;
    wire: string;
  }[] = [
    // a one-byte length
    { header: "u8", payload: text("hello"), wire: "05" + toHex(text("hello")) },
    // u8 at its largest
    {
      header: "u8",
      payload: new Uint8Array(255),
      wire: "ff" + "00".repeat(255),
    },
    // network byte order, the classic struct.pack("!H")
    { header: "u16be", payload: text("hello"), wire: "000568656c6c6f" },
    // little endian puts the low byte first
    { header: "u16le", payload: text("hello"), wire: "050068656c6c6f" },
    // a length over 255 uses both bytes
    { header: "u16be", payload: big, wire: "012c" + toHex(big) },
    // the same, low byte first
    { header: "u16le", payload: big, wire: "2c01" + toHex(big) },
    // the default header
    { header: "u32be", payload: text("hello"), wire: "0000000568656c6c6f" },
    // 32-bit little endian: 300 then three zero bytes
    { header: "u32le", payload: big, wire: "2c010000" + toHex(big) },
    // 64-bit lengths, both byte orders
    { header: "u64be", payload: big, wire: "000000000000012c" + toHex(big) },
    { header: "u64le", payload: big, wire: "2c01000000000000" + toHex(big) },
    // a one-byte varint
    { header: "varint", payload: text("hello"), wire: "0568656c6c6f" },
    // 300 = 0b10_0101100: low 7 bits with the continuation bit, then 2
    { header: "varint", payload: big, wire: "ac02" + toHex(big) },
    // 127 is the largest one-byte varint
    {
      header: "varint",
      payload: new Uint8Array(127),
      wire: "7f" + "00".repeat(127),
    },
    // 128 is the smallest two-byte varint
    {
      header: "varint",
      payload: new Uint8Array(128),
      wire: "8001" + "00".repeat(128),
    },
    // decimal digits and a colon
    { header: "ascii", payload: text("hello"), wire: toHex(text("5:hello")) },
    // D. J. Bernstein's example
    {
      header: "netstring",
      payload: text("hello world!"),
      wire: toHex(text("12:hello world!,")),
    },
    // the empty netstring
    {
      header: "netstring",
      payload: new Uint8Array(),
      wire: toHex(text("0:,")),
    },
  ];
  for (const { header, payload, wire } of cases) {
    const label = `${header} of ${payload.length} bytes`;
    assertEquals(
      toHex(new LengthPrefixCodec({ header }).encode(payload)),
      wire,
      label,
    );
    assertEquals(
      decodeHex({ header }, [fromHex(wire)]),
      [toHex(payload)],
      label,
    );
  }
});

Deno.test("an empty payload survives encode and decode in every header kind", () => {
  for (const header of ALL_HEADERS) {
    const encoder = new LengthPrefixCodec({ header });
    const bytes = encoder.encodeAll([
      new Uint8Array(),
      text("x"),
      new Uint8Array(),
    ]);
    assertEquals(decodeHex({ header }, [bytes]), ["", "78", ""], header);
    assertEquals(
      decodeHex({ header }, bytewise(bytes)),
      ["", "78", ""],
      header,
    );
  }
});

Deno.test("encodeAll() writes the same bytes as encode() frame by frame", () => {
  const payloads = [text("a"), new Uint8Array(), new Uint8Array(200)];
  for (const header of ALL_HEADERS) {
    const encoder = new LengthPrefixCodec({ header });
    assertEquals(
      toHex(encoder.encodeAll(payloads)),
      toHex(concat(payloads.map((p) => encoder.encode(p)))),
      header,
    );
  }
  assertEquals(new LengthPrefixCodec().encodeAll([]), new Uint8Array());
});

// ---------------------------------------------------------------------------
// The fixed-width ASCII length of Python socket tutorials

Deno.test("ascii-fixed writes the bytes of Python's f-strings, and reads every alignment", () => {
  const aligns = ["left", "right", "zeros"] as const;
  // Each row: asciiAlign, asciiWidth, the length, the field Python writes.
  const rows: [(typeof aligns)[number], number, number, string][] = [
    ["left", 10, 5, "5         "], // f"{5:<10}", the tutorials' HEADERSIZE
    ["right", 10, 5, "         5"], // f"{5:>10}"
    ["zeros", 10, 5, "0000000005"], // f"{5:010}"
    ["left", 10, 0, "0         "], // the empty payload
    ["right", 3, 999, "999"], // the largest length that fits: no padding
    ["zeros", 1, 7, "7"], // a one-byte field
  ];
  for (const [asciiAlign, asciiWidth, length, field] of rows) {
    const label = `${asciiAlign} ${asciiWidth} ${length}`;
    const payload = new Uint8Array(length).fill(0x61);
    const frame = lengthPrefixed({
      header: "ascii-fixed",
      asciiWidth,
      asciiAlign,
    })
      .encode(payload);
    assertEquals(ascii(frame.subarray(0, asciiWidth)), field, label);
    assertEquals(frame.length, asciiWidth + length, label);
    for (const other of aligns) {
      const options: LengthPrefixOptions = {
        header: "ascii-fixed",
        asciiWidth,
        asciiAlign: other,
      };
      assertEquals(decodeHex(options, [frame]), [toHex(payload)], label);
      assertEquals(
        decodeHex(options, bytewise(frame)),
        [toHex(payload)],
        label,
      );
    }
  }
  assertEquals(lengthPrefixed({ header: "ascii-fixed" }).name, "ascii-fixed");
});

Deno.test("ascii-fixed rejects a field that Python's int() would, at the offending byte", () => {
  // A good 5-byte frame first ("1   " and "a"), so the bad field starts at 5.
  // Each row: the bad 4-byte field, words of the reason, its offset.
  const rows: [string, string, number][] = [
    ["  x ", "expected a digit or ' ' in the 4-byte length field, got 0x78", 7], // a letter
    ["    ", "empty length: the 4-byte length field holds only spaces", 5], // no digits
    ["1 2 ", "expected ' ' to the end of the 4-byte length field, got 0x32", 7], // a space inside the number
    ["-1  ", "got 0x2d", 5], // a sign: a length is never negative
    ["12a ", "expected a digit or ' ' to the end", 7], // a letter after the digits
    ["\t1  ", "got 0x09", 5], // only spaces pad the field
  ];
  const options: LengthPrefixOptions = { header: "ascii-fixed", asciiWidth: 4 };
  for (const [field, reason, offset] of rows) {
    const bytes = text(`1   a${field}xyz`);
    for (const chunks of [[bytes], bytewise(bytes)]) {
      const { error, frames } = decodeError(options, chunks);
      assertInstanceOf(error, MalformedFrameError);
      assertStringIncludes(error.reason, reason, JSON.stringify(field));
      assertEquals(
        [error.offset, frames],
        [offset, ["61"]],
        JSON.stringify(field),
      );
    }
  }
});

Deno.test("ascii-fixed: the encoder refuses a length wider than the field, the decoder one over maxFrameSize", () => {
  const narrow = lengthPrefixed({ header: "ascii-fixed", asciiWidth: 2 });
  const error = assertThrows(
    () => narrow.encode(new Uint8Array(100)),
    FrameTooLargeError,
    'does not fit the "ascii-fixed" header (at most 99)',
  );
  assertEquals([error.limit, error.size], [99, 100]);
  const small = lengthPrefixed({ header: "ascii-fixed", maxFrameSize: 10 });
  const tooLarge = assertThrows(
    () => small.decode(text("11        ")),
    FrameTooLargeError,
  );
  assertEquals([tooLarge.size, tooLarge.offset, tooLarge.announced], [
    11,
    0,
    true,
  ]);
});

// ---------------------------------------------------------------------------
// Options: the layouts of Netty's LengthFieldBasedFrameDecoder docs

Deno.test("the layout options decode and encode Netty-style frames", () => {
  const rows: {
    name: string;
    options: LengthPrefixOptions;
    wire: string;
    frame: string;
    /** What the encoder takes (default: `frame`). */
    payload?: string;
    prefix?: string;
  }[] = [
    // 2-byte length, header stripped (the default)
    {
      name: "default strip",
      options: { header: "u16be" },
      wire: "000c" + HELLO_WORLD,
      frame: HELLO_WORLD,
    },
    // 2-byte length, stripBytes 0 keeps the header
    {
      name: "strip 0 keeps the header",
      options: { header: "u16be", stripBytes: 0 },
      wire: "000c" + HELLO_WORLD,
      frame: "000c" + HELLO_WORLD,
      payload: HELLO_WORLD,
    },
    // the length counts the whole frame: 14 = 2 + 12
    {
      name: "length includes the header",
      options: { header: "u16be", lengthIncludesHeader: true },
      wire: "000e" + HELLO_WORLD,
      frame: HELLO_WORLD,
    },
    // the same with Netty's lengthAdjustment -2
    {
      name: "adjustment -2 is the same as includes-header",
      options: { header: "u16be", lengthAdjustment: -2 },
      wire: "000e" + HELLO_WORLD,
      frame: HELLO_WORLD,
    },
    // a 2-byte type before a 4-byte length, all kept
    {
      name: "offset 2, strip 0",
      options: { header: "u32be", lengthFieldOffset: 2, stripBytes: 0 },
      wire: "cafe0000000c" + HELLO_WORLD,
      frame: "cafe0000000c" + HELLO_WORLD,
      payload: HELLO_WORLD,
      prefix: "cafe",
    },
    // the same with the default strip: type and length both dropped
    {
      name: "offset 2, default strip",
      options: { header: "u32be", lengthFieldOffset: 2 },
      wire: "cafe0000000c" + HELLO_WORLD,
      frame: HELLO_WORLD,
      prefix: "cafe",
    },
    // a 2-byte field after the length, counted by the adjustment
    {
      name: "adjustment +2 for a field after the length",
      options: { header: "u16be", lengthAdjustment: 2, stripBytes: 0 },
      wire: "000ccafe" + HELLO_WORLD,
      frame: "000ccafe" + HELLO_WORLD,
      payload: "cafe" + HELLO_WORLD,
    },
    // HDR1, length, HDR2: strip 3 keeps HDR2
    {
      name: "offset 1, adjustment 1, strip 3",
      options: {
        header: "u16be",
        lengthFieldOffset: 1,
        lengthAdjustment: 1,
        stripBytes: 3,
      },
      wire: "ca000cfe" + HELLO_WORLD,
      frame: "fe" + HELLO_WORLD,
      prefix: "ca",
    },
    // the same frame with a length of the whole frame (16) and adjustment -3
    {
      name: "offset 1, adjustment -3, strip 3",
      options: {
        header: "u16be",
        lengthFieldOffset: 1,
        lengthAdjustment: -3,
        stripBytes: 3,
      },
      wire: "ca0010fe" + HELLO_WORLD,
      frame: "fe" + HELLO_WORLD,
      prefix: "ca",
    },
    // and with lengthIncludesHeader instead of the -3
    {
      name: "offset 1, includes header, strip 3",
      options: {
        header: "u16be",
        lengthFieldOffset: 1,
        lengthIncludesHeader: true,
        stripBytes: 3,
      },
      wire: "ca0010fe" + HELLO_WORLD,
      frame: "fe" + HELLO_WORLD,
      prefix: "ca",
    },
    // strip past the header, into the payload: HDR2 dropped too
    {
      name: "strip 4 reaches into the payload",
      options: {
        header: "u16be",
        lengthFieldOffset: 1,
        lengthAdjustment: 1,
        stripBytes: 4,
      },
      wire: "ca000cfe" + HELLO_WORLD,
      frame: HELLO_WORLD,
      payload: "fe" + HELLO_WORLD,
      prefix: "ca",
    },
    // little-endian length after an offset
    {
      name: "u32le after a type byte",
      options: { header: "u32le", lengthFieldOffset: 1 },
      wire: "070c000000" + HELLO_WORLD,
      frame: HELLO_WORLD,
      prefix: "07",
    },
    // a varint kept in the frame
    {
      name: "varint, strip 0",
      options: { header: "varint", stripBytes: 0 },
      wire: "0c" + HELLO_WORLD,
      frame: "0c" + HELLO_WORLD,
      payload: HELLO_WORLD,
    },
    // a varint that counts itself: 13 = 1 + 12
    {
      name: "varint includes header",
      options: { header: "varint", lengthIncludesHeader: true },
      wire: "0d" + HELLO_WORLD,
      frame: HELLO_WORLD,
    },
    // a netstring kept whole, trailer included
    {
      name: "netstring, strip 0",
      options: { header: "netstring", stripBytes: 0 },
      wire: toHex(text("12:HELLO, WORLD,")),
      frame: toHex(text("12:HELLO, WORLD,")),
      payload: HELLO_WORLD,
    },
    // a type byte before a netstring
    {
      name: "netstring after an offset",
      options: { header: "netstring", lengthFieldOffset: 1 },
      wire: "01" + toHex(text("12:HELLO, WORLD,")),
      frame: HELLO_WORLD,
      prefix: "01",
    },
    // an ASCII length ended by CRLF
    {
      name: "ascii with a two-byte separator",
      options: { header: "ascii", asciiSeparator: "\r\n" },
      wire: toHex(text("12\r\nHELLO, WORLD")),
      frame: HELLO_WORLD,
    },
    // an ASCII length that counts itself: "15:" + 12 bytes
    {
      name: "ascii includes header",
      options: { header: "ascii", lengthIncludesHeader: true },
      wire: toHex(text("15:HELLO, WORLD")),
      frame: HELLO_WORLD,
    },
    // counting itself pushes the length over a digit boundary: 8 + "11:" = 11
    {
      name: "ascii includes header across a digit boundary",
      options: { header: "ascii", lengthIncludesHeader: true },
      wire: toHex(text("11:abcdefgh")),
      frame: toHex(text("abcdefgh")),
    },
  ];
  for (const row of rows) {
    const wire = fromHex(row.wire);
    assertEquals(decodeHex(row.options, [wire]), [row.frame], row.name);
    assertEquals(decodeHex(row.options, bytewise(wire)), [row.frame], row.name);
    const encoder = new LengthPrefixCodec(row.options);
    const payload = fromHex(row.payload ?? row.frame);
    const encoded = row.prefix === undefined
      ? encoder.encode(payload)
      : encoder.encode(payload, fromHex(row.prefix));
    assertEquals(toHex(encoded), row.wire, row.name);
  }
});

Deno.test("encode() writes zeros for an omitted prefix and rejects a wrong-sized one", () => {
  const encoder = new LengthPrefixCodec({
    header: "u8",
    lengthFieldOffset: 2,
  });
  assertEquals(toHex(encoder.encode(text("a"))), "00000161");
  assertEquals(toHex(encoder.encode(text("a"), fromHex("abcd"))), "abcd0161");
  const error = assertThrows(
    () => encoder.encode(text("a"), fromHex("ab")),
    RangeError,
  );
  assertStringIncludes(error.message, "lengthFieldOffset is 2");
  assertThrows(
    () => new LengthPrefixCodec().encode(text("a"), fromHex("00")),
    RangeError,
  );
});

Deno.test("the constructors reject options out of range", () => {
  const cases: { options: LengthPrefixOptions; includes: string }[] = [
    // not a header kind
    { options: { header: "u24" as LengthHeader }, includes: "header" },
    // a negative offset
    { options: { lengthFieldOffset: -1 }, includes: "lengthFieldOffset" },
    // a fractional offset
    { options: { lengthFieldOffset: 1.5 }, includes: "lengthFieldOffset" },
    // a fractional adjustment
    { options: { lengthAdjustment: 0.5 }, includes: "lengthAdjustment" },
    // a negative limit
    { options: { maxFrameSize: -1 }, includes: "maxFrameSize" },
    // not a number at all
    { options: { maxFrameSize: NaN }, includes: "maxFrameSize" },
    // a negative strip
    { options: { stripBytes: -1 }, includes: "stripBytes" },
    // a partial strip of a variable-size header makes no sense
    { options: { header: "varint", stripBytes: 1 }, includes: "stripBytes" },
    { options: { header: "netstring", stripBytes: 2 }, includes: "stripBytes" },
    // a separator for a binary header
    {
      options: { header: "u8", asciiSeparator: ":" },
      includes: "asciiSeparator",
    },
    // an empty separator
    {
      options: { header: "ascii", asciiSeparator: "" },
      includes: "asciiSeparator",
    },
    // a separator with a digit would be read as the length
    {
      options: { header: "ascii", asciiSeparator: "1" },
      includes: "asciiSeparator",
    },
    // a width for another header
    { options: { header: "ascii", asciiWidth: 10 }, includes: "asciiWidth" },
    // an alignment for another header
    {
      options: { header: "u32be", asciiAlign: "right" },
      includes: "asciiAlign",
    },
    // a field of no bytes
    {
      options: { header: "ascii-fixed", asciiWidth: 0 },
      includes: "asciiWidth 0: it must be a positive integer",
    },
    // wider than any length needs
    {
      options: { header: "ascii-fixed", asciiWidth: 65 },
      includes: "asciiWidth",
    },
    // not an alignment
    {
      options: {
        header: "ascii-fixed",
        asciiAlign: "center" as "left",
      },
      includes: "asciiAlign",
    },
  ];
  for (const { options, includes } of cases) {
    for (
      const make of [
        () => new LengthPrefixCodec(options),
        () => lengthPrefixed(options),
      ]
    ) {
      const error = assertThrows(
        make,
        RangeError,
        undefined,
        JSON.stringify(options),
      );
      assertStringIncludes(error.message, includes);
    }
  }
});

Deno.test("lengthPrefixed() and netstrings() make codecs with a name and a limit", () => {
  const codec = lengthPrefixed({ header: "varint", maxFrameSize: 100 });
  assertEquals([codec.name, codec.maxFrameSize], ["varint", 100]);
  assertEquals(lengthPrefixed().name, "u32be");
  assertEquals(lengthPrefixed().maxFrameSize, DEFAULT_MAX_FRAME_SIZE);
  const bytes = codec.encodeAll([text("a"), text("bc")]);
  assertEquals(decodeFrames(codec.clone(), [bytes]).map(ascii), [
    "a",
    "bc",
  ]);
  // a clone has the same options and its own decoding state
  codec.push(fromHex("0361"), () => {}); // 1 of 3 payload bytes
  assertEquals(codec.bufferedBytes, 1);
  const next = codec.clone();
  assertEquals([next.name, next.maxFrameSize, next.bufferedBytes], [
    "varint",
    100,
    0,
  ]);

  const ns = netstrings({ maxFrameSize: 10 });
  assertEquals([ns.name, ns.maxFrameSize], ["netstring", 10]);
  assertEquals(ascii(ns.encode(text("hi"))), "2:hi,");
  assertThrows(
    () => ns.encode(new Uint8Array(11)),
    FrameTooLargeError,
  );
});

// ---------------------------------------------------------------------------
// Errors

Deno.test("a header over maxFrameSize raises FrameTooLargeError before any payload", () => {
  const cases: {
    name: string;
    options: LengthPrefixOptions;
    /** A good frame first, so offsets are not zero. */
    lead: string;
    /** The bad frame's bytes up to (and including) the decisive byte. */
    bad: string;
    size: number;
  }[] = [
    // one over the limit
    {
      name: "u16be 5 > 4",
      options: { header: "u16be", maxFrameSize: 4 },
      lead: "000161",
      bad: "0005",
      size: 5,
    },
    // the largest u32 against the default limit
    {
      name: "u32be 2**32-1",
      options: { header: "u32be" },
      lead: "0000000161",
      bad: "ffffffff",
      size: 0xffff_ffff,
    },
    // the adjustment is applied before the check
    {
      name: "u8 4 + adjustment 1 > 4",
      options: { header: "u8", maxFrameSize: 4, lengthAdjustment: 1 },
      lead: "0061",
      bad: "04",
      size: 5,
    },
    // a 64-bit length past Number.MAX_SAFE_INTEGER
    {
      name: "u64le with the top bit set",
      options: { header: "u64le" },
      lead: "010000000000000061",
      bad: "0000000000000080",
      size: 2 ** 63,
    },
    // a varint of 128 against a limit of 100
    {
      name: "varint 128",
      options: { header: "varint", maxFrameSize: 100 },
      lead: "0161",
      bad: "8001",
      size: 128,
    },
    // a nine-byte varint of 2**63-1 (past MAX_SAFE_INTEGER)
    {
      name: "varint 2**63-1",
      options: { header: "varint" },
      lead: "0161",
      bad: "ffffffffffffffff7f",
      size: 2 ** 63,
    },
    // digits over the limit, no separator needed: "101" > 100
    {
      name: "ascii 101 before its separator",
      options: { header: "ascii", maxFrameSize: 100 },
      lead: toHex(text("1:a")),
      bad: toHex(text("101")),
      size: 101,
    },
    // netstrings too, on the third digit of many
    {
      name: "netstring 999 before its colon",
      options: { header: "netstring", maxFrameSize: 100 },
      lead: toHex(text("1:a,")),
      bad: toHex(text("999")),
      size: 999,
    },
  ];
  for (const { name, options, lead, bad, size } of cases) {
    const leadBytes = fromHex(lead);
    const badBytes = fromHex(bad);
    for (
      const chunks of [
        [concat([leadBytes, badBytes])],
        bytewise(concat([leadBytes, badBytes])),
      ]
    ) {
      const { error, frames, decoder } = decodeError(options, chunks);
      assertInstanceOf(error, FrameTooLargeError, name);
      assertEquals(
        error.limit,
        options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
        name,
      );
      assertEquals(error.size, size, name);
      assertEquals(error.announced, true, name);
      assertEquals(error.offset, leadBytes.length, name);
      assertEquals(frames, ["61"], name);
      assertEquals(decoder.bufferedBytes, 0, name);
      assertEquals(error.name, "FrameTooLargeError");
    }
  }
});

Deno.test("an ASCII length fails as soon as its digits pass maxFrameSize", () => {
  const decoder = new LengthPrefixCodec({
    header: "netstring",
    maxFrameSize: 1000,
  });
  decoder.push(text("10"), () => {});
  decoder.push(text("0"), () => {});
  // "1000" is still allowed, "10000" is not, whatever follows
  decoder.push(text("0"), () => {});
  const error = assertThrows(
    () => decoder.push(text("0"), () => {}),
    FrameTooLargeError,
  );
  assertEquals([error.size, error.limit, error.offset], [10000, 1000, 0]);
});

Deno.test("binary and varint headers are too large once the field is complete; an unfinished header ends truncated", () => {
  // Each row: options, the header bytes but the last, and its last byte:
  // nothing is raised until the field is complete, however large its
  // first bytes already make it.
  const rows: Array<[LengthPrefixOptions, number[], number]> = [
    [{ header: "u32be" }, [0xff, 0xff, 0xff], 0xff], // big-endian: high bytes first
    [{ header: "u64le" }, [0, 0, 0, 0, 0, 0, 0x10], 0], // little-endian
    [{ header: "u16be", lengthFieldOffset: 2 }, [7, 7, 0xff], 0xff], // after a prefix
    [{ header: "varint" }, [0xff, 0xff, 0xff], 0x01], // continuation bits set
  ];
  for (const [options, head, last] of rows) {
    const codec = new LengthPrefixCodec({ ...options, maxFrameSize: 100 });
    assertEquals(codec.decode(new Uint8Array(head)), []);
    assertEquals(codec.bufferedBytes <= head.length, true);
    const error = assertThrows(
      () => codec.decode(new Uint8Array([last])),
      FrameTooLargeError,
    );
    assertEquals([error.limit, error.announced, error.offset], [100, true, 0]);
    // The same header cut short is truncated at end(), not too large.
    const cut = new LengthPrefixCodec({ ...options, maxFrameSize: 100 });
    cut.decode(new Uint8Array(head));
    assertThrows(
      () => cut.end(),
      TruncatedFrameError,
      "inside its length header",
    );
  }
  // ASCII digits are too large as soon as they pass the limit (no separator
  // yet); digits within it and no separator are truncated at end().
  const ascii = lengthPrefixed({ header: "ascii", maxFrameSize: 99 });
  assertThrows(() => ascii.decode(text("100")), FrameTooLargeError);
  const digits = lengthPrefixed({ header: "ascii", maxFrameSize: 99 });
  assertEquals(digits.decode(text("99")), []);
  assertThrows(
    () => digits.end(),
    TruncatedFrameError,
    "inside its length header",
  );
  // The encoder refuses a payload too short for stripBytes (RangeError),
  // and the decoder calls such a frame malformed.
  const strip = lengthPrefixed({ header: "u16be", stripBytes: 4 });
  assertThrows(
    () => strip.encode(new Uint8Array(1)),
    RangeError,
    "Cannot encode a 1-byte payload: stripBytes 4 reaches 2 bytes past the header",
  );
  assertThrows(
    () => strip.decode(new Uint8Array([0, 1, 9])),
    MalformedFrameError,
    "shorter than stripBytes 4",
  );
});

Deno.test("a frame exactly at maxFrameSize is accepted", () => {
  for (const header of ALL_HEADERS) {
    const options = { header, maxFrameSize: 200 };
    const payload = new Uint8Array(200).fill(7);
    const bytes = new LengthPrefixCodec(options).encode(payload);
    assertEquals(decodeHex(options, [bytes]), [toHex(payload)], header);
  }
});

Deno.test("a malformed header raises MalformedFrameError with the offset and a reason", () => {
  const cases: {
    name: string;
    options: LengthPrefixOptions;
    lead: string;
    bad: string;
    /** Offset within `bad` of the offending byte. */
    at: number;
    reason: string;
  }[] = [
    // a letter among the digits
    {
      name: "non-digit",
      options: { header: "ascii" },
      lead: toHex(text("1:a")),
      bad: toHex(text("5x")),
      at: 1,
      reason: "expected a digit or ':', got 0x78",
    },
    // a letter where the first digit should be
    {
      name: "no digit at all",
      options: { header: "netstring" },
      lead: toHex(text("1:a,")),
      bad: toHex(text("x")),
      at: 0,
      reason: "expected a digit, got 0x78",
    },
    // the separator with no digits before it
    {
      name: "empty length",
      options: { header: "netstring" },
      lead: toHex(text("1:a,")),
      bad: toHex(text(":")),
      at: 0,
      reason: "empty length: expected a digit before ':', got 0x3a",
    },
    // netstrings forbid leading zeros; so do we, for ascii too
    {
      name: "leading zero",
      options: { header: "netstring" },
      lead: toHex(text("1:a,")),
      bad: toHex(text("05")),
      at: 0,
      reason: "length has a leading zero",
    },
    {
      name: "leading zero (ascii)",
      options: { header: "ascii" },
      lead: toHex(text("1:a")),
      bad: toHex(text("00")),
      at: 0,
      reason: "length has a leading zero",
    },
    // the payload is not followed by ','
    {
      name: "missing trailer",
      options: { header: "netstring" },
      lead: toHex(text("1:a,")),
      bad: toHex(text("5:hello!")),
      at: 7,
      reason: "expected ',' after the 5-byte payload, got 0x21",
    },
    // an empty netstring without its ','
    {
      name: "missing trailer of an empty netstring",
      options: { header: "netstring" },
      lead: toHex(text("1:a,")),
      bad: toHex(text("0:;")),
      at: 2,
      reason: "expected ',' after the 0-byte payload, got 0x3b",
    },
    // the second byte of a CRLF separator is wrong
    {
      name: "broken two-byte separator",
      options: { header: "ascii", asciiSeparator: "\r\n" },
      lead: toHex(text("1\r\na")),
      bad: toHex(text("5\rX")),
      at: 2,
      reason: 'expected 0x0a (byte 2 of the separator "\\r\\n"), got 0x58',
    },
    // ten continuation bytes: a varint that never ends
    {
      name: "varint too long",
      options: { header: "varint" },
      lead: "0161",
      bad: "80".repeat(10),
      at: 9,
      reason: "varint length does not end within 10 bytes",
    },
    // an adjustment that takes more than the length
    {
      name: "negative adjusted length",
      options: { header: "u8", lengthAdjustment: -3 },
      lead: "0461",
      bad: "02",
      at: 0,
      reason: "length 2 adjusted (lengthAdjustment -3) comes out negative: -1",
    },
    // a length that includes the header cannot be smaller than it
    {
      name: "length smaller than the header it includes",
      options: { header: "u16be", lengthIncludesHeader: true },
      lead: "000361",
      bad: "0001",
      at: 0,
      reason:
        "length 1 adjusted (minus the 2-byte header) comes out negative: -1",
    },
    // the same for a netstring after a type byte: offset is the length's
    {
      name: "negative ascii length after an offset",
      options: {
        header: "ascii",
        lengthFieldOffset: 1,
        lengthIncludesHeader: true,
      },
      lead: toHex(text("x4:a")),
      bad: toHex(text("x1:")),
      at: 1,
      reason:
        "length 1 adjusted (minus the 3-byte header) comes out negative: -2",
    },
    // a frame shorter than what is to be stripped from it
    {
      name: "frame shorter than stripBytes",
      options: { header: "u16be", lengthFieldOffset: 1, stripBytes: 4 },
      lead: "ca000161",
      bad: "ca0000",
      at: 1,
      reason: "frame of 3 bytes is shorter than stripBytes 4",
    },
  ];
  for (const { name, options, lead, bad, at, reason } of cases) {
    const leadBytes = fromHex(lead);
    const all = concat([leadBytes, fromHex(bad)]);
    for (const chunks of [[all], bytewise(all)]) {
      const { error, frames } = decodeError(options, chunks);
      assertInstanceOf(error, MalformedFrameError, name);
      assertStringIncludes(error.reason, reason, name);
      assertEquals(error.offset, leadBytes.length + at, name);
      assertEquals(error.name, "MalformedFrameError");
      assertEquals(frames.length, 1, name);
    }
  }
});

Deno.test("end() in mid-frame raises TruncatedFrameError with expected and received", () => {
  const cases: {
    name: string;
    options: LengthPrefixOptions;
    lead: string;
    cut: string;
    expected: number | undefined;
  }[] = [
    // the payload is short
    {
      name: "mid-payload",
      options: { header: "u16be" },
      lead: "000161",
      cut: "00056865",
      expected: 7,
    },
    // only the header arrived
    {
      name: "header only",
      options: { header: "u32le" },
      lead: "0100000061",
      cut: "05000000",
      expected: 9,
    },
    // half a header: the frame's size is not known
    {
      name: "mid-header",
      options: { header: "u32be" },
      lead: "0000000161",
      cut: "0000",
      expected: undefined,
    },
    // a varint with its continuation bit set, then nothing
    {
      name: "mid-varint",
      options: { header: "varint" },
      lead: "0161",
      cut: "80",
      expected: undefined,
    },
    // a type byte and nothing else
    {
      name: "inside the offset bytes",
      options: { header: "u8", lengthFieldOffset: 2 },
      lead: "000001" + "61",
      cut: "00",
      expected: undefined,
    },
    // digits without their separator
    {
      name: "ascii digits only",
      options: { header: "ascii" },
      lead: toHex(text("1:a")),
      cut: toHex(text("12")),
      expected: undefined,
    },
    // a netstring that lacks only its ','
    {
      name: "netstring without its trailer",
      options: { header: "netstring" },
      lead: toHex(text("1:a,")),
      cut: toHex(text("5:hello")),
      expected: 8,
    },
    // the header is kept (strip 0): received counts every byte
    {
      name: "strip 0, mid-payload",
      options: { header: "u8", stripBytes: 0 },
      lead: "0161",
      cut: "0361",
      expected: 4,
    },
  ];
  for (const { name, options, lead, cut, expected } of cases) {
    const leadBytes = fromHex(lead);
    const all = concat([leadBytes, fromHex(cut)]);
    for (const chunks of [[all], bytewise(all)]) {
      const { error, frames } = decodeError(options, chunks);
      assertInstanceOf(error, TruncatedFrameError, name);
      assertEquals(error.expected, expected, name);
      assertEquals(error.received, fromHex(cut).length, name);
      assertEquals(error.offset, leadBytes.length, name);
      assertEquals(frames.length, 1, name);
      if (expected === undefined) {
        assertStringIncludes(error.message, "inside its length header");
      }
    }
  }
});

Deno.test("end() after whole frames, or after nothing, is quiet", () => {
  for (const header of ALL_HEADERS) {
    const decoder = new LengthPrefixCodec({ header });
    decoder.end(() => fail("end() delivered a frame"));
    const bytes = new LengthPrefixCodec({ header }).encode(text("a"));
    const other = new LengthPrefixCodec({ header });
    assertEquals(other.decode(bytes).map(ascii), ["a"]);
    other.end();
    other.end();
    assertEquals(other.bytesRead, bytes.length);
  }
});

Deno.test("a failed decoder rethrows the same error on every later call", () => {
  const decoder = new LengthPrefixCodec({ header: "u8", maxFrameSize: 2 });
  const error = assertThrows(
    () => decoder.decode(fromHex("016103")),
    FrameTooLargeError,
  );
  assertStrictEquals(
    assertThrows(
      () => decoder.push(fromHex("00"), () => {}),
      FrameTooLargeError,
    ),
    error,
  );
  assertStrictEquals(assertThrows(() => decoder.decode(fromHex("00"))), error);
  assertStrictEquals(assertThrows(() => decoder.end()), error);
  assertEquals(decoder.bufferedBytes, 0);

  const truncated = new LengthPrefixCodec();
  truncated.decode(fromHex("000000"));
  const endError = assertThrows(() => truncated.end(), TruncatedFrameError);
  assertStrictEquals(
    assertThrows(() => truncated.decode(fromHex("00"))),
    endError,
  );
  assertStrictEquals(assertThrows(() => truncated.end()), endError);
});

Deno.test("push() after a clean end() is a TypeError", () => {
  const decoder = new LengthPrefixCodec();
  decoder.end();
  assertThrows(() => decoder.decode(fromHex("00")), TypeError, "after end()");
});

Deno.test("frames before a bad one in the same chunk are delivered first", () => {
  const decoder = new LengthPrefixCodec({ header: "netstring" });
  const frames: string[] = [];
  assertThrows(
    () => decoder.push(text("1:a,2:bc,x"), (f) => frames.push(ascii(f))),
    MalformedFrameError,
  );
  assertEquals(frames, ["a", "bc"]);
});

Deno.test("an error thrown by the sink fails the decoder with that error", () => {
  const decoder = new LengthPrefixCodec({ header: "u8" });
  const oops = new Error("sink failed");
  const error = assertThrows(() =>
    decoder.push(fromHex("0161"), () => {
      throw oops;
    })
  );
  assertStrictEquals(error, oops);
  assertStrictEquals(assertThrows(() => decoder.end()), oops);
});

Deno.test("the encoder refuses payloads over maxFrameSize or too long for the header", () => {
  const cases: {
    name: string;
    options: LengthPrefixOptions;
    size: number;
    limit: number;
  }[] = [
    // the configured limit
    {
      name: "maxFrameSize",
      options: { maxFrameSize: 10 },
      size: 11,
      limit: 10,
    },
    // a u8 holds 255 at most
    { name: "u8 256", options: { header: "u8" }, size: 256, limit: 255 },
    // a u16 holds 65535 at most
    {
      name: "u16le 65536",
      options: { header: "u16le" },
      size: 65_536,
      limit: 65_535,
    },
    // counting the header leaves 254 payload bytes in a u8
    {
      name: "u8 including its header",
      options: { header: "u8", lengthIncludesHeader: true },
      size: 255,
      limit: 254,
    },
    // a negative adjustment can push a small payload past 2**32-1
    {
      name: "u32be after adjustment",
      options: { header: "u32be", lengthAdjustment: -0xffff_ffff },
      size: 1,
      limit: 0,
    },
  ];
  for (const { name, options, size, limit } of cases) {
    const encoder = new LengthPrefixCodec(options);
    for (
      const call of [
        () => encoder.encode(new Uint8Array(size)),
        () => encoder.encodeAll([new Uint8Array(), new Uint8Array(size)]),
      ]
    ) {
      const error = assertThrows(call, FrameTooLargeError, undefined, name);
      assertEquals([error.size, error.limit, error.offset], [
        size,
        limit,
        undefined,
      ], name);
    }
    // one byte less is fine
    encoder.encode(new Uint8Array(size - 1));
  }
  assertStringIncludes(
    assertThrows(
      () => new LengthPrefixCodec({ header: "u8" }).encode(new Uint8Array(256)),
    ).message,
    'does not fit the "u8" header (at most 255)',
  );
});

Deno.test("the encoder rejects a length that the adjustment makes negative", () => {
  const cases: LengthPrefixOptions[] = [
    // 3 - 5 < 0
    { header: "u16be", lengthAdjustment: 5 },
    // a varint can never count 5 bytes of adjustment plus itself for 0 bytes
    { header: "varint", lengthAdjustment: 5, lengthIncludesHeader: true },
    // nor can ASCII digits
    { header: "ascii", lengthAdjustment: 9, lengthIncludesHeader: true },
  ];
  for (const options of cases) {
    assertThrows(
      () => new LengthPrefixCodec(options).encode(new Uint8Array(0)),
      RangeError,
      "negative",
    );
  }
  // a payload shorter than the bytes stripped past the header
  assertThrows(
    () =>
      new LengthPrefixCodec({ header: "u8", stripBytes: 3 }).encode(
        text("a"),
      ),
    RangeError,
    "stripBytes",
  );
});

Deno.test("lengthIncludesHeader encodes with a separator of any length, and our decoder reads it back", () => {
  // The issue's case: a 31-character separator once made every payload
  // "negative". The length counts "35", the 31 '#' and the 2-byte payload.
  const issue = new LengthPrefixCodec({
    header: "ascii",
    asciiSeparator: "#".repeat(31),
    lengthIncludesHeader: true,
  });
  const frame = issue.encode(text("xy"));
  assertEquals(new TextDecoder().decode(frame), "35" + "#".repeat(31) + "xy");
  assertEquals(issue.decode(frame), [text("xy")]);
  // Every separator length up to 100, both ASCII headers, with and without
  // a prefix, for payloads that move the length across a digit boundary
  // (the field grows a byte as the total passes 9, 99, 999…).
  for (const header of ["ascii", "netstring"] as const) {
    for (let separator = 1; separator <= 100; separator++) {
      for (const lengthFieldOffset of [0, 3]) {
        const codec = new LengthPrefixCodec({
          header,
          asciiSeparator: ":".repeat(separator),
          lengthIncludesHeader: true,
          lengthFieldOffset,
        });
        for (
          const size of [0, 1, 7, 8, 9, 10, 88, 89, 90, 95, 100, 998, 1000]
        ) {
          const payload = new Uint8Array(size).fill(0x61);
          const bytes = codec.encode(payload);
          const digits = /^\d+/.exec(
            new TextDecoder().decode(bytes.subarray(lengthFieldOffset)),
          )![0];
          // The length counts the whole header and the payload (not the
          // netstring's ','), and is the smallest number that does.
          const trailer = header === "netstring" ? 1 : 0;
          assertEquals(
            Number(digits),
            bytes.length - trailer,
            `${header} separator ${separator} offset ${lengthFieldOffset} size ${size}`,
          );
          assertEquals(codec.clone().decode(bytes), [payload]);
        }
      }
    }
  }
  // A varint length that counts itself, across its 1- to 2-byte boundary.
  const varint = new LengthPrefixCodec({
    header: "varint",
    lengthIncludesHeader: true,
  });
  for (const size of [0, 125, 126, 127, 128, 16381, 16382, 16383]) {
    const payload = new Uint8Array(size);
    assertEquals(varint.clone().decode(varint.encode(payload)), [payload]);
  }
});

// ---------------------------------------------------------------------------
// Memory and views

Deno.test("a header announcing 8 MiB - 1 does not allocate it before the bytes arrive", () => {
  const decoder = new LengthPrefixCodec();
  const frames: Uint8Array[] = [];
  // ArrayBuffer memory is "external" to the V8 heap: 8 MiB would show
  const externalBefore = Deno.memoryUsage().external;
  decoder.push(fromHex("007fffff010203"), (f) => frames.push(f));
  assertEquals(decoder.bufferedBytes, 3);
  for (let i = 0; i < 100; i++) {
    decoder.push(new Uint8Array(1), (f) => frames.push(f));
  }
  assertEquals(decoder.bufferedBytes, 103);
  assertLessOrEqual(Deno.memoryUsage().external - externalBefore, 1 << 20);
  assertEquals(frames.length, 0);
  const error = assertThrows(() => decoder.end(), TruncatedFrameError);
  assertEquals([error.expected, error.received], [
    DEFAULT_MAX_FRAME_SIZE + 3,
    107,
  ]);
  assertEquals(decoder.bufferedBytes, 0);
});

Deno.test("a stripped header and a netstring's trailer are not kept between pushes", () => {
  const decoder = new LengthPrefixCodec({ header: "netstring" });
  decoder.decode(text("5:he"));
  assertEquals(decoder.bufferedBytes, 2);
  decoder.decode(text("llo"));
  assertEquals(decoder.bufferedBytes, 5);
  assertEquals(decoder.decode(text(",")).map(ascii), ["hello"]);
  assertEquals(decoder.bufferedBytes, 0);

  const raw = new LengthPrefixCodec({ header: "netstring", stripBytes: 0 });
  raw.decode(text("5:he"));
  assertEquals(raw.bufferedBytes, 4);
  assertEquals(raw.decode(text("llo,")).map(ascii), ["5:hello,"]);
});

Deno.test("frames inside one chunk are views of it; frames across chunks are copies", () => {
  for (const header of ALL_HEADERS) {
    const encoder = new LengthPrefixCodec({ header });
    const bytes = encoder.encodeAll([text("one"), text("two"), text("three")]);
    // the chunk is itself a view at a non-zero offset of a larger buffer
    const backing = new Uint8Array(bytes.length + 8);
    backing.set(bytes, 5);
    const chunk = backing.subarray(5, 5 + bytes.length);
    const decoder = new LengthPrefixCodec({ header });
    const frames = decoder.decode(chunk);
    assertEquals(frames.map(ascii), ["one", "two", "three"], header);
    for (const frame of frames) {
      assertStrictEquals(frame.buffer, chunk.buffer, header);
    }

    // split in the middle of "two": it is assembled; the chunks are reused
    const split = bytes.indexOf(0x74) + 1; // inside "two"
    const reused = new Uint8Array(bytes.length);
    reused.set(bytes.subarray(0, split));
    const first = decoder.decode(reused.subarray(0, split));
    assertEquals(first.map(ascii), ["one"], header);
    reused.fill(0xee); // the caller reuses its buffer
    reused.set(bytes.subarray(split));
    const rest = decoder.decode(reused.subarray(0, bytes.length - split));
    assertEquals(rest.map(ascii), ["two", "three"], header);
    assert(rest[0]!.buffer !== reused.buffer, `${header}: "two" is a copy`);
    assertStrictEquals(rest[1]!.buffer, reused.buffer, header);
    decoder.end();
  }
});

Deno.test("a frame assembled from many small chunks comes out whole", () => {
  const payload = new Uint8Array(100_000);
  for (let i = 0; i < payload.length; i++) payload[i] = i * 7;
  const bytes = new LengthPrefixCodec().encode(payload);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 97) {
    chunks.push(bytes.slice(i, i + 97));
  }
  const frames = decodeFrames(new LengthPrefixCodec(), chunks);
  assertEquals(frames.length, 1);
  assertEquals(frames[0]!.length, payload.length);
  assert(frames[0]!.every((b, i) => b === payload[i]));
});

Deno.test("pushRanges() hands out frames inside a chunk as ranges of it", () => {
  const chunk = new LengthPrefixCodec({ header: "u16be" }).encodeAll([
    text("ab"),
    new Uint8Array(),
    text("cde"),
  ]);
  const ranges: [boolean, number, number][] = [];
  const decoder = new LengthPrefixCodec({ header: "u16be" });
  decoder.pushRanges(chunk.subarray(0, 9), (bytes, start, end) => {
    ranges.push([bytes.buffer === chunk.buffer, start, end]);
  });
  // "cde" spans the two pushes: its range is of the decoder's own bytes
  decoder.pushRanges(chunk.subarray(9), (bytes, start, end) => {
    ranges.push([bytes.buffer === chunk.buffer, start, end]);
    assertEquals(ascii(bytes.subarray(start, end)), "cde");
  });
  assertEquals(ranges, [[true, 2, 4], [true, 6, 6], [false, 0, 3]]);
  decoder.end();
});

Deno.test("push() from inside its own frame callback is a TypeError", () => {
  const decoder = new LengthPrefixCodec({ header: "u8" });
  let inner: unknown;
  decoder.push(fromHex("0161"), () => {
    try {
      decoder.push(fromHex("00"), () => {});
    } catch (error) {
      inner = error;
    }
  });
  assertInstanceOf(inner, TypeError);
  assertStringIncludes(inner.message, "inside its own frame callback");
  // the outer push went on, and the decoder still works
  assertEquals(decoder.decode(fromHex("0162")).map(ascii), ["b"]);
  assertEquals(decoder.bytesRead, 4);
});

Deno.test("bytesRead counts every byte pushed", () => {
  const decoder = new LengthPrefixCodec({ header: "u8" });
  decoder.decode(fromHex("0261"));
  assertEquals(decoder.bytesRead, 2);
  decoder.decode(fromHex("62"));
  assertEquals(decoder.bytesRead, 3);
  decoder.decode(new Uint8Array());
  assertEquals(decoder.bytesRead, 3);
});

// ---------------------------------------------------------------------------
// Property tests

/** Payloads that stress a decoder: empty, tiny, header-like, larger. */
function randomPayload(
  rng: Prng,
  header: LengthHeader,
  maxSize: number,
): Uint8Array {
  const limit = Math.min(HEADER_LIMIT[header], maxSize);
  switch (rng.int(0, 7)) {
    case 0:
      return new Uint8Array();
    case 1: // bytes that look like a length header
      return rng.pick([
        text("5:hello,"),
        text("0:,"),
        text("12:"),
        fromHex("ffffffff"),
        fromHex("80808080808080808080"),
        fromHex("0005"),
        text(":,"),
      ]).slice(0, limit);
    case 2:
      return rng.bytes(Math.min(limit, rng.int(200, 2000)));
    default:
      return rng.bytes(Math.min(limit, rng.int(0, 40)));
  }
}

/** Several ways to cut `bytes` into chunks, given the frames' start offsets. */
function chunkings(
  rng: Prng,
  bytes: Uint8Array,
  starts: readonly number[],
): [string, Uint8Array[]][] {
  const cut = (points: number[]): Uint8Array[] => {
    const sorted = [...new Set(points)]
      .filter((p) => p > 0 && p < bytes.length)
      .sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const p of [...sorted, bytes.length]) {
      chunks.push(bytes.subarray(from, p));
      from = p;
    }
    return chunks;
  };
  const randomSizes = (max: number): Uint8Array[] => {
    const points: number[] = [];
    for (let p = rng.int(1, max); p < bytes.length; p += rng.int(1, max)) {
      points.push(p);
    }
    return cut(points);
  };
  return [
    ["one chunk", [bytes]],
    ["1-byte chunks", bytewise(bytes)],
    ["random small chunks", randomSizes(7)],
    ["random chunks", randomSizes(300)],
    ["chunks spanning many frames", randomSizes(5000)],
    // cut 1, 2, 3 bytes after each frame's start: inside its header
    [
      "splits inside headers",
      cut(starts.flatMap((s) => [s + 1, s + 2, s + 3])),
    ],
    // cut just before each frame's start: inside the trailer of the last
    [
      "splits before trailers",
      cut([...starts, bytes.length].map((s) => s - 1)),
    ],
    // an empty chunk between every two
    [
      "with empty chunks",
      bytewise(bytes).flatMap((c) => [c, new Uint8Array()]),
    ],
  ];
}

const PROPERTY_LAYOUTS: { name: string; options: LengthPrefixOptions }[] = [
  ...ALL_HEADERS.map((header) => ({ name: header, options: { header } })),
  // every header kind after a type byte, counting itself, kept whole
  ...ALL_HEADERS.map((header) => ({
    name: `${header} with offset, includes-header, strip 0`,
    options: {
      header,
      lengthFieldOffset: 1,
      lengthIncludesHeader: true,
      stripBytes: 0,
    },
  })),
  // a positive adjustment: a 2-byte field after the length
  {
    name: "u16le with adjustment 2",
    options: { header: "u16le", lengthAdjustment: 2 },
  },
  // a two-byte separator
  {
    name: "ascii with CRLF",
    options: { header: "ascii", asciiSeparator: "\r\n" },
  },
  // Python's f"{n:>12}" and f"{n:012}"
  {
    name: "ascii-fixed, 12 wide, right-aligned",
    options: { header: "ascii-fixed", asciiWidth: 12, asciiAlign: "right" },
  },
  {
    name: "ascii-fixed, 12 wide, zero-filled",
    options: { header: "ascii-fixed", asciiWidth: 12, asciiAlign: "zeros" },
  },
];

Deno.test("property: random payloads in random chunkings decode to the same frames", () => {
  let runs = 0;
  for (const { name, options } of PROPERTY_LAYOUTS) {
    seeded(`roundtrip ${name}`, (rng) => {
      const encoder = new LengthPrefixCodec(options);
      const fieldOffset = options.lengthFieldOffset ?? 0;
      const minPayload = options.lengthAdjustment ?? 0;
      for (let round = 0; round < 40; round++) {
        const count = rng.int(0, 12);
        const payloads: Uint8Array[] = [];
        const prefixes: Uint8Array[] = [];
        for (let i = 0; i < count; i++) {
          let payload = randomPayload(rng, options.header!, 3000);
          if (payload.length < minPayload) payload = rng.bytes(minPayload);
          payloads.push(payload);
          prefixes.push(rng.bytes(fieldOffset));
        }
        const frames = payloads.map((p, i) => encoder.encode(p, prefixes[i]));
        const bytes = concat(frames);
        const starts: number[] = [];
        let at = 0;
        for (const frame of frames) {
          starts.push(at);
          at += frame.length;
        }
        const expected = options.stripBytes === 0
          ? frames.map(toHex)
          : payloads.map(toHex);
        if (fieldOffset === 0) {
          assertEquals(toHex(encoder.encodeAll(payloads)), toHex(bytes), name);
        }
        for (const [how, chunks] of chunkings(rng, bytes, starts)) {
          const decoder = new LengthPrefixCodec(options);
          const got = decodeFrames(decoder, chunks).map(toHex);
          assertEquals(got, expected, `${name}, ${count} payloads, ${how}`);
          assertEquals(decoder.bytesRead, bytes.length);
          assertEquals(decoder.bufferedBytes, 0);
          assertEquals(
            decodeRanges(options, chunks),
            expected,
            `${name}, ${count} payloads, ${how}, pushRanges()`,
          );
          runs++;
        }
      }
    });
  }
  assert(runs >= PROPERTY_LAYOUTS.length * 40 * 8);
});

Deno.test("property: random bytes yield only frames or the typed errors", () => {
  const maxFrameSize = 1024;
  const INPUTS = 3000;
  const typed = [FrameTooLargeError, MalformedFrameError, TruncatedFrameError];
  for (const header of ALL_HEADERS) {
    seeded(`garbage ${header}`, (rng) => {
      const options: LengthPrefixOptions = { header, maxFrameSize };
      const encoder = new LengthPrefixCodec({ header }); // no limit: some frames too large
      const outcomes = new Map<string, number>();
      for (let n = 0; n < INPUTS; n++) {
        let input: Uint8Array;
        const shape = rng.int(0, 3);
        if (shape === 0) {
          // uniform noise
          input = rng.bytes(rng.int(0, 300));
        } else if (shape === 1) {
          // bytes that headers are made of
          const alphabet = [
            0x00,
            0x01,
            0x04,
            0x30,
            0x31,
            0x39,
            0x3a,
            0x2c,
            0x7f,
            0x80,
            0xff,
          ];
          input = Uint8Array.from(
            { length: rng.int(0, 300) },
            () => rng.pick(alphabet),
          );
        } else {
          // valid frames (some over the limit), then corrupted or cut
          input = encoder.encodeAll(
            Array.from(
              { length: rng.int(1, 5) },
              () => randomPayload(rng, header, 1200),
            ),
          ).slice();
          const flips = rng.int(0, 3);
          for (let i = 0; i < flips && input.length > 0; i++) {
            input[rng.int(0, input.length - 1)] = rng.u32() & 0xff;
          }
          if (shape === 3) input = input.subarray(0, rng.int(0, input.length));
        }
        const decoder = new LengthPrefixCodec(options);
        let maxChunk = 0;
        let outcome = "ok";
        try {
          for (let at = 0; at < input.length;) {
            const size = rng.int(1, rng.chance(0.5) ? 8 : 512);
            const chunk = input.subarray(at, at + size);
            at += size;
            maxChunk = Math.max(maxChunk, chunk.length);
            decoder.push(chunk, (frame) => {
              assertLessOrEqual(frame.length, maxFrameSize);
            });
            assertLessOrEqual(decoder.bufferedBytes, maxFrameSize + maxChunk);
          }
          decoder.end();
        } catch (error) {
          if (!typed.some((type) => error instanceof type)) throw error;
          outcome = (error as Error).name;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      // the inputs reach every outcome (a check on the generator)
      assert(outcomes.get("ok")! > 0, `${header}: ${[...outcomes]}`);
      assert(
        outcomes.get("TruncatedFrameError")! > 0,
        `${header}: ${[...outcomes]}`,
      );
      assert(
        outcomes.get("FrameTooLargeError")! > 0 || header === "u8",
        `${header}: ${[...outcomes]}`,
      );
    });
  }
});

// ---------------------------------------------------------------------------
// Streams

Deno.test("FrameEncoderStream and FrameDecoderStream round-trip length-prefixed payloads", async () => {
  const payloads = [
    text("alpha"),
    new Uint8Array(),
    text("gamma"),
    new Uint8Array(70_000),
  ];
  const options: LengthPrefixOptions = { header: "varint" };
  const encoded = await Array.fromAsync(
    ReadableStream.from(payloads).pipeThrough(
      new FrameEncoderStream(lengthPrefixed(options)),
    ),
  );
  assertEquals(encoded.length, payloads.length);
  // re-chunk the byte stream at odd sizes
  const bytes = concat(encoded);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 1_000) {
    chunks.push(bytes.subarray(i, i + 1_000));
  }
  const frames = await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(
      new FrameDecoderStream(lengthPrefixed(options)),
    ),
  );
  assertEquals(frames.map(toHex), payloads.map(toHex));
});

Deno.test("FrameDecoderStream errors with the typed error after the frames before it", async () => {
  const stream = ReadableStream.from([text("1:a,2:b"), text("c,3:def!")])
    .pipeThrough(new FrameDecoderStream(netstrings()));
  const reader = stream.getReader();
  assertEquals(ascii((await reader.read()).value!), "a");
  assertEquals(ascii((await reader.read()).value!), "bc");
  const error = await assertRejects(() => reader.read(), MalformedFrameError);
  assertEquals(error.offset, 14);
  reader.releaseLock();

  const truncated = ReadableStream.from([fromHex("0000000161000000")])
    .pipeThrough(new FrameDecoderStream(lengthPrefixed()));
  const frames: string[] = [];
  const caught = await assertRejects(async () => {
    for await (const frame of truncated) frames.push(ascii(frame));
  }, TruncatedFrameError);
  assertEquals(frames, ["a"]);
  assertEquals([caught.expected, caught.received, caught.offset], [
    undefined,
    3,
    5,
  ]);
});

// ---------------------------------------------------------------------------
// python3 as a peer

const PYTHON_PEER = String.raw`
import json, struct, sys
request = json.loads(sys.stdin.readline())
payloads = [bytes.fromhex(p) for p in request["payloads"]]
out = {
    "H": b"".join(struct.pack("!H", len(p)) + p for p in payloads).hex(),
    "I": b"".join(struct.pack("!I", len(p)) + p for p in payloads).hex(),
}
ours = bytes.fromhex(request["ours"])
frames, at = [], 0
while at < len(ours):
    (n,) = struct.unpack("!I", ours[at:at + 4])
    frames.append(ours[at + 4:at + 4 + n].hex())
    at += 4 + n
out["decoded"] = frames
json.dump(out, sys.stdout)
`;

/** Runs `script` in python3 with `request` as a JSON line on stdin; returns its JSON reply. */
async function askPython(script: string, request: unknown): Promise<unknown> {
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const writer = child.stdin.getWriter();
  try {
    await writer.write(text(JSON.stringify(request) + "\n"));
  } finally {
    await writer.close();
  }
  const { code, stdout, stderr } = await output;
  if (code !== 0) fail(`python3 exited with code ${code}: ${ascii(stderr)}`);
  return JSON.parse(ascii(stdout));
}

Deno.test("python3's struct.pack frames decode, and python3 decodes ours", async () => {
  const payloads = [
    text("hello"),
    new Uint8Array(),
    fromHex("000500ff"), // looks like a header
    new Uint8Array(300).fill(0x5a),
    new Uint8Array(65_535).fill(1), // the largest u16 frame
  ];
  const ours = new LengthPrefixCodec({ header: "u32be" }).encodeAll(payloads);
  const reply = await askPython(PYTHON_PEER, {
    payloads: payloads.map(toHex),
    ours: toHex(ours),
  }) as { H: string; I: string; decoded: string[] };
  const expected = payloads.map(toHex);
  for (
    const [header, hex] of [["u16be", reply.H], ["u32be", reply.I]] as const
  ) {
    const bytes = fromHex(hex);
    assertEquals(decodeHex({ header }, [bytes]), expected, header);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 1_499) {
      chunks.push(
        bytes.subarray(i, i + 1_499),
      );
    }
    assertEquals(decodeHex({ header }, chunks), expected, header);
  }
  assertEquals(reply.I, toHex(ours));
  assertEquals(reply.decoded, expected);
});

// The fixed-width header of Python socket tutorials: HEADERSIZE = 10,
// f"{len(msg):<10}" on the way out, int(sock.recv(HEADERSIZE)) on the way in.
const PYTHON_TUTORIAL_PEER = String.raw`
import json, sys
request = json.loads(sys.stdin.readline())
payloads = [bytes.fromhex(p) for p in request["payloads"]]
out = {
    "left": b"".join(f"{len(p):<10}".encode() + p for p in payloads).hex(),
    "right": b"".join(f"{len(p):>10}".encode() + p for p in payloads).hex(),
    "zeros": b"".join(f"{len(p):010}".encode() + p for p in payloads).hex(),
}
frames = {}
for align, hex in request["ours"].items():
    ours, at, frames[align] = bytes.fromhex(hex), 0, []
    while at < len(ours):
        n = int(ours[at:at + 10])
        frames[align].append(ours[at + 10:at + 10 + n].hex())
        at += 10 + n
out["decoded"] = frames
json.dump(out, sys.stdout)
`;

Deno.test("python3's f-string length headers decode, and python3 decodes ours with int()", async () => {
  const payloads = [
    text("Welcome to the server!"),
    new Uint8Array(),
    text("12345     "), // looks like a header
    new Uint8Array(70_000).fill(0x5a),
  ];
  const aligns = ["left", "right", "zeros"] as const;
  const ours = Object.fromEntries(aligns.map((asciiAlign) => [
    asciiAlign,
    toHex(
      lengthPrefixed({ header: "ascii-fixed", asciiAlign }).encodeAll(payloads),
    ),
  ]));
  const reply = await askPython(PYTHON_TUTORIAL_PEER, {
    payloads: payloads.map(toHex),
    ours,
  }) as Record<(typeof aligns)[number], string> & {
    decoded: Record<string, string[]>;
  };
  const expected = payloads.map(toHex);
  for (const align of aligns) {
    // byte for byte what Python writes
    assertEquals(reply[align], ours[align], align);
    assertEquals(reply.decoded[align], expected, align);
    // and the decoder reads every alignment, whole or in odd chunks
    const bytes = fromHex(reply[align]);
    const options: LengthPrefixOptions = { header: "ascii-fixed" };
    assertEquals(decodeHex(options, [bytes]), expected, align);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 7) {
      chunks.push(bytes.subarray(i, i + 7));
    }
    assertEquals(decodeHex(options, chunks), expected, align);
  }
});

// The codec is a FrameCodec (compile-time check).
const _typeCheck: FrameCodec = new LengthPrefixCodec();

// ---------------------------------------------------------------------------
// encodeRanges()

/** Layouts whose payloads sit a fixed header's width apart, for one copy. */
const RANGE_LAYOUTS: { name: string; options: LengthPrefixOptions }[] = [
  ...PROPERTY_LAYOUTS,
  // a zeroed prefix before each length field, written over the copied bytes
  {
    name: "u32be after 2 prefix bytes",
    options: { header: "u32be", lengthFieldOffset: 2 },
  },
  // a length that counts its header
  {
    name: "u16be including the header",
    options: { header: "u16be", lengthIncludesHeader: true },
  },
];

Deno.test("property: encodeRanges() writes what encodeAll() writes for the same payloads", () => {
  let runs = 0;
  for (const { name, options } of RANGE_LAYOUTS) {
    seeded(`ranges ${name}`, (rng) => {
      const codec = new LengthPrefixCodec(options);
      const fieldOffset = options.lengthFieldOffset ?? 0;
      const minPayload = options.lengthAdjustment ?? 0;
      for (let round = 0; round < 30; round++) {
        const payloads: Uint8Array[] = [];
        for (let i = rng.int(0, 12); i > 0; i--) {
          let payload = randomPayload(rng, options.header!, 2000);
          if (payload.length < minPayload) payload = rng.bytes(minPayload);
          payloads.push(payload);
        }
        // A read of these frames (random prefixes), decoded in place: the
        // ranges lie back to back, as an echo or proxy re-encodes them.
        const bytes = concat(
          payloads.map((p) => codec.encode(p, rng.bytes(fieldOffset))),
        );
        const ranges: number[] = [];
        codec.clone().pushRanges(bytes, (_bytes, start, end) => {
          ranges.push(start, end);
        });
        const views = (list: readonly number[]) =>
          Array.from(
            { length: list.length / 2 },
            (_, i) => bytes.subarray(list[2 * i]!, list[2 * i + 1]!),
          );
        const expected = toHex(codec.encodeAll(views(ranges)));
        assertEquals(toHex(codec.encodeRanges(bytes, ranges)), expected, name);
        assertEquals(
          toHex(codec.encodeRanges(bytes, Int32Array.from(ranges))),
          expected,
          `${name}, as an Int32Array`,
        );
        // The same payloads out of order, repeated and overlapping: no run.
        const shuffled: number[] = [];
        for (let i = rng.int(0, 8); i > 0 && ranges.length > 0; i--) {
          const k = 2 * rng.int(0, ranges.length / 2 - 1);
          shuffled.push(ranges[k]!, ranges[k + 1]!);
        }
        assertEquals(
          toHex(codec.encodeRanges(bytes, shuffled)),
          toHex(codec.encodeAll(views(shuffled))),
          `${name}, shuffled`,
        );
        runs++;
      }
    });
  }
  assert(runs >= RANGE_LAYOUTS.length * 30);
});

Deno.test("encodeRanges() re-frames the payloads of a read for another header", () => {
  const u32 = lengthPrefixed({ header: "u32be" });
  const payloads = [text("ab"), text(""), text("cde")];
  const bytes = u32.encodeAll(payloads);
  const ranges: number[] = [];
  u32.pushRanges(bytes, (_bytes, start, end) => ranges.push(start, end));
  assertEquals(ranges, [4, 6, 10, 10, 14, 17]);
  // Same header: the same bytes, written in one copy.
  assertEquals(toHex(u32.encodeRanges(bytes, ranges)), toHex(bytes));
  // Another header: the payloads with the new lengths.
  assertEquals(
    toHex(lengthPrefixed({ header: "u8" }).encodeRanges(bytes, ranges)),
    "02616200" + "03636465",
  );
  assertEquals(
    toHex(netstrings().encodeRanges(bytes, ranges)),
    toHex(text("2:ab,0:,3:cde,")),
  );
  assertEquals(u32.encodeRanges(bytes, []), new Uint8Array());
});

Deno.test("encodeRanges() rejects bad ranges and payloads before writing anything", () => {
  const codec = lengthPrefixed({ header: "u16be", maxFrameSize: 100 });
  const bytes = new Uint8Array(1000);
  // table: ranges, and what the RangeError says
  const bad: [number[], string][] = [
    [[0], "from 1 range offsets"], // odd count
    [[0, 4, 5], "from 3 range offsets"], // odd count
    [[0, 1001], "frame 0 from bytes [0, 1001)"], // past the end
    [[0, 4, 9, 5], "frame 1 from bytes [9, 5)"], // end before start
    [[-1, 4], "frame 0 from bytes [-1, 4)"], // before the start
    [[0, 1.5], "frame 0 from bytes [0, 1.5)"], // not an integer
    [[0, NaN], "frame 0 from bytes [0, NaN)"], // not a number
  ];
  for (const [ranges, says] of bad) {
    const error = assertThrows(
      () => codec.encodeRanges(bytes, ranges),
      RangeError,
    );
    assertStringIncludes(error.message, says);
  }
  // The first payload over the limit is the one named, as with encodeAll.
  const tooLarge = assertThrows(
    () => codec.encodeRanges(bytes, [0, 10, 10, 160, 160, 460]),
    FrameTooLargeError,
  );
  assertEquals([tooLarge.size, tooLarge.limit], [150, 100]);
  // A payload the header cannot describe.
  const u8 = assertThrows(
    () => lengthPrefixed({ header: "u8" }).encodeRanges(bytes, [0, 300]),
    FrameTooLargeError,
  );
  assertEquals(u8.size, 300);
});
