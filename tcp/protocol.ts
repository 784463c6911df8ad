/**
 * A Twisted-style protocol API: write a {@linkcode Protocol} — what to do
 * when a connection is made, when data (or a frame) arrives, when the
 * connection is lost — and {@linkcode serveProtocol} runs one instance per
 * client, {@linkcode connectProtocol} one for a client connection. The
 * protocol talks back through its {@linkcode Transport}.
 *
 * Methods may be async: each call is awaited before the next read, so a
 * slow protocol slows its peer (backpressure) and calls never overlap.
 *
 * @example The timestamp server: each line comes back as `[ctime] line`
 * ```ts
 * import { connect, serveProtocol } from "@sockit/sockit/tcp";
 * import { lines } from "@sockit/sockit/framing";
 * import { ctime } from "@sockit/sockit/net";
 * import { assertMatch } from "@std/assert";
 *
 * await using server = serveProtocol({ port: 0 }, () => ({
 *   frameReceived(line, transport) {
 *     transport.write(`[${ctime()}] ${new TextDecoder().decode(line)}`);
 *   },
 * }), { codec: lines() });
 *
 * await using conn = await connect(server.addr);
 * await conn.write("hello\n");
 * const reply = new TextDecoder().decode(await conn.readUntil("\n"));
 * assertMatch(reply, /^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] hello\n$/);
 * ```
 *
 * @module
 */
import type { FrameCodec } from "../framing/mod.ts";
import {
  type Address,
  formatAddress,
  type SocketAddress,
  type TcpAddress,
  type UnixAddress,
} from "../net/mod.ts";
import { concat } from "../_internal/std.ts";
import { connect, type ConnectOptions } from "./connect.ts";
import type { Connection } from "./connection.ts";
import type { FramedConnection } from "./framed_connection.ts";
import { listen, type ListenOptions, type Server } from "./listen.ts";

/**
 * What a protocol uses to talk to its peer: Twisted's `ITransport`. Writes
 * are queued and sent in order; `write()` returns at once. With a codec,
 * each `write()` sends one frame.
 *
 * Write errors are not thrown from `write()`: the connection is lost and
 * `connectionLost` gets the error. Writes after `loseConnection()`,
 * `loseWriteConnection()`, `abortConnection()` or the connection's loss
 * are dropped.
 *
 * @example Write, then close once everything is sent
 * ```ts
 * import { connect, serveProtocol, type Transport } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveProtocol({ port: 0 }, () => ({
 *   connectionMade(transport: Transport) {
 *     transport.write("hello ");
 *     transport.writeSequence(["and ", "goodbye"]);
 *     transport.loseConnection(); // sends the queued writes first
 *   },
 * }));
 * await using conn = await connect(server.addr);
 * const text = await new Response(conn.readable).text();
 * assertEquals(text, "hello and goodbye");
 * ```
 */
export interface Transport {
  /**
   * Queues `data` to be sent: bytes, or a string (UTF-8). With a codec,
   * `data` is one frame's payload and is encoded now.
   *
   * @param data What to send.
   * @throws {FrameTooLargeError} Or `DelimiterInPayloadError`, with a
   * codec, if `data` cannot be a frame; nothing is sent.
   */
  write(data: Uint8Array | string): void;
  /**
   * Queues several writes (Twisted's `writeSequence`); with a codec, several
   * frames in one write.
   *
   * @param data What to send, in order.
   * @throws {FrameTooLargeError} Or `DelimiterInPayloadError`, with a
   * codec; nothing is sent.
   */
  writeSequence(data: Iterable<Uint8Array | string>): void;
  /**
   * Waits until everything written so far has been sent, or the connection
   * is lost. Never rejects: a write error goes to `connectionLost`.
   */
  flush(): Promise<void>;
  /**
   * Closes cleanly: stops reading, sends every queued write, closes;
   * `connectionLost(null)` follows (or the write error, if sending fails).
   */
  loseConnection(): void;
  /**
   * Half-closes: sends the queued writes, then FIN (`shutdown("write")`);
   * the peer reads EOF and this side keeps reading.
   */
  loseWriteConnection(): void;
  /**
   * Closes at once, dropping queued writes; `connectionLost` gets a
   * `Deno.errors.ConnectionAborted`.
   */
  abortConnection(): void;
  /** Whether the connection is still open (not yet lost). */
  readonly connected: boolean;
  /** The peer's address (Twisted's `getPeer()`). */
  readonly peer: SocketAddress;
  /** The local address (Twisted's `getHost()`). */
  readonly host: SocketAddress;
}

