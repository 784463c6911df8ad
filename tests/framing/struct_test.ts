import {
  calcsize,
  iterUnpack,
  pack,
  packInto,
  Struct,
  StructError,
  unpack,
  unpackFrom,
} from "../../framing/mod.ts";
import type { PackValue } from "../../framing/mod.ts";
import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  fromHex,
  toHex,
} from "../_utils.ts";

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

// Each row: format, values, and the bytes and size CPython 3.11 on x86-64
// Linux gives for `struct.pack(format, *values)` / `struct.calcsize(format)`.
const PACK_CASES: Array<[string, PackValue[], string, number]> = [
  ["@bi", [1, 2], "0100000002000000", 8], // int aligned to 4 after a byte
  ["@bq", [1, 2], "01000000000000000200000000000000", 16], // q aligned to 8
  ["@hbi", [1, 2, 3], "0100020003000000", 8], // pad only where needed
  ["@b0q", [1], "0100000000000000", 8], // "0q" pads the end to 8
  ["@?e", [true, 1.5], "0100003e", 4], // half float aligned to 2
  ["@cid", [text("a"), 7, 2.5], "61000000070000000000000000000440", 16],
  ["=bi", [1, 2], "0102000000", 5], // standard sizes: no alignment
  ["<q", [-2], "feffffffffffffff", 8], // little-endian 64-bit
  [">Q", [2n ** 64n - 1n], "ffffffffffffffff", 8], // max u64
  ["!e", [-0], "8000", 2], // negative zero keeps its sign
  ["<f", [Infinity], "0000807f", 4], // infinity is not an overflow
  ["@l", [-1], "ffffffffffffffff", 8], // native long is 8 bytes
  ["<l", [-1], "ffffffff", 4], // standard long is 4 bytes
  ["@P", [-1], "ffffffffffffffff", 8], // native P accepts negatives
  ["5s", [text("ab")], "6162000000", 5], // s pads with NUL bytes
  ["3p", [text("abcdef")], "026162", 3], // p truncates and stores a length
  ["x?x", [true], "000100", 3], // pads are zero
  ["!2h3B", [-1, 1, 2, 3, 4], "ffff0001020304", 7], // repeat counts
  ["@0px", [new Uint8Array()], "ff", 1], // CPython's "0p" writes 255
  ["!I", [20], "00000014", 4], // the tutorial's network byte order
];

Deno.test("pack() produces CPython's bytes and calcsize() its sizes", () => {
  for (const [format, values, hex, size] of PACK_CASES) {
    assertEquals(toHex(pack(format, ...values)), hex, format);
    assertEquals(calcsize(format), size, format);
  }
});

Deno.test("unpack() reverses pack() for every format character", () => {
  const cases: Array<[string, PackValue[]]> = [
    ["!bBhHiIlLqQ", [
      -128,
      255,
      -32768,
      65535,
      -(2 ** 31),
      2 ** 32 - 1,
      -1,
      7,
      -(2n ** 63n),
      2n ** 64n - 1n,
    ]],
    ["@lLnNP", [-(2n ** 63n), 2n ** 64n - 1n, -5n, 5n, 2n ** 64n - 1n]],
    ["<efd", [65504, 3.5, Math.PI]],
    ["=?c4s3p", [false, text("z"), text("abcd"), text("hi")]],
  ];
  for (const [format, values] of cases) {
    assertEquals(unpack(format, pack(format, ...values)), values, format);
  }
});

Deno.test("unpack() gives numbers, bigints, booleans and byte copies", () => {
  const source = fromHex("0001" + "00000000000000ff" + "01" + "61");
  const [h, q, flag, c] = unpack("!Hq?c", source);
  assertStrictEquals(h, 1);
  assertStrictEquals(q, 255n);
  assertStrictEquals(flag, true);
  assertEquals(c, text("a"));
  source[11] = 0x62; // the unpacked byte is a copy, not a view
  assertEquals(c, text("a"));
});

