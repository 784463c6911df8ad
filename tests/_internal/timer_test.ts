/**
 * The shared idle wheel behind every idle timeout (`watchIdle`): each watch
 * fires once, never before its timeout and at most a slot or so late, is
 * pushed back by activity, and can be cancelled — and when the last watch
 * goes, its timer goes too (the test sanitizers check that).
 *
 * @module
 */
import { after, unwatchIdle, watchIdle } from "../../_internal/timer.ts";
import { assert, assertEquals } from "../_utils.ts";

/** Resolves after `ms` (a wait that is the thing under test's clock). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => after(ms, resolve));
}

Deno.test("watchIdle fires each watch once, in deadline order, never early", async () => {
  // Deadlines at least one slot (8 ms) apart: within a slot, order is not
  // promised.
  const start = performance.now();
  const fired: { timeout: number; at: number }[] = [];
  const all: Promise<void>[] = [];
  for (const timeout of [72, 24, 48, 24, 1, 36]) {
    all.push(
      new Promise((resolve) => {
        watchIdle(timeout, () => {
          fired.push({ timeout, at: performance.now() - start });
          resolve();
        }, start);
      }),
    );
  }
  await Promise.all(all);
  assertEquals(fired.map((f) => f.timeout), [1, 24, 24, 36, 48, 72]);
  for (const { timeout, at } of fired) {
    assert(at >= timeout, `a ${timeout} ms watch fired at ${at} ms`);
  }
});

Deno.test("watchIdle waits for the quiet time after the last activity", async () => {
  const start = performance.now();
  let last = start;
  let idleAt = 0;
  const { promise: idle, resolve } = Promise.withResolvers<void>();
  const watch = watchIdle(30, () => {
    idleAt = performance.now();
    resolve();
  }, start);
  // Activity at 0, 15, 30 and 45 ms: idle no earlier than 75 ms.
  for (let i = 0; i < 3; i++) {
    await sleep(15);
    watch.last = last = performance.now();
  }
  await idle;
  assert(idleAt - last >= 29, `idle ${idleAt - last} ms after the activity`);
  assert(idleAt - start >= 74, `idle at ${idleAt - start} ms`);
});

Deno.test("a cancelled watch never fires, and cancelling the last one stops the timer", async () => {
  let fired = 0;
  const watches = Array.from(
    { length: 1000 },
    (_, i) => watchIdle(10 + (i % 50), () => fired++),
  );
  const survivor = new Promise<void>((resolve) => {
    const watch = watchIdle(25, () => {
      unwatchIdle(watch); // cancelling from inside onIdle is harmless
      resolve();
    }, 0);
  });
  for (const watch of watches) unwatchIdle(watch);
  for (const watch of watches) unwatchIdle(watch); // twice is harmless
  await survivor;
  await sleep(80);
  assertEquals(fired, 0);
  // The sanitizers fail this test if the wheel's timer is still armed.
});
