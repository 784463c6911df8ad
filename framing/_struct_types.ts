// Compile-time parsing of struct format string literals into the tuple of
// values they pack and unpack. Private to framing/; struct.ts re-exports the
// four public names (StructValue, PackValue, UnpackedValues, PackValues).
// The helpers are not exported and are `@ignore`d, so they stay out of the
// docs and the public surface and `deno doc --lint` accepts the public types
// that use them. When a format is not a literal, or this parser cannot
// follow it, the general array types apply, so a type here never rejects a
// format that the runtime accepts.

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

/**
 * The byte values of `c s p`: a `Uint8Array`. (Spelled out because a bare
 * `Uint8Array` spread into a tuple does not compare as identical to the same
 * tuple written by hand.)
 *
 * @ignore
 */
type StructBytes = Uint8Array<ArrayBufferLike>;
/**
 * Characters CPython skips between format items.
 *
 * @ignore
 */
type FormatSpace = " " | "\t" | "\n" | "\r" | "\v" | "\f";
/**
 * A decimal digit of a repeat count.
 *
 * @ignore
 */
type FormatDigit =
  | "0"
  | "1"
  | "2"
  | "3"
  | "4"
  | "5"
  | "6"
  | "7"
  | "8"
  | "9";
/**
 * What the type-level parser yields when it cannot follow a format.
 *
 * @ignore
 */
type FormatNotUnderstood = "struct-format-not-understood";

/**
 * Unpacked value types per format character, standard sizes (`= < > !`).
 *
 * @ignore
 */
interface UnpackTypesStandard {
  /** `c`: one byte. */
  c: StructBytes;
  /** `b`: signed char. */
  b: number;
  /** `B`: unsigned char. */
  B: number;
  /** `?`: _Bool. */
  "?": boolean;
  /** `h`: short. */
  h: number;
  /** `H`: unsigned short. */
  H: number;
  /** `i`: int. */
  i: number;
  /** `I`: unsigned int. */
  I: number;
  /** `l`: long. */
  l: number;
  /** `L`: unsigned long. */
  L: number;
  /** `q`: long long. */
  q: bigint;
  /** `Q`: unsigned long long. */
  Q: bigint;
  /** `e`: binary16 float. */
  e: number;
  /** `f`: float. */
  f: number;
  /** `d`: double. */
  d: number;
}

/**
 * Unpacked value types per format character, native sizes (`@`, x86-64).
 *
 * @ignore
 */
interface UnpackTypesNative extends Omit<UnpackTypesStandard, "l" | "L"> {
  /** `l`: long. */
  l: bigint;
  /** `L`: unsigned long. */
  L: bigint;
  /** `n`: ssize_t. */
  n: bigint;
  /** `N`: size_t. */
  N: bigint;
  /** `P`: void pointer. */
  P: bigint;
}

/**
 * Accepted pack value types per format character, standard sizes.
 *
 * @ignore
 */
interface PackTypesStandard {
  /** `c`: one byte. */
  c: StructBytes;
  /** `b`: signed char. */
  b: number;
  /** `B`: unsigned char. */
  B: number;
  /** `?`: _Bool. */
  "?": boolean;
  /** `h`: short. */
  h: number;
  /** `H`: unsigned short. */
  H: number;
  /** `i`: int. */
  i: number;
  /** `I`: unsigned int. */
  I: number;
  /** `l`: long. */
  l: number;
  /** `L`: unsigned long. */
  L: number;
  /** `q`: long long. */
  q: bigint | number;
  /** `Q`: unsigned long long. */
  Q: bigint | number;
  /** `e`: binary16 float. */
  e: number;
  /** `f`: float. */
  f: number;
  /** `d`: double. */
  d: number;
}

/**
 * Accepted pack value types per format character, native sizes.
 *
 * @ignore
 */
interface PackTypesNative extends Omit<PackTypesStandard, "l" | "L"> {
  /** `l`: long. */
  l: bigint | number;
  /** `L`: unsigned long. */
  L: bigint | number;
  /** `n`: ssize_t. */
  n: bigint | number;
  /** `N`: size_t. */
  N: bigint | number;
  /** `P`: void pointer. */
  P: bigint | number;
}

