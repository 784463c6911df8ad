// The typed boundary to the Deno standard library. `deno.json` maps the
// canonical `@std/*` names to files of `npm:deno-std` (JavaScript without
// types); every std function sockit uses is imported here once and given its
// std signature, so nothing untyped reaches the rest of the code. On a machine
// with JSR the same names map to `jsr:@std/*` and this file stays as it is.
// This is the one `_internal/` file that `framing/` may import: it is pure.
import * as asyncAbortable from "@std/async/abortable";
import * as asyncDeadline from "@std/async/deadline";
import * as asyncDelay from "@std/async/delay";
import * as bytesConcat from "@std/bytes/concat";
import * as bytesEquals from "@std/bytes/equals";
import * as bytesIndexOfNeedle from "@std/bytes/index-of-needle";
import * as cryptoTimingSafeEqual from "@std/crypto/timing-safe-equal";

/** Options of {@linkcode delay}. */
export interface DelayOptions {
  /** Rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
  /** Keeps the process alive while waiting (default `true`). */
  persistent?: boolean;
}

/** Resolves after `ms` milliseconds; rejects with the reason if `signal` aborts. */
export const delay: (ms: number, options?: DelayOptions) => Promise<void> =
  asyncDelay.delay;

/** Rejects with a `DOMException` named `TimeoutError` after `ms` milliseconds. */
export const deadline: <T>(
  promise: Promise<T>,
  ms: number,
  options?: { signal?: AbortSignal },
) => Promise<T> = asyncDeadline.deadline;

/** Rejects with the signal's reason when it aborts before `promise` settles. */
export const abortable: <T>(
  promise: Promise<T>,
  signal: AbortSignal,
) => Promise<T> = asyncAbortable.abortable;

/** One new array holding `buffers` one after another. */
export const concat: (buffers: readonly Uint8Array[]) => Uint8Array =
  bytesConcat.concat;

/** Whether `a` and `b` hold the same bytes. */
export const equals: (a: Uint8Array, b: Uint8Array) => boolean =
  bytesEquals.equals;

/** The index of the first `needle` in `source` at or after `start`, or -1. */
export const indexOfNeedle: (
  source: Uint8Array,
  needle: Uint8Array,
  start?: number,
) => number = bytesIndexOfNeedle.indexOfNeedle;

/** Compares two byte arrays in time that depends only on their length. */
export const timingSafeEqual: (
  a: ArrayBufferView | ArrayBufferLike | DataView,
  b: ArrayBufferView | ArrayBufferLike | DataView,
) => boolean = cryptoTimingSafeEqual.timingSafeEqual;
