/**
 * {@linkcode relay}: netcat's core. Bytes from an input stream go to a
 * connection while bytes from the connection go to an output stream, both
 * ways at once, each side as fast as the other lets it (backpressure): the
 * relay reads the next chunk only when the previous one has been written.
 * When the input ends it half-closes (sends FIN) and keeps receiving until
 * the peer closes; when the peer closes first, it keeps sending until the
 * input ends — TCP's half-close, both ways. {@linkcode relayFrames} does the
 * same a line at a time: each input line goes out as one frame of any
 * codec, and each frame received comes out as one line, as text or hex.
 * {@linkcode SharedInput} lets several relays take their input from one
 * stream (a server that sends its stdin to every client). Given two
 * connections, {@linkcode relay} joins them, as socat does: half-close,
 * backpressure and a server's graceful drain carried both ways.
 *
 * @example Pipe a message through an echo server
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { relay } from "@sockit/sockit/relay";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   for (let data; (data = await conn.read()) !== null;) await conn.write(data);
 * });
 * const conn = await connect(server.addr);
 * const received: Uint8Array[] = [];
 * const result = await relay(conn, {
 *   readable: ReadableStream.from([new TextEncoder().encode("hello")]),
 *   writable: new WritableStream({ write: (chunk) => void received.push(chunk) }),
 * });
 * // The input ended, the relay sent FIN, the server closed after echoing.
 * assertEquals(result, { reason: "complete", bytesSent: 5, bytesReceived: 5 });
 * assertEquals(new TextDecoder().decode(received[0]), "hello");
 * ```
 *
 * @module
 */
import type { FrameCodec } from "../framing/mod.ts";
import { Connection } from "../tcp/mod.ts";
import { relayConnections } from "./_connections.ts";
import { checkFormat, formatFrame } from "./_format.ts";
import {
  checkRelayOptions,
  InputLines,
  openStreams,
  pumpAll,
  watchRelayEnds,
} from "./_streams.ts";

/**
 * Why a relay ended (when it did not fail):
 *
 * - `"complete"`: both directions came to their end: the input ended (and
 *   FIN was sent), and the peer closed its side (EOF) after everything it
 *   sent was written to the output;
 * - `"peer-closed"`: the peer closed its side and `endWithPeer` said not to
 *   wait for the end of the input;
 * - `"input-ended"`: the input ended and `noHalfClose` (or, for datagrams,
 *   `sendOnly`) said to stop there;
 * - `"idle-timeout"`: nothing moved either way for `idleTimeout` ms;
 * - `"stopped"`: reading was stopped on this side, as a server's graceful
 *   shutdown does.
 */
export type RelayEndReason =
  | "complete"
  | "peer-closed"
  | "input-ended"
  | "idle-timeout"
  | "stopped";

/** The two ends a relay connects a socket to: what to send, where to put what arrives. */
export interface RelayStreams {
  /** The bytes to send (stdin, say). */
  readable: ReadableStream<Uint8Array>;
  /** Where received bytes go (stdout, say). */
  writable: WritableStream<Uint8Array>;
}

/** Options for {@linkcode relay}. */
export interface RelayOptions {
  /**
   * When the input ends, close the connection at once instead of sending FIN
   * and waiting for the peer to finish (what the peer sends after that is
   * lost).
   *
   * @default {false}
   */
  noHalfClose?: boolean;
  /**
   * When the peer closes its side, end at once instead of sending the rest
   * of the input (which is not read). Right when the input is a terminal,
   * where the rest is whatever the user has not typed yet, or shared by
   * several connections (see {@linkcode SharedInput}).
   *
   * @default {false}
   */
  endWithPeer?: boolean;
  /**
   * Only send: what the peer sends is read and thrown away, never written
   * to the output. The relay still waits for the peer to close.
   *
   * @default {false}
   */
  sendOnly?: boolean;
  /**
   * Only receive: the input is never read and nothing is sent (not even
   * FIN, until the relay ends).
   *
   * @default {false}
   */
  recvOnly?: boolean;
  /**
   * End the relay when no byte has moved in either direction (read or
   * written, input or socket) for this many milliseconds: netcat's `-w`,
   * ncat's `-i`. It ends normally, with reason `"idle-timeout"`.
   *
   * @default {no limit}
   */
  idleTimeout?: number;
  /** Aborts the relay: it closes the connection and rejects with the reason. */
  signal?: AbortSignal;
  /**
   * Called with each chunk sent (after it was written) and each chunk
   * received (before it goes to the output), as bytes on the wire: for hex
   * dumps and counters. Do not keep or change the bytes. An exception
   * thrown here fails the relay.
   *
   * @default {none}
   */
  onTraffic?: (direction: "sent" | "received", bytes: Uint8Array) => void;
}

