/**
 * {@linkcode relayDatagrams}: netcat's UDP mode. Each line of an input
 * stream goes out as one datagram, and each datagram that arrives is
 * written to an output stream as one line (text or hex), both ways at
 * once. `udp`'s `bindClient()` binds the socket a client needs to talk to
 * a given peer.
 *
 * UDP has no connection and no end of stream: a client relay only prints
 * datagrams from its peer (unless told to take them from anyone, for
 * broadcasts), a server relay answers whoever sent the last datagram, and
 * a relay ends at the end of its input only when asked to
 * (`noHalfClose`, `sendOnly`) — otherwise at its idle timeout or signal.
 * Given a target address instead of streams, {@linkcode relayDatagrams}
 * forwards every sender's datagrams there, each sender (a flow) through a
 * socket of its own so that the answers find their way back: socat's
 * `UDP-LISTEN:…,fork UDP:…`.
 *
 * @example Ask a UDP server, print its answer
 * ```ts
 * import { bind, bindClient, serveDatagrams } from "@sockit/sockit/udp";
 * import { relayDatagrams } from "@sockit/sockit/relay";
 * import { assertEquals } from "@std/assert";
 *
 * using server = bind({ port: 0 });
 * await using _serving = serveDatagrams(server, ({ data }) => data.toReversed());
 * let out = "";
 * const result = await relayDatagrams(bindClient(server.addr), {
 *   readable: ReadableStream.from([new TextEncoder().encode("abc\n")]),
 *   writable: new WritableStream({
 *     write: (chunk) => void (out += new TextDecoder().decode(chunk)),
 *   }),
 * }, { to: server.addr, idleTimeout: 200 });
 * assertEquals(out, "cba\n");
 * assertEquals([result.reason, result.datagramsSent, result.datagramsReceived], [
 *   "idle-timeout",
 *   1,
 *   1,
 * ]);
 * ```
 *
 * @module
 */
import type { Address, SocketAddress } from "../net/mod.ts";
import { checkFormat, formatFrame } from "./_format.ts";
import { isPeer, relayFlows } from "./_flows.ts";
import {
  checkRelayOptions,
  InputLines,
  openStreams,
  pumpAll,
  watchRelayEnds,
} from "./_streams.ts";
import type { RelayEndReason, RelayStreams } from "./stream.ts";
import { type DatagramSocket, DatagramTooLargeError } from "../udp/mod.ts";

/** Options for {@linkcode relayDatagrams}. */
export interface DatagramRelayOptions {
  /**
   * Where each input line goes. Without it, lines go to whoever sent the
   * last datagram that was accepted (a server answering its client); input
   * waits until one has arrived.
   *
   * @default {the sender of the last datagram}
   */
  to?: Address | SocketAddress;
  /**
   * Which datagrams to accept: `"peer"`, only those from `to` (its port,
   * and its address when `to` is an IP address rather than a host name),
   * as a connected UDP socket would; `"any"`, all of them (replies to a
   * broadcast come from many hosts). The others are dropped and counted in
   * `ignored`.
   *
   * @default {"peer" with `to`, else "any"}
   */
  acceptFrom?: "peer" | "any";
  /**
   * How each datagram is written: `"text"` (its bytes, then `\n` unless it
   * ends with one) or `"hex"`.
   *
   * @default {"text"}
   */
  output?: "text" | "hex";
  /**
   * End when the input ends, instead of receiving on until the idle
   * timeout or the signal.
   *
   * @default {false}
   */
  noHalfClose?: boolean;
  /**
   * Only send: datagrams received are not written to the output (they
   * still tell a server whom to answer), and the relay ends with the input.
   *
   * @default {false}
   */
  sendOnly?: boolean;
  /**
   * Only receive: the input is never read.
   *
   * @default {false}
   */
  recvOnly?: boolean;
  /**
   * End when no datagram and no input has moved for this many
   * milliseconds (reason `"idle-timeout"`). With a target: close a flow
   * when no datagram has moved either way on it for this long.
   *
   * @default {no limit; with a target, 60000 per flow}
   */
  idleTimeout?: number;
  /**
   * Aborts the relay: it closes the socket and rejects with the reason.
   * With a target, aborting is how the relay ends: it closes every flow
   * and resolves with reason `"stopped"`.
   */
  signal?: AbortSignal;
  /**
   * With a target: the most flows (senders) relayed at once. A datagram
   * from a new sender while this many flows are open is dropped and
   * counted in `ignored`.
   *
   * @default {1024}
   */
  maxFlows?: number;
  /**
   * With a target: called when a flow ends, with its sender, why it ended
   * (its idle timeout; `"stopped"` when the relay ended; `"error"`, with
   * the error, when its socket failed), how long it lasted in milliseconds
   * and its counts: `Received` from the sender (and sent on to the
   * target), `Sent` back to it, `ignored` on its socket (not from the
   * target, or too large).
   *
   * @default {none}
   */
  onFlowEnd?: (flow: {
    peer: SocketAddress;
    reason: "idle-timeout" | "stopped" | "error";
    error?: unknown;
    duration: number;
    datagramsSent: number;
    datagramsReceived: number;
    bytesSent: number;
    bytesReceived: number;
    ignored: number;
  }) => void;
  /**
   * Called with each datagram sent (after sending) and each one accepted
   * (before it is written), with the peer's address.
   *
   * @default {none}
   */
  onTraffic?: (
    direction: "sent" | "received",
    bytes: Uint8Array,
    peer: Address | SocketAddress,
  ) => void;
}

