/**
 * The soak run's broadcast ACK storm attempt: two `broadcast listen` tools
 * (A answers `ACK`, B `ACK from B`) on loopback ports, made to answer each
 * other by `bench/soak/_ack_relay.ts`, which forges a datagram to each from
 * the other every 20 s and then floods each with forged questions for 5 s.
 *
 * The checks, for each direction: a single forgery gets exactly one ACK
 * across (the other listener never answers a reply); a flood's replies
 * stay within the reply limit (a burst of 10 and 10 a second: over a 5 s
 * flood, counted until 1 s after it, at most 10 + 10 × 6 = 70, and at
 * least the burst); the most in any one second stays within 20 (a burst
 * and a second's refill, plus one for each 100 ms the relay's timers were
 * late); and nothing crosses in the quiet times (from 1 s after a flood to
 * the next forgery, and at the end): the exchange falls to zero. Both
 * listeners must exit 0.
 *
 * @module
 */
import {
  type AckRelayReport,
  CYCLE,
  FLOOD_LENGTH,
  FLOOD_RATE,
} from "./_ack_relay.ts";
import { ROOT, ServerProcess } from "./_server_process.ts";

/** `broadcast listen`'s replies: a burst of this many to one address… */
const BURST = 10;
/** …then this many a second. */
const RATE = 10;
/** After a single forgery, its one ACK must have crossed within this (ms). */
const SINGLE_WINDOW = 3000;
/** A flood's replies must have crossed within this (ms) of its end. */
const FLOOD_TAIL = 1000;

/** A `broadcast listen` child and the replies it withheld (its last log). */
class Listener {
  readonly server: ServerProcess;
  withheld = 0;

  constructor(name: string, ack: readonly string[]) {
    this.server = new ServerProcess(name, [
      "run",
      "--allow-net=127.0.0.1",
      "tools/broadcast.ts",
      "listen",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...ack,
    ], (line) => {
      const match = /^(\d+) replies not sent/.exec(line);
      if (match !== null) this.withheld = Number(match[1]);
    });
  }
}

function within(times: readonly number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length;
}

function range(values: readonly number[]): string {
  if (values.length === 0) return "-";
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? String(low) : `${low}–${high}`;
}

/** The two listeners, the relay, and what they did. */
export class AckStormScenario {
  readonly a: Listener = new Listener("broadcast listen A", []);
  readonly b: Listener = new Listener("broadcast listen B", [
    "--ack",
    "from B",
  ]);
  #report: AckRelayReport | undefined;

  /** The listeners' server processes (for the servers' table). */
  get servers(): ServerProcess[] {
    return [this.a.server, this.b.server];
  }

  /** Waits for both listeners to listen. */
  async listening(): Promise<void> {
    await Promise.all([this.a.server.listening(), this.b.server.listening()]);
  }

