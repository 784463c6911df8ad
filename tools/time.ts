#!/usr/bin/env -S deno run --allow-net --allow-read --allow-write --unstable-net
/**
 * `time`: the timestamp server of the Twisted example. It answers each
 * message with `[<ctime>] <message>`, where `<ctime>` is Python's
 * `time.ctime()` in local time (`[Sun Nov 22 23:46:19 2026] hello`).
 *
 * Messages are framed by `--frame`:
 *
 * - `lines` (default): each line in (`\n` or `\r\n`) gets one stamped line
 *   out, ending in `\n`
 * - `nul`: the same with `\0`-terminated messages
 * - `u32`: 32-bit big-endian length-prefixed frames in, stamped frames out
 * - `raw`: each chunk is stamped as it arrives, as the Twisted original's
 *   `dataReceived` does (no framing: chunks are whatever TCP delivers)
 *
 * Flags:
 *
 * - `--frame raw|lines|nul|u32` — see above (default `lines`)
 * - `--max-frame BYTES` — the longest message (default 65536, asyncio's
 *   line limit; Twisted's `LineReceiver` allows 16384): a client whose
 *   message runs past it is logged and closed, and a partial message holds
 *   no more than this
 * - `--host HOST` — address to listen on (default `127.0.0.1`)
 * - `--port PORT` — TCP port, `0` for any free one (default `21567`, the
 *   example's)
 * - `--unix PATH` — listen on a Unix socket instead of `--host`/`--port`
 * - `--idle-timeout SECONDS` — close a client that sends nothing this long
 * - `--max-conns N` — serve at most `N` clients at once; close the others
 *   (default 1024)
 * - `--grace SECONDS` — on SIGINT/SIGTERM, let clients finish this long
 *   (default 5); a second signal stops at once
 * - `--workers N|auto` — serve from `N` workers (threads of this process,
 *   each with its own server on the same port; `auto`: one per CPU):
 *   Linux spreads clients among them by a hash of their addresses, not
 *   round robin; logs start with `[worker N]`; a worker that dies is
 *   restarted; `--max-conns` is each worker's; TCP only (`docs/scaling.md`)
 * - `--tls-cert FILE` — serve TLS with this certificate (PEM chain), with
 *   `--tls-key FILE`, its private key (PEM)
 * - `--tls-client-ca FILE` — with `--tls-cert`: require a client
 *   certificate signed by this CA (mutual TLS)
 * - `--proxy-protocol` with `--proxy-from ADDR[/BITS][,…]` (and
 *   `--proxy-optional`, `--proxy-version`, `--proxy-timeout`) — behind a
 *   load balancer: read PROXY protocol headers from those proxies and log
 *   the real client (`docs/load_balancer.md`)
 * - `--quiet` — do not log connections (nor failed TLS handshakes)
 * - `-h`, `--help`; `--version`
 *
 * Logs go to stderr (`listening on 127.0.0.1:21567`, with ` (TLS)` after
 * it for a TLS server). Exit codes: 0 after a clean shutdown, 1 if it
 * cannot listen (or a TLS file is unusable), 2 on bad flags.
 *
 * Run it:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write tools/time.ts --frame lines
 * ```
 *
 * Compile it (`deno task compile time` does this):
 *
 * ```sh
 * deno compile --allow-net --allow-read --allow-write --unstable-net --output dist/sockit-time tools/time.ts
 * ```
 *
 * @module
 */
import type { FrameCodec } from "../framing/mod.ts";
import { delimited, lengthPrefixed, lines } from "../framing/mod.ts";
import type { Connection } from "../tcp/mod.ts";
import { ctime } from "../net/mod.ts";
import { EXIT_OK, reportError, versionLine } from "./_cli.ts";
import {
  runServer,
  SERVER_BOOLEAN_FLAGS,
  SERVER_STRING_FLAGS,
  serverConfig,
  serverFlagsUsage,
} from "./_server.ts";
import { SERVER_TLS_FLAGS, SERVER_TLS_USAGE } from "./_tls_flags.ts";
import { parseFlags, UsageError } from "./_flags.ts";
import { parsePositiveInt } from "./_values.ts";

const TOOL = "time";
const DEFAULT_PORT = 21567;

/**
 * `--max-frame` when it is not given: asyncio's line limit. A timestamp
 * server's messages are short; this leaves room for binary ones (`u32`)
 * while a client's partial message, and a crowd of them, stays small:
 * `--max-conns` clients × 64 KiB.
 */
const DEFAULT_MAX_FRAME = 64 * 1024;

/** The `--frame` choices, with `--max-frame`. */
const FRAMES: Readonly<
  Record<string, (maxFrameSize: number) => FrameCodec | null>
> = {
  raw: () => null,
  lines: (maxFrameSize) => lines({ maxFrameSize }),
  nul: (maxFrameSize) => delimited("\0", { maxFrameSize }),
  u32: (maxFrameSize) => lengthPrefixed({ header: "u32be", maxFrameSize }),
};