/** How a datagram relay ended: returned by {@linkcode relayDatagrams}. */
export interface DatagramRelayResult {
  /**
   * Why it ended: `"input-ended"` or `"idle-timeout"`; `"stopped"` for a
   * relay to a target, which its signal ends.
   */
  reason: Extract<RelayEndReason, "input-ended" | "idle-timeout" | "stopped">;
  /** Datagrams sent: one per input line. */
  datagramsSent: number;
  /** Datagrams accepted (and written to the output unless `sendOnly`). */
  datagramsReceived: number;
  /** Payload bytes sent. */
  bytesSent: number;
  /** Payload bytes of the datagrams accepted. */
  bytesReceived: number;
  /** Datagrams dropped: from another sender than `to`, or too large. */
  ignored: number;
}

/**
 * Relays between a datagram socket and a pair of streams: each line of
 * `streams.readable` (ended by `\n` or `\r\n`; a last line without one
 * counts too; an empty line is an empty datagram) is sent as one datagram,
 * and each datagram accepted is written to `streams.writable` as one line.
 * Each direction waits for its last datagram or line to be written before
 * taking the next (backpressure).
 *
 * It ends with the input when `noHalfClose` or `sendOnly` is set
 * (`"input-ended"`), when nothing moved for `idleTimeout`
 * (`"idle-timeout"`), or rejects with the signal's reason or an error (a
 * line too long for one datagram is a `FrameTooLargeError` or
 * `DatagramTooLargeError`). It closes the socket when it ends, and
 * releases its locks on the streams without closing them. A datagram too
 * large for the socket is dropped and counted in `ignored`.
 *
 * Given a target address instead of streams, it relays datagrams between
 * the senders to `socket` and the target, as a UDP proxy: each sender is
 * a flow with a socket of its own (bound as `udp`'s `bindClient()` does),
 * which sends the sender's datagrams to the target and takes the target's
 * answers, sent back to the sender from `socket`. A flow ends when
 * nothing moved on it for `idleTimeout` (60 s by default); at most
 * `maxFlows` (1024) are open at once. It runs until `signal` aborts, then
 * closes every flow and `socket` and resolves with reason `"stopped"` and
 * the totals: `Received` from the senders, `Sent` back to them.
 * `onTraffic` sees each datagram with its sender, and `onFlowEnd` each
 * flow as it ends. Memory: a flow holds a socket and a receive buffer of
 * `socket.maxDatagramSize` (64 KiB for UDP).
 *
 * @param socket A UDP or Unix datagram socket; the relay closes it.
 * @param streams The input lines and the output for datagrams, or the UDP
 * address to relay each sender's datagrams to.
 * @param options Peer, filter, output format, ends, traffic hook; with a
 * target: idle timeout per flow, `maxFlows`, `onFlowEnd`.
 * @returns Why it ended and the counts each way.
 * @throws {TypeError} If a stream is locked, or `sendOnly` and `recvOnly`
 * are both set, or `output` is not `"text"` or `"hex"`; with a target, if
 * it is not a UDP address or an option for streams (`to`, `acceptFrom`,
 * `output`, `noHalfClose`, `sendOnly`, `recvOnly`) is given.
 * @throws {RangeError} If `idleTimeout` is not a positive number, or
 * `maxFlows` not a positive integer.
 *
 * @example A server that answers its client from the input
 * ```ts
 * import { bind } from "@sockit/sockit/udp";
 * import { relayDatagrams } from "@sockit/sockit/relay";
 * import { assertEquals } from "@std/assert";
 *
 * const server = bind({ port: 0 });
 * using client = bind({ port: 0 });
 * let out = "";
 * const relaying = relayDatagrams(server, {
 *   readable: ReadableStream.from([new TextEncoder().encode("pong\n")]),
 *   writable: new WritableStream({
 *     write: (chunk) => void (out += new TextDecoder().decode(chunk)),
 *   }),
 * }, { noHalfClose: true }); // ends once "pong" has gone out
 * await client.send("ping", server.addr);
 * const { data } = await client.receive({ timeout: 1000 });
 * assertEquals(new TextDecoder().decode(data), "pong");
 * assertEquals((await relaying).reason, "input-ended");
 * assertEquals(out, "ping\n");
 * ```
 *
 * @example A UDP proxy in front of a server
 * ```ts
 * import { bind, serveDatagrams } from "@sockit/sockit/udp";
 * import { relayDatagrams } from "@sockit/sockit/relay";
 * import { assertEquals } from "@std/assert";
 *
 * using backend = bind({ port: 0 });
 * await using _serving = serveDatagrams(backend, ({ data }) => data.toReversed());
 * const proxy = bind({ port: 0 });
 * const stop = new AbortController();
 * const relaying = relayDatagrams(proxy, backend.addr, { signal: stop.signal });
 * using client = bind({ port: 0 });
 * await client.send("abc", proxy.addr);
 * const { data, from } = await client.receive({ timeout: 1000 });
 * assertEquals(new TextDecoder().decode(data), "cba");
 * assertEquals(from.port, proxy.addr.port); // answered from the proxy
 * stop.abort();
 * const result = await relaying;
 * assertEquals([result.reason, result.datagramsReceived, result.datagramsSent], [
 *   "stopped",
 *   1,
 *   1,
 * ]);
 * ```
 */
