/**
 * `ctime()` against Python's `time.ctime()`: the same text for the same
 * moments in several time zones (offsets, daylight saving, half hours),
 * run in a child process with `TZ` set.
 *
 * @module
 */
import { ctime } from "../../net/mod.ts";
import { ROOT } from "../_spawn.ts";
import { assertEquals, assertMatch } from "../_utils.ts";

const decoder = new TextDecoder();

/** Python's `time.ctime()`: weekday, month, day padded to 2, time, year. */
const CTIME =
  /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d \d{4}$/;

/** Runs `args[0]` with `TZ=zone` and returns its stdout lines. */
async function outputLines(zone: string, args: string[]): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    env: { TZ: zone },
    stdin: "null",
  }).output();
  assertEquals(code, 0, decoder.decode(stderr));
  return decoder.decode(stdout).trimEnd().split("\n");
}

// Seconds since the epoch, as Python takes them.
const TIMESTAMPS = [
  0, // the epoch
  1, // one second later
  -1.5, // before the epoch, fractional: Python floors
  1.999, // fractional: floored, not rounded
  86399, // the last second of a day
  951782400, // 2000-02-29, a leap day
  978307199, // the last second of 2000
  1000000000, // a single-digit day (Sep  9 2001)
  1699164000, // 2023-11-05 06:00 UTC: New York falls back
  1710054000, // 2024-03-10 07:00 UTC: New York springs forward
  1712415599, // Lord Howe: the last second of daylight time, 2024
  1712415600, // Lord Howe: back half an hour
  1795821979, // late November 2026
  2147483647, // the last 32-bit time_t
  2147483648, // past it
  4102444800, // 2100-01-01, not a leap year
  32503680000, // the year 3000
];

for (
  const zone of [
    "UTC", // no offset
    "America/New_York", // DST, behind UTC
    "Australia/Lord_Howe", // half-hour DST, ahead of UTC
    "Asia/Kolkata", // half-hour offset, no DST
  ]
) {
  Deno.test(`ctime() formats as Python's time.ctime() with TZ=${zone}`, async () => {
    const json = JSON.stringify(TIMESTAMPS);
    const ctimeUrl = new URL("net/ctime.ts", ROOT).href;
    const [python, ours] = await Promise.all([
      outputLines(zone, [
        "python3",
        "-c",
        "import json, sys, time\nfor t in json.loads(sys.argv[1]): print(time.ctime(t))",
        json,
      ]),
      outputLines(zone, [
        Deno.execPath(),
        "eval",
        "--no-config",
        `import { ctime } from ${JSON.stringify(ctimeUrl)};
for (const t of ${json}) console.log(ctime(new Date(t * 1000)));`,
      ]),
    ]);
    assertEquals(ours, python);
    for (const line of ours) assertMatch(line, CTIME);
  });
}

Deno.test("ctime() pads a single-digit day with a space", () => {
  const date = new Date(2026, 10, 2, 3, 4, 5); // local time
  assertEquals(ctime(date), "Mon Nov  2 03:04:05 2026");
});