/**
 * A connection's behaviour, Twisted's `IProtocol`: every method is
 * optional and may be async (it is awaited before anything else happens on
 * the connection). The order is always `connectionMade`, then
 * `dataReceived` or `frameReceived` for each chunk or frame, then
 * `eofReceived` if the peer ended the stream, then `connectionLost` —
 * exactly once.
 *
 * An exception thrown by a method closes the connection at once (queued
 * writes are dropped), goes to `onError`, and is the reason
 * `connectionLost` gets.
 *
 * @example A protocol as a class, as in Twisted
 * ```ts
 * import { connectProtocol, type Protocol, serveProtocol, type Transport } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo implements Protocol {
 *   transport!: Transport;
 *   connectionMade(transport: Transport): void {
 *     this.transport = transport;
 *   }
 *   dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 *
 * class Greeter implements Protocol {
 *   received = "";
 *   connectionMade(transport: Transport): void {
 *     transport.write("hi");
 *     transport.loseWriteConnection(); // the echo server reads EOF
 *   }
 *   dataReceived(data: Uint8Array): void {
 *     this.received += new TextDecoder().decode(data);
 *   }
 * }
 *
 * await using server = serveProtocol({ port: 0 }, () => new Echo());
 * const client = await connectProtocol(server.addr, new Greeter());
 * assertEquals(await client.done, null); // a clean close
 * assertEquals(client.protocol.received, "hi");
 * ```
 */
export interface Protocol {
  /**
   * The connection is open; keep the transport to write later.
   *
   * @param transport The connection's transport.
   */
  connectionMade?(transport: Transport): void | Promise<void>;
  /**
   * Bytes arrived (no codec): one chunk as read, at least one byte, a new
   * array the protocol owns. Chunks do not match the peer's writes.
   *
   * @param data The bytes.
   * @param transport The connection's transport.
   */
  dataReceived?(data: Uint8Array, transport: Transport): void | Promise<void>;
  /**
   * A frame arrived (with a codec).
   *
   * @param frame The frame's payload.
   * @param transport The connection's transport.
   */
  frameReceived?(
    frame: Uint8Array,
    transport: Transport,
  ): void | Promise<void>;
  /**
   * The peer ended its stream (EOF; it may still be reading, as after
   * `shutdown("write")`). The protocol may still write; when this returns
   * (or its promise settles), queued writes are sent and the connection
   * closes. asyncio's `eof_received`.
   *
   * @param transport The connection's transport.
   */
  eofReceived?(transport: Transport): void | Promise<void>;
  /**
   * The connection is closed: `reason` is `null` after a clean close (EOF,
   * or `loseConnection()`), else the error — a reset, a timeout, a framing
   * error, `abortConnection()`, or an exception from this protocol's own
   * methods.
   *
   * @param reason Why the connection ended, or `null`.
   */
  connectionLost?(reason: Error | null): void | Promise<void>;
}

/**
 * Makes the protocol for each connection, Twisted's `Factory`:
 * `buildProtocol(peer)` may return `null` to refuse the client (the
 * connection is closed at once).
 *
 * @example Count clients in the factory
 * ```ts
 * import { connect, type Protocol, type ProtocolFactory, serveProtocol } from "@sockit/sockit/tcp";
 * import type { SocketAddress } from "@sockit/sockit/net";
 * import { assertEquals } from "@std/assert";
 *
 * class Counter implements ProtocolFactory {
 *   clients = 0;
 *   buildProtocol(_peer: SocketAddress): Protocol {
 *     const number = ++this.clients;
 *     return {
 *       connectionMade(transport) {
 *         transport.write(`you are client ${number}`);
 *         transport.loseConnection();
 *       },
 *     };
 *   }
 * }
 *
 * await using server = serveProtocol({ port: 0 }, new Counter());
 * await using conn = await connect(server.addr);
 * assertEquals(await new Response(conn.readable).text(), "you are client 1");
 * ```
 */
export interface ProtocolFactory {
  /**
   * Makes the protocol for a new connection.
   *
   * @param peer The client's address.
   * @returns A protocol, or `null` to close the connection.
   */
  buildProtocol(peer: SocketAddress): Protocol | null;
}

