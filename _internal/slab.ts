// Small byte arrays carved out of shared blocks. A new ArrayBuffer costs
// Deno ~0.7–1.3 µs (its backing store is allocated and tracked outside the
// V8 heap); a view into a block that is already there costs ~70 ns. Chunks
// handed out by reads are mostly small (a request, a reply, a datagram), so
// copying them into a shared block is much cheaper than giving each its own
// buffer — Node's `Buffer` pool does the same. Blocks are small (4 KiB) so
// that a small chunk kept for long — a partial line a decoder holds for a
// slow client — keeps at most 4 KiB alive. Private to tcp/ and udp/.

/** Size of one shared block. */
const BLOCK = 4 * 1024;
/** Largest copy made in a shared block; larger ones get their own buffer. */
export const MAX_SHARED = 512;

let block = new ArrayBuffer(0);
let bytes = new Uint8Array(block);
let used = 0;

/**
 * Copies `source[0, n)` into a new array the caller owns: a view into a
 * shared block when `n` is at most {@linkcode MAX_SHARED}, else a buffer of
 * its own. Views start on 8-byte boundaries, so typed-array views of them
 * line up.
 */
export function copyOut(source: Uint8Array, n: number): Uint8Array {
  if (n > MAX_SHARED) return source.slice(0, n);
  if (used + n > bytes.length) {
    block = new ArrayBuffer(BLOCK);
    bytes = new Uint8Array(block);
    used = 0;
  }
  const start = used;
  bytes.set(
    n === source.length
      ? source
      : new Uint8Array(source.buffer, source.byteOffset, n),
    start,
  );
  used = (start + n + 7) & ~7;
  return new Uint8Array(block, start, n);
}

/**
 * A new array of `n` bytes (at most {@linkcode MAX_SHARED}) for the caller
 * to read into: a view into a shared block, never handed out again, so
 * that a short-lived small read buffer costs no backing store of its own.
 * Its bytes are zero or left from nothing else (blocks are only carved
 * forward).
 */
export function carve(n: number): Uint8Array {
  if (n > MAX_SHARED) return new Uint8Array(n);
  if (used + n > bytes.length) {
    block = new ArrayBuffer(BLOCK);
    bytes = new Uint8Array(block);
    used = 0;
  }
  const start = used;
  used = (start + n + 7) & ~7;
  return new Uint8Array(block, start, n);
}
