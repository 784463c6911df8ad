/**
 * The soak run's client counters: what each kind of client did (sessions,
 * requests, bytes sent and verified, outcomes), shared by the scenarios in
 * `bench/soak/`.
 *
 * @module
 */

/** What one kind of client did. */
export interface KindStats {
  sessions: number;
  requests: number;
  bytesSent: number;
  bytesVerified: number;
  corrupted: number;
  outcomes: Map<string, number>;
}

/** Every kind of client of the run, by name (`"echo: normal"`). */
export const kinds: Map<string, KindStats> = new Map();

/** The counters of one kind of client, made on first use. */
export function stats(kind: string): KindStats {
  let entry = kinds.get(kind);
  if (entry === undefined) {
    entry = {
      sessions: 0,
      requests: 0,
      bytesSent: 0,
      bytesVerified: 0,
      corrupted: 0,
      outcomes: new Map(),
    };
    kinds.set(kind, entry);
  }
  return entry;
}

/** Adds `n` to `map`'s count of `key`. */
export function count(map: Map<string, number>, key: string, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** A short name for what went wrong: the error's class, or its message. */
export function errorKind(error: unknown): string {
  if (error instanceof Error) {
    return error.name === "Error" ? error.message.slice(0, 40) : error.name;
  }
  return String(error);
}

/** A random integer in `[0, max)`. */
export function random(max: number): number {
  return Math.floor(Math.random() * max);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
