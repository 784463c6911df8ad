/**
 * Differential test of `framing/struct.ts` against CPython's `struct`.
 *
 * A seeded generator makes thousands of cases (formats, values, buffers,
 * offsets, malformed formats), `_struct_oracle.py` runs them all through
 * python3 in one process, and each case is then run through our
 * implementation and compared byte for byte, value for value (with the JS
 * type: `number`, `bigint`, `boolean`, `Uint8Array`) and error for error.
 *
 * Replay a failing run with `SOCKIT_STRUCT_SEED=<seed>`, the seed every
 * failure message prints.
 *
 * @module
 */
import {
  calcsize,
  iterUnpack,
  pack,
  packInto,
  type PackValue,
  Struct,
  unpack,
  unpackFrom,
} from "../../framing/mod.ts";
import {
  assert,
  assertGreaterOrEqual,
  fail,
  fromHex,
  Prng,
  testSeed,
  toHex,
} from "../_utils.ts";

// ---------------------------------------------------------------------------
// Seeded PRNG

const SEED: number = testSeed("SOCKIT_STRUCT_SEED");
const CASE_COUNT = 6_000;
const MAX_REPORTED = 20;

// ---------------------------------------------------------------------------
// Values: what Python gets (typed JSON) and what we get (a JS value)

type PyVal =
  | { t: "int"; v: string }
  | { t: "float"; v: string }
  | { t: "bytes"; v: string }
  | { t: "bool"; v: boolean }
  | { t: "str"; v: string }
  | { t: "none" };

interface Arg {
  py: PyVal;
  js: unknown;
}

const F64 = new DataView(new ArrayBuffer(8));
const CANONICAL_NAN_HEX = "7ff8000000000000";

function floatHex(x: number): string {
  if (Number.isNaN(x)) return CANONICAL_NAN_HEX;
  F64.setFloat64(0, x);
  return F64.getBigUint64(0).toString(16).padStart(16, "0");
}

function floatFromHex(hex: string): number {
  F64.setBigUint64(0, BigInt("0x" + hex));
  return F64.getFloat64(0);
}

function floatFromBits(bits: bigint): number {
  F64.setBigUint64(0, BigInt.asUintN(64, bits));
  const x = F64.getFloat64(0);
  return Number.isNaN(x) ? NaN : x; // only the canonical NaN goes in
}

function f32FromBits(bits: number): number {
  F64.setUint32(0, bits >>> 0);
  const x = F64.getFloat32(0);
  return Number.isNaN(x) ? NaN : x;
}

/** Decodes IEEE 754 binary16 bits to a number. */
function halfFromBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  if (exp === 0) return sign * frac * 2 ** -24;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The next double above `x` (finite `x`). */
function nextUp(x: number): number {
  if (x === 0) return 5e-324;
  F64.setFloat64(0, x);
  const bits = F64.getBigUint64(0);
  F64.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return F64.getFloat64(0);
}

function nextDown(x: number): number {
  return -nextUp(-x);
}

function intArg(v: bigint, r: Prng): Arg {
  const py: PyVal = { t: "int", v: v.toString() };
  const asNumber = Number(v);
  const exact = Number.isFinite(asNumber) && BigInt(asNumber) === v;
  if (Number.isSafeInteger(asNumber) && exact && r.chance(0.5)) {
    return { py, js: asNumber };
  }
  // An integral number past 2**53-1 may already be rounded, so struct takes
  // it as Python takes a float: refused by the integer codes (ours says to
  // pass a bigint), converted by the float codes, truthy for '?'.
  if (exact && r.chance(0.3)) {
    return Number.isSafeInteger(asNumber)
      ? { py, js: asNumber }
      : floatArg(asNumber);
  }
  return { py, js: v };
}

/** A JS number as Python sees it: an int when integral, else a float. */
function numberArg(x: number): Arg {
  if (Number.isInteger(x)) {
    return { py: { t: "int", v: BigInt(x).toString() }, js: x };
  }
  return { py: { t: "float", v: floatHex(x) }, js: x };
}

function floatArg(x: number): Arg {
  return { py: { t: "float", v: floatHex(x) }, js: x };
}

function bytesArg(b: Uint8Array, r: Prng): Arg {
  let js = b;
  if (r.chance(0.3)) {
    // A view into a larger buffer, to catch code that ignores byteOffset.
    const pre = r.int(1, 7);
    const big = r.bytes(pre + b.length + r.int(0, 7));
    big.set(b, pre);
    js = big.subarray(pre, pre + b.length);
  }
  return { py: { t: "bytes", v: toHex(b) }, js };
}

function boolArg(b: boolean): Arg {
  return { py: { t: "bool", v: b }, js: b };
}

