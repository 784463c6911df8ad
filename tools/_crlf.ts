/**
 * `cat -C` (nc's `--crlf`): stdin's line ends go out as `\r\n`, for the
 * text protocols that want them (SMTP, HTTP/1, IRC) typed from a terminal.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/**
 * A stream that writes each `\n` not already after a `\r` as `\r\n`
 * (`\r\n` stays as it is, as ncat does), across chunk boundaries; other
 * bytes pass unchanged.
 *
 * @returns The transform.
 */
export function crlfStream(): TransformStream<Uint8Array, Uint8Array> {
  let carried = -1; // the last byte of the chunk before
  return new TransformStream({
    transform(chunk, controller) {
      const before = (i: number) => i === 0 ? carried : chunk[i - 1];
      let bare = 0;
      for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
        if (before(i) !== CR) bare++;
      }
      if (bare === 0) {
        if (chunk.length > 0) carried = chunk[chunk.length - 1]!;
        controller.enqueue(chunk);
        return;
      }
      const out = new Uint8Array(chunk.length + bare);
      let from = 0;
      let to = 0;
      for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
        out.set(chunk.subarray(from, i), to);
        to += i - from;
        if (before(i) !== CR) out[to++] = CR;
        out[to++] = LF;
        from = i + 1;
      }
      out.set(chunk.subarray(from), to);
      carried = chunk[chunk.length - 1]!;
      controller.enqueue(out);
    },
  });
}
