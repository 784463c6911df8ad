/**
 * `struct` against hand-written `DataView` code doing the same work, for the
 * header format `!HIq` (u16, u32, i64, network byte order).
 *
 * Run: `deno task bench` (all benchmarks) or
 * `deno bench bench/struct_bench.ts`; `deno task bench:table` prints the
 * README table with ratios.
 *
 * @module
 */
import { pack, Struct, unpack } from "../framing/mod.ts";

const HEADER = new Struct("!HIq");
const BYTES = HEADER.pack(0xbeef, 0xdeadbeef, -1234567890123456789n);
// A view into a larger buffer, as bytes read from a socket usually are.
const FRAME = new Uint8Array(64);
FRAME.set(BYTES, 10);
const VIEW = FRAME.subarray(10, 10 + BYTES.length);

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

Deno.bench({
  name: "DataView by hand",
  group: "unpack !HIq",
  baseline: true,
  fn() {
    sink = unpackByHand(VIEW);
  },
});

Deno.bench({
  name: "Struct#unpack",
  group: "unpack !HIq",
  fn() {
    sink = HEADER.unpack(VIEW);
  },
});

Deno.bench({
  name: "unpack() one-shot",
  group: "unpack !HIq",
  fn() {
    sink = unpack("!HIq", VIEW);
  },
});

Deno.bench({
  name: "DataView by hand",
  group: "pack !HIq",
  baseline: true,
  fn() {
    sink = packByHand(0xbeef, 0xdeadbeef, -1234567890123456789n);
  },
});

Deno.bench({
  name: "Struct#pack",
  group: "pack !HIq",
  fn() {
    sink = HEADER.pack(0xbeef, 0xdeadbeef, -1234567890123456789n);
  },
});

Deno.bench({
  name: "pack() one-shot",
  group: "pack !HIq",
  fn() {
    sink = pack("!HIq", 0xbeef, 0xdeadbeef, -1234567890123456789n);
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === undefined) console.log("no result");
});
