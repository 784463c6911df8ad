/**
 * Connection churn: 20,000 connect / exchange / close cycles against the
 * echo tool, run as a child process under `_probe.ts` so that its open
 * file descriptors and its V8 heap (after a full garbage collection) can be
 * measured before and after. Both must come back to their baseline: a
 * server that leaks one descriptor, timer or buffer per connection fails
 * here.
 *
 * @module
 */
import { assert, assertEquals, assertLessOrEqual } from "../_utils.ts";
import { Probe, type ProbeStats } from "./_harness.ts";

const CYCLES = 20_000;
const WARM_UP = 1_000;
const CONCURRENCY = 8;
/** Stop with a failure rather than run on: the loop is bounded in time too. */
const TIME_LIMIT = 60_000;
/**
 * How much the heap (after gc) may grow over the baseline: 1 MiB is under
 * 53 bytes per connection, less than one leaked promise, closure or map
 * entry per connection would take. (What it does grow by, 0–0.3 MiB from
 * run to run, is code V8 optimizes later in the run, not per-connection
 * state: it does not grow with more cycles.)
 */
const HEAP_SLACK = 1024 * 1024;
/**
 * Deno opens and closes the odd descriptor of its own (its caches, the
 * certificate store) whatever the clients do; a leak per connection would
 * be thousands.
 */
const FD_SLACK = 1;

/** Runs `count` cycles; each checks its own echo byte for byte. */
async function churn(port: number, count: number, first: number) {
  let next = 0;
  const deadline = performance.now() + TIME_LIMIT;
  const worker = async () => {
    const reply = new Uint8Array(64);
    while (next < count) {
      if (performance.now() > deadline) {
        throw new Error(`Churn took longer than ${TIME_LIMIT} ms`);
      }
      const cycle = first + next++;
      const message = new TextEncoder().encode(`cycle ${cycle} of the churn`);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        for (let at = 0; at < message.length;) {
          at += await conn.write(message.subarray(at));
        }
        let got = 0;
        while (got < message.length) {
          const n = await conn.read(reply.subarray(got));
          if (n === null) throw new Error(`EOF in cycle ${cycle}`);
          got += n;
        }
        assertEquals(reply.subarray(0, got), message, `cycle ${cycle}`);
      } finally {
        conn.close();
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/**
 * Stats once the server has closed its side of every connection (its fd
 * count is back to `fds`), or after 5 s. The server closes a connection
 * when it reads the client's EOF, a moment after the client's close: the
 * probe is asked again every 20 ms, as there is no event to wait for.
 */
async function settled(probe: Probe, fds: number): Promise<ProbeStats> {
  const deadline = performance.now() + 5000;
  let stats = await probe.stats();
  while (stats.fds > fds && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    stats = await probe.stats();
  }
  return stats;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(2)} MiB`;
}

Deno.test(`${CYCLES} connect/exchange/close cycles leave the echo server's fds and heap at their baseline`, async () => {
  await using probe = await Probe.start("echo", ["--port", "0", "--quiet"]);
  const idle = await probe.stats(); // no client has connected yet
  // Warm up: JIT, buffer sizes, lazily created structures.
  await churn(probe.port, WARM_UP, 0);
  const before = await settled(probe, idle.fds);
  assertLessOrEqual(before.fds, idle.fds, "warm-up connections left open");

  const start = performance.now();
  await churn(probe.port, CYCLES, WARM_UP);
  const elapsed = performance.now() - start;
  const after = await settled(probe, before.fds);

  console.log(
    `churn: ${CYCLES} cycles in ${(elapsed / 1000).toFixed(1)} s ` +
      `(${
        Math.round(CYCLES / (elapsed / 1000))
      }/s); fds ${before.fds} -> ${after.fds}; ` +
      `heap after gc ${mib(before.heapUsed)} -> ${mib(after.heapUsed)}; ` +
      `external ${mib(before.external)} -> ${mib(after.external)}; ` +
      `rss ${mib(before.rss)} -> ${
        mib(after.rss)
      } (V8 keeps the heap pages it grew)`,
  );
  assertLessOrEqual(
    after.fds,
    before.fds + FD_SLACK,
    `file descriptors leaked: ${before.fds} before, ${after.fds} after`,
  );
  assertLessOrEqual(
    after.heapUsed,
    before.heapUsed + HEAP_SLACK,
    `heap grew by ${mib(after.heapUsed - before.heapUsed)}`,
  );
  assertLessOrEqual(
    after.external,
    before.external + HEAP_SLACK,
    `external memory grew by ${mib(after.external - before.external)}`,
  );
  const status = await probe.stop();
  assert(status.success, `the echo server exited with ${status.code}`);
});
