/**
 * {@linkcode listenWorkers}: one server on every core. N Web Workers each
 * run the program again and listen on the same TCP port with
 * `SO_REUSEPORT`; the kernel spreads new connections among them. A worker
 * that stops unexpectedly is restarted with backoff; a shutdown drains every
 * worker within its grace period.
 *
 * Why Web Workers and not child processes: a worker inherits the program's
 * permissions, so a server needs no `--allow-run` (which an echo server
 * should not have) and no way to repeat its `deno run` flags to a child,
 * which Deno does not expose; it runs the program's own main module, which
 * `deno compile` embeds, so compiled tools need nothing more; and it costs
 * an isolate and a thread (about 20 MiB), not a process (about 60 MiB).
 * Measured on loopback with 100 connections, two workers served as many
 * round trips as two processes. The price is isolation: a worker's uncaught
 * error ends that worker only, but a crash of the runtime ends them all.
 *
 * @module
 */
import {
  formatAddress,
  type ShutdownOptions,
  type SocketAddress,
  type TcpAddress,
} from "../net/mod.ts";
import { checkAddress, DEFAULT_HOSTNAME } from "../_internal/address.ts";
import { after } from "../_internal/timer.ts";
import type { Server } from "./listen.ts";

/**
 * A server running in N workers on one port: returned by
 * {@linkcode listenWorkers}. `shutdown()` and `finished` make it a
 * `GracefulServer`, so `shutdownOnSignals(pool)` drains every worker on
 * Ctrl-C or SIGTERM.
 *
 * @example Count the workers and shut down
 * ```ts
 * import { connect, listenWorkers, type WorkerPool } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * const program = URL.createObjectURL(
 *   new Blob([`
 *     import { listen, listenWorkers } from "@sockit/sockit/tcp";
 *     export const start = (address) =>
 *       listen(address, (conn) => conn.write("hi"), { reusePort: true });
 *     if (import.meta.main) await listenWorkers({ port: 0 }, start);
 *   `], { type: "text/javascript" }),
 * );
 * const { start } = await import(program);
 * const pool: WorkerPool = await listenWorkers({ port: 0 }, start, {
 *   workers: 2,
 *   module: program,
 * });
 * assertEquals([pool.workers, pool.restarts], [2, 0]);
 * const conn = await connect(pool.addr);
 * assertEquals(new TextDecoder().decode(await conn.readExactly(2)), "hi");
 * conn.close();
 * await pool.shutdown({ gracePeriod: 1000 });
 * ```
 */
export interface WorkerPool extends AsyncDisposable {
  /** The address every worker listens on (with the real port for port 0). */
  readonly addr: SocketAddress<"tcp">;
  /** How many workers serve. */
  readonly workers: number;
  /** How many times a worker has been restarted after stopping unexpectedly. */
  readonly restarts: number;
  /** Settles when every worker has ended, after `shutdown()` or `close()`. */
  readonly finished: Promise<void>;
  /**
   * Drains every worker: each one's server shuts down gracefully (stops
   * accepting, lets its handlers finish for up to `gracePeriod`, then
   * closes what is left), then the worker ends. No worker is restarted
   * from then on. Idempotent.
   *
   * @param options The grace period (default 5000 ms).
   * @returns Settles when every worker has ended.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /**
   * Sends `message` to worker `worker` (1 to `workers`), copied by the
   * structured clone algorithm: the worker's code hears it as a `message`
   * event on its global scope (`self.addEventListener("message", …)`). A
   * worker answers with `self.postMessage()`, which the pool's `onMessage`
   * option hears. A message for a worker that is not serving — still
   * starting, being restarted, or ended — is dropped: a worker that starts
   * again begins with no memory of what its predecessor heard.
   *
   * @param worker The worker's id, 1 to `workers`.
   * @param message What to send.
   * @returns Whether the message went to a serving worker.
   */
  postMessage(worker: number, message: unknown): boolean;
  /**
   * Ends every worker at once: each one exits (`Deno.exit()` inside it, so
   * its `unload` listeners run: a `rexec` server kills its commands), its
   * connections cut. For a second Ctrl-C; also cuts a `shutdown()` short.
   *
   * @returns Settles when every worker has ended.
   */
  close(): Promise<void>;
}

