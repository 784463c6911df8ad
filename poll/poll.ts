/**
 * {@linkcode poll} and {@linkcode Poller}: the `select`/`poll` idea for async
 * code — one `for await` loop over the events of many sockets, as Python's
 * `select.poll()` gives one loop over many file descriptors.
 *
 * A raw {@linkcode Connection} gives `data` events, a
 * {@linkcode FramedConnection} gives `frame` events; both give `eof` and
 * `error` (after which the source leaves the loop), and a `timeout` event
 * comes when `timeout` milliseconds pass with nothing else.
 *
 * Each source has at most one read in flight, and the next read starts only
 * when the loop asks for the next event, so a slow loop slows its peers
 * (backpressure) and memory stays bounded: at most one chunk or frame per
 * source is held. Nothing read is ever lost: data read for a source that is
 * removed (or whose loop ends with `break`) before it was delivered is
 * handed back — the next `read()`/`receive()` of that source returns it.
 *
 * @example The classic select() echo server: one loop serves every client
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { Poller } from "@sockit/sockit/poll";
 * import { assertEquals } from "@std/assert";
 *
 * const poller = new Poller();
 * // The handler returns add()'s promise: the server keeps each connection
 * // open for as long as the poller serves it.
 * const server = listen({ port: 0 }, (conn) => poller.add(conn));
 * const loop = (async () => {
 *   for await (const event of poller) {
 *     if (event.type === "data") await event.source.write(event.data);
 *   }
 * })();
 *
 * await using a = await connect(server.addr);
 * await using b = await connect(server.addr);
 * await a.write("from a");
 * await b.write("from b");
 * assertEquals(new TextDecoder().decode(await b.readExactly(6)), "from b");
 * assertEquals(new TextDecoder().decode(await a.readExactly(6)), "from a");
 *
 * await server.shutdown(); // each client reads EOF; the poller sees eof
 * poller.close();
 * await loop;
 * ```
 *
 * @module
 */
import type { SocketAddress } from "../net/mod.ts";
import { Connection, FramedConnection } from "../tcp/mod.ts";
import type { DatagramSocket } from "../udp/mod.ts";
import { connectionHooks } from "../_internal/hooks.ts";

/**
 * A source {@linkcode poll} can watch: a raw or a framed connection, or a
 * datagram socket (`udp.bind()`).
 */
export type PollSource = Connection | FramedConnection | DatagramSocket;

/**
 * One event of a {@linkcode poll} loop; switch on `type`:
 *
 * - `"data"`: bytes arrived on a raw `Connection` — what one `read()`
 *   returned (at least one byte; a new array you own).
 * - `"datagram"`: a datagram arrived on a datagram socket, with its sender
 *   (Python's `recvfrom` pair).
 * - `"frame"`: a frame arrived on a `FramedConnection`.
 * - `"eof"`: the peer closed (or shut down writing, or the server is
 *   shutting down): the source reads EOF and has left the loop. Close it
 *   when you are done with it.
 * - `"error"`: reading from the source failed — a reset, an idle or read
 *   timeout, a framing error, a closed connection — and the source has
 *   left the loop; except for a datagram socket's `DatagramTooLargeError`
 *   (one oversized datagram dropped), after which the socket stays in the
 *   loop.
 * - `"timeout"`: `timeout` milliseconds passed with no other event
 *   (Python's `poll(timeout)` returning `[]`).
 *
 * @example Narrowing on type
 * ```ts
 * import type { PollEvent } from "@sockit/sockit/poll";
 * import { assertEquals } from "@std/assert";
 *
 * function describe(event: PollEvent): string {
 *   switch (event.type) {
 *     case "data": return `${event.data.length} bytes`;
 *     case "datagram": return `a datagram of ${event.data.length}`;
 *     case "frame": return `a frame of ${event.frame.length}`;
 *     case "eof": return "end";
 *     case "error": return event.error.message;
 *     case "timeout": return "quiet";
 *   }
 * }
 * assertEquals(describe({ type: "timeout" }), "quiet");
 * ```
 */