const NON_INTEGRAL = [
  0.5,
  -0.5,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  1e-300,
  4503599627370495.5,
];

function wrongTypeArg(code: string, r: Prng): Arg {
  const kinds = ["str", "none"];
  if ("spc".includes(code)) kinds.push("int", "int");
  else kinds.push("bytes", "bytes");
  if ("bBhHiIlLqQnNP".includes(code)) kinds.push("float", "float", "float");
  switch (r.pick(kinds)) {
    case "str":
      return { py: { t: "str", v: "1" }, js: "1" };
    case "none":
      return { py: { t: "none" }, js: null };
    case "int":
      return intArg(BigInt(r.int(-2, 300)), r);
    case "bytes":
      return bytesArg(r.bytes(r.int(0, 2)), r);
    default:
      return floatArg(r.pick(NON_INTEGRAL));
  }
}

// ---------------------------------------------------------------------------
// Integer, float and bytes value generators

const P2 = (n: number): bigint => 1n << BigInt(n);

function intRange(code: string, native: boolean): [bigint, bigint] {
  switch (code) {
    case "b":
      return [-128n, 127n];
    case "B":
      return [0n, 255n];
    case "h":
      return [-P2(15), P2(15) - 1n];
    case "H":
      return [0n, P2(16) - 1n];
    case "i":
      return [-P2(31), P2(31) - 1n];
    case "I":
      return [0n, P2(32) - 1n];
    case "l":
      return native ? [-P2(63), P2(63) - 1n] : [-P2(31), P2(31) - 1n];
    case "L":
      return native ? [0n, P2(64) - 1n] : [0n, P2(32) - 1n];
    case "q":
    case "n":
      return [-P2(63), P2(63) - 1n];
    case "P":
      return native ? [-P2(63), P2(64) - 1n] : [0n, P2(64) - 1n];
    default: // Q N
      return [0n, P2(64) - 1n];
  }
}

const INTERESTING_INTS: readonly bigint[] = [
  0n,
  1n,
  -1n,
  P2(7),
  P2(8),
  P2(15),
  P2(16),
  P2(31),
  -P2(31) - 1n,
  P2(32),
  P2(32) - 1n,
  P2(53) - 1n,
  P2(53),
  P2(53) + 1n,
  -P2(53) - 1n,
  P2(63) - 1n,
  P2(63),
  -P2(63),
  -P2(63) - 1n,
  P2(64) - 1n,
  P2(64),
  -P2(64),
  P2(100),
];

/** An integer for `code`: in range for a clean case, anything for a faulty one. */
function genInt(
  code: string,
  native: boolean,
  faulty: boolean,
  r: Prng,
): bigint {
  const [lo, hi] = intRange(code, native);
  const roll = r.next();
  if (roll < 0.45) return r.bigint(lo, hi);
  if (roll < 0.6) return r.bigint(lo, hi) / r.pick([256n, P2(20)]); // smaller
  if (!faulty || roll < 0.8) {
    const edges = [
      lo,
      hi,
      0n,
      -1n,
      1n,
      P2(53) - 1n,
      P2(53),
      P2(53) + 1n,
      -P2(53) - 1n,
    ];
    return r.pick(edges.filter((v) => v >= lo && v <= hi));
  }
  if (roll < 0.9) return r.pick([lo - 1n, hi + 1n]);
  return r.pick(INTERESTING_INTS);
}

const FLT_MAX = 3.4028234663852886e38;
/** Halfway between FLT_MAX and 2**128: the smallest double that rounds to inf. */
const F32_HALFWAY = 3.4028235677973366e38;

const COMMON_FLOATS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.1,
  -2.5,
  1 / 3,
  NaN,
  Infinity,
  -Infinity,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  1.7976931348623157e308,
  -1.7976931348623157e308,
  1e-300,
  1e300,
  2 ** 53 + 2,
];

const HALF_FLOATS: readonly number[] = [
  65504, // max half
  -65504,
  65519.99, // rounds down to max
  nextDown(65520),
  65520, // halfway to 2**16: rounds to even, overflows
  -65520,
  65536,
  2 ** -14, // min normal
  2 ** -24, // min subnormal
  2 ** -25, // tie with 0: rounds to 0
  nextUp(2 ** -25),
  3 * 2 ** -25, // tie between subnormals 1 and 2
  1 + 2 ** -11, // tie: rounds to even (1)
  1 + 3 * 2 ** -11, // tie: rounds up to even
  1 + 2 ** -11 + 2 ** -40,
  2049,
  2051,
  6.1e-5,
  1e-8,
];