/**
 * Drops leading zeros from a digit string.
 *
 * @ignore
 */
type StripZeros<D extends string> = D extends `0${infer R}`
  ? R extends "" ? "0" : StripZeros<R>
  : D;

/**
 * Appends `N` copies of `T` to `Acc`.
 *
 * @ignore
 */
type Repeat<
  T,
  N extends number,
  Acc extends unknown[],
  Count extends unknown[] = [],
> = Count["length"] extends N ? Acc
  : Repeat<T, N, [...Acc, T], [...Count, 0]>;

// Up to three digits are expanded into a tuple; longer counts give up.
/**
 * Appends as many `T` as the digit string `D` says (at most 999).
 *
 * @ignore
 */
type RepeatDigits<T, D extends string, Acc extends unknown[]> = D extends
  `${FormatDigit}${FormatDigit}${FormatDigit}${FormatDigit}${string}`
  ? FormatNotUnderstood
  : StripZeros<D> extends `${infer N extends number}` ? Repeat<T, N, Acc>
  : FormatNotUnderstood;

/**
 * Parses format items after the byte-order prefix.
 *
 * @ignore
 */
type FormatItems<F extends string, M, Acc extends unknown[]> = F extends ""
  ? Acc
  : F extends `${infer C}${infer R}`
    ? C extends FormatSpace ? FormatItems<R, M, Acc>
    : C extends FormatDigit ? FormatCounted<R, C, M, Acc>
    : C extends "x" ? FormatItems<R, M, Acc>
    : C extends "s" | "p" ? FormatItems<R, M, [...Acc, StructBytes]>
    : C extends keyof M ? FormatItems<R, M, [...Acc, M[C]]>
    : FormatNotUnderstood
  : FormatNotUnderstood;

/**
 * Parses the rest of a repeat count and its format character.
 *
 * @ignore
 */
type FormatCounted<
  F extends string,
  D extends string,
  M,
  Acc extends unknown[],
> = F extends `${infer C}${infer R}`
  ? C extends FormatDigit ? FormatCounted<R, `${D}${C}`, M, Acc>
  : C extends "x" ? FormatItems<R, M, Acc>
  : C extends "s" | "p" ? FormatItems<R, M, [...Acc, StructBytes]>
  : C extends keyof M
    ? RepeatDigits<M[C], D, Acc> extends infer A extends unknown[]
      ? FormatItems<R, M, A>
    : FormatNotUnderstood
  : FormatNotUnderstood
  : FormatNotUnderstood;

/**
 * Parses a whole format string with the value-type tables `Native` and `Standard`.
 *
 * @ignore
 */
type ParseFormat<F extends string, Native, Standard> = F extends
  `${"<" | ">" | "!" | "="}${infer R}` ? FormatItems<R, Standard, []>
  : F extends `@${infer R}` ? FormatItems<R, Native, []>
  : FormatItems<F, Native, []>;

/**
 * `T` when it is a tuple, else `Else`.
 *
 * @ignore
 */
type TupleOr<T, Else> = T extends unknown[] ? T : Else;

/**
 * The values that `unpack(format, …)` returns, as a tuple when `F` is a
 * format string literal: `UnpackedValues<"!HIq">` is
 * `[number, number, bigint]`; otherwise `StructValue[]`.
 */
export type UnpackedValues<F extends string> = string extends F ? StructValue[]
  : TupleOr<
    ParseFormat<F, UnpackTypesNative, UnpackTypesStandard>,
    StructValue[]
  >;

/**
 * The values that `pack(format, …)` takes, as a tuple when `F` is a format
 * string literal: `PackValues<"!H?">` is `[number, boolean]`; otherwise
 * `PackValue[]`.
 */
export type PackValues<F extends string> = string extends F ? PackValue[]
  : TupleOr<ParseFormat<F, PackTypesNative, PackTypesStandard>, PackValue[]>;
