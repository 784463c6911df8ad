/**
 * Delimiter framing: messages ended by a marker such as `\n`, `\r\n` or
 * `\0` — the first fix every socket tutorial teaches for "TCP has no message
 * boundaries".
 *
 * - {@linkcode DelimiterDecoder}: the synchronous push decoder (feed it
 *   chunks, it hands out frames); any delimiter of one or more bytes, a lines
 *   mode that accepts `\n` and `\r\n`, keep or strip the delimiter, a rule for
 *   a final frame without its delimiter, `maxFrameSize` with an optional
 *   recovery mode that skips an oversized frame and carries on.
 * - {@linkcode DelimiterEncoder}: appends the delimiter, and refuses a payload
 *   that contains it rather than corrupting the stream.
 * - {@linkcode DelimiterDecoderStream} / {@linkcode DelimiterEncoderStream}:
 *   the same as `TransformStream`s.
 * - {@linkcode lines} and {@linkcode delimited}: codecs for `tcp/` and `udp/`.
 *
 * @example Lines from chunks that split them anywhere
 * ```ts
 * import { DelimiterDecoder } from "./delimiter.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const decoder = new DelimiterDecoder({ lines: true });
 * const text = new TextEncoder();
 * const got = [
 *   ...decoder.decode(text.encode("GET / HTTP/1.0\r")),
 *   ...decoder.decode(text.encode("\nHost: a\n\r\n")),
 * ].map((line) => new TextDecoder().decode(line));
 * assertEquals(got, ["GET / HTTP/1.0", "Host: a", ""]);
 * ```
 *
 * @module
 */
import {
  DEFAULT_MAX_FRAME_SIZE,
  type FrameCodec,
  type FrameDecoder,
  FrameDecoderStream,
  type FrameEncoder,
  FrameEncoderStream,
  type FrameRangeSink,
  type FrameSink,
} from "./codec.ts";
import {
  DelimiterInPayloadError,
  FrameTooLargeError,
  TruncatedFrameError,
} from "./errors.ts";
import { FrameBuffer } from "./_frame_buffer.ts";
import { ByteScanner } from "./_scan.ts";

const LF = 0x0a;
const CR = 0x0d;
const LINE_FEED = new Uint8Array([LF]);
const CRLF = new Uint8Array([CR, LF]);

/** Options of {@linkcode DelimiterDecoder}, {@linkcode DelimiterEncoder} and their codecs. */
export interface DelimiterOptions {
  /**
   * The delimiter: a string (UTF-8 encoded) or bytes, at least one byte.
   * Ignored in lines mode.
   *
   * @default {"\n"}
   */
  delimiter?: string | Uint8Array;
  /**
   * Lines mode: frames end with `\n`, and a `\r` just before it belongs to the
   * line ending (so `\r\n` and `\n` both end a line, even when the `\r` and
   * the `\n` arrive in different chunks).
   *
   * @default {false}
   */
  lines?: boolean;
  /**
   * Decoder: hand out each frame with its delimiter (in lines mode, the
   * `\n` or `\r\n` it ended with) instead of stripping it.
   *
   * @default {false}
   */
  keepDelimiter?: boolean;
  /**
   * Decoder: what to do at the end of the stream with a final frame that has
   * no delimiter: `"emit"` hands it out; `"error"` raises
   * `TruncatedFrameError`. Lines mode defaults to `"emit"` (a last line
   * without `\n` is still a line, as in Python's `for line in file`); other
   * delimiters default to `"error"` (a message without its end marker is cut
   * off).
   *
   * @default {"emit" in lines mode, "error" otherwise}
   */
  finalFrame?: "emit" | "error";
  /**
   * The largest frame, in bytes, not counting the delimiter. The encoder
   * refuses larger payloads; the decoder raises `FrameTooLargeError` as soon
   * as a frame is known to be larger, holding at most this many bytes (plus
   * a partial delimiter) between chunks.
   *
   * @default {8388608} (8 MiB)
   */
  maxFrameSize?: number;
  /**
   * Decoder: what to do with a frame over `maxFrameSize`: `"error"` raises
   * `FrameTooLargeError` and the decoder stays failed; `"skip"` discards the
   * frame up to the next delimiter and carries on with the frames after it
   * (reporting each skipped frame to `onSkip`).
   *
   * @default {"error"}
   */
  onOversize?: "error" | "skip";
  /**
   * Decoder, `"skip"` mode: called with a `FrameTooLargeError` describing
   * each frame that is skipped, when it is found to be too large.
   */
  onSkip?: (error: FrameTooLargeError) => void;
  /**
   * Encoder, lines mode: the line ending to write.
   *
   * @default {"\n"}
   */
  lineEnding?: "\n" | "\r\n";
}