const FLOAT32S: readonly number[] = [
  FLT_MAX,
  -FLT_MAX,
  nextUp(FLT_MAX),
  nextDown(F32_HALFWAY), // rounds to FLT_MAX
  F32_HALFWAY, // rounds to inf
  -F32_HALFWAY,
  nextUp(F32_HALFWAY),
  1e39,
  2 ** -149, // min subnormal
  2 ** -150, // tie with 0
  nextUp(2 ** -150),
  3 * 2 ** -150,
  2 ** -126,
  1 + 2 ** -24, // tie
  1 + 3 * 2 ** -24,
  16777217,
  1e-46,
];

/** Whether CPython raises OverflowError packing the finite `x` with `code`. */
function overflows(code: string, x: number, native: boolean): boolean {
  if (!Number.isFinite(x)) return false;
  if (code === "e") return Math.abs(x) >= 65520;
  return code === "f" && !native && Math.abs(x) >= F32_HALFWAY;
}

function genFloat(
  code: string,
  native: boolean,
  faulty: boolean,
  r: Prng,
): number {
  if (faulty && code !== "d" && r.chance(0.25)) {
    // Around the overflow boundary of the target width.
    return code === "e"
      ? r.pick([65520, -65520, nextDown(65520), 65536, 100000, 1e10])
      : r.pick([
        F32_HALFWAY,
        -F32_HALFWAY,
        nextDown(F32_HALFWAY),
        1e39,
        -1e300,
      ]);
  }
  for (;;) {
    const x = anyFloat(code, r);
    if (faulty || !overflows(code, x, native)) return x;
  }
}

function anyFloat(code: string, r: Prng): number {
  const roll = r.next();
  if (roll < 0.25) return r.pick(COMMON_FLOATS);
  if (roll < 0.5) {
    if (code === "e") return r.pick(HALF_FLOATS);
    if (code === "f") return r.pick(FLOAT32S);
    return floatFromBits(r.u64());
  }
  if (roll < 0.75) {
    // A representable value of the target width, or a midpoint between two.
    if (code === "e") {
      const bits = r.int(0, 0x7bff);
      const x = halfFromBits(bits);
      const y = r.chance(0.3) ? (x + halfFromBits(bits + 1)) / 2 : x;
      return r.chance(0.5) ? -y : y;
    }
    if (code === "f") {
      const bits = r.int(0, 0x7f7fffff);
      const x = f32FromBits(bits);
      const y = r.chance(0.3) ? (x + f32FromBits(bits + 1)) / 2 : x;
      return r.chance(0.5) ? -y : y;
    }
    return floatFromBits(r.u64());
  }
  // A random double with an exponent near the target's range.
  const span = code === "e" ? 20 : code === "f" ? 140 : 1000;
  const x = (r.next() + 0.5) * 2 ** r.int(-span, span);
  return r.chance(0.5) ? -x : x;
}

/**
 * A value for one item. A clean case gets values CPython accepts; a faulty
 * one also gets out-of-range values, overflowing floats, wrong types.
 */
function genValue(
  code: string,
  count: number,
  native: boolean,
  faulty: boolean,
  r: Prng,
): Arg {
  if (faulty && r.chance(0.1)) return wrongTypeArg(code, r);
  switch (code) {
    case "s":
    case "p": {
      const len = r.pick([
        0,
        count - 1,
        count,
        count,
        count + 1,
        r.int(0, count + 3),
      ]);
      return bytesArg(r.bytes(Math.max(0, len)), r);
    }
    case "c":
      return bytesArg(
        r.bytes(!faulty || r.chance(0.5) ? 1 : r.pick([0, 2])),
        r,
      );
    case "?": {
      // Python takes any object by its truth value.
      const roll = r.next();
      if (roll < 0.6) return boolArg(r.chance(0.5));
      if (roll < 0.8) {
        return numberArg(r.pick([0, -0, 1, 2, -1, 0.5, NaN, Infinity]));
      }
      if (roll < 0.9) return intArg(r.pick([0n, 1n, -5n, P2(70)]), r);
      return r.pick<Arg>([
        bytesArg(new Uint8Array(0), r),
        bytesArg(new Uint8Array([0]), r),
        { py: { t: "str", v: "" }, js: "" },
        { py: { t: "str", v: "0" }, js: "0" },
        { py: { t: "none" }, js: null },
      ]);
    }
    case "e":
    case "f":
    case "d": {
      const roll = r.next();
      if (roll < 0.03) return boolArg(r.chance(0.5)); // a bool is an int
      if (roll < 0.06) {
        // An integer for a float code, as Python allows (as number or bigint).
        const ints = [0n, 1n, -7n, 65504n, 16777217n, P2(53) + 1n, P2(64) + 1n];
        if (faulty) {
          // Rounds to max double / overflows converting to float.
          ints.push(
            65520n,
            P2(1024) - P2(970) - 1n,
            P2(1024) - P2(970),
            P2(1024),
          );
        }
        const v = r.pick(ints);
        return r.chance(0.5) ? intArg(v, r) : numberArg(Number(v));
      }
      return floatArg(genFloat(code, native, faulty, r));
    }
    default:
      if (r.chance(0.03)) return boolArg(r.chance(0.5)); // a bool is an int
      return intArg(genInt(code, native, faulty, r), r);
  }
}

