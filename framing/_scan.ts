// Finding one byte value in a chunk, fast: WebAssembly SIMD (16 bytes a
// step) over 64 KiB windows for large chunks, the native indexOf for small
// ones or where WebAssembly is unavailable. Private to framing/.
import { SCAN_WASM_BASE64 } from "./_scan_wasm.ts";

/** Bytes scanned per WebAssembly call: the module's input area. */
const WINDOW = 65536;
/** Address of the module's output area (positions, one i32 each). */
const OUTPUT = 65536;
/** Below this many bytes, the call and the copy cost more than they save. */
const MIN_SIMD_BYTES = 512;

interface SimdScanner {
  input: Uint8Array;
  output: Int32Array;
  scan: (length: number, byte: number) => number;
}

function load(): SimdScanner | null {
  try {
    const binary = atob(SCAN_WASM_BASE64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const memory = instance.exports.memory as WebAssembly.Memory;
    return {
      input: new Uint8Array(memory.buffer, 0, WINDOW),
      output: new Int32Array(memory.buffer, OUTPUT, WINDOW),
      scan: instance.exports.scan as (length: number, byte: number) => number,
    };
  } catch {
    return null; // no WebAssembly (or no SIMD): indexOf does the job
  }
}

/** Compiled on first use: a program that never scans a long chunk pays nothing. */
let SIMD: SimdScanner | null | undefined;

const NONE = new Int32Array(0);

/**
 * Yields the positions of one byte value in a chunk, in increasing order.
 * Each byte is scanned at most once; positions are copied out of the shared
 * WebAssembly memory, so scanners never disturb each other.
 */
export class ByteScanner {
  #chunk: Uint8Array = new Uint8Array(0);
  #byte = 0;
  #simd = false;
  /** Positions found in the current window, relative to `#base`. */
  #found: Int32Array = NONE;
  #k = 0;
  #base = 0;
  /** Chunk index up to which windows have been scanned. */
  #scanned = 0;

  /** Starts on `chunk`, looking for `byte`. */
  reset(chunk: Uint8Array, byte: number): void {
    this.#chunk = chunk;
    this.#byte = byte;
    this.#simd = chunk.length >= MIN_SIMD_BYTES && (SIMD ??= load()) !== null;
    this.#found = NONE;
    this.#k = 0;
    this.#base = 0;
    this.#scanned = 0;
  }

  /** Index of the next byte at or after `from`, or -1. */
  next(from: number): number {
    if (!this.#simd) return this.#chunk.indexOf(this.#byte, from);
    for (;;) {
      const found = this.#found;
      const base = this.#base;
      while (this.#k < found.length) {
        const at = base + found[this.#k]!;
        if (at >= from) return at;
        this.#k++;
      }
      const length = this.#chunk.length;
      const start = Math.max(this.#scanned, from);
      if (start >= length) return -1;
      const end = Math.min(start + WINDOW, length);
      const simd = SIMD!;
      simd.input.set(this.#chunk.subarray(start, end));
      const count = simd.scan(end - start, this.#byte);
      this.#found = simd.output.slice(0, count);
      this.#k = 0;
      this.#base = start;
      this.#scanned = end;
    }
  }
}
