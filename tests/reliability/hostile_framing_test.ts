/**
 * Hostile framed clients against the `time` tool (lines), run under
 * `_probe.ts` so that what the server holds — its V8 heap and the array
 * buffers outside it, after a full garbage collection — is measured, not
 * the garbage it has yet to collect (issue 19 items 4 and 5):
 *
 * - **Floods that stop reading**: {@linkcode FLOODERS} clients each send
 *   256 KiB of empty lines in one write and never read a reply. The server
 *   answers until its writes to them stall (their receive buffers are
 *   full); sampled until then, it holds, per client, at most its read
 *   buffer and one read (256 KiB each at most), the read's frames as
 *   8-byte ranges, and one batch of 64 replies: {@linkcode FLOOD_BOUND_KIB}
 *   KiB a client. Before the fix a read became one frame object per byte,
 *   all held at once.
 * - **Unfinished lines**: {@linkcode LINERS} clients each send an 8 MiB line
 *   without a newline. Each is closed once its line passes `--max-frame`
 *   (64 KiB by default), and nothing of it stays; {@linkcode LINERS}
 *   clients holding a line just under the cap cost at most
 *   {@linkcode CAP_BOUND_KIB} KiB each. Before the fix each held its 8 MiB.
 *
 * Another client is served throughout. The figures are printed.
 *
 * @module
 */
import { assert, assertEquals, assertLessOrEqual } from "../_utils.ts";
import { Probe, type ProbeStats, socketQueues, writeAll } from "./_harness.ts";
import { within } from "../tcp/_helpers.ts";

const FLOODERS = 50;
const FLOOD_BYTES = 256 * 1024;
/**
 * Held per flooding client, at most: read buffer and one read (256 KiB
 * each), up to 5,119 ranges (64 KiB of capacity), 64 frames and their
 * replies, the connection's own objects; measured about 520 KiB.
 */
const FLOOD_BOUND_KIB = 768;
const LINERS = 48;
const LINE_BYTES = 8 * 1024 * 1024;
/** Just under `--max-frame`'s default, 65,536. */
const CAP_LINE_BYTES = 65_000;
/**
 * Held per client with an unfinished line at the cap, at most: the line
 * (64 KiB), the read buffer and the last read (64 KiB each after reads of
 * that size); measured about 200 KiB.
 */
const CAP_BOUND_KIB = 320;
const TIME_LIMIT = 60_000;
/** How long the flood is sampled at most, if it does not stall first. */
const SAMPLING = 15_000;

const encoder = new TextEncoder();

function held(stats: ProbeStats): number {
  return stats.heapUsed + stats.external;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** Opens a client and checks that it gets `[ctime] hello` back. */
async function served(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, encoder.encode("hello\n"));
    const reply = new Uint8Array(64);
    let got = 0;
    while (!reply.subarray(0, got).includes(0x0a)) {
      const n = await within(conn.read(reply.subarray(got)), 10_000, "reply");
      if (n === null) throw new Error("EOF before the reply");
      got += n;
    }
    const text = new TextDecoder().decode(reply.subarray(0, got));
    assert(/^\[.{24}\] hello\n$/.test(text), JSON.stringify(text));
  } finally {
    conn.close();
  }
}

/**
 * Waits until `condition()` holds, checking every 50 ms: the kernel gives
 * no event for "the queues stopped moving".
 */
