// A growable byte buffer for the part of a frame that has arrived so far.
// Private to framing/: decoders use it to keep bytes between pushes.

const MIN_CAPACITY = 256;

/**
 * Holds the bytes of one partial frame. Appending copies (the caller may
 * reuse its chunk); capacity doubles, so assembling a frame from many small
 * chunks costs linear time, and never grows past `cap` bytes.
 */
export class FrameBuffer {
  #bytes: Uint8Array = new Uint8Array(0);
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** The byte at `index` (which must be below `length`). */
  at(index: number): number {
    return this.#bytes[index]!;
  }

  /**
   * Appends `bytes`, growing to at most `cap` bytes of capacity (the caller
   * makes sure the total stays within it).
   */
  append(bytes: Uint8Array, cap: number): void {
    const needed = this.#length + bytes.length;
    if (needed > this.#bytes.length) {
      let capacity = Math.max(MIN_CAPACITY, this.#bytes.length * 2);
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(Math.max(needed, Math.min(capacity, cap)));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(bytes, this.#length);
    this.#length = needed;
  }

  /** The bytes held, as a view; valid until the next `append` or `take`. */
  peek(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /**
   * Hands out the first `length` bytes held (all by default) as a view the
   * buffer no longer touches, and empties the buffer.
   */
  take(length: number = this.#length): Uint8Array {
    const frame = this.#bytes.subarray(0, length);
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
    return frame;
  }

  /**
   * Empties the buffer but keeps its memory for the next frame: for a frame
   * handed out as a range (valid during the call only), never as a view.
   */
  reset(): void {
    this.#length = 0;
  }

  /** Drops everything held and releases the memory. */
  clear(): void {
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
  }
}