export async function relayDatagrams(
  socket: DatagramSocket,
  streams: RelayStreams | Address,
  options: DatagramRelayOptions = {},
): Promise<DatagramRelayResult> {
  if (streams === null || typeof streams !== "object") {
    throw new TypeError(
      `Cannot relay datagrams with ${
        String(streams)
      }: give streams { readable, writable } or a target { hostname, port }`,
    );
  }
  if (!("readable" in streams)) return relayFlows(socket, streams, options);
  const sendOnly = options.sendOnly ?? false;
  const recvOnly = options.recvOnly ?? false;
  const noHalfClose = options.noHalfClose ?? false;
  const { to, idleTimeout, signal, onTraffic } = options;
  const format = options.output ?? "text";
  checkRelayOptions(options, "relay datagrams");
  checkFormat(format, "relay datagrams");
  const acceptFrom = options.acceptFrom ?? (to === undefined ? "any" : "peer");
  if (acceptFrom === "peer" && to === undefined) {
    throw new TypeError(
      'Cannot relay datagrams with acceptFrom "peer" but no peer: give options.to',
    );
  }
  signal?.throwIfAborted();

  const { reader, writer } = openStreams(streams, sendOnly, recvOnly);

  const result: DatagramRelayResult = {
    reason: "input-ended",
    datagramsSent: 0,
    datagramsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    ignored: 0,
  };
  let ending = false;
  let failed = false;
  let failure: unknown = undefined;
  const stopReceiving = new AbortController();
  let lastSender: SocketAddress | undefined;
  let senderKnown: (() => void) | null = null;

  const stop = (
    why: DatagramRelayResult["reason"] | null,
    error?: unknown,
  ) => {
    if (ending) return;
    ending = true;
    if (why === null) {
      failed = true;
      failure = error;
    } else {
      result.reason = why;
    }
    stopReceiving.abort();
    senderKnown?.();
    try {
      reader?.releaseLock();
    } catch { /* released already */ }
  };

  const { touch, unwatch } = watchRelayEnds(idleTimeout, signal, stop);

  const input = new InputLines(
    socket.maxDatagramSize,
    "the datagram size limit",
  );

  const peer = async (): Promise<Address | SocketAddress | undefined> => {
    if (to !== undefined) return to;
    while (lastSender === undefined && !ending) {
      await new Promise<void>((resolve) => senderKnown = resolve);
      senderKnown = null;
    }
    return lastSender;
  };

  const sendLines = async (
    { lines, error }: { lines: Uint8Array[]; error?: unknown },
  ): Promise<void> => {
    for (const line of lines) {
      const target = await peer();
      if (ending || target === undefined) return;
      await socket.send(line, target);
      result.datagramsSent++;
      result.bytesSent += line.length;
      touch();
      onTraffic?.("sent", line, target);
    }
    if (error !== undefined) throw error;
  };

  const pumpInput = async (): Promise<void> => {
    if (reader === null) return;
    for (;;) {
      const { value, done } = await reader.read();
      if (ending) return;
      if (done) break;
      touch();
      await sendLines(input.push(value));
      if (ending) return;
    }
    await sendLines(input.end());
    if (!ending && (noHalfClose || sendOnly)) stop("input-ended");
  };

  const pumpOutput = async (): Promise<void> => {
    for (;;) {
      let datagram;
      try {
        datagram = await socket.receive({ signal: stopReceiving.signal });
      } catch (error) {
        if (ending) return;
        if (error instanceof DatagramTooLargeError) {
          result.ignored++;
          continue;
        }
        throw error;
      }
      const { data, from } = datagram;
      if (acceptFrom === "peer" && !isPeer(from, to!)) {
        result.ignored++;
        continue;
      }
      lastSender = from;
      senderKnown?.();
      result.datagramsReceived++;
      result.bytesReceived += data.length;
      touch();
      onTraffic?.("received", data, from);
      if (writer !== null) {
        await writer.write(formatFrame(data, format));
        touch();
      }
    }
  };

  try {
    await pumpAll([pumpInput(), pumpOutput()], stop);
  } finally {
    unwatch();
    writer?.releaseLock();
    await socket[Symbol.asyncDispose]();
  }
  if (failed) throw failure;
  return result;
}