/** Options for {@linkcode serveProtocol}: all of `listen()`'s, and a codec. */
export interface ServeProtocolOptions extends ListenOptions {
  /**
   * Frame the connections: `frameReceived` gets each frame and
   * `transport.write()` sends one. Without it, `dataReceived` gets raw
   * chunks.
   *
   * @default {raw bytes}
   */
  codec?: FrameCodec;
}

/**
 * Options for {@linkcode connectProtocol}: all of `connect()`'s — its
 * `timeout` limits the connect and then each wait for data, after which the
 * connection is lost with `TimeoutError` — and more.
 */
export interface ConnectProtocolOptions extends ConnectOptions {
  /**
   * Frame the connection, as for {@linkcode ServeProtocolOptions.codec}.
   *
   * @default {raw bytes}
   */
  codec?: FrameCodec;
  /**
   * Called with an exception thrown by the protocol's methods.
   *
   * @default {logs to stderr}
   */
  onError?: (error: unknown, conn: Connection) => void;
}

/**
 * A protocol running on a client connection: returned by
 * {@linkcode connectProtocol}. `await using` loses the connection cleanly
 * and waits for `connectionLost`.
 *
 * @example Wait for the end
 * ```ts
 * import { connectProtocol, serveProtocol } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveProtocol({ port: 0 }, () => ({
 *   connectionMade: (t) => t.loseConnection(), // hang up at once
 * }));
 * const client = await connectProtocol(server.addr, {});
 * assertEquals(await client.done, null);
 * assertEquals(client.transport.connected, false);
 * ```
 */
export interface ProtocolConnection<P extends Protocol = Protocol>
  extends AsyncDisposable {
  /** The protocol passed to `connectProtocol`. */
  readonly protocol: P;
  /** Its transport. */
  readonly transport: Transport;
  /**
   * Resolves once `connectionLost` has run, with the reason it got (`null`
   * for a clean close). Never rejects.
   */
  readonly done: Promise<Error | null>;
}

/** Thrown inside a session to mark an exception from the protocol's code. */
class ProtocolFault {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

async function invoke(call: () => void | Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    throw new ProtocolFault(error);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error
    ? error
    : new Error(`Cannot run the protocol: it threw ${String(error)}`, {
      cause: error,
    });
}

const encoder = new TextEncoder();

function describePeer(conn: Connection): string {
  return conn.remoteAddr.transport === "unix"
    ? formatAddress(conn.localAddr)
    : formatAddress(conn.remoteAddr);
}

/** One protocol on one connection: the read loop and the transport. */
class Session {
  readonly #conn: Connection;
  readonly #framed: FramedConnection | null;
  readonly #peer: string;
  /** Aborted to end the read loop: loseConnection, abort, a write error. */
  readonly #stop = new AbortController();
  #writes: Promise<void> = Promise.resolve();
  #writable = true;
  #lost = false;
  #failure: Error | null = null;
  readonly transport: Transport;

  constructor(conn: Connection, codec: FrameCodec | undefined) {
    this.#conn = conn;
    this.#framed = codec === undefined ? null : conn.framed(codec);
    this.#peer = describePeer(conn);
    const isLost = (): boolean => this.#lost;
    this.transport = Object.freeze({
      write: (data: Uint8Array | string): void => this.#write([data]),
      writeSequence: (data: Iterable<Uint8Array | string>): void =>
        this.#write([...data]),
      flush: (): Promise<void> => this.#writes,
      loseConnection: (): void => this.#lose(),
      loseWriteConnection: (): void => this.#loseWrite(),
      abortConnection: (): void => this.#abort(),
      get connected(): boolean {
        return !isLost();
      },
      peer: conn.remoteAddr,
      host: conn.localAddr,
    });
  }

  #write(items: (Uint8Array | string)[]): void {
    if (!this.#writable || items.length === 0) return;
    let sent: Promise<void>;
    if (this.#framed !== null) {
      sent = items.length === 1
        ? this.#framed.send(items[0]!)
        : this.#framed.sendAll(items);
    } else {
      const bytes = items.map((item) =>
        typeof item === "string" ? encoder.encode(item) : item
      );
      sent = bytes.length === 1
        ? this.#conn.write(bytes[0]!)
        : this.#conn.write(concat(bytes));
    }
    this.#track(sent);
  }

  #track(sent: Promise<void>): void {
    this.#writes = sent.then(() => {}, (error) => this.#fail(error));
  }

  #fail(error: unknown): void {
    if (this.#lost || this.#failure !== null) return;
    this.#failure = toError(error);
    this.#writable = false;
    this.#stop.abort();
  }

