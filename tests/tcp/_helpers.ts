/**
 * Small helpers shared by the tcp tests: payload patterns, an echo handler,
 * reading to EOF, deferred promises and a bounded wait.
 *
 * @module
 */
import type { Connection, Server } from "../../tcp/mod.ts";
import { concatBytes } from "../_utils.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** `data` decoded as UTF-8 (`null` stays `null`). */
export function text(data: Uint8Array | null): string | null {
  return data === null ? null : decoder.decode(data);
}

/**
 * `size` bytes that depend on `index`: client `i`'s payload differs from
 * every other client's at its first byte and throughout.
 */
export function pattern(index: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = (index * 131 + i * 7 + (i >> 8)) & 0xff;
  }
  out[0] = index & 0xff;
  if (size > 1) out[1] = (index >> 8) & 0xff;
  return out;
}

/** A handler that writes back everything it reads, until EOF. */
export async function echo(conn: Connection): Promise<void> {
  for (let data; (data = await conn.read()) !== null;) await conn.write(data);
}

/** Reads until EOF and returns everything read. */
export async function readAll(conn: Connection): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let data; (data = await conn.read()) !== null;) chunks.push(data);
  return concatBytes(chunks);
}

/**
 * Reads until the peer is gone: `"eof"` for a clean EOF, `"reset"` for a
 * connection reset (both mean the peer closed the connection).
 */
export async function readUntilGone(
  conn: Connection,
): Promise<"eof" | "reset"> {
  try {
    while ((await conn.read()) !== null) { /* drain */ }
    return "eof";
  } catch (error) {
    if (
      error instanceof Deno.errors.ConnectionReset ||
      error instanceof Deno.errors.BrokenPipe
    ) {
      return "reset";
    }
    throw error;
  }
}

/** A promise with its resolve function, for handing events to the test. */
export interface Deferred<T> {
  /** Settles when `resolve` is called. */
  promise: Promise<T>;
  /** Resolves `promise`. */
  resolve: (value: T) => void;
}

/** Makes a {@linkcode Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  const { promise, resolve } = Promise.withResolvers<T>();
  return { promise, resolve };
}

/**
 * Waits until `condition()` holds, checking every 5 ms, for at most
 * `timeout` ms — for states with no event to wait on (a server's
 * connection count).
 *
 * @throws {Error} Naming `what`, if the time runs out.
 */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeout = 2000,
): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Settles with `promise`, or rejects if it takes more than `ms`. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not happen within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port that was free a moment ago: listened on, then closed. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A temporary directory that `await using` removes with its contents. */
export interface TempDir extends AsyncDisposable {
  /** The directory's absolute path. */
  path: string;
}

/** Makes a {@linkcode TempDir} for Unix socket files. */
export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: "sockit_tcp_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** The port of a TCP server. */
export function portOf(server: Server): number {
  if (!("port" in server.addr)) {
    throw new TypeError(`Expected a TCP server, not ${server.addr.path}`);
  }
  return server.addr.port;
}

/**
 * Runs `body` (TypeScript statements) with `deno eval` and no
 * `--unstable-net`, with `listen` and `listenWorkers` imported from
 * `tcp/`: what a user's script meets without the flag. Fails unless it
 * exits 0.
 *
 * @returns What it printed.
 */
export async function evalWithoutUnstableNet(body: string): Promise<string> {
  const script = `import { listen, listenWorkers } from ${
    JSON.stringify(new URL("../../tcp/mod.ts", import.meta.url).href)
  };\n${body}`;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--no-config",
      "--import-map",
      new URL("../../deno.json", import.meta.url).pathname,
      script,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`deno eval exited with ${code}`);
  return new TextDecoder().decode(stdout);
}
