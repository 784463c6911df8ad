/**
 * `listenWorkers()` with real Web Workers on real loopback sockets: the
 * workers share one port and each serves, a shutdown drains all of them, a
 * worker that dies is restarted with backoff and reported, a worker that
 * cannot start fails the whole start, and option checks. The workers run
 * `_workers_program.ts`, which reports on a BroadcastChannel when each one
 * listens, so the tests wait for events, never for time.
 *
 * @module
 */
import {
  connect,
  type Connection,
  listenWorkers,
  type TcpAddress,
  type WorkerPool,
} from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../_utils.ts";
import { CHANNEL, MISTAKE_VARIABLE, start } from "./_workers_program.ts";
import { evalWithoutUnstableNet } from "./_helpers.ts";

const PROGRAM = new URL("./_workers_program.ts", import.meta.url);
const decoder = new TextDecoder();

/** Events waited for one at a time: each is taken once. */
class Queue<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }

  /** The next item that `matches`; fails after 10 s. */
  async next(matches: (item: T) => boolean, what: string): Promise<T> {
    const deadline = performance.now() + 10_000;
    for (;;) {
      const at = this.#items.findIndex(matches);
      if (at !== -1) return this.#items.splice(at, 1)[0]!;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ${what} within 10 s`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }
}

/** The workers' reports on the BroadcastChannel. */
class Reports implements Disposable {
  readonly #channel = new BroadcastChannel(CHANNEL);
  readonly #queue = new Queue<{ worker: number; event: string }>();

  constructor() {
    this.#channel.onmessage = (event) => this.#queue.push(event.data);
  }

  /** The next report of `event` (from `worker`, if given). */
  async next(event: string, worker?: number): Promise<number> {
    const report = await this.#queue.next(
      (report) =>
        report.event === event &&
        (worker === undefined || report.worker === worker),
      `"${event}" report`,
    );
    return report.worker;
  }

  [Symbol.dispose](): void {
    this.#channel.close();
  }
}

/** Connects and reads the greeting line: which worker serves it. */
async function connectTo(
  pool: WorkerPool,
): Promise<{ conn: Connection; worker: number }> {
  const conn = await connect(pool.addr, { timeout: 5000 });
  const line = decoder.decode(await conn.readUntil("\n"));
  return { conn, worker: Number(/^worker (\d+)/.exec(line)![1]) };
}

/**
 * A connection to worker `worker`: new connections (each from a new client
 * port, so hashed anew) until one lands there; at most 200.
 */
async function connectToWorker(
  pool: WorkerPool,
  worker: number,
): Promise<Connection> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const got = await connectTo(pool);
    if (got.worker === worker) return got.conn;
    got.conn.close();
  }
  throw new Error(`no connection reached worker ${worker} in 200 attempts`);
}

function startPool(
  options: Parameters<typeof listenWorkers>[2] = {},
): Promise<WorkerPool> {
  return listenWorkers({ port: 0 }, start, {
    workers: 2,
    module: PROGRAM,
    ...options,
  });
}

/** Starts a pool whose workers make `mistake` as they start. */
async function startMistaken(mistake: string): Promise<WorkerPool> {
  Deno.env.set(MISTAKE_VARIABLE, mistake);
  try {
    return await startPool();
  } finally {
    Deno.env.delete(MISTAKE_VARIABLE);
  }
}

Deno.test("listenWorkers() serves from every worker on one port", async () => {
  using reports = new Reports();
  await using pool = await startPool();
  assertEquals([pool.workers, pool.restarts], [2, 0]);
  assertEquals(pool.addr.hostname, "127.0.0.1");
  // Both reported listening before the start resolved.
  assertEquals(
    new Set([await reports.next("listening"), await reports.next("listening")]),
    new Set([1, 2]),
  );
  const seen = new Set<number>();
  for (let attempt = 0; attempt < 200 && seen.size < 2; attempt++) {
    const { conn, worker } = await connectTo(pool);
    await conn.write("ping");
    assertEquals(decoder.decode(await conn.readExactly(4)), "ping");
    conn.close();
    seen.add(worker);
  }
  assertEquals(seen, new Set([1, 2]));
});

Deno.test("shutdown() drains every worker: requests under way finish", async () => {
  const pool = await startPool();
  const clients = [
    await connectToWorker(pool, 1),
    await connectToWorker(pool, 2),
  ];
  for (const conn of clients) await conn.write("slow 300");
  const stopping = pool.shutdown({ gracePeriod: 3000 });
  for (const conn of clients) {
    assertEquals(decoder.decode(await conn.readUntil("\n")), "done\n");
    assertEquals(await conn.read(), null); // then EOF: the worker drained
    conn.close();
  }
  await stopping;
  await pool.finished;
  await assertRejects(() => connect(pool.addr), Deno.errors.ConnectionRefused);
});

