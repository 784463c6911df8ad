/**
 * {@linkcode ctime}: Python's `time.ctime()`, the time stamp the classic
 * socket tutorials send (the timestamp server answers `[ctime] message`).
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
 * to width 2, `HH:MM:SS`, the year. The time zone is the process's (`TZ`);
 * the seconds are cut, not rounded, as Python floors its timestamp.
 *
 * @param date The moment; now by default.
 * @returns The `ctime` text, 24 characters for years 1000 to 9999.
 *
 * @example A timestamp server's answer, as in the Python tutorial
 * ```ts
 * import { ctime } from "@sockit/sockit/net";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * // Python: "[%s] %s" % (ctime(), data)
 * const reply = `[${ctime()}] hello`;
 * assertMatch(reply, /^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] hello$/);
 * // A day under 10 is padded with a space, as C's asctime() does.
 * assertEquals(ctime(new Date(2026, 10, 2, 3, 4, 5)), "Mon Nov  2 03:04:05 2026");
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
