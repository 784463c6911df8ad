/**
 * {@linkcode FramedConnection}: a TCP or Unix connection seen as frames of
 * a codec from `framing/` — `Connection.framed(codec)`.
 *
 * @module
 */
import type { FrameCodec } from "../framing/codec.ts";
import { DelimiterCodec } from "../framing/delimiter.ts";
import { TruncatedFrameError } from "../framing/errors.ts";
import { LengthPrefixCodec } from "../framing/length_prefix.ts";
import { copyOut } from "../_internal/slab.ts";
import type { Connection, ReadOptions, WriteOptions } from "./connection.ts";
import { peerOf } from "./_peer.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * Bytes of a read handed to the decoder at a time. Every frame takes at
 * least one byte of the bytes that complete it, so one slice completes at
 * most this many frames.
 */
const SLICE = 4 * 1024;
/**
 * Slices are decoded until this many frames are ready (or the read is used
 * up): a batch large enough to amortise a write per batch, small enough to
 * bound what is held. So at most READY - 1 + SLICE = 5,119 frames are
 * decoded and not yet received.
 */
const READY = 1024;

/** The codecs of `framing/`, which also hand out frames as ranges. */
type RangeCodec = DelimiterCodec | LengthPrefixCodec;

/**
 * `codec` if it is one of `framing/`'s codecs, whose `pushRanges` hands out
 * what its `push` would without a view per frame; `null` for any other
 * codec, and for a subclass that overrides `push` (so that its `push` runs).
 */
function rangesOf(codec: FrameCodec): RangeCodec | null {
  if (codec instanceof DelimiterCodec) {
    return codec.push === DelimiterCodec.prototype.push ? codec : null;
  }
  if (codec instanceof LengthPrefixCodec) {
    return codec.push === LengthPrefixCodec.prototype.push ? codec : null;
  }
  return null;
}

/**
 * A connection seen as frames: `receive()` (or `for await`) decodes incoming
 * bytes with the codec's decoder; `send()` encodes with its encoder. Frames
 * decoded before a framing error are all delivered before the error is
 * raised.
 *
 * Memory and backpressure: a read is decoded a few kilobytes at a time, as
 * frames are received, and the next read waits until every frame of the
 * one before has been received — so a consumer that stops receiving stops
 * the socket (TCP flow control then stops the peer) and never makes frames
 * pile up. A framed connection holds at most one read (256 KiB at most; see
 * {@linkcode Connection}), the codec's partial frame (`maxFrameSize` at
 * most), and at most 5,119 frames decoded ahead of `receive()`, kept as
 * 8-byte ranges of the read for the codecs of `framing/` (a frame object
 * each for another {@linkcode FrameCodec}): however small the frames, a read
 * never turns into more than that.
 *
 * Made by {@linkcode Connection.framed}.
 *
 * @example Length-prefixed messages, whole however the bytes arrive
 * ```ts
 * import { connect, type FramedConnection, listen } from "@sockit/sockit/tcp";
 * import { lengthPrefixed } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lengthPrefixed({ header: "u32be" });
 * await using server = listen({ port: 0 }, async (conn) => {
 *   const framed: FramedConnection = conn.framed(codec);
 *   for await (const frame of framed) await framed.send(frame.toReversed());
 * });
 * await using conn = await connect(server.addr);
 * const framed = conn.framed(codec);
 * await framed.sendAll(["abc", "xy"]);
 * const text = (frame: Uint8Array | null) => new TextDecoder().decode(frame!);
 * assertEquals([text(await framed.receive()), text(await framed.receive())], ["cba", "yx"]);
 * ```
 */
