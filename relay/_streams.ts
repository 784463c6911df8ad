// What the stream, frame and datagram relays share: their option checks,
// taking the reader and writer of their streams, watching their idle
// timeout and signal, running their pumps, and splitting the input into
// lines. Private to relay/.
import { DelimiterCodec, FrameTooLargeError } from "../framing/mod.ts";
import { unwatchIdle, watchIdle } from "../_internal/timer.ts";

/** The options every relay takes and checks alike. */
interface CheckedOptions {
  sendOnly?: boolean;
  recvOnly?: boolean;
  idleTimeout?: number;
}

/** Checks the options every relay takes. */
export function checkRelayOptions(options: CheckedOptions, what: string): void {
  if (options.sendOnly && options.recvOnly) {
    throw new TypeError(
      `Cannot ${what} with both sendOnly and recvOnly: nothing would move`,
    );
  }
  const idle = options.idleTimeout;
  if (idle !== undefined && !(typeof idle === "number" && idle > 0)) {
    throw new RangeError(
      `Cannot ${what} with idleTimeout ${idle}: give milliseconds (> 0)`,
    );
  }
}

/**
 * Locks the streams a relay uses: the input's reader unless `recvOnly`, the
 * output's writer unless `sendOnly`. Throws (holding no lock) if a stream is
 * locked.
 */
export function openStreams(
  streams: {
    readable: ReadableStream<Uint8Array>;
    writable: WritableStream<Uint8Array>;
  },
  sendOnly: boolean,
  recvOnly: boolean,
): {
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
  writer: WritableStreamDefaultWriter<Uint8Array> | null;
} {
  const reader = recvOnly ? null : streams.readable.getReader();
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  if (!sendOnly) {
    try {
      writer = streams.writable.getWriter();
    } catch (error) {
      reader?.releaseLock();
      throw error;
    }
  }
  return { reader, writer };
}

/**
 * Watches what ends a relay besides its streams: `stop("idle-timeout")`
 * once nothing has moved for `idleTimeout` ms (`touch()` tells that
 * something moved), and `stop(null, reason)` when `signal` aborts.
 * `unwatch()` stops both.
 */
export function watchRelayEnds(
  idleTimeout: number | undefined,
  signal: AbortSignal | undefined,
  stop: (why: "idle-timeout" | null, error?: unknown) => void,
): { touch: () => void; unwatch: () => void } {
  const idleWatch = idleTimeout === undefined
    ? null
    : watchIdle(idleTimeout, () => stop("idle-timeout"));
  const onAbort = () => stop(null, signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  return {
    touch: () => {
      if (idleWatch !== null) idleWatch.last = performance.now();
    },
    unwatch: () => {
      if (idleWatch !== null) unwatchIdle(idleWatch);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * Runs a relay's pumps to their end; one that fails stops the relay with
 * its error (`stop` does nothing once the relay is ending).
 */
export async function pumpAll(
  pumps: Promise<void>[],
  stop: (why: null, error: unknown) => void,
): Promise<void> {
  await Promise.all(
    pumps.map((pump) => pump.catch((error) => stop(null, error))),
  );
}

/**
 * Splits input bytes into lines (without `\n` / `\r\n`), each at most
 * `maxLineSize` bytes. A line that runs past the limit raises a
 * `FrameTooLargeError` without an offset, its message naming the limit
 * `limitName`: it is input that cannot be sent, not a frame received.
 */
export class InputLines {
  readonly #decoder: DelimiterCodec;
  readonly #limit: number;
  readonly #limitName: string;
  readonly #lines: Uint8Array[] = [];
  readonly #sink = (line: Uint8Array) => {
    this.#lines.push(line);
  };

  /** Lines of at most `maxLineSize` bytes. */
  constructor(maxLineSize: number, limitName = "maxFrameSize") {
    this.#limit = maxLineSize;
    this.#limitName = limitName;
    this.#decoder = new DelimiterCodec({
      lines: true,
      maxFrameSize: maxLineSize,
    });
  }

  /** The lines `chunk` completes, and the error that stopped it, if any. */
  push(chunk: Uint8Array): { lines: Uint8Array[]; error?: unknown } {
    return this.#take(() => this.#decoder.push(chunk, this.#sink));
  }

  /** The last line (one without `\n`), if any. */
  end(): { lines: Uint8Array[]; error?: unknown } {
    return this.#take(() => this.#decoder.end(this.#sink));
  }

  #take(step: () => void): { lines: Uint8Array[]; error?: unknown } {
    let error: unknown = undefined;
    try {
      step();
    } catch (caught) {
      error = caught instanceof FrameTooLargeError
        ? new FrameTooLargeError(
          { limit: this.#limit, size: caught.size, announced: false },
          `Cannot send an input line as it runs past ${this.#limitName} ${this.#limit} (${caught.size} bytes seen)`,
        )
        : caught;
    }
    const lines = this.#lines.splice(0);
    return error === undefined ? { lines } : { lines, error };
  }
}
