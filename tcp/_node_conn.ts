// node:tls over Deno's TCP sockets, and back: `Transport` makes a node
// Duplex of a Deno.Conn for a `node:tls` TLSSocket to run on, and
// `NodeConn` makes that TLSSocket look like the part of a Deno.Conn that
// Connection uses. Private to tcp/.
//
// node:tls and node:stream load on first use (about 20 ms, once), not when
// sockit is imported: plain TCP and Deno's own TLS never load them. They
// come from process.getBuiltinModule(), typed by the runtime, so no import
// names them.
import { after } from "../_internal/timer.ts";

function load() {
  return {
    tls: process.getBuiltinModule("node:tls"),
    stream: process.getBuiltinModule("node:stream"),
  };
}

/** The Node modules the TLS engine uses. */
export type NodeModules = ReturnType<typeof load>;
/** A `node:tls` TLSSocket. */
export type NodeTlsSocket = InstanceType<NodeModules["tls"]["TLSSocket"]>;
/** A `node:stream` Duplex. */
export type NodeDuplex = InstanceType<NodeModules["stream"]["Duplex"]>;

let modules: NodeModules | undefined;

/** Loads `node:tls` and `node:stream` (synchronously: `listen()` is). */
export function nodeModules(): NodeModules {
  return modules ??= load();
}

/**
 * The read buffer of the TCP socket under node:tls: it starts at
 * {@linkcode READ_MIN} (a full TLS record), grows four-fold (to
 * {@linkcode READ_MAX}) when a read fills it, and shrinks back after a read
 * of under {@linkcode READ_SMALL} bytes — so a quiet connection holds
 * 16 KiB, a bulk transfer reads 256 KiB at a time.
 */
const READ_MIN = 16 * 1024;
/** The most bytes one read of the TCP socket under node:tls takes. */
const READ_MAX = 256 * 1024;
/** A read this small takes the buffer back to {@linkcode READ_MIN}. */
const READ_SMALL = 1024;
/**
 * Decrypted bytes a NodeConn holds for its reader before it pauses the
 * TLS socket (and so stops reading the TCP socket); it resumes below a
 * quarter of it.
 */
const HIGH_WATER = 64 * 1024;
/** Nothing: what makes node:tls's engine go on without new input. */
const EMPTY = new Uint8Array(0);
/** How long a closing transport waits for a write in flight (a TLS alert). */
const CLOSE_WAIT = 1000;

/**
 * What node:tls's TLS engine (a TLSSocket's handle, Deno 2.9) offers: it
 * takes encrypted bytes (`readBuffer`) and gives what it encrypted
 * (`drainEncOut`); `_parentWrap` is its wrapper of the Duplex.
 */
interface TlsWrap {
  readBuffer: (chunk: Uint8Array) => void;
  writeBuffer: (request: object, chunk: Uint8Array) => number;
  drainEncOut: () => Uint8Array;
  _parentWrap?: { stream?: unknown; _handle?: unknown } | null;
}

/** A write waiting for the one in flight. */
interface QueuedWrite {
  bytes: Uint8Array;
  callback: (error?: Error | null) => void;
}

/**
 * A node Duplex over a Deno TCP connection, for a TLSSocket to run on.
 *
 * Reads: one socket read at a time into a reused buffer (16 KiB, growing to
 * 256 KiB while reads fill it) — and none while `hold()` is in force
 * (node:tls reads its transport whether or not its own reader pauses: this
 * is where backpressure holds). Once `attach()` has found node:tls's TLS
 * engine, each read goes straight into it (it copies the bytes at once),
 * what it encrypts in answer is written at once, and the next read starts:
 * no copy of the buffer, no stream machinery, no microtask per read.
 * Otherwise (a node:tls this code does not know) each read is a copy
 * pushed into the Duplex, as any stream.
 *
 * Writes: one at a time, in order, straight to the socket (the Duplex's
 * own `write()` is replaced: node:tls's writes skip the Writable's queue);
 * each calls back once Deno has written every byte, and `whenFlushed()` waits
 * for all of them. `end()` sends FIN (`closeWrite`) after the writes;
 * `destroy()` closes — after the write in flight, if any (the TLS alert
 * that explains a refused handshake), for at most a second.
 */
