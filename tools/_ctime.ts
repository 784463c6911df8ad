/**
 * Python's `time.ctime()` format, for the `time` tool.
 *
 * @module
 */

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
] as const;

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Formats `date` in local time exactly as Python's `time.ctime()` does:
 * `Sun Nov 22 23:46:19 2026` — weekday, month, the day padded with a space
 * to width 2, `HH:MM:SS`, the year. The time zone is the process's (`TZ`).
 *
 * @param date The moment; now by default.
 * @returns The `ctime` text.
 *
 * @example The Unix epoch, in the process's zone
 * ```ts
 * import { ctime } from "./_ctime.ts";
 * import { assertMatch } from "@std/assert";
 *
 * assertMatch(ctime(new Date(0)), /^(Wed Dec 31|Thu Jan  1) \d\d:\d\d:\d\d 19(69|70)$/);
 * ```
 */
export function ctime(date: Date = new Date()): string {
  const day = date.getDate();
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${
    day < 10 ? ` ${day}` : day
  } ${two(date.getHours())}:${two(date.getMinutes())}:${
    two(date.getSeconds())
  } ${date.getFullYear()}`;
}