/** How a relay ended: returned by {@linkcode relay}. */
export interface RelayResult {
  /** Why it ended. */
  reason: RelayEndReason;
  /** Bytes written to the connection. */
  bytesSent: number;
  /** Bytes read from the connection (including any thrown away by `sendOnly`). */
  bytesReceived: number;
}

/** Options for {@linkcode relayFrames}. */
export interface FrameRelayOptions extends RelayOptions {
  /**
   * The framing on the wire: each input line (without its `\n` or `\r\n`)
   * is sent as one frame of this codec, and the bytes received are decoded
   * with it. Its `maxFrameSize` also limits input lines.
   */
  codec: FrameCodec;
  /**
   * How each frame received is written to the output.
   *
   * @default {"text"}
   */
  output?: "text" | "hex";
}

/** How a framed relay ended: returned by {@linkcode relayFrames}. */
export interface FrameRelayResult extends RelayResult {
  /** Frames sent: one per input line. */
  framesSent: number;
  /** Frames received and written to the output. */
  framesReceived: number;
}

/** Bytes to write, and an error to raise once they are written. */
interface Converted {
  bytes: Uint8Array | null;
  error?: unknown;
}

/** How a relay turns input into wire bytes and wire bytes into output. */
interface Side {
  encode(chunk: Uint8Array): Converted;
  encodeEnd(): Converted;
  decode(chunk: Uint8Array): Converted;
  decodeEnd(): Converted;
}

const RAW_SIDE: Side = {
  encode: (chunk) => ({ bytes: chunk }),
  encodeEnd: () => ({ bytes: null }),
  decode: (chunk) => ({ bytes: chunk }),
  decodeEnd: () => ({ bytes: null }),
};