export class Transport {
  /** The Duplex node:tls runs on. */
  readonly duplex: NodeDuplex;
  readonly #conn: Deno.Conn;
  #buffer = new Uint8Array(READ_MIN);
  /** Where reads go once attached: node:tls's TLS engine. */
  #sink: ((chunk: Uint8Array) => void) | null = null;
  /** Takes what the TLS engine encrypted and writes it, once attached. */
  #drain: (() => void) | null = null;
  #held = false;
  /** node asked for data while held: read once released. */
  #wanted = false;
  #reading = false;
  #closed = false;
  /** Writes not yet written: the one in flight and those queued. */
  #unsent = 0;
  readonly #queue: QueuedWrite[] = [];
  #flushWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** The rest of the write in flight, and its callback. */
  #writing: Uint8Array | null = null;
  #writeCallback: ((error?: Error | null) => void) | null = null;
  readonly #onWritten = (n: number) => this.#written(n);
  readonly #onWriteError = (error: Error) => this.#writeFailed(error);
  readonly #onRead = (n: number | null) => this.#received(n);
  readonly #onReadError = (error: unknown) => {
    this.#reading = false;
    this.duplex.destroy(error as Error);
  };

  /**
   * Wraps `conn`.
   *
   * @param conn The TCP connection.
   */
  constructor(conn: Deno.Conn) {
    const { stream } = nodeModules();
    this.#conn = conn;
    // deno-lint-ignore no-this-alias
    const transport = this;
    const duplex = this.duplex = new stream.Duplex({
      allowHalfOpen: true,
      read() {
        transport.#read();
      },
      write(chunk: Uint8Array, _encoding, callback) {
        transport.#send(chunk, callback);
      },
      final(callback) {
        transport.#afterWrites().then(() => conn.closeWrite()).then(
          () => callback(),
          (error) => {
            if (error instanceof Deno.errors.NotConnected) callback();
            else callback(error);
          },
        );
      },
      destroy(error, callback) {
        if (transport.#unsent === 0) transport.#close();
        else {
          const cancel = after(CLOSE_WAIT, () => transport.#close());
          transport.#afterWrites().then(() => {
            cancel();
            transport.#close();
          });
        }
        callback(error);
      },
    });
    // node:tls writes each encrypted chunk with write(chunk, callback), one
    // at a time: straight to the socket, past the Writable's queue. After
    // end() or destroy(), or for anything else, the Writable decides.
    const write = duplex.write;
    duplex.write = function (
      chunk: unknown,
      encoding?: unknown,
      callback?: unknown,
    ): boolean {
      const done = typeof encoding === "function" ? encoding : callback;
      if (
        chunk instanceof Uint8Array && !this.destroyed &&
        !this.writableEnded && !transport.#closed &&
        (done === undefined || typeof done === "function")
      ) {
        transport.#send(
          chunk,
          (done as ((error?: Error | null) => void) | undefined) ?? ignore,
        );
        return true;
      }
      // deno-lint-ignore no-explicit-any
      return (write as any).call(this, chunk, encoding, callback);
    };
    duplex.on("resume", () => {
      if (this.#sink !== null && this.#wanted) {
        this.#wanted = false;
        this.#read();
      }
    });
  }

  /**
   * Hands what the socket reads straight to `socket`'s TLS engine, and
   * writes what it encrypts at once, if node:tls is made as this code knows
   * it (Deno 2.9: the TLSSocket's handle takes encrypted bytes with
   * `readBuffer()` and gives its output with `drainEncOut()`; its wrapper of
   * this Duplex does both through the Duplex otherwise, a copy and a
   * microtask each way). Else reads stay pushes into the Duplex.
   *
   * @param socket The TLSSocket made on {@linkcode Transport.duplex}.
   */
  attach(socket: NodeTlsSocket): void {
    const node = socket as unknown as { _handle?: TlsWrap | null };
    const engine = node._handle;
    const wrap = engine?._parentWrap;
    if (
      engine === null || engine === undefined || wrap === null ||
      wrap === undefined || wrap.stream !== this.duplex ||
      typeof engine.readBuffer !== "function" ||
      typeof engine.drainEncOut !== "function"
    ) {
      return;
    }
    // The handle (while the socket has it), given the wrapper still stands.
    const live = (): TlsWrap | null => {
      const handle = node._handle;
      if (handle === null || handle === undefined) return null;
      return wrap._handle === null || wrap._handle === undefined
        ? null
        : handle;
    };
    this.#sink = (chunk) => {
      const handle = live();
      if (handle === null) return;
      handle.readBuffer(chunk); // copies it, decrypts, emits the clear text
      this.#drain!();
    };
    // The engine's writeBuffer() (a write of one buffer) schedules a
    // microtask that drains it; we drain it ourselves right after.
    const proto = Object.getPrototypeOf(engine) as Partial<TlsWrap> | null;
    if (
      Object.hasOwn(engine, "writeBuffer") &&
      typeof proto?.writeBuffer === "function"
    ) {
      delete (engine as Partial<TlsWrap>).writeBuffer;
    }
    this.#drain = () => {
      const handle = live();
      if (handle === null) return;
      // Each turn hands over what is encrypted, then lets the engine go
      // on (the rest of a long write) and call back a write it finished.
      for (let bytes; (bytes = handle.drainEncOut()).byteLength > 0;) {
        this.#send(bytes, ignore);
        handle.readBuffer(EMPTY);
      }
    };
  }

  /** Whether `attach()` found the TLS engine (reads go straight to it). */
  get attached(): boolean {
    return this.#sink !== null;
  }

  /**
   * Writes what the TLS engine has encrypted and not handed over yet, now
   * (node:tls would do it in a microtask, copying it first).
   */
  flush(): void {
    if (this.#drain !== null && !this.#closed) this.#drain();
  }

  /**
   * Calls `resolve` once every write given so far is written — at once if
   * none is left — or `reject` if the transport closes first.
   */
  whenFlushed(resolve: () => void, reject: (error: Error) => void): void {
    if (this.#unsent === 0) resolve();
    else if (this.#closed) reject(brokenPipe());
    else this.#flushWaiters.push({ resolve, reject });
  }

  /** Stops reading the TCP socket (after the read in flight). */
  hold(): void {
    this.#held = true;
  }

  /** Reads the TCP socket again, if node asked for data meanwhile. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#wanted) {
      this.#wanted = false;
      this.#read();
    }
  }

  #read(): void {
    if (this.#closed || this.#reading) return;
    if (this.#held || (this.#sink !== null && this.duplex.isPaused())) {
      this.#wanted = true;
      return;
    }
    this.#reading = true;
    this.#conn.read(this.#buffer).then(this.#onRead, this.#onReadError);
  }

  #received(n: number | null): void {
    this.#reading = false;
    if (n === null) {
      this.duplex.push(null);
      return;
    }
    const buffer = this.#buffer;
    if (n === buffer.length && n < READ_MAX) {
      this.#buffer = new Uint8Array(n * 4);
    } else if (n < READ_SMALL && buffer.length > READ_MIN) {
      this.#buffer = new Uint8Array(READ_MIN);
    }
    const sink = this.#sink;
    if (sink === null) {
      this.duplex.push(buffer.slice(0, n));
      return;
    }
    if (this.duplex.destroyed) return;
    sink(buffer.subarray(0, n)); // copied at once
    this.#read();
  }

  #send(bytes: Uint8Array, callback: (error?: Error | null) => void): void {
    this.#unsent++;
    if (this.#unsent > 1) {
      this.#queue.push({ bytes, callback });
      return;
    }
    this.#write(bytes, callback);
  }

  #write(bytes: Uint8Array, callback: (error?: Error | null) => void): void {
    this.#writing = bytes;
    this.#writeCallback = callback;
    this.#conn.write(bytes).then(this.#onWritten, this.#onWriteError);
  }

  /** The socket took `n` bytes of the write in flight. */
  #written(n: number): void {
    const bytes = this.#writing!;
    if (n < bytes.length) {
      this.#writing = bytes.subarray(n);
      this.#conn.write(this.#writing).then(
        this.#onWritten,
        this.#onWriteError,
      );
      return;
    }
    const callback = this.#writeCallback!;
    this.#writing = null;
    this.#writeCallback = null;
    this.#unsent--;
    const next = this.#queue.shift();
    if (next !== undefined) this.#write(next.bytes, next.callback);
    else this.#settleFlushed(null);
    callback();
  }

  #writeFailed(error: Error): void {
    const callback = this.#writeCallback!;
    this.#writing = null;
    this.#writeCallback = null;
    this.#unsent--;
    this.#failQueued(error);
    callback(error);
    this.duplex.destroy(error);
  }

  #failQueued(error: Error): void {
    const queued = this.#queue.splice(0);
    this.#unsent -= queued.length;
    for (const { callback } of queued) callback(error);
    this.#settleFlushed(error);
  }

  #settleFlushed(error: Error | null): void {
    const waiters = this.#flushWaiters;
    if (waiters.length === 0) return;
    this.#flushWaiters = [];
    for (const waiter of waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(brokenPipe());
    }
  }

  /** Settles once no write is queued or in flight (never rejects). */
  #afterWrites(): Promise<void> {
    if (this.#unsent === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#flushWaiters.push({ resolve, reject: () => resolve() });
    });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#queue.length > 0 || this.#flushWaiters.length > 0) {
      this.#failQueued(brokenPipe());
    }
    try {
      this.#conn.close();
    } catch { /* closed already */ }
  }
}

