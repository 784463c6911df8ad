/**
 * Private helpers for `udp/`: finding `Deno.listenDatagram`, IP address
 * parsing and comparison, error wrapping and a cancellable delay.
 *
 * @module
 */

/** `Deno.listenDatagram`, or a clear error when `--unstable-net` is missing. */
export function listenDatagramApi(): typeof Deno.listenDatagram {
  const api = (Deno as { listenDatagram?: unknown }).listenDatagram;
  if (typeof api !== "function") {
    throw new Deno.errors.NotSupported(
      'Cannot open a datagram socket as Deno.listenDatagram is unstable and not enabled: run Deno with --unstable-net (or put "unstable": ["net"] in deno.json)',
    );
  }
  return api as typeof Deno.listenDatagram;
}

/** Rewrites a Deno error's message as `Cannot <action> <peer>: <message>`. */
export function wrapError(
  error: unknown,
  action: string,
  peer: string,
): unknown {
  if (!(error instanceof Error)) return error;
  const Class = error.constructor as new (
    message: string,
    options?: ErrorOptions,
  ) => Error;
  try {
    return new Class(`Cannot ${action} ${peer}: ${error.message}`, {
      cause: error,
    });
  } catch {
    return error;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; clears its timer. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
