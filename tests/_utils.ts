/**
 * Shared test helpers.
 *
 * `@std/assert` comes from the `npm:deno-std` mapping, which ships no types;
 * this file is the typed boundary every test imports from.
 *
 * @module
 */
import * as std from "@std/assert";

/** A class of error, for {@linkcode assertThrows} and {@linkcode assertRejects}. */
// deno-lint-ignore no-explicit-any
export type ErrorClass<E extends Error = Error> = new (...args: any[]) => E;

/** Asserts that `expr` is truthy. */
export const assert: (expr: unknown, msg?: string) => asserts expr = std.assert;

/** Asserts deep equality of `actual` and `expected`. */
export const assertEquals: <T>(
  actual: unknown,
  expected: T,
  msg?: string,
) => asserts actual is T = std.assertEquals;

/** Asserts that `actual` and `expected` are not deeply equal. */
export const assertNotEquals: <T>(
  actual: T,
  expected: T,
  msg?: string,
) => void = std.assertNotEquals;

/** Asserts `Object.is` equality of `actual` and `expected`. */
export const assertStrictEquals: <T>(
  actual: unknown,
  expected: T,
  msg?: string,
) => asserts actual is T = std.assertStrictEquals;

/** Asserts that `actual` matches `expected`. */
export const assertMatch: (
  actual: string,
  expected: RegExp,
  msg?: string,
) => void = std.assertMatch;

/** Asserts that `actual` contains `expected`. */
export const assertStringIncludes: (
  actual: string,
  expected: string,
  msg?: string,
) => void = std.assertStringIncludes;

/** Asserts that `actual` is an instance of `expectedType`. */
export const assertInstanceOf: <E>(
  actual: unknown,
  // deno-lint-ignore no-explicit-any
  expectedType: new (...args: any[]) => E,
  msg?: string,
) => asserts actual is E = std.assertInstanceOf;

/** Asserts that `fn` throws an error of class `errorClass`, and returns it. */
export const assertThrows: <E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
) => E = std.assertThrows;

/** Asserts that `fn` rejects with an error of class `errorClass`, and returns it. */
export const assertRejects: <E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
) => Promise<E> = std.assertRejects;

/** Asserts that `actual` is greater than or equal to `expected`. */
export const assertGreaterOrEqual: <T>(
  actual: T,
  expected: T,
  msg?: string,
) => void = std.assertGreaterOrEqual;

/** Asserts that `actual` is less than or equal to `expected`. */
export const assertLessOrEqual: <T>(
  actual: T,
  expected: T,
  msg?: string,
) => void = std.assertLessOrEqual;

/** Fails the test with `msg`. */
export const fail: (msg?: string) => never = std.fail;

/**
 * `true` when `A` and `B` are the same type (for compile-time type tests:
 * `const ok: IsExact<A, B> = true`).
 */
export type IsExact<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;

/** Formats bytes as lowercase hex, two digits a byte. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses lowercase or uppercase hex into bytes. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) {
    throw new RangeError(`Odd hex length ${hex.length}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/**
 * A small seeded PRNG (mulberry32) for property tests: the same seed gives
 * the same cases, so a failure can be replayed.
 */
export class Prng {
  #state: number;
  /** The seed this generator started from. */
  readonly seed: number;

  /** Starts from `seed` (a 32-bit integer). */
  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** A uint32. */
  u32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uint64. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** A bigint in [lo, hi], both inclusive. */
  bigint(lo: bigint, hi: bigint): bigint {
    const span = hi - lo + 1n;
    let r = 0n;
    for (let bits = 0n; (1n << bits) < span * 256n; bits += 64n) {
      r = (r << 64n) | this.u64();
    }
    return lo + r % span;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (this.next() * 256) | 0;
    return out;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/**
 * The seed for a property test: the environment variable `name` when set (to
 * replay a failure; read only if `--allow-env` grants it), else a random
 * one. Print it in failure messages.
 */
export function testSeed(name: string): number {
  const allowed =
    Deno.permissions.querySync({ name: "env", variable: name }).state ===
      "granted";
  const fromEnv = allowed ? Deno.env.get(name) : undefined;
  if (fromEnv !== undefined && fromEnv !== "") {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed)) {
      throw new TypeError(
        `Cannot use ${name}=${fromEnv}: it must be an integer`,
      );
    }
    return seed >>> 0;
  }
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * Splits `bytes` into chunks in one of several ways: 1-byte chunks, random
 * sizes, everything in one chunk, or big chunks spanning many frames.
 */
export function splitChunks(bytes: Uint8Array, prng: Prng): Uint8Array[] {
  const mode = prng.int(0, 3);
  if (mode === 2 || bytes.length === 0) return [bytes];
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = mode === 0
      ? 1
      : mode === 1
      ? prng.int(1, 17)
      : prng.int(1, Math.max(1, bytes.length >> 1));
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** Concatenates `chunks` into one new array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