  /** Runs the relay and its forgeries for `seconds`. */
  async run(seconds: number): Promise<void> {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "bench/soak/_ack_relay.ts",
        String(this.a.server.port),
        String(this.b.server.port),
        String(seconds),
      ],
      cwd: ROOT,
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    if (code !== 0) {
      throw new Error(`The ACK relay failed: ${decoder.decode(stderr)}`);
    }
    this.#report = JSON.parse(decoder.decode(stdout)) as AckRelayReport;
  }

  /**
   * The table (a row per figure, a column per direction) and whether the
   * storm stayed bounded and ended; `printed` is each listener's stdout
   * (a line per datagram it received), once it has exited.
   */
  report(
    printed: { a: string; b: string },
  ): {
    rows: string[][];
    ok: boolean;
    summary: string;
    /** Datagrams each listener received (A, B). */
    received: number[];
    /** Replies each listener sent across (A, B). */
    replied: number[];
    /** Replies each listener withheld (A, B). */
    withheld: number[];
  } {
    const lines = (text: string) => text.split("\n").filter(Boolean).length;
    const received = [lines(printed.a), lines(printed.b)];
    const withheld = [this.a.withheld, this.b.withheld];
    const r = this.#report;
    if (r === undefined) {
      return {
        rows: [],
        ok: false,
        summary: "the relay did not report",
        received,
        replied: [0, 0],
        withheld,
      };
    }
    const singles = r.forgeries.filter((f) => f.kind === "single");
    const floods = r.forgeries.filter((f) => f.kind === "flood");
    const perSecondBound = BURST + RATE + Math.ceil(r.maxLag / 100);
    // Where replies may cross: after a single forgery (until the flood
    // that follows it starts), and during a flood and 1 s after.
    const singleWindows = singles.map((f): [number, number] => [
      f.start,
      Math.min(
        f.start + SINGLE_WINDOW,
        floods.find((g) => g.start >= f.start)?.start ?? Infinity,
      ),
    ]);
    const floodWindows = floods.map((f): [number, number] => [
      f.start,
      f.end + FLOOD_TAIL,
    ]);
    const windows = [...singleWindows, ...floodWindows];
    const directions = [
      { times: r.aToB, from: this.a },
      { times: r.bToA, from: this.b },
    ].map(({ times, from }) => {
      const afterSingle = singleWindows.map(([s, e]) => within(times, s, e));
      const floodBounds = floodWindows.map(([s, e]) =>
        BURST + Math.ceil(RATE * ((e - s) / 1000))
      );
      const inFlood = floodWindows.map(([s, e]) => within(times, s, e));
      const quiet = times.filter((t) =>
        !windows.some(([s, e]) => t >= s && t < e)
      )
        .length;
      const seconds = new Map<number, number>();
      for (const t of times) {
        const second = Math.floor(t / 1000);
        seconds.set(second, (seconds.get(second) ?? 0) + 1);
      }
      const mostInASecond = Math.max(0, ...seconds.values());
      const ok = afterSingle.every((n) => n === 1) &&
        inFlood.every((n, i) => n >= BURST && n <= floodBounds[i]!) &&
        quiet === 0 && mostInASecond <= perSecondBound;
      return {
        times,
        afterSingle,
        inFlood,
        floodBound: Math.max(0, ...floodBounds),
        quiet,
        mostInASecond,
        withheld: from.withheld,
        ok,
      };
    });
    const [ab, ba] = directions as [
      (typeof directions)[0],
      (typeof directions)[0],
    ];
    const forgedSingle = singles.reduce((n, f) => n + f.sent, 0);
    const forgedFlood = floods.reduce((n, f) => n + f.sent, 0);
    const num = (n: number) => n.toLocaleString("en-US");
    const both = (f: (d: typeof ab) => string) => [f(ab), f(ba)];
    const rows = [
      [
        "forged to the sender (single / in floods)",
        ...both(() => `${num(forgedSingle)} / ${num(forgedFlood)}`),
      ],
      ["datagrams across, in all", ...both((d) => num(d.times.length))],
      [
        `after each single forgery (${SINGLE_WINDOW / 1000} s; must be 1)`,
        ...both((d) => range(d.afterSingle)),
      ],
      [
        `in each ${
          FLOOD_LENGTH / 1000
        } s flood of ${FLOOD_RATE}/s, to 1 s after (bound)`,
        ...both((d) => `${range(d.inFlood)} (${d.floodBound})`),
      ],
      [
        `most in one second (bound ${perSecondBound})`,
        ...both((d) => String(d.mostInASecond)),
      ],
      [
        "in the quiet times (1 s after each flood to the next forgery, and to the end)",
        ...both((d) => String(d.quiet)),
      ],
      [
        "replies the sender withheld (its limit)",
        ...both((d) => num(d.withheld)),
      ],
    ];
    const ok = ab.ok && ba.ok;
    const summary =
      `${singles.length} cycles of ${CYCLE / 1000} s; the relay's timers ` +
      `were ${Math.round(r.maxLag)} ms late at most; ${r.strangers} ` +
      `datagrams from strangers; listeners printed A ${
        num(lines(printed.a))
      }, B ${num(lines(printed.b))} datagrams (forged, and the other's ACKs)`;
    return {
      rows,
      ok,
      summary,
      received,
      replied: [r.aToB.length, r.bToA.length],
      withheld,
    };
  }
}