const USAGE = `Usage: time [OPTIONS]

A timestamp server (the Twisted example): answers each message with
"[<ctime>] <message>", <ctime> as Python's time.ctime() in local time.

Options:
  --frame raw|lines|nul|u32
                          how messages are framed (default lines): lines
                          (\\n or \\r\\n), nul (\\0), u32 (32-bit big-endian
                          length prefix), raw (stamp each chunk as it comes)
  --max-frame BYTES       the longest message (default 65536); a client whose
                          message runs past it is closed
${serverFlagsUsage(DEFAULT_PORT)}

${SERVER_TLS_USAGE}

Examples:
  time --port 0                   any free port, printed
  time --frame raw                the Twisted original, chunk by chunk
  time --frame u32 --unix /tmp/time.sock
  time --port 8443 --tls-cert server.crt --tls-key server.key`;

const encoder = new TextEncoder();
/**
 * The most messages answered in one write, and about the most bytes of
 * messages (a longer message goes alone): a client that sends many and
 * reads none holds at most this many frames and their replies while the
 * write waits; the rest wait decoded as ranges, or unread in the kernel.
 */
const BATCH = 64;
const BATCH_BYTES = 16 * 1024;

function stamp(data: Uint8Array): Uint8Array {
  const head = encoder.encode(`[${ctime()}] `);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

/**
 * Serves one client: `codec` decodes messages (its `maxFrameSize` is
 * `--max-frame`), `replies` encodes the stamped answers, which are longer.
 */
function timeHandler(
  codec: FrameCodec | null,
  replies: FrameCodec | null,
): (conn: Connection) => Promise<void> {
  if (codec === null || replies === null) {
    return async (conn) => {
      for (let data; (data = await conn.read()) !== null;) {
        await conn.write(stamp(data));
      }
    };
  }
  return async (conn) => {
    const framed = conn.framed(codec);
    for (let batch; (batch = await framed.receiveBatch(BATCH)) !== null;) {
      for (let from = 0, to = 0; from < batch.length; from = to) {
        let bytes = 0;
        while (to < batch.length && (to === from || bytes < BATCH_BYTES)) {
          bytes += batch[to++]!.length;
        }
        await conn.write(replies.encodeAll(stampAll(batch, from, to)));
      }
    }
  };
}

/**
 * Stamps `messages[from..to)`, which came together (one `ctime()` for them
 * all), into one buffer; the payloads are views of it, for one write.
 */
function stampAll(
  messages: readonly Uint8Array[],
  from: number,
  to: number,
): Uint8Array[] {
  const head = encoder.encode(`[${ctime()}] `);
  let total = 0;
  for (let i = from; i < to; i++) total += head.length + messages[i]!.length;
  const out = new Uint8Array(total);
  const payloads = new Array<Uint8Array>(to - from);
  let at = 0;
  for (let i = from; i < to; i++) {
    const message = messages[i]!;
    const size = head.length + message.length;
    out.set(head, at);
    out.set(message, at + head.length);
    payloads[i - from] = out.subarray(at, at + size);
    at += size;
  }
  return payloads;
}

/**
 * Runs the timestamp server with the command line `args`; resolves with
 * the exit code once the server has shut down (or at once for `--help`,
 * `--version` and bad flags).
 *
 * @param args The command line, without the program name.
 * @returns The exit code: 0, 1 (cannot listen) or 2 (bad flags).
 *
 * @example Print the version
 * ```ts
 * import { main } from "@sockit/sockit/tools/time";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await main(["--version"]), 0); // prints "sockit-time 0.1.0"
 * assertEquals(await main(["--frame", "xml"]), 2); // "time: --frame must be …"
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const flags = parseFlags(args, {
      string: [
        ...SERVER_STRING_FLAGS,
        ...SERVER_TLS_FLAGS,
        "frame",
        "max-frame",
      ],
      boolean: SERVER_BOOLEAN_FLAGS,
      alias: { h: "help" },
    });
    if (flags.set.has("help")) {
      console.log(USAGE);
      return EXIT_OK;
    }
    if (flags.set.has("version")) {
      console.log(versionLine(TOOL));
      return EXIT_OK;
    }
    const frame = flags.values.get("frame") ?? "lines";
    const makeCodec = Object.hasOwn(FRAMES, frame) ? FRAMES[frame] : undefined;
    if (makeCodec === undefined) {
      throw new UsageError(
        `--frame must be one of ${Object.keys(FRAMES).join(", ")}, not ${
          JSON.stringify(frame)
        }`,
      );
    }
    const maxFrame = flags.values.get("max-frame");
    if (maxFrame !== undefined && frame === "raw") {
      throw new UsageError(
        "--max-frame does not apply to --frame raw: it stamps chunks, not messages",
      );
    }
    const maxFrameSize = maxFrame === undefined
      ? DEFAULT_MAX_FRAME
      : parsePositiveInt(maxFrame, "max-frame");
    const config = serverConfig(TOOL, flags, DEFAULT_PORT);
    // A reply is the message and its stamp (27 bytes: more room for years
    // past 9999).
    const replies = makeCodec(maxFrameSize + 64);
    return await runServer(
      config,
      timeHandler(makeCodec(maxFrameSize), replies),
    );
  } catch (error) {
    return reportError(TOOL, error);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
