/**
 * One stdin for a server's workers (`cat --listen --keep-open --workers
 * N`): the primary alone reads it, and each worker's clients get every
 * chunk, as the clients of a single `cat -k` do from its `SharedInput`.
 *
 * The primary holds a `SharedInput` over stdin with one subscription per
 * worker that has clients; a worker holds a `SharedInput` of its own whose
 * source asks the primary for one chunk at a time (`pull`) and waits for
 * the answer (`chunk`, `end` or `error`). A worker asks only when each of
 * its clients wants more, and the primary reads stdin only when every
 * worker with clients has asked: the slowest client anywhere sets the
 * pace, at most one chunk per worker is in flight, and with no client
 * anywhere nothing is read. A worker says `active` when its first client
 * comes and `idle` when its last one leaves, so that a worker without
 * clients holds nobody up; a chunk it asked for just before then waits in
 * its `SharedInput` for its next client, as in a single `cat -k`. The
 * primary answers `active` with `ready` once it has subscribed the worker:
 * a client is served (and logged) only then, so stdin read after its
 * connection line reaches it, however the primary's event loop orders the
 * worker's message and stdin's next chunk.
 *
 * @module
 */
import { SharedInput } from "../relay/mod.ts";

/** Tags these messages among whatever else the workers post. */
const TAG = "sockit:worker-input";

/** What a worker tells the primary. */
type Request = { tag: typeof TAG; type: "active" | "idle" | "pull" };

/** What the primary answers a `pull` (or an `active`: `ready`) with. */
type Answer =
  | { tag: typeof TAG; type: "ready" }
  | { tag: typeof TAG; type: "chunk"; chunk: Uint8Array }
  | { tag: typeof TAG; type: "end" }
  | { tag: typeof TAG; type: "error"; message: string };

function isTagged(data: unknown): data is { tag: string; type: string } {
  return typeof data === "object" && data !== null &&
    (data as { tag?: unknown }).tag === TAG;
}

/** The primary's view of one worker. */
interface WorkerState {
  /** Its subscription to stdin, while it has clients or a read under way. */
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
  /** Whether it has clients. */
  active: boolean;
  /** Whether a read for it is under way. */
  reading: boolean;
}

/**
 * The primary's side: reads `source` (stdin) for the workers, as they ask.
 */
export class WorkerInputFeeder {
  readonly #shared: SharedInput;
  readonly #states = new Map<number, WorkerState>();
  #post: ((worker: number, message: Answer) => void) | null = null;
  /** Answers made before the pool could take them. */
  readonly #queued: Array<[number, Answer]> = [];

  /** Shares `source`, which it locks; nothing is read until a worker asks. */
  constructor(source: ReadableStream<Uint8Array>) {
    this.#shared = new SharedInput(source);
  }

  /**
   * Gives the means to answer the workers (the pool's `postMessage`), once
   * the pool has started; answers made before then go out now.
   */
  attach(post: (worker: number, message: unknown) => void): void {
    this.#post = post;
    for (const [worker, message] of this.#queued.splice(0)) {
      post(worker, message);
    }
  }

  /**
   * Hears a message a worker posted; `false` if it is not one of these.
   */
  receive(worker: number, data: unknown): boolean {
    if (!isTagged(data)) return false;
    const type = (data as Request).type;
    let state = this.#states.get(worker);
    if (state === undefined) {
      state = { reader: null, active: false, reading: false };
      this.#states.set(worker, state);
    }
    if (type === "active") {
      state.active = true;
      state.reader ??= this.#shared.subscribe().getReader();
      this.#send(worker, { tag: TAG, type: "ready" });
    } else if (type === "idle") {
      state.active = false;
      if (!state.reading) this.#unsubscribe(state);
    } else if (type === "pull" && !state.reading) {
      this.#read(worker, state);
    }
    return true;
  }

  /** Forgets a worker that stopped: its successor starts afresh. */
  restarted(worker: number): void {
    const state = this.#states.get(worker);
    if (state === undefined) return;
    this.#states.delete(worker);
    this.#unsubscribe(state);
  }

