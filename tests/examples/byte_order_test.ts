import { assertEquals, assertStringIncludes } from "../_utils.ts";
import { Example, python } from "./_example.ts";

Deno.test("byte_order prints !I 20 as 00 00 00 14, every prefix as Python packs it, and the !HHI round trip", async () => {
  const example = await Example.spawn("byte_order");
  const { code, stdout } = await example.finish();
  assertEquals(code, 0);
  assertStringIncludes(stdout, 'pack("!I", 20) = 00 00 00 14\n');

  // Each prefix row holds the bytes Python's struct gives for H 20, I 20 and bI 1 20.
  const expected = await python(`
for p in "@=<>!":
    print(p, *(struct.pack(p + f, *v).hex(" ") for f, v in (("H", [20]), ("I", [20]), ("bI", [1, 20]))), sep="|")
`);
  for (const line of expected.trimEnd().split("\n")) {
    const [prefix, ...cells] = line.split("|");
    const row = stdout.split("\n").find((l) => l.startsWith(`${prefix} `));
    assertEquals(row?.split(/ {2,}/).slice(1), cells, `row ${prefix}`);
  }

  assertStringIncludes(
    stdout,
    'pack("!HHI", 2, 0x8001, 20) = 00 02 80 01 00 00 00 14 (8 B)\n',
  );
  assertStringIncludes(stdout, 'unpack("!HHI", …) = [2, 0x8001, 20]\n');
  assertStringIncludes(stdout, 'unpackFrom("!I", bytes, 4) = [20]\n');
});