/** How a worker starts its server: see {@linkcode listenWorkers}. */
type StartWorker = (
  address: TcpAddress,
  worker: number,
) => Server | Promise<Server>;

/** Tags the pool's messages among whatever else a worker posts. */
const TAG = "sockit:workers";
/** The longest a worker may take to load the program and listen. */
const START_TIMEOUT = 30_000;
/** The first restart delay, doubled after each quick failure. */
const FIRST_DELAY = 100;
/** The longest restart delay. */
const MAX_DELAY = 10_000;
/** A worker that served this long starts its restarts from FIRST_DELAY. */
const RESET_AFTER = 10_000;
/** How long a worker may take to exit when asked, beyond a grace period. */
const EXIT_TIMEOUT = 2_000;
const DEFAULT_GRACE_PERIOD = 5000;

/** What the primary and a worker send each other. */
type Message =
  | { type: "ready" }
  | { type: "start"; address: { hostname: string; port: number } }
  | { type: "listening"; port: number }
  | { type: "failed"; name: string; message: string }
  | { type: "shutdown"; gracePeriod: number }
  | { type: "finished" }
  | { type: "stopped" }
  | { type: "exit" }
  | { type: "exited" };

/** The worker's id when this code runs in a worker the pool started. */
function poolWorkerId(): number | undefined {
  const scope = globalThis as { WorkerGlobalScope?: unknown; name?: unknown };
  if (scope.WorkerGlobalScope === undefined) return undefined;
  const match = /^worker ([1-9]\d*)$/.exec(String(scope.name));
  return match === null ? undefined : Number(match[1]);
}

function isMessage(data: unknown): data is { tag: string } & Message {
  return typeof data === "object" && data !== null &&
    (data as { tag?: unknown }).tag === TAG;
}

let servingInWorker = false;

/**
 * Inside worker `id`: waits for the primary's address, starts the server,
 * reports, drains when told. Never settles: the program's code after
 * `listenWorkers()` runs in the primary only.
 */
function serveInWorker(id: number, start: StartWorker): Promise<never> {
  if (servingInWorker) {
    return Promise.reject(
      new TypeError(
        `Cannot start a second server in worker ${id}: call listenWorkers() once per program`,
      ),
    );
  }
  servingInWorker = true;
  const scope = globalThis as unknown as {
    postMessage(message: unknown): void;
    addEventListener(type: string, listener: (event: Event) => void): void;
  };
  const post = (message: Message) =>
    scope.postMessage({ tag: TAG, ...message });
  let server: Server | undefined;
  let stopping = false;
  let exiting = false;
  // Deno.exit() in a worker ends the worker only, without an error event:
  // say so, or the primary would never know.
  scope.addEventListener("unload", () => {
    if (!exiting) post({ type: "exit" });
  });
  scope.addEventListener("message", async (event) => {
    const data = (event as MessageEvent).data;
    if (!isMessage(data)) return;
    if (data.type === "start") {
      try {
        server = await start(data.address, id);
      } catch (error) {
        post({
          type: "failed",
          name: error instanceof Error ? error.name : "Error",
          message: error instanceof Error ? error.message : String(error),
        });
        return;
      }
      const addr = server.addr;
      const wanted = data.address;
      if (
        addr.transport !== "tcp" ||
        (wanted.port !== 0 && addr.port !== wanted.port)
      ) {
        await server.shutdown({ gracePeriod: 0 });
        post({
          type: "failed",
          name: "TypeError",
          message: `Cannot start worker ${id} on ${
            formatAddress(wanted)
          }: its server listens on ${formatAddress(addr)} instead`,
        });
        return;
      }
      server.finished.then(() => {
        if (!stopping) post({ type: "stopped" });
      }, () => {
        if (!stopping) post({ type: "stopped" });
      });
      post({ type: "listening", port: addr.port });
    } else if (data.type === "shutdown") {
      stopping = true;
      try {
        await server?.shutdown({ gracePeriod: data.gracePeriod });
        await server?.finished;
      } finally {
        post({ type: "finished" });
      }
    } else if (data.type === "exit") {
      stopping = true;
      exiting = true;
      // Added last, so it runs after the program's own unload listeners.
      scope.addEventListener("unload", () => post({ type: "exited" }));
      Deno.exit(0);
    }
  });
  post({ type: "ready" });
  return new Promise<never>(() => {});
}

