// Python literals for the struct tool: parsing the values a user types
// (`20`, `-0x1f`, `1.5e3`, `inf`, `True`, `b'\x00ab'`) and printing values
// the way Python's repr() does. Private to tools/.
import type {
  PackValue,
  StructValue,
  StructValueKind,
} from "../framing/mod.ts";
import { UsageError } from "./_flags.ts";

const INTEGER =
  /^([+-]?)(0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[oO][0-7](?:_?[0-7])*|0[bB][01](?:_?[01])*|0+(?:_?0)*|[1-9](?:_?[0-9])*)$/;
const FLOAT =
  /^[+-]?(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/;
const SPECIAL_FLOAT = /^([+-]?)(inf|infinity|nan)$/i;
const ESCAPE_OF: Readonly<Record<string, number>> = {
  "\\": 0x5c,
  "'": 0x27,
  '"': 0x22,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
};

function parseInteger(sign: string, body: string): bigint {
  const digits = body.replaceAll("_", "");
  const prefix = digits.slice(0, 2).toLowerCase();
  const value = prefix === "0x" || prefix === "0o" || prefix === "0b"
    ? BigInt(`0${prefix[1]}${digits.slice(2)}`)
    : BigInt(digits);
  return sign === "-" ? -value : value;
}

function parseBytes(text: string, at: number): Uint8Array {
  const quote = text[1]!;
  if (
    text.length < 3 || (quote !== "'" && quote !== '"') ||
    text[text.length - 1] !== quote
  ) {
    throw new UsageError(
      `value ${at}: ${
        JSON.stringify(text)
      } is not a bytes literal like b'ab\\x00'`,
    );
  }
  const body = text.slice(2, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === quote) {
      throw new UsageError(
        `value ${at}: unescaped ${quote} inside ${JSON.stringify(text)}`,
      );
    }
    if (c !== "\\") {
      const code = c.charCodeAt(0);
      if (code > 0x7f) {
        throw new UsageError(
          `value ${at}: bytes literals hold ASCII only; write ${
            JSON.stringify(c)
          } as \\x escapes`,
        );
      }
      out.push(code);
      continue;
    }
    const next = body[++i];
    if (next === undefined) {
      throw new UsageError(`value ${at}: ${JSON.stringify(text)} ends with \\`);
    }
    if (next === "x") {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new UsageError(
          `value ${at}: \\x needs two hex digits in ${JSON.stringify(text)}`,
        );
      }
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (next >= "0" && next <= "7") {
      let octal = next;
      while (octal.length < 3 && /[0-7]/.test(body[i + 1] ?? "")) {
        octal += body[++i];
      }
      out.push(parseInt(octal, 8) & 0xff);
    } else if (next in ESCAPE_OF) {
      out.push(ESCAPE_OF[next]!);
    } else {
      out.push(0x5c, next.charCodeAt(0)); // Python keeps unknown escapes
    }
  }
  return new Uint8Array(out);
}

/**
 * Parses one value as Python would read the literal: an int (decimal,
 * `0x`, `0o`, `0b`, underscores), a float (`1.5`, `1e3`, `inf`, `nan`),
 * `True`/`False`, or a bytes literal `b'…'`.
 *
 * @param text The literal as typed.
 * @param at Its index among the values, for messages.
 * @returns The value, ready for `pack()`.
 * @throws {UsageError} If it is not such a literal.
 */
export function parsePythonLiteral(text: string, at: number): PackValue {
  if (text === "True") return true;
  if (text === "False") return false;
  if (/^[bB]['"]/.test(text)) return parseBytes(text, at);
  const integer = INTEGER.exec(text);
  if (integer !== null) {
    const value = parseInteger(integer[1]!, integer[2]!);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) &&
        value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  const special = SPECIAL_FLOAT.exec(text);
  if (special !== null) {
    const sign = special[1] === "-" ? -1 : 1;
    return special[2]!.toLowerCase() === "nan" ? NaN : sign * Infinity;
  }
  if (FLOAT.test(text)) return Number(text.replaceAll("_", ""));
  throw new UsageError(
    `value ${at}: cannot read ${
      JSON.stringify(text)
    } as a Python literal (an int, a float, True/False or b'bytes')`,
  );
}

/** Python's `repr()` of a float: `1.0`, `1e+16`, `1.5e-05`, `nan`, `-inf`. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // Shortest round-trip digits, as both languages use.
  const [mantissa, exponentText] = x.toExponential().split("e") as [
    string,
    string,
  ];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const rest = digits.slice(1);
    const e = Math.abs(exponent).toString().padStart(2, "0");
    return `${sign}${digits[0]}${rest ? `.${rest}` : ""}e${
      exponent < 0 ? "-" : "+"
    }${e}`;
  }
  if (exponent < 0) {
    return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  }
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || "0"}`;
}

/** Python's `repr()` of a bytes object: `b'ab\x00'`. */
export function pythonBytesRepr(bytes: Uint8Array): string {
  const hasSingle = bytes.includes(0x27);
  const quote = hasSingle && !bytes.includes(0x22) ? '"' : "'";
  let out = "b" + quote;
  for (const byte of bytes) {
    if (byte === 0x5c) out += "\\\\";
    else if (byte === quote.charCodeAt(0)) out += `\\${quote}`;
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x0d) out += "\\r";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out + quote;
}

/** Python's `repr()` of a value `unpack()` returned, given its kind. */
export function pythonRepr(value: StructValue, kind: StructValueKind): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return pythonBytesRepr(value);
  return kind === "float" ? pythonFloatRepr(value) : String(value);
}
