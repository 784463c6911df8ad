/**
 * What every message-framing codec in `framing/` is, and the two adapters
 * that turn any codec into a stream. As in tokio-util, one type per framing
 * scheme handles both directions: a {@linkcode FrameCodec} decodes (feed it
 * chunks with `push`, it hands out complete frames; `end` at the end of the
 * stream) and encodes (`encode`, `encodeAll`). {@linkcode FrameDecoderStream}
 * and {@linkcode FrameEncoderStream} wrap any codec as a `TransformStream`;
 * `tcp`'s `conn.framed(codec)` turns any codec into a framed connection.
 *
 * @example Decode and encode with one codec
 * ```ts
 * import { lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lines();
 * const frames: string[] = [];
 * const text = (f: Uint8Array) => frames.push(new TextDecoder().decode(f));
 * codec.push(new TextEncoder().encode("hel"), text);
 * codec.push(new TextEncoder().encode("lo\nworld\r\n"), text);
 * assertEquals(frames, ["hello", "world"]);
 * assertEquals(codec.encode(new TextEncoder().encode("hi")), new TextEncoder().encode("hi\n"));
 * ```
 *
 * @module
 */

/**
 * A framing scheme, both ways: the synchronous push decoder of one byte
 * stream, and an encoder. {@linkcode DelimiterCodec} and
 * {@linkcode LengthPrefixCodec} implement it; `tcp`'s `conn.framed()`,
 * {@linkcode FrameDecoderStream} and {@linkcode FrameEncoderStream} take any
 * implementation.
 *
 * Decoding keeps state (a partial frame, the stream offset): one codec
 * decodes one stream. The adapters decode with their own
 * {@linkcode FrameCodec.clone}, so one codec value may configure any number
 * of connections and streams. Encoding keeps no state.
 *
 * Frames that lie inside one chunk are `subarray` views of that chunk (valid
 * until you reuse the chunk's memory); frames that span chunks are assembled
 * in memory the codec owns. The codec copies whatever it keeps between
 * calls, so a caller may reuse its read buffer as soon as `push` returns.
 *
 * @example Any codec through one function
 * ```ts
 * import { type FrameCodec, lengthPrefixed, lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * function roundTrip(codec: FrameCodec, payload: Uint8Array): Uint8Array[] {
 *   const frames: Uint8Array[] = [];
 *   codec.push(codec.encode(payload), (frame) => frames.push(frame));
 *   codec.end((frame) => frames.push(frame));
 *   return frames;
 * }
 *
 * const payload = new TextEncoder().encode("hi");
 * assertEquals(roundTrip(lines(), payload), [payload]);
 * assertEquals(roundTrip(lengthPrefixed({ header: "u16be" }), payload), [payload]);
 * ```
 */
export interface FrameCodec {
  /** A short name for messages and tools, such as `"lines"` or `"u32be"`. */
  readonly name: string;
  /** The largest payload the codec decodes and encodes. */
  readonly maxFrameSize: number;
  /** Bytes held for a frame that is not complete yet. */
  readonly bufferedBytes: number;
  /** Bytes pushed so far: the stream byte offset of the next byte. */
  readonly bytesRead: number;
  /**
   * Decodes `chunk`, calling `onFrame` for each frame it completes. On bad
   * input it throws (after delivering every frame before the bad one) and
   * the codec's decoding stays failed: every later `push` or `end` throws
   * the same error.
   *
   * @param chunk The next bytes of the stream.
   * @param onFrame Called with each complete frame, in order.
   * @throws {FrameTooLargeError} If a frame exceeds `maxFrameSize`.
   * @throws {MalformedFrameError} If a header cannot be decoded.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void;
  /**
   * Ends the stream: delivers a final partial frame where the codec accepts
   * one, or throws `TruncatedFrameError` if a frame was cut off. Later calls
   * to `push` throw.
   *
   * @param onFrame Called with the final frame, if any.
   * @throws {TruncatedFrameError} If the stream ended mid-frame.
   */
  end(onFrame: (frame: Uint8Array) => void): void;
  /**
   * Encodes one payload as one frame.
   *
   * @param payload The frame's payload.
   * @returns The frame's bytes, ready to write.
   * @throws {FrameTooLargeError} If the payload exceeds `maxFrameSize` or
   * what the header can describe.
   * @throws {DelimiterInPayloadError} For a delimiter codec, if the payload
   * contains the delimiter.
   */
  encode(payload: Uint8Array): Uint8Array;
  /**
   * Encodes several payloads into one buffer, so a batch is one write.
   *
   * @param payloads The payloads, in order.
   * @returns The frames' bytes, back to back.
   * @throws {FrameTooLargeError} As {@linkcode FrameCodec.encode}.
   * @throws {DelimiterInPayloadError} As {@linkcode FrameCodec.encode}.
   */
  encodeAll(payloads: readonly Uint8Array[]): Uint8Array;
  /**
   * A new codec with the same options and fresh decoding state: for the
   * next stream.
   *
   * @returns The new codec.
   */
  clone(): FrameCodec;
}