Deno.test("a worker that dies is restarted, with backoff, and reported", async () => {
  const restarts: { worker: number; reason: unknown; delay: number }[] = [];
  const listening = new Queue<number>();
  await using pool = await startPool({
    onRestart: (worker, reason, delay) =>
      restarts.push({ worker, reason, delay }),
    onListening: (worker) => listening.push(worker),
  });
  // Told of both as the pool started.
  await listening.next((worker) => worker === 1, "worker 1 listening");
  await listening.next((worker) => worker === 2, "worker 2 listening");
  // An uncaught error at worker scope: restarted after 100 ms.
  const first = await connectToWorker(pool, 2);
  await first.write("crash");
  assertEquals(await first.read(), null); // its worker is gone
  first.close();
  await listening.next((worker) => worker === 2, "worker 2 restarted");
  assertEquals(pool.restarts, 1);
  assertEquals(restarts.length, 1);
  assertEquals([restarts[0]!.worker, restarts[0]!.delay], [2, 100]);
  assertInstanceOf(restarts[0]!.reason, Error);
  assertStringIncludes(
    (restarts[0]!.reason as Error).message,
    "crash requested in worker 2",
  );
  // It serves again; Deno.exit() in it is noticed too, and a second quick
  // failure waits twice as long.
  const second = await connectToWorker(pool, 2);
  await second.write("exit");
  assertEquals(await second.read(), null);
  second.close();
  await listening.next((worker) => worker === 2, "worker 2 restarted");
  assertEquals(pool.restarts, 2);
  assertEquals([restarts[1]!.worker, restarts[1]!.delay], [2, 200]);
  assertStringIncludes((restarts[1]!.reason as Error).message, "Deno.exit()");
  (await connectToWorker(pool, 2)).close();
});

Deno.test("close() ends every worker at once, running their unload listeners", async () => {
  using reports = new Reports();
  const pool = await startPool();
  const conn = await connectToWorker(pool, 1);
  await conn.write("slow 10000");
  await pool.close();
  await pool.finished;
  assertEquals(await conn.read(), null); // cut off, not drained
  conn.close();
  assertEquals(
    new Set([await reports.next("unload"), await reports.next("unload")]),
    new Set([1, 2]),
  );
});

Deno.test("a worker that cannot start fails the whole start", async (t) => {
  await t.step("the port is taken", async () => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port;
    const error = await assertRejects(
      () => listenWorkers({ port }, start, { workers: 2, module: PROGRAM }),
      Deno.errors.AddrInUse,
    );
    assertStringIncludes(error.message, `127.0.0.1:${port}`);
  });
  await t.step("a worker's listen() lacks reusePort", async () => {
    const error = await assertRejects(
      () => startMistaken("no-reuse-port"),
      Deno.errors.AddrInUse,
    );
    assertStringIncludes(
      error.message,
      "every worker's listen() needs reusePort: true",
    );
  });
  await t.step("a certificate file is missing", async () => {
    const error = await assertRejects(
      () => startMistaken("bad-cert"),
      Error,
      "no-such.crt",
    );
    assertEquals(error.name, "TlsError");
  });
  await t.step("the server listens elsewhere", async () => {
    // Worker 1 picks the port (0); worker 2 must take it.
    await assertRejects(
      () => startMistaken("elsewhere"),
      TypeError,
      "Cannot start worker 2",
    );
  });
});

Deno.test("listenWorkers() refuses bad options before starting a worker", async () => {
  const cases: [
    TcpAddress,
    Parameters<typeof listenWorkers>[2],
    ErrorConstructor,
    string,
  ][] = [
    // a Unix socket path cannot be shared
    [{ path: "/tmp/x.sock" } as unknown as TcpAddress, {}, TypeError, "Unix"],
    // zero workers
    [{ port: 0 }, { workers: 0 }, RangeError, "integer >= 1"],
    // a fraction
    [{ port: 0 }, { workers: 1.5 }, RangeError, "integer >= 1"],
    // a word other than "auto"
    [{ port: 0 }, { workers: "all" as "auto" }, RangeError, "integer >= 1"],
    // a negative grace period
    [{ port: 0 }, { gracePeriod: -1 }, RangeError, "gracePeriod"],
  ];
  for (const [address, options, Class, text] of cases) {
    await assertRejects(
      () => listenWorkers(address, start, { module: PROGRAM, ...options }),
      Class,
      text,
    );
  }
});

Deno.test("the signal option shuts every worker down", async () => {
  const controller = new AbortController();
  const pool = await startPool({
    signal: controller.signal,
    gracePeriod: 1000,
  });
  assert(pool.workers === 2);
  controller.abort();
  await pool.finished;
  await assertRejects(() => connect(pool.addr), Deno.errors.ConnectionRefused);
});

Deno.test("listenWorkers() without --unstable-net fails with an error naming the flag, before starting a worker", async () => {
  // A program run without the flag (and without this repository's
  // deno.json, which turns it on): reusePort, which the workers share the
  // port with, is not there.
  const stdout = await evalWithoutUnstableNet(`
    try {
      await listenWorkers({ port: 0 }, (address) =>
        listen(address, () => {}, { reusePort: true }), { workers: 2 });
      console.log("started");
    } catch (error) {
      console.log(error.name + ": " + error.message);
    }
  `);
  assertEquals(
    stdout.trim(),
    'TypeError: Cannot listen on 127.0.0.1:0 with workers: they share the port with reusePort, which Deno allows only with --unstable-net (run with --unstable-net, or add "unstable": ["net"] to deno.json)',
  );
});
