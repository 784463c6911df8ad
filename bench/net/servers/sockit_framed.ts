/**
 * Benchmark server: sockit's framed echo. Each read is decoded into u32
 * big-endian length-prefixed frames in place (a `LengthPrefixCodec`'s
 * `pushRanges`: each frame is a range of the read, no view or copy per
 * frame), the frames are re-encoded from those ranges (its `encodeRanges`:
 * the frames of a read lie back to back, so their bytes are copied in one
 * piece and the headers written over) and sent back in one write per read:
 * batch decode, batch encode, one write per batch, no allocation per
 * frame. The ranges go into one scratch array shared by every connection
 * (a read is decoded and re-encoded in one synchronous step), so an idle
 * client costs its codec and nothing more.
 *
 * A frame that began in an earlier read is assembled by the codec in its
 * own memory, valid during the callback only: it is encoded at once and
 * written first (rare: the load generator writes whole frames).
 *
 * Run: `deno run --allow-net bench/net/servers/sockit_framed.ts --idle-timeout 60000`
 *
 * @module
 */
import {
  type LengthPrefixCodec,
  lengthPrefixed,
} from "../../../framing/mod.ts";
import { listen } from "../../../tcp/mod.ts";
import { announce, idleTimeoutFlag } from "./_args.ts";

/** A streaming client's reads go into a buffer of this size. */
const STREAM_BUFFER = 64 * 1024;
const EMPTY = new Uint8Array(0);

// The read being decoded, its frames' start and end offsets, and a frame
// the codec assembled across reads (already encoded).
let chunk: Uint8Array = EMPTY;
let codec: LengthPrefixCodec | null = null;
let ranges = new Int32Array(2048);
let count = 0;
let assembled: Uint8Array | null = null;

function onRange(bytes: Uint8Array, start: number, end: number): void {
  if (bytes !== chunk) {
    assembled = codec!.encode(bytes.subarray(start, end));
    return;
  }
  if (count === ranges.length) {
    const more = new Int32Array(count * 2);
    more.set(ranges);
    ranges = more;
  }
  ranges[count++] = start;
  ranges[count++] = end;
}

/**
 * Decodes `read` with `decoder` and re-encodes its frames: the frame the
 * codec assembled from earlier reads (if any) and the frames inside
 * `read` (if any), each as bytes to write.
 */
function echoFrames(
  decoder: LengthPrefixCodec,
  read: Uint8Array,
): [Uint8Array | null, Uint8Array | null] {
  chunk = read;
  codec = decoder;
  count = 0;
  assembled = null;
  try {
    decoder.pushRanges(read, onRange);
    return [
      assembled,
      count > 0 ? decoder.encodeRanges(read, ranges.subarray(0, count)) : null,
    ];
  } finally {
    chunk = EMPTY;
    codec = null;
    assembled = null;
  }
}

const idleTimeout = idleTimeoutFlag(Deno.args);
const server = listen({ port: 0 }, async (conn) => {
  const decoder = lengthPrefixed({ header: "u32be" });
  // As the echo tool does: an idle client parks a small read(); once it
  // streams, reads go into one buffer of its own, reused.
  let buffer: Uint8Array | null = null;
  for (;;) {
    let read: Uint8Array;
    if (buffer === null) {
      const got = await conn.read();
      if (got === null) return;
      read = got;
      if (got.length >= STREAM_BUFFER / 4) {
        buffer = new Uint8Array(STREAM_BUFFER);
      }
    } else {
      const n = await conn.readInto(buffer);
      if (n === null) return;
      read = buffer.subarray(0, n);
      if (n < STREAM_BUFFER / 16) buffer = null;
    }
    const [first, rest] = echoFrames(decoder, read);
    if (first !== null) await conn.write(first);
    if (rest !== null) await conn.write(rest);
  }
}, {
  ...(idleTimeout === undefined ? {} : { idleTimeout }),
  onError: () => {},
});
announce(server.addr);
