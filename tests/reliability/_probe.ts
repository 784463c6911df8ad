/**
 * Runs a server tool (`echo` or `time`) exactly as `deno run tools/NAME.ts`
 * would, plus a control channel for the reliability tests: each `stats`
 * line on stdin runs a full garbage collection (V8's `gc()`, exposed by
 * `--v8-flags=--expose-gc`) and answers with one JSON line on stdout:
 * `{ rss, heapUsed, heapTotal, external }` (bytes), or `{ error }`. The
 * tools write nothing to stdout, so the channel is free. (Deno refuses a
 * process its own `/proc/self` without `--allow-all`: the tests count its
 * file descriptors from outside, in `/proc/PID/fd`.)
 *
 * Usage: `deno run --v8-flags=--expose-gc --allow-net --allow-read
 * --allow-write tests/reliability/_probe.ts echo --port 0 --quiet`
 *
 * @module
 */
import { main as echo } from "../../tools/echo.ts";
import { main as time } from "../../tools/time.ts";

const TOOLS: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  echo,
  time,
};

function stats(): string {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error("Run the probe with --v8-flags=--expose-gc");
  }
  gc();
  gc(); // a second pass frees what the first one finalized
  const memory = Deno.memoryUsage();
  return JSON.stringify({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
  });
}

async function control(): Promise<void> {
  let pending = "";
  for await (
    const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  ) {
    pending += text;
    for (let newline; (newline = pending.indexOf("\n")) !== -1;) {
      const command = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (command !== "stats") continue;
      try {
        console.log(stats());
      } catch (error) {
        console.log(JSON.stringify({ error: String(error) }));
      }
    }
  }
}

if (import.meta.main) {
  const [name, ...args] = Deno.args;
  const tool = name === undefined ? undefined : TOOLS[name];
  if (tool === undefined) {
    console.error(`_probe: give a tool: ${Object.keys(TOOLS).join(", ")}`);
    Deno.exit(2);
  }
  control().catch(() => {}); // stdin closed: nothing more to answer
  Deno.exit(await tool(args));
}