/**
 * Relays bytes between `conn` and a pair of streams, both ways at once:
 * input (`streams.readable`) to the connection, connection to output
 * (`streams.writable`). Each direction reads its next chunk only once the
 * last one has been written, so a slow reader at either end slows the
 * other end down and memory stays bounded.
 *
 * How it ends:
 *
 * - By default each direction ends on its own, as TCP's half-close has it:
 *   when the input ends the relay sends FIN (`shutdown("write")`) and goes
 *   on writing what the peer sends; when the peer closes its side, the
 *   relay goes on sending the input until it ends. When both have ended:
 *   `"complete"`. (A peer that closed completely makes the next write fail
 *   with a reset or broken pipe.)
 * - `noHalfClose`: at the end of the input the relay ends (`"input-ended"`).
 * - `endWithPeer`: when the peer closes its side, the relay ends
 *   (`"peer-closed"`).
 * - `sendOnly` / `recvOnly`: one direction only (see
 *   {@linkcode RelayOptions}).
 * - `idleTimeout`: `"idle-timeout"` when nothing moved that long.
 * - `signal`: rejects with its reason.
 * - A network error (a reset, say), an error of either stream or of
 *   `onTraffic`: rejects with it. `conn.bytesReceived` and `conn.bytesSent`
 *   say how far it got.
 *
 * Either way the relay closes the connection when it ends. It does not
 * close or cancel the streams: it releases its locks on them, so a caller
 * can go on using them (a chunk it had already read from the input when
 * it ended is lost).
 *
 * Given a second {@linkcode Connection} instead of streams, the relay
 * joins the two, as socat does (a proxy's job): what `other` sends goes to
 * `conn` (`bytesSent`), what `conn` sends goes to `other`
 * (`bytesReceived`), and EOF on either side is a FIN on the other, so each
 * direction ends on its own and `"complete"` means both did. The options
 * keep their meaning with `other` as the input and the output. A server's
 * graceful shutdown is passed on: when reading one side ends because it
 * was stopped (`stopReading()`, which `Server.shutdown()` calls), reading
 * the other is stopped too, so bytes already flowing finish while a quiet
 * connection ends at once, with reason `"stopped"`. A reset or error on
 * either side rejects (the other side is then closed with a FIN: Deno
 * cannot send a reset). The relay closes both connections when it ends.
 * Memory: each direction reads into one 64 KiB buffer of its own once it
 * streams (and the connection's own read buffer, at most 64 KiB here, when
 * it does not), and reads its next chunk only once the last one is
 * written: at most 256 KiB for both directions, however fast one side
 * sends and however slowly the other reads.
 *
 * @param conn The connection; the relay closes it when it ends.
 * @param streams The input to send and the output for what is received,
 * or a second connection to join `conn` to.
 * @param options Half-close, one direction only, idle timeout, signal,
 * traffic hook.
 * @returns Why it ended, and the bytes each way.
 * @throws {TypeError} If a stream is locked, or `sendOnly` and `recvOnly`
 * are both set, or `streams` is `conn` itself.
 * @throws {RangeError} If `idleTimeout` is not a positive number.
 *
 * @example Send only, with a hex dump of the traffic
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { relay } from "@sockit/sockit/relay";
 * import { hexdump } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const got: string[] = [];
 * await using server = listen({ port: 0 }, async (conn) => {
 *   await conn.write("banner"); // thrown away by sendOnly
 *   got.push(new TextDecoder().decode(await conn.readExactly(2)));
 * });
 * const dumps: string[] = [];
 * const result = await relay(await connect(server.addr), {
 *   readable: ReadableStream.from([new Uint8Array([0x68, 0x69])]),
 *   writable: new WritableStream(),
 * }, {
 *   sendOnly: true,
 *   onTraffic: (direction, bytes) => {
 *     if (direction === "sent") dumps.push(hexdump(bytes, { prefix: "> " }));
 *   },
 * });
 * assertEquals(got, ["hi"]);
 * assertEquals(result.reason, "complete");
 * assertEquals(dumps[0]!.slice(0, 18), "> 00000000  68 69 ");
 * ```
 *
 * @example A proxy: each client joined to a backend
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { relay } from "@sockit/sockit/relay";
 * import { assertEquals } from "@std/assert";
 *
 * await using backend = listen({ port: 0 }, async (conn) => {
 *   for await (const chunk of conn) await conn.write(chunk.toReversed());
 * });
 * await using proxy = listen({ port: 0 }, async (client) => {
 *   await relay(client, await connect(backend.addr));
 * });
 * await using conn = await connect(proxy.addr);
 * await conn.write("abc");
 * await conn.shutdown("write"); // the FIN goes through to the backend
 * assertEquals(new TextDecoder().decode(await conn.readExactly(3)), "cba");
 * assertEquals(await conn.read(), null); // and the backend's FIN back
 * ```
 */
export function relay(
  conn: Connection,
  streams: RelayStreams | Connection,
  options: RelayOptions = {},
): Promise<RelayResult> {
  if (streams instanceof Connection) {
    return relayConnections(conn, streams, options);
  }
  return run(conn, streams, options, RAW_SIDE, "relay");
}