  /** Stops reading: every worker's input ends. */
  async cancel(): Promise<void> {
    await this.#shared.cancel();
  }

  #read(worker: number, state: WorkerState): void {
    const reader = state.reader ??= this.#shared.subscribe().getReader();
    state.reading = true;
    reader.read().then(({ value, done }) => {
      if (this.#states.get(worker) !== state) return; // restarted meanwhile
      state.reading = false;
      this.#send(
        worker,
        done
          ? { tag: TAG, type: "end" }
          : { tag: TAG, type: "chunk", chunk: value },
      );
      if (done || !state.active) this.#unsubscribe(state);
    }, (error: unknown) => {
      if (this.#states.get(worker) !== state) return;
      state.reading = false;
      this.#send(worker, {
        tag: TAG,
        type: "error",
        message: error instanceof Error ? error.message : String(error),
      });
      this.#unsubscribe(state);
    });
  }

  #send(worker: number, message: Answer): void {
    if (this.#post === null) this.#queued.push([worker, message]);
    else this.#post(worker, message);
  }

  #unsubscribe(state: WorkerState): void {
    const reader = state.reader;
    state.reader = null;
    reader?.cancel().catch(() => {});
  }
}

/** A worker's global scope, as far as this needs it. */
interface WorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: Event) => void): void;
}

/**
 * A worker's side: the primary's stdin, for this worker's clients. Call
 * it in the worker (where `self` is the worker's scope) before the first
 * client comes.
 */
export class WorkerInput {
  readonly #shared: SharedInput;
  readonly #scope: WorkerScope;
  #clients = 0;
  /** Each `active` said and not yet answered `ready`, in order. */
  readonly #activating: Array<() => void> = [];
  /** Resolved once the primary has answered the last `active`. */
  #ready: Promise<void> = Promise.resolve();
  /** The source's pull, waiting for the primary's answer. */
  #waiting: {
    controller: ReadableStreamDefaultController<Uint8Array>;
    resolve: () => void;
  } | null = null;

  constructor(scope: WorkerScope = globalThis as unknown as WorkerScope) {
    this.#scope = scope;
    scope.addEventListener("message", (event) => {
      const data = (event as MessageEvent).data;
      if (isTagged(data)) this.#answer(data as Answer);
    });
    this.#shared = new SharedInput(
      new ReadableStream<Uint8Array>({
        pull: (controller) =>
          new Promise<void>((resolve) => {
            this.#waiting = { controller, resolve };
            this.#request("pull");
          }),
      }, { highWaterMark: 0 }),
    );
  }

  /**
   * A client's input: every chunk of stdin from now on. Give it back with
   * {@linkcode WorkerInput.unsubscribe} when the client is done.
   */
  subscribe(): ReadableStream<Uint8Array> {
    if (this.#clients++ === 0) {
      this.#ready = new Promise((resolve) => this.#activating.push(resolve));
      this.#request("active");
    }
    return this.#shared.subscribe();
  }

  /**
   * Resolves once the primary has subscribed this worker to stdin (at
   * once while it already is): from then on, every chunk it reads reaches
   * the clients subscribed here.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Cancels a client's input. */
  async unsubscribe(input: ReadableStream<Uint8Array>): Promise<void> {
    try {
      await input.cancel();
    } finally {
      if (--this.#clients === 0) this.#request("idle");
    }
  }

  #request(type: Request["type"]): void {
    this.#scope.postMessage({ tag: TAG, type } satisfies Request);
  }

  #answer(answer: Answer): void {
    if (answer.type === "ready") {
      this.#activating.shift()?.();
      return;
    }
    const waiting = this.#waiting;
    if (waiting === null) return; // nothing asked: a predecessor's answer
    this.#waiting = null;
    if (answer.type === "chunk") waiting.controller.enqueue(answer.chunk);
    else if (answer.type === "end") waiting.controller.close();
    else waiting.controller.error(new Error(answer.message));
    waiting.resolve();
  }
}
