/**
 * The seeded framing fuzzer behind `bad_frames_test.ts`: random, biased,
 * valid, truncated and corrupted byte streams pushed through every codec's
 * decoder in random chunks. What it checks on every input:
 *
 * - the only outcomes are frames and the typed framing errors
 *   (`FrameTooLargeError`, `MalformedFrameError`, `TruncatedFrameError`),
 *   with facts that make sense (`offset` inside the stream, `limit` the
 *   configured one, `size` over it);
 * - no frame is larger than the configured limit (plus the header or
 *   delimiter a layout keeps), and `bufferedBytes` never passes
 *   `maxFrameSize` plus a header's or delimiter's worth, whatever the
 *   headers announce;
 * - a failed decoder stays failed (the same error again);
 * - `push()` and `pushRanges()` agree, frame for frame and error for error;
 * - an unmodified valid stream decodes to exactly its frames, up to the
 *   first oversized one; a truncated one to a prefix of them.
 *
 * A failure names the seed, the codec and the input's index (replay with
 * `SOCKIT_TEST_SEED`).
 *
 * @module
 */
import {
  DelimiterCodec,
  type DelimiterOptions,
  FrameDecoderStream,
  FrameTooLargeError,
  LengthPrefixCodec,
  type LengthPrefixOptions,
  MalformedFrameError,
  TruncatedFrameError,
} from "../../framing/mod.ts";
import { Prng } from "../_utils.ts";

/** One codec configuration under test. */
export interface FuzzCodec {
  /** A short name for messages. */
  name: string;
  /** Delimiter options, for a delimiter codec. */
  delimiter?: DelimiterOptions;
  /** Length-prefix options, for a length-prefix codec. */
  length?: LengthPrefixOptions;
  /** `maxFrameSize`. */
  max: number;
  /** Bytes a handed-out frame may have beyond `max` (a kept header or delimiter). */
  frameExtra: number;
  /** Bytes `bufferedBytes` may hold beyond `max` (a partial header or delimiter). */
  bufferExtra: number;
}

const MAX = 256;

/** Every codec, in the configurations the tools and tests use. */
export const CODECS: readonly FuzzCodec[] = [
  delimiter("lines", { lines: true }, 0, 1),
  delimiter("lines, keepDelimiter", { lines: true, keepDelimiter: true }, 2, 1),
  delimiter("lines, skip oversize", { lines: true, onOversize: "skip" }, 0, 1),
  delimiter("nul", { delimiter: "\0" }, 0, 0),
  delimiter(
    "nul, skip oversize",
    { delimiter: "\0", onOversize: "skip" },
    0,
    0,
  ),
  delimiter("CRLFCRLF", { delimiter: "\r\n\r\n" }, 0, 3),
  delimiter("abab (self-overlapping)", { delimiter: "abab" }, 0, 3),
  length("u8", { header: "u8" }, 200),
  length("u16be", { header: "u16be" }),
  length("u16le", { header: "u16le" }),
  length("u32be", { header: "u32be" }),
  length("u32le", { header: "u32le" }),
  length("u64be", { header: "u64be" }),
  length("u64le", { header: "u64le" }),
  length("varint", { header: "varint" }),
  length("ascii", { header: "ascii" }),
  length("ascii, CRLF", { header: "ascii", asciiSeparator: "\r\n" }),
  length("netstring", { header: "netstring" }),
  // Python tutorials' f"{len(msg):<10}"
  length("ascii-fixed", { header: "ascii-fixed" }),
  // a type byte, a length counting the whole header, the header kept
  length(
    "u16le, offset 1, includes header, strip 0",
    {
      header: "u16le",
      lengthFieldOffset: 1,
      lengthIncludesHeader: true,
      stripBytes: 0,
    },
    MAX,
    3,
  ),
  // a 2-byte field after the length, counted by the adjustment
  length("u32be, adjustment 2", { header: "u32be", lengthAdjustment: 2 }),
];

function delimiter(
  name: string,
  options: DelimiterOptions,
  frameExtra: number,
  bufferExtra: number,
): FuzzCodec {
  return {
    name,
    delimiter: { ...options, maxFrameSize: MAX },
    max: MAX,
    frameExtra,
    bufferExtra,
  };
}

