/**
 * Length-prefix framing: each frame is a header that says how long it is,
 * then that many bytes. The options are those of tokio's
 * `LengthDelimitedCodec` and Netty's `LengthFieldBasedFrameDecoder`: bytes
 * before the length field, an adjustment to the length, a length that counts
 * the header, and how much of the header to strip.
 *
 * | `header` | the length field | `"hi"` framed (hex) |
 * | --- | --- | --- |
 * | `"u8"` | 1 byte, up to 255 | `02 6869` |
 * | `"u16be"`, `"u16le"` | 2 bytes, up to 65,535 | `0002 6869`, `0200 6869` |
 * | `"u32be"` (default), `"u32le"` | 4 bytes, up to 2**32-1 | `00000002 6869` |
 * | `"u64be"`, `"u64le"` | 8 bytes, up to `Number.MAX_SAFE_INTEGER` | `0000000000000002 6869` |
 * | `"varint"` | unsigned LEB128 (protobuf), 1 to 10 bytes | `02 6869` |
 * | `"ascii"` | decimal digits, then `asciiSeparator` (`":"`) | `2:hi` |
 * | `"netstring"` | D. J. Bernstein's netstrings: digits, `:`, payload, `,` | `2:hi,` |
 * | `"ascii-fixed"` | `asciiWidth` (10) bytes of decimal digits, padded with spaces or zeros | `2         hi` |
 *
 * ASCII lengths (`"ascii"` and `"netstring"`) are canonical: at least one
 * digit and no leading zero (`0` alone is the empty payload), as netstrings
 * require; `05:hello,` is a {@linkcode MalformedFrameError}.
 *
 * `"ascii-fixed"` is the header Python socket tutorials write with
 * `f"{len(msg):<10}".encode() + msg` and read with `int(sock.recv(10))`:
 * the encoder pads as `asciiAlign` says (`f"{n:<10}"`, `f"{n:>10}"` or
 * `f"{n:010}"`); the decoder reads all three, as `int()` does — spaces,
 * then digits (leading zeros allowed), then spaces.
 *
 * Decoders never trust a header further than `maxFrameSize`: a frame that
 * announces more raises {@linkcode FrameTooLargeError} at the header, before
 * any payload is buffered, and memory for a frame grows only as its bytes
 * arrive. When exactly:
 *
 * - binary (`u8` … `u64le`), `ascii-fixed` and `varint` headers: when the
 *   length field is complete (its last byte; a varint's is the first byte
 *   without the continuation bit). Meanwhile the decoder holds only the
 *   header so far: `lengthFieldOffset` plus at most 8 bytes (binary), 64
 *   (`ascii-fixed`) or 10 (`varint`: a continuation bit on the 10th byte is
 *   a {@linkcode MalformedFrameError}).
 * - `ascii` and `netstring` headers: as soon as the digits so far exceed it,
 *   before the separator (more digits only make the length larger).
 *
 * A stream that ends inside a frame raises {@linkcode TruncatedFrameError}
 * at `end()`: a length header without its end (say `"99"` and no separator;
 * had the digits passed `maxFrameSize`, the `push` that brought them would
 * already have raised `FrameTooLargeError`), or a payload (or a netstring's
 * `,`) cut short.
 *
 * @example Frame and unframe with a 16-bit big-endian length
 * ```ts
 * import { lengthPrefixed } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lengthPrefixed({ header: "u16be" });
 * const bytes = codec.encode(new TextEncoder().encode("hello"));
 * assertEquals(bytes, new Uint8Array([0, 5, 104, 101, 108, 108, 111]));
 *
 * const frames = codec.decode(bytes);
 * assertEquals(new TextDecoder().decode(frames[0]), "hello");
 * ```
 *
 * @module
 */
import type { FrameCodec } from "./codec.ts";
import {
  FrameTooLargeError,
  MalformedFrameError,
  TruncatedFrameError,
} from "./errors.ts";
import { FrameBuffer } from "./_frame_buffer.ts";
import { checkInteger, DEFAULT_MAX_FRAME_SIZE } from "./_options.ts";

/** A frame handed out as `bytes[start..end)`, valid during the call only. */
type RangeSink = (bytes: Uint8Array, start: number, end: number) => void;

/**
 * How a frame's length is written: a fixed-size unsigned integer (`u8`,
 * `u16be`, …, `u64le`), an unsigned LEB128 `varint`, decimal `ascii` digits
 * followed by a separator, a `netstring` (`5:hello,`), or decimal digits
 * padded to a fixed width (`ascii-fixed`, Python's `f"{n:<10}"`).
 */
export type LengthHeader =
  | "u8"
  | "u16be"
  | "u16le"
  | "u32be"
  | "u32le"
  | "u64be"
  | "u64le"
  | "varint"
  | "ascii"
  | "netstring"
  | "ascii-fixed";

/** Options of {@linkcode LengthPrefixCodec}, {@linkcode lengthPrefixed} and {@linkcode netstrings}. */
export interface LengthPrefixOptions {
  /**
   * How the length is written.
   *
   * @default {"u32be"}
   */
  header?: LengthHeader;
  /**
   * Bytes before the length field, such as a message type. They are part of
   * the header; encoders take them as `prefix` (zeros when omitted).
   *
   * @default {0}
   */
  lengthFieldOffset?: number;
  /**
   * Added to the length field's value to get the number of bytes that follow
   * the length field (as in tokio and Netty). Use it for a header field that
   * sits after the length, or for a length that counts a checksum.
   *
   * @default {0}
   */
  lengthAdjustment?: number;
  /**
   * Whether the length counts the header too (`lengthFieldOffset` plus the
   * length field itself): the same as an extra adjustment of minus the
   * header's size. With a variable-size field (`varint`, `ascii`,
   * `netstring`) the field counts itself, so the encoder writes the smallest
   * length that is consistent with its own size, whatever the separator's
   * length (`"35"` + 31 `#` + a 2-byte payload).
   *
   * @default {false}
   */
  lengthIncludesHeader?: boolean;
  /**
   * How many bytes to drop from the start of each decoded frame (Netty's
   * `initialBytesToStrip`, tokio's `num_skip`): `0` keeps the header (and a
   * netstring's `,`). With a fixed-size header it may reach past the header
   * into the payload; a decoded frame shorter than it is a
   * {@linkcode MalformedFrameError}, and `encode()` refuses a payload too
   * short to reach it with a `RangeError` (it would make such a frame).
   * With a variable-size header (`varint`, `ascii`, `netstring`) only the
   * default and `0` are allowed.
   *
   * @default {The whole header: `lengthFieldOffset` plus the length field}
   */
  stripBytes?: number;
  /**
   * The largest number of bytes that may follow the length field (after the
   * adjustment; a netstring's `,` not counted). Decoders raise
   * {@linkcode FrameTooLargeError} for a larger frame at its header (binary,
   * `ascii-fixed` and `varint` headers once the length field is complete;
   * `ascii` and `netstring` as soon as the digits so far exceed it), before
   * any of its payload is held; encoders refuse a larger payload.
   *
   * @default {DEFAULT_MAX_FRAME_SIZE (8 MiB)}
   */
  maxFrameSize?: number;
  /**
   * What ends the digits of an `ascii` or `netstring` length: one or more
   * characters, no digits. Only for those two headers.
   *
   * @default {":"}
   */
  asciiSeparator?: string;
  /**
   * The size of an `ascii-fixed` length field in bytes, 1 to 64: Python's
   * `HEADERSIZE`. Only for that header.
   *
   * @default {10}
   */
  asciiWidth?: number;
  /**
   * How the encoder pads an `ascii-fixed` length: `"left"` is Python's
   * `f"{n:<10}"` (`"5         "`), `"right"` is `f"{n:>10}"`
   * (`"         5"`), `"zeros"` is `f"{n:010}"` (`"0000000005"`). The
   * decoder reads all three. Only for that header.
   *
   * @default {"left"}
   */
  asciiAlign?: "left" | "right" | "zeros";
}