function toDelimiter(options: DelimiterOptions): Uint8Array {
  if (options.lines) {
    if (
      options.delimiter !== undefined &&
      !(options.delimiter === "\n" ||
        (options.delimiter instanceof Uint8Array &&
          options.delimiter.length === 1 && options.delimiter[0] === LF))
    ) {
      throw new TypeError(
        `Cannot use delimiter ${
          JSON.stringify(String(options.delimiter))
        } in lines mode: lines end with "\\n" or "\\r\\n"`,
      );
    }
    return LINE_FEED;
  }
  const delimiter = options.delimiter ?? "\n";
  const bytes = typeof delimiter === "string"
    ? new TextEncoder().encode(delimiter)
    : delimiter instanceof Uint8Array
    ? delimiter.slice()
    : undefined;
  if (bytes === undefined) {
    throw new TypeError(
      `Cannot use ${typeof delimiter} as a delimiter: it must be a string or a Uint8Array`,
    );
  }
  if (bytes.length === 0) {
    throw new RangeError(
      "Cannot use an empty delimiter: it needs at least 1 byte",
    );
  }
  return bytes;
}

function toMaxFrameSize(value: number | undefined): number {
  const max = value ?? DEFAULT_MAX_FRAME_SIZE;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(
      `Cannot use maxFrameSize ${max}: it must be a non-negative integer`,
    );
  }
  return max;
}

/** Index of the first `delimiter` in `bytes` at or after `from`, or -1. */
function indexOfDelimiter(
  bytes: Uint8Array,
  delimiter: Uint8Array,
  from: number,
): number {
  const first = delimiter[0]!;
  const length = delimiter.length;
  if (length === 1) return bytes.indexOf(first, from);
  const last = bytes.length - length;
  for (let i = bytes.indexOf(first, from); i !== -1 && i <= last;) {
    let k = 1;
    while (k < length && bytes[i + k] === delimiter[k]) k++;
    if (k === length) return i;
    i = bytes.indexOf(first, i + 1);
  }
  return -1;
}

/**
 * The synchronous push decoder for delimiter framing. Each byte is scanned
 * once: a long frame arriving in many small chunks costs linear time. Frames
 * inside one chunk are `subarray` views of it; frames that span chunks are
 * assembled in memory the decoder owns.
 *
 * @example NUL-terminated messages
 * ```ts
 * import { DelimiterDecoder } from "./delimiter.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const decoder = new DelimiterDecoder({ delimiter: "\0" });
 * const frames = decoder.decode(new Uint8Array([104, 105, 0, 0, 120]));
 * assertEquals(frames, [new Uint8Array([104, 105]), new Uint8Array()]);
 * assertEquals(decoder.bufferedBytes, 1); // "x" waits for its delimiter
 * ```
 */
export class DelimiterDecoder implements FrameDecoder {
  readonly #delimiter: Uint8Array;
  readonly #lines: boolean;
  readonly #keep: boolean;
  readonly #emitFinal: boolean;
  readonly #max: number;
  readonly #skip: boolean;
  readonly #onSkip: ((error: FrameTooLargeError) => void) | undefined;
  /** Bytes a partial frame may hold beyond `#max`: a partial line ending. */
  readonly #slack: number;
  readonly #pending = new FrameBuffer();
  /** Stream offset of the first byte of the frame being assembled. */
  #frameStart = 0;
  #bytesRead = 0;
  /** Skipping an oversized frame: `#pending` keeps only a possible partial delimiter. */
  #discarding = false;
  #skipped = 0;
  #error: unknown = undefined;
  #ended = false;
  #busy = false;
  readonly #scanner = new ByteScanner();
  // The sinks of the push under way: exactly one is set.
  #onFrame: FrameSink | undefined = undefined;
  #onRange: FrameRangeSink | undefined = undefined;