Deno.test("unpack() reads a subarray view, not the whole backing buffer", () => {
  const backing = fromHex("ffff0000001400ff");
  assertEquals(unpack("!I", backing.subarray(2, 6)), [20]);
  assertEquals(new Struct("<H").unpack(backing.subarray(5, 7)), [0x0014]);
});

Deno.test("half floats round half to even and overflow as in CPython", () => {
  // Rows from CPython: value, the `<e` bytes (or null for OverflowError).
  const rows: Array<[number, string | null]> = [
    [65504, "ff7b"], // largest half
    [65519, "ff7b"], // just under the rounding edge: rounds down
    [65520, null], // rounds up to 65536: overflow
    [1e-8, "0000"], // under half the smallest subnormal: zero
    [2 ** -25, "0000"], // exactly half the smallest subnormal: tie to even 0
    [2 ** -25 * 1.0000001, "0100"], // just over the tie: smallest subnormal
    [2 ** -24 * 3 / 2, "0200"], // tie between 1 and 2 subnormal: even 2
    [1 + 2 ** -11, "003c"], // tie between 1 and next: even mantissa
    [1 + 3 * 2 ** -11, "023c"], // tie, odd lower neighbour: rounds up
    [-Infinity, "00fc"], // infinity
    [NaN, "007e"], // quiet NaN
  ];
  for (const [value, hex] of rows) {
    if (hex === null) {
      assertThrows(() => pack("<e", value), StructError, "float16");
    } else {
      assertEquals(toHex(pack("<e", value)), hex, String(value));
    }
  }
  assertEquals(unpack("<e", fromHex("0100")), [2 ** -24]);
  assert(Number.isNaN(unpack("<e", fromHex("007e"))[0]));
});

Deno.test("standard 'f' rejects a finite overflow while native 'f' becomes infinity", () => {
  assertThrows(() => pack("<f", 1e300), StructError, "float32");
  assertEquals(toHex(pack("@f", 1e300)), "0000807f");
  assertEquals(toHex(pack("f", -1e300)), "000080ff");
});

Deno.test("pack() rejects out-of-range integers with StructError naming the item", () => {
  // Each row: format, values, the index and char of the bad value, min, max.
  const rows: Array<
    [string, PackValue[], number, string, number | bigint, number | bigint]
  > = [
    ["!H", [70000], 0, "H", 0, 65535], // over the top
    ["!bB", [0, -1], 1, "B", 0, 255], // unsigned below zero
    ["<i", [2 ** 31], 0, "i", -(2 ** 31), 2 ** 31 - 1], // one past int max
    ["<l", [2 ** 31], 0, "l", -(2 ** 31), 2 ** 31 - 1], // standard long is 32-bit
    ["@L", [-1], 0, "L", 0n, 2n ** 64n - 1n], // native unsigned long
    ["<q", [2n ** 63n], 0, "q", -(2n ** 63n), 2n ** 63n - 1n], // one past i64 max
    ["@P", [2n ** 64n], 0, "P", -(2n ** 63n), 2n ** 64n - 1n], // P's wide range
    ["<h", [10n ** 30n], 0, "h", -32768, 32767], // a huge bigint
  ];
  for (const [format, values, index, char, min, max] of rows) {
    const error = assertThrows(
      () => pack(format, ...values),
      StructError,
      "outside the range",
    );
    assertEquals(
      [error.format, error.index, error.char, error.min, error.max],
      [format, index, char, min, max],
      format,
    );
  }
});