function length(
  name: string,
  options: LengthPrefixOptions,
  max = MAX,
  frameExtra = 0,
): FuzzCodec {
  // A header in progress: an offset, 10 varint bytes or 16 digits and a
  // separator; a netstring's trailer.
  return {
    name,
    length: { ...options, maxFrameSize: max },
    max,
    frameExtra,
    bufferExtra: 32,
  };
}

/** A codec with both push styles. */
type Decoder = DelimiterCodec | LengthPrefixCodec;

function makeDecoder(codec: FuzzCodec): Decoder {
  return codec.delimiter !== undefined
    ? new DelimiterCodec(codec.delimiter)
    : new LengthPrefixCodec(codec.length!);
}

const TYPED = [FrameTooLargeError, MalformedFrameError, TruncatedFrameError];

/** How one input ended: its frames (as hex) and its error, if any. */
interface Outcome {
  frames: number[];
  error: Error | undefined;
}

/** What fuzzing one codec saw. */
export interface FuzzSummary {
  /** The codec's name. */
  codec: string;
  /** Inputs decoded. */
  inputs: number;
  /** Bytes pushed. */
  bytes: number;
  /** Frames handed out. */
  frames: number;
  /** Inputs by outcome: `ok` or the error's name. */
  outcomes: Record<string, number>;
  /** The most `bufferedBytes` held at once. */
  peakBuffered: number;
  /** The largest frame handed out. */
  largestFrame: number;
  /** Inputs also run through `FrameDecoderStream`. */
  streamed: number;
}

/**
 * A frame's fingerprint: its length and a 32-bit FNV-1a hash of its bytes,
 * as one number (cheaper to compare than the bytes, and any difference a
 * decoder could make shows).
 */
function fingerprint(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  }
  return (end - start) * 4294967296 + (hash >>> 0);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An input and, when known, the frames it must decode to. */
interface Input {
  bytes: Uint8Array;
  shape: string;
  /** For an unmodified (`exact`) or cut (`prefix`) valid stream. */
  expected?: {
    frames: number[];
    oversizeAt?: number;
    mode: "exact" | "prefix";
  };
}

const ALPHABET = [
  0x00,
  0x01,
  0x02,
  0x04,
  0x0a,
  0x0d,
  0x2c,
  0x30,
  0x31,
  0x32,
  0x39,
  0x3a,
  0x61,
  0x62,
  0x7f,
  0x80,
  0xfe,
  0xff,
];

function payloadFor(codec: FuzzCodec, prng: Prng): Uint8Array {
  // Mostly within the limit, some just over it, a few far over (as far as
  // the header can say).
  const largest = codec.length?.header === "u8" ? 255 : 3 * codec.max;
  const size = prng.chance(0.85)
    ? prng.int(0, codec.max)
    : prng.chance(0.7)
    ? prng.int(codec.max + 1, codec.max + 8)
    : prng.int(codec.max + 9, largest);
  const payload = prng.bytes(size);
  if (codec.delimiter !== undefined) {
    // Keep every byte of the delimiter (and \r, for lines) out of payloads.
    const banned = new Set(
      codec.delimiter.lines
        ? [0x0a, 0x0d]
        : new TextEncoder().encode(String(codec.delimiter.delimiter)),
    );
    for (let i = 0; i < payload.length; i++) {
      if (banned.has(payload[i]!)) payload[i] = 0x78;
    }
  }
  return payload;
}

/** Encoders without a size limit, one per codec. */
const ENCODERS = new Map<FuzzCodec, DelimiterCodec | LengthPrefixCodec>();

function encoderFor(codec: FuzzCodec): DelimiterCodec | LengthPrefixCodec {
  let encoder = ENCODERS.get(codec);
  if (encoder === undefined) {
    encoder = codec.delimiter !== undefined
      ? new DelimiterCodec({ ...codec.delimiter, maxFrameSize: 1 << 20 })
      : new LengthPrefixCodec({ ...codec.length!, maxFrameSize: 1 << 20 });
    ENCODERS.set(codec, encoder);
  }
  return encoder;
}

