/**
 * The go-between of the soak run's ACK storm attempt: two `broadcast
 * listen` tools, A and B, made to answer each other. A listener answers
 * whoever a datagram came from, so each must get datagrams "from" the
 * other; on loopback that needs no raw socket, only a stand-in (as in
 * `tests/reliability/broadcast_storm_test.ts`, where the peer's own socket
 * sends the first datagram): this program binds two UDP sockets, `forB`
 * (B as A sees it) and `forA` (A as B sees it), and passes on whatever A
 * sends to `forB` to B from `forA`, and whatever B sends to `forA` to A
 * from `forB`. Every reply of one listener reaches the other as if sent
 * straight to it, and every reply to that comes back the same way: if the
 * listeners answered each other, the datagrams would go round for ever.
 *
 * The forgeries, every 20 s: one datagram to each listener from the
 * other's stand-in (a forged `hello`), then 3 s later 5 s of forged
 * questions, 100 a second to each. The rest of the cycle is quiet. It
 * prints a JSON {@linkcode AckRelayReport} on stdout when `SECONDS` are
 * up: when each passed-on datagram arrived, the forgeries, and how late
 * its own timers fired (the arrival times are only as good as that).
 *
 * Usage: `deno run --allow-net=127.0.0.1 bench/soak/_ack_relay.ts PORT_A
 * PORT_B SECONDS`
 *
 * @module
 */
import { bind, type Datagram, type DatagramSocket } from "../../udp/mod.ts";

/** A cycle of forgeries lasts this long (ms)… */
export const CYCLE = 20_000;
/** …its flood starts this long after the single forgery… */
export const FLOOD_START = 3000;
/** …and lasts this long, at {@linkcode FLOOD_RATE} datagrams a second to each listener. */
export const FLOOD_LENGTH = 5000;
/** Forged datagrams a second to each listener during a flood. */
export const FLOOD_RATE = 100;

/** One forgery: a single datagram, or a flood, to each listener. */
export interface Forgery {
  kind: "single" | "flood";
  /** When it started and ended, in ms since the relay started. */
  start: number;
  end: number;
  /** Datagrams forged to each listener. */
  sent: number;
}

/** What the relay saw. */
export interface AckRelayReport {
  /** When each datagram A sent to B arrived (ms since the relay started). */
  aToB: number[];
  /** When each datagram B sent to A arrived. */
  bToA: number[];
  forgeries: Forgery[];
  /** The most its 50 ms timer fired late (ms). */
  maxLag: number;
  /** Datagrams from anyone but the two listeners (ignored). */
  strangers: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Passes on what `from` receives from `port` to `to`, until aborted. */
async function pass(
  from: DatagramSocket<"udp">,
  port: number,
  to: DatagramSocket<"udp">,
  target: { hostname: string; port: number },
  arrivals: number[],
  stranger: () => void,
  t0: number,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    let datagram: Datagram<"udp">;
    try {
      datagram = await from.receive({ signal, timeout: null });
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    if (datagram.from.port !== port) {
      stranger();
      continue;
    }
    arrivals.push(performance.now() - t0);
    await to.send(datagram.data, target);
  }
}

async function main(args: string[]): Promise<void> {
  const [portA, portB, seconds] = args.map(Number) as [number, number, number];
  const a = { hostname: "127.0.0.1", port: portA };
  const b = { hostname: "127.0.0.1", port: portB };
  using forB = bind({ hostname: "127.0.0.1", port: 0 });
  using forA = bind({ hostname: "127.0.0.1", port: 0 });
  const t0 = performance.now();
  const report: AckRelayReport = {
    aToB: [],
    bToA: [],
    forgeries: [],
    maxLag: 0,
    strangers: 0,
  };
  let expected = t0 + 50;
  const lagMeter = setInterval(() => {
    const now = performance.now();
    report.maxLag = Math.max(report.maxLag, now - expected);
    expected = now + 50;
  }, 50);
  const stop = new AbortController();
  const stranger = () => report.strangers++;
  const relaying = Promise.all([
    pass(forB, portA, forA, b, report.aToB, stranger, t0, stop.signal),
    pass(forA, portB, forB, a, report.bToA, stranger, t0, stop.signal),
  ]);
  const now = () => performance.now() - t0;
  const end = seconds * 1000;
  for (let cycle = 0; cycle === 0 || cycle + CYCLE <= end; cycle += CYCLE) {
    await sleep(Math.max(0, cycle - now()));
    const single: Forgery = { kind: "single", start: now(), end: 0, sent: 1 };
    await forB.send("hello (forged: from B)", a);
    await forA.send("hello (forged: from A)", b);
    single.end = now();
    report.forgeries.push(single);
    await sleep(Math.max(0, cycle + FLOOD_START - now()));
    const flood: Forgery = { kind: "flood", start: now(), end: 0, sent: 0 };
    const gap = 1000 / FLOOD_RATE;
    while (now() < flood.start + FLOOD_LENGTH) {
      flood.sent++;
      await forB.send(`question ${flood.sent} (forged: from B)`, a);
      await forA.send(`question ${flood.sent} (forged: from A)`, b);
      await sleep(Math.max(0, flood.start + flood.sent * gap - now()));
    }
    flood.end = now();
    report.forgeries.push(flood);
  }
  // Quiet to the end, and for 2 s at least after the last flood.
  await sleep(Math.max(2000, end - now()));
  clearInterval(lagMeter);
  stop.abort();
  await relaying;
  console.log(JSON.stringify(report));
}

if (import.meta.main) {
  await main(Deno.args);
}
