/**
 * A server tool for `tests/tools/workers_test.ts`, on the server tools' own
 * runner (`tools/_server.ts`, as `echo` and `time` are): it echoes each
 * chunk, and a client that sends `crash` makes its worker throw an uncaught
 * error at worker scope, as a bug in a handler's timer callback would. It
 * takes the server tools' common flags (`--port`, `--workers`, `--grace`…).
 *
 * Run: `deno run --allow-net --allow-read tests/tools/_crash_server.ts
 * --port 0 --workers 2`
 *
 * @module
 */
import {
  runServer,
  SERVER_BOOLEAN_FLAGS,
  SERVER_STRING_FLAGS,
  serverConfig,
} from "../../tools/_server.ts";
import { parseFlags } from "../../tools/_flags.ts";
import { reportError } from "../../tools/_cli.ts";
import type { Connection } from "../../tcp/mod.ts";

const TOOL = "crash";
const decoder = new TextDecoder();

async function handler(conn: Connection): Promise<void> {
  for await (const chunk of conn) {
    if (decoder.decode(chunk).trim() === "crash") {
      setTimeout(() => {
        throw new Error("crash requested");
      }, 0);
      continue;
    }
    await conn.write(chunk);
  }
}

async function main(args: readonly string[]): Promise<number> {
  try {
    const flags = parseFlags(args, {
      string: SERVER_STRING_FLAGS,
      boolean: SERVER_BOOLEAN_FLAGS,
    });
    return await runServer(serverConfig(TOOL, flags, 0), handler);
  } catch (error) {
    return reportError(TOOL, error);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