/** A valid stream, with the frames a decoder must hand out. */
function validStream(codec: FuzzCodec, prng: Prng): Input {
  const count = prng.int(0, 6);
  const parts: Uint8Array[] = [];
  const frames: number[] = [];
  let oversizeAt: number | undefined;
  let at = 0;
  const skip = codec.delimiter?.onOversize === "skip";
  for (let i = 0; i < count; i++) {
    const payload = payloadFor(codec, prng);
    let part: Uint8Array;
    let frame: number;
    let size = payload.length; // what maxFrameSize limits
    const encoder = encoderFor(codec);
    if (encoder instanceof DelimiterCodec) {
      part = encoder.encode(payload);
      frame = fingerprint(codec.delimiter?.keepDelimiter ? part : payload);
    } else {
      const options = codec.length!;
      const prefix = prng.bytes(options.lengthFieldOffset ?? 0);
      const body = options.lengthAdjustment
        ? payloadWithExtra(payload, options.lengthAdjustment, prng)
        : payload;
      part = encoder.encode(body, prefix);
      frame = fingerprint(options.stripBytes === 0 ? part : body);
      size = body.length;
    }
    const oversize = size > codec.max;
    if (oversize && !skip) {
      oversizeAt ??= at;
    } else if (!oversize && oversizeAt === undefined) {
      frames.push(frame);
    }
    parts.push(part);
    at += part.length;
  }
  const bytes = new Uint8Array(at);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return {
    bytes,
    shape: "valid",
    expected: {
      frames,
      mode: "exact",
      ...(oversizeAt === undefined ? {} : { oversizeAt }),
    },
  };
}

/** `payload` with `extra` more bytes: the field a positive adjustment counts. */
function payloadWithExtra(
  payload: Uint8Array,
  extra: number,
  prng: Prng,
): Uint8Array {
  const out = new Uint8Array(payload.length + extra);
  out.set(payload);
  out.set(prng.bytes(extra), payload.length);
  return out;
}

function makeInput(codec: FuzzCodec, prng: Prng): Input {
  const shape = prng.int(0, 9);
  if (shape <= 1) {
    return { bytes: prng.bytes(prng.int(0, 600)), shape: "noise" };
  }
  if (shape <= 3) {
    const bytes = Uint8Array.from(
      { length: prng.int(0, 600) },
      () => prng.pick(ALPHABET),
    );
    return { bytes, shape: "header bytes" };
  }
  if (shape === 4) {
    // One byte repeated: varint continuation chains, endless digits, ...
    const byte = prng.pick(ALPHABET);
    const bytes = new Uint8Array(prng.int(1, 600)).fill(byte);
    return { bytes, shape: "run" };
  }
  const valid = validStream(codec, prng);
  if (shape <= 6) return valid;
  if (shape === 7) {
    const cut = prng.int(0, valid.bytes.length);
    return {
      bytes: valid.bytes.subarray(0, cut),
      shape: "cut",
      expected: { ...valid.expected!, mode: "prefix" },
    };
  }
  // Corrupted: flip, insert, delete or duplicate.
  let bytes: Uint8Array = valid.bytes.slice();
  const edits = prng.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = prng.int(0, bytes.length);
    const kind = prng.int(0, 3);
    if (kind === 0 && bytes.length > 0) {
      bytes[Math.min(at, bytes.length - 1)] = prng.u32() & 0xff;
    } else if (kind === 1) {
      const extra = prng.bytes(prng.int(1, 12));
      bytes = concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
    } else if (kind === 2) {
      bytes = concat([
        bytes.subarray(0, at),
        bytes.subarray(at + prng.int(1, 12)),
      ]);
    } else {
      const end = Math.min(bytes.length, at + prng.int(1, 40));
      bytes = concat([
        bytes.subarray(0, end),
        bytes.subarray(at, end),
        bytes.subarray(end),
      ]);
    }
  }
  return { bytes, shape: "corrupted" };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Splits `bytes` as a socket might deliver them: whole, byte by byte (for
 * short inputs), in small or in large pieces. Views, not copies: decoders
 * copy what they keep.
 */
