/**
 * A `pv`-like progress reporter for the tools (`relay -v`, `cat
 * --progress`): bytes each way, the rate and the time elapsed. On a
 * terminal it keeps one live line at the bottom of stderr, redrawn a few
 * times a second, with log lines printed above it; elsewhere (a pipe, a
 * file) it prints nothing until {@linkcode Progress.end}, which prints one
 * summary line.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Moves to the start of the line and clears it. */
const CLEAR_LINE = "\r\x1b[K";

/** Options for {@linkcode Progress}. */
export interface ProgressOptions {
  /**
   * The names of the two directions, as the line shows them.
   *
   * @default {["sent", "received"]}
   */
  labels?: readonly [string, string];
  /**
   * Whether to keep a live line (on a terminal) rather than print one
   * summary line at the end.
   *
   * @default {Deno.stderr.isTerminal()}
   */
  live?: boolean;
  /**
   * How often the live line is redrawn, in milliseconds.
   *
   * @default {250}
   */
  interval?: number;
  /**
   * What the line starts with (the tool's name, say).
   *
   * @default {""}
   */
  prefix?: string;
  /**
   * More to show at the end of the line (open connections, say).
   *
   * @default {none}
   */
  detail?: () => string;
  /**
   * Where the text goes.
   *
   * @default {stderr, written synchronously}
   */
  write?: (text: string) => void;
}

/** Writes all of `text` to stderr at once (no interleaving with logs). */
function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) {
    at += Deno.stderr.writeSync(bytes.subarray(at));
  }
}

/**
 * `n` bytes for people: `512 B`, `1.5 KiB`, `12.3 MiB`, `1.02 GiB`.
 *
 * @param n A byte count (or a rate in bytes per second).
 * @returns The text.
 */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/**
 * A duration: `4.2 s` under a minute, then as a clock: `12:30`, `1:02:03`.
 *
 * @param ms Milliseconds.
 * @returns The text.
 */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const total = Math.floor(ms / 1000);
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * Counts bytes two ways and shows them: live on a terminal, once at the
 * end elsewhere. Route every other stderr line through
 * {@linkcode Progress.log} while it is live, so that lines are not drawn
 * over.
 *
 * Wiring it to a relay: `onTraffic: progress.onTraffic` counts what the
 * relay sends under the first label and what it receives under the
 * second; call `end()` when the work is done.
 */
export class Progress {
  readonly #labels: readonly [string, string];
  readonly #live: boolean;
  readonly #prefix: string;
  readonly #detail: (() => string) | undefined;
  readonly #write: (text: string) => void;
  readonly #started = performance.now();
  readonly #counts = [0, 0];
  /** Recent samples `[time, total bytes]`, for the live rate. */
  readonly #samples: [number, number][] = [[this.#started, 0]];
  #timer: ReturnType<typeof setInterval> | undefined;
  #shown = false;
  #ended = false;

  /**
   * Starts counting (and, when live, drawing).
   *
   * @param options Labels, live or not, interval, prefix, detail, output.
   */
  constructor(options: ProgressOptions = {}) {
    this.#labels = options.labels ?? ["sent", "received"];
    this.#live = options.live ?? Deno.stderr.isTerminal();
    this.#prefix = options.prefix ?? "";
    this.#detail = options.detail;
    this.#write = options.write ?? writeStderr;
    if (this.#live) {
      const timer = setInterval(() => this.#draw(), options.interval ?? 250);
      Deno.unrefTimer(timer); // never keeps the tool running
      this.#timer = timer;
    }
  }

  /** The bytes counted each way: `[first label, second label]`. */
  get counts(): readonly [number, number] {
    return [this.#counts[0]!, this.#counts[1]!];
  }

  /**
   * Counts `bytes` more in one direction.
   *
   * @param direction 0 for the first label, 1 for the second.
   * @param bytes How many.
   */
  add(direction: 0 | 1, bytes: number): void {
    this.#counts[direction]! += bytes;
  }

  /**
   * A relay's `onTraffic` hook: `"sent"` counts under the first label,
   * `"received"` under the second.
   */
  readonly onTraffic = (
    direction: "sent" | "received",
    bytes: Uint8Array,
  ): void => {
    this.#counts[direction === "sent" ? 0 : 1]! += bytes.length;
  };

  /**
   * Prints a log line (without its `\n`) above the live line, or as it
   * is when not live.
   *
   * @param line The line.
   */
  log(line: string): void {
    if (this.#live && this.#shown && !this.#ended) {
      this.#write(`${CLEAR_LINE}${line}\n${this.#line(false)}`);
    } else {
      this.#write(`${line}\n`);
    }
  }

  /**
   * Stops: the live line is replaced by the summary line (averages over
   * the whole time), which is printed once. Idempotent.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#write(`${this.#live ? CLEAR_LINE : ""}${this.#line(true)}\n`);
  }

  #draw(): void {
    if (this.#ended) return;
    this.#shown = true;
    this.#write(`${CLEAR_LINE}${this.#line(false)}`);
  }

  /** The line: counts, rate (recent, or the average for the summary), time. */
  #line(summary: boolean): string {
    const now = performance.now();
    const elapsed = now - this.#started;
    const total = this.#counts[0]! + this.#counts[1]!;
    let rate: number;
    if (summary) {
      rate = elapsed > 0 ? total / (elapsed / 1000) : 0;
    } else {
      // The rate over the last second or so.
      const samples = this.#samples;
      samples.push([now, total]);
      while (samples.length > 2 && now - samples[0]![0] > 1000) {
        samples.shift();
      }
      const [then, before] = samples[0]!;
      rate = now > then ? (total - before) / ((now - then) / 1000) : 0;
    }
    const [first, second] = this.#labels;
    const detail = this.#detail?.();
    return `${this.#prefix === "" ? "" : `${this.#prefix}: `}${
      formatBytes(this.#counts[0]!)
    } ${first}, ${formatBytes(this.#counts[1]!)} ${second}${
      summary ? " in " : ", "
    }${formatElapsed(elapsed)} (${formatBytes(rate)}/s)${
      detail ? `, ${detail}` : ""
    }`;
  }
}