// ---------------------------------------------------------------------------
// Options, resolved once per decoder or encoder.

// Header kinds, as small integers for the hot loop's switch.
const K_U8 = 0;
const K_U16BE = 1;
const K_U16LE = 2;
const K_U32BE = 3;
const K_U32LE = 4;
const K_U64BE = 5;
const K_U64LE = 6;
const K_VARINT = 7;
const K_ASCII = 8;
const K_NETSTRING = 9;
const K_ASCII_FIXED = 10;

/** Kind, length-field size (0: variable) and largest value of each header. */
const HEADERS: Readonly<
  Record<LengthHeader, readonly [number, number, number]>
> = {
  u8: [K_U8, 1, 0xff],
  u16be: [K_U16BE, 2, 0xffff],
  u16le: [K_U16LE, 2, 0xffff],
  u32be: [K_U32BE, 4, 0xffff_ffff],
  u32le: [K_U32LE, 4, 0xffff_ffff],
  u64be: [K_U64BE, 8, Number.MAX_SAFE_INTEGER],
  u64le: [K_U64LE, 8, Number.MAX_SAFE_INTEGER],
  varint: [K_VARINT, 0, Number.MAX_SAFE_INTEGER],
  ascii: [K_ASCII, 0, Number.MAX_SAFE_INTEGER],
  netstring: [K_NETSTRING, 0, Number.MAX_SAFE_INTEGER],
  // Its size and range come from asciiWidth.
  "ascii-fixed": [K_ASCII_FIXED, 0, 0],
};

const SPACE = 0x20;
const ZERO = 0x30;
/** The `asciiWidth` of Python tutorials' `HEADERSIZE = 10`. */
const DEFAULT_ASCII_WIDTH = 10;
const MAX_ASCII_WIDTH = 64;
const ALIGNS = ["left", "right", "zeros"] as const;
/** Shared by every codec that has no separator or ascii-fixed field: never written. */
const NO_BYTES = new Uint8Array(0);

const COMMA = 0x2c;
const MAX_VARINT_BYTES = 10;
/** More ASCII digits than this is past `Number.MAX_SAFE_INTEGER`. */
const MAX_ASCII_DIGITS = 16;

/** Everything the decoder and encoder need, checked. */
interface Config {
  header: LengthHeader;
  kind: number;
  /** Length-field size in bytes, or 0 for a variable-size field. */
  fieldSize: number;
  /** Largest value the length field can hold. */
  fieldMax: number;
  fieldOffset: number;
  adjustment: number;
  includesHeader: boolean;
  /** Bytes to strip, or -1 for "the whole header (and trailer)". */
  strip: number;
  /** Smallest number of bytes after the length field (so strip fits). */
  minBody: number;
  maxFrameSize: number;
  /** Separator bytes after ASCII digits (empty for binary headers). */
  separator: Uint8Array;
  /** Trailer bytes after the payload: 1 for a netstring's `,`, else 0. */
  trailer: number;
  /** How an `ascii-fixed` length is padded. */
  align: "left" | "right" | "zeros";
}

function resolveOptions(options: LengthPrefixOptions): Config {
  const header = options.header ?? "u32be";
  if (!Object.hasOwn(HEADERS, header)) {
    throw new RangeError(
      `Cannot use header ${JSON.stringify(header)}: it must be one of ${
        Object.keys(HEADERS).join(", ")
      }`,
    );
  }
  let [kind, fieldSize, fieldMax] = HEADERS[header];
  const fieldOffset = options.lengthFieldOffset ?? 0;
  checkInteger("lengthFieldOffset", fieldOffset, 0);
  const adjustment = options.lengthAdjustment ?? 0;
  checkInteger("lengthAdjustment", adjustment, -Number.MAX_SAFE_INTEGER);
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  checkInteger("maxFrameSize", maxFrameSize, 0);

  const ascii = kind === K_ASCII || kind === K_NETSTRING;
  if (options.asciiSeparator !== undefined && !ascii) {
    throw new RangeError(
      `Cannot use asciiSeparator with header "${header}": it applies to the ascii and netstring headers only`,
    );
  }
  const separatorText = ascii ? options.asciiSeparator ?? ":" : "";
  if (ascii && (separatorText === "" || /[0-9]/.test(separatorText))) {
    throw new RangeError(
      `Cannot use asciiSeparator ${
        JSON.stringify(separatorText)
      }: it must be a non-empty string without digits`,
    );
  }

  const align = options.asciiAlign ?? "left";
  if (kind !== K_ASCII_FIXED) {
    const name = options.asciiWidth !== undefined
      ? "asciiWidth"
      : options.asciiAlign !== undefined
      ? "asciiAlign"
      : undefined;
    if (name !== undefined) {
      throw new RangeError(
        `Cannot use ${name} with header "${header}": it applies to the ascii-fixed header only`,
      );
    }
  } else {
    if (!ALIGNS.includes(align)) {
      throw new RangeError(
        `Cannot use asciiAlign ${JSON.stringify(align)}: it must be one of ${
          ALIGNS.join(", ")
        }`,
      );
    }
    fieldSize = options.asciiWidth ?? DEFAULT_ASCII_WIDTH;
    checkInteger("asciiWidth", fieldSize, 1);
    if (fieldSize > MAX_ASCII_WIDTH) {
      throw new RangeError(
        `Cannot use asciiWidth ${fieldSize}: it must be at most ${MAX_ASCII_WIDTH}`,
      );
    }
    fieldMax = Math.min(10 ** fieldSize - 1, Number.MAX_SAFE_INTEGER);
  }

  let strip = -1;
  let minBody = 0;
  if (options.stripBytes !== undefined) {
    checkInteger("stripBytes", options.stripBytes, 0);
    if (fieldSize === 0 && options.stripBytes !== 0) {
      throw new RangeError(
        `Cannot use stripBytes ${options.stripBytes} with header "${header}": its size varies, so only 0 (keep the header) or the default (strip it) work`,
      );
    }
    strip = options.stripBytes;
    minBody = Math.max(0, strip - fieldOffset - fieldSize);
  }
  return {
    header,
    kind,
    fieldSize,
    fieldMax,
    fieldOffset,
    adjustment,
    includesHeader: options.lengthIncludesHeader ?? false,
    strip,
    minBody,
    maxFrameSize,
    separator: separatorText === ""
      ? NO_BYTES
      : new TextEncoder().encode(separatorText),
    trailer: kind === K_NETSTRING ? 1 : 0,
    align,
  };
}

/** A byte for a message: `0x7a`. */
function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/** An expected byte for a message: `':'` when printable, else `0x0a`. */
function showByte(byte: number): string {
  return byte > 0x20 && byte < 0x7f
    ? `'${String.fromCharCode(byte)}'`
    : hex(byte);
}