  /**
   * Creates a decoder.
   *
   * @param options The delimiter, lines mode, limits and end-of-stream rule.
   * @throws {TypeError} If the delimiter is not a string or bytes.
   * @throws {RangeError} If the delimiter is empty or `maxFrameSize` is not
   * a non-negative integer.
   */
  constructor(options: DelimiterOptions = {}) {
    this.#delimiter = toDelimiter(options);
    this.#lines = options.lines ?? false;
    this.#keep = options.keepDelimiter ?? false;
    this.#emitFinal =
      (options.finalFrame ?? (this.#lines ? "emit" : "error")) ===
        "emit";
    this.#max = toMaxFrameSize(options.maxFrameSize);
    this.#skip = (options.onOversize ?? "error") === "skip";
    this.#onSkip = options.onSkip;
    this.#slack = this.#lines ? 1 : this.#delimiter.length - 1;
  }

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.#pending.length;
  }

  /** Bytes pushed so far: the stream byte offset of the next byte. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** How many oversized frames `"skip"` mode has discarded. */
  get skippedFrames(): number {
    return this.#skipped;
  }

  /**
   * Decodes `chunk`, calling `onFrame` for each frame it completes. Frames
   * inside the chunk are `subarray` views of it.
   *
   * @param chunk The next bytes of the stream.
   * @param onFrame Called with each complete frame, in order.
   * @throws {FrameTooLargeError} If a frame exceeds `maxFrameSize` (unless
   * `onOversize` is `"skip"`); the decoder then stays failed.
   * @throws {TypeError} If called after {@linkcode DelimiterDecoder.end}, or
   * from inside its own `onFrame`.
   */
  push(chunk: Uint8Array, onFrame: FrameSink): void {
    this.#run(chunk, onFrame, undefined);
  }

  /**
   * Like {@linkcode DelimiterDecoder.push}, but hands out each frame as a
   * range `bytes[start..end)` instead of a view: no allocation per frame, for
   * code that reads frames in place (counting, parsing a header). The range
   * is valid during the call only.
   *
   * @param chunk The next bytes of the stream.
   * @param onRange Called with each complete frame's bytes and bounds.
   * @throws {FrameTooLargeError} As {@linkcode DelimiterDecoder.push}.
   * @throws {TypeError} As {@linkcode DelimiterDecoder.push}.
   *
   * @example Count lines without allocating
   * ```ts
   * import { DelimiterDecoder } from "./delimiter.ts";
   * import { assertEquals } from "@std/assert";
   *
   * let count = 0;
   * const decoder = new DelimiterDecoder({ lines: true });
   * decoder.pushRanges(new TextEncoder().encode("a\nbb\nc"), () => count++);
   * assertEquals(count, 2);
   * ```
   */
  pushRanges(chunk: Uint8Array, onRange: FrameRangeSink): void {
    this.#run(chunk, undefined, onRange);
  }

  #run(
    chunk: Uint8Array,
    onFrame: FrameSink | undefined,
    onRange: FrameRangeSink | undefined,
  ): void {
    this.#check();
    if (this.#busy) {
      throw new TypeError(
        "Cannot push to a decoder from inside its own frame callback",
      );
    }
    this.#busy = true;
    this.#onFrame = onFrame;
    this.#onRange = onRange;
    try {
      this.#decode(chunk);
    } finally {
      this.#busy = false;
      this.#onFrame = undefined;
      this.#onRange = undefined;
    }
  }

