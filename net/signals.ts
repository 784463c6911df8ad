/**
 * {@linkcode shutdownOnSignals}: a server that stops gracefully on Ctrl-C
 * (SIGINT), SIGTERM or SIGHUP (its terminal closing), and at once on a
 * second signal — what a Python server does with
 * `signal.signal(SIGTERM, …)` and a `KeyboardInterrupt` handler.
 *
 * @module
 */
/**
 * Options for a graceful shutdown: `tcp/`'s `Server.shutdown()`, `udp/`'s
 * `DatagramServer.shutdown()` and `RequestServer.shutdown()`, and every
 * {@linkcode GracefulServer}.
 */
export interface ShutdownOptions {
  /**
   * How long work in flight (a handler, a reply being sent) may take to
   * finish before what is left is closed, in milliseconds.
   *
   * @default {5000}
   */
  gracePeriod?: number;
}

/**
 * What {@linkcode shutdownOnSignals} needs of a server: a graceful
 * `shutdown()` and a `finished` promise. `tcp/`'s `Server` and `udp/`'s
 * `DatagramServer` and `RequestServer` are.
 *
 * @example A `Server` is a `GracefulServer`
 * ```ts
 * import { listen } from "@sockit/sockit/tcp";
 * import type { GracefulServer } from "@sockit/sockit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const server: GracefulServer = listen({ port: 0 }, () => {});
 * await server.shutdown({ gracePeriod: 0 });
 * assertEquals(await server.finished, undefined);
 * ```
 */
export interface GracefulServer {
  /**
   * Stops accepting, lets in-flight work finish for up to `gracePeriod`,
   * then closes what is left.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** Settles when the server has stopped and its handlers have finished. */
  readonly finished: Promise<void>;
}

/** Options for {@linkcode shutdownOnSignals}. */
export interface ShutdownOnSignalsOptions {
  /**
   * How long handlers may take to finish after the first signal before their
   * connections are closed, in milliseconds (`Server.shutdown`'s
   * `gracePeriod`).
   *
   * @default {5000}
   */
  gracePeriod?: number;
  /**
   * The signals to handle. The exit code on a second signal is 128 plus the
   * signal's number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
   *
   * SIGHUP is sent when the terminal a server runs in closes; unhandled,
   * it ends the process at once, with no graceful shutdown and no
   * `unload` event. Handling it overrides `nohup`, which works by ignoring
   * it (and Deno cannot tell that it was ignored): to keep a server running
   * after its terminal closes, start it in a session of its own
   * (`setsid`), under a service manager, or pass signals without
   * `"SIGHUP"`.
   *
   * @default {["SIGINT", "SIGTERM", "SIGHUP"]; ["SIGINT", "SIGBREAK"] on Windows}
   */
  signals?: readonly Deno.Signal[];
  /**
   * Called when a signal arrives, before acting on it: `"shutdown"` for the
   * first, `"exit"` for a second. By default a line goes to stderr:
   * `shutting down (signal SIGINT), Ctrl-C again to stop at once`.
   */
  onSignal?: (signal: Deno.Signal, action: "shutdown" | "exit") => void;
  /**
   * Ends the process on a second signal.
   *
   * @default {Deno.exit}
   */
  exit?: (code: number) => void;
}

/** Signal numbers, for exit codes (128 + number, as shells report). */
const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGTERM: 15,
  SIGBREAK: 21,
  ...(Deno.build.os === "linux"
    ? { SIGUSR1: 10, SIGUSR2: 12 }
    : { SIGUSR1: 30, SIGUSR2: 31 }),
};

const DEFAULT_GRACE_PERIOD = 5000;

function defaultSignals(): readonly Deno.Signal[] {
  return Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
}

function defaultOnSignal(
  signal: Deno.Signal,
  action: "shutdown" | "exit",
): void {
  console.error(
    action === "shutdown"
      ? `shutting down (signal ${signal}), Ctrl-C again to stop at once`
      : `stopping at once (signal ${signal})`,
  );
}

/**
 * Shuts `server` down gracefully on the first SIGINT, SIGTERM or SIGHUP
 * (the terminal closing): it stops accepting, lets in-flight work finish
 * for up to `gracePeriod`, then closes what is left
 * (`server.shutdown({ gracePeriod })`). A second signal ends the process at
 * once with the shell's code for it: 130 for SIGINT, 143 for SIGTERM, 129
 * for SIGHUP. (Handling SIGHUP overrides `nohup`: see `signals`.)
 *
 * The signal listeners are removed when the server has finished, or when
 * the returned `Disposable` is disposed, whichever comes first; they do not
 * keep the process alive by themselves.
 *
 * @param server The server to shut down.
 * @param options Grace period, signals, a callback and the exit function.
 * @returns A `Disposable` that removes the signal listeners (`using`).
 * @throws {RangeError} If `gracePeriod` is negative or not a number.
 * @throws {TypeError} If a signal is not supported on this platform.
 *
 * @example Serve until Ctrl-C
 * ```ts
 * import { listen } from "@sockit/sockit/tcp";
 * import { shutdownOnSignals } from "@sockit/sockit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const server = listen({ port: 0 }, (conn) => conn.write("hi"));
 * const signals = shutdownOnSignals(server, { gracePeriod: 1000 });
 * // …until a signal arrives; here we stop without one.
 * signals[Symbol.dispose]();
 * await server.shutdown();
 * assertEquals(server.connections, 0);
 * ```
 */
export function shutdownOnSignals(
  server: GracefulServer,
  options: ShutdownOnSignalsOptions = {},
): Disposable {
  const gracePeriod = options.gracePeriod ?? DEFAULT_GRACE_PERIOD;
  if (typeof gracePeriod !== "number" || !(gracePeriod >= 0)) {
    throw new RangeError(
      `Cannot use gracePeriod ${gracePeriod}: give milliseconds (>= 0)`,
    );
  }
  const signals = [...new Set(options.signals ?? defaultSignals())];
  const onSignal = options.onSignal ?? defaultOnSignal;
  const exit = options.exit ?? Deno.exit;
  const listeners = new Map<Deno.Signal, () => void>();
  let shuttingDown = false;
  let removed = false;

  const remove = () => {
    if (removed) return;
    removed = true;
    for (const [signal, listener] of listeners) {
      try {
        Deno.removeSignalListener(signal, listener);
      } catch { /* already gone */ }
    }
    listeners.clear();
  };

  const handle = (signal: Deno.Signal) => {
    if (!shuttingDown) {
      shuttingDown = true;
      onSignal(signal, "shutdown");
      server.shutdown({ gracePeriod }).catch(() => {});
      return;
    }
    onSignal(signal, "exit");
    remove();
    exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
  };

  try {
    for (const signal of signals) {
      const listener = () => handle(signal);
      Deno.addSignalListener(signal, listener);
      listeners.set(signal, listener);
    }
  } catch (error) {
    remove();
    throw new TypeError(
      `Cannot listen for ${signals.join(", ")} on ${Deno.build.os}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  server.finished.then(remove, remove);
  return { [Symbol.dispose]: remove };
}
