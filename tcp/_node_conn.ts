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

/** The most bytes one read of the TCP socket under node:tls takes. */
const TRANSPORT_READ = 64 * 1024;
/**
 * Decrypted bytes a NodeConn holds for its reader before it pauses the
 * TLS socket (and so stops reading the TCP socket); it resumes below a
 * quarter of it.
 */
const HIGH_WATER = 64 * 1024;
/** How long a closing transport waits for a write in flight (a TLS alert). */
const CLOSE_WAIT = 1000;
/** The event a transport emits when Deno has written all it was given. */
const FLUSHED = "sockit:flushed";

/**
 * A node Duplex over a Deno TCP connection, for a TLSSocket to run on:
 * reads pull one socket read at a time — and none while `hold()` is in
 * force (node:tls reads its transport whether or not its own reader
 * pauses: this is where backpressure holds); writes finish when Deno has
 * written every byte (then it emits {@linkcode FLUSHED}); `end()` sends FIN
 * (`closeWrite`); `destroy()` closes — after the write in flight, if any
 * (the TLS alert that explains a refused handshake), for at most a second.
 */
export class Transport {
  /** The Duplex node:tls runs on. */
  readonly duplex: NodeDuplex;
  #held = false;
  /** node asked for data while held: read once released. */
  #wanted = false;
  #closed = false;
  readonly #read: (duplex: NodeDuplex) => void;

  /**
   * Wraps `conn`.
   *
   * @param conn The TCP connection.
   */
  constructor(conn: Deno.Conn) {
    const { stream } = nodeModules();
    const buffer = new Uint8Array(TRANSPORT_READ);
    let writing: Promise<void> | null = null;
    const close = () => {
      if (this.#closed) return;
      this.#closed = true;
      try {
        conn.close();
      } catch { /* closed already */ }
    };
    this.#read = (duplex) => {
      if (this.#closed) return;
      if (this.#held) {
        this.#wanted = true;
        return;
      }
      conn.read(buffer).then(
        (n) => duplex.push(n === null ? null : buffer.slice(0, n)),
        (error) => duplex.destroy(error),
      );
    };
    const read = this.#read;
    this.duplex = new stream.Duplex({
      allowHalfOpen: true,
      read() {
        read(this);
      },
      write(chunk: Uint8Array, _encoding, callback) {
        const sent = writeAll(conn, chunk);
        const settled = writing = sent.then(() => {}, () => {}).then(() => {
          if (writing === settled) writing = null;
        });
        sent.then(() => {
          callback();
          if (this.writableLength === 0) this.emit(FLUSHED);
        }, callback);
      },
      final(callback) {
        conn.closeWrite().then(() => callback(), (error) => {
          if (error instanceof Deno.errors.NotConnected) callback();
          else callback(error);
        });
      },
      destroy(error, callback) {
        if (writing === null) close();
        else {
          const cancel = after(CLOSE_WAIT, close);
          writing.then(() => {
            cancel();
            close();
          });
        }
        callback(error);
      },
    });
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
      this.#read(this.duplex);
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = await conn.write(bytes);
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

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
    socket.on("data", (chunk: Uint8Array) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#pending !== null) this.#fill();
      if (this.#queued >= HIGH_WATER && !this.#paused) {
        this.#paused = true;
        transport.hold();
      }
    });
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
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error?: Error | null) => {
        if (error) reject(asDenoError(error));
        else this.#flushed().then(() => resolve(bytes.length), reject);
      });
    });
  }

  /** Settles once the transport has written everything it was given. */
  #flushed(): Promise<void> {
    const transport = this.#transport.duplex;
    if (transport.writableLength === 0) return Promise.resolve();
    if (transport.destroyed) return Promise.reject(brokenPipe());
    return new Promise((resolve, reject) => {
      const done = () => {
        transport.off("close", gone);
        resolve();
      };
      const gone = () => {
        transport.off(FLUSHED, done);
        reject(brokenPipe());
      };
      transport.once(FLUSHED, done);
      transport.once("close", gone);
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
