// The one read that may wait at a time on a socket: a TCP Connection's
// read() or a DatagramSocket's receive(). Private to tcp/ and udp/.
import { after } from "./timer.ts";
import { TimeoutError } from "../net/mod.ts";

function timedOut(ms: number): TimeoutError {
  return new TimeoutError(`Timed out after ${ms} ms`, ms);
}

/**
 * A waiting read's promise callbacks and what disarms its timeout, signal
 * or timer. The socket read itself runs apart from it: when a timeout or an
 * abort ends the wait, the data that comes later stays for the next read.
 *
 * A read that waits parks one promise here, not a suspended async function
 * and a promise race: an idle connection costs less, a busy one less work.
 */
export class Waiter<T> {
  #resolve: ((value: T) => void) | null = null;
  #reject: ((error: unknown) => void) | null = null;
  #disarm: (() => void) | null = null;

  /** Whether a read waits. */
  get waiting(): boolean {
    return this.#resolve !== null;
  }

  /**
   * Starts a wait. After `timeout` ms it fails with `timeoutError(timeout)`
   * (a `TimeoutError` naming the socket); when `signal` aborts, with the
   * signal's reason.
   */
  wait(
    timeout: number | null,
    signal: AbortSignal | undefined,
    timeoutError?: (ms: number) => unknown,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      if (timeout !== null || signal !== undefined) {
        this.#arm(timeout, signal, timeoutError ?? timedOut);
      }
    });
  }

  /** Replaces the wait's timeout and signal with a timer calling `onTime`. */
  setTimer(ms: number, onTime: () => void): void {
    this.#disarmNow();
    this.#disarm = after(ms, onTime);
  }

  /**
   * Ends the wait with what `take` (called on `self`) returns, or with what
   * it throws.
   */
  settle<S>(take: (this: S) => T, self: S): void {
    let value: T;
    try {
      value = take.call(self);
    } catch (error) {
      this.reject(error);
      return;
    }
    this.resolve(value);
  }

  /** Ends the wait with `value`; nothing if none waits. */
  resolve(value: T): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#end();
    resolve(value);
  }

  /** Ends the wait with `error`; nothing if none waits. */
  reject(error: unknown): void {
    const reject = this.#reject;
    if (reject === null) return;
    this.#end();
    reject(error);
  }

  #end(): void {
    this.#resolve = this.#reject = null;
    this.#disarmNow();
  }

  #disarmNow(): void {
    const disarm = this.#disarm;
    if (disarm !== null) {
      this.#disarm = null;
      disarm();
    }
  }

  #arm(
    timeout: number | null,
    signal: AbortSignal | undefined,
    timeoutError: (ms: number) => unknown,
  ): void {
    let cancelTimer: (() => void) | null = null;
    if (timeout !== null) {
      cancelTimer = after(timeout, () => this.reject(timeoutError(timeout)));
    }
    if (signal === undefined) {
      this.#disarm = cancelTimer;
      return;
    }
    const onAbort = () => this.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#disarm = () => {
      cancelTimer?.();
      signal.removeEventListener("abort", onAbort);
    };
  }
}