// ---------------------------------------------------------------------------
// Formats

const PREFIXES = ["", "", "@", "=", "<", ">", "!"] as const;
const CODES = "xcbB?hHiIlLqQnNefdspP";
const WHITESPACE = " \t\n\r\v\f";
const BAD_CHARS = [
  "j",
  "k",
  "m",
  "o",
  "r",
  "t",
  "u",
  "w",
  "y",
  "z",
  "A",
  "Z",
  "#",
  "*",
  "-",
  "+",
  ".",
  "_",
  "\0",
  "é",
];

interface Item {
  code: string;
  /** The count as written, "" for none. */
  countText: string;
}

interface Format {
  fmt: string;
  items: Item[];
  native: boolean;
}

/** Counts near the limits of a Py_ssize_t, for calcsize and friends. */
const HUGE_COUNTS = [
  "9223372036854775807",
  "9223372036854775806",
  "9223372036854775808",
  "9223372036854775800",
  "1152921504606846975", // (2**63 - 1) // 8
  "1152921504606846976",
  "2305843009213693951", // (2**63 - 1) // 4
  "2305843009213693952",
  "4611686018427387903",
  "4611686018427387904",
  "9007199254740991", // Number.MAX_SAFE_INTEGER
  "9007199254740992",
  "9007199254740993",
  "99999999999999999999",
  "1000000000000",
];

function genCountText(code: string, r: Prng, huge: boolean): string {
  if (huge && r.chance(0.08)) return r.pick(HUGE_COUNTS);
  const roll = r.next();
  if (roll < 0.45) return "";
  if (roll < 0.55) return "0";
  if (roll < 0.62) return "1";
  if (roll < 0.88) return String(r.int(2, 5));
  if (roll < 0.92) return "0" + String(r.int(0, 3)); // leading zero
  return String("xsp".includes(code) ? r.int(6, 300) : r.int(6, 24));
}

function whitespace(r: Prng): string {
  let s = "";
  for (let n = r.int(1, 3); n > 0; n--) s += r.pick([...WHITESPACE]);
  return s;
}

function genFormat(r: Prng, huge: boolean): Format {
  const prefix = r.pick(PREFIXES);
  const native = prefix === "" || prefix === "@";
  const nItems = r.pick([0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6]);
  const items: Item[] = [];
  for (let i = 0; i < nItems; i++) {
    let code = CODES[r.int(0, CODES.length - 1)]!;
    // n N P are errors with a standard prefix: keep some, not too many.
    while (!native && "nNP".includes(code) && r.chance(0.6)) {
      code = CODES[r.int(0, CODES.length - 1)]!;
    }
    items.push({ code, countText: genCountText(code, r, huge && i === 0) });
  }
  const parts: string[] = [prefix];
  if (r.chance(0.1)) parts.push(whitespace(r));
  items.forEach((item, i) => {
    if (i > 0 && r.chance(0.25)) parts.push(whitespace(r));
    parts.push(item.countText + item.code);
  });
  if (r.chance(0.1)) parts.push(whitespace(r));
  let fmt = parts.join("");
  if (r.chance(0.1)) fmt = malform(fmt, items, r);
  return { fmt, items, native };
}

/** Breaks a format in one of the ways CPython rejects (or, rarely, does not). */
function malform(fmt: string, items: Item[], r: Prng): string {
  const at = r.int(0, fmt.length);
  const insert = (s: string, i = at) => fmt.slice(0, i) + s + fmt.slice(i);
  switch (r.int(0, 7)) {
    case 0: // a bad format character
      return insert(r.pick(BAD_CHARS));
    case 1: // a count without a format character
      return fmt + String(r.int(0, 12));
    case 2: // a count, whitespace, then the character
      return insert(
        String(r.int(1, 9)) + r.pick([...WHITESPACE]) + r.pick([...CODES]),
      );
    case 3: // a byte-order character not at position 0
      return insert(r.pick(["@", "=", "<", ">", "!"]), Math.max(1, at));
    case 4: // whitespace before the byte-order character
      return r.pick([...WHITESPACE]) + (fmt === "" ? "<i" : fmt);
    case 5: // a sign on a count
      return insert(r.pick(["-1", "+2"]) + r.pick([...CODES]));
    case 6: // a count then whitespace at the end
      return fmt + String(r.int(1, 9)) + " ";
    default: // n N P under a standard prefix
      return r.pick(["<", ">", "!", "="]) + (items.length ? "" : "n") +
        fmt.replace(/^[@=<>!]/, "") + r.pick(["n", "N", "P", "2n"]);
  }
}