function ignore(): void {}

/** A read waiting for data. */
interface PendingRead {
  into: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (error: unknown) => void;
}

/**
 * A node TLSSocket (on a {@linkcode Transport} over a Deno TCP connection) in
 * the shape Connection reads: `read(buffer)` copies from a bounded queue of
 * decrypted chunks (the socket is paused above {@linkcode HIGH_WATER}
 * bytes), `write()` resolves once node has passed the bytes on,
 * `closeWrite()` is `end()` (close_notify, then FIN), `close()` is
 * `destroy()`. Addresses and socket options are the TCP connection's.
 *
 * node:tls calls a write back once it has encrypted the bytes, not once
 * they are sent, and never pushes back: `write()` resolves only when the
 * transport has written everything to the TCP socket, so a writer faster
 * than the network waits (as with a Deno connection) instead of filling
 * memory.
 */
export class NodeConn {
  readonly #socket: NodeTlsSocket;
  readonly #tcp: Deno.TcpConn;
  readonly #transport: Transport;
  readonly #queue: Uint8Array[] = [];
  #head = 0;
  #queued = 0;
  #paused = false;
  #ended = false;
  #error: { error: unknown } | null = null;
  #closed = false;
  #pending: PendingRead | null = null;

  /**
   * Adapts `socket`, running on `tcp`.
   *
   * @param socket A TLSSocket that finished its handshake.
   * @param tcp The TCP connection underneath.
   */
  constructor(
    socket: NodeTlsSocket,
    tcp: Deno.TcpConn,
    transport: Transport,
  ) {
    this.#socket = socket;
    this.#tcp = tcp;
    this.#transport = transport;
    const push = (chunk: Uint8Array) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#pending !== null) this.#fill();
      if (this.#queued >= HIGH_WATER && !this.#paused) {
        this.#paused = true;
        transport.hold();
      }
    };
    if (transport.attached) takeClearText(socket, push);
    socket.on("data", push);
    socket.on("end", () => this.#end(null));
    socket.on("error", (error: unknown) => this.#end({ error }));
    socket.on("close", () => this.#end(null));
  }

  /** The local address (the TCP connection's). */
  get localAddr(): Deno.NetAddr {
    return this.#tcp.localAddr;
  }

  /** The peer's address (the TCP connection's). */
  get remoteAddr(): Deno.NetAddr {
    return this.#tcp.remoteAddr;
  }

  /** Reads decrypted bytes into `into`: how many, or `null` at the end. */
  read(into: Uint8Array): Promise<number | null> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    }
    if (this.#pending !== null) {
      return Promise.reject(new Deno.errors.Busy("a read is in progress"));
    }
    if (this.#queued > 0) return Promise.resolve(this.#take(into));
    if (this.#error !== null) return Promise.reject(this.#error.error);
    if (this.#ended || into.length === 0) {
      return Promise.resolve(this.#ended ? null : 0);
    }
    return new Promise((resolve, reject) => {
      this.#pending = { into, resolve, reject };
    });
  }

  /** Writes `bytes`; resolves with their length once node passed them on. */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    }
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      return Promise.reject(brokenPipe());
    }
    const transport = this.#transport;
    return new Promise((resolve, reject) => {
      const written = () => resolve(bytes.length);
      this.#socket.write(bytes, (error?: Error | null) => {
        if (error) reject(asDenoError(error));
        else transport.whenFlushed(written, reject);
      });
      transport.flush();
    });
  }

  /** Sends close_notify and FIN (`end()`); reading goes on. */
  closeWrite(): Promise<void> {
    const socket = this.#socket;
    if (this.#closed || socket.destroyed || socket.writableFinished) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        socket.off("close", done);
        resolve();
      };
      socket.on("close", done);
      socket.end(done);
    });
  }

  /** Closes at once (`destroy()`); a pending read fails as Deno's do. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#socket.destroy();
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      pending.reject(new Deno.errors.Interrupted("operation canceled"));
    }
  }

  /** Nagle off or on, on the TCP connection. */
  setNoDelay(noDelay?: boolean): void {
    this.#tcp.setNoDelay(noDelay);
  }

  /** Keep-alive on or off, on the TCP connection. */
  setKeepAlive(keepAlive?: boolean): void {
    this.#tcp.setKeepAlive(keepAlive);
  }

  #end(error: { error: unknown } | null): void {
    if (this.#ended || this.#error !== null) return;
    if (error === null) this.#ended = true;
    else this.#error = { error: asDenoError(error.error) };
    const pending = this.#pending;
    if (pending === null || this.#queued > 0) return;
    this.#pending = null;
    if (this.#error !== null) pending.reject(this.#error.error);
    else pending.resolve(null);
  }

  #fill(): void {
    const pending = this.#pending!;
    this.#pending = null;
    pending.resolve(this.#take(pending.into));
  }

  /** Copies queued bytes into `into`; resumes the socket when drained. */
  #take(into: Uint8Array): number {
    let count = 0;
    const queue = this.#queue;
    while (count < into.length && queue.length > 0) {
      const chunk = queue[0]!;
      const n = Math.min(chunk.length - this.#head, into.length - count);
      into.set(chunk.subarray(this.#head, this.#head + n), count);
      count += n;
      this.#head += n;
      if (this.#head === chunk.length) {
        queue.shift();
        this.#head = 0;
      }
    }
    this.#queued -= count;
    if (this.#paused && this.#queued < HIGH_WATER >> 2) {
      this.#paused = false;
      this.#transport.release();
    }
    return count;
  }
}

/** What a TLSSocket's handle (node:tls's engine in Deno 2.9) offers. */
interface ClearTextSource {
  onread?: unknown;
  setOnread?: unknown;
}

/**
 * Has node:tls's engine hand each decrypted chunk to `push` itself, past the
 * TLSSocket's Readable (a Buffer, a push, a `data` event per chunk), if it is
 * made as this code knows it (Deno 2.9: the handle calls `onread` with an
 * ArrayBuffer of the bytes). The end, errors and anything else still go the
 * TLSSocket's way, and what it holds already is taken first, in order.
 */
function takeClearText(
  socket: NodeTlsSocket,
  push: (chunk: Uint8Array) => void,
): void {
  const handle = (socket as unknown as { _handle?: ClearTextSource | null })
    ._handle;
  if (
    handle === null || handle === undefined ||
    typeof handle.onread !== "function" ||
    typeof handle.setOnread !== "function"
  ) {
    return;
  }
  for (let chunk; (chunk = socket.read()) !== null;) push(chunk);
  const original = handle.onread as (this: unknown, ...args: unknown[]) => void;
  const onread = function (this: unknown, ...args: unknown[]): void {
    const [bytes] = args;
    if (bytes instanceof ArrayBuffer && bytes.byteLength > 0) {
      push(new Uint8Array(bytes));
    } else original.apply(this, args);
  };
  handle.onread = onread;
  (handle.setOnread as (f: typeof onread) => void).call(handle, onread);
}

function brokenPipe(): Error {
  return new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
}

/**
 * A node socket error as the Deno error class Connection and its callers
 * know (`ConnectionReset`, `BrokenPipe`); TLS errors and Deno's own errors
 * pass through.
 */
export function asDenoError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof Deno.errors.BadResource) {
    return error;
  }
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case "ECANCELED": // we closed the socket
      return new Deno.errors.Interrupted("operation canceled", {
        cause: error,
      });
    case "ECONNRESET":
      return new Deno.errors.ConnectionReset(error.message, { cause: error });
    case "EPIPE":
    case "ERR_STREAM_DESTROYED":
    case "ERR_STREAM_WRITE_AFTER_END":
      return new Deno.errors.BrokenPipe(error.message, { cause: error });
    default:
      return error;
  }
}