// ---------------------------------------------------------------------------
// Decoding
//
// State machine. Between pushes the decoder is in one of three states:
//
//   BETWEEN FRAMES  (#inFrame false): nothing held.
//   IN A HEADER     (#inFrame, #total < 0): a frame started at stream offset
//                   #frameStart and #received of its bytes have arrived; the
//                   header parser's progress is in #headerSeen, #value (the
//                   length so far) and, for ASCII, #digits and
//                   #separatorSeen.
//   IN A PAYLOAD    (#inFrame, #total >= 0): the header is read and checked;
//                   the frame is #total bytes (header, payload, trailer),
//                   #received of them have arrived.
//
// Of a frame in progress, #pending holds only the bytes that will be handed
// out (frame bytes #keepFrom to #keepTo): stripped header bytes and a
// netstring's trailer are looked at as they pass and never kept.
//
// push(chunk) first finishes a frame in progress from the front of the chunk
// (#feed), then scans the rest (#scanFixed / #scanVariable): frames that lie
// wholly in the chunk go out as views of it with no state kept; the first
// frame that does not fit becomes the frame in progress. Header parsing that
// spans pushes is byte-at-a-time and resumable (#stepHeader), so no byte is
// parsed twice (an ascii-fixed field is gathered, then parsed once). Any
// error moves the decoder to FAILED for good: every later call rethrows it.
//
// Encoding keeps no state: it reads only #config.

/**
 * The {@linkcode FrameCodec} for length-prefixed frames, both ways (see the
 * module docs for the header kinds).
 *
 * Decoding is a synchronous push decoder. Frames that lie inside one chunk
 * are views of it (or, with {@linkcode LengthPrefixCodec.pushRanges},
 * ranges of it); frames that span chunks are assembled in memory that grows
 * as their bytes arrive. Encoding refuses a payload over `maxFrameSize` or
 * too long for its header, never writing a truncated length.
 *
 * {@linkcode lengthPrefixed} and {@linkcode netstrings} make one.
 *
 * @example Decode frames split across chunks
 * ```ts
 * import { lengthPrefixed } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lengthPrefixed({ header: "u8" });
 * assertEquals(codec.decode(new Uint8Array([2, 104, 105, 3, 97])), [
 *   new Uint8Array([104, 105]),
 * ]);
 * assertEquals(codec.bufferedBytes, 1); // "a": a stripped header is not kept
 * assertEquals(codec.decode(new Uint8Array([98, 99])), [
 *   new Uint8Array([97, 98, 99]),
 * ]);
 * codec.end();
 * assertEquals(codec.encode(new Uint8Array([7])), new Uint8Array([1, 7]));
 * ```
 */
export class LengthPrefixCodec implements FrameCodec {
  /** The header kind, such as `"u32be"`. */
  readonly name: string;
  /**
   * The largest number of bytes after the length field (after the
   * adjustment).
   */
  readonly maxFrameSize: number;
  readonly #options: LengthPrefixOptions;
  readonly #config: Config;
  // Configuration, copied into fields so the hot loop reads them directly.
  #kind: number;
  #fieldOffset: number;
  #fixedHeaderSize: number;
  #adjustment: number;
  #includesHeader: boolean;
  #strip: number;
  #minBody: number;
  #maxFrameSize: number;
  #separator: Uint8Array;
  #trailer: number;
  #headerCap: number;
  /** An ascii-fixed field that spans chunks, gathered here to be parsed. */
  #asciiField: Uint8Array;
  /** #keepFrom of a new frame: fixed headers know it before they start. */
  #initialKeepFrom: number;