/** A worker's message, or news of its end (`error`; `ended`: we ended it). */
type PoolEvent =
  | Message
  | { type: "error"; message: string }
  | { type: "ended" };

/** One worker slot: its id, the worker running in it, its restart state. */
interface Slot {
  readonly id: number;
  worker: Worker | null;
  /** While its worker starts: hears its messages. */
  onStart: ((event: PoolEvent) => void) | null;
  /** Waiting for an answer from its worker (or its end). */
  readonly waiters: Set<(event: PoolEvent) => void>;
  /** When the worker in it started serving (`performance.now()`). */
  since: number;
  /** The next restart delay. */
  delay: number;
  /** Cancels a pending restart. */
  cancelRestart: (() => void) | null;
}

function isEnd(event: PoolEvent): boolean {
  return event.type === "error" || event.type === "exit" ||
    event.type === "stopped" || event.type === "ended";
}

class Pool implements WorkerPool {
  readonly #module: string;
  readonly #onRestart: (worker: number, reason: unknown, delay: number) => void;
  readonly #onListening: (worker: number) => void;
  readonly #onMessage: (worker: number, message: unknown) => void;
  readonly #slots: Slot[] = [];
  #addr: SocketAddress<"tcp"> | undefined;
  #restarts = 0;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #finished: Promise<void>;
  #resolveFinished: () => void = () => {};
  readonly workers: number;

