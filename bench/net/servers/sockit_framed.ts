/**
 * Benchmark server: sockit's framed echo. Each read is decoded into u32
 * big-endian length-prefixed frames in place (a `LengthPrefixCodec`'s
 * `pushRanges`: each frame is a range of the read, no view or copy per
 * frame), the frames are re-encoded from those ranges (its `encodeRanges`:
 * the frames of a read lie back to back, so their bytes are copied in one
 * piece and the headers written over) and sent back in one write per read:
 * batch decode, batch encode, one write per batch, no allocation per
 * frame.
 *
 * A frame that began in an earlier read is assembled by the codec in its
 * own memory, valid during the callback only: it is encoded at once and
 * written first (rare: the load generator writes whole frames).
 *
 * Run: `deno run --allow-net bench/net/servers/sockit_framed.ts --idle-timeout 60000`
 *
 * @module
 */
import { lengthPrefixed } from "../../../framing/mod.ts";
import { listen } from "../../../tcp/mod.ts";
import { announce, idleTimeoutFlag } from "./_args.ts";

/** A streaming client's reads go into a buffer of this size. */
const STREAM_BUFFER = 64 * 1024;

const idleTimeout = idleTimeoutFlag(Deno.args);
const server = listen({ port: 0 }, async (conn) => {
  const codec = lengthPrefixed({ header: "u32be" });
  let ranges = new Int32Array(2048);
  let count = 0;
  let chunk: Uint8Array | null = null;
  let assembled: Uint8Array | null = null;
  const onRange = (bytes: Uint8Array, start: number, end: number) => {
    if (bytes !== chunk) {
      assembled = codec.encode(bytes.subarray(start, end));
      return;
    }
    if (count === ranges.length) {
      const more = new Int32Array(count * 2);
      more.set(ranges);
      ranges = more;
    }
    ranges[count++] = start;
    ranges[count++] = end;
  };
  // As the echo tool does: an idle client parks a small read(); once it
  // streams, reads go into one buffer of its own, reused.
  let buffer: Uint8Array | null = null;
  for (;;) {
    if (buffer === null) {
      chunk = await conn.read();
      if (chunk === null) return;
      if (chunk.length >= STREAM_BUFFER / 4) {
        buffer = new Uint8Array(STREAM_BUFFER);
      }
    } else {
      const n = await conn.readInto(buffer);
      if (n === null) return;
      chunk = buffer.subarray(0, n);
      if (n < STREAM_BUFFER / 16) buffer = null;
    }
    count = 0;
    assembled = null;
    codec.pushRanges(chunk, onRange);
    if (assembled !== null) await conn.write(assembled);
    if (count > 0) {
      await conn.write(codec.encodeRanges(chunk, ranges.subarray(0, count)));
    }
  }
}, {
  ...(idleTimeout === undefined ? {} : { idleTimeout }),
  onError: () => {},
});
announce(server.addr);
