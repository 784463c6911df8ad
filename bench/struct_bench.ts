/**
 * `struct` against hand-written `DataView` code doing the same work, for the
 * header format `!HIq` (u16, u32, i64, network byte order). Each benchmark
 * runs a batch of {@linkcode BATCH} operations per iteration, so timer
 * overhead does not swamp the nanoseconds being measured.
 *
 * Run: `deno bench bench/struct_bench.ts`; `deno task bench:table` prints the
 * README table with speeds relative to the hand-written code.
 *
 * @module
 */
import { pack, Struct, unpack } from "../framing/mod.ts";
import type { BenchUnits } from "./table.ts";

/** Operations per benchmark iteration. */
export const BATCH = 1000;

/** Operations per iteration, by `group/name`, for `bench/table.ts`. */
export const UNITS: Record<string, BenchUnits> = {};

const HEADER = new Struct("!HIq");
const ID = -1234567890123456789n;
// A view into a larger buffer, as bytes read from a socket usually are.
const FRAME = new Uint8Array(64);
HEADER.packInto(FRAME, 10, 0xbeef, 0xdeadbeef, ID);
const VIEW = FRAME.subarray(10, 10 + HEADER.size);
const OUT = new Uint8Array(64);

let sink: unknown;

function unpackByHand(b: Uint8Array): [number, number, bigint] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return [v.getUint16(0), v.getUint32(2), v.getBigInt64(6)];
}

function packByHand(kind: number, length: number, id: bigint): Uint8Array {
  const b = new Uint8Array(14);
  const v = new DataView(b.buffer);
  v.setUint16(0, kind);
  v.setUint32(2, length);
  v.setBigInt64(6, id);
  return b;
}

function packIntoByHand(
  b: Uint8Array,
  offset: number,
  kind: number,
  length: number,
  id: bigint,
): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint16(offset, kind);
  v.setUint32(offset + 2, length);
  v.setBigInt64(offset + 6, id);
}

function bench(
  group: string,
  name: string,
  baseline: boolean,
  op: (i: number) => unknown,
): void {
  UNITS[`${group}/${name}`] = { ops: BATCH };
  Deno.bench({
    name,
    group,
    baseline,
    fn() {
      for (let i = 0; i < BATCH; i++) sink = op(i);
    },
  });
}

bench("unpack !HIq", "DataView by hand", true, () => unpackByHand(VIEW));
bench("unpack !HIq", "Struct#unpack", false, () => HEADER.unpack(VIEW));
bench("unpack !HIq", "unpack() one-shot", false, () => unpack("!HIq", VIEW));

bench("pack !HIq", "DataView by hand", true, (i) => packByHand(i, i, ID));
bench("pack !HIq", "Struct#pack", false, (i) => HEADER.pack(i, i, ID));
bench("pack !HIq", "pack() one-shot", false, (i) => pack("!HIq", i, i, ID));

bench(
  "pack into a buffer !HIq",
  "DataView by hand",
  true,
  (i) => packIntoByHand(OUT, 8, i, i, ID),
);
bench(
  "pack into a buffer !HIq",
  "Struct#packInto",
  false,
  (i) => HEADER.packInto(OUT, 8, i, i, ID),
);

globalThis.addEventListener("unload", () => {
  if (sink === null) console.log("unreachable");
});