export type PollEvent =
  | {
    /** Bytes arrived on a raw connection. */
    readonly type: "data";
    /** The connection the bytes came from. */
    readonly source: Connection;
    /** The bytes (at least one; a new array you own). */
    readonly data: Uint8Array;
  }
  | {
    /** A datagram arrived on a datagram socket. */
    readonly type: "datagram";
    /** The socket it arrived on. */
    readonly source: DatagramSocket;
    /** The datagram's bytes. */
    readonly data: Uint8Array;
    /** Who sent it (Python's `recvfrom` address). */
    readonly from: SocketAddress<"udp" | "unixpacket">;
  }
  | {
    /** A frame arrived on a framed connection. */
    readonly type: "frame";
    /** The framed connection the frame came from. */
    readonly source: FramedConnection;
    /** The frame's payload. */
    readonly frame: Uint8Array;
  }
  | {
    /** The source reached its end and left the loop. */
    readonly type: "eof";
    /** The source that ended; no longer watched. */
    readonly source: PollSource;
  }
  | {
    /** Reading from the source failed. */
    readonly type: "error";
    /** The source that failed; no longer watched (but see above). */
    readonly source: PollSource;
    /** What went wrong. */
    readonly error: Error;
  }
  | {
    /** Nothing happened for `timeout` milliseconds. */
    readonly type: "timeout";
  };

/** Options for {@linkcode poll} and {@linkcode Poller}. */
export interface PollOptions {
  /**
   * Yield `{ type: "timeout" }` when this many milliseconds pass with no
   * event, then keep waiting: Python's `poll(timeout)` returning `[]`.
   *
   * @default {no timeout events}
   */
  timeout?: number;
  /**
   * Ends the loop when aborted, as {@linkcode Poller.close} does: pending
   * reads are handed back to their sources.
   */
  signal?: AbortSignal;
  /**
   * {@linkcode Poller} only: end the loop — and close the poller — when no
   * sources remain. A long-lived poller (a server adding connections as
   * they come) keeps waiting instead, until `close()` or the signal;
   * {@linkcode poll} always ends when empty.
   *
   * @default {false for a Poller}
   */
  endWhenEmpty?: boolean;
}

/** A timeout event: the one kind that carries nothing. */
type TimeoutEvent = Extract<PollEvent, { type: "timeout" }>;

/**
 * How the poller reads one kind of source: the source's own read method
 * and the events its values make. Internal: a new kind of source (a
 * datagram socket: `receive()` giving a datagram and its sender, never
 * `null`) joins by adding one of these and its event type.
 *
 * The contract of `method`, as `Connection.read`,
 * `FramedConnection.receive` and `DatagramSocket.receive` keep it: called
 * with `{ signal }`, it resolves to the next value, or `null` at the end;
 * when the signal aborts it rejects with the signal's reason and keeps
 * whatever it had not yet returned for its next call. (For datagrams, an
 * error that leaves the socket usable, such as `DatagramTooLargeError`,
 * should become an event that keeps the source, not an `error` event.)
 */
interface Pollable {
  /** The name of the source's read method (shadowed to hand values back). */
  readonly method: "read" | "receive";
  /** Options passed to the method besides `signal`. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Makes the event for a value the method returned. */
  event(source: PollSource, value: unknown): PollEvent;
  /** Whether the source stays in the loop after this error. */
  keeps?(error: unknown): boolean;
}

/** A stream source: `null` is its end (`eof`), any other value its bytes. */
function streamPollable(
  method: Pollable["method"],
  event: (source: PollSource, bytes: Uint8Array) => PollEvent,
): Pollable {
  return {
    method,
    event: (source, value) =>
      value === null
        ? { type: "eof", source }
        : event(source, value as Uint8Array),
  };
}

const RAW: Pollable = streamPollable("read", (source, data) => ({
  type: "data",
  source: source as Connection,
  data,
}));

const FRAMED: Pollable = streamPollable("receive", (source, frame) => ({
  type: "frame",
  source: source as FramedConnection,
  frame,
}));

const DATAGRAM: Pollable = {
  method: "receive",
  options: { timeout: null }, // the poll loop has its own timeout
  event: (source, value) => {
    const { data, from } = value as {
      data: Uint8Array;
      from: SocketAddress<"udp" | "unixpacket">;
    };
    return {
      type: "datagram",
      source: source as DatagramSocket,
      data,
      from,
    };
  },
  keeps: (error) =>
    error instanceof Error && error.name === "DatagramTooLargeError",
};

