// How a value is shown in an error message. Private to framing/: struct.ts
// and byte_order.ts both use it.

/**
 * A short description of `value` for a message: a number, bigint or string
 * as written in code (`-0`, `5n`, `"5"`), a `Uint8Array` by its size, any
 * other object by its kind.
 */
export function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") {
    return Object.is(value, -0) ? "-0" : String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) {
    return `a Uint8Array of ${value.length} bytes`;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}