/**
 * {@linkcode relay}, a message at a time: each line of the input (ended by
 * `\n` or `\r\n`; a last line without one counts too) is sent as one frame
 * of `options.codec`, and each frame received is written to the output as
 * one line (`output`: `"text"` or `"hex"`). A batch of lines that arrives
 * in one input chunk goes out in one write.
 *
 * A frame the peer sends that cannot be decoded (too large, a bad header,
 * cut off by the end of the stream) fails the relay with the codec's error,
 * which carries the stream byte offset (`FrameTooLargeError`,
 * `MalformedFrameError`, `TruncatedFrameError`); the frames before it are
 * written first, and the connection is closed. An input line that cannot
 * be sent as a frame (over `maxFrameSize`, or holding a delimiter codec's
 * delimiter) fails it too, with an error that has no offset
 * (`FrameTooLargeError` with `offset` `undefined`,
 * `DelimiterInPayloadError`).
 *
 * @param conn The connection; the relay closes it when it ends.
 * @param streams The input lines and the output for frames received.
 * @param options `codec`, `output`, and everything {@linkcode relay} takes.
 * @returns Why it ended, bytes and frames each way.
 * @throws {TypeError} If a stream is locked, or `sendOnly` and `recvOnly`
 * are both set.
 * @throws {RangeError} If `idleTimeout` is not a positive number.
 *
 * @example Lines in, 16-bit length-prefixed frames on the wire
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { relayFrames } from "@sockit/sockit/relay";
 * import { lengthPrefixed } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lengthPrefixed({ header: "u16be" });
 * await using server = listen({ port: 0 }, async (conn) => {
 *   const framed = conn.framed(codec);
 *   for await (const frame of framed) await framed.send(frame.toReversed());
 * });
 * let out = "";
 * const result = await relayFrames(await connect(server.addr), {
 *   readable: ReadableStream.from([new TextEncoder().encode("abc\nxy\n")]),
 *   writable: new WritableStream({
 *     write: (chunk) => void (out += new TextDecoder().decode(chunk)),
 *   }),
 * }, { codec });
 * assertEquals(out, "cba\nyx\n");
 * assertEquals([result.framesSent, result.framesReceived], [2, 2]);
 * assertEquals(result.bytesSent, 2 + 3 + 2 + 2); // headers and payloads
 * ```
 */
export async function relayFrames(
  conn: Connection,
  streams: RelayStreams,
  options: FrameRelayOptions,
): Promise<FrameRelayResult> {
  const codec = options?.codec;
  if (
    codec === undefined || codec === null ||
    typeof codec.clone !== "function"
  ) {
    throw new TypeError(
      "Cannot relay frames without a codec: give options.codec, such as lines()",
    );
  }
  const format = options.output ?? "text";
  checkFormat(format, "relay frames");
  const counts = { framesSent: 0, framesReceived: 0 };
  const side = framedSide(codec, format, counts);
  const result = await run(conn, streams, options, side, "relay frames");
  return { ...result, ...counts };
}

/** Formats `frames` into one buffer of lines, or `null` for none. */
function formatFrames(
  frames: readonly Uint8Array[],
  format: "text" | "hex",
): Uint8Array | null {
  if (frames.length === 0) return null;
  if (frames.length === 1) return formatFrame(frames[0]!, format);
  const lines = frames.map((frame) => formatFrame(frame, format));
  let total = 0;
  for (const line of lines) total += line.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const line of lines) {
    out.set(line, at);
    at += line.length;
  }
  return out;
}

function framedSide(
  codec: FrameCodec,
  format: "text" | "hex",
  counts: { framesSent: number; framesReceived: number },
): Side {
  const input = new InputLines(codec.maxFrameSize);
  const encoder = codec;
  const decoder = codec.clone(); // decoding state of this relay only
  const frames: Uint8Array[] = [];
  const sink = (frame: Uint8Array) => {
    frames.push(frame);
  };
  const encode = (
    { lines, error }: { lines: Uint8Array[]; error?: unknown },
  ): Converted => {
    if (lines.length === 0) return { bytes: null, error };
    const bytes = encoder.encodeAll(lines); // throws before sending anything
    counts.framesSent += lines.length;
    return error === undefined ? { bytes } : { bytes, error };
  };
  const decode = (step: () => void): Converted => {
    let error: unknown = undefined;
    try {
      step();
    } catch (caught) {
      error = caught;
    }
    const bytes = formatFrames(frames, format);
    counts.framesReceived += frames.length;
    frames.length = 0;
    return error === undefined ? { bytes } : { bytes, error };
  };
  return {
    encode: (chunk) => encode(input.push(chunk)),
    encodeEnd: () => encode(input.end()),
    decode: (chunk) => decode(() => decoder.push(chunk, sink)),
    decodeEnd: () => decode(() => decoder.end(sink)),
  };
}