Deno.test("pack() rejects values of the wrong type as Python does", () => {
  // Each row: format, values, and part of the expected message.
  const rows: Array<[string, unknown[], string]> = [
    ["<i", [1.5], "is not an integer"], // a float for an int code
    ["<q", [NaN], "is not an integer"], // NaN is no integer
    ["<h", ["1"], "is not an integer"], // a string for an int code
    ["<d", ["1"], "is not a number"], // a string for a float code
    ["<d", [10n ** 400n], "too large to convert"], // int too large for float
    ["s", ["ab"], "encode text first"], // text for bytes
    ["c", [text("ab")], "exactly 1 byte"], // c takes exactly one byte
    ["p", [5], "is not a Uint8Array"], // a number for a Pascal string
  ];
  for (const [format, values, message] of rows) {
    assertThrows(
      () => pack(format, ...(values as PackValue[])),
      StructError,
      message,
    );
  }
  // What Python accepts, we accept: bool for ints, ints for floats.
  assertEquals(toHex(pack("<h", true as unknown as number)), "0100");
  assertEquals(toHex(pack("<d", 5n as unknown as number)), "0000000000001440");
  assertEquals(toHex(pack("<?", NaN as unknown as boolean)), "01"); // NaN is truthy in Python
});

Deno.test("pack() and unpack() check counts and sizes", () => {
  const few = assertThrows(
    () => pack("!HH" as string, 1),
    StructError,
    "takes 2 values but 1 was given",
  );
  assertEquals([few.expected, few.actual], [2, 1]);
  const size = assertThrows(
    () => unpack("!I", bytes(1, 2, 3)),
    StructError,
    "needs exactly 4",
  );
  assertEquals([size.expected, size.actual], [4, 3]);
  assertThrows(() => unpack("!I", bytes(1, 2, 3, 4, 5)), StructError);
});

Deno.test("bad formats raise SyntaxError saying where and why", () => {
  // Each row: format, part of the message.
  const rows: Array<[string, string]> = [
    ["!n", "allowed only with native byte order"], // n needs '@'
    ["<P", "allowed only with native byte order"], // P needs '@'
    ["3 h", "repeat count must be followed directly"], // space after a count
    ["12", "not followed by a format character"], // count at the end
    ["h!", "may only come first"], // byte order in the middle
    [" <h", "may only come first"], // leading space makes '<' a bad char
    ["hz", 'bad character "z" at index 1'], // unknown character
  ];
  for (const [format, message] of rows) {
    assertThrows(() => calcsize(format), SyntaxError, message);
  }
});

Deno.test("whitespace may separate items, as in Python", () => {
  assertEquals(calcsize("! H \t I\n q\r\v\f"), 14);
  assertEquals(unpack("< h h", bytes(1, 0, 2, 0)), [1, 2]);
});

Deno.test("calcsize() handles huge counts without allocating per value", () => {
  assertEquals(calcsize("1000000000000x"), 1e12);
  assertEquals(calcsize("<1000000000i"), 4e9);
  assertThrows(
    () => calcsize("99999999999999999999x"),
    StructError,
    "total size exceeds",
  );
});

Deno.test("packInto() and unpackFrom() take Python's negative offsets", () => {
  const buffer = new Uint8Array(8).fill(0xaa);
  packInto("!H", buffer, -2, 0x0102);
  assertEquals(toHex(buffer), "aaaaaaaaaaaa0102");
  packInto("!H", buffer, 1, 0x0304);
  assertEquals(toHex(buffer), "aa0304aaaaaa0102");
  assertEquals(unpackFrom("!H", buffer, -2), [0x0102]);
  assertEquals(unpackFrom("!H", buffer, 1), [0x0304]);
  assertEquals(unpackFrom("!H", buffer), [0xaa03]);
  assertThrows(() => unpackFrom("!I", buffer, -3), StructError, "past the end");
  assertThrows(
    () => unpackFrom("!I", buffer, -9),
    StructError,
    "before the start",
  );
  assertThrows(
    () => unpackFrom("!I", buffer, 5),
    StructError,
    "at least 9 bytes",
  );
  assertThrows(
    () => packInto("!I", buffer, 6, 1),
    StructError,
    "at least 10 bytes",
  );
  assertThrows(() => unpackFrom("!I", buffer, 1.5), TypeError, "integer");
  assertEquals(toHex(buffer), "aa0304aaaaaa0102"); // failures wrote nothing
});

