// The struct tool against Python's struct: the same hex for pack, the same
// repr() for unpack.
import { runTool } from "../_spawn.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../_utils.ts";
import denoJson from "../../deno.json" with { type: "json" };

// Each row: format, values as typed on the command line (Python literals).
const CASES: Array<[string, string[]]> = [
  ["!I", ["20"]], // the tutorial's network byte order
  ["<hH", ["-2", "0xffff"]], // signed and hex
  ["@bi", ["1", "2"]], // native alignment
  ["!q", ["-9223372036854775808"]], // a bigint edge
  ["!Q", ["18446744073709551615"]], // max u64
  ["!?3s", ["True", "b'a\\x00b'"]], // bools and bytes with an escape
  ["!5p", ["b'hello world'"]], // a truncated Pascal string
  ["<d", ["1e16"]], // Python prints 1e+16
  ["<d", ["0.1"]], // shortest repr
  ["<f", ["0.1"]], // float32 rounding, printed as Python does
  ["<e", ["65504"]], // largest half float
  ["!d", ["-0.0"]], // negative zero
  ["!d", ["inf"]], // infinity
  ["!d", ["2.0"]], // a whole float stays a float: 2.0
  ["!d", ["1.5e-05"]], // small exponent
  ["!c", ['b"\'"']], // a quote byte: Python picks the other quotes
];

async function python(script: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: ["-c", script, ...args],
  }).output();
  const text = new TextDecoder();
  assertEquals(code, 0, text.decode(stderr));
  return text.decode(stdout).trim();
}

const PACK = `
import ast, struct, sys
fmt, *values = sys.argv[1:]
def value(text):  # inf and nan are floats, not literals
    return float(text) if text.lstrip("+-") in ("inf", "nan") else ast.literal_eval(text)
print(struct.pack(fmt, *[value(v) for v in values]).hex())
`;

const UNPACK = `
import struct, sys
fmt, data = sys.argv[1:]
print(" ".join(repr(v) for v in struct.unpack(fmt, bytes.fromhex(data))))
`;

Deno.test("struct pack and unpack print what Python's struct gives", async () => {
  for (const [format, values] of CASES) {
    const packed = await runTool("struct", ["pack", format, ...values]);
    assertEquals(packed.code, 0, packed.stderr);
    const hex = packed.stdout.trim();
    assertEquals(hex, await python(PACK, [format, ...values]), format);
    const unpacked = await runTool("struct", ["unpack", format, hex]);
    assertEquals(unpacked.code, 0, unpacked.stderr);
    assertEquals(
      unpacked.stdout.trim(),
      await python(UNPACK, [format, hex]),
      `${format} ${hex}`,
    );
  }
});

Deno.test("struct calcsize, --json and raw bytes through a pipe", async () => {
  assertEquals((await runTool("struct", ["calcsize", "@iq"])).stdout, "16\n");
  const json = await runTool("struct", [
    "unpack",
    "--json",
    "!Hd?2s",
    "0007 3ff8000000000000 01 6869",
  ]);
  assertEquals(JSON.parse(json.stdout), [7, 1.5, true, { hex: "6869" }]);
  const pipe = new Deno.Command("sh", {
    args: [
      "-c",
      `"${Deno.execPath()}" run tools/struct.ts pack --raw '<hh' 1 -2 | "${Deno.execPath()}" run tools/struct.ts unpack '<hh' -`,
    ],
    cwd: new URL("../../", import.meta.url),
  });
  const { code, stdout } = await pipe.output();
  assertEquals(code, 0);
  assertEquals(new TextDecoder().decode(stdout), "1 -2\n");
});

Deno.test("struct errors name the item and use exit codes 1 and 2", async () => {
  // Each row: args, exit code, part of stderr.
  const rows: Array<[string[], number, string]> = [
    [
      ["pack", "!H", "70000"],
      1,
      "value 0 ('H' in \"!H\") as 70000 is outside the range 0..65535",
    ],
    [["pack", "!HH", "1"], 1, "takes 2 values but 1 was given"],
    [
      ["pack", "!q", "1e18"], // a float past 2**53: the library says "bigint"
      1,
      "value 0 ('q' in \"!q\") as 1e18 is a float, which past 2**53 may already be rounded: write the integer with digits only",
    ],
    [["unpack", "!I", "0000"], 1, "needs exactly 4"],
    [["pack", "!n", "1"], 2, "allowed only with native byte order"],
    [["pack", "!I", "twenty"], 2, 'cannot read "twenty" as a Python literal'],
    [["unpack", "!I", "0g"], 2, "as hex bytes"],
    [["frob"], 2, 'unknown command "frob"'],
    [["pack", "--bogus", "!I", "1"], 2, "unknown flag --bogus"],
    [[], 2, "missing command"],
  ];
  for (const [args, code, message] of rows) {
    const result = await runTool("struct", args);
    assertEquals(result.code, code, args.join(" "));
    assertStringIncludes(result.stderr, message);
    assertEquals(result.stderr.trim().split("\n").length, 1); // one line
  }
});

