/**
 * The shared read blocks: what `carve()` and `copyOut()` hand out never
 * overlaps, so a buffer read into stays the reader's alone.
 *
 * @module
 */
import { carve, copyOut, MAX_SHARED } from "../../_internal/slab.ts";
import { assert, assertEquals } from "../_utils.ts";

Deno.test("carve() hands out zeroed, separate views; copyOut() after it does not touch them", () => {
  const carved = Array.from({ length: 20 }, () => carve(512));
  for (const [i, view] of carved.entries()) {
    assertEquals(view.length, 512);
    assert(view.every((byte) => byte === 0), `view ${i} is not zeroed`);
    view.fill(i + 1);
  }
  const copy = copyOut(new Uint8Array(100).fill(0xee), 100);
  for (const [i, view] of carved.entries()) {
    assert(view.every((byte) => byte === i + 1), `view ${i} was overwritten`);
  }
  assert(copy.every((byte) => byte === 0xee));
  // Views in one block share it: fewer backing stores than buffers.
  assert(carved.some((view, i) => i > 0 && view.buffer === carved[0]!.buffer));
});

Deno.test("carve() over the shared size gives a buffer of its own", () => {
  const big = carve(MAX_SHARED + 1);
  assertEquals(big.length, MAX_SHARED + 1);
  assertEquals(big.byteOffset, 0);
  assertEquals(big.buffer.byteLength, MAX_SHARED + 1);
});
