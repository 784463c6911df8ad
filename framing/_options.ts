// Option checks both codecs share. Private to framing/.

/** The default `maxFrameSize` of every codec: 8 MiB. */
export const DEFAULT_MAX_FRAME_SIZE: number = 8 * 1024 * 1024;

/**
 * Throws a `RangeError` naming the option unless `value` is a safe integer
 * of at least `min`.
 */
export function checkInteger(name: string, value: number, min: number): void {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < min
  ) {
    throw new RangeError(
      `Cannot use ${name} ${String(value)}: it must be ${
        min === 0 ? "a non-negative" : min === 1 ? "a positive" : "an"
      } integer`,
    );
  }
}
