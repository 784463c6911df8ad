/**
 * {@linkcode FramedConnection}: a TCP or Unix connection seen as frames of
 * a codec from `framing/` — `Connection.framed(codec)`.
 *
 * @module
 */
import { type FrameCodec, TruncatedFrameError } from "../framing/mod.ts";
import type { Connection, ReadOptions, WriteOptions } from "./connection.ts";
import { peerOf } from "./_peer.ts";

const encoder = new TextEncoder();

/**
 * A connection seen as frames: `receive()` (or `for await`) decodes incoming
 * bytes with the codec's decoder; `send()` encodes with its encoder. Frames
 * decoded before a framing error are all delivered before the error is
 * raised.
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
  readonly #encoder: FrameCodec;
  #frames: Uint8Array[] = [];
  #head = 0;
  #ended = false;
  #error: unknown = undefined;
  readonly #sink = (frame: Uint8Array) => {
    this.#frames.push(frame);
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
  async receive(options: ReadOptions = {}): Promise<Uint8Array | null> {
    while (this.#head === this.#frames.length) {
      this.#frames.length = 0;
      this.#head = 0;
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      let chunk: Uint8Array | null;
      try {
        chunk = await this.#conn.read(options);
      } catch (error) {
        throw this.#cutOff(error);
      }
      if (chunk === null && this.#conn.readingStopped) {
        // We stopped reading (a graceful shutdown), the peer did not end
        // the stream: a partial frame is not a frame, and not an error.
        this.#ended = true;
        return null;
      }
      try {
        if (chunk === null) {
          this.#ended = true;
          this.#decoder.end(this.#sink);
        } else {
          this.#decoder.push(chunk, this.#sink);
        }
      } catch (error) {
        this.#error = error;
      }
    }
    return this.#frames[this.#head++]!;
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
