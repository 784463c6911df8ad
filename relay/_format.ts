// How the relays write a frame or a datagram received as one line of
// output (`"text" | "hex"`): text or hex. Private to relay/.

/** Throws a clear error unless `format` is a `"text" | "hex"`. */
export function checkFormat(format: unknown, what: string): void {
  if (format !== "text" && format !== "hex") {
    throw new TypeError(
      `Cannot ${what} with output ${
        JSON.stringify(format)
      }: give "text" or "hex"`,
    );
  }
}

const LF = 0x0a;
const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");

/**
 * One frame as one line of output: `"text"` gives the frame's bytes and a
 * `\n` (none added when the frame already ends with `\n`); `"hex"` gives
 * two lowercase hex digits a byte and a `\n`. An empty frame is an empty
 * line. Returns a new array; throws a `TypeError` for another format.
 */
export function formatFrame(
  frame: Uint8Array,
  format: "text" | "hex",
): Uint8Array {
  if (format === "hex") {
    const out = new Uint8Array(frame.length * 2 + 1);
    for (let i = 0; i < frame.length; i++) {
      const b = frame[i]!;
      out[2 * i] = HEX_DIGITS[b >> 4]!;
      out[2 * i + 1] = HEX_DIGITS[b & 15]!;
    }
    out[out.length - 1] = LF;
    return out;
  }
  checkFormat(format, "format a frame");
  if (frame.length > 0 && frame[frame.length - 1] === LF) return frame.slice();
  const out = new Uint8Array(frame.length + 1);
  out.set(frame);
  out[frame.length] = LF;
  return out;
}