  constructor(
    module: string,
    workers: number,
    onRestart: (worker: number, reason: unknown, delay: number) => void,
    onListening: (worker: number) => void,
    onMessage: (worker: number, message: unknown) => void,
  ) {
    this.#module = module;
    this.workers = workers;
    this.#onRestart = onRestart;
    this.#onListening = onListening;
    this.#onMessage = onMessage;
    this.#finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
    for (let id = 1; id <= workers; id++) {
      this.#slots.push({
        id,
        worker: null,
        onStart: null,
        waiters: new Set(),
        since: 0,
        delay: FIRST_DELAY,
        cancelRestart: null,
      });
    }
  }

  get addr(): SocketAddress<"tcp"> {
    return this.#addr!;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get finished(): Promise<void> {
    return this.#finished;
  }

  get #ending(): boolean {
    return this.#stopping !== undefined || this.#closing !== undefined;
  }

  /** Starts worker 1 on `address`, then the others on its port. */
  async begin(address: TcpAddress): Promise<void> {
    const hostname = address.hostname ?? DEFAULT_HOSTNAME;
    const [first, ...others] = this.#slots;
    try {
      const port = await this.#spawn(first!, { hostname, port: address.port });
      this.#addr = { transport: "tcp", hostname, port };
      const results = await Promise.allSettled(
        others.map((slot) => this.#spawn(slot, { hostname, port })),
      );
      const failure = results.find((result) => result.status === "rejected");
      if (failure !== undefined) throw failure.reason;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Starts a worker in `slot` listening on `address`; resolves with its
   * port once it listens, rejects (its worker ended) if it cannot.
   */
  #spawn(
    slot: Slot,
    address: { hostname: string; port: number },
  ): Promise<number> {
    const worker = new Worker(this.#module, {
      type: "module",
      name: `worker ${slot.id}`,
    });
    slot.worker = worker;
    worker.addEventListener("message", (event) => {
      if (isMessage(event.data)) this.#receive(slot, worker, event.data);
      else if (slot.worker === worker) this.#onMessage(slot.id, event.data);
    });
    worker.addEventListener("error", (event) => {
      // Handled here: unhandled, a worker's error would end the program.
      event.preventDefault();
      this.#receive(slot, worker, { type: "error", message: event.message });
    });
    worker.addEventListener("messageerror", (event) => event.preventDefault());
    return new Promise<number>((resolve, reject) => {
      const fail = (error: Error) => {
        cancelTimer();
        slot.onStart = null;
        this.#end(slot);
        reject(error);
      };
      const cancelTimer = after(START_TIMEOUT, () =>
        fail(
          new Error(
            `Cannot start worker ${slot.id} from ${this.#module}: it did not call listenWorkers() within ${
              START_TIMEOUT / 1000
            } s (each worker runs the program again, which must reach the same listenWorkers() call)`,
          ),
        ));
      slot.onStart = (event) => {
        if (event.type === "ready") {
          worker.postMessage({ tag: TAG, type: "start", address });
        } else if (event.type === "listening") {
          cancelTimer();
          slot.onStart = null;
          slot.since = performance.now();
          try {
            this.#onListening(slot.id);
          } catch { /* a logger's failure stops no worker */ }
          resolve(event.port);
        } else if (event.type === "failed") {
          fail(startError(event.name, event.message, slot.id));
        } else if (isEnd(event)) {
          fail(
            new Error(
              `Cannot start worker ${slot.id} from ${this.#module}: ${
                endReason(event)
              }`,
            ),
          );
        }
      };
    });
  }

  /** Hands a worker's message on; restarts it if it ended unexpectedly. */
  #receive(slot: Slot, worker: Worker, event: PoolEvent): void {
    if (slot.worker !== worker) return; // from a worker ended already
    for (const waiter of [...slot.waiters]) waiter(event);
    if (slot.onStart !== null) slot.onStart(event);
    else if (isEnd(event) && !this.#ending) {
      this.#restart(slot, new Error(endReason(event)));
    }
  }

  #restart(slot: Slot, reason: Error): void {
    this.#end(slot);
    if (this.#ending) return;
    if (performance.now() - slot.since >= RESET_AFTER) slot.delay = FIRST_DELAY;
    const delay = slot.delay;
    slot.delay = Math.min(slot.delay * 2, MAX_DELAY);
    try {
      this.#onRestart(slot.id, reason, delay);
    } catch { /* a logger's failure stops no restart */ }
    slot.cancelRestart = after(delay, () => {
      slot.cancelRestart = null;
      this.#restarts++;
      this.#spawn(slot, {
        hostname: this.#addr!.hostname,
        port: this.#addr!.port,
      }).catch((error) => this.#restart(slot, error));
    });
  }

  /** Ends the slot's worker at once, if one runs. */
  #end(slot: Slot): void {
    const worker = slot.worker;
    if (worker === null) return;
    slot.worker = null;
    worker.terminate();
    for (const waiter of [...slot.waiters]) waiter({ type: "ended" });
    slot.onStart?.({ type: "ended" });
  }

  postMessage(worker: number, message: unknown): boolean {
    const slot = this.#slots[worker - 1];
    if (slot === undefined || slot.worker === null || slot.onStart !== null) {
      return false;
    }
    slot.worker.postMessage(message);
    return true;
  }

  shutdown(options: ShutdownOptions = {}): Promise<void> {
    const gracePeriod = options.gracePeriod ?? DEFAULT_GRACE_PERIOD;
    if (!(gracePeriod >= 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot shut down with a grace period of ${gracePeriod}: give milliseconds (>= 0)`,
        ),
      );
    }
    return this.#stopping ??= this.#stopAll((slot) =>
      this.#drain(slot, gracePeriod)
    );
  }

  close(): Promise<void> {
    return this.#closing ??= this.#stopAll((slot) => this.#exit(slot));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #stopAll(stop: (slot: Slot) => Promise<void>): Promise<void> {
    for (const slot of this.#slots) {
      slot.cancelRestart?.();
      slot.cancelRestart = null;
    }
    await Promise.all(this.#slots.map(stop));
    this.#resolveFinished();
  }

  /** Drains the slot's worker, then asks it to exit. */
  async #drain(slot: Slot, gracePeriod: number): Promise<void> {
    if (slot.onStart !== null) {
      this.#end(slot); // still starting: no client yet
      return;
    }
    await this.#ask(
      slot,
      { type: "shutdown", gracePeriod },
      "finished",
      gracePeriod + EXIT_TIMEOUT,
    );
    await this.#exit(slot);
  }

  /** Asks the slot's worker to exit, so that its unload listeners run. */
  async #exit(slot: Slot): Promise<void> {
    if (slot.onStart !== null) {
      this.#end(slot);
      return;
    }
    await this.#ask(slot, { type: "exit" }, "exited", EXIT_TIMEOUT);
    this.#end(slot);
  }

  /**
   * Sends `message` to the slot's worker and waits for its `answer`, its
   * end, or `timeout`.
   */
  #ask(
    slot: Slot,
    message: Message,
    answer: Message["type"],
    timeout: number,
  ): Promise<void> {
    const worker = slot.worker;
    if (worker === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        cancelTimer();
        slot.waiters.delete(waiter);
        resolve();
      };
      const cancelTimer = after(timeout, done);
      // Asked to exit, a worker says "exit" before its last listeners ran.
      const waiter = (event: PoolEvent) => {
        if (
          event.type === answer ||
          (isEnd(event) && !(event.type === "exit" && answer === "exited"))
        ) {
          done();
        }
      };
      slot.waiters.add(waiter);
      worker.postMessage({ tag: TAG, ...message });
    });
  }
}

/** Why a worker ended. */
function endReason(event: PoolEvent): string {
  switch (event.type) {
    case "error":
      return event.message;
    case "exit":
      return "it exited (Deno.exit())";
    case "stopped":
      return "its server stopped";
    default:
      return "it was ended";
  }
}

/** A worker's failure to start, as an error of its class where it has one. */
function startError(name: string, message: string, id: number): Error {
  const builtins: Record<string, ErrorConstructor> = {
    TypeError,
    RangeError,
    SyntaxError,
  };
  const denoErrors = Deno.errors as unknown as Record<string, ErrorConstructor>;
  const Class = Object.hasOwn(builtins, name)
    ? builtins[name]!
    : Object.hasOwn(denoErrors, name)
    ? denoErrors[name]!
    : Error;
  const hint = name === "AddrInUse" && id > 1
    ? `; worker ${id} could not share the port: every worker's listen() needs reusePort: true`
    : "";
  const error = new Class(`${message}${hint}`);
  if (Class === Error) error.name = name;
  return error;
}

/**
 * Runs a TCP server in N workers sharing one port: what a Node program does
 * with `node:cluster`, and `deno serve --parallel` for HTTP. Each worker is
 * a Web Worker (a thread with its own isolate, in this process, with this
 * program's permissions) named `worker 1` … `worker N` (`self.name`), that
 * runs the program again — `module`, by default the main module — with the
 * same `Deno.args`. The program reaches this same call in each worker, and
 * there it calls `start(address, id)`, which must start the worker's server
 * on `address` with `reusePort: true` (`listen()`, `serveProtocol()`,
 * `rexec`'s `serveCommands()`…) and return it. In a worker the call never
 * settles, so the code after `await listenWorkers(…)` runs once, in the
 * primary; code before it runs in every worker too, as in `node:cluster`.
 *
 * The first worker listens on `address` (port 0 picks a free port), the
 * others on its port. Linux spreads new connections among the listeners by
 * a hash of the client's and the server's addresses and ports — not round
 * robin: a few clients may all land on one worker, and connections from
 * one client port always go to the same one. Limits such as
 * `maxConnections` are each worker's own.
 *
 * A worker that stops unexpectedly (an uncaught error or rejection,
 * `Deno.exit()`, its server stopped) is started again after a delay that
 * doubles with each quick failure, from 100 ms to 10 s, and starts again
 * from 100 ms once a worker has served for 10 s; `onRestart` hears of each.
 * A worker that cannot start at all fails the whole start instead: the
 * returned promise rejects with its error (the port in use, a bad
 * certificate…), and the workers already started are ended.
 *
 * Needs Linux and, in Deno 2.9, `--unstable-net` (for `reusePort`).
 * Under `deno run` each worker loads the program's local modules again,
 * which Deno allows only with read access to them (`--allow-read`, for the
 * program's folder at least). Under `deno compile` the main module is in
 * the executable, so the workers need nothing more; another `module` must
 * be added with `--include`.
 *
 * @param address Where to listen: TCP only (a Unix socket path cannot be
 * shared). `hostname` defaults to `127.0.0.1`.
 * @param start Called in each worker (never in the primary) with the
 * address to listen on and the worker's id, 1 to N: starts the worker's
 * server with `reusePort: true` and returns it.
 * @param options How many workers, which module they run, shutdown and
 * restart reporting.
 * @returns In the primary, the pool once every worker listens. In a
 * worker, a promise that never settles.
 * @throws {TypeError} If the address is a Unix socket, the platform is not
 * Linux, `--unstable-net` or read access to the program's files is
 * missing, or a worker's server does not listen on the pool's address.
 * @throws {RangeError} If `workers` is not a positive integer or `"auto"`.
 * @throws {Deno.errors.AddrInUse} If the port is taken (or a worker's
 * `listen()` lacks `reusePort: true`: the message says so); any other
 * error that stops a worker's start, with its name and message.
 *
 * @example Echo on every core (a program of its own: each worker runs it
 * again, which a documentation test cannot do)
 * ```ts ignore
 * // echo_workers.ts: deno run --allow-net --unstable-net echo_workers.ts
 * import { listen, listenWorkers } from "@sockit/sockit/tcp";
 * import { shutdownOnSignals } from "@sockit/sockit/net";
 *
 * const pool = await listenWorkers({ port: 7000 }, (address, worker) =>
 *   listen(address, async (conn) => {
 *     console.error(`[worker ${worker}] connection`);
 *     for await (const chunk of conn) await conn.write(chunk);
 *   }, { reusePort: true }), { workers: "auto" });
 * // Only the primary gets here.
 * shutdownOnSignals(pool, { gracePeriod: 5000 }); // Ctrl-C drains them all
 * console.error(`listening on port ${pool.addr.port} (${pool.workers} workers)`);
 * await pool.finished;
 * ```
 *
 * @example Workers running a module of their own
 * ```ts
 * import { connect, listenWorkers } from "@sockit/sockit/tcp";
 * import { assertMatch } from "@std/assert";
 *
 * // The workers' program: a file of yours, usually. It exports how a worker
 * // starts, and calls listenWorkers() as a main module, which it is in
 * // each worker.
 * const program = URL.createObjectURL(
 *   new Blob([`
 *     import { listen, listenWorkers } from "@sockit/sockit/tcp";
 *     export const start = (address, worker) =>
 *       listen(address, (conn) => conn.write("from worker " + worker), {
 *         reusePort: true,
 *       });
 *     if (import.meta.main) await listenWorkers({ port: 0 }, start);
 *   `], { type: "text/javascript" }),
 * );
 * const { start } = await import(program);
 * await using pool = await listenWorkers({ port: 0 }, start, {
 *   workers: 2,
 *   module: program,
 * });
 * await using conn = await connect(pool.addr);
 * assertMatch(new TextDecoder().decode(await conn.readExactly(13)), /^from worker [12]$/);
 * ```
 *
 * @example Talk to the workers: `pool.postMessage()` and `onMessage`
 * ```ts
 * import { listenWorkers } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * // Each worker answers a message from the primary with its id.
 * const program = URL.createObjectURL(
 *   new Blob([`
 *     import { listen, listenWorkers } from "@sockit/sockit/tcp";
 *     export const start = (address, worker) => {
 *       self.addEventListener("message", (event) =>
 *         self.postMessage(event.data + " from worker " + worker));
 *       return listen(address, (conn) => conn.close(), { reusePort: true });
 *     };
 *     if (import.meta.main) await listenWorkers({ port: 0 }, start);
 *   `], { type: "text/javascript" }),
 * );
 * const { start } = await import(program);
 * const { promise: answered, resolve } = Promise.withResolvers<unknown>();
 * await using pool = await listenWorkers({ port: 0 }, start, {
 *   workers: 2,
 *   module: program,
 *   onMessage: (_worker, message) => resolve(message),
 * });
 * assertEquals(pool.postMessage(2, "hello"), true);
 * assertEquals(await answered, "hello from worker 2");
 * ```
 */
export function listenWorkers(
  address: TcpAddress,
  start: (address: TcpAddress, worker: number) => Server | Promise<Server>,
  options: {
    /**
     * How many workers: a number, or `"auto"` for one per CPU
     * (`navigator.hardwareConcurrency`).
     *
     * @default {"auto"}
     */
    workers?: number | "auto";
    /**
     * The module each worker runs: a program that reaches the same
     * `listenWorkers()` call.
     *
     * @default {Deno.mainModule}
     */
    module?: string | URL;
    /** Shuts every worker down gracefully when aborted. */
    signal?: AbortSignal;
    /**
     * Grace period for a shutdown started by `signal`, in milliseconds.
     *
     * @default {5000}
     */
    gracePeriod?: number;
    /**
     * Told when a worker has stopped unexpectedly: its id, why (an
     * `Error`), and the milliseconds until it is started again. By default
     * a line goes to stderr.
     */
    onRestart?: (worker: number, reason: unknown, delay: number) => void;
    /**
     * Told each time a worker listens: as the pool starts, and after each
     * of its restarts.
     */
    onListening?: (worker: number) => void;
    /**
     * Told of each message a worker posts with `self.postMessage()` (the
     * pool's own aside): the worker's id and the message. Answer with
     * `pool.postMessage(worker, …)`.
     */
    onMessage?: (worker: number, message: unknown) => void;
  } = {},
): Promise<WorkerPool> {
  const id = poolWorkerId();
  if (id !== undefined) return serveInWorker(id, start);
  return startPool(address, start, options);
}

async function startPool(
  address: TcpAddress,
  start: StartWorker,
  options: Parameters<typeof listenWorkers>[2] & object,
): Promise<WorkerPool> {
  checkAddress(address, "listen on");
  const where = formatAddress(address);
  if ("path" in address) {
    throw new TypeError(
      `Cannot listen on ${where} with workers: a Unix socket cannot be shared (SO_REUSEPORT is TCP only)`,
    );
  }
  if (typeof start !== "function") {
    throw new TypeError(
      `Cannot listen on ${where} with workers: give a function that starts a worker's server`,
    );
  }
  const requested = options.workers ?? "auto";
  const workers = requested === "auto"
    ? Math.max(1, navigator.hardwareConcurrency || 1)
    : requested;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `Cannot listen on ${where} with ${
        String(requested)
      } workers: give an integer >= 1 or "auto"`,
    );
  }
  if (Deno.build.os !== "linux") {
    throw new TypeError(
      `Cannot listen on ${where} with workers: they share the port with SO_REUSEPORT, which spreads connections on Linux only, not ${Deno.build.os}`,
    );
  }
  if (
    typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function"
  ) {
    throw new TypeError(
      `Cannot listen on ${where} with workers: they share the port with reusePort, which Deno allows only with --unstable-net (run with --unstable-net, or add "unstable": ["net"] to deno.json)`,
    );
  }
  const gracePeriod = options.gracePeriod ?? DEFAULT_GRACE_PERIOD;
  if (!(gracePeriod >= 0)) {
    throw new RangeError(
      `Cannot use gracePeriod ${gracePeriod}: give milliseconds (>= 0)`,
    );
  }
  const module = String(options.module ?? Deno.mainModule);
  checkReadable(module, where);
  const pool = new Pool(
    module,
    workers,
    options.onRestart ?? defaultOnRestart,
    options.onListening ?? (() => {}),
    options.onMessage ?? (() => {}),
  );
  await pool.begin(address);
  const signal = options.signal;
  if (signal !== undefined) {
    const onAbort = () => {
      pool.shutdown({ gracePeriod }).catch(() => {});
    };
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      pool.finished.then(() => signal.removeEventListener("abort", onAbort));
    }
  }
  return pool;
}

/**
 * A worker loads the program's local modules again, which Deno allows only
 * with read access to them: say so before starting one.
 */
function checkReadable(module: string, where: string): void {
  if (!module.startsWith("file:")) return;
  const path = decodeURIComponent(new URL(module).pathname);
  if (Deno.permissions.querySync({ name: "read", path }).state === "granted") {
    return;
  }
  throw new TypeError(
    `Cannot listen on ${where} with workers: each worker loads ${path} and its local imports again, which Deno allows only with read access to them (run with --allow-read, for their folder at least)`,
  );
}

function defaultOnRestart(
  worker: number,
  reason: unknown,
  delay: number,
): void {
  const why = reason instanceof Error ? reason.message : String(reason);
  console.error(
    `sockit: worker ${worker} stopped (${why}): restarting it in ${delay} ms`,
  );
}