  #lose(): void {
    if (this.#lost || this.#stop.signal.aborted) return;
    this.#writable = false;
    this.#stop.abort();
  }

  #loseWrite(): void {
    if (!this.#writable) return;
    this.#writable = false;
    this.#track(this.#conn.shutdown("write"));
  }

  #abort(): void {
    if (this.#lost || this.#failure !== null) return;
    this.#failure = new Deno.errors.ConnectionAborted(
      `Cannot use the connection to ${this.#peer}: abortConnection() closed it`,
    );
    this.#writable = false;
    this.#lost = true;
    this.#conn.close();
    this.#stop.abort();
  }

  /**
   * Runs `protocol` to the end and returns the reason `connectionLost` got.
   * Exceptions from the protocol go to `report`.
   */
  async run(
    protocol: Protocol,
    report: (error: unknown) => void,
    onMade?: () => void,
  ): Promise<Error | null> {
    const transport = this.transport;
    let reason: Error | null = null;
    try {
      try {
        await invoke(() => protocol.connectionMade?.(transport));
      } finally {
        onMade?.();
      }
      await this.#readLoop(protocol);
    } catch (error) {
      if (error instanceof ProtocolFault) {
        report(error.error);
        reason = toError(error.error);
      } else {
        reason = toError(error);
      }
    }
    if (reason === null && this.#failure === null) await this.#writes;
    reason ??= this.#failure;
    this.#writable = false;
    this.#lost = true;
    this.#conn.close();
    try {
      await protocol.connectionLost?.(reason);
    } catch (error) {
      report(error);
    }
    return reason;
  }

  async #readLoop(protocol: Protocol): Promise<void> {
    const signal = this.#stop.signal;
    const transport = this.transport;
    const framed = this.#framed;
    const conn = this.#conn;
    while (!signal.aborted) {
      let value: Uint8Array | null;
      try {
        value = framed !== null
          ? await framed.receive({ signal })
          : await conn.read({ signal });
      } catch (error) {
        if (signal.aborted) return; // stopped by the transport
        throw error;
      }
      if (value === null) {
        if (protocol.eofReceived !== undefined) {
          await invoke(() => protocol.eofReceived?.(transport));
        }
        return;
      }
      const chunk = value;
      if (framed !== null) {
        await invoke(() => protocol.frameReceived?.(chunk, transport));
      } else {
        await invoke(() => protocol.dataReceived?.(chunk, transport));
      }
    }
  }
}

function defaultOnError(error: unknown, conn: Connection): void {
  const what = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  console.error(`sockit: protocol error (${describePeer(conn)}): ${what}`);
}

function buildWith(
  factory: ProtocolFactory | ((peer: SocketAddress) => Protocol | null),
  peer: SocketAddress,
): Protocol | null {
  return typeof factory === "function"
    ? factory(peer)
    : factory.buildProtocol(peer);
}

/**
 * Serves a protocol: listens on `address` (TCP `{ hostname, port }`, or a
 * Unix socket `{ path }`) and runs a new protocol from `factory` for each
 * client — Twisted's `reactor.listenTCP(port, factory)`. An exception from
 * a protocol's methods fails only its own connection: it goes to
 * `onError` (by default logged), the connection closes,
 * `connectionLost` gets the error, and the server keeps serving. A
 * factory that throws fails that connection the same way.
 *
 * @param address Where to listen.
 * @param factory A function returning a protocol (given the client's
 * address), or a {@linkcode ProtocolFactory}; `null` refuses the client.
 * @param options `codec` for frames, and everything `listen()` takes:
 * `idleTimeout`, `maxConnections`, `signal`, `onError`, …
 * @returns The running server (`await using` shuts it down gracefully:
 * protocols see EOF, then `connectionLost`); its `addr` is typed by the
 * address given, as for `listen()`.
 * @throws {TypeError} If `factory` is neither a function nor a factory.
 * @throws {Deno.errors.AddrInUse} If the address is taken.
 *
 * @example An echo protocol
 * ```ts
 * import { connect, serveProtocol } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveProtocol({ port: 0 }, () => ({
 *   dataReceived: (data, transport) => transport.write(data),
 * }));
 * await using conn = await connect(server.addr);
 * await conn.write("ping");
 * assertEquals(new TextDecoder().decode(await conn.readExactly(4)), "ping");
 * ```
 */
