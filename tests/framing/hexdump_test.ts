import { hexdump, HexDumper } from "../../framing/hexdump.ts";
import { assertEquals, assertThrows } from "../_utils.ts";

const text = (s: string) => new TextEncoder().encode(s);
const range = (from: number, to: number) =>
  Uint8Array.from({ length: to - from }, (_, i) => from + i);

Deno.test("hexdump() formats fixed inputs exactly", () => {
  const cases: [string, Uint8Array, Parameters<typeof hexdump>[1], string][] = [
    // nothing to show: no lines at all
    ["empty", new Uint8Array(), {}, ""],
    // one byte: the hex column is padded so the ASCII column lines up
    [
      "one byte",
      new Uint8Array([0x41]),
      {},
      "00000000  41                                                |A|\n",
    ],
    // exactly one line: the extra space after the eighth byte
    [
      "sixteen bytes",
      text("0123456789abcdef"),
      {},
      "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n",
    ],
    // seventeen bytes: a second line whose offset is 0x10
    [
      "seventeen bytes",
      text("0123456789abcdefg"),
      {},
      "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n" +
      "00000010  67                                                |g|\n",
    ],
    // control characters, space, tilde, DEL and high bytes in the ASCII column
    [
      "unprintable bytes",
      new Uint8Array([0x00, 0x0a, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff]),
      {},
      "00000000  00 0a 1f 20 7e 7f 80 ff                           |... ~...|\n",
    ],
    // nine bytes: the group gap appears after the eighth
    [
      "nine bytes",
      range(0x61, 0x6a),
      {},
      "00000000  61 62 63 64 65 66 67 68  69                       |abcdefghi|\n",
    ],
    // a starting offset and a prefix on every line
    [
      "offset and prefix",
      text("GET / HTTP/1.0\r\n\r\n"),
      { offset: 0x1234, prefix: "> " },
      "> 00001234  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|\n" +
      "> 00001244  0d 0a                                             |..|\n",
    ],
    // a narrow dump: four bytes a line, no group gap
    [
      "width 4",
      range(0, 6),
      { width: 4 },
      "00000000  00 01 02 03  |....|\n00000004  04 05        |..|\n",
    ],
    // an offset wider than eight hex digits keeps all its digits
    [
      "large offset",
      new Uint8Array([1]),
      { offset: 0x1_0000_0000, width: 1 },
      "100000000  01  |.|\n",
    ],
  ];
  for (const [name, bytes, options, expected] of cases) {
    assertEquals(hexdump(bytes, options), expected, name);
  }
});

Deno.test("hexdump() rejects a bad offset or width", () => {
  assertThrows(() => hexdump(new Uint8Array(1), { offset: -1 }), RangeError);
  assertThrows(() => hexdump(new Uint8Array(1), { offset: 1.5 }), RangeError);
  assertThrows(() => hexdump(new Uint8Array(1), { width: 0 }), RangeError);
  assertThrows(() => hexdump(new Uint8Array(1), { width: 257 }), RangeError);
  assertThrows(() => new HexDumper({ width: 2.5 }), RangeError);
});

Deno.test("HexDumper continues the offsets from chunk to chunk", () => {
  const dumper = new HexDumper({ prefix: "< " });
  assertEquals(
    dumper.dump(text("hello, ")),
    "< 00000000  68 65 6c 6c 6f 2c 20                              |hello, |\n",
  );
  assertEquals(dumper.dump(new Uint8Array()), "");
  assertEquals(
    dumper.dump(text("world, and more than sixteen")),
    "< 00000007  77 6f 72 6c 64 2c 20 61  6e 64 20 6d 6f 72 65 20  |world, and more |\n" +
      "< 00000017  74 68 61 6e 20 73 69 78  74 65 65 6e              |than sixteen|\n",
  );
  assertEquals(dumper.offset, 35);
  // The same bytes in one piece, with the same start, give the same lines
  // when the chunk boundary falls on a line boundary.
  const whole = new HexDumper({ offset: 7, prefix: "< " });
  assertEquals(
    whole.dump(text("world, and more than sixteen")),
    "< 00000007  77 6f 72 6c 64 2c 20 61  6e 64 20 6d 6f 72 65 20  |world, and more |\n" +
      "< 00000017  74 68 61 6e 20 73 69 78  74 65 65 6e              |than sixteen|\n",
  );
});
