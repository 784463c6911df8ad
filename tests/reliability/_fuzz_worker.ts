/**
 * Runs the framing fuzzer (`_fuzz.ts`) in a worker, so that the test can
 * stop it if it hangs: the test sends a {@linkcode FuzzJob}; the worker
 * answers with progress every 1,000 inputs, a summary per codec, and
 * `done` — or `failure` with the seed, codec and input that failed.
 *
 * @module
 */
import { CODECS, fuzzCodec, type FuzzSummary } from "./_fuzz.ts";

/** What the test asks the worker to do. */
export interface FuzzJob {
  /** The run's seed; each codec gets its own seed derived from it. */
  seed: number;
  /** Indexes into `CODECS`. */
  codecs: number[];
  /** Inputs per codec. */
  inputs: number;
  /** Every n-th input also goes through `FrameDecoderStream`. */
  streamEvery: number;
}

/** What the worker reports. */
export type FuzzMessage =
  | { type: "progress"; codec: string; input: number }
  | { type: "summary"; summary: FuzzSummary }
  | { type: "done" }
  | { type: "failure"; message: string };

/** The seed for codec `index` in a run seeded with `seed`. */
export function codecSeed(seed: number, index: number): number {
  return (seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<FuzzJob>) => void) | null;
  postMessage(message: FuzzMessage): void;
};

scope.onmessage = async ({ data: job }) => {
  try {
    for (const index of job.codecs) {
      const summary = await fuzzCodec(
        CODECS[index]!,
        codecSeed(job.seed, index),
        job.inputs,
        job.streamEvery,
        (codec, input) => scope.postMessage({ type: "progress", codec, input }),
      );
      scope.postMessage({ type: "summary", summary });
    }
    scope.postMessage({ type: "done" });
  } catch (error) {
    scope.postMessage({
      type: "failure",
      message: error instanceof Error ? error.message : String(error),
    });
  }
};
