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
      if (left > 0) arm(left);
      else fn();
    }, Math.min(Math.max(delay, 0), MAX_DELAY));
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * Calls `onIdle(target)` once the watch's `last` activity (a
 * `performance.now()` time, which the caller updates:
 * `watch.last = performance.now()`) lies `timeout` ms in the past; activity
 * costs a timestamp, not a timer. Returns the watch, for
 * {@linkcode unwatchIdle}.
 *
 * Every watch shares one timer (a wheel of {@linkcode SLOT} ms slots): a
 * connection parked for minutes holds a small record, not a timer of its
 * own. A watch fires at most one slot late, never early. A caller with many
 * watches passes one shared `onIdle` and each its `target`, rather than a
 * closure per watch.
 */
export function watchIdle<T = undefined>(
  timeout: number,
  onIdle: (target: T) => void,
  last: number = performance.now(),
  target?: T,
): Watch {
  const watch: Watch = {
    timeout,
    last,
    onIdle: onIdle as (target: unknown) => void,
    target,
    slot: -1,
  };
  if (timeout !== Infinity) schedule(watch, last + timeout);
  return watch;
}

/** Cancels a watch made by {@linkcode watchIdle} (idempotent). */
export function unwatchIdle(watch: Watch): void {
  unschedule(watch);
}

/** Slot width of the idle wheel, in milliseconds. */
const SLOT = 8;

/** A watch made by {@linkcode watchIdle}. */
export interface Watch {
  readonly timeout: number;
  /** The last activity, a `performance.now()` time. */
  last: number;
  readonly onIdle: (target: unknown) => void;
  /** What `onIdle` is called with. */
  readonly target: unknown;
  /** The slot it waits in; -1 once fired or cancelled. */
  slot: number;
}

/** Watches by slot (deadline / SLOT, rounded up). */
const slots = new Map<number, Set<Watch>>();
/** A min-heap of slot numbers; a number whose slot is gone is skipped. */
const heap: number[] = [];
let watching = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let timerSlot = Infinity;

function schedule(watch: Watch, deadline: number): void {
  const slot = Math.ceil(deadline / SLOT);
  watch.slot = slot;
  watching++;
  let set = slots.get(slot);
  if (set === undefined) {
    slots.set(slot, set = new Set());
    heapPush(slot);
  }
  set.add(watch);
  if (slot < timerSlot) arm(slot);
}

function unschedule(watch: Watch): void {
  const slot = watch.slot;
  if (slot === -1) return;
  watch.slot = -1;
  watching--; // a watch being fired has left its slot already
  const set = slots.get(slot);
  if (set !== undefined && set.delete(watch) && set.size === 0) {
    slots.delete(slot);
  }
  if (watching === 0) {
    clearTimeout(timer);
    timer = undefined;
    timerSlot = Infinity;
    slots.clear();
    heap.length = 0;
  }
}

function arm(slot: number): void {
  clearTimeout(timer);
  timerSlot = slot;
  const delay = slot * SLOT - performance.now();
  timer = setTimeout(fire, Math.min(Math.max(delay, 0), MAX_DELAY));
}

function fire(): void {
  timer = undefined;
  timerSlot = Infinity;
  const now = performance.now();
  const due: Watch[] = [];
  while (heap.length > 0 && heap[0]! * SLOT <= now + 1) {
    const slot = heapPop();
    const set = slots.get(slot);
    if (set === undefined) continue;
    slots.delete(slot);
    for (const watch of set) due.push(watch);
  }
  for (const watch of due) {
    if (watch.slot === -1) continue; // cancelled by an earlier onIdle
    watch.slot = -1;
    watching--;
    const last = watch.last;
    if (now - last >= watch.timeout) {
      watch.onIdle(watch.target);
    } else {
      schedule(watch, last + watch.timeout);
    }
  }
  while (heap.length > 0 && !slots.has(heap[0]!)) heapPop();
  if (heap.length > 0 && heap[0]! < timerSlot) arm(heap[0]!);
}

function heapPush(value: number): void {
  let i = heap.push(value) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = value;
}

function heapPop(): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && heap[child + 1]! < heap[child]!) child++;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
  return top;
}
