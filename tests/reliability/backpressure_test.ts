/**
 * Backpressure: a client sends 200 MB to the echo tool (a child process)
 * and never reads. The server's writes back fill the client's receive
 * buffer and stop; the server then stops reading from that client, so TCP
 * flow control stops the client's writes — all within a few megabytes of
 * kernel buffers, far short of 200 MB. `/proc/net/tcp` shows the bytes
 * waiting unread in the server's receive queue, and the server's memory
 * stays bounded: a connection holds at most one read buffer (256 KiB at
 * most) and one write in progress, so the server's peak RSS (`VmHWM`) may
 * grow by at most {@linkcode STALLED_BOUND_MIB} MiB over its idle RSS while
 * the client is stalled (measured: about 7 MiB), and by at most
 * {@linkcode FLOWING_BOUND_MIB} MiB while the whole 200 MB then flows
 * through once the client reads (measured: 36–49 MiB). That is garbage
 * waiting for a collection, not data held: every `read()` hands out a chunk
 * the caller owns, so 200 MB of chunks (up to 256 KiB each) are allocated
 * and dropped, and V8 collects array buffers after tens of megabytes of
 * them — plus its young generation and the allocator's free lists. None of
 * it grows with the bytes sent. Other clients are served throughout, and
 * every byte comes back, in order.
 *
 * @module
 */
import { assert, assertEquals, assertLessOrEqual } from "../_utils.ts";
import {
  checkStream,
  fillStream,
  memoryStatus,
  portOfAddr,
  socketQueues,
  startTool,
  writeAll,
} from "./_harness.ts";

const TOTAL = 200 * 1024 * 1024;
const CHUNK = 64 * 1024;
const SEED = 0x5a;
/** The server's RSS may grow by this much over idle while the hog is stalled. */
const STALLED_BOUND_MIB = 16;
/** …and by this much while 200 MB flow through (see the module doc). */
const FLOWING_BOUND_MIB = 64;
/** Stalled: no write progress for this long (ms). */
const STALL = 500;
const TIME_LIMIT = 60_000;

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

Deno.test("a client that sends 200 MB and never reads is stopped by flow control; the server's memory stays bounded and others are served", async () => {
  const started = await startTool("echo", ["--port", "0", "--quiet"]);
  await using server = started.tool;
  const { port, pid } = started;
  const deadline = performance.now() + TIME_LIMIT;

  // Idle baseline, after one small exchange (the runtime's lazy setup).
  {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, new Uint8Array(100));
    let got = 0;
    const buffer = new Uint8Array(100);
    while (got < 100) got += (await conn.read(buffer)) ?? Infinity;
    conn.close();
  }
  const idle = await memoryStatus(pid);

  // The hog writes and never reads.
  const hog = await Deno.connect({ hostname: "127.0.0.1", port });
  const hogPort = portOfAddr(hog.localAddr);
  let written = 0;
  const writing = (async () => {
    const chunk = new Uint8Array(CHUNK);
    while (written < TOTAL) {
      const size = Math.min(CHUNK, TOTAL - written);
      await writeAll(hog, fillStream(chunk.subarray(0, size), written, SEED));
      written += size;
    }
  })();
  writing.catch(() => {}); // checked below

  // Wait until the writes stall: no progress for STALL ms. (There is no
  // event for "the kernel stopped accepting bytes": we watch the count.)
  let last = -1;
  let since = performance.now();
  while (performance.now() - since < STALL) {
    if (performance.now() > deadline) throw new Error("The hog never stalled");
    if (written !== last) {
      last = written;
      since = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const stalledAt = written;
  assert(stalledAt < TOTAL, "the hog wrote all 200 MB without reading");
  // The server is not reading the hog: its bytes wait in the kernel.
  const queues = await socketQueues(port, hogPort);
  assert(queues !== undefined, "no server socket for the hog in /proc/net/tcp");
  assert(queues.receiveQueue > 0, "nothing waits unread on the server");
  const stalledMemory = await memoryStatus(pid);

  // Others are served meanwhile.
  const others = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const start = performance.now();
      for (let round = 0; round < 50; round++) {
        const message = fillStream(new Uint8Array(4096), round * 4096, i);
        await writeAll(conn, message);
        const reply = new Uint8Array(4096);
        for (let got = 0; got < reply.length;) {
          const n = await conn.read(reply.subarray(got));
          if (n === null) throw new Error(`client ${i}: EOF`);
          got += n;
        }
        assertEquals(reply, message, `client ${i}, round ${round}`);
      }
      return performance.now() - start;
    } finally {
      conn.close();
    }
  }));
  assertEquals(written, stalledAt, "the hog made progress without reading");

  // Now the hog reads: everything it sent comes back, in order, and the
  // rest of the 200 MB flows through.
  const samples: number[] = [];
  let read = 0;
  const reading = (async () => {
    const buffer = new Uint8Array(256 * 1024);
    for (let n; (n = await hog.read(buffer)) !== null;) {
      const bad = checkStream(buffer.subarray(0, n), read, SEED);
      if (bad !== -1) throw new Error(`Byte ${read + bad} came back wrong`);
      read += n;
      if (performance.now() > deadline) throw new Error("Echo took too long");
    }
  })();
  const sampler = setInterval(() => {
    memoryStatus(pid).then((m) => samples.push(m.rssKiB), () => {});
  }, 100);
  try {
    await writing;
    await hog.closeWrite();
    await reading;
  } finally {
    clearInterval(sampler);
    hog.close();
  }
  assertEquals(read, TOTAL, "bytes echoed");
  const end = await memoryStatus(pid);

  console.log(
    `backpressure: the hog stalled after ${
      (stalledAt / 1048576).toFixed(1)
    } MiB ` +
      `of 200 MiB (${
        (queues.receiveQueue / 1048576).toFixed(1)
      } MiB unread in the server's receive queue); ` +
      `8 other clients x 50 round trips of 4 KiB in ${
        Math.max(...others).toFixed(0)
      } ms; server RSS idle ${mib(idle.rssKiB)}, while stalled ${
        mib(stalledMemory.rssKiB)
      }, ` +
      `peak over the whole run ${mib(end.peakRssKiB)} (+${
        mib(end.peakRssKiB - idle.rssKiB)
      }; bounds +${STALLED_BOUND_MIB} MiB stalled, +${FLOWING_BOUND_MIB} MiB flowing); ` +
      `200 MiB echoed and verified`,
  );
  assertLessOrEqual(
    stalledMemory.peakRssKiB - idle.rssKiB,
    STALLED_BOUND_MIB * 1024,
    "server memory while the hog was stalled",
  );
  assertLessOrEqual(
    end.peakRssKiB - idle.rssKiB,
    FLOWING_BOUND_MIB * 1024,
    "server memory while 200 MB flowed",
  );
  assertEquals((await server.stop()).code, 0);
});