function chunk(bytes: Uint8Array, prng: Prng): Uint8Array[] {
  let mode = prng.int(0, 3);
  if (mode === 0 || bytes.length === 0) return [bytes];
  if (mode === 1 && bytes.length > 128) mode = 2;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = mode === 1
      ? 1
      : mode === 2
      ? prng.int(1, 16)
      : prng.int(1, 300);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

class FuzzFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FuzzFailure";
  }
}

/**
 * Decodes `chunks` with a fresh decoder, by `push` or `pushRanges`,
 * checking the frame and memory bounds on the way.
 */
function decode(
  codec: FuzzCodec,
  chunks: readonly Uint8Array[],
  ranges: boolean,
  summary: FuzzSummary,
): Outcome {
  const decoder = makeDecoder(codec);
  const frames: number[] = [];
  const frameCap = codec.max + codec.frameExtra;
  const onFrame = (frame: Uint8Array) => {
    if (frame.length > frameCap) {
      throw new FuzzFailure(
        `a frame of ${frame.length} bytes (limit ${codec.max})`,
      );
    }
    summary.largestFrame = Math.max(summary.largestFrame, frame.length);
    frames.push(fingerprint(frame));
  };
  const onRange = (bytes: Uint8Array, start: number, end: number) => {
    if (end - start > frameCap) {
      throw new FuzzFailure(
        `a range of ${end - start} bytes (limit ${codec.max})`,
      );
    }
    frames.push(fingerprint(bytes, start, end));
  };
  let pushed = 0;
  try {
    for (const piece of chunks) {
      if (ranges) decoder.pushRanges(piece, onRange);
      else decoder.push(piece, onFrame);
      pushed += piece.length;
      const held = decoder.bufferedBytes;
      summary.peakBuffered = Math.max(summary.peakBuffered, held);
      if (held > codec.max + codec.bufferExtra) {
        throw new FuzzFailure(
          `bufferedBytes ${held} after ${pushed} bytes (limit ${codec.max})`,
        );
      }
    }
    if (decoder.bytesRead !== pushed) {
      throw new FuzzFailure(`bytesRead ${decoder.bytesRead}, ${pushed} pushed`);
    }
    decoder.end(ranges ? (f) => onRange(f, 0, f.length) : onFrame);
    return { frames, error: undefined };
  } catch (error) {
    if (error instanceof FuzzFailure) throw error;
    if (!TYPED.some((type) => error instanceof type)) {
      throw new FuzzFailure(`an untyped error: ${error}`);
    }
    const typed = error as
      | FrameTooLargeError
      | MalformedFrameError
      | TruncatedFrameError;
    const total = chunks.reduce((n, c) => n + c.length, 0);
    if (
      typed.offset === undefined || !Number.isInteger(typed.offset) ||
      typed.offset < 0 || typed.offset > total
    ) {
      throw new FuzzFailure(
        `${typed.name} at offset ${typed.offset} of ${total}`,
      );
    }
    if (
      typed instanceof FrameTooLargeError &&
      (typed.limit !== codec.max || !(typed.size > codec.max))
    ) {
      throw new FuzzFailure(`${typed.message} (limit ${codec.max})`);
    }
    // A failed decoder stays failed.
    let again: unknown;
    try {
      decoder.push(new Uint8Array([0]), () => {});
    } catch (later) {
      again = later;
    }
    if (again !== error) {
      throw new FuzzFailure(
        `a failed decoder did not throw the same error again: ${again}`,
      );
    }
    return { frames, error: typed };
  }
}

function describe(outcome: Outcome): string {
  const error = outcome.error;
  return `${outcome.frames.length} frames, ${
    error === undefined
      ? "ok"
      : `${error.name} at ${(error as { offset?: number }).offset}`
  }`;
}

/** Progress, every `every` inputs. */
export type FuzzProgress = (codec: string, input: number) => void;

/**
 * Fuzzes `codec` with `inputs` inputs from `seed`; every `streamEvery`-th
 * input also goes through a `FrameDecoderStream`.
 *
 * @throws {Error} Naming the seed, codec, input and what went wrong.
 */
