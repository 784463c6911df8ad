/**
 * PROXY protocol on accepted connections (private to `tcp/`): the trust
 * check, the bounded header read, and the socket that hands on the bytes
 * after the header with the real client's address.
 *
 * @module
 */
import { MalformedFrameError, TruncatedFrameError } from "../framing/errors.ts";
import {
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../framing/proxy_protocol.ts";
import { formatAddress } from "../net/mod.ts";
import { AddressSet } from "../_internal/cidr.ts";
import { toSocketAddress } from "../_internal/address.ts";
import { carve } from "../_internal/slab.ts";
import { unwatchIdle, watchIdle } from "../_internal/timer.ts";
import { ProxyProtocolError } from "./errors.ts";
import type { ProxyProtocolOptions } from "./listen.ts";

/** The checked `proxyProtocol` options of a server. */
export interface ServerProxy {
  readonly trusted: AddressSet;
  /** Addresses already checked against `trusted` (a few: the proxies). */
  readonly checked: Map<string, boolean>;
  readonly required: boolean;
  readonly version: "v1" | "v2" | "any";
  readonly headerTimeout: number;
  readonly from: string;
}

const DEFAULT_HEADER_TIMEOUT = 5000;
/** A read of the header: a v1 line is at most 107 bytes, v2 headers spill. */
const HEADER_READ = 512;

/** Checks `proxyProtocol` options, naming the option at fault. */
export function serverProxy(
  options: ProxyProtocolOptions,
  where: string,
): ServerProxy {
  const { from } = options;
  if (
    from === undefined || (typeof from !== "string" && !Array.isArray(from))
  ) {
    throw new TypeError(
      `Cannot listen on ${where} with proxyProtocol: give the trusted proxies as proxyProtocol.from (addresses or ADDR/BITS blocks)`,
    );
  }
  let trusted: AddressSet;
  try {
    trusted = AddressSet.parse(from, "trusted proxy");
  } catch (error) {
    throw new TypeError(
      `Cannot listen on ${where} with proxyProtocol: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  if (trusted.size === 0) {
    throw new TypeError(
      `Cannot listen on ${where} with proxyProtocol: proxyProtocol.from lists no trusted proxy`,
    );
  }
  const version = options.version ?? "any";
  if (version !== "v1" && version !== "v2" && version !== "any") {
    throw new TypeError(
      `Cannot listen on ${where} with proxyProtocol version ${
        String(version)
      }: use "v1", "v2" or "any"`,
    );
  }
  const headerTimeout = options.headerTimeout ?? DEFAULT_HEADER_TIMEOUT;
  if (!(headerTimeout > 0)) {
    throw new RangeError(
      `Cannot listen on ${where} with proxyProtocol headerTimeout ${headerTimeout}: give milliseconds (> 0)`,
    );
  }
  return {
    trusted,
    checked: new Map(),
    required: options.required ?? true,
    version,
    headerTimeout,
    from: trusted.blocks.map((block) => block.text).join(","),
  };
}

/** What a connection learned from the PROXY protocol. */
export interface ProxyState {
  /** The header, or `null` for a connection that came without one. */
  readonly header: ProxyHeader | null;
  /** The socket's own peer: the proxy (or a direct client). */
  readonly proxyAddr: Deno.Addr;
}

/** The states of sockets other than a `ProxiedConn` (a TLS one on top). */
const states = new WeakMap<object, ProxyState>();

/** The PROXY state of a socket a `Connection` wraps, if it had one. */
export function proxyStateOf(socket: object): ProxyState | undefined {
  return socket instanceof ProxiedConn ? socket.state : states.get(socket);
}

/** Records `state` for the socket a `Connection` will wrap. */
export function setProxyState(socket: object, state: ProxyState): void {
  states.set(socket, state);
}

/** Whether `hostname` is a trusted proxy of `proxy`, remembered. */
function isTrusted(proxy: ServerProxy, hostname: string): boolean {
  let trusted = proxy.checked.get(hostname);
  if (trusted === undefined) {
    trusted = proxy.trusted.has(hostname);
    // Proxies are few; anyone else is remembered only up to a bound.
    if (proxy.checked.size >= 256) proxy.checked.clear();
    proxy.checked.set(hostname, trusted);
  }
  return trusted;
}

/**
 * An accepted TCP socket after its PROXY header: reads return the bytes
 * that followed the header first, and `remoteAddr` is the client the
 * header names.
 */
class ProxiedConn {
  /** What the header said (a field: a WeakMap entry costs the GC more). */
  readonly state: ProxyState;
  readonly #conn: Deno.TcpConn;
  /** Bytes that came after the header, not yet read. */
  #rest: Uint8Array | null = null;
  /** A read started before the header timeout, and its buffer. */
  #pending: { read: Promise<number | null>; buffer: Uint8Array } | null = null;
  readonly remoteAddr: Deno.Addr;

  constructor(
    conn: Deno.TcpConn,
    rest: Uint8Array | { read: Promise<number | null>; buffer: Uint8Array },
    remoteAddr: Deno.Addr,
    state: ProxyState,
  ) {
    this.state = state;
    this.#conn = conn;
    if (rest instanceof Uint8Array) {
      if (rest.length > 0) this.#rest = rest;
    } else {
      this.#pending = rest;
    }
    this.remoteAddr = remoteAddr;
  }

  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }

  read(into: Uint8Array): Promise<number | null> {
    if (this.#pending === null && this.#rest === null) {
      return this.#conn.read(into);
    }
    return this.#readHeld(into);
  }

  /** Reads what was read past the header (or while waiting for one). */
  async #readHeld(into: Uint8Array): Promise<number | null> {
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      const n = await pending.read;
      if (n === null) return null;
      this.#rest = pending.buffer.subarray(0, n);
    }
    const rest = this.#rest!;
    const n = Math.min(rest.length, into.length);
    into.set(rest.subarray(0, n));
    this.#rest = n === rest.length ? null : rest.subarray(n);
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#conn.write(bytes);
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  close(): void {
    this.#rest = null;
    this.#pending?.read.catch(() => {}); // ended by the close
    this.#conn.close();
  }

  setNoDelay(noDelay?: boolean): void {
    this.#conn.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive?: boolean): void {
    this.#conn.setKeepAlive(keepAlive);
  }

  ref(): void {
    this.#conn.ref();
  }

  unref(): void {
    this.#conn.unref();
  }
}

/**
 * Reads the PROXY header of an accepted connection as `proxy` says, within
 * its header timeout. The server closes connections still waiting here
 * when it shuts down.
 *
 * @returns The socket to serve (its state recorded), or `null` when the
 * connection closed (or reset) before sending a byte — a load balancer's
 * TCP health check, not an error. The connection is closed on `null` and
 * on error.
 * @throws {ProxyProtocolError} If the connection is refused.
 */
export async function readProxyHeader(
  conn: Deno.TcpConn,
  proxy: ServerProxy,
): Promise<Deno.TcpConn | null> {
  const proxyAddr = conn.remoteAddr;
  // Made only for a message: the happy path builds no strings.
  const peer = () => formatAddress(toSocketAddress(proxyAddr));
  const trusted = isTrusted(proxy, (proxyAddr as Deno.NetAddr).hostname);
  if (!trusted && proxy.required) {
    closeQuietly(conn);
    throw new ProxyProtocolError(
      "untrusted",
      peer(),
      `Cannot accept ${peer()}: a PROXY header is required and it is not a trusted proxy (trusted: ${proxy.from}); connect through the proxy, or add its address to proxyProtocol.from (--proxy-from)`,
    );
  }
  const optional = !proxy.required;
  const decoder = new ProxyHeaderDecoder({
    version: proxy.version,
    required: !optional,
  });
  // The deadline is a record on the shared idle wheel, not a timer. When
  // it passes, a required header's wait ends by closing the socket; an
  // optional one's by racing the read, which a silent client's handler
  // then takes over.
  let timedOut = false;
  let expire: ((value: "timeout") => void) | undefined;
  const expired = optional
    ? new Promise<"timeout">((resolve) => expire = resolve)
    : undefined;
  const watch = watchIdle(proxy.headerTimeout, () => {
    timedOut = true;
    if (expire !== undefined) expire("timeout");
    else closeQuietly(conn);
  });
  let result: { header: ProxyHeader | null; rest: Uint8Array } | undefined;
  try {
    while (result === undefined) {
      // From a shared block: no backing store of its own per connection.
      const buffer = carve(HEADER_READ);
      const read = conn.read(buffer);
      let n: number | null | "timeout";
      try {
        n =
          await (expired === undefined ? read : Promise.race([read, expired]));
      } catch (error) {
        if (timedOut) {
          throw new ProxyProtocolError(
            "timeout",
            peer(),
            `Cannot read the PROXY header from ${peer()}: no complete header within ${proxy.headerTimeout} ms (${decoder.bytesRead} bytes received)`,
            { cause: error },
          );
        }
        // Reset before a byte: a load balancer's health check, as a close.
        if (
          decoder.bytesRead === 0 &&
          error instanceof Deno.errors.ConnectionReset
        ) {
          closeQuietly(conn);
          return null;
        }
        throw error;
      }
      if (n === "timeout") {
        if (decoder.bytesRead === 0) {
          // Optional, and silent so far: serve it without a header; its
          // first read is the one in flight.
          const socket = new ProxiedConn(conn, { read, buffer }, proxyAddr, {
            header: null,
            proxyAddr,
          });
          return socket as unknown as Deno.TcpConn;
        }
        read.catch(() => {}); // ended by the close below
        throw new ProxyProtocolError(
          "timeout",
          peer(),
          `Cannot read the PROXY header from ${peer()}: no complete header within ${proxy.headerTimeout} ms (${decoder.bytesRead} bytes received)`,
        );
      }
      if (n === null) {
        if (decoder.bytesRead === 0) {
          closeQuietly(conn);
          return null;
        }
        result = decoder.end();
        break;
      }
      result = decoder.push(buffer.subarray(0, n));
    }
  } catch (error) {
    closeQuietly(conn);
    if (error instanceof ProxyProtocolError) throw error;
    if (error instanceof TruncatedFrameError) {
      throw new ProxyProtocolError(
        "truncated",
        peer(),
        `Cannot read the PROXY header from ${peer()}: the connection ended inside it (${decoder.bytesRead} bytes received)`,
        { cause: error },
      );
    }
    if (error instanceof MalformedFrameError) {
      throw new ProxyProtocolError(
        "malformed",
        peer(),
        `Cannot read the PROXY header from ${peer()}: ${error.reason}: at byte offset ${error.offset}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    unwatchIdle(watch);
  }
  const { header, rest } = result;
  if (header !== null && !trusted) {
    closeQuietly(conn);
    throw new ProxyProtocolError(
      "untrusted",
      peer(),
      `Cannot accept ${peer()}: it sent a PROXY header but is not a trusted proxy (trusted: ${proxy.from}); the connection is closed`,
    );
  }
  const source = header?.command === "proxy" ? header.source : undefined;
  const remoteAddr: Deno.Addr = source !== undefined && "hostname" in source
    ? { transport: "tcp", hostname: source.hostname, port: source.port }
    : proxyAddr;
  const socket = new ProxiedConn(conn, rest, remoteAddr, {
    header,
    proxyAddr,
  });
  return socket as unknown as Deno.TcpConn;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
