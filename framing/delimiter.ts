/**
 * Delimiter framing: messages ended by a marker such as `\n`, `\r\n` or
 * `\0` — the first fix every socket tutorial teaches for "TCP has no message
 * boundaries".
 *
 * {@linkcode DelimiterCodec} decodes and encodes: any delimiter of one or
 * more bytes, a lines mode that accepts `\n` and `\r\n`, keep or strip the
 * delimiter, a rule for a final frame without its delimiter, `maxFrameSize`
 * with an optional recovery mode that skips an oversized frame and carries
 * on. The encoder appends the delimiter and refuses a payload that contains
 * it rather than corrupting the stream. {@linkcode lines} and
 * {@linkcode delimited} make the usual ones; `FrameDecoderStream` and
 * `FrameEncoderStream` turn any of them into a stream, `tcp`'s
 * `conn.framed()` into a framed connection.
 *
 * @example Lines from chunks that split them anywhere
 * ```ts
 * import { lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lines();
 * const text = new TextEncoder();
 * const got = [
 *   ...codec.decode(text.encode("GET / HTTP/1.0\r")),
 *   ...codec.decode(text.encode("\nHost: a\n\r\n")),
 * ].map((line) => new TextDecoder().decode(line));
 * assertEquals(got, ["GET / HTTP/1.0", "Host: a", ""]);
 * ```
 *
 * @module
 */
import type { FrameCodec } from "./codec.ts";
import {
  DelimiterInPayloadError,
  FrameTooLargeError,
  TruncatedFrameError,
} from "./errors.ts";
import { FrameBuffer } from "./_frame_buffer.ts";
import { checkInteger, DEFAULT_MAX_FRAME_SIZE } from "./_options.ts";
import { ByteScanner } from "./_scan.ts";
import { concat, indexOfNeedle } from "../_internal/std.ts";

/** A frame handed out as `bytes[start..end)`, valid during the call only. */
type RangeSink = (bytes: Uint8Array, start: number, end: number) => void;

const LF = 0x0a;
const CR = 0x0d;
const LINE_FEED = new Uint8Array([LF]);
const CRLF = new Uint8Array([CR, LF]);

/** Options of {@linkcode DelimiterCodec}, {@linkcode lines} and {@linkcode delimited}. */
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
   * Decoding: hand out each frame with its delimiter (in lines mode, the
   * `\n` or `\r\n` it ended with) instead of stripping it.
   *
   * @default {false}
   */
  keepDelimiter?: boolean;
  /**
   * Decoding: what to do at the end of the stream with a final frame that has
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
   * Decoding: what to do with a frame over `maxFrameSize`: `"error"` raises
   * `FrameTooLargeError` and the decoder stays failed; `"skip"` discards the
   * frame up to the next delimiter and carries on with the frames after it
   * (reporting each skipped frame to `onSkip`).
   *
   * @default {"error"}
   */
  onOversize?: "error" | "skip";
  /**
   * Decoding, `"skip"` mode: called with a `FrameTooLargeError` describing
   * each frame that is skipped, when it is found to be too large.
   */
  onSkip?: (error: FrameTooLargeError) => void;
  /**
   * Encoding, lines mode: the line ending to write.
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
  checkInteger("maxFrameSize", max, 0);
  return max;
}

/** The codec's name: `"lines"`, `"nul"` for `"\0"`, else `delimited("…")`. */
function nameOf(lines: boolean, delimiter: Uint8Array): string {
  if (lines) return "lines";
  return delimiter.length === 1 && delimiter[0] === 0
    ? "nul"
    : `delimited(${JSON.stringify(new TextDecoder().decode(delimiter))})`;
}

/**
 * The {@linkcode FrameCodec} for delimiter framing, both ways.
 *
 * Decoding is a synchronous push decoder: each byte is scanned once, so a
 * long frame arriving in many small chunks costs linear time. Frames inside
 * one chunk are `subarray` views of it; frames that span chunks are
 * assembled in memory the codec owns, at most `maxFrameSize` bytes (plus a
 * partial delimiter). Encoding appends the delimiter, refusing a payload
 * that contains it (the far end would split it in two) or that exceeds
 * `maxFrameSize`.
 *
 * {@linkcode lines} and {@linkcode delimited} make the usual ones.
 *
 * @example NUL-terminated messages
 * ```ts
 * import { DelimiterCodec } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new DelimiterCodec({ delimiter: "\0" });
 * const frames = codec.decode(new Uint8Array([104, 105, 0, 0, 120]));
 * assertEquals(frames, [new Uint8Array([104, 105]), new Uint8Array()]);
 * assertEquals(codec.bufferedBytes, 1); // "x" waits for its delimiter
 * assertEquals(codec.encode(new Uint8Array([7])), new Uint8Array([7, 0]));
 * ```
 */
export class DelimiterCodec implements FrameCodec {
  /** The largest frame, not counting the delimiter. */
  readonly maxFrameSize: number;
  #name: string | undefined = undefined;
  readonly #options: DelimiterOptions;
  readonly #delimiter: Uint8Array;
  /** What the encoder appends: the delimiter, or `lineEnding`. */
  readonly #ending: Uint8Array;
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
  #onFrame: ((frame: Uint8Array) => void) | undefined = undefined;
  #onRange: RangeSink | undefined = undefined;