export class FramedConnection implements AsyncIterable<Uint8Array> {
  readonly #conn: Connection;
  readonly #decoder: FrameCodec;
  readonly #ranged: RangeCodec | null;
  readonly #encoder: FrameCodec;
  /** The read being decoded, and how much of it the decoder has had. */
  #chunk: Uint8Array = EMPTY;
  #pushed = 0;
  /** The slice of `#chunk` being pushed, and where it starts in `#chunk`. */
  #slice: Uint8Array = EMPTY;
  #sliceAt = 0;
  // The frames ready: frame i is #chunk[#starts[i], #ends[i]), or, where
  // #starts[i] is negative, #owned[-1 - #starts[i]] (a frame the codec
  // assembled in its own memory, or one a codec without ranges made).
  #starts: Int32Array = new Int32Array(0);
  #ends: Int32Array = new Int32Array(0);
  #owned: Uint8Array[] = [];
  #count = 0;
  #next = 0;
  #ended = false;
  #error: unknown = undefined;
  readonly #onRange = (bytes: Uint8Array, start: number, end: number) => {
    const i = this.#count === this.#starts.length ? this.#grow() : this.#count;
    this.#count = i + 1;
    if (bytes === this.#slice) {
      this.#starts[i] = this.#sliceAt + start;
      this.#ends[i] = this.#sliceAt + end;
    } else {
      // In the codec's memory, valid during this call only: copied out.
      this.#starts[i] = -1 - this.#owned.length;
      this.#owned.push(copyOut(bytes.subarray(start, end), end - start));
    }
  };
  readonly #onFrame = (frame: Uint8Array) => {
    const i = this.#count === this.#starts.length ? this.#grow() : this.#count;
    this.#count = i + 1;
    this.#starts[i] = -1 - this.#owned.length;
    this.#owned.push(frame);
  };

  /**
   * Frames `conn` with `codec`. Use {@linkcode Connection.framed}.
   *
   * @param conn The connection.
   * @param codec The codec.
   */
  constructor(conn: Connection, codec: FrameCodec) {
    this.#conn = conn;
    this.#decoder = codec.clone(); // decoding state of this connection only
    this.#ranged = rangesOf(this.#decoder);
    this.#encoder = codec;
  }

  /** The connection underneath. */
  get connection(): Connection {
    return this.#conn;
  }

  /**
   * Receives the next frame, or `null` when the stream ended cleanly.
   *
   * @param options `signal` to stop waiting.
   * @returns The frame, or `null`.
   * @throws {FrameTooLargeError} Or another framing error, after the frames
   * before it.
   * @throws {TimeoutError} If the connection's timeout passes.
   * @throws {TruncatedFrameError} If the peer reset the connection in the
   * middle of a frame (the network error is its `cause`).
   */
  receive(options: ReadOptions = {}): Promise<Uint8Array | null> {
    if (this.#next < this.#count) return Promise.resolve(this.#take());
    return this.#fill(options).then((ready) => ready ? this.#take() : null);
  }

  /**
   * Receives the frames that are ready, at least one: waits for the first
   * as {@linkcode FramedConnection.receive} does, then takes those decoded
   * with it, up to `maxFrames` (at most 5,119 however small they are;
   * frames not taken stay for the next call). With
   * {@linkcode FramedConnection.sendAll}, a batch in is a write out.
   *
   * @param maxFrames The most frames to take (an integer >= 1; by default
   * all that are ready).
   * @param options `signal` to stop waiting.
   * @returns The frames, in order, or `null` when the stream ended cleanly.
   * @throws {RangeError} If `maxFrames` is not an integer >= 1.
   * @throws {FrameTooLargeError} Or another framing error, after the frames
   * before it.
   * @throws {TimeoutError} If the connection's timeout passes.
   * @throws {TruncatedFrameError} As {@linkcode FramedConnection.receive}.
   *
   * @example Echo frames a batch at a time
   * ```ts
   * import { connect, listen } from "@sockit/sockit/tcp";
   * import { lines } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = listen({ port: 0 }, async (conn) => {
   *   const framed = conn.framed(lines());
   *   for (let batch; (batch = await framed.receiveBatch()) !== null;) {
   *     await framed.sendAll(batch);
   *   }
   * });
   * await using conn = await connect(server.addr);
   * await conn.write("a\nb\nc\n");
   * assertEquals(new TextDecoder().decode(await conn.readExactly(6)), "a\nb\nc\n");
   * ```
   */
  async receiveBatch(
    maxFrames: number = Infinity,
    options: ReadOptions = {},
  ): Promise<Uint8Array[] | null> {
    if (
      !(maxFrames >= 1) ||
      !(Number.isSafeInteger(maxFrames) || maxFrames === Infinity)
    ) {
      throw new RangeError(
        `Cannot receive a batch of ${maxFrames} frames from ${
          peerOf(this.#conn)
        }: give an integer >= 1`,
      );
    }
    if (this.#next === this.#count && !await this.#fill(options)) return null;
    const frames = new Array<Uint8Array>(
      Math.min(maxFrames, this.#count - this.#next),
    );
    for (let k = 0; k < frames.length; k++) frames[k] = this.#take();
    return frames;
  }

  /** Hands out the next frame ready (there is one). */
  #take(): Uint8Array {
    const i = this.#next++;
    const start = this.#starts[i]!;
    if (start < 0) return this.#owned[-1 - start]!;
    const chunk = this.#chunk;
    return new Uint8Array(
      chunk.buffer,
      chunk.byteOffset + start,
      this.#ends[i]! - start,
    );
  }

  /** Room for one more frame: returns its index. */
  #grow(): number {
    const size = Math.max(64, this.#starts.length * 2);
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    starts.set(this.#starts);
    ends.set(this.#ends);
    this.#starts = starts;
    this.#ends = ends;
    return this.#count;
  }

  /**
   * Makes frames ready: decodes the rest of
   * the read held, a slice at a time, and reads only once that is used up.
   * Resolves `true` when a frame is ready, `false` at the end of the
   * stream; rejects with a framing or network error once the frames before
   * it are received.
   */
  async #fill(options: ReadOptions): Promise<boolean> {
    this.#count = 0;
    this.#next = 0;
    this.#owned.length = 0;
    for (;;) {
      const chunk = this.#chunk;
      if (this.#pushed < chunk.length) {
        this.#decodeSlices(chunk);
        if (this.#count > 0) return true;
        continue;
      }
      this.#chunk = EMPTY; // not held while the next read waits
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return false;
      let read: Uint8Array | null;
      try {
        read = await this.#conn.read(options);
      } catch (error) {
        throw this.#cutOff(error);
      }
      if (read === null) {
        this.#ended = true;
        // We stopped reading (a graceful shutdown), the peer did not end
        // the stream: a partial frame is not a frame, and not an error.
        if (this.#conn.readingStopped) return false;
        try {
          this.#decoder.end(this.#onFrame);
        } catch (error) {
          this.#error = error;
        }
        if (this.#count > 0) return true;
      } else {
        this.#chunk = read;
        this.#pushed = 0;
      }
    }
  }

  /**
   * Pushes slices of `chunk` to the decoder until {@linkcode READY} frames
   * are ready or the chunk is used up, into the queue: as ranges where the
   * codec gives them. A frame the codec assembled from several slices is
   * copied out of its memory (a small one into a shared block), which costs
   * less than the new buffer `push()` would hand out. A framing error is
   * kept for after the frames before it.
   */
  #decodeSlices(chunk: Uint8Array): void {
    const ranged = this.#ranged;
    while (this.#pushed < chunk.length && this.#count < READY) {
      const from = this.#pushed;
      const to = Math.min(from + SLICE, chunk.length);
      const slice = from === 0 && to === chunk.length
        ? chunk
        : chunk.subarray(from, to);
      this.#pushed = to;
      this.#slice = slice;
      this.#sliceAt = from;
      try {
        if (ranged !== null) ranged.pushRanges(slice, this.#onRange);
        else this.#decoder.push(slice, this.#onFrame);
      } catch (error) {
        this.#error = error;
        this.#pushed = chunk.length;
      }
    }
    this.#slice = EMPTY;
  }

  /**
   * The error for a read that failed: when the connection was reset (or
   * aborted) with part of a frame received, a `TruncatedFrameError` naming
   * that frame, with the network error as its `cause` — a reset is not a
   * clean end, so even a codec that accepts a final partial frame (lines)
   * does not hand it out. Any other error stays as it is, and is kept so
   * that later calls throw it too.
   */
  #cutOff(error: unknown): unknown {
    const lost = error instanceof Deno.errors.ConnectionReset
      ? "reset"
      : error instanceof Deno.errors.ConnectionAborted
      ? "aborted"
      : null;
    if (lost === null) return error;
    // Ask end() about a frame cut short: it throws for a cut length-prefixed
    // frame, or hands out a partial line, which is dropped here.
    const decoder = this.#decoder;
    const before = decoder.bytesRead;
    let details: ConstructorParameters<typeof TruncatedFrameError>[0] | null =
      null;
    try {
      decoder.end((partial) => {
        details = { received: partial.length, offset: before - partial.length };
      });
    } catch (ended) {
      if (ended instanceof TruncatedFrameError) {
        const { expected, received, offset } = ended;
        details = expected === undefined
          ? { received, offset }
          : { expected, received, offset };
      }
    }
    this.#ended = true;
    if (details === null) {
      this.#error = error;
      return error;
    }
    const { expected, received, offset } = details;
    const of = expected === undefined ? "" : ` of its ${expected}`;
    const cut = new TruncatedFrameError(
      details,
      `Cannot decode frame from ${
        peerOf(this.#conn)
      } as the connection was ${lost} after ${received}${of} bytes: at byte offset ${offset}`,
    );
    cut.cause = error;
    this.#error = cut;
    return cut;
  }

  /**
   * Sends one frame.
   *
   * @param payload The payload, bytes or a string (UTF-8).
   * @param options `signal`, as for {@linkcode Connection.write}.
   * @throws {FrameTooLargeError} Or `DelimiterInPayloadError`, before
   * anything is sent.
   */
  send(payload: Uint8Array | string, options?: WriteOptions): Promise<void> {
    const bytes = typeof payload === "string"
      ? encoder.encode(payload)
      : payload;
    return this.#conn.write(this.#encoder.encode(bytes), options);
  }

  /**
   * Sends several frames in one write.
   *
   * @param payloads The payloads.
   * @param options `signal`, as for {@linkcode Connection.write}.
   * @throws {FrameTooLargeError} Or `DelimiterInPayloadError`, before
   * anything is sent.
   */
  sendAll(
    payloads: readonly (Uint8Array | string)[],
    options?: WriteOptions,
  ): Promise<void> {
    return this.#conn.write(
      this.#encoder.encodeAll(
        payloads.map((p) => typeof p === "string" ? encoder.encode(p) : p),
      ),
      options,
    );
  }

  /** Iterates over frames until the stream ends. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const frame = await this.receive();
      if (frame === null) return;
      yield frame;
    }
  }
}