  #emit(bytes: Uint8Array, start: number, end: number): void {
    if (this.#onRange !== undefined) {
      this.#onRange(bytes, start, end);
    } else {
      // A plain constructor call: cheaper in V8 than subarray(), which looks
      // up the species constructor.
      this.#onFrame!(
        start === 0 && end === bytes.length
          ? bytes
          : new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start),
      );
    }
  }

  /** The first whole delimiter in `chunk` at or after `from`, or -1. */
  #find(chunk: Uint8Array, from: number): number {
    const delimiter = this.#delimiter;
    const length = delimiter.length;
    const scanner = this.#scanner;
    if (length === 1) return scanner.next(from);
    const last = chunk.length - length;
    for (let at = scanner.next(from); at !== -1; at = scanner.next(at + 1)) {
      if (at > last) return -1;
      let k = 1;
      while (k < length && chunk[at + k] === delimiter[k]) k++;
      if (k === length) return at;
    }
    return -1;
  }

  #decode(chunk: Uint8Array): void {
    const base = this.#bytesRead;
    this.#bytesRead += chunk.length;
    this.#scanner.reset(chunk, this.#delimiter[0]!);
    let pos = 0;
    if (this.#pending.length > 0 || this.#discarding) {
      pos = this.#finishPending(chunk, base);
      if (pos < 0) return;
    }
    // The fast path: frames that lie inside this chunk.
    const length = this.#delimiter.length;
    const max = this.#max;
    const lines = this.#lines;
    const keep = this.#keep;
    const scanner = this.#scanner;
    const onFrame = this.#onFrame;
    const onRange = this.#onRange;
    const { buffer, byteOffset } = chunk;
    for (;;) {
      const at = length === 1 ? scanner.next(pos) : this.#find(chunk, pos);
      if (at === -1) break;
      let end = at;
      if (lines && at > pos && chunk[at - 1] === CR) end = at - 1;
      if (end - pos > max) {
        this.#tooLarge(end - pos, base + pos, true);
      } else {
        if (keep) end = at + length;
        if (onRange !== undefined) onRange(chunk, pos, end);
        // A plain constructor call: cheaper in V8 than subarray().
        else onFrame!(new Uint8Array(buffer, byteOffset + pos, end - pos));
      }
      pos = at + length;
    }
    if (pos < chunk.length) {
      this.#frameStart = base + pos;
      this.#hold(chunk.subarray(pos), base);
    }
  }

  /**
   * Ends the stream. A final frame without its delimiter is handed out or
   * raises `TruncatedFrameError`, as `finalFrame` says.
   *
   * @param onFrame Called with the final frame, if any.
   * @throws {TruncatedFrameError} If a final frame lacks its delimiter and
   * `finalFrame` is `"error"`.
   * @throws {FrameTooLargeError} If the final frame exceeds `maxFrameSize`.
   */
  end(onFrame: FrameSink): void {
    this.#check();
    if (this.#busy) {
      throw new TypeError(
        "Cannot end a decoder from inside its own frame callback",
      );
    }
    this.#ended = true;
    const held = this.#pending.length;
    if (this.#discarding || held === 0) {
      this.#pending.clear();
      return;
    }
    if (!this.#emitFinal) {
      this.#pending.clear();
      const details = { received: held, offset: this.#frameStart };
      this.#fail(
        new TruncatedFrameError(
          details,
          `Cannot decode frame as the stream ended before its delimiter: ${held} bytes received, at byte offset ${this.#frameStart}`,
        ),
      );
    }
    if (held > this.#max) {
      this.#pending.clear();
      this.#tooLarge(held, this.#frameStart, true);
      return;
    }
    const frame = this.#pending.take();
    onFrame(frame);
  }

  /**
   * Decodes `chunk` and returns the frames it completes (a convenience over
   * {@linkcode DelimiterDecoder.push}).
   *
   * @param chunk The next bytes of the stream.
   * @returns The complete frames, in order.
   * @throws {FrameTooLargeError} If a frame exceeds `maxFrameSize`.
   */
  decode(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    this.push(chunk, (frame) => {
      frames.push(frame);
    });
    return frames;
  }

  #check(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#ended) {
      throw new TypeError("Cannot use a decoder after end(): create a new one");
    }
  }

  #fail(error: unknown): never {
    this.#error = error;
    throw error;
  }

  /**
   * Reports a frame of `size` bytes (or more) at `offset` as too large: fails
   * the decoder, or in skip mode counts and reports it. With `complete`, the
   * frame's delimiter has been seen, so nothing more is discarded.
   */
  #tooLarge(size: number, offset: number, complete: boolean): void {
    const error = new FrameTooLargeError({
      limit: this.#max,
      size,
      announced: false,
      offset,
    });
    if (!this.#skip) this.#fail(error);
    this.#skipped++;
    this.#onSkip?.(error);
    if (!complete) this.#discarding = true;
  }

  /** Keeps `tail` (a frame with no delimiter yet) for the next chunk. */
  #hold(tail: Uint8Array, base: number): void {
    const held = this.#pending.length + tail.length;
    if (held > this.#max + this.#slack) {
      const start = this.#frameStart;
      const keep = this.#partialDelimiter(tail);
      this.#pending.clear();
      this.#tooLarge(held, start, false);
      // Skip mode: keep only what may be the start of the next delimiter.
      if (keep.length > 0) this.#pending.append(keep, keep.length);
      this.#frameStart = base;
      return;
    }
    this.#pending.append(tail, this.#max + this.#slack);
  }

  /** The last bytes of held + `tail` that could begin a delimiter. */
  #partialDelimiter(tail: Uint8Array): Uint8Array {
    const want = this.#delimiter.length - 1;
    if (want === 0) return new Uint8Array(0);
    if (tail.length >= want) return tail.slice(tail.length - want);
    const joined = new Uint8Array(this.#pending.length + tail.length);
    joined.set(this.#pending.peek());
    joined.set(tail, this.#pending.length);
    return joined.slice(Math.max(0, joined.length - want));
  }

  /**
   * Completes (or keeps skipping) the frame held from earlier chunks.
   * Returns the position in `chunk` after its delimiter, or -1 if the chunk
   * was used up.
   */
  #finishPending(chunk: Uint8Array, base: number): number {
    const delimiter = this.#delimiter;
    const length = delimiter.length;
    const pending = this.#pending;
    const held = pending.length;
    // A delimiter that began in the held bytes: the earliest start wins.
    let crossing = 0; // how many delimiter bytes were held
    for (let k = Math.min(length - 1, held); k >= 1; k--) {
      if (chunk.length < length - k) continue;
      let ok = true;
      for (let j = 0; j < length && ok; j++) {
        const byte = j < k ? pending.at(held - k + j) : chunk[j - k];
        ok = byte === delimiter[j];
      }
      if (ok) {
        crossing = k;
        break;
      }
    }
    const at = crossing > 0 ? -crossing : this.#find(chunk, 0);
    if (at === -1 && crossing === 0) {
      // No delimiter in this chunk: keep holding, or keep skipping.
      if (this.#discarding) {
        const keep = this.#partialDelimiter(chunk);
        pending.clear();
        if (keep.length > 0) pending.append(keep, keep.length);
      } else {
        this.#hold(chunk, base);
      }
      return -1;
    }
    const after = at + length; // position in chunk after the delimiter
    if (this.#discarding) {
      this.#discarding = false;
      pending.clear();
      return after;
    }
    // Content ends where the delimiter (and a line's \r) begins.
    let contentInChunk = Math.max(at, 0);
    let contentHeld = held - crossing;
    if (this.#lines) {
      if (at > 0 && chunk[at - 1] === CR) contentInChunk--;
      else if (at === 0 && held > 0 && pending.at(held - 1) === CR) {
        contentHeld--;
      }
    }
    const size = contentHeld + contentInChunk;
    if (size > this.#max) {
      pending.clear();
      this.#tooLarge(size, this.#frameStart, true);
      return after;
    }
    let frameSize = contentHeld;
    if (this.#keep) {
      pending.append(chunk.subarray(0, after), Infinity);
      frameSize = pending.length;
    } else if (contentInChunk > 0) {
      pending.append(chunk.subarray(0, contentInChunk), Infinity);
      frameSize = pending.length;
    }
    if (this.#onRange !== undefined) {
      // A range is valid during the call only: keep the memory for reuse.
      this.#onRange(pending.peek(), 0, frameSize);
      pending.reset();
    } else {
      this.#onFrame!(pending.take(frameSize));
    }
    return after;
  }
}

