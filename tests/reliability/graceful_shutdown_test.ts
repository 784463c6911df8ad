/**
 * Graceful shutdown under load: SIGTERM to the echo tool (a child process)
 * while 100 clients are in the middle of an exchange — each has written a
 * request of 16–512 KiB and is reading the echo back slowly. Every byte a
 * client wrote before the signal must come back, in order, followed by a
 * clean EOF; clients waiting between requests get EOF; a new connection is
 * refused once the server has said it is shutting down; and the process
 * exits 0 within its grace period. A client that never reads cannot be
 * answered: it is cut off when the grace period ends, and the process
 * still exits 0, on time.
 *
 * The signal is sent once the server has logged `connection from` for
 * every client: a connection still in the kernel's listen backlog when the
 * listener closes is reset by the kernel, never seen by the server (as
 * with any server that stops by closing its listener).
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertLessOrEqual,
  assertRejects,
  Prng,
  testSeed,
} from "../_utils.ts";
import type { ToolProcess } from "../_spawn.ts";
import { within } from "../tcp/_helpers.ts";
import { checkStream, fillStream, startTool, writeAll } from "./_harness.ts";

const SEED = testSeed("SOCKIT_TEST_SEED");
const CLIENTS = 100;
const IDLE_CLIENTS = 10;
/** How fast a client reads: one read of up to 16 KiB every 2 ms. */
const READ_SIZE = 16 * 1024;
const READ_PAUSE = 2;
const TIME_LIMIT = 30_000;

/** One client's exchange, seen from the client. */
interface Exchange {
  size: number;
  /** Bytes echoed so far. */
  read: number;
  /** How the connection ended. */
  end: Promise<"eof" | "reset">;
  /** Settles when the whole request is written. */
  written: Promise<void>;
  conn: Deno.Conn;
}

/** Waits until the server has logged the acceptance of every port in `ports`. */
async function accepted(
  server: ToolProcess,
  ports: Iterable<number>,
): Promise<void> {
  const waiting = new Set(ports);
  while (waiting.size > 0) {
    const [, port] = await within(
      server.stderr.waitFor(/^connection from 127\.0\.0\.1:(\d+)$/),
      TIME_LIMIT,
      `the server's acceptance of ${waiting.size} more clients`,
    );
    waiting.delete(Number(port));
  }
}

function portOf(conn: Deno.Conn): number {
  return (conn.localAddr as Deno.NetAddr).port;
}

/** Connects, writes `size` bytes of stream `seed`, reads the echo slowly. */
async function exchange(
  port: number,
  size: number,
  seed: number,
): Promise<Exchange> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const written = writeAll(conn, fillStream(new Uint8Array(size), 0, seed));
  written.catch(() => {}); // a cut-off client's write fails: checked by the caller
  const state: Exchange = { size, read: 0, conn, written, end: read() };
  async function read(): Promise<"eof" | "reset"> {
    const buffer = new Uint8Array(READ_SIZE);
    try {
      for (let n; (n = await conn.read(buffer)) !== null;) {
        const bad = checkStream(buffer.subarray(0, n), state.read, seed);
        if (bad !== -1) {
          throw new Error(`Byte ${state.read + bad} came back wrong`);
        }
        state.read += n;
        await new Promise((resolve) => setTimeout(resolve, READ_PAUSE));
      }
      return "eof";
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return "reset";
      throw error;
    }
  }
  state.end.catch(() => {}); // awaited by the test; closed early on a failure
  return state;
}