function pollableOf(source: unknown): Pollable {
  if (source instanceof FramedConnection) return FRAMED;
  if (source instanceof Connection) return RAW;
  if (
    typeof source === "object" && source !== null &&
    typeof (source as { receive?: unknown }).receive === "function"
  ) {
    return DATAGRAM;
  }
  throw new TypeError(
    `Cannot poll ${
      source === null ? "null" : typeof source
    }: give a Connection, a FramedConnection or a datagram socket`,
  );
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The abort reason of a read the poller gives up: never seen by users. */
const RELEASED: Error = new Error("The poller released this read");

type ReadMethod = (options?: { signal?: AbortSignal }) => Promise<unknown>;

/**
 * Hands a read the poller started but did not deliver back to its source.
 * A raw `Connection` takes it back itself: every way of reading it
 * (`read`, `readInto`, `readExactly`, `readUntil`, `for await`,
 * `readable`, `framed()`) waits for that read and sees its bytes or its
 * error first. For another source, until its next read, its read method
 * (`method`) is shadowed on the instance by one that first waits for that
 * read, then returns its value or throws its error — or, if the poller's
 * abort stopped it before it got anything, reads on as usual (the source
 * kept the data).
 */
function handBack(
  source: PollSource,
  method: "read" | "receive",
  read: Promise<Outcome>,
): void {
  if (source instanceof Connection) {
    connectionHooks.handBack(
      source,
      read.then((outcome) =>
        outcome.ok
          ? { value: outcome.value as Uint8Array | null }
          : outcome.error === RELEASED
          ? null
          : { error: outcome.error }
      ),
    );
    return;
  }
  const target = source as unknown as Record<string, ReadMethod>;
  const inner = target[method]!;
  const shadow: ReadMethod = async (options) => {
    if (Object.getOwnPropertyDescriptor(target, method)?.value === shadow) {
      delete target[method];
    }
    const outcome = await read;
    if (outcome.ok) return outcome.value;
    if (outcome.error !== RELEASED) throw outcome.error;
    return await inner.call(source, options);
  };
  Object.defineProperty(target, method, {
    value: shadow,
    configurable: true,
    writable: true,
    enumerable: false,
  });
}

function toError(error: unknown): Error {
  return error instanceof Error
    ? error
    : new Error(`Cannot read: ${String(error)}`, { cause: error });
}

interface Entry {
  readonly source: PollSource;
  readonly pollable: Pollable;
  /** The read in flight, or settled and not yet delivered. */
  read: Promise<Outcome> | null;
  controller: AbortController | null;
  outcome: Outcome | null;
  readonly left: PromiseWithResolvers<void>;
}

const TIMEOUT_EVENT: TimeoutEvent = Object.freeze({ type: "timeout" });

/**
 * A set of sources and one loop over their events: Python's
 * `select.poll()` object for async code. `add()` and `remove()` work at any
 * time, also from inside the loop; iterate with `for await`.
 *
 * - Events come in the order their reads completed. Each source has at most
 *   one read in flight, started when the loop asks for the next event, so a
 *   slow loop applies backpressure.
 * - After `eof` or `error` a source has left the poller; closing it is up
 *   to you.
 * - Leaving the loop with `break` (or `return`, or an exception) pauses the
 *   poller: reads in flight are stopped and anything read but not delivered
 *   is handed back to its source, whose next `read()`/`receive()` returns
 *   it. The sources stay registered; a new `for await` resumes. Only one
 *   loop may iterate at a time.
 * - `remove(source)` hands back in the same way.
 * - The loop ends on `close()`, on `signal`, or — with `endWhenEmpty` —
 *   when no sources remain (the poller is then closed).
 *
 * A source must not be read by anyone else while it is in a poller.
 *
 * @example A chat room: what one client says, the others hear
 * ```ts
 * import { connect, type FramedConnection, listen } from "@sockit/sockit/tcp";
 * import { Poller } from "@sockit/sockit/poll";
 * import { lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const poller = new Poller();
 * const room = new Set<FramedConnection>();
 * const server = listen({ port: 0 }, async (conn) => {
 *   const framed = conn.framed(lines());
 *   await framed.send("welcome");
 *   room.add(framed);
 *   await poller.add(framed); // until the poller sees its eof or error
 * });
 * const loop = (async () => {
 *   for await (const event of poller) {
 *     if (event.type === "frame") {
 *       for (const other of room) {
 *         if (other !== event.source) await other.send(event.frame);
 *       }
 *     } else if (event.type === "eof" || event.type === "error") {
 *       room.delete(event.source as FramedConnection);
 *     }
 *   }
 * })();
 *
 * const alice = (await connect(server.addr)).framed(lines());
 * const bob = (await connect(server.addr)).framed(lines());
 * await alice.receive(); // welcome: alice is in the room
 * await bob.receive(); // and so is bob
 * await alice.send("hi bob");
 * assertEquals(new TextDecoder().decode((await bob.receive())!), "hi bob");
 *
 * alice.connection.close();
 * bob.connection.close();
 * await server.shutdown();
 * poller.close();
 * await loop;
 * ```
 */
export class Poller implements AsyncIterable<PollEvent>, Disposable {
  readonly #entries = new Map<PollSource, Entry>();
  /** Entries whose read settled, in the order they settled. */
  readonly #ready = new Set<Entry>();
  /** Entries that need a read started. */
  readonly #idle = new Set<Entry>();
  readonly #timeout: number | undefined;
  readonly #endWhenEmpty: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.close();
  #wake: (() => void) | null = null;
  #iterating = false;
  #closed = false;

  /**
   * Creates a poller.
   *
   * @param sources Sources to watch from the start.
   * @param options Timeout, signal, and whether to end when empty.
   * @throws {TypeError} If a source is not a connection.
   * @throws {RangeError} If `timeout` is negative or not a number.
   */
  constructor(
    sources: Iterable<PollSource> = [],
    options: PollOptions = {},
  ) {
    const { timeout, signal } = options;
    if (timeout !== undefined && !(timeout >= 0)) {
      throw new RangeError(
        `Cannot poll with a timeout of ${timeout}: give milliseconds (>= 0)`,
      );
    }
    this.#timeout = timeout;
    this.#endWhenEmpty = options.endWhenEmpty ?? false;
    for (const source of sources) void this.add(source);
    this.#signal = signal;
    if (signal?.aborted) this.close();
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** How many sources are watched. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `close()` has been called (or the signal aborted). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether `source` is watched.
   *
   * @param source A connection.
   * @returns `true` if it is in this poller.
   */
  has(source: PollSource): boolean {
    return this.#entries.has(source);
  }

  /**
   * Starts watching `source` (nothing happens if it is already watched).
   *
   * @param source A `Connection` (data events) or `FramedConnection`
   * (frame events).
   * @returns A promise that resolves when the source leaves the poller:
   * once its `eof` or `error` event has been handled (the loop asked for
   * the next event or ended), or on `remove()` or `close()`. It never
   * rejects. A server handler can return it, so the server keeps each
   * connection open for as long as the poller serves it.
   * @throws {TypeError} If `source` is not a connection, or the poller is
   * closed.
   */
  add(source: PollSource): Promise<void> {
    const pollable = pollableOf(source);
    if (this.#closed) {
      throw new TypeError("Cannot add a source to a closed Poller");
    }
    const known = this.#entries.get(source);
    if (known !== undefined) return known.left.promise;
    const entry: Entry = {
      source,
      pollable,
      read: null,
      controller: null,
      outcome: null,
      left: Promise.withResolvers<void>(),
    };
    this.#entries.set(source, entry);
    this.#idle.add(entry);
    this.#notify();
    return entry.left.promise;
  }

  /**
   * Stops watching `source`. If its read was in flight it is stopped, and
   * whatever it read (data, a frame, EOF or an error) but the loop had not
   * delivered is handed back: the source's next `read()`/`receive()`
   * returns it. The source is not closed.
   *
   * @param source A connection.
   * @returns `true` if it was watched.
   */
  remove(source: PollSource): boolean {
    const entry = this.#entries.get(source);
    if (entry === undefined) return false;
    this.#entries.delete(source);
    this.#idle.delete(entry);
    this.#release(entry);
    entry.left.resolve();
    this.#notify();
    return true;
  }

  /**
   * Removes every source (handing back what was read, as `remove()` does)
   * and ends the loop. Idempotent; the sources stay open.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const source of [...this.#entries.keys()]) this.remove(source);
    this.#notify();
  }

  /** Closes the poller (`using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The events, as they come. Only one loop may iterate at a time.
   *
   * @returns An async iterator of events.
   * @throws {TypeError} From the first `next()`, if another loop is
   * iterating.
   */
  [Symbol.asyncIterator](): AsyncIterator<PollEvent> {
    return this.#events();
  }

  async *#events(): AsyncGenerator<PollEvent, void, undefined> {
    if (this.#iterating) {
      throw new TypeError(
        "Cannot iterate a Poller from two loops at once: end the first loop",
      );
    }
    this.#iterating = true;
    let departed: Entry | null = null;
    let deadline: number | null = null;
    try {
      for (;;) {
        if (this.#closed) return;
        if (this.#endWhenEmpty && this.#entries.size === 0) return;
        for (const entry of this.#idle) this.#start(entry);
        this.#idle.clear();
        const entry: Entry | undefined = this.#ready.values().next().value;
        if (entry === undefined) {
          if (this.#timeout !== undefined) {
            deadline ??= performance.now() + this.#timeout;
          }
          if (await this.#sleep(deadline)) {
            deadline = null;
            yield TIMEOUT_EVENT;
          }
          continue;
        }
        this.#ready.delete(entry);
        const outcome = entry.outcome!;
        entry.read = null;
        entry.controller = null;
        entry.outcome = null;
        const event = outcome.ok
          ? entry.pollable.event(entry.source, outcome.value)
          : {
            type: "error" as const,
            source: entry.source,
            error: toError(outcome.error),
          };
        const keep = !outcome.ok && entry.pollable.keeps?.(outcome.error);
        if (!keep && (event.type === "eof" || event.type === "error")) {
          this.#entries.delete(entry.source);
          departed = entry;
        } else {
          this.#idle.add(entry); // read on once the loop asks for more
        }
        deadline = null;
        yield event;
        departed?.left.resolve();
        departed = null;
      }
    } finally {
      departed?.left.resolve();
      this.#iterating = false;
      if (this.#endWhenEmpty && this.#entries.size === 0) this.close();
      for (const entry of this.#entries.values()) {
        this.#release(entry);
        this.#idle.add(entry);
      }
    }
  }

  #start(entry: Entry): void {
    const controller = new AbortController();
    const method = (entry.source as unknown as Record<string, ReadMethod>)[
      entry.pollable.method
    ]!;
    let started: Promise<unknown>;
    try {
      started = method.call(entry.source, {
        ...entry.pollable.options,
        signal: controller.signal,
      });
    } catch (error) {
      started = Promise.reject(error);
    }
    const read = started.then(
      (value): Outcome => ({ ok: true, value }),
      (error): Outcome => ({ ok: false, error }),
    );
    entry.read = read;
    entry.controller = controller;
    void read.then((outcome) => {
      if (entry.read !== read) return; // released: handed back instead
      entry.outcome = outcome;
      this.#ready.add(entry);
      this.#notify();
    });
  }

  /** Stops the entry's read and hands back what it got. */
  #release(entry: Entry): void {
    const read = entry.read;
    if (read === null) return;
    entry.read = null;
    entry.outcome = null;
    this.#ready.delete(entry);
    entry.controller?.abort(RELEASED);
    entry.controller = null;
    handBack(entry.source, entry.pollable.method, read);
  }

  #notify(): void {
    this.#wake?.();
  }

  /** Waits for a change; `true` if the deadline passed first. */
  #sleep(deadline: number | null): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (deadline !== null) {
        timer = setTimeout(() => {
          this.#wake = null;
          resolve(true);
        }, Math.max(0, deadline - performance.now()));
      }
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(false);
      };
    });
  }
}