  // Stream state.
  #bytesRead = 0;
  /** Stream offset of the current chunk's first byte. */
  #base = 0;
  #pending: FrameBuffer = new FrameBuffer();
  #inFrame = false;
  #frameStart = 0;
  #total = -1;
  #received = 0;
  #keepFrom = 0;
  #keepTo = Infinity;
  #headerSize = 0;
  #headerSeen = 0;
  #value = 0;
  #digits = 0;
  #separatorSeen = 0;
  #ended = false;
  #busy = false;
  #error: Error | undefined = undefined;
  // The sinks of the push in progress: exactly one is set.
  #onFrame: ((frame: Uint8Array) => void) | undefined = undefined;
  #onRange: RangeSink | undefined = undefined;
  #collected: Uint8Array[] = [];
  #collect = (frame: Uint8Array): void => {
    this.#collected.push(frame);
  };

  /**
   * Makes a codec.
   *
   * @param options Header kind, layout and limits; see
   * {@linkcode LengthPrefixOptions}.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(options: LengthPrefixOptions = {}) {
    const config = resolveOptions(options);
    this.#options = { ...options };
    this.#config = config;
    this.name = config.header;
    this.maxFrameSize = config.maxFrameSize;
    this.#kind = config.kind;
    this.#fieldOffset = config.fieldOffset;
    this.#fixedHeaderSize = config.fieldSize === 0
      ? 0
      : config.fieldOffset + config.fieldSize;
    this.#adjustment = config.adjustment;
    this.#includesHeader = config.includesHeader;
    this.#strip = config.strip === -1 && config.fieldSize !== 0
      ? this.#fixedHeaderSize
      : config.strip;
    this.#minBody = config.minBody;
    this.#maxFrameSize = config.maxFrameSize;
    this.#separator = config.separator;
    this.#trailer = config.trailer;
    this.#headerCap = config.fieldOffset + Math.max(
      MAX_VARINT_BYTES + MAX_ASCII_DIGITS + config.separator.length,
      config.fieldSize,
    );
    this.#asciiField = config.kind === K_ASCII_FIXED
      ? new Uint8Array(config.fieldSize)
      : NO_BYTES;
    // Variable headers keep all (stripBytes 0) or nothing of the header.
    this.#initialKeepFrom = this.#strip === -1 ? Infinity : this.#strip;
  }

  /**
   * A new codec with the same options and fresh decoding state.
   *
   * @returns The new codec.
   *
   * @example A fresh codec for the next stream
   * ```ts
   * import { lengthPrefixed } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = lengthPrefixed({ header: "u16le" });
   * codec.decode(new Uint8Array([5, 0, 1]));
   * const next = codec.clone();
   * assertEquals([next.name, next.bufferedBytes], ["u16le", 0]);
   * ```
   */
  clone(): LengthPrefixCodec {
    return new LengthPrefixCodec(this.#options);
  }

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.#pending.length;
  }

  /** Bytes pushed so far: the stream byte offset of the next byte. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /**
   * Decodes `chunk`, calling `onFrame` for each frame it completes, in order.
   * A frame that lies inside `chunk` is a view of it; the decoder copies the
   * bytes it keeps, so `chunk` may be reused once this returns.
   *
   * @param chunk The next bytes of the stream.
   * @param onFrame Called with each complete frame.
   * @throws {FrameTooLargeError} If a header announces more than
   * `maxFrameSize` bytes.
   * @throws {MalformedFrameError} If a header (or a netstring's `,`) is bad.
   * @throws {TypeError} If called after {@linkcode LengthPrefixCodec.end},
   * or from inside its own `onFrame`.
   *
   * @example Count frames
   * ```ts
   * import { lengthPrefixed } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * let count = 0;
   * const codec = lengthPrefixed({ header: "u16le" });
   * codec.push(new Uint8Array([1, 0, 42, 0, 0]), () => count++);
   * assertEquals(count, 2);
   * ```
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    this.#run(chunk, onFrame, undefined);
  }

  /**
   * Like {@linkcode LengthPrefixCodec.push}, but hands out each frame as a
   * range `bytes[start..end)` instead of a view: no allocation per frame
   * that lies inside `chunk`, for code that reads frames in place. The range
   * is valid during the call only.
   *
   * @param chunk The next bytes of the stream.
   * @param onRange Called with each complete frame's bytes and bounds.
   * @throws {FrameTooLargeError} As {@linkcode LengthPrefixCodec.push}.
   * @throws {MalformedFrameError} As {@linkcode LengthPrefixCodec.push}.
   * @throws {TypeError} As {@linkcode LengthPrefixCodec.push}.
   *
   * @example Sum the first byte of each frame without allocating
   * ```ts
   * import { lengthPrefixed } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * let sum = 0;
   * const codec = lengthPrefixed({ header: "u8" });
   * codec.pushRanges(new Uint8Array([1, 40, 2, 2, 9]), (bytes, start) => {
   *   sum += bytes[start]!;
   * });
   * assertEquals(sum, 42);
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
    if (this.#error !== undefined) throw this.#error;
    if (this.#ended) {
      throw new TypeError(
        "Cannot decode with a codec after end(): clone() it for a new stream",
      );
    }
    if (this.#busy) {
      throw new TypeError(
        "Cannot push to a codec from inside its own frame callback",
      );
    }
    const base = this.#bytesRead;
    this.#base = base;
    this.#bytesRead = base + chunk.length;
    this.#busy = true;
    this.#onFrame = onFrame;
    this.#onRange = onRange;
    try {
      let pos = 0;
      if (this.#inFrame) pos = this.#feed(chunk, 0);
      if (pos < chunk.length) {
        if (this.#fixedHeaderSize !== 0) this.#scanFixed(chunk, pos);
        else this.#scanVariable(chunk, pos);
      }
    } catch (error) {
      this.#fail(error as Error);
      throw error;
    } finally {
      this.#busy = false;
      this.#onFrame = undefined;
      this.#onRange = undefined;
    }
  }

  /** Hands out the frame `bytes[start..end)` to the sink in use. */
  #emit(bytes: Uint8Array, start: number, end: number): void {
    if (this.#onRange !== undefined) {
      this.#onRange(bytes, start, end);
    } else {
      this.#onFrame!(
        start === 0 && end === bytes.length
          ? bytes
          : new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start),
      );
    }
  }

  /**
   * Hands out the frame assembled in #pending. As a range it is valid during
   * the call only, so the memory is kept for the next frame; as a view it is
   * the caller's, so the buffer lets it go.
   */
  #emitAssembled(): void {
    if (this.#onRange !== undefined) {
      const frame = this.#pending.peek();
      this.#onRange(frame, 0, frame.length);
      this.#pending.reset();
    } else {
      this.#onFrame!(this.#pending.take());
    }
  }

  /**
   * Decodes `chunk` and returns the frames it completes: {@linkcode push}
   * into an array.
   *
   * @param chunk The next bytes of the stream.
   * @returns The frames completed by `chunk`, in order.
   * @throws {FrameTooLargeError} As {@linkcode LengthPrefixCodec.push}.
   * @throws {MalformedFrameError} As {@linkcode LengthPrefixCodec.push}.
   * @throws {TypeError} If called after {@linkcode LengthPrefixCodec.end}.
   *
   * @example Decode a netstring
   * ```ts
   * import { netstrings } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const [frame] = netstrings().decode(new TextEncoder().encode("5:hello,"));
   * assertEquals(new TextDecoder().decode(frame), "hello");
   * ```
   */
  decode(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    this.#collected = frames;
    try {
      this.push(chunk, this.#collect);
    } finally {
      this.#collected = [];
    }
    return frames;
  }

  /**
   * Ends the stream. A length-prefixed stream has no final partial frame: if
   * a frame was started, this throws. Later calls to `push` throw.
   *
   * @param _onFrame Not called: accepted for the {@linkcode FrameCodec}
   * interface.
   * @throws {TruncatedFrameError} If the stream ended inside a frame, with
   * `expected` (the whole frame's size, when its header was read) and
   * `received`: a payload or a netstring's `,` cut short, or a length header
   * without its end (ASCII digits and no separator, a varint whose last byte
   * has the continuation bit). Digits already over `maxFrameSize` never get
   * here: the `push` that brought them raised `FrameTooLargeError`.
   *
   * @example A cut-off frame
   * ```ts
   * import { lengthPrefixed, TruncatedFrameError } from "@sockit/sockit/framing";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const codec = lengthPrefixed({ header: "u8" });
   * codec.decode(new Uint8Array([5, 104, 105]));
   * const error = assertThrows(() => codec.end(), TruncatedFrameError);
   * assertEquals([error.expected, error.received], [6, 3]);
   * ```
   */
  end(_onFrame?: (frame: Uint8Array) => void): void {
    if (this.#error !== undefined) throw this.#error;
    this.#ended = true;
    if (!this.#inFrame) return;
    const received = this.#received;
    const error = this.#total >= 0
      ? new TruncatedFrameError({
        expected: this.#total,
        received,
        offset: this.#frameStart,
      })
      : new TruncatedFrameError(
        { received, offset: this.#frameStart },
        `Cannot decode frame as the stream ended inside its length header: ${received} bytes received, at byte offset ${this.#frameStart}`,
      );
    this.#fail(error);
    throw error;
  }

  #fail(error: Error): void {
    this.#error = error;
    this.#inFrame = false;
    this.#pending.clear();
  }

  /**
   * The hot loop for fixed-size headers: hands out every frame that lies
   * wholly in `chunk` from `pos` on, then keeps the rest as the frame in
   * progress.
   */
  #scanFixed(chunk: Uint8Array, pos: number): void {
    const length = chunk.length;
    const onFrame = this.#onFrame;
    const onRange = this.#onRange;
    const kind = this.#kind;
    const headerSize = this.#fixedHeaderSize;
    const fieldOffset = this.#fieldOffset;
    const adjustment = this.#includesHeader
      ? this.#adjustment - headerSize
      : this.#adjustment;
    const minBody = this.#minBody;
    const maxBody = this.#maxFrameSize;
    const strip = this.#strip;
    // A view made with the constructor is much cheaper than subarray().
    const buffer = chunk.buffer;
    const byteOffset = chunk.byteOffset + strip;
    while (length - pos >= headerSize) {
      const at = pos + fieldOffset;
      let value: number;
      switch (kind) {
        case K_U8:
          value = chunk[at]!;
          break;
        case K_U16BE:
          value = (chunk[at]! << 8) | chunk[at + 1]!;
          break;
        case K_U16LE:
          value = chunk[at]! | (chunk[at + 1]! << 8);
          break;
        case K_U32BE:
          value = readUint32Be(chunk, at);
          break;
        case K_U32LE:
          value = readUint32Le(chunk, at);
          break;
        case K_U64BE:
          value = readUint32Be(chunk, at) * 0x1_0000_0000 +
            readUint32Be(chunk, at + 4);
          break;
        case K_U64LE:
          value = readUint32Le(chunk, at + 4) * 0x1_0000_0000 +
            readUint32Le(chunk, at);
          break;
        default: // K_ASCII_FIXED
          value = this.#parseAsciiField(chunk, at, this.#base + at);
      }
      const body = value + adjustment;
      if (body > maxBody || body < minBody) {
        this.#frameStart = this.#base + pos;
        this.#rejectLength(value, headerSize);
      }
      const end = pos + headerSize + body;
      if (end > length) {
        // Header read, payload incomplete: this frame goes on next push.
        this.#startFrame(pos);
        this.#headerSize = headerSize;
        this.#headerSeen = headerSize;
        this.#total = headerSize + body;
        this.#keepTo = this.#total;
        this.#keep(chunk, pos, length);
        return;
      }
      if (onFrame !== undefined) {
        onFrame(new Uint8Array(buffer, byteOffset + pos, end - pos - strip));
      } else {
        onRange!(chunk, pos + strip, end);
      }
      pos = end;
    }
    if (pos < length) {
      // A partial header: step through it so the next push resumes.
      this.#startFrame(pos);
      this.#feed(chunk, pos);
    }
  }

  /**
   * The loop for variable-size headers: parses each header in place and
   * hands out every frame that lies wholly in `chunk` from `pos` on, then
   * keeps the rest as the frame in progress.
   */
  #scanVariable(chunk: Uint8Array, pos: number): void {
    const length = chunk.length;
    while (pos < length) {
      this.#startFrame(pos);
      const headerEnd = this.#stepHeader(chunk, pos);
      if (headerEnd < 0 || pos + this.#total > length) {
        this.#keep(chunk, pos, length);
        return;
      }
      const end = pos + this.#total;
      if (this.#trailer !== 0) this.#checkTrailer(chunk[end - 1]!);
      this.#inFrame = false;
      this.#emit(chunk, pos + this.#keepFrom, pos + this.#keepTo);
      pos = end;
    }
  }

  /**
   * Goes on with the frame in progress from `chunk[pos]`: reads the rest of
   * its header, then its payload. Returns where the next frame starts, or
   * the chunk's length if the frame is still not complete.
   */
  #feed(chunk: Uint8Array, pos: number): number {
    const length = chunk.length;
    if (this.#total < 0) {
      const headerEnd = this.#stepHeader(chunk, pos);
      if (headerEnd < 0) {
        this.#keep(chunk, pos, length);
        return length;
      }
      this.#keep(chunk, pos, headerEnd);
      pos = headerEnd;
    }
    const missing = this.#total - this.#received;
    if (length - pos < missing) {
      this.#keep(chunk, pos, length);
      return length;
    }
    const end = pos + missing;
    // A trailer is at least one byte, so it is the last byte of this chunk.
    if (this.#trailer !== 0) this.#checkTrailer(chunk[end - 1]!);
    this.#keep(chunk, pos, end);
    this.#inFrame = false;
    this.#emitAssembled();
    return end;
  }

  /**
   * Takes `chunk[start, end)`, the next bytes of the frame in progress:
   * copies those that will be handed out into #pending.
   */
  #keep(chunk: Uint8Array, start: number, end: number): void {
    const received = this.#received;
    this.#received = received + end - start;
    const from = Math.max(received, this.#keepFrom);
    const to = Math.min(this.#received, this.#keepTo);
    if (from < to) {
      this.#pending.append(
        chunk.subarray(start + from - received, start + to - received),
        this.#keepTo === Infinity
          ? this.#headerCap
          : this.#keepTo - this.#keepFrom,
      );
    }
  }

  /** Begins a frame at `chunk[pos]` with nothing of its header read. */
  #startFrame(pos: number): void {
    this.#inFrame = true;
    this.#frameStart = this.#base + pos;
    this.#total = -1;
    this.#received = 0;
    this.#keepFrom = this.#initialKeepFrom;
    this.#keepTo = Infinity;
    this.#headerSeen = 0;
    this.#value = 0;
    this.#digits = 0;
    this.#separatorSeen = 0;
  }

  /** Checks the netstring trailer, the frame's last byte. */
  #checkTrailer(byte: number): void {
    if (byte !== COMMA) {
      throw new MalformedFrameError(
        `expected ',' after the ${
          this.#total - this.#headerSize - 1
        }-byte payload, got ${hex(byte)}`,
        this.#frameStart + this.#total - 1,
      );
    }
  }

  /**
   * Reads header bytes from `chunk[pos]` on, resuming where the last call
   * stopped. Returns the offset just past the header once it is complete
   * (having set #total), or -1 if the chunk ran out first.
   */
  #stepHeader(chunk: Uint8Array, pos: number): number {
    const fieldOffset = this.#fieldOffset;
    if (this.#headerSeen < fieldOffset) {
      const skip = Math.min(fieldOffset - this.#headerSeen, chunk.length - pos);
      this.#headerSeen += skip;
      pos += skip;
      if (this.#headerSeen < fieldOffset) return -1;
    }
    switch (this.#kind) {
      case K_VARINT:
        return this.#stepVarint(chunk, pos);
      case K_ASCII:
      case K_NETSTRING:
        return this.#stepAscii(chunk, pos);
      default:
        return this.#stepFixed(chunk, pos);
    }
  }

  #stepFixed(chunk: Uint8Array, pos: number): number {
    if (this.#kind === K_ASCII_FIXED) return this.#stepAsciiField(chunk, pos);
    const headerSize = this.#fixedHeaderSize;
    const little = this.#kind === K_U16LE || this.#kind === K_U32LE ||
      this.#kind === K_U64LE;
    let seen = this.#headerSeen;
    let value = this.#value;
    while (seen < headerSize && pos < chunk.length) {
      const byte = chunk[pos++]!;
      value = little
        ? value + byte * 2 ** (8 * (seen - this.#fieldOffset))
        : value * 256 + byte;
      seen++;
    }
    this.#headerSeen = seen;
    this.#value = value;
    if (seen < headerSize) return -1;
    this.#setLength(value, headerSize);
    return pos;
  }

  /** Gathers an ascii-fixed field that spans chunks, then parses it. */
  #stepAsciiField(chunk: Uint8Array, pos: number): number {
    const field = this.#asciiField;
    const fieldOffset = this.#fieldOffset;
    const seen = this.#headerSeen - fieldOffset;
    const take = Math.min(field.length - seen, chunk.length - pos);
    field.set(chunk.subarray(pos, pos + take), seen);
    this.#headerSeen += take;
    pos += take;
    if (seen + take < field.length) return -1;
    const value = this.#parseAsciiField(
      field,
      0,
      this.#frameStart + fieldOffset,
    );
    this.#setLength(value, this.#fixedHeaderSize);
    return pos;
  }

  /**
   * Reads the ascii-fixed length field `bytes[at..at + width)` as Python's
   * `int()` does: spaces, one or more digits (leading zeros allowed), then
   * spaces. `offset` is the field's stream offset, for errors.
   */
  #parseAsciiField(bytes: Uint8Array, at: number, offset: number): number {
    const end = at + this.#asciiField.length;
    let i = at;
    while (i < end && bytes[i] === SPACE) i++;
    let value = 0;
    const first = i;
    for (; i < end; i++) {
      const digit = bytes[i]! - ZERO;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === first) {
      throw new MalformedFrameError(
        i === end
          ? `empty length: the ${end - at}-byte length field holds only spaces`
          : `expected a digit or ' ' in the ${
            end - at
          }-byte length field, got ${hex(bytes[i]!)}`,
        i === end ? offset : offset + i - at,
      );
    }
    const digitsEnd = i;
    while (i < end && bytes[i] === SPACE) i++;
    if (i < end) {
      throw new MalformedFrameError(
        `expected ${
          i === digitsEnd ? "a digit or ' '" : "' '"
        } to the end of the ${end - at}-byte length field, got ${
          hex(bytes[i]!)
        }`,
        offset + i - at,
      );
    }
    return value;
  }

  #stepVarint(chunk: Uint8Array, pos: number): number {
    let seen = this.#headerSeen;
    let value = this.#value;
    while (pos < chunk.length) {
      const index = seen - this.#fieldOffset;
      const byte = chunk[pos]!;
      if (byte >= 0x80 && index === MAX_VARINT_BYTES - 1) {
        throw new MalformedFrameError(
          `varint length does not end within ${MAX_VARINT_BYTES} bytes (byte ${MAX_VARINT_BYTES} is ${
            hex(byte)
          }, with the continuation bit set)`,
          this.#base + pos,
        );
      }
      value += (byte & 0x7f) * 2 ** (7 * index);
      pos++;
      seen++;
      if (byte < 0x80) {
        this.#headerSeen = seen;
        this.#setLength(value, seen);
        return pos;
      }
    }
    this.#headerSeen = seen;
    this.#value = value;
    return -1;
  }

  #stepAscii(chunk: Uint8Array, pos: number): number {
    const separator = this.#separator;
    let value = this.#value;
    let digits = this.#digits;
    let separatorSeen = this.#separatorSeen;
    while (pos < chunk.length) {
      const byte = chunk[pos]!;
      if (separatorSeen === 0 && byte >= 0x30 && byte <= 0x39) {
        if (digits === 1 && value === 0) {
          throw new MalformedFrameError(
            "length has a leading zero (lengths are canonical: no zero before other digits)",
            this.#frameStart + this.#fieldOffset,
          );
        }
        value = value * 10 + (byte - 0x30);
        digits++;
        pos++;
        this.#checkAsciiSoFar(value, digits);
        continue;
      }
      if (byte !== separator[separatorSeen]) {
        throw new MalformedFrameError(
          this.#asciiReason(byte, digits, separatorSeen),
          this.#base + pos,
        );
      }
      if (digits === 0) {
        throw new MalformedFrameError(
          `empty length: expected a digit before ${showByte(byte)}, got ${
            hex(byte)
          }`,
          this.#base + pos,
        );
      }
      pos++;
      if (++separatorSeen === separator.length) {
        this.#setLength(value, this.#fieldOffset + digits + separatorSeen);
        return pos;
      }
    }
    this.#value = value;
    this.#digits = digits;
    this.#separatorSeen = separatorSeen;
    this.#headerSeen = this.#fieldOffset + digits + separatorSeen;
    return -1;
  }

  /** Raises FrameTooLargeError as soon as the digits so far are too many. */
  #checkAsciiSoFar(value: number, digits: number): void {
    // More digits only make the payload longer, so this is a lower bound.
    const soFar = value + this.#adjustment -
      (this.#includesHeader
        ? this.#fieldOffset + digits + this.#separator.length
        : 0);
    if (soFar > this.#maxFrameSize || digits > MAX_ASCII_DIGITS) {
      throw new FrameTooLargeError({
        limit: this.#maxFrameSize,
        size: soFar,
        announced: true,
        offset: this.#frameStart,
      });
    }
  }

  #asciiReason(byte: number, digits: number, separatorSeen: number): string {
    const separator = this.#separator;
    if (separatorSeen > 0) {
      return `expected ${showByte(separator[separatorSeen]!)} (byte ${
        separatorSeen + 1
      } of the separator ${
        JSON.stringify(new TextDecoder().decode(separator))
      }), got ${hex(byte)}`;
    }
    const end = separator.length === 1
      ? showByte(separator[0]!)
      : `the separator ${JSON.stringify(new TextDecoder().decode(separator))}`;
    return digits === 0
      ? `expected a digit, got ${hex(byte)}`
      : `expected a digit or ${end}, got ${hex(byte)}`;
  }

  /** Checks a complete header's length and sets the frame's size. */
  #setLength(value: number, headerSize: number): void {
    const body = value + this.#adjustment -
      (this.#includesHeader ? headerSize : 0);
    if (
      body > this.#maxFrameSize || body < this.#minBody ||
      value > Number.MAX_SAFE_INTEGER
    ) {
      this.#rejectLength(value, headerSize);
    }
    this.#headerSize = headerSize;
    this.#headerSeen = headerSize;
    this.#total = headerSize + body + this.#trailer;
    if (this.#strip === -1) {
      this.#keepFrom = headerSize;
      this.#keepTo = headerSize + body;
    } else {
      this.#keepTo = this.#total;
    }
  }

  /** Throws the error for a length out of range (frame at #frameStart). */
  #rejectLength(value: number, headerSize: number): never {
    const body = value + this.#adjustment -
      (this.#includesHeader ? headerSize : 0);
    if (body > this.#maxFrameSize || value > Number.MAX_SAFE_INTEGER) {
      throw new FrameTooLargeError({
        limit: this.#maxFrameSize,
        size: body,
        announced: true,
        offset: this.#frameStart,
      });
    }
    const at = this.#frameStart + this.#fieldOffset;
    if (body < 0) {
      const how = [
        this.#adjustment !== 0 ? `lengthAdjustment ${this.#adjustment}` : "",
        this.#includesHeader ? `minus the ${headerSize}-byte header` : "",
      ].filter((part) => part !== "").join(", ");
      throw new MalformedFrameError(
        `length ${value} adjusted (${how}) comes out negative: ${body}`,
        at,
      );
    }
    throw new MalformedFrameError(
      `frame of ${
        headerSize + body
      } bytes is shorter than stripBytes ${this.#strip}`,
      at,
    );
  }

  /**
   * Encodes one payload as one frame: `prefix`, the length, the payload
   * (and a netstring's `,`).
   *
   * @param payload The bytes that follow the length field.
   * @param prefix The `lengthFieldOffset` bytes before the length field;
   * zeros when omitted.
   * @returns The frame's bytes.
   * @throws {FrameTooLargeError} If the payload is over `maxFrameSize` or
   * longer than the header can describe.
   * @throws {RangeError} If `prefix` is not `lengthFieldOffset` bytes, the
   * adjustment would make the length negative, or the payload is shorter
   * than the `stripBytes` that reach past the header (a fixed header of 2
   * with `stripBytes: 4` needs at least 2 payload bytes): the decoder would
   * reject that frame as malformed.
   *
   * @example A netstring, and a type byte before the length
   * ```ts
   * import { lengthPrefixed, netstrings } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const frame = netstrings().encode(new TextEncoder().encode("hello"));
   * assertEquals(new TextDecoder().decode(frame), "5:hello,");
   *
   * const typed = lengthPrefixed({ header: "u16be", lengthFieldOffset: 1 });
   * const bytes = typed.encode(new Uint8Array([0xaa]), new Uint8Array([7]));
   * assertEquals(bytes, new Uint8Array([7, 0, 1, 0xaa]));
   * ```
   */
  encode(payload: Uint8Array, prefix?: Uint8Array): Uint8Array {
    const config = this.#config;
    const value = lengthValue(config, payload.length);
    if (prefix !== undefined && prefix.length !== config.fieldOffset) {
      throw new RangeError(
        `Cannot encode frame with a ${prefix.length}-byte prefix: lengthFieldOffset is ${config.fieldOffset}`,
      );
    }
    const out = new Uint8Array(frameSize(config, value, payload.length));
    if (prefix !== undefined) out.set(prefix);
    writeFrame(config, out, 0, value, payload);
    return out;
  }

  /**
   * Encodes several payloads into one buffer, so a batch is one write
   * (prefixes are zeros). Checks every payload before writing anything.
   *
   * @param payloads The payloads, in order.
   * @returns The frames' bytes, back to back.
   * @throws {FrameTooLargeError} As {@linkcode LengthPrefixCodec.encode}.
   * @throws {RangeError} As {@linkcode LengthPrefixCodec.encode}.
   *
   * @example Two frames in one write
   * ```ts
   * import { lengthPrefixed } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = lengthPrefixed({ header: "u8" });
   * const bytes = codec.encodeAll([new Uint8Array([1]), new Uint8Array()]);
   * assertEquals(bytes, new Uint8Array([1, 1, 0]));
   * ```
   */
  encodeAll(payloads: readonly Uint8Array[]): Uint8Array {
    const config = this.#config;
    const values = new Array<number>(payloads.length);
    let total = 0;
    for (let i = 0; i < payloads.length; i++) {
      const length = payloads[i]!.length;
      const value = lengthValue(config, length);
      values[i] = value;
      total += frameSize(config, value, length);
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (let i = 0; i < payloads.length; i++) {
      offset = writeFrame(config, out, offset, values[i]!, payloads[i]!);
    }
    return out;
  }

  /**
   * Encodes payloads that are ranges of one buffer into one buffer, as
   * {@linkcode LengthPrefixCodec.encodeAll} does, without a view per
   * payload: the other half of {@linkcode LengthPrefixCodec.pushRanges},
   * for code that re-encodes frames it decoded in place (an echo, a proxy
   * that changes the framing). Payload `i` is
   * `bytes[ranges[2 * i], ranges[2 * i + 1])`. With a fixed-size header,
   * payloads that lie back to back in `bytes` with exactly a header's room
   * between them — the frames of a read decoded with the same header — are
   * copied in one piece and their headers written over the old ones.
   * Checks every range and payload before writing anything (prefixes are
   * zeros, as with `encodeAll`).
   *
   * @param bytes The buffer the payloads are in.
   * @param ranges Each payload's start and end offset in `bytes`, in order
   * (an even number of integers, `0 <= start <= end <= bytes.length`).
   * @returns The frames' bytes, back to back.
   * @throws {RangeError} If `ranges` has an odd length or a range is not
   * inside `bytes`; or as {@linkcode LengthPrefixCodec.encode}.
   * @throws {FrameTooLargeError} As {@linkcode LengthPrefixCodec.encode}.
   *
   * @example Echo the frames of a chunk without a view per frame
   * ```ts
   * import { lengthPrefixed } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = lengthPrefixed({ header: "u16be" });
   * const chunk = codec.encodeAll([new Uint8Array([1, 2]), new Uint8Array([3])]);
   * const ranges: number[] = [];
   * codec.pushRanges(chunk, (_bytes, start, end) => ranges.push(start, end));
   * assertEquals(ranges, [2, 4, 6, 7]);
   * assertEquals(codec.encodeRanges(chunk, ranges), chunk);
   *
   * // Re-framed: the same payloads with one-byte headers.
   * const small = lengthPrefixed({ header: "u8" });
   * assertEquals(small.encodeRanges(chunk, ranges), new Uint8Array([2, 1, 2, 1, 3]));
   * ```
   */
  encodeRanges(bytes: Uint8Array, ranges: ArrayLike<number>): Uint8Array {
    const config = this.#config;
    const count = ranges.length;
    if (count % 2 !== 0) {
      throw new RangeError(
        `Cannot encode frames from ${count} range offsets: give a start and an end for each payload`,
      );
    }
    // Check every range; note the shortest and longest payload.
    let payloads = 0;
    let shortest = Infinity;
    let longest = 0;
    for (let i = 0; i < count; i += 2) {
      const start = ranges[i]!;
      const end = ranges[i + 1]!;
      if (
        !Number.isInteger(start) || !Number.isInteger(end) || start < 0 ||
        end < start || end > bytes.length
      ) {
        throw new RangeError(
          `Cannot encode frame ${
            i / 2
          } from bytes [${start}, ${end}): give a range inside the ${bytes.length} bytes`,
        );
      }
      const length = end - start;
      payloads += length;
      if (length < shortest) shortest = length;
      if (length > longest) longest = length;
    }
    if (count === 0) return new Uint8Array(0);
    const fixed = config.fieldSize !== 0;
    // A fixed-size length field holds the payload's length plus a constant,
    // and every limit is a bound on it: if the shortest and the longest
    // payload pass, all do. Otherwise check each, to name the first that
    // fails.
    let delta = NaN;
    if (fixed) {
      try {
        delta = lengthValue(config, shortest) - shortest;
        lengthValue(config, longest);
      } catch {
        delta = NaN;
      }
    }
    let total: number;
    if (!Number.isNaN(delta)) {
      total = (count / 2) * (config.fieldOffset + config.fieldSize) +
        payloads;
    } else {
      total = 0;
      for (let i = 0; i < count; i += 2) {
        const length = ranges[i + 1]! - ranges[i]!;
        total += frameSize(config, lengthValue(config, length), length);
      }
    }
    const out = new Uint8Array(total);
    const header = fixed ? config.fieldOffset + config.fieldSize : -1;
    let at = 0;
    for (let i = 0; i < count;) {
      const start = ranges[i]!;
      // The run of payloads from i on that lie back to back with a
      // header's room between them: one copy, then the headers.
      let j = i + 2;
      if (fixed && start >= header) {
        while (j < count && ranges[j]! === ranges[j - 1]! + header) j += 2;
      }
      if (j === i + 2) {
        const end = ranges[i + 1]!;
        at = writeFrame(
          config,
          out,
          at,
          lengthValue(config, end - start),
          bytes.subarray(start, end),
        );
        i = j;
        continue;
      }
      const from = start - header;
      out.set(bytes.subarray(from, ranges[j - 1]!), at);
      const shift = at - from - header;
      for (let k = i; k < j; k += 2) {
        const frameAt = ranges[k]! + shift;
        if (config.fieldOffset !== 0) {
          out.fill(0, frameAt, frameAt + config.fieldOffset);
        }
        writeHeader(config, out, frameAt, ranges[k + 1]! - ranges[k]! + delta);
      }
      at += ranges[j - 1]! - from;
      i = j;
    }
    return out;
  }
}