/**
 * Appends the delimiter to each payload, refusing a payload that contains
 * it (the far end would split it in two) or that exceeds `maxFrameSize`.
 *
 * @example Encode lines
 * ```ts
 * import { DelimiterEncoder, DelimiterInPayloadError } from "./mod.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const encoder = new DelimiterEncoder({ lines: true, lineEnding: "\r\n" });
 * const text = new TextEncoder();
 * assertEquals(encoder.encode(text.encode("hi")), text.encode("hi\r\n"));
 * assertThrows(() => encoder.encode(text.encode("a\nb")), DelimiterInPayloadError);
 * ```
 */
export class DelimiterEncoder implements FrameEncoder {
  readonly #delimiter: Uint8Array;
  readonly #ending: Uint8Array;
  readonly #lines: boolean;
  readonly #max: number;

  /**
   * Creates an encoder.
   *
   * @param options The delimiter (or lines mode and its line ending) and
   * `maxFrameSize`.
   * @throws {TypeError} If the delimiter is not a string or bytes.
   * @throws {RangeError} If the delimiter is empty or `maxFrameSize` is not
   * a non-negative integer.
   */
  constructor(options: DelimiterOptions = {}) {
    this.#delimiter = toDelimiter(options);
    this.#lines = options.lines ?? false;
    this.#ending = this.#lines && options.lineEnding === "\r\n"
      ? CRLF
      : this.#delimiter;
    this.#max = toMaxFrameSize(options.maxFrameSize);
  }

