/**
 * `parseCidr()` and `AddressSet`: address blocks for access checks (cat's
 * `--allow`/`--deny`, trusted PROXY protocol senders).
 *
 * @module
 */
import { AddressSet, parseCidr } from "../../_internal/cidr.ts";
import { assertEquals, assertThrows } from "../_utils.ts";

Deno.test("parseCidr() reads addresses and ADDR/BITS blocks of both families", () => {
  const cases: [string, { family: 4 | 6; bytes: number[]; bits: number }][] = [
    // One IPv4 address: a /32.
    ["192.0.2.7", { family: 4, bytes: [192, 0, 2, 7], bits: 32 }],
    // A usual IPv4 block.
    ["10.0.0.0/8", { family: 4, bytes: [10, 0, 0, 0], bits: 8 }],
    // /0: everything of the family.
    ["0.0.0.0/0", { family: 4, bytes: [0, 0, 0, 0], bits: 0 }],
    // Host bits past the prefix are cleared, as ncat does.
    ["10.1.2.3/8", { family: 4, bytes: [10, 0, 0, 0], bits: 8 }],
    // A prefix that ends inside a byte.
    ["192.168.255.255/20", { family: 4, bytes: [192, 168, 240, 0], bits: 20 }],
    // IPv6 loopback: a /128.
    ["::1", { family: 6, bytes: [...zeros(15), 1], bits: 128 }],
    // An IPv6 block, host bits cleared.
    [
      "2001:db8:ffff::1/32",
      { family: 6, bytes: [0x20, 0x01, 0x0d, 0xb8, ...zeros(12)], bits: 32 },
    ],
    // Brackets and surrounding blanks are fine.
    [" [::1]/128 ", { family: 6, bytes: [...zeros(15), 1], bits: 128 }],
  ];
  for (const [text, expected] of cases) {
    const { family, bytes, bits } = parseCidr(text);
    assertEquals({ family, bytes, bits }, expected, text);
  }
  assertEquals(parseCidr(" 10.1.2.3/8").text, "10.1.2.3/8");
});

Deno.test("parseCidr() rejects bad addresses and prefix lengths, naming what it parsed", () => {
  const cases: [string, RegExp][] = [
    // Past the IPv4 maximum.
    ["10.0.0.0/33", /0\.\.32/],
    // Past the IPv6 maximum.
    ["::/129", /0\.\.128/],
    // Not a number.
    ["10.0.0.0/x", /0\.\.32/],
    // Negative.
    ["10.0.0.0/-1", /0\.\.32/],
    // An empty prefix.
    ["10.0.0.0/", /0\.\.32/],
    // An octet out of range.
    ["256.0.0.1", /not an IPv4 or IPv6 address/],
    // A host name: never resolved.
    ["example.com", /host names are not resolved/],
    // Nothing before the slash.
    ["/8", /no address/],
    // Two double colons.
    ["1::2::3", /not an IPv4 or IPv6 address/],
  ];
  for (const [text, detail] of cases) {
    const error = assertThrows(
      () => parseCidr(text, "--allow entry"),
      TypeError,
    );
    assertEquals(
      error.message.startsWith(
        `Cannot parse --allow entry ${JSON.stringify(text)}: `,
      ),
      true,
      error.message,
    );
    assertEquals(detail.test(error.message), true, error.message);
  }
});

Deno.test("AddressSet.has() matches addresses inside a block and nothing else", () => {
  const set = AddressSet.parse("10.0.0.0/8, 192.0.2.7,2001:db8::/32");
  assertEquals(set.size, 3);
  const cases: [string, boolean][] = [
    ["10.0.0.0", true], // the first address of a block
    ["10.255.255.255", true], // the last
    ["11.0.0.0", false], // just past it
    ["9.255.255.255", false], // just before it
    ["192.0.2.7", true], // a /32 holds its address
    ["192.0.2.8", false], // and only that
    ["2001:db8::1", true], // inside the IPv6 block
    ["[2001:db8:1::]", true], // bracketed
    ["2001:db9::", false], // past it
    ["localhost", false], // a host name is in no block
    ["", false], // nothing
  ];
  for (const [host, expected] of cases) {
    assertEquals(set.has(host), expected, host);
  }
});

Deno.test("AddressSet: /0, /32 and /128 edges", () => {
  assertEquals(AddressSet.parse("0.0.0.0/0").has("255.255.255.255"), true);
  assertEquals(AddressSet.parse("0.0.0.0/0").has("::1"), false);
  assertEquals(AddressSet.parse("::/0").has("ffff::1"), true);
  assertEquals(AddressSet.parse("127.0.0.1/32").has("127.0.0.2"), false);
  assertEquals(AddressSet.parse("::1/128").has("::1"), true);
  assertEquals(AddressSet.parse("::1/128").has("::2"), false);
  // The IPv6 loopback is not the IPv4 one.
  assertEquals(AddressSet.parse("::1").has("127.0.0.1"), false);
});

Deno.test("AddressSet: an IPv4-mapped IPv6 address is the IPv4 address it carries", () => {
  const v4 = AddressSet.parse("192.0.2.0/24");
  assertEquals(v4.has("::ffff:192.0.2.1"), true);
  assertEquals(v4.has("::ffff:c000:201"), true); // the same in hex groups
  assertEquals(v4.has("::ffff:192.0.3.1"), false);
  // A mapped block is its IPv4 block.
  const mapped = AddressSet.parse("::ffff:192.0.2.0/120");
  assertEquals(mapped.has("192.0.2.200"), true);
  assertEquals(mapped.has("::ffff:192.0.2.200"), true);
  assertEquals(mapped.has("192.0.3.1"), false);
  // ::/0 is every IPv6 address, not the IPv4 peers a mapped address stands for.
  assertEquals(AddressSet.parse("::/0").has("::ffff:192.0.2.1"), false);
  assertEquals(AddressSet.parse("0.0.0.0/0").has("::ffff:192.0.2.1"), true);
});

Deno.test("AddressSet.parse() takes lists and arrays of lists, skipping blanks", () => {
  const set = AddressSet.parse(["10.0.0.1", " , 10.0.0.2,,", ""]);
  assertEquals(set.blocks.map((b) => b.text), ["10.0.0.1", "10.0.0.2"]);
  assertEquals(new AddressSet([]).size, 0);
  assertEquals(AddressSet.parse("").has("10.0.0.1"), false);
  assertThrows(
    () => AddressSet.parse(["10.0.0.1", "nope"], "--deny entry"),
    TypeError,
    "--deny entry",
  );
});

/** `n` zero bytes. */
function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}