  /**
   * Creates a codec.
   *
   * @param options The delimiter (or lines mode), limits, end-of-stream
   * rule and line ending.
   * @throws {TypeError} If the delimiter is not a string or bytes.
   * @throws {RangeError} If the delimiter is empty or `maxFrameSize` is not
   * a non-negative integer.
   */
  constructor(options: DelimiterOptions = {}) {
    this.#options = { ...options };
    this.#delimiter = toDelimiter(options);
    this.#lines = options.lines ?? false;
    this.#ending = this.#lines && options.lineEnding === "\r\n"
      ? CRLF
      : this.#delimiter;
    this.#keep = options.keepDelimiter ?? false;
    this.#emitFinal =
      (options.finalFrame ?? (this.#lines ? "emit" : "error")) ===
        "emit";
    this.#max = toMaxFrameSize(options.maxFrameSize);
    this.maxFrameSize = this.#max;
    this.#skip = (options.onOversize ?? "error") === "skip";
    this.#onSkip = options.onSkip;
    this.#slack = this.#lines ? 1 : this.#delimiter.length - 1;
  }

  /** `"lines"` in lines mode, `"nul"` for `"\0"`, else `delimited("…")`. */
  get name(): string {
    return this.#name ??= nameOf(this.#lines, this.#delimiter);
  }

  /**
   * A new codec with the same options and fresh decoding state.
   *
   * @returns The new codec.
   *
   * @example One codec value, two streams
   * ```ts
   * import { lines } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = lines();
   * codec.decode(new TextEncoder().encode("half a li"));
   * assertEquals(codec.clone().bufferedBytes, 0);
   * ```
   */
  clone(): DelimiterCodec {
    return new DelimiterCodec(this.#options);
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
   * `onOversize` is `"skip"`); decoding then stays failed.
   * @throws {TypeError} If called after {@linkcode DelimiterCodec.end}, or
   * from inside its own `onFrame`.
   *
   * @example Lines as they arrive
   * ```ts
   * import { lines } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const got: string[] = [];
   * const codec = lines();
   * codec.push(new TextEncoder().encode("a\nb"), (line) => {
   *   got.push(new TextDecoder().decode(line));
   * });
   * assertEquals(got, ["a"]);
   * ```
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    this.#run(chunk, onFrame, undefined);
  }

  /**
   * Like {@linkcode DelimiterCodec.push}, but hands out each frame as a
   * range `bytes[start..end)` instead of a view: no allocation per frame, for
   * code that reads frames in place (counting, parsing a header). The range
   * is valid during the call only.
   *
   * @param chunk The next bytes of the stream.
   * @param onRange Called with each complete frame's bytes and bounds.
   * @throws {FrameTooLargeError} As {@linkcode DelimiterCodec.push}.
   * @throws {TypeError} As {@linkcode DelimiterCodec.push}.
   *
   * @example Count lines without allocating
   * ```ts
   * import { lines } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * let count = 0;
   * lines().pushRanges(new TextEncoder().encode("a\nbb\nc"), () => count++);
   * assertEquals(count, 2);
   * ```
   */
  pushRanges(
    chunk: Uint8Array,
    onRange: (bytes: Uint8Array, start: number, end: number) => void,
  ): void {
    this.#run(chunk, undefined, onRange);
  }

  #run(
    chunk: Uint8Array,
    onFrame: ((frame: Uint8Array) => void) | undefined,
    onRange: RangeSink | undefined,
  ): void {
    this.#check();
    if (this.#busy) {
      throw new TypeError(
        "Cannot push to a codec from inside its own frame callback",
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
   * A final frame can exceed `maxFrameSize` here by at most the delimiter's
   * length minus one byte (in lines mode, one byte: a possible `\r`), which
   * `push` holds because they may begin the delimiter; a longer one already
   * failed in `push`. Such a frame raises `TruncatedFrameError` when
   * `finalFrame` is `"error"` (the missing delimiter is reported first) and
   * `FrameTooLargeError` (`announced: false`) when it is `"emit"`; in
   * `"skip"` mode with `"emit"` it is skipped and counted.
   *
   * @param onFrame Called with the final frame, if any.
   * @throws {TruncatedFrameError} If a final frame lacks its delimiter and
   * `finalFrame` is `"error"`, even one just over `maxFrameSize`.
   * @throws {FrameTooLargeError} If the final frame exceeds `maxFrameSize`
   * and `finalFrame` is `"emit"` (unless `onOversize` is `"skip"`).
   *
   * @example The last line needs no line ending
   * ```ts
   * import { lines } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = lines();
   * codec.decode(new TextEncoder().encode("a\nlast"));
   * const final: string[] = [];
   * codec.end((line) => final.push(new TextDecoder().decode(line)));
   * assertEquals(final, ["last"]);
   * ```
   */
  end(onFrame: (frame: Uint8Array) => void): void {
    this.#check();
    if (this.#busy) {
      throw new TypeError(
        "Cannot end a codec from inside its own frame callback",
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
   * {@linkcode DelimiterCodec.push}).
   *
   * @param chunk The next bytes of the stream.
   * @returns The complete frames, in order.
   * @throws {FrameTooLargeError} If a frame exceeds `maxFrameSize`.
   * @throws {TypeError} If called after {@linkcode DelimiterCodec.end}.
   *
   * @example Two frames and the start of a third
   * ```ts
   * import { delimited } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = delimited("\r\n");
   * const frames = codec.decode(new TextEncoder().encode("a\r\nb\r\nc"));
   * assertEquals(frames.length, 2);
   * ```
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
      throw new TypeError(
        "Cannot decode with a codec after end(): clone() it for a new stream",
      );
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
    const joined = concat([this.#pending.peek(), tail]);
    return joined.subarray(Math.max(0, joined.length - want));
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

  /**
   * Encodes one payload: the payload, then the delimiter (in lines mode,
   * `lineEnding`).
   *
   * @param payload The frame's payload.
   * @returns The frame's bytes.
   * @throws {DelimiterInPayloadError} If the payload contains the delimiter
   * (or, in lines mode with `\n` endings, ends with `\r`, which the decoder
   * would take as part of the line ending).
   * @throws {FrameTooLargeError} If the payload exceeds `maxFrameSize`.
   *
   * @example Encode lines, refuse a line break in a payload
   * ```ts
   * import { DelimiterInPayloadError, lines } from "@sockit/sockit/framing";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const codec = lines({ lineEnding: "\r\n" });
   * const text = new TextEncoder();
   * assertEquals(codec.encode(text.encode("hi")), text.encode("hi\r\n"));
   * assertThrows(() => codec.encode(text.encode("a\nb")), DelimiterInPayloadError);
   * ```
   */
  encode(payload: Uint8Array): Uint8Array {
    const out = new Uint8Array(payload.length + this.#ending.length);
    this.#write(payload, out, 0);
    return out;
  }

  /**
   * Encodes several payloads into one buffer, for one write. Checks each
   * payload before the next; on an error nothing is returned.
   *
   * @param payloads The payloads, in order.
   * @returns The frames' bytes, back to back.
   * @throws {DelimiterInPayloadError} As {@linkcode DelimiterCodec.encode}.
   * @throws {FrameTooLargeError} As {@linkcode DelimiterCodec.encode}.
   *
   * @example Two lines in one write
   * ```ts
   * import { lines } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const text = new TextEncoder();
   * const bytes = lines().encodeAll([text.encode("a"), new Uint8Array()]);
   * assertEquals(bytes, text.encode("a\n\n"));
   * ```
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
      const found = indexOfNeedle(frame, delimiter);
      if (found !== payload.length) {
        throw new DelimiterInPayloadError(delimiter, found);
      }
    }
    return at + payload.length + ending.length;
  }
}

/**
 * The lines codec: frames end with `\n` or `\r\n`; the encoder writes `\n`
 * (or `lineEnding`). A last line without its line ending is still a line,
 * as in Python's `for line in file`.
 *
 * @param options Lines-mode options (`keepDelimiter`, `finalFrame`,
 * `maxFrameSize`, `onOversize`, `onSkip`, `lineEnding`).
 * @returns A {@linkcode DelimiterCodec} named `"lines"`.
 * @throws {RangeError} If `maxFrameSize` is not a non-negative integer.
 *
 * @example Round trip
 * ```ts
 * import { lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lines();
 * const bytes = codec.encodeAll([
 *   new TextEncoder().encode("a"),
 *   new Uint8Array(),
 * ]);
 * assertEquals(codec.decode(bytes).length, 2);
 * assertEquals(codec.name, "lines");
 * ```
 */
export function lines(
  options: Omit<DelimiterOptions, "lines" | "delimiter"> = {},
): DelimiterCodec {
  return new DelimiterCodec({ ...options, lines: true });
}

/**
 * A delimiter codec: frames end with `delimiter` (one or more bytes), such
 * as `"\0"`. A final frame without its delimiter is an error, unless
 * `finalFrame` is `"emit"`.
 *
 * @param delimiter The delimiter, as a string (UTF-8) or bytes.
 * @param options Decoding and encoding options.
 * @returns A {@linkcode DelimiterCodec} named after the delimiter (`"nul"`
 * for `"\0"`).
 * @throws {TypeError} If the delimiter is not a string or bytes.
 * @throws {RangeError} If the delimiter is empty or `maxFrameSize` is not
 * a non-negative integer.
 *
 * @example NUL-terminated messages
 * ```ts
 * import { delimited } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = delimited("\0");
 * assertEquals(codec.name, "nul");
 * const bytes = codec.encode(new Uint8Array([7]));
 * assertEquals(codec.decode(bytes), [new Uint8Array([7])]);
 * ```
 */
export function delimited(
  delimiter: string | Uint8Array,
  options: Omit<DelimiterOptions, "lines" | "delimiter"> = {},
): DelimiterCodec {
  return new DelimiterCodec({ ...options, delimiter });
}
