// Compile-time tests: `deno check` (run by `deno test`) fails this file if the
// types that struct infers from format literals change. Each Deno.test also
// runs the call, so the runtime agrees with the static type.
import { pack, Struct, unpack } from "../../framing/mod.ts";
import type {
  PackValue,
  PackValues,
  StructValue,
  UnpackedValues,
} from "../../framing/mod.ts";
import { assertEquals, type IsExact } from "../_utils.ts";

Deno.test("unpack() infers the value tuple from a format literal", () => {
  const values = unpack("!HIq", new Uint8Array(14));
  const exact: IsExact<typeof values, [number, number, bigint]> = true;
  assertEquals([exact, values], [true, [0, 0, 0n]]);
});

Deno.test("format types follow byte order, counts, pads and whitespace", () => {
  // Each row names the rule it checks.
  const rows: boolean[] = [
    // native 'l' is 8 bytes (bigint), standard 'l' is 4 bytes (number)
    true satisfies IsExact<UnpackedValues<"l">, [bigint]>,
    true satisfies IsExact<UnpackedValues<"<l">, [number]>,
    true satisfies IsExact<
      UnpackedValues<"@lLnNP">,
      [bigint, bigint, bigint, bigint, bigint]
    >,
    // repeat counts expand; 's' and 'p' give one value whatever the count
    true satisfies IsExact<UnpackedValues<"3B">, [number, number, number]>,
    true satisfies IsExact<UnpackedValues<"10s2p">, [Uint8Array, Uint8Array]>,
    // leading zeros and a zero count
    true satisfies IsExact<UnpackedValues<"02h0q">, [number, number]>,
    // pads and whitespace give nothing
    true satisfies IsExact<
      UnpackedValues<"! x ? \t c 2x e">,
      [boolean, Uint8Array, number]
    >,
    // pack takes bigint or number for 64-bit codes
    true satisfies IsExact<PackValues<"!Hq">, [number, bigint | number]>,
    // a non-literal format falls back to arrays
    true satisfies IsExact<UnpackedValues<string>, StructValue[]>,
    true satisfies IsExact<PackValues<string>, PackValue[]>,
    // what the type parser cannot follow falls back instead of rejecting
    true satisfies IsExact<UnpackedValues<"!1000B">, StructValue[]>,
    true satisfies IsExact<UnpackedValues<"!n">, StructValue[]>,
  ];
  assertEquals(rows.every((row) => row), true);
});

Deno.test("pack() rejects wrong argument types and counts at compile time", () => {
  // @ts-expect-error: '?' takes a boolean, not a number
  const wrongType = () => pack("!H?", 1, 1);
  // @ts-expect-error: two values are needed
  const tooFew = () => pack("!H?", 1);
  // @ts-expect-error: 'H' takes a number, not a string
  const wrongKind = () => new Struct("!H").pack("1");
  assertEquals(pack("!H?", 1, true), new Uint8Array([0, 1, 1]));
  assertEquals(typeof wrongType, "function");
  assertEquals(typeof tooFew, "function");
  assertEquals(typeof wrongKind, "function");
});