async function until(
  condition: () => Promise<boolean>,
  what: string,
  deadline: number,
): Promise<void> {
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`Timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("clients that flood empty lines and never read: the time tool holds a bounded amount per client and serves others", async () => {
  await using probe = await Probe.start("time", ["--port", "0", "--quiet"]);
  const { port } = probe;
  await served(port);
  const before = await probe.stats();

  const flood = new Uint8Array(FLOOD_BYTES).fill(0x0a);
  const hogs: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < FLOODERS; i++) {
      const hog = await Deno.connect({ hostname: "127.0.0.1", port });
      hogs.push(hog);
      writeAll(hog, flood).catch(() => {}); // may stall: the server stops reading
    }
    // Sample what the server holds while it works through the floods,
    // until they stall — it has replies waiting for every hog (its writes
    // wait) and the queues stop moving — or SAMPLING ms pass.
    const ports = hogs.map((hog) => (hog.localAddr as Deno.NetAddr).port);
    const sampleUntil = performance.now() + SAMPLING;
    let during = await probe.stats();
    let samples = 0;
    let last = "";
    for (;;) {
      const stats = await probe.stats();
      samples++;
      if (held(stats) > held(during)) during = stats;
      const queues = await Promise.all(ports.map((p) => socketQueues(port, p)));
      const now = JSON.stringify(queues);
      const stalled = now === last &&
        queues.every((q) => q !== undefined && q.sendQueue > 0);
      last = now;
      if (stalled || performance.now() > sampleUntil) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await served(port);

    const perClient = (held(during) - held(before)) / FLOODERS;
    console.log(
      `flood: ${FLOODERS} clients x ${kib(FLOOD_BYTES)} of empty lines, ` +
        `never reading: the server holds ${
          kib(held(during) - held(before))
        } more at most (heap and buffers after gc, ${samples} samples), ${
          kib(perClient)
        } a client ` +
        `(bound ${FLOOD_BOUND_KIB} KiB); RSS ${
          (during.rss / 1048576).toFixed(0)
        } MiB; another client served`,
    );
    assertLessOrEqual(perClient, FLOOD_BOUND_KIB * 1024, "held per client");
  } finally {
    for (const hog of hogs) hog.close();
  }
  assertEquals((await probe.stop()).code, 0);
});

Deno.test("clients sending lines past --max-frame are closed and leave nothing; lines at the cap cost a bounded amount; others are served", async () => {
  await using probe = await Probe.start("time", ["--port", "0"]);
  const { port } = probe;
  await served(port);
  const before = await probe.stats();

  // 8 MiB lines without a newline: each client is closed at 64 KiB.
  const line = new Uint8Array(LINE_BYTES).fill(0x78);
  const closed = await Promise.all(
    Array.from({ length: LINERS }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        const writing = writeAll(conn, line).then(() => "sent", () => "cut");
        // The server closes: EOF, or a reset for the bytes it left unread.
        const end = await within(
          conn.read(new Uint8Array(64)).then((n) => n, () => null),
          20_000,
          "the server closing a client past --max-frame",
        );
        assertEquals(end, null);
        return await writing;
      } finally {
        conn.close();
      }
    }),
  );
  const cut = closed.filter((how) => how === "cut").length;
  await probe.stderr.waitFor(/runs past maxFrameSize 65536/);
  await served(port);
  const after = await probe.stats();

  // Lines just under the cap, left unfinished: held, and bounded.
  const atCap = new Uint8Array(CAP_LINE_BYTES).fill(0x78);
  const liners: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < LINERS; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      liners.push(conn);
      await writeAll(conn, atCap);
    }
    // Everything sent has been read by the server.
    const deadline = performance.now() + TIME_LIMIT;
    await until(
      async () => {
        for (const conn of liners) {
          const local = (conn.localAddr as Deno.NetAddr).port;
          const queues = await socketQueues(port, local);
          if (queues === undefined || queues.receiveQueue > 0) return false;
        }
        return true;
      },
      "the server to read the lines at the cap",
      deadline,
    );
    const atCapStats = await probe.stats();
    await served(port);
    const perClient = (held(atCapStats) - held(before)) / LINERS;
    console.log(
      `unfinished lines: ${LINERS} clients x ${
        kib(LINE_BYTES)
      } closed at --max-frame 64 KiB (${cut} writes cut short by the close); ` +
        `the server then holds ${
          kib(held(after) - held(before))
        } more; ${LINERS} lines of ${CAP_LINE_BYTES} bytes held: ${
          kib(perClient)
        } a client (bound ${CAP_BOUND_KIB} KiB); another client served`,
    );
    assertLessOrEqual(
      held(after) - held(before),
      4 * 1024 * 1024,
      "held after the long lines were refused",
    );
    assertLessOrEqual(perClient, CAP_BOUND_KIB * 1024, "held per client");
  } finally {
    for (const conn of liners) conn.close();
  }
  assertEquals((await probe.stop()).code, 0);
});
