/**
 * A hex dump of bytes, for watching traffic: each line holds the stream
 * offset of its first byte, the bytes in hex, and the same bytes as ASCII
 * (`.` for anything not printable), like `ncat --hex-dump` and
 * `hexdump -C`:
 *
 * ```
 * 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|
 * 00000010  0d 0a                                             |..|
 * ```
 *
 * {@linkcode hexdump} formats one buffer; {@linkcode HexDumper} formats the
 * chunks of a stream one after another, its offsets running on across them.
 * Plain TypeScript on bytes.
 *
 * @example Dump a short message
 * ```ts
 * import { hexdump } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   hexdump(new TextEncoder().encode("hi\n")),
 *   "00000000  68 69 0a                                          |hi.|\n",
 * );
 * ```
 *
 * @module
 */

/** Options for {@linkcode hexdump} and {@linkcode HexDumper}. */
export interface HexDumpOptions {
  /**
   * The offset shown for the first byte (for a chunk in the middle of a
   * stream). A safe integer >= 0.
   *
   * @default {0}
   */
  offset?: number;
  /**
   * Bytes per line, an integer in 1..256; an extra space separates each
   * group of 8.
   *
   * @default {16}
   */
  width?: number;
  /**
   * Text put before every line, such as `"> "` for bytes sent and `"< "`
   * for bytes received.
   *
   * @default {""}
   */
  prefix?: string;
}

const DEFAULT_WIDTH = 16;
const MAX_WIDTH = 256;
const GROUP = 8;

/** `"00"`…`"ff"`, by byte value. */
const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => b.toString(16).padStart(2, "0"),
);
/** The ASCII column's character, by byte value. */
const ASCII: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : ".",
);

function checkOptions(
  options: HexDumpOptions,
): { offset: number; width: number; prefix: string } {
  const offset = options.offset ?? 0;
  const width = options.width ?? DEFAULT_WIDTH;
  const prefix = options.prefix ?? "";
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(
      `Cannot dump from offset ${offset}: give a safe integer >= 0`,
    );
  }
  if (!Number.isInteger(width) || width < 1 || width > MAX_WIDTH) {
    throw new RangeError(
      `Cannot dump ${width} bytes per line: give an integer in 1..${MAX_WIDTH}`,
    );
  }
  if (typeof prefix !== "string") {
    throw new TypeError(
      `Cannot use a ${typeof prefix} as prefix: give a string`,
    );
  }
  return { offset, width, prefix };
}

/** Characters the hex column takes for a full line of `width` bytes. */
function hexColumnWidth(width: number): number {
  return width * 3 - 1 + Math.floor((width - 1) / GROUP);
}

function dump(
  bytes: Uint8Array,
  offset: number,
  width: number,
  prefix: string,
): string {
  const column = hexColumnWidth(width);
  let out = "";
  for (let start = 0; start < bytes.length; start += width) {
    const end = Math.min(start + width, bytes.length);
    let hex = "";
    let ascii = "";
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      const at = i - start;
      if (at > 0) hex += at % GROUP === 0 ? "  " : " ";
      hex += HEX[b]!;
      ascii += ASCII[b]!;
    }
    const where = (offset + start).toString(16).padStart(8, "0");
    out += `${prefix}${where}  ${hex.padEnd(column)}  |${ascii}|\n`;
  }
  return out;
}

/**
 * Formats `bytes` as a hex dump: one line per `width` bytes (16 by
 * default), each `OFFSET  HEX…  |ASCII|` and ending with `\n`. The offset
 * has 8 hex digits (more when needed); bytes outside `0x20..0x7e` show as
 * `.` in the ASCII column; a short last line is padded so its ASCII column
 * lines up. No bytes, no lines: `""`.
 *
 * @param bytes The bytes to show.
 * @param options `offset` of the first byte, `width`, line `prefix`.
 * @returns The dump, every line ending with `\n`.
 * @throws {RangeError} If `offset` or `width` is out of range.
 *
 * @example Two lines, with an offset and a prefix
 * ```ts
 * import { hexdump } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new Uint8Array([0, 1, 2, 3, 0x41, 0x42]);
 * assertEquals(
 *   hexdump(bytes, { width: 4, offset: 0x100, prefix: "< " }),
 *   "< 00000100  00 01 02 03  |....|\n" +
 *     "< 00000104  41 42        |AB|\n",
 * );
 * ```
 */
export function hexdump(
  bytes: Uint8Array,
  options: HexDumpOptions = {},
): string {
  const { offset, width, prefix } = checkOptions(options);
  return dump(bytes, offset, width, prefix);
}

/**
 * Dumps the chunks of one stream as they come: each chunk starts a new
 * line, and the offsets count on from chunk to chunk, so they show where
 * each byte sits in the stream.
 *
 * @example Two chunks of a stream
 * ```ts
 * import { HexDumper } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const sent = new HexDumper({ prefix: "> " });
 * const text = new TextEncoder();
 * assertEquals(
 *   sent.dump(text.encode("ab")),
 *   "> 00000000  61 62                                             |ab|\n",
 * );
 * assertEquals(
 *   sent.dump(text.encode("c")),
 *   "> 00000002  63                                                |c|\n",
 * );
 * assertEquals(sent.offset, 3);
 * ```
 */
export class HexDumper {
  #offset: number;
  readonly #width: number;
  readonly #prefix: string;

  /**
   * Makes a dumper for one stream.
   *
   * @param options `offset` of the stream's first byte, `width`, `prefix`.
   * @throws {RangeError} If `offset` or `width` is out of range.
   */
  constructor(options: HexDumpOptions = {}) {
    const { offset, width, prefix } = checkOptions(options);
    this.#offset = offset;
    this.#width = width;
    this.#prefix = prefix;
  }

  /** The offset the next chunk starts at: the bytes dumped so far, plus the starting offset. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Formats the next chunk of the stream.
   *
   * @param chunk The bytes.
   * @returns Its lines, each ending with `\n` (`""` for an empty chunk).
   */
  dump(chunk: Uint8Array): string {
    const text = dump(chunk, this.#offset, this.#width, this.#prefix);
    this.#offset += chunk.length;
    return text;
  }
}
