// relay() between two connections (socat's job): bytes both ways, half-close
// carried through, backpressure, and the graceful drain of a server's
// shutdown passed on from one side to the other. Private to relay/.
import type { Connection } from "../tcp/mod.ts";
import { checkRelayOptions, pumpAll, watchRelayEnds } from "./_streams.ts";
import type { RelayEndReason, RelayOptions, RelayResult } from "./stream.ts";

/**
 * The buffer a streaming direction reads into, reused for every chunk: the
 * most bytes one direction holds (besides the connection's own read
 * buffer, at most a quarter of this while it reads small chunks).
 */
export const STREAM_BUFFER = 64 * 1024;

/**
 * Reads a connection a chunk at a time for a relay that writes each chunk
 * before asking for the next: small chunks come from `read()` (an idle
 * connection parks a small buffer); once a chunk of a quarter of
 * {@linkcode STREAM_BUFFER} or more arrives, chunks are read into one
 * buffer of the relay's own, reused (nothing allocated per chunk), until
 * the connection goes quiet again.
 */
class ChunkReader {
  readonly #conn: Connection;
  #buffer: Uint8Array | null = null;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** The next chunk (valid until the next call), or `null` at EOF. */
  async next(): Promise<Uint8Array | null> {
    const buffer = this.#buffer;
    if (buffer === null) {
      const chunk = await this.#conn.read();
      if (chunk !== null && chunk.length >= STREAM_BUFFER / 4) {
        this.#buffer = new Uint8Array(STREAM_BUFFER);
      }
      return chunk;
    }
    const n = await this.#conn.readInto(buffer);
    if (n === null) return null;
    if (n < STREAM_BUFFER / 16) this.#buffer = null;
    return buffer.subarray(0, n);
  }
}

/**
 * Relays between `conn` and `other`: `other`'s bytes are sent to `conn`
 * (`bytesSent`), `conn`'s bytes to `other` (`bytesReceived`). EOF on one
 * side is FIN on the other; a side whose reading a server's shutdown
 * stopped stops the other's reading too, so a direction in mid-transfer
 * finishes while an idle one ends ("stopped"). Closes both when it ends.
 */
export async function relayConnections(
  conn: Connection,
  other: Connection,
  options: RelayOptions,
): Promise<RelayResult> {
  if (other === conn) {
    throw new TypeError(
      "Cannot relay a connection to itself: give two connections",
    );
  }
  checkRelayOptions(options, "relay");
  const sendOnly = options.sendOnly ?? false;
  const recvOnly = options.recvOnly ?? false;
  const noHalfClose = options.noHalfClose ?? false;
  const endWithPeer = options.endWithPeer ?? false;
  const { idleTimeout, signal, onTraffic } = options;
  signal?.throwIfAborted();

  let ending = false;
  let reason: RelayEndReason = "complete";
  let failed = false;
  let failure: unknown = undefined;
  let inputDone = recvOnly;
  let outputDone = false;
  let drained = false;
  let bytesSent = 0;
  let bytesReceived = 0;

  const stop = (why: RelayEndReason | null, error?: unknown) => {
    if (ending) return;
    ending = true;
    if (why === null) {
      failed = true;
      failure = error;
    } else {
      reason = why;
    }
    // Closing wakes a pending read (with an error the pumps ignore now)
    // and interrupts a pending write.
    conn.close();
    other.close();
  };

  const { touch, unwatch } = watchRelayEnds(idleTimeout, signal, stop);

  /** Both directions are done: how it ended. */
  const finish = () => {
    if (inputDone && outputDone) stop(drained ? "stopped" : "complete");
  };

  // other → conn
  const pumpInput = async (): Promise<void> => {
    if (recvOnly) return;
    const chunks = new ChunkReader(other);
    for (;;) {
      const chunk = await chunks.next();
      if (ending) return;
      if (chunk === null) break;
      touch();
      await conn.write(chunk);
      if (ending) return;
      bytesSent += chunk.length;
      touch();
      onTraffic?.("sent", chunk);
    }
    if (other.readingStopped) {
      drained = true;
      conn.stopReading();
    } else {
      if (noHalfClose) return stop("input-ended");
      await conn.shutdown("write");
      if (ending) return;
    }
    inputDone = true;
    finish();
  };

  // conn → other
  const pumpOutput = async (): Promise<void> => {
    const chunks = new ChunkReader(conn);
    for (;;) {
      const chunk = await chunks.next();
      if (ending) return;
      if (chunk === null) break;
      bytesReceived += chunk.length;
      touch();
      onTraffic?.("received", chunk);
      if (!sendOnly) {
        await other.write(chunk);
        if (ending) return;
        touch();
      }
    }
    if (conn.readingStopped) {
      drained = true;
      other.stopReading();
    } else {
      await other.shutdown("write");
      if (ending) return;
      if (endWithPeer) return stop("peer-closed");
    }
    outputDone = true;
    finish();
  };

  try {
    await pumpAll([pumpInput(), pumpOutput()], stop);
  } finally {
    stop(reason); // no-op unless something ended without saying so
    unwatch();
  }
  if (failed) throw failure;
  return { reason, bytesSent, bytesReceived };
}