function genArgs(f: Format, faulty: boolean, r: Prng): Arg[] {
  const args: Arg[] = [];
  for (const item of f.items) {
    if (item.code === "x") continue;
    // A huge count cannot get its values: CPython rejects the count of
    // values before it looks at them, so a few stand in for them.
    const written = item.countText === "" ? 1 : Number(item.countText);
    const count = written > 1_000 ? r.int(0, 3) : written;
    if (item.code === "s" || item.code === "p") {
      args.push(genValue(item.code, count, f.native, faulty, r));
    } else {
      for (let i = 0; i < count; i++) {
        args.push(genValue(item.code, count, f.native, faulty, r));
      }
    }
  }
  if (faulty && r.chance(0.15)) {
    // A wrong number of values.
    if (args.length > 0 && r.chance(0.5)) {
      args.splice(r.int(0, args.length - 1), 1);
    } else args.push(genValue(r.pick([...CODES]), 1, f.native, true, r));
  }
  return args;
}

// ---------------------------------------------------------------------------
// Cases

type Op =
  | "calcsize"
  | "pack"
  | "unpack"
  | "unpack_from"
  | "iter_unpack"
  | "pack_into";
type OffsetMode = "omit" | "pos" | "neg" | "rand";

/** A case as sent to the oracle. */
interface WireCase {
  op: Op;
  form: "fn" | "class";
  fmt: string;
  rseed: number;
  args?: PyVal[];
  delta?: number;
  pre?: number;
  k?: number;
  off?: OffsetMode;
}

interface Case {
  wire: WireCase;
  jsArgs: unknown[];
}

const OPS: readonly Op[] = [
  "pack",
  "pack",
  "pack",
  "pack",
  "unpack",
  "unpack",
  "unpack",
  "unpack_from",
  "unpack_from",
  "pack_into",
  "pack_into",
  "iter_unpack",
  "calcsize",
];

function genCase(r: Prng): Case {
  const op = r.pick(OPS);
  const form = r.chance(0.3) ? "class" : "fn";
  // Huge counts only where CPython errors or answers without allocating.
  const f = genFormat(r, op !== "pack");
  const wire: WireCase = { op, form, fmt: f.fmt, rseed: r.u32() };
  let jsArgs: unknown[] = [];
  const delta = () => r.chance(0.8) ? 0 : r.pick([-3, -2, -1, 1, 2, 5]);
  if (op === "pack" || op === "pack_into") {
    const args = genArgs(f, r.chance(0.3), r);
    wire.args = args.map((a) => a.py);
    jsArgs = args.map((a) => a.js);
  }
  if (op === "unpack") wire.delta = delta();
  if (op === "iter_unpack") {
    wire.k = r.pick([0, 1, 2, 3, 5]);
    wire.delta = delta();
  }
  if (op === "unpack_from" || op === "pack_into") {
    wire.off = op === "unpack_from" && r.chance(0.2)
      ? "omit"
      : r.pick(["pos", "pos", "neg", "rand"] as const);
    wire.pre = r.int(0, 6);
    wire.delta = r.chance(0.6) ? r.int(0, 6) : delta();
  }
  return { wire, jsArgs };
}

// ---------------------------------------------------------------------------
// The oracle

type PyOk =
  | { int: string }
  | { bytes: string }
  | { values: PyVal[] }
  | { rows: PyVal[][] };

interface PyResult {
  in: { data?: string; offset?: number };
  /** CPython's calcsize of the case's format, when the format is valid. */
  fsize?: string;
  size?: string;
  format?: string;
  ok?: PyOk;
  error?: string;
  phase?: "call" | "iterate";
  unexpected?: string;
}

const ORACLE_PATH = decodeURIComponent(
  new URL("./_struct_oracle.py", import.meta.url).pathname,
);