export async function fuzzCodec(
  codec: FuzzCodec,
  seed: number,
  inputs: number,
  streamEvery: number,
  progress: FuzzProgress,
): Promise<FuzzSummary> {
  const prng = new Prng(seed);
  const summary: FuzzSummary = {
    codec: codec.name,
    inputs: 0,
    bytes: 0,
    frames: 0,
    outcomes: {},
    peakBuffered: 0,
    largestFrame: 0,
    streamed: 0,
  };
  for (let n = 0; n < inputs; n++) {
    const input = makeInput(codec, prng);
    const chunks = chunk(input.bytes, prng);
    try {
      const pushed = decode(codec, chunks, false, summary);
      const ranged = decode(codec, chunks, true, summary);
      if (
        describe(pushed) !== describe(ranged) ||
        pushed.frames.join() !== ranged.frames.join()
      ) {
        throw new FuzzFailure(
          `push() gave ${describe(pushed)}, pushRanges() ${describe(ranged)}`,
        );
      }
      checkExpected(codec, input, pushed);
      if (n % streamEvery === 0) {
        await checkStream(codec, chunks, pushed);
        summary.streamed++;
      }
      summary.inputs++;
      summary.bytes += input.bytes.length;
      summary.frames += pushed.frames.length;
      const name = pushed.error?.name ?? "ok";
      summary.outcomes[name] = (summary.outcomes[name] ?? 0) + 1;
    } catch (error) {
      throw new Error(
        `Fuzzing ${codec.name} (seed ${seed}, input ${n}, ${input.shape}, ${input.bytes.length} bytes in ${chunks.length} chunks: ${
          hex(input.bytes.subarray(0, 64))
        }${input.bytes.length > 64 ? "…" : ""}): ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
    if (n % 1000 === 999) progress(codec.name, n + 1);
  }
  return summary;
}

function checkExpected(codec: FuzzCodec, input: Input, outcome: Outcome): void {
  const expected = input.expected;
  if (expected === undefined) return;
  if (expected.mode === "exact") {
    if (outcome.frames.join() !== expected.frames.join()) {
      throw new FuzzFailure(
        `a valid stream gave ${
          describe(outcome)
        }, not its ${expected.frames.length} frames`,
      );
    }
    const error = outcome.error;
    if (expected.oversizeAt === undefined) {
      if (error !== undefined) {
        throw new FuzzFailure(`a valid stream failed: ${error.message}`);
      }
    } else if (
      !(error instanceof FrameTooLargeError) ||
      error.offset !== expected.oversizeAt
    ) {
      throw new FuzzFailure(
        `a valid stream with a frame over the limit at ${expected.oversizeAt} gave ${
          describe(outcome)
        }`,
      );
    }
    return;
  }
  // A cut stream: a prefix of the frames; lines mode hands out the cut
  // line too, as its last frame.
  const emitsFinal = codec.delimiter?.lines === true;
  const frames = emitsFinal ? outcome.frames.slice(0, -1) : outcome.frames;
  const prefix = expected.frames.slice(0, frames.length);
  if (frames.join() !== prefix.join()) {
    throw new FuzzFailure(
      `a cut valid stream gave frames that are not a prefix of its own`,
    );
  }
}

/** The same chunks through `FrameDecoderStream` give the same outcome. */
async function checkStream(
  codec: FuzzCodec,
  chunks: readonly Uint8Array[],
  pushed: Outcome,
): Promise<void> {
  const frames: number[] = [];
  let error: Error | undefined;
  try {
    const stream = ReadableStream.from(chunks.map((c) => c.slice()))
      .pipeThrough(new FrameDecoderStream(makeDecoder(codec)));
    for await (const frame of stream) frames.push(fingerprint(frame));
  } catch (caught) {
    error = caught as Error;
  }
  const streamed = { frames, error };
  if (
    describe(streamed) !== describe(pushed) ||
    frames.join() !== pushed.frames.join()
  ) {
    throw new FuzzFailure(
      `FrameDecoderStream gave ${describe(streamed)}, push() ${
        describe(pushed)
      }`,
    );
  }
}
