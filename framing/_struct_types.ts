// Compile-time parsing of struct format string literals into the tuple of
// values they pack and unpack. Private to framing/; struct.ts re-exports the
// public names. When a format is not a literal, or this parser cannot follow
// it, the general array types apply, so a type here never rejects a format
// that the runtime accepts.

/**
 * A value that `unpack` returns: `number` for most integers and floats,
 * `bigint` for 64-bit integers, `boolean` for `?`, `Uint8Array` for `c s p`.
 */
export type StructValue = number | bigint | boolean | Uint8Array;

/**
 * A value that `pack` takes: `number` or `bigint` for integers (a number must
 * be an integer), `number` for floats, `boolean` for `?`, `Uint8Array` for
 * `c s p`.
 */
export type PackValue = number | bigint | boolean | Uint8Array;

// Spelled out: a bare `Uint8Array` spread into a tuple does not compare as
// identical to the same tuple written by hand.
type Bytes = Uint8Array<ArrayBufferLike>;
type Space = " " | "\t" | "\n" | "\r" | "\v" | "\f";
type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";
type Fail = "struct-format-not-understood";

interface OutStandard {
  c: Bytes;
  b: number;
  B: number;
  "?": boolean;
  h: number;
  H: number;
  i: number;
  I: number;
  l: number;
  L: number;
  q: bigint;
  Q: bigint;
  e: number;
  f: number;
  d: number;
}
interface OutNative extends Omit<OutStandard, "l" | "L"> {
  l: bigint;
  L: bigint;
  n: bigint;
  N: bigint;
  P: bigint;
}
interface InStandard {
  c: Bytes;
  b: number;
  B: number;
  "?": boolean;
  h: number;
  H: number;
  i: number;
  I: number;
  l: number;
  L: number;
  q: bigint | number;
  Q: bigint | number;
  e: number;
  f: number;
  d: number;
}
interface InNative extends Omit<InStandard, "l" | "L"> {
  l: bigint | number;
  L: bigint | number;
  n: bigint | number;
  N: bigint | number;
  P: bigint | number;
}

type StripZeros<D extends string> = D extends `0${infer R}`
  ? R extends "" ? "0" : StripZeros<R>
  : D;

type Repeat<
  T,
  N extends number,
  Acc extends unknown[],
  Count extends unknown[] = [],
> = Count["length"] extends N ? Acc
  : Repeat<T, N, [...Acc, T], [...Count, 0]>;

// Up to three digits are expanded into a tuple; longer counts give up.
type RepeatDigits<T, D extends string, Acc extends unknown[]> = D extends
  `${Digit}${Digit}${Digit}${Digit}${string}` ? Fail
  : StripZeros<D> extends `${infer N extends number}` ? Repeat<T, N, Acc>
  : Fail;

type Items<F extends string, M, Acc extends unknown[]> = F extends "" ? Acc
  : F extends `${infer C}${infer R}` ? C extends Space ? Items<R, M, Acc>
    : C extends Digit ? Counted<R, C, M, Acc>
    : C extends "x" ? Items<R, M, Acc>
    : C extends "s" | "p" ? Items<R, M, [...Acc, Bytes]>
    : C extends keyof M ? Items<R, M, [...Acc, M[C]]>
    : Fail
  : Fail;

type Counted<F extends string, D extends string, M, Acc extends unknown[]> =
  F extends `${infer C}${infer R}` ? C extends Digit ? Counted<R, `${D}${C}`, M, Acc>
    : C extends "x" ? Items<R, M, Acc>
    : C extends "s" | "p" ? Items<R, M, [...Acc, Bytes]>
    : C extends keyof M
      ? RepeatDigits<M[C], D, Acc> extends infer A extends unknown[]
        ? Items<R, M, A>
      : Fail
    : Fail
  : Fail;

type Parse<F extends string, Native, Standard> = F extends
  `${"<" | ">" | "!" | "="}${infer R}` ? Items<R, Standard, []>
  : F extends `@${infer R}` ? Items<R, Native, []>
  : Items<F, Native, []>;

type OrElse<T, Else> = T extends unknown[] ? T : Else;

/**
 * The values that `unpack(format, …)` returns, as a tuple when `F` is a
 * format string literal: `UnpackedValues<"!HIq">` is
 * `[number, number, bigint]`; otherwise `StructValue[]`.
 */
export type UnpackedValues<F extends string> = string extends F ? StructValue[]
  : OrElse<Parse<F, OutNative, OutStandard>, StructValue[]>;

/**
 * The values that `pack(format, …)` takes, as a tuple when `F` is a format
 * string literal: `PackValues<"!H?">` is `[number, boolean]`; otherwise
 * `PackValue[]`.
 */
export type PackValues<F extends string> = string extends F ? PackValue[]
  : OrElse<Parse<F, InNative, InStandard>, PackValue[]>;
