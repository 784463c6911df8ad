// relayDatagrams() to a target (socat's UDP-LISTEN,fork): each client
// address is a flow with a socket of its own towards the target, so the
// target's replies find their way back; a flow idle too long is closed.
// Private to relay/.
import type { Address, SocketAddress, TcpAddress } from "../net/mod.ts";
import { formatAddress } from "../net/mod.ts";
import { DEFAULT_HOSTNAME } from "../_internal/address.ts";
import { canonicalIp } from "../_internal/ip.ts";
import { unwatchIdle, type Watch, watchIdle } from "../_internal/timer.ts";
import {
  bindClient,
  type DatagramSocket,
  DatagramTooLargeError,
} from "../udp/mod.ts";
import { checkRelayOptions } from "./_streams.ts";
import type { DatagramRelayOptions, DatagramRelayResult } from "./datagram.ts";

/** What `onFlowEnd` is given about a flow. */
type FlowResult = Parameters<
  NonNullable<DatagramRelayOptions["onFlowEnd"]>
>[0];

/** A flow's idle timeout when `idleTimeout` is not given. */
export const DEFAULT_FLOW_IDLE_TIMEOUT = 60_000;
/** `maxFlows` when it is not given. */
export const DEFAULT_MAX_FLOWS = 1024;

/** Whether `from` is the peer `to`, as a connected socket would judge. */
export function isPeer(
  from: SocketAddress,
  to: Address | SocketAddress,
): boolean {
  if ("path" in to) return "path" in from && from.path === to.path;
  if ("path" in from || from.port !== to.port) return false;
  const want = canonicalIp(to.hostname ?? DEFAULT_HOSTNAME);
  return want === null || canonicalIp(from.hostname) === want;
}

/** The options that make no sense with a target: lines and one peer. */
const STREAM_ONLY = [
  "to",
  "acceptFrom",
  "output",
  "noHalfClose",
  "sendOnly",
  "recvOnly",
] as const;

interface Flow {
  readonly key: string;
  readonly peer: SocketAddress;
  readonly socket: DatagramSocket<"udp">;
  readonly started: number;
  readonly watch: Watch;
  readonly result: FlowResult;
  ended: boolean;
}

/**
 * Relays each sender's datagrams to `target` through a socket of its own
 * (a flow), and the target's answers on it back to that sender, until
 * `signal` aborts; see `relayDatagrams()`.
 */
export async function relayFlows(
  socket: DatagramSocket,
  target: Address,
  options: DatagramRelayOptions,
): Promise<DatagramRelayResult> {
  if (
    target === null || typeof target !== "object" || "path" in target ||
    typeof target.port !== "number"
  ) {
    throw new TypeError(
      `Cannot relay datagrams to ${
        target !== null && typeof target === "object"
          ? formatAddress(target)
          : String(target)
      }: flows need a UDP target { hostname, port }`,
    );
  }
  for (const name of STREAM_ONLY) {
    if (options[name] !== undefined) {
      throw new TypeError(
        `Cannot relay datagrams to a target with options.${name}: it is for a relay to streams`,
      );
    }
  }
  checkRelayOptions(options, "relay datagrams");
  const idleTimeout = options.idleTimeout ?? DEFAULT_FLOW_IDLE_TIMEOUT;
  const maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
  if (!Number.isSafeInteger(maxFlows) || maxFlows < 1) {
    throw new RangeError(
      `Cannot relay datagrams with maxFlows ${maxFlows}: give an integer >= 1`,
    );
  }
  const { signal, onTraffic, onFlowEnd } = options;
  const to: TcpAddress = target;
  signal?.throwIfAborted();

  const result: DatagramRelayResult = {
    reason: "stopped",
    datagramsSent: 0,
    datagramsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    ignored: 0,
  };
  const flows = new Map<string, Flow>();
  const stopReceiving = new AbortController();
  let failed = false;
  let failure: unknown = undefined;
  const pumps = new Set<Promise<void>>();

  const endFlow = (
    flow: Flow,
    reason: FlowResult["reason"],
    error?: unknown,
  ): void => {
    if (flow.ended) return;
    flow.ended = true;
    flows.delete(flow.key);
    unwatchIdle(flow.watch);
    flow.socket.close(); // ends its pending receive
    flow.result.reason = reason;
    flow.result.duration = performance.now() - flow.started;
    if (error !== undefined) flow.result.error = error;
    onFlowEnd?.(flow.result);
  };

  /** The target's datagrams on `flow`'s socket, back to its sender. */
  const pumpReplies = async (flow: Flow): Promise<void> => {
    for (;;) {
      let datagram;
      try {
        datagram = await flow.socket.receive();
      } catch (error) {
        if (flow.ended) return;
        if (error instanceof DatagramTooLargeError) {
          flow.result.ignored++;
          result.ignored++;
          continue;
        }
        throw error;
      }
      if (flow.ended) return;
      const { data, from } = datagram;
      if (!isPeer(from, to)) {
        flow.result.ignored++;
        result.ignored++;
        continue;
      }
      flow.watch.last = performance.now();
      await socket.send(data, flow.peer);
      flow.result.datagramsSent++;
      flow.result.bytesSent += data.length;
      result.datagramsSent++;
      result.bytesSent += data.length;
      onTraffic?.("sent", data, flow.peer);
    }
  };

  const open = (key: string, peer: SocketAddress): Flow => {
    const flowSocket = bindClient(to, {
      maxDatagramSize: socket.maxDatagramSize,
    });
    const flow: Flow = {
      key,
      peer,
      socket: flowSocket,
      started: performance.now(),
      watch: watchIdle(idleTimeout, () => endFlow(flow, "idle-timeout")),
      result: {
        peer,
        reason: "stopped",
        duration: 0,
        datagramsSent: 0,
        datagramsReceived: 0,
        bytesSent: 0,
        bytesReceived: 0,
        ignored: 0,
      },
      ended: false,
    };
    flows.set(key, flow);
    const pump = pumpReplies(flow).catch((error) =>
      endFlow(flow, "error", error)
    );
    pumps.add(pump);
    pump.finally(() => pumps.delete(pump));
    return flow;
  };

  const onAbort = () => stopReceiving.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      let datagram;
      try {
        datagram = await socket.receive({ signal: stopReceiving.signal });
      } catch (error) {
        if (stopReceiving.signal.aborted) break;
        if (error instanceof DatagramTooLargeError) {
          result.ignored++;
          continue;
        }
        throw error;
      }
      const { data, from } = datagram;
      if ("path" in from) {
        result.ignored++; // a Unix sender: no flow to a UDP target
        continue;
      }
      const key = `${from.hostname} ${from.port}`;
      let flow = flows.get(key);
      if (flow === undefined) {
        if (flows.size >= maxFlows) {
          result.ignored++;
          continue;
        }
        flow = open(key, from);
      }
      flow.watch.last = performance.now();
      result.datagramsReceived++;
      result.bytesReceived += data.length;
      flow.result.datagramsReceived++;
      flow.result.bytesReceived += data.length;
      onTraffic?.("received", data, from);
      try {
        await flow.socket.send(data, to);
      } catch (error) {
        endFlow(flow, "error", error);
      }
    }
  } catch (error) {
    failed = true;
    failure = error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    for (const flow of [...flows.values()]) endFlow(flow, "stopped");
    await Promise.all(pumps);
    await socket[Symbol.asyncDispose]();
  }
  if (failed) throw failure;
  return result;
}
