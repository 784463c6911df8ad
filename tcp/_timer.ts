// Timers for any duration: setTimeout clamps delays over 2**31-1 ms to 1 ms,
// so longer ones are chained, and Infinity sets no timer at all. Private to
// tcp/ (udp/ may use it too).

const MAX_DELAY = 2 ** 31 - 1;

/**
 * Calls `fn` after `ms` milliseconds (never, for `Infinity`). Returns a
 * function that cancels it.
 */
export function after(ms: number, fn: () => void): () => void {
  if (ms === Infinity) return () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = performance.now() + ms;
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const left = deadline - performance.now();
      if (left > 1) arm(left);
      else fn();
    }, Math.min(Math.max(delay, 0), MAX_DELAY));
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * Calls `onIdle` once `lastActivity()` (a `performance.now()` time) lies
 * `timeout` ms in the past; while there is activity it re-arms for what is
 * left, so activity costs a timestamp, not a timer. Returns a function that
 * cancels it.
 */
export function watchIdle(
  timeout: number,
  lastActivity: () => number,
  onIdle: () => void,
): () => void {
  let cancel = () => {};
  const arm = (delay: number) => {
    cancel = after(delay, () => {
      const quiet = performance.now() - lastActivity();
      if (quiet >= timeout - 1) onIdle();
      else arm(timeout - quiet);
    });
  };
  arm(timeout);
  return () => cancel();
}
