// IEEE 754 binary16 ("half float", struct's `e`) to and from JS numbers.
// Private to framing/.

/**
 * Encodes `x` as binary16 bits, rounding half to even as CPython's
 * `PyFloat_Pack2` does. Returns -1 when a finite `x` is too large (the caller
 * raises the error).
 */
export function encodeFloat16(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  if (x !== x) return 0x7e00; // NaN (JS cannot carry a NaN's sign reliably)
  const sign = x < 0 ? 0x8000 : 0;
  if (sign) x = -x;
  if (x === Infinity) return sign | 0x7c00;
  // x = f * 2**e with f in [1, 2)
  let e = Math.floor(Math.log2(x));
  // log2 can be off by one near powers of two: correct it exactly.
  if (2 ** e > x) e -= 1;
  else if (2 ** (e + 1) <= x) e += 1;
  if (e >= 16) return -1;
  let f: number;
  if (e < -25) {
    // below half the smallest subnormal: rounds to zero
    return sign;
  } else if (e < -14) {
    // subnormal: f becomes x / 2**-24 scaled into [0, 1) * 1024 below
    f = x * 2 ** 14;
    e = 0;
  } else {
    f = x / 2 ** e - 1;
    e += 15;
  }
  f *= 1024;
  let bits = Math.trunc(f);
  const rest = f - bits;
  if (rest > 0.5 || (rest === 0.5 && (bits & 1) === 1)) {
    bits += 1;
    if (bits === 1024) {
      bits = 0;
      e += 1;
      if (e === 31) return -1;
    }
  }
  return sign | (e << 10) | bits;
}

/** Decodes binary16 `bits` to a number. */
export function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0x1f) return f === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * f * 2 ** -24;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}
