// Tests framing/_scan.ts, the SIMD byte scanner behind the delimiter decoder.
import { ByteScanner } from "../../framing/_scan.ts";
import { assertEquals, Prng, testSeed } from "../_utils.ts";

const SEED = testSeed("SOCKIT_FRAMING_SEED");

function naive(chunk: Uint8Array, byte: number, from: number): number {
  for (let i = Math.max(0, from); i < chunk.length; i++) {
    if (chunk[i] === byte) return i;
  }
  return -1;
}

Deno.test("ByteScanner finds the same positions as a plain loop, across windows and jumps", () => {
  const prng = new Prng(SEED);
  const scanner = new ByteScanner();
  for (let round = 0; round < 60; round++) {
    // Sizes on both sides of the SIMD threshold and of the 64 KiB window.
    const size = prng.pick([
      0,
      1,
      15,
      16,
      17,
      511,
      512,
      4096,
      65535,
      65536,
      65537,
      200_000,
    ]);
    const density = prng.pick([0, 0.001, 0.05, 0.5, 1]);
    const byte = prng.int(0, 255);
    const backing = new Uint8Array(size + 7);
    for (let i = 0; i < backing.length; i++) {
      backing[i] = prng.next() < density
        ? byte
        : (byte + 1 + prng.int(0, 254)) & 0xff;
    }
    // A view with an odd byteOffset, as socket reads give.
    const chunk = backing.subarray(3, 3 + size);
    scanner.reset(chunk, byte);
    let from = 0;
    for (let steps = 0; steps < 5000; steps++) {
      const want = naive(chunk, byte, from);
      const got = scanner.next(from);
      assertEquals(
        got,
        want,
        `seed ${SEED}, round ${round}, size ${size}, from ${from}`,
      );
      if (got === -1) break;
      // Mostly the next byte, sometimes a jump ahead (a multi-byte delimiter).
      from = got + (prng.next() < 0.8 ? 1 : prng.int(1, 70_000));
    }
  }
});
