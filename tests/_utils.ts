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
