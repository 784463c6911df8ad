/**
 * Command-server clients that flood empty request lines and never read
 * (issue 19, the class of item 4 in rexec): each read of up to 16 KiB is
 * decoded 256 bytes at a time as lines are asked for, so a stalled client
 * holds its read buffer, at most 256 queued lines and the reply being
 * written — not one object per line of a read (16,384 for a read of empty
 * lines). Run in a child process that measures its own heap after full
 * garbage collections (`_rexec_flood.ts`); another client is served
 * before and after. The figures are printed.
 *
 * @module
 */
import { assert, assertLessOrEqual } from "../_utils.ts";
import { ROOT } from "../_spawn.ts";

const CLIENTS = 20;
const FLOOD_BYTES = 256 * 1024;
/**
 * Held per stalled client, at most: the 16 KiB read buffer, 256 line
 * items, a reply frame and the session's own objects; measured about
 * 130 KiB (before the fix, about 4 MiB).
 */
const BOUND_KIB = 256;

Deno.test("rexec clients that flood empty lines and never read hold a bounded amount each; others are served", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "-A",
      "tests/reliability/_rexec_flood.ts",
      String(CLIENTS),
      String(FLOOD_BYTES),
    ],
    cwd: ROOT,
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert(code === 0, new TextDecoder().decode(stderr));
  const result = JSON.parse(text);
  const perClient = (result.during - result.before) / CLIENTS;
  console.log(
    `rexec flood: ${CLIENTS} clients x ${
      FLOOD_BYTES / 1024
    } KiB of empty lines, never reading: ` +
      `${
        ((result.during - result.before) / 1024).toFixed(0)
      } KiB more at most ` +
      `(${result.samples} samples), ${
        (perClient / 1024).toFixed(0)
      } KiB a client (bound ${BOUND_KIB} KiB); another client served`,
  );
  assert(result.served);
  assertLessOrEqual(perClient, BOUND_KIB * 1024, "held per client");
});
