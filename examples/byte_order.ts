#!/usr/bin/env -S deno run
/**
 * Network byte order: Python's `struct.pack("!I", 20)` gives the bytes
 * `00 00 00 14`, most significant first. This prints that, the same values
 * under every byte-order prefix side by side, and a binary header (`!HHI`:
 * type, flags, length) packed and unpacked again, one field read at an
 * offset with `unpackFrom` (Python's `struct.unpack_from`). No network
 * needed.
 *
 * ```sh
 * deno run examples/byte_order.ts
 * ```
 *
 * @module
 */
import {
  calcsize,
  HOST_BYTE_ORDER,
  htonl,
  pack,
  Struct,
  unpack,
  unpackFrom,
} from "@sockit/sockit";

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

console.log(`pack("!I", 20) = ${hex(pack("!I", 20))}`);
console.log(`this host is ${HOST_BYTE_ORDER}-endian: htonl(20) = ${htonl(20)}`);

const PREFIXES = {
  "@": "native order, native alignment",
  "=": "native order, no alignment",
  "<": "little-endian",
  ">": "big-endian",
  "!": "network order (= big-endian)",
};
const COLUMNS = { H: [20], I: [20], bI: [1, 20] };
const row = (label: string, cells: string[]): void =>
  console.log(
    `${label.padEnd(34)}${cells.map((c) => c.padEnd(14)).join("")}`.trimEnd(),
  );
console.log();
row("prefix", Object.entries(COLUMNS).map(([f, values]) => `${f} ${values}`));
for (const [prefix, meaning] of Object.entries(PREFIXES)) {
  const cells = Object.entries(COLUMNS).map(([f, v]) => pack(prefix + f, ...v));
  row(`${prefix} ${meaning}`, cells.map(hex));
}
console.log(
  `calcsize("@bI") = ${calcsize("@bI")}, calcsize("=bI") = ${calcsize("=bI")}`,
);

console.log("\nA header: type (H), flags (H), length (I), network order");
const HEADER = new Struct("!HHI"); // parse the format once
const bytes = HEADER.pack(2, 0x8001, 20);
console.log(`pack("!HHI", 2, 0x8001, 20) = ${hex(bytes)} (${HEADER.size} B)`);
const [type, flags, length] = unpack("!HHI", bytes); // typed [number, number, number]
console.log(
  `unpack("!HHI", …) = [${type}, 0x${flags.toString(16)}, ${length}]`,
);
// One field at an offset, as struct.unpack_from("!I", b, 4) reads it:
console.log(`unpackFrom("!I", bytes, 4) = [${unpackFrom("!I", bytes, 4)}]`);