Deno.test("struct --help and --version", async () => {
  const help = await runTool("struct", ["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /^Usage: struct pack FORMAT VALUE/);
  const version = await runTool("struct", ["--version"]);
  assertEquals(version.stdout.trim(), `sockit-struct ${denoJson.version}`);
});

Deno.test("struct pack and unpack refuse a format over 1 MiB with exit code 2 naming the limit, before allocating", async () => {
  // Each row: args, and the format's size the message names.
  const rows: Array<[string[], number]> = [
    [["pack", "!40000000x"], 40_000_000], // the case: was 2.6 GiB and 15 s
    [["pack", "!1048577x"], 1_048_577], // one byte over the limit
    [["pack", "--raw", "<2000000s", "b''"], 2_000_000], // raw output too
    [["unpack", "!1048577x", "-"], 1_048_577], // before reading stdin
    [["unpack", "--json", "!9007199254740991x", "00"], 9007199254740991], // the largest struct there is
  ];
  const results = await Promise.all(
    rows.map(([args]) => runTool("struct", args)),
  );
  rows.forEach(([args, size], i) => {
    const { code, stdout, stderr } = results[i]!;
    assertEquals(code, 2, `${args.join(" ")}: ${stderr}`);
    assertEquals(stdout, "");
    assertStringIncludes(
      stderr,
      `as its size ${size} bytes exceeds the tool's limit of 1048576 bytes (1 MiB); try --help`,
    );
    assertEquals(stderr.trim().split("\n").length, 1); // one line
  });
  // At the limit it packs; calcsize answers for any size.
  const atLimit = await runTool("struct", ["pack", "!1048576x"]);
  assertEquals(atLimit.code, 0, atLimit.stderr);
  assertEquals(atLimit.stdout, "00".repeat(1_048_576) + "\n");
  const size = await runTool("struct", ["calcsize", "!40000000x"]);
  assertEquals(size.stdout, "40000000\n");
});

Deno.test("struct pack and unpack refuse more than 65536 values with exit code 2 naming the limit, and take 65536", async () => {
  const ones = (n: number) => Array<string>(n).fill("1");
  // Each row: args, and what the message says.
  const rows: Array<[string[], string]> = [
    [
      ["pack", "!131072q", ...ones(131_072)], // the issue's: the stack overflowed
      `format "!131072q" as its 131072 values exceed the tool's limit of 65536 values`,
    ],
    [
      ["unpack", "--json", "!1048576c", "-"], // was 2.4 s and 740 MB
      `format "!1048576c" as its 1048576 values exceed the tool's limit of 65536 values`,
    ],
    [
      ["pack", "!2q", ...ones(65_537)], // too many on the command line
      "cannot pack 65537 values as they exceed the tool's limit of 65536 values",
    ],
  ];
  for (const [args, message] of rows) {
    const { code, stdout, stderr } = await runTool("struct", args);
    const what = args.slice(0, 3).join(" ");
    assertEquals(code, 2, `${what}: ${stderr}`);
    assertEquals(stdout, "", what);
    assertStringIncludes(stderr, `${message}; try --help`, what);
    assertEquals(stderr.trim().split("\n").length, 1, what); // one line
  }
  const packed = await runTool("struct", ["pack", "!65536B", ...ones(65_536)]);
  assertEquals(packed.code, 0, packed.stderr);
  assertEquals(packed.stdout, "01".repeat(65_536) + "\n");
  // In pieces: one argument holds at most 128 KiB (MAX_ARG_STRLEN).
  const hex = packed.stdout.trim().match(/.{1,8192}/g)!;
  const unpacked = await runTool("struct", ["unpack", "!65536B", ...hex]);
  assertEquals(unpacked.code, 0, unpacked.stderr);
  assertEquals(unpacked.stdout, ones(65_536).join(" ") + "\n");
});

Deno.test("struct writes all of a 1 MiB raw pack to a pipe and reads no more stdin than the struct needs", async () => {
  const deno = `"${Deno.execPath()}" run tools/struct.ts`;
  const shell = async (script: string) => {
    const { code, stdout, stderr } = await new Deno.Command("sh", {
      args: ["-c", script],
      cwd: new URL("../../", import.meta.url),
    }).output();
    const text = new TextDecoder();
    return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
  };
  // Every byte reaches the pipe (one write may take only part).
  const packed = await shell(`${deno} pack --raw '!1048576x' | wc -c`);
  assertEquals(packed.stdout.trim(), "1048576", packed.stderr);
  // 50 MB on stdin for a 4-byte struct: refused after the first read.
  const extra = await shell(
    `head -c 50000000 /dev/zero | ${deno} unpack '!I' -; echo "exit $?"`,
  );
  assertStringIncludes(
    extra.stderr,
    'Cannot unpack stdin with format "!I" as it holds more than the 4 bytes the format needs',
  );
  assertEquals(extra.stdout.trim(), "exit 1");
  // Exactly the struct's bytes still unpack.
  const exact = await shell(
    `printf '\\000\\000\\000\\024' | ${deno} unpack '!I' -`,
  );
  assertEquals(exact.stdout, "20\n", exact.stderr);
});