// The high byte is kept out of the bitwise part so the result stays
// unsigned; when it is zero (any length under 16 MiB) the arithmetic stays
// on small integers, which is what keeps the hot loop fast.

function readUint32Be(bytes: Uint8Array, at: number): number {
  const high = bytes[at]!;
  const low = (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
  return high === 0 ? low : high * 0x100_0000 + low;
}

function readUint32Le(bytes: Uint8Array, at: number): number {
  const high = bytes[at + 3]!;
  const low = (bytes[at + 2]! << 16) | (bytes[at + 1]! << 8) | bytes[at]!;
  return high === 0 ? low : high * 0x100_0000 + low;
}

// ---------------------------------------------------------------------------
// Encoding

/** Bytes of the length field (ASCII: digits and separator) for `value`. */
function fieldSizeOf(config: Config, value: number): number {
  if (config.fieldSize !== 0) return config.fieldSize;
  let size = 1;
  if (config.kind === K_VARINT) {
    for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
    return size;
  }
  for (let v = value; v >= 10; v = Math.floor(v / 10)) size++;
  return size + config.separator.length;
}

function frameSize(config: Config, value: number, payload: number): number {
  return config.fieldOffset + fieldSizeOf(config, value) + payload +
    config.trailer;
}

/** The length field's value for a payload, checked against every limit. */
function lengthValue(config: Config, payload: number): number {
  if (payload > config.maxFrameSize) {
    throw new FrameTooLargeError({
      limit: config.maxFrameSize,
      size: payload,
      announced: false,
    });
  }
  if (payload < config.minBody) {
    throw new RangeError(
      `Cannot encode a ${payload}-byte payload: stripBytes ${config.strip} reaches ${config.minBody} bytes past the header`,
    );
  }
  let value = payload - config.adjustment;
  if (config.includesHeader) {
    const base = value + config.fieldOffset;
    if (config.fieldSize !== 0) {
      value = base + config.fieldSize;
    } else {
      // The field's size depends on its value: find the size s with
      // fieldSizeOf(base + s) === s. Going from s to s + 1 grows the field
      // by at most one byte, so fieldSizeOf(base + s) - s never increases
      // and steps down by at most 1: from the smallest field (one digit and
      // the separator, or one varint byte) it reaches 0 — the smallest
      // self-consistent size — in a few steps, whatever the separator's
      // length. It starts below 0 only when base + s would be negative.
      value = -1;
      for (let size = fieldSizeOf(config, 0); base + size >= 0; size++) {
        const excess = fieldSizeOf(config, base + size) - size;
        if (excess === 0) value = base + size;
        if (excess <= 0) break;
      }
    }
  }
  if (value < 0) {
    throw new RangeError(
      `Cannot encode a ${payload}-byte payload: lengthAdjustment ${config.adjustment}${
        config.includesHeader ? " and lengthIncludesHeader" : ""
      } make its length field negative`,
    );
  }
  if (value > config.fieldMax) {
    const limit = config.fieldMax + config.adjustment -
      (config.includesHeader ? config.fieldOffset + config.fieldSize : 0);
    throw new FrameTooLargeError(
      { limit, size: payload, announced: false },
      `Cannot encode frame as its length ${value} does not fit the "${config.header}" header (at most ${config.fieldMax}): the payload is ${payload} bytes`,
    );
  }
  return value;
}

/** Writes one frame at `out[offset]` (prefix left as is); returns its end. */
function writeFrame(
  config: Config,
  out: Uint8Array,
  offset: number,
  value: number,
  payload: Uint8Array,
): number {
  let at = writeHeader(config, out, offset, value);
  out.set(payload, at);
  at += payload.length;
  if (config.trailer !== 0) out[at++] = COMMA;
  return at;
}

/**
 * Writes a frame's length field at `out[offset + fieldOffset]` (the prefix
 * before it left as is); returns where the payload goes.
 */
function writeHeader(
  config: Config,
  out: Uint8Array,
  offset: number,
  value: number,
): number {
  let at = offset + config.fieldOffset;
  switch (config.kind) {
    case K_U8:
      out[at++] = value;
      break;
    case K_U16BE:
      out[at++] = value >>> 8;
      out[at++] = value;
      break;
    case K_U16LE:
      out[at++] = value;
      out[at++] = value >>> 8;
      break;
    case K_U32BE:
      at = writeUint32Be(out, at, value);
      break;
    case K_U32LE:
      at = writeUint32Le(out, at, value);
      break;
    case K_U64BE:
      at = writeUint32Be(out, at, Math.floor(value / 0x1_0000_0000));
      at = writeUint32Be(out, at, value >>> 0);
      break;
    case K_U64LE:
      at = writeUint32Le(out, at, value >>> 0);
      at = writeUint32Le(out, at, Math.floor(value / 0x1_0000_0000));
      break;
    case K_VARINT:
      while (value >= 0x80) {
        out[at++] = (value % 0x80) | 0x80;
        value = Math.floor(value / 0x80);
      }
      out[at++] = value;
      break;
    case K_ASCII_FIXED: {
      const width = config.fieldSize;
      const digits = String(value);
      const pad = width - digits.length;
      let from = at;
      if (config.align === "left") {
        out.fill(SPACE, at + digits.length, at + width);
      } else {
        out.fill(config.align === "zeros" ? ZERO : SPACE, at, at + pad);
        from += pad;
      }
      for (let i = 0; i < digits.length; i++) {
        out[from + i] = digits.charCodeAt(i);
      }
      at += width;
      break;
    }
    default: { // K_ASCII, K_NETSTRING
      const digits = fieldSizeOf(config, value) - config.separator.length;
      for (let i = digits - 1; i >= 0; i--) {
        out[at + i] = 0x30 + value % 10;
        value = Math.floor(value / 10);
      }
      out.set(config.separator, at + digits);
      at += digits + config.separator.length;
    }
  }
  return at;
}

function writeUint32Be(out: Uint8Array, at: number, value: number): number {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
  return at + 4;
}

function writeUint32Le(out: Uint8Array, at: number, value: number): number {
  out[at] = value;
  out[at + 1] = value >>> 8;
  out[at + 2] = value >>> 16;
  out[at + 3] = value >>> 24;
  return at + 4;
}

// ---------------------------------------------------------------------------
// Factories

/**
 * A length-prefix codec: the same as `new LengthPrefixCodec(options)`.
 * Its `name` is the header kind, such as `"u32be"`.
 *
 * @param options Header kind, layout and limits; see
 * {@linkcode LengthPrefixOptions}.
 * @returns The codec.
 * @throws {RangeError} If an option is out of range.
 *
 * @example Round trip, and the header Python tutorials use
 * ```ts
 * import { lengthPrefixed } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = lengthPrefixed({ header: "u16le", maxFrameSize: 1024 });
 * const bytes = codec.encodeAll([new Uint8Array([9]), new Uint8Array()]);
 * assertEquals(codec.decode(bytes), [new Uint8Array([9]), new Uint8Array()]);
 * assertEquals([codec.name, codec.maxFrameSize], ["u16le", 1024]);
 *
 * // Python: f"{len(msg):<10}".encode() + msg
 * const tutorial = lengthPrefixed({ header: "ascii-fixed", asciiWidth: 10 });
 * const frame = tutorial.encode(new TextEncoder().encode("hello"));
 * assertEquals(new TextDecoder().decode(frame), "5         hello");
 * ```
 */
export function lengthPrefixed(
  options: LengthPrefixOptions = {},
): LengthPrefixCodec {
  return new LengthPrefixCodec(options);
}

/**
 * The netstring codec (D. J. Bernstein's `5:hello,`):
 * {@linkcode lengthPrefixed} with `header: "netstring"`.
 *
 * @param options Layout and limits, as for {@linkcode lengthPrefixed}.
 * @returns The codec, named `"netstring"`.
 * @throws {RangeError} If an option is out of range.
 *
 * @example Netstrings
 * ```ts
 * import { netstrings } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = netstrings().encodeAll([
 *   new TextEncoder().encode("hello"),
 *   new Uint8Array(),
 * ]);
 * assertEquals(new TextDecoder().decode(bytes), "5:hello,0:,");
 * ```
 */
export function netstrings(
  options: Omit<LengthPrefixOptions, "header"> = {},
): LengthPrefixCodec {
  return new LengthPrefixCodec({ ...options, header: "netstring" });
}
