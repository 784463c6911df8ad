// CRC32C (Castagnoli), the checksum of the PROXY protocol v2 CRC32C TLV
// (RFC 4960 appendix B): the reflected polynomial 0x82F63B78, one table
// lookup per byte. Private to framing/.

const POLYNOMIAL = 0x82f63b78;
let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const made = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    made[n] = c;
  }
  return made;
}

/**
 * Runs the CRC register `crc` over `bytes[start..end)` and returns the new
 * register. Start with `0xffffffff`; the checksum is the final register's
 * complement (`~crc >>> 0`). Several calls chain over pieces of one message.
 */
export function crc32cUpdate(
  crc: number,
  bytes: Uint8Array,
  start: number = 0,
  end: number = bytes.length,
): number {
  const t = table ??= makeTable();
  let c = crc >>> 0;
  for (let i = start; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The CRC32C of `bytes`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  return ~crc32cUpdate(0xffffffff, bytes) >>> 0;
}