async function run(
  conn: Connection,
  streams: RelayStreams,
  options: RelayOptions,
  side: Side,
  what: string,
): Promise<RelayResult> {
  checkRelayOptions(options, what);
  const sendOnly = options.sendOnly ?? false;
  const recvOnly = options.recvOnly ?? false;
  const noHalfClose = options.noHalfClose ?? false;
  const endWithPeer = options.endWithPeer ?? false;
  const { idleTimeout, signal, onTraffic } = options;
  signal?.throwIfAborted();

  const { reader, writer } = openStreams(streams, sendOnly, recvOnly);

  let ending = false;
  let reason: RelayEndReason = "complete";
  let inputDone = recvOnly;
  let outputDone = false;
  let failed = false;
  let failure: unknown = undefined;
  let bytesSent = 0;
  let bytesReceived = 0;

  /** Ends the relay: stops both directions and closes the connection. */
  const stop = (why: RelayEndReason | null, error?: unknown) => {
    if (ending) return;
    ending = true;
    if (why === null) {
      failed = true;
      failure = error;
    } else {
      reason = why;
    }
    conn.shutdown("read").catch(() => {}); // wakes a pending read with EOF
    conn.close(); // interrupts a pending write
    try {
      reader?.releaseLock(); // rejects a pending input read
    } catch { /* released already */ }
  };

  const { touch, unwatch } = watchRelayEnds(idleTimeout, signal, stop);

  const send = async (converted: Converted): Promise<void> => {
    const bytes = converted.bytes;
    if (bytes !== null && bytes.length > 0) {
      await conn.write(bytes);
      bytesSent += bytes.length;
      touch();
      onTraffic?.("sent", bytes);
    }
    if (converted.error !== undefined) throw converted.error;
  };

  const output = async (converted: Converted): Promise<void> => {
    const bytes = converted.bytes;
    if (bytes !== null && bytes.length > 0) {
      await writer!.write(bytes);
      touch();
    }
    if (converted.error !== undefined) throw converted.error;
  };

  const pumpInput = async (): Promise<void> => {
    if (reader === null) return;
    for (;;) {
      const { value, done } = await reader.read();
      if (ending) return;
      if (done) break;
      if (value.length === 0) continue;
      touch();
      await send(side.encode(value));
      if (ending) return;
    }
    await send(side.encodeEnd());
    if (ending) return;
    if (noHalfClose) return stop("input-ended");
    await conn.shutdown("write");
    inputDone = true;
    if (outputDone) stop("complete");
  };

  const pumpOutput = async (): Promise<void> => {
    for (;;) {
      const chunk = await conn.read();
      if (ending) return;
      if (chunk === null) {
        if (conn.readingStopped) return stop("stopped");
        if (writer !== null) await output(side.decodeEnd());
        outputDone = true;
        if (endWithPeer) stop("peer-closed");
        else if (inputDone) stop("complete");
        return;
      }
      bytesReceived += chunk.length;
      touch();
      onTraffic?.("received", chunk);
      if (writer !== null) await output(side.decode(chunk));
    }
  };

  try {
    await pumpAll([pumpInput(), pumpOutput()], stop);
  } finally {
    stop(reason); // no-op unless something ended without saying so
    unwatch();
    writer?.releaseLock();
  }
  if (failed) throw failure;
  return { reason, bytesSent, bytesReceived };
}

interface Subscriber {
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** Whether its reader waits for the next chunk. */
  waiting: boolean;
  /** Settles its pending pull. */
  release: (() => void) | null;
}