Deno.test("SIGTERM while 100 clients are mid-exchange: everything received is answered in full, new clients are refused, exit 0 within the grace period", async () => {
  const GRACE = 3000;
  const started = await startTool("echo", [
    "--port",
    "0",
    "--grace",
    String(GRACE / 1000),
  ]);
  await using server = started.tool;
  const port = started.port;
  const prng = new Prng(SEED);

  // Clients between requests: one exchange done, the connection kept.
  const idle: Deno.Conn[] = [];
  for (let i = 0; i < IDLE_CLIENTS; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, new Uint8Array([i]));
    await conn.read(new Uint8Array(1));
    idle.push(conn);
  }
  const idleEnds = idle.map(async (conn) => {
    try {
      return await conn.read(new Uint8Array(1)) === null ? "eof" : "data";
    } finally {
      conn.close();
    }
  });

  const exchanges = await Promise.all(
    Array.from(
      { length: CLIENTS },
      (_, i) => exchange(port, prng.int(16, 512) * 1024, (SEED + i) & 0xff),
    ),
  );
  try {
    await within(
      Promise.all(exchanges.map((e) => e.written)),
      TIME_LIMIT,
      "every request written",
    );
    await accepted(
      server,
      [...idle, ...exchanges.map((e) => e.conn)].map(portOf),
    );
    const midway = exchanges.filter((e) => e.read < e.size).length;

    const signalled = performance.now();
    server.child.kill("SIGTERM");
    await within(
      server.stderr.waitFor(/^shutting down \(signal SIGTERM\)/),
      5000,
      "the shutdown line",
    );
    // The listener is closed: a new client is refused.
    await assertRejects(
      () => Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );

    const ends = await within(
      Promise.all(exchanges.map((e) => e.end)),
      TIME_LIMIT,
      "every exchange's end",
    );
    const answered = performance.now() - signalled;
    const status = await within(server.child.status, GRACE + 2000, "the exit");
    const exited = performance.now() - signalled;

    const bytes = exchanges.reduce((n, e) => n + e.size, 0);
    console.log(
      `graceful shutdown: ${midway} of ${CLIENTS} clients mid-exchange at SIGTERM ` +
        `(${
          (bytes / 1048576).toFixed(1)
        } MiB of requests); all answered in full ` +
        `${
          answered.toFixed(0)
        } ms after the signal; exit ${status.code} after ` +
        `${exited.toFixed(0)} ms (grace ${GRACE} ms)`,
    );
    assertGreaterOrEqual(
      midway,
      CLIENTS / 2,
      "too few clients were mid-exchange",
    );
    for (const [i, e] of exchanges.entries()) {
      assertEquals(e.read, e.size, `client ${i}: bytes echoed`);
      assertEquals(ends[i], "eof", `client ${i}: how the connection ended`);
    }
    assertEquals(await Promise.all(idleEnds), idle.map(() => "eof"));
    assertEquals(status.code, 0);
    assertLessOrEqual(exited, GRACE, "the exit came after the grace period");
  } finally {
    for (const e of exchanges) e.conn.close();
  }
});

Deno.test("a client that never reads is cut off when the grace period ends; the others are answered and the exit is 0, on time", async () => {
  const GRACE = 1000;
  const started = await startTool("echo", [
    "--port",
    "0",
    "--grace",
    String(GRACE / 1000),
  ]);
  await using server = started.tool;
  const port = started.port;

  // The stuck client: 32 MiB it will never read back.
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port });
  const stuckWrite = writeAll(stuck, new Uint8Array(32 * 1024 * 1024));
  stuckWrite.catch(() => {}); // awaited below
  const others = await Promise.all(
    Array.from({ length: 5 }, (_, i) => exchange(port, 256 * 1024, i)),
  );
  try {
    await Promise.all(others.map((e) => e.written));
    await accepted(server, [stuck, ...others.map((e) => e.conn)].map(portOf));
    const signalled = performance.now();
    server.child.kill("SIGTERM");
    const ends = await within(
      Promise.all(others.map((e) => e.end)),
      TIME_LIMIT,
      "the other exchanges' ends",
    );
    const status = await within(server.child.status, GRACE + 3000, "the exit");
    const exited = performance.now() - signalled;
    // The stuck client's write fails once the server closes its connection.
    const cut = await stuckWrite.then(() => "written", (error) => error);
    console.log(
      `graceful shutdown with a stuck client: exit ${status.code} after ${
        exited.toFixed(0)
      } ms (grace ${GRACE} ms); the stuck client's write ended with ${
        cut instanceof Error ? cut.name : cut
      }`,
    );
    for (const [i, e] of others.entries()) {
      assertEquals([e.read, ends[i]], [e.size, "eof"], `client ${i}`);
    }
    assert(cut instanceof Error, "the stuck client wrote 32 MiB unread");
    assertEquals(status.code, 0);
    assertGreaterOrEqual(
      exited,
      GRACE - 50,
      "the stuck client was cut off early",
    );
    assertLessOrEqual(
      exited,
      GRACE + 1000,
      "the exit came long after the grace period",
    );
  } finally {
    stuck.close();
    for (const e of others) e.conn.close();
  }
});