  /**
   * Encodes one payload: the payload, then the delimiter.
   *
   * @param payload The frame's payload.
   * @returns The frame's bytes.
   * @throws {DelimiterInPayloadError} If the payload contains the delimiter
   * (or, in lines mode with `\n` endings, ends with `\r`, which the decoder
   * would take as part of the line ending).
   * @throws {FrameTooLargeError} If the payload exceeds `maxFrameSize`.
   */
  encode(payload: Uint8Array): Uint8Array {
    const out = new Uint8Array(payload.length + this.#ending.length);
    this.#write(payload, out, 0);
    return out;
  }

  /**
   * Encodes several payloads into one buffer, for one write.
   *
   * @param payloads The payloads, in order.
   * @returns The frames' bytes, back to back.
   * @throws {DelimiterInPayloadError} As {@linkcode DelimiterEncoder.encode}.
   * @throws {FrameTooLargeError} As {@linkcode DelimiterEncoder.encode}.
   */
  encodeAll(payloads: readonly Uint8Array[]): Uint8Array {
    let total = 0;
    for (const payload of payloads) {
      total += payload.length + this.#ending.length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const payload of payloads) at = this.#write(payload, out, at);
    return out;
  }

  #write(payload: Uint8Array, out: Uint8Array, at: number): number {
    if (payload.length > this.#max) {
      throw new FrameTooLargeError({
        limit: this.#max,
        size: payload.length,
        announced: false,
      });
    }
    const delimiter = this.#delimiter;
    const ending = this.#ending;
    out.set(payload, at);
    out.set(ending, at + payload.length);
    if (delimiter.length === 1) {
      const found = payload.indexOf(delimiter[0]!);
      if (found !== -1) throw new DelimiterInPayloadError(delimiter, found);
      if (
        this.#lines && ending === LINE_FEED && payload.length > 0 &&
        payload[payload.length - 1] === CR
      ) {
        throw new DelimiterInPayloadError(CRLF, payload.length - 1);
      }
    } else {
      // The first delimiter in payload + delimiter must be the one we added.
      const frame = out.subarray(at, at + payload.length + ending.length);
      const found = indexOfDelimiter(frame, delimiter, 0);
      if (found !== payload.length) {
        throw new DelimiterInPayloadError(delimiter, found);
      }
    }
    return at + payload.length + ending.length;
  }
}

/**
 * {@linkcode DelimiterDecoder} as a `TransformStream` from bytes to frames.
 *
 * @example Lines from a byte stream
 * ```ts
 * import { DelimiterDecoderStream } from "./delimiter.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const lines = await Array.fromAsync(
 *   ReadableStream.from(["one\r\ntw", "o\nthree"])
 *     .pipeThrough(new TextEncoderStream())
 *     .pipeThrough(new DelimiterDecoderStream({ lines: true }))
 *     .pipeThrough(new TextDecoderStream()),
 * );
 * assertEquals(lines, ["one", "two", "three"]);
 * ```
 */
export class DelimiterDecoderStream extends FrameDecoderStream {
  /**
   * Creates the stream.
   *
   * @param options As for {@linkcode DelimiterDecoder}.
   * @throws {TypeError} If the delimiter is not a string or bytes.
   * @throws {RangeError} If the delimiter is empty or `maxFrameSize` is bad.
   */
  constructor(options: DelimiterOptions = {}) {
    super(new DelimiterDecoder(options));
  }
}

/**
 * {@linkcode DelimiterEncoder} as a `TransformStream` from payloads to frame
 * bytes.
 *
 * @example NUL-terminated messages to a byte stream
 * ```ts
 * import { DelimiterEncoderStream } from "./delimiter.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks = await Array.fromAsync(
 *   ReadableStream.from([new Uint8Array([1, 2])])
 *     .pipeThrough(new DelimiterEncoderStream({ delimiter: "\0" })),
 * );
 * assertEquals(chunks, [new Uint8Array([1, 2, 0])]);
 * ```
 */
export class DelimiterEncoderStream extends FrameEncoderStream {
  /**
   * Creates the stream.
   *
   * @param options As for {@linkcode DelimiterEncoder}.
   * @throws {TypeError} If the delimiter is not a string or bytes.
   * @throws {RangeError} If the delimiter is empty or `maxFrameSize` is bad.
   */
  constructor(options: DelimiterOptions = {}) {
    super(new DelimiterEncoder(options));
  }
}

/**
 * The lines codec: frames end with `\n` or `\r\n`; the encoder writes `\n`
 * (or `lineEnding`). For `tcp/`'s `framed()` and the tools.
 *
 * @param options Lines-mode options (`keepDelimiter`, `finalFrame`,
 * `maxFrameSize`, `onOversize`, `onSkip`, `lineEnding`).
 * @returns A codec named `"lines"`.
 *
 * @example Round trip
 * ```ts
 * import { decodeFrames, lines } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lines();
 * const bytes = codec.createEncoder().encodeAll([
 *   new TextEncoder().encode("a"),
 *   new Uint8Array(),
 * ]);
 * assertEquals(decodeFrames(codec.createDecoder(), [bytes]).length, 2);
 * ```
 */
export function lines(
  options: Omit<DelimiterOptions, "lines" | "delimiter"> = {},
): FrameCodec {
  return codec("lines", { ...options, lines: true });
}

/**
 * A delimiter codec: frames end with `delimiter` (one or more bytes), such
 * as `"\0"`. For `tcp/`'s `framed()` and the tools.
 *
 * @param delimiter The delimiter, as a string (UTF-8) or bytes.
 * @param options Decoder and encoder options.
 * @returns A codec named after the delimiter (`"nul"` for `"\0"`).
 * @throws {RangeError} If the delimiter is empty.
 *
 * @example NUL-terminated messages
 * ```ts
 * import { decodeFrames, delimited } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = delimited("\0");
 * assertEquals(codec.name, "nul");
 * const bytes = codec.createEncoder().encode(new Uint8Array([7]));
 * assertEquals(decodeFrames(codec.createDecoder(), [bytes]), [new Uint8Array([7])]);
 * ```
 */
export function delimited(
  delimiter: string | Uint8Array,
  options: Omit<DelimiterOptions, "lines" | "delimiter"> = {},
): FrameCodec {
  const bytes = toDelimiter({ delimiter });
  const name = bytes.length === 1 && bytes[0] === 0
    ? "nul"
    : `delimited(${JSON.stringify(new TextDecoder().decode(bytes))})`;
  return codec(name, { ...options, delimiter: bytes });
}

function codec(name: string, options: DelimiterOptions): FrameCodec {
  const maxFrameSize = toMaxFrameSize(options.maxFrameSize);
  // Validate once, now, rather than at the first connection.
  new DelimiterDecoder(options);
  return {
    name,
    maxFrameSize,
    createDecoder: () => new DelimiterDecoder(options),
    createEncoder: () => new DelimiterEncoder(options),
  };
}