async function runOracle(cases: WireCase[]): Promise<PyResult[]> {
  const child = new Deno.Command("python3", {
    args: [ORACLE_PATH],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  } finally {
    await writer.close();
  }
  const { code, stdout, stderr } = await output;
  if (code !== 0) {
    fail(
      `The python3 struct oracle exited with code ${code}: ${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  const results = JSON.parse(new TextDecoder().decode(stdout)) as PyResult[];
  assert(
    results.length === cases.length,
    `The oracle returned ${results.length} results for ${cases.length} cases`,
  );
  return results;
}

// ---------------------------------------------------------------------------
// Running our implementation

type Ours =
  | { ok: unknown; size?: number; format?: string }
  | {
    error: string;
    phase: "call" | "iterate";
    size?: number;
    format?: string;
  };

function describeError(e: unknown): string {
  return e instanceof Error
    ? `${e.name}: ${e.message}`
    : `non-Error thrown: ${String(e)}`;
}

/** Places `bytes` in a view with guard bytes either side (byteOffset ≠ 0). */
function guarded(
  bytes: Uint8Array,
  r: Prng,
): { view: Uint8Array; whole: Uint8Array; pre: number } {
  const pre = r.int(0, 5);
  const whole = r.bytes(pre + bytes.length + r.int(0, 5));
  whole.set(bytes, pre);
  return { view: whole.subarray(pre, pre + bytes.length), whole, pre };
}

function runOurs(c: Case, py: PyResult, r: Prng): Ours {
  const { op, form, fmt } = c.wire;
  const data = fromHex(py.in.data ?? "");
  const offset = py.in.offset;
  let s: Struct | undefined;
  const extra: { size?: number; format?: string } = {};
  try {
    if (form === "class") {
      s = new Struct(fmt);
      extra.size = s.size;
      extra.format = s.format;
    }
    const args = c.jsArgs as PackValue[];
    switch (op) {
      case "calcsize":
        return { ok: s ? s.size : calcsize(fmt), ...extra };
      case "pack":
        return { ok: s ? s.pack(...args) : pack(fmt, ...args), ...extra };
      case "unpack": {
        const { view } = guarded(data, r);
        return { ok: s ? s.unpack(view) : unpack(fmt, view), ...extra };
      }
      case "unpack_from": {
        const { view } = guarded(data, r);
        if (offset === undefined) {
          return {
            ok: s ? s.unpackFrom(view) : unpackFrom(fmt, view),
            ...extra,
          };
        }
        return {
          ok: s ? s.unpackFrom(view, offset) : unpackFrom(fmt, view, offset),
          ...extra,
        };
      }
      case "pack_into": {
        const { view, whole, pre } = guarded(data, r);
        const before = whole.slice();
        if (s) s.packInto(view, offset!, ...args);
        else packInto(fmt, view, offset!, ...args);
        const outside = [
          ...whole.subarray(0, pre),
          ...whole.subarray(pre + view.length),
        ];
        const outsideBefore = [
          ...before.subarray(0, pre),
          ...before.subarray(pre + view.length),
        ];
        if (outside.some((b, i) => b !== outsideBefore[i])) {
          return {
            ok: "wrote outside the target view: " + toHex(whole),
            ...extra,
          };
        }
        return { ok: view.slice(), ...extra };
      }
      case "iter_unpack": {
        const { view } = guarded(data, r);
        const it = s ? s.iterUnpack(view) : iterUnpack(fmt, view);
        try {
          return { ok: [...it], ...extra };
        } catch (e) {
          return { error: describeError(e), phase: "iterate", ...extra };
        }
      }
    }
  } catch (e) {
    return { error: describeError(e), phase: "call", ...extra };
  }
}

// ---------------------------------------------------------------------------
// Comparing

/** The JS type each value of a (valid) format unpacks to. */
function expectedKinds(fmt: string, limit: number): string[] {
  let body = fmt;
  let native = true;
  if (body.length > 0 && "@=<>!".includes(body[0]!)) {
    native = body[0] === "@";
    body = body.slice(1);
  }
  const kinds: string[] = [];
  for (const m of body.matchAll(/(\d*)([A-Za-z?])/g)) {
    const code = m[2]!;
    const count = m[1] ? Number(m[1]) : 1;
    if (code === "x") continue;
    let kind: string;
    if ("spc".includes(code)) kind = "bytes";
    else if (code === "?") kind = "boolean";
    else if ("efd".includes(code)) kind = "float";
    else if ("qQnNP".includes(code) || ("lL".includes(code) && native)) {
      kind = "bigint";
    } else kind = "number";
    // CPython only unpacks as many values as the bytes hold, so a huge
    // count never gets this far with more than `limit` values.
    const n = code === "s" || code === "p" ? 1 : Math.min(count, limit);
    for (let i = 0; i < n && kinds.length < limit; i++) kinds.push(kind);
  }
  return kinds;
}

function sameValue(
  py: PyVal,
  ours: unknown,
  kind: string | undefined,
): string | null {
  const show = () => `${JSON.stringify(py)} vs ${showJs(ours)}`;
  switch (py.t) {
    case "int": {
      const want = BigInt(py.v);
      if (kind === "bigint") {
        return typeof ours === "bigint" && ours === want
          ? null
          : `int ${show()} (want bigint)`;
      }
      return typeof ours === "number" && Number.isInteger(ours) &&
          BigInt(ours) === want
        ? null
        : `int ${show()} (want number)`;
    }
    case "bool":
      return ours === py.v ? null : `bool ${show()}`;
    case "bytes":
      return ours instanceof Uint8Array && toHex(ours) === py.v
        ? null
        : `bytes ${show()}`;
    case "float": {
      if (typeof ours !== "number") return `float ${show()}`;
      const want = floatFromHex(py.v);
      if (Number.isNaN(want) && Number.isNaN(ours)) return null;
      return floatHex(ours) === py.v ? null : `float ${show()}`;
    }
    default:
      return `unexpected Python value ${show()}`;
  }
}

function sameValues(
  py: PyVal[],
  ours: unknown,
  kinds: string[],
): string | null {
  if (!Array.isArray(ours)) return `not an array: ${showJs(ours)}`;
  if (ours.length !== py.length) {
    return `${ours.length} values, want ${py.length}`;
  }
  for (let i = 0; i < py.length; i++) {
    const d = sameValue(py[i]!, ours[i], kinds[i]);
    if (d) return `value ${i}: ${d}`;
  }
  return null;
}

/** Returns why ours differs from CPython's outcome, or null when it agrees. */
function compare(c: Case, py: PyResult, ours: Ours): string | null {
  if (py.unexpected) return `the oracle raised an unexpected ${py.unexpected}`;
  // The one documented difference: a struct larger than 2**53-1 bytes (a JS
  // number's exact range) is refused with a StructError naming the limit,
  // where CPython goes on up to 2**63-1.
  if (
    py.fsize !== undefined && BigInt(py.fsize) > BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    return "error" in ours && ours.error.startsWith("StructError") &&
        ours.error.includes("total size exceeds 9007199254740991 bytes")
      ? null
      : `a format of ${py.fsize} bytes must be refused with the size-limit StructError, got ${
        showOurs(ours)
      }`;
  }
  if (c.wire.form === "class" && py.size !== undefined) {
    if (ours.size === undefined) {
      return "new Struct() threw where struct.Struct() accepted";
    }
    if (ours.size !== Number(BigInt(py.size))) {
      return `Struct#size ${ours.size}, want ${py.size}`;
    }
    if (ours.format !== py.format) {
      return `Struct#format ${JSON.stringify(ours.format)}, want ${
        JSON.stringify(py.format)
      }`;
    }
  }
  if (py.error !== undefined) {
    if (!("error" in ours)) return "CPython raised, ours did not";
    if (c.wire.op === "iter_unpack" && ours.phase !== py.phase) {
      return `ours threw at ${ours.phase}, CPython at ${py.phase}`;
    }
    return null;
  }
  if ("error" in ours) return "CPython accepted, ours threw";
  const ok = py.ok!;
  if ("int" in ok) {
    const want = Number(BigInt(ok.int));
    return ours.ok === want ? null : `size ${showJs(ours.ok)}, want ${ok.int}`;
  }
  if ("bytes" in ok) {
    if (!(ours.ok instanceof Uint8Array)) {
      return `not bytes: ${showJs(ours.ok)}`;
    }
    return toHex(ours.ok) === ok.bytes
      ? null
      : `bytes ${toHex(ours.ok)}, want ${ok.bytes}`;
  }
  if ("values" in ok) {
    return sameValues(
      ok.values,
      ours.ok,
      expectedKinds(c.wire.fmt, ok.values.length),
    );
  }
  const kinds = expectedKinds(c.wire.fmt, ok.rows[0]?.length ?? 0);
  if (!Array.isArray(ours.ok)) return `not an array: ${showJs(ours.ok)}`;
  if (ours.ok.length !== ok.rows.length) {
    return `${ours.ok.length} rows, want ${ok.rows.length}`;
  }
  for (let i = 0; i < ok.rows.length; i++) {
    const d = sameValues(ok.rows[i]!, ours.ok[i], kinds);
    if (d) return `row ${i}: ${d}`;
  }
  return null;
}

function showJs(x: unknown): string {
  if (x instanceof Uint8Array) return `bytes(${toHex(x)})`;
  if (typeof x === "bigint") return `${x}n`;
  if (typeof x === "number") return Object.is(x, -0) ? "-0" : String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(showJs).join(", ")}]`;
  return String(x);
}

function showOurs(o: Ours): string {
  if ("error" in o) return `throws (${o.phase}) ${o.error}`;
  return `returns ${showJs(o.ok)}`;
}

function showPython(py: PyResult): string {
  if (py.unexpected) return `unexpected ${py.unexpected}`;
  if (py.error !== undefined) return `raises (${py.phase}) ${py.error}`;
  return `returns ${JSON.stringify(py.ok)}`;
}

function showCase(c: Case, py: PyResult): string {
  const w = c.wire;
  const parts = [`${w.op} (${w.form})`, `fmt=${JSON.stringify(w.fmt)}`];
  if (c.jsArgs.length || w.args) {
    parts.push(`values=[${c.jsArgs.map(showJs).join(", ")}]`);
  }
  if (py.in.data !== undefined) {
    parts.push(`${w.op === "pack_into" ? "buffer" : "bytes"}=${py.in.data}`);
  }
  if (py.in.offset !== undefined) parts.push(`offset=${py.in.offset}`);
  return parts.join(" ");
}

// ---------------------------------------------------------------------------
// The run: generated and sent to python3 once, shared by the tests below

interface Checked {
  c: Case;
  py: PyResult;
  ours: Ours;
  mismatch: string | null;
}

let run: Promise<Checked[]> | undefined;

function getRun(): Promise<Checked[]> {
  run ??= (async () => {
    const r = new Prng(SEED);
    const cases = Array.from({ length: CASE_COUNT }, () => genCase(r));
    const results = await runOracle(cases.map((c) => c.wire));
    return cases.map((c, i) => {
      const py = results[i]!;
      const ours = runOurs(c, py, r);
      return { c, py, ours, mismatch: compare(c, py, ours) };
    });
  })();
  return run;
}

function assertAgreement(checked: Checked[], what: string): void {
  const bad = checked.filter((x) => x.mismatch !== null);
  if (bad.length === 0) return;
  const lines = bad.slice(0, MAX_REPORTED).map((x) =>
    `- ${showCase(x.c, x.py)}\n    CPython: ${showPython(x.py)}\n    ours:    ${
      showOurs(x.ours)
    }\n    why:     ${x.mismatch}`
  );
  fail(
    `${what}: ${bad.length} of ${checked.length} cases disagree with CPython ` +
      `(seed ${SEED}; replay with SOCKIT_STRUCT_SEED=${SEED}), the first ${lines.length}:\n` +
      lines.join("\n"),
  );
}

function byOp(checked: Checked[], ...ops: Op[]): Checked[] {
  return checked.filter((x) => ops.includes(x.c.wire.op));
}

Deno.test("the generator makes 5,000+ cases with plenty of both successes and errors", async () => {
  const checked = await getRun();
  assertGreaterOrEqual(checked.length, 5_000, `seed ${SEED}`);
  const unexpected = checked.filter((x) => x.py.unexpected);
  assert(
    unexpected.length === 0,
    `seed ${SEED}: the oracle raised outside struct's error family: ${
      unexpected.slice(0, 5).map((x) =>
        `${showCase(x.c, x.py)}: ${x.py.unexpected}`
      ).join("; ")
    }`,
  );
  for (
    const op of [
      "calcsize",
      "pack",
      "unpack",
      "unpack_from",
      "iter_unpack",
      "pack_into",
    ] as const
  ) {
    const of = byOp(checked, op);
    const errors = of.filter((x) => x.py.error !== undefined).length;
    const oks = of.length - errors;
    assertGreaterOrEqual(
      oks,
      of.length / 5,
      `seed ${SEED}: only ${oks} of ${of.length} ${op} cases succeed`,
    );
    assertGreaterOrEqual(
      errors,
      of.length / 20,
      `seed ${SEED}: only ${errors} of ${of.length} ${op} cases fail`,
    );
  }
  const errors = checked.filter((x) => x.py.error !== undefined).length;
  assertGreaterOrEqual(
    errors,
    1_000,
    `seed ${SEED}: only ${errors} error cases`,
  );
  assertGreaterOrEqual(
    checked.length - errors,
    2_500,
    `seed ${SEED}: only ${checked.length - errors} success cases`,
  );
});

Deno.test("pack() and Struct#pack() agree with CPython's struct.pack on seeded random cases", async () => {
  assertAgreement(byOp(await getRun(), "pack"), "pack");
});

Deno.test("unpack(), unpackFrom() and iterUnpack() agree with CPython on seeded random cases", async () => {
  assertAgreement(
    byOp(await getRun(), "unpack", "unpack_from", "iter_unpack"),
    "unpack",
  );
});

Deno.test("packInto() agrees with CPython's pack_into on the whole buffer, offsets included", async () => {
  assertAgreement(byOp(await getRun(), "pack_into"), "packInto");
});

Deno.test("calcsize() and Struct#size agree with CPython, huge counts and malformed formats included", async () => {
  assertAgreement(byOp(await getRun(), "calcsize"), "calcsize");
});