export function serveProtocol(
  address: TcpAddress,
  factory: ProtocolFactory | ((peer: SocketAddress) => Protocol | null),
  options?: ServeProtocolOptions,
): Server<"tcp">;
/**
 * Serves a protocol on a Unix socket (`{ path }`).
 *
 * @param address The socket file's path.
 * @param factory As for a TCP address.
 * @param options As for a TCP address.
 * @returns The running server.
 */
export function serveProtocol(
  address: UnixAddress,
  factory: ProtocolFactory | ((peer: SocketAddress) => Protocol | null),
  options?: ServeProtocolOptions,
): Server<"unix">;
/**
 * Serves a protocol on a TCP or a Unix address.
 *
 * @param address Where to listen.
 * @param factory As above.
 * @param options As above.
 * @returns The running server.
 */
export function serveProtocol(
  address: Address,
  factory: ProtocolFactory | ((peer: SocketAddress) => Protocol | null),
  options?: ServeProtocolOptions,
): Server;
export function serveProtocol(
  address: Address,
  factory: ProtocolFactory | ((peer: SocketAddress) => Protocol | null),
  options: ServeProtocolOptions = {},
): Server {
  if (
    typeof factory !== "function" &&
    typeof (factory as Partial<ProtocolFactory> | null)?.buildProtocol !==
      "function"
  ) {
    throw new TypeError(
      "Cannot serve a protocol without a factory: give () => protocol or { buildProtocol(peer) }",
    );
  }
  const { codec, ...listenOptions } = options;
  const handler = async (conn: Connection): Promise<void> => {
    const protocol = buildWith(factory, conn.remoteAddr);
    if (protocol === null) return; // refused: the server closes it
    const errors: unknown[] = [];
    await new Session(conn, codec).run(protocol, (error) => {
      errors.push(error);
    });
    // The server reports what the handler throws to onError.
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(
        errors,
        `Cannot run the protocol for ${
          describePeer(conn)
        }: it threw ${errors.length} times`,
      );
    }
  };
  return listen(address, handler, listenOptions);
}

/**
 * Connects to `address` and runs `protocol` on the connection — Twisted's
 * `connectProtocol(endpoint, protocol)`. Resolves once `connectionMade`
 * has returned (if it threw, the connection is already being lost and
 * `done` will have the error); `done` resolves when the connection is
 * lost, with the reason `connectionLost` got.
 *
 * @param address Where to connect: `{ hostname, port }` or `{ path }`.
 * @param protocol The protocol instance to run.
 * @param options `codec`, `onError`, and everything `connect()` takes
 * (`timeout`: the connect, then each wait for data).
 * @returns The running protocol, its transport and `done`.
 * @throws {TimeoutError} If the connect time limit passes.
 * @throws {Deno.errors.ConnectionRefused} If no one listens there.
 * @throws {RangeError} If a timeout is negative.
 *
 * @example Ask the timestamp server
 * ```ts
 * import { connectProtocol, serveProtocol, type Transport } from "@sockit/sockit/tcp";
 * import { lines } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveProtocol({ port: 0 }, () => ({
 *   frameReceived: (line, t) => t.write(`[now] ${new TextDecoder().decode(line)}`),
 * }), { codec: lines() });
 *
 * const replies: string[] = [];
 * const client = await connectProtocol(server.addr, {
 *   connectionMade: (t: Transport) => t.write("ping"),
 *   frameReceived(line: Uint8Array, t: Transport) {
 *     replies.push(new TextDecoder().decode(line));
 *     t.loseConnection();
 *   },
 * }, { codec: lines() });
 * assertEquals(await client.done, null);
 * assertEquals(replies, ["[now] ping"]);
 * ```
 */
export async function connectProtocol<P extends Protocol>(
  address: Address,
  protocol: P,
  options: ConnectProtocolOptions = {},
): Promise<ProtocolConnection<P>> {
  const { codec, onError, ...connectOptions } = options;
  const conn = await connect(address, connectOptions);
  const report = (error: unknown): void => {
    (onError ?? defaultOnError)(error, conn);
  };
  const session = new Session(conn, codec);
  const made = Promise.withResolvers<void>();
  const done = session.run(protocol, report, made.resolve);
  await made.promise;
  const transport = session.transport;
  return {
    protocol,
    transport,
    done,
    async [Symbol.asyncDispose](): Promise<void> {
      transport.loseConnection();
      await done;
    },
  };
}