/**
 * One input stream shared by several readers: each {@linkcode subscribe}
 * gives a new `ReadableStream` that receives every chunk read from the
 * source after it subscribed. The source is read only when every
 * subscriber is waiting for more, so the slowest one sets the pace
 * (backpressure) and memory stays bounded; with no subscriber, nothing is
 * read, and the data waits for the next one. When the source ends, every
 * subscription closes, and one made later starts closed.
 *
 * Made for servers that send their stdin to every client, one after
 * another or several at once: give each connection's {@linkcode relay} a
 * subscription, and cancel it when the relay is done (a subscription that
 * is never read holds everyone up).
 *
 * @example Two readers, the same chunks
 * ```ts
 * import { SharedInput } from "@sockit/sockit/relay";
 * import { assertEquals } from "@std/assert";
 *
 * const shared = new SharedInput(ReadableStream.from([new Uint8Array([1]), new Uint8Array([2])]));
 * const a = shared.subscribe();
 * const b = shared.subscribe();
 * const [gotA, gotB] = await Promise.all([Array.fromAsync(a), Array.fromAsync(b)]);
 * assertEquals(gotA, [new Uint8Array([1]), new Uint8Array([2])]);
 * assertEquals(gotB, gotA);
 * assertEquals(shared.ended, true);
 * ```
 */
export class SharedInput {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #subscribers = new Set<Subscriber>();
  #reading = false;
  // A chunk that arrived when every subscriber had left: the next one gets it.
  #held: Uint8Array | null = null;
  #ended = false;
  #failed = false;
  #error: unknown = undefined;

  /**
   * Shares `source`, which it locks.
   *
   * @param source The stream to share.
   * @throws {TypeError} If `source` is locked.
   */
  constructor(source: ReadableStream<Uint8Array>) {
    this.#reader = source.getReader();
  }

  /** Whether the source has ended (or failed, or was cancelled). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Subscriptions that are open. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /**
   * A new reader of the source, from the next chunk on. Every subscriber
   * gets the same `Uint8Array` for a chunk: do not change it. Cancel the
   * stream when you stop reading it.
   *
   * @returns The subscription.
   */
  subscribe(): ReadableStream<Uint8Array> {
    let subscriber: Subscriber | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const held = this.#held;
        this.#held = null;
        if (held !== null) controller.enqueue(held);
        if (this.#failed) controller.error(this.#error);
        else if (this.#ended) controller.close();
        else {
          subscriber = { controller, waiting: false, release: null };
          this.#subscribers.add(subscriber);
        }
      },
      pull: () => {
        if (subscriber === undefined || !this.#subscribers.has(subscriber)) {
          return;
        }
        const self = subscriber;
        self.waiting = true;
        const pulled = new Promise<void>((resolve) => self.release = resolve);
        this.#readWhenAllWait();
        return pulled;
      },
      cancel: () => {
        if (subscriber !== undefined) this.#drop(subscriber);
        this.#readWhenAllWait();
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Cancels the source and closes every subscription.
   *
   * @param reason Passed to the source's `cancel`.
   */
  async cancel(reason?: unknown): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    for (const subscriber of [...this.#subscribers]) {
      this.#drop(subscriber);
      subscriber.controller.close();
    }
    await this.#reader.cancel(reason);
  }

  #drop(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
    subscriber.waiting = false;
    const release = subscriber.release;
    subscriber.release = null;
    release?.();
  }

  #readWhenAllWait(): void {
    if (this.#reading || this.#ended || this.#subscribers.size === 0) return;
    for (const subscriber of this.#subscribers) {
      if (!subscriber.waiting) return;
    }
    this.#reading = true;
    this.#reader.read().then(({ value, done }) => {
      this.#reading = false;
      if (this.#ended) return; // cancelled meanwhile
      if (done) {
        this.#ended = true;
        for (const subscriber of [...this.#subscribers]) {
          this.#drop(subscriber);
          subscriber.controller.close();
        }
        return;
      }
      // Every subscriber left while the read was under way: keep the
      // chunk for the next one rather than drop it.
      if (this.#subscribers.size === 0) this.#held = value;
      for (const subscriber of this.#subscribers) {
        subscriber.controller.enqueue(value);
        subscriber.waiting = false;
        const release = subscriber.release;
        subscriber.release = null;
        release?.();
      }
    }, (error) => {
      this.#reading = false;
      if (this.#ended) return;
      this.#ended = true;
      this.#failed = true;
      this.#error = error;
      for (const subscriber of [...this.#subscribers]) {
        this.#drop(subscriber);
        subscriber.controller.error(error);
      }
    });
  }
}
