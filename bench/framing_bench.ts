/**
 * Message framing, side by side in one run: our codecs (push decoding) and
 * `FrameDecoderStream` around them against `@std/streams`' `DelimiterStream`
 * and `TextLineStream`, and the length-prefix codec against one plain copy
 * of the same bytes (`Uint8Array.prototype.set`, the physical limit).
 *
 * Every benchmark decodes the same prepared input per iteration: 1 MiB of
 * frames, cut into 64 KiB chunks as a socket read would deliver them.
 * {@linkcode UNITS} says how many frames and bytes one iteration is, so
 * `bench/table.ts` can report frames/s and MB/s.
 *
 * Run: `deno bench bench/framing_bench.ts`, or `deno task bench:table`.
 *
 * @module
 */
import { DelimiterStream as StdDelimiterStream } from "@std/streams/delimiter-stream";
import { TextLineStream as StdTextLineStream } from "@std/streams/text-line-stream";
import {
  delimited,
  type DelimiterCodec,
  type FrameCodec,
  FrameDecoderStream,
  type LengthPrefixCodec,
  lengthPrefixed,
  lines,
} from "../framing/mod.ts";
import type { BenchUnits } from "./table.ts";

// The npm build of @std/streams ships no types: type it at this boundary.
const DelimiterStream = StdDelimiterStream as new (
  delimiter: Uint8Array,
) => TransformStream<Uint8Array, Uint8Array>;
const TextLineStream = StdTextLineStream as new () => TransformStream<
  string,
  string
>;

/** Frames and bytes per iteration, by `group/name`, for `bench/table.ts`. */
export const UNITS: Record<string, BenchUnits> = {};

const TOTAL = 1 << 20;
const CHUNK = 64 * 1024;

function chunked(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) {
    chunks.push(bytes.slice(at, at + CHUNK));
  }
  return chunks;
}

/** `TOTAL` bytes of `size`-byte records (the last byte of each a `\n`). */
function records(size: number): { chunks: Uint8Array[]; frames: number } {
  const frames = Math.floor(TOTAL / size);
  const bytes = new Uint8Array(frames * size);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = (i + 1) % size === 0 ? 0x0a : 0x61 + (i % 26);
  }
  return { chunks: chunked(bytes), frames };
}

let sink = 0;

function pushRangesAll(
  decoder: DelimiterCodec | LengthPrefixCodec,
  chunks: Uint8Array[],
): number {
  let count = 0;
  const onRange = () => {
    count++;
  };
  const onFrame = () => {
    count++;
  };
  for (const chunk of chunks) decoder.pushRanges(chunk, onRange);
  decoder.end(onFrame);
  return count;
}

function pushAll(decoder: FrameCodec, chunks: Uint8Array[]): number {
  let count = 0;
  const onFrame = () => {
    count++;
  };
  for (const chunk of chunks) decoder.push(chunk, onFrame);
  decoder.end(onFrame);
  return count;
}

async function drain<T>(stream: ReadableStream<T>): Promise<number> {
  let count = 0;
  for await (const _ of stream) count++;
  return count;
}

function add(
  group: string,
  name: string,
  units: { frames: number; bytes: number },
  fn: () => number | Promise<number>,
  baseline = false,
  extraFrames = 0,
): void {
  UNITS[`${group}/${name}`] = { ops: units.frames, bytes: units.bytes };
  Deno.bench({
    group,
    name,
    baseline,
    // Enough samples that GC pauses average out on a busy machine.
    warmup: 50,
    n: 400,
    async fn() {
      const frames = await fn();
      if (frames < units.frames || frames > units.frames + extraFrames) {
        throw new Error(`${name}: ${frames} frames, expected ${units.frames}`);
      }
      sink += frames;
    },
  });
}

for (const size of [64, 4096]) {
  const { chunks, frames } = records(size);
  const strings = chunks.map((chunk) => new TextDecoder().decode(chunk));
  const units = { frames, bytes: frames * size };
  const group = `delimiter, ${size}-byte records`;
  const newline = new Uint8Array([0x0a]);
  add(
    group,
    "@std DelimiterStream",
    units,
    () =>
      drain(
        ReadableStream.from(chunks).pipeThrough(new DelimiterStream(newline)),
      ),
    true,
    1, // it hands out an empty frame after a final delimiter
  );
  add(
    group,
    "@std TextLineStream (string chunks)",
    units,
    () => drain(ReadableStream.from(strings).pipeThrough(new TextLineStream())),
  );
  add(
    group,
    "sockit FrameDecoderStream",
    units,
    () =>
      drain(
        ReadableStream.from(chunks).pipeThrough(
          new FrameDecoderStream(delimited(newline)),
        ),
      ),
  );
  add(
    group,
    "sockit FrameDecoderStream (lines)",
    units,
    () =>
      drain(
        ReadableStream.from(chunks).pipeThrough(
          new FrameDecoderStream(lines()),
        ),
      ),
  );
  add(
    group,
    "sockit DelimiterCodec (push)",
    units,
    () => pushAll(delimited(newline), chunks),
  );
  add(
    group,
    "sockit DelimiterCodec (push, lines)",
    units,
    () => pushAll(lines(), chunks),
  );
  add(
    group,
    "sockit DelimiterCodec (pushRanges)",
    units,
    () => pushRangesAll(delimited(newline), chunks),
  );
}

const COPY_TARGET = new Uint8Array(TOTAL + CHUNK);

for (const size of [16, 1024, 64 * 1024]) {
  const encoder = lengthPrefixed({ header: "u32be" });
  const count = Math.max(1, Math.floor(TOTAL / (size + 4)));
  const payload = new Uint8Array(size).fill(0x61);
  const stream = encoder.encodeAll(
    Array.from({ length: count }, () => payload),
  );
  const chunks = chunked(stream);
  const units = { frames: count, bytes: stream.length };
  const group = `length prefix (u32be), ${size}-byte frames`;
  add(group, "Uint8Array#set, one copy (the limit)", units, () => {
    let at = 0;
    for (const chunk of chunks) {
      COPY_TARGET.set(chunk, at);
      at += chunk.length;
    }
    return at === stream.length ? count : -1;
  }, true);
  add(
    group,
    "sockit FrameDecoderStream",
    units,
    () =>
      drain(
        ReadableStream.from(chunks).pipeThrough(
          new FrameDecoderStream(lengthPrefixed()),
        ),
      ),
  );
  add(
    group,
    "sockit LengthPrefixCodec (push)",
    units,
    () => pushAll(lengthPrefixed(), chunks),
  );
  add(
    group,
    "sockit LengthPrefixCodec (pushRanges)",
    units,
    () => pushRangesAll(lengthPrefixed(), chunks),
  );
}

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log("unreachable");
});