/**
 * One loop over the events of several connections — Python's
 * `select.poll()` with everything registered, as an async iterable. The
 * loop ends when every source has reached `eof` or `error` (or been
 * removed), or when `signal` aborts. The result is a {@linkcode Poller}, so
 * sources can be added and removed while it runs.
 *
 * @param sources Raw connections (data events) and framed connections
 * (frame events).
 * @param options `timeout` for timeout events, `signal` to stop.
 * @returns The poller, to iterate with `for await`.
 * @throws {TypeError} If a source is not a connection.
 * @throws {RangeError} If `timeout` is negative or not a number.
 *
 * @example Read a raw and a framed connection in one loop
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { poll } from "@sockit/sockit/poll";
 * import { lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, (conn) => conn.write("one\ntwo\n"));
 * await using raw = await connect(server.addr);
 * await using other = await connect(server.addr);
 * const framed = other.framed(lines());
 *
 * let rawBytes = 0;
 * const frames: string[] = [];
 * let ended = 0;
 * for await (const event of poll([raw, framed])) {
 *   if (event.type === "data") rawBytes += event.data.length;
 *   if (event.type === "frame") frames.push(new TextDecoder().decode(event.frame));
 *   if (event.type === "eof") ended++;
 * }
 * // The loop ended when both reached EOF.
 * assertEquals([rawBytes, frames, ended], [8, ["one", "two"], 2]);
 * ```
 */
export function poll(
  sources: Iterable<PollSource>,
  options: PollOptions = {},
): Poller {
  return new Poller(sources, { ...options, endWhenEmpty: true });
}