/**
 * A transform stream from bytes to frames around any
 * {@linkcode FrameCodec}, for `pipeThrough()`. It decodes with its own
 * `codec.clone()`. On bad input the readable side first hands out every
 * frame decoded before the bad one (a single chunk often holds many), then
 * errors with the codec's error; the writable side errors at once. At the
 * end of input it hands out a final partial frame or errors with
 * `TruncatedFrameError`, as the codec says. Backpressure: a write resolves
 * once a reader has taken its frames.
 *
 * @example Lines from a byte stream
 * ```ts
 * import { FrameDecoderStream, lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const frames = await Array.fromAsync(
 *   ReadableStream.from(["one\r\ntw", "o\nthree"])
 *     .pipeThrough(new TextEncoderStream())
 *     .pipeThrough(new FrameDecoderStream(lines()))
 *     .pipeThrough(new TextDecoderStream()),
 * );
 * assertEquals(frames, ["one", "two", "three"]);
 * ```
 */
export class FrameDecoderStream
  implements TransformStream<Uint8Array, Uint8Array> {
  /** The frames. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The bytes. */
  readonly writable: WritableStream<Uint8Array>;

  /**
   * Decodes with a clone of `codec`.
   *
   * @param codec The framing scheme, such as `lines()`.
   */
  constructor(codec: FrameCodec) {
    const decoder = codec.clone();
    let frames: Uint8Array[] = [];
    let failure: { error: unknown } | null = null;
    let ended = false;
    let taken: (() => void) | null = null; // a write waiting for its frames
    let wakeReader: (() => void) | null = null;
    let writable!: WritableStreamDefaultController;
    const sink = (frame: Uint8Array) => {
      frames.push(frame);
    };
    const wake = () => {
      const resolve = wakeReader;
      wakeReader = null;
      resolve?.();
    };
    const release = () => {
      const resolve = taken;
      taken = null;
      resolve?.();
    };
    this.readable = new ReadableStream<Uint8Array>({
      // Called when a reader waits and the queue is empty: the error (or the
      // end) comes only after every frame before it was taken.
      async pull(controller) {
        while (frames.length === 0 && failure === null && !ended) {
          await new Promise<void>((resolve) => wakeReader = resolve);
        }
        if (frames.length > 0) {
          for (const frame of frames) controller.enqueue(frame);
          frames = [];
          release();
        } else if (failure !== null) {
          controller.error(failure.error);
        } else {
          controller.close();
        }
      },
      cancel(reason) {
        failure ??= { error: reason };
        writable.error(reason);
        release();
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      start(controller) {
        writable = controller;
      },
      write(chunk) {
        try {
          decoder.push(chunk, sink);
        } catch (error) {
          failure ??= { error };
          wake();
          throw error;
        }
        if (frames.length === 0) return;
        wake();
        return new Promise<void>((resolve) => taken = resolve);
      },
      close() {
        try {
          decoder.end(sink);
        } catch (error) {
          failure ??= { error };
        }
        ended = true;
        wake();
      },
      abort(reason) {
        failure ??= { error: reason };
        wake();
      },
    }, { highWaterMark: 1 });
  }
}

/**
 * A `TransformStream` from payloads to frame bytes around any
 * {@linkcode FrameCodec}: one output chunk per frame.
 *
 * @example NUL-terminated messages to a byte stream
 * ```ts
 * import { delimited, FrameEncoderStream } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks = await Array.fromAsync(
 *   ReadableStream.from([new Uint8Array([1, 2])])
 *     .pipeThrough(new FrameEncoderStream(delimited("\0"))),
 * );
 * assertEquals(chunks, [new Uint8Array([1, 2, 0])]);
 * ```
 */
export class FrameEncoderStream
  extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Encodes with `codec`.
   *
   * @param codec The framing scheme, such as `lines()`.
   */
  constructor(codec: FrameCodec) {
    super({
      transform(payload, controller) {
        controller.enqueue(codec.encode(payload));
      },
    });
  }
}