Deno.test("iterUnpack() checks the length before yielding anything", () => {
  assertEquals([...iterUnpack("<h", bytes(1, 0, 2, 0))], [[1], [2]]);
  assertEquals([...iterUnpack("<h", new Uint8Array())], []);
  assertThrows(
    () => iterUnpack("<h", bytes(1, 0, 2)),
    StructError,
    "multiple of 2",
  );
  assertThrows(() => iterUnpack("0i", bytes()), StructError, "size is 0");
});

Deno.test("a Pascal string field of size 0 cannot be unpacked", () => {
  assertThrows(() => unpack("0p", bytes()), StructError, "at least 1 byte");
  assertEquals(unpack("0s", bytes()), [new Uint8Array()]);
});

Deno.test("Pascal strings store at most 255 as their length", () => {
  const packed = pack("300p", new Uint8Array(299).fill(0x61));
  assertEquals(packed[0], 255);
  const [value] = unpack("300p", packed);
  assertEquals(value.length, 255);
});

Deno.test("Struct exposes format and size and works like the functions", () => {
  const header = new Struct("!HIq");
  assertEquals(header.format, "!HIq");
  assertEquals(header.size, 14);
  const packed = header.pack(1, 2, -3n);
  assertEquals(toHex(packed), "000100000002fffffffffffffffd");
  assertEquals(header.unpack(packed), [1, 2, -3n]);
  const buffer = new Uint8Array(20);
  header.packInto(buffer, 3, 4, 5, 6);
  assertEquals(header.unpackFrom(buffer, 3), [4, 5, 6n]);
  assertEquals([...header.iterUnpack(buffer.subarray(3, 17))], [[4, 5, 6n]]);
  assertThrows(() => new Struct("!Z"), SyntaxError);
});

Deno.test("StructError has a name and a message naming the value", () => {
  const error = assertThrows(() => pack("!BH", 1, -1), StructError);
  assertEquals(error.name, "StructError");
  assertStringIncludes(error.message, `value 1 ('H' in "!BH")`);
  assertStringIncludes(error.message, "-1 is outside the range 0..65535");
});

Deno.test("pack() refuses a number that is not a safe integer for a 64-bit code and says to pass a bigint", () => {
  // Each row: a format with one 64-bit code, and an integral number past
  // Number.MAX_SAFE_INTEGER that packing would have stored as another integer.
  const rows: Array<[string, number]> = [
    ["!q", 2 ** 60 + 1], // the case: the literal is already 2 ** 60
    ["<q", -(2 ** 60) - 1], // little-endian, negative
    [">Q", 2 ** 53], // the first integer past the safe range
    ["<Q", 2 ** 64 - 1], // "max u64" as a number is 2 ** 64
    ["=q", 2 ** 62], // standard size without a byte-order character
    ["@n", 2 ** 55], // ssize_t, native only
    ["@N", 2 ** 55], // size_t, native only
    ["@P", 2 ** 55], // a pointer
    ["@l", -(2 ** 55)], // native long is 64-bit
    ["@L", 2 ** 55], // native unsigned long
  ];
  for (const [format, value] of rows) {
    for (
      const call of [
        () => pack(format, value),
        () => new Struct(format).pack(value),
        () => packInto(format, new Uint8Array(8), 0, value),
      ]
    ) {
      const error = assertThrows(call, StructError, "pass a bigint", format);
      assertEquals([error.index, error.char], [0, format[1]], format);
      assertStringIncludes(error.message, "is not a safe integer");
    }
  }
  // The same values as bigints pack exactly; safe numbers still pack.
  assertEquals(toHex(pack("!q", 2n ** 60n + 1n)), "1000000000000001");
  assertEquals(toHex(pack("<Q", 2n ** 64n - 1n)), "ffffffffffffffff");
  assertEquals(
    toHex(pack("!q", Number.MAX_SAFE_INTEGER)),
    "001fffffffffffff",
  );
  assertEquals(
    toHex(pack("!q", -Number.MAX_SAFE_INTEGER)),
    "ffe0000000000001",
  );
  // A 32-bit code cannot hold such a number anyway: its range error stands.
  assertThrows(() => pack("!I", 2 ** 60), StructError, "outside the range");
});
