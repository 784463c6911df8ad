/**
 * What every message-framing codec in `framing/` is: a synchronous push
 * decoder and an encoder at the core, and `TransformStream` wrappers around
 * them for stream users. `tcp/` and `udp/` take any {@linkcode FrameCodec}.
 *
 * @example Decode frames with any codec's push decoder
 * ```ts
 * import { lines } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const decoder = lines().createDecoder();
 * const frames: string[] = [];
 * const text = (f: Uint8Array) => frames.push(new TextDecoder().decode(f));
 * decoder.push(new TextEncoder().encode("hel"), text);
 * decoder.push(new TextEncoder().encode("lo\nworld\r\n"), text);
 * assertEquals(frames, ["hello", "world"]);
 * ```
 *
 * @module
 */

/** Receives each frame that a decoder completes, in order. */
export type FrameSink = (frame: Uint8Array) => void;

/**
 * Receives each frame that a decoder completes as a range: the frame is
 * `bytes[start..end)`, valid during the call only. No allocation per frame.
 */
export type FrameRangeSink = (
  bytes: Uint8Array,
  start: number,
  end: number,
) => void;

/**
 * A synchronous push decoder: feed it chunks of a byte stream, it hands out
 * the complete frames.
 *
 * Frames that lie inside one chunk are `subarray` views of that chunk (valid
 * until you reuse the chunk's memory); frames that span chunks are assembled
 * in memory the decoder owns. The decoder copies whatever it keeps between
 * calls, so a caller may reuse its read buffer as soon as `push` returns.
 */
export interface FrameDecoder {
  /**
   * Decodes `chunk`, calling `onFrame` for each frame it completes. On bad
   * input it throws (after delivering every frame before the bad one) and the
   * decoder stays failed: every later call throws the same error.
   *
   * @param chunk The next bytes of the stream.
   * @param onFrame Called with each complete frame, in order.
   * @throws {FrameTooLargeError} If a frame exceeds `maxFrameSize`.
   * @throws {MalformedFrameError} If a header cannot be decoded.
   */
  push(chunk: Uint8Array, onFrame: FrameSink): void;
  /**
   * Ends the stream: delivers a final partial frame where the codec accepts
   * one, or throws `TruncatedFrameError` if a frame was cut off. Later calls
   * to `push` throw.
   *
   * @param onFrame Called with the final frame, if any.
   * @throws {TruncatedFrameError} If the stream ended mid-frame.
   */
  end(onFrame: FrameSink): void;
  /** Bytes held for a frame that is not complete yet. */
  readonly bufferedBytes: number;
  /** Bytes pushed so far: the stream byte offset of the next byte. */
  readonly bytesRead: number;
}

/** Turns payloads into the bytes of frames. */
export interface FrameEncoder {
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
   * @throws {FrameTooLargeError} As {@linkcode FrameEncoder.encode}.
   * @throws {DelimiterInPayloadError} As {@linkcode FrameEncoder.encode}.
   */
  encodeAll(payloads: readonly Uint8Array[]): Uint8Array;
}

/** A framing scheme: makes decoders and encoders that agree. */
export interface FrameCodec {
  /** A short name for messages and tools, such as `"lines"` or `"u32be"`. */
  readonly name: string;
  /** The largest payload a decoder accepts and an encoder produces. */
  readonly maxFrameSize: number;
  /** Makes a new decoder, with its own state. */
  createDecoder(): FrameDecoder;
  /** Makes a new encoder. */
  createEncoder(): FrameEncoder;
}

/** The default `maxFrameSize` of every codec: 8 MiB. */
export const DEFAULT_MAX_FRAME_SIZE: number = 8 * 1024 * 1024;

/**
 * Decodes all of `chunks` with `decoder` and returns the frames, ending the
 * stream after the last chunk. Handy for tests and small inputs; for streams
 * use the decoder's `push` or a decoder stream.
 *
 * @param decoder A fresh decoder.
 * @param chunks The whole stream, in chunks.
 * @returns Every frame, in order.
 * @throws {FrameTooLargeError} If a frame exceeds `maxFrameSize`.
 * @throws {MalformedFrameError} If a header cannot be decoded.
 * @throws {TruncatedFrameError} If the stream ends mid-frame.
 *
 * @example Decode a whole buffer
 * ```ts
 * import { decodeFrames, delimited } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const frames = decodeFrames(delimited("\0").createDecoder(), [
 *   new Uint8Array([104, 105, 0, 0]),
 * ]);
 * assertEquals(frames, [new Uint8Array([104, 105]), new Uint8Array()]);
 * ```
 */
export function decodeFrames(
  decoder: FrameDecoder,
  chunks: Iterable<Uint8Array>,
): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const sink = (frame: Uint8Array) => {
    frames.push(frame);
  };
  for (const chunk of chunks) decoder.push(chunk, sink);
  decoder.end(sink);
  return frames;
}

/**
 * A transform stream from bytes to frames around any
 * {@linkcode FrameDecoder}, for `pipeThrough()`. On bad input the readable
 * side first hands out every frame decoded before the bad one (a single
 * chunk often holds many), then errors with the decoder's error; the
 * writable side errors at once. At the end of input it hands out a final
 * partial frame or errors with `TruncatedFrameError`, as the decoder says.
 * Backpressure: a write resolves once a reader has taken its frames.
 *
 * @example Lines from a byte stream
 * ```ts
 * import { FrameDecoderStream, lines } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const frames = await Array.fromAsync(
 *   ReadableStream.from([new TextEncoder().encode("a\nb\n")])
 *     .pipeThrough(new FrameDecoderStream(lines().createDecoder())),
 * );
 * assertEquals(frames.length, 2);
 * ```
 */
export class FrameDecoderStream
  implements TransformStream<Uint8Array, Uint8Array> {
  /** The frames. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The bytes. */
  readonly writable: WritableStream<Uint8Array>;

  /**
   * Wraps `decoder`.
   *
   * @param decoder A fresh decoder, used only by this stream.
   */
  constructor(decoder: FrameDecoder) {
    let frames: Uint8Array[] = [];
    let failure: { error: unknown } | null = null;
    let ended = false;
    let taken: (() => void) | null = null; // a write waiting for its frames
    let wakeReader: (() => void) | null = null;
    let writable!: WritableStreamDefaultController;
    const sink: FrameSink = (frame) => {
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
 * {@linkcode FrameEncoder}: one output chunk per frame.
 *
 * @example Encode lines
 * ```ts
 * import { FrameEncoderStream, lines } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks = await Array.fromAsync(
 *   ReadableStream.from([new TextEncoder().encode("hi")])
 *     .pipeThrough(new FrameEncoderStream(lines().createEncoder())),
 * );
 * assertEquals(chunks, [new TextEncoder().encode("hi\n")]);
 * ```
 */
export class FrameEncoderStream
  extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Wraps `encoder`.
   *
   * @param encoder The encoder to use.
   */
  constructor(encoder: FrameEncoder) {
    super({
      transform(payload, controller) {
        controller.enqueue(encoder.encode(payload));
      },
    });
  }
}
