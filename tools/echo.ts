#!/usr/bin/env -S deno run --allow-net --allow-read --allow-write --unstable-net --v8-flags=--max-semi-space-size=8
/**
 * `echo`: the echo server of every socket tutorial. It sends each chunk it
 * receives back to its sender, optionally followed by a suffix (the Python
 * seed's `"\nI get it!\n"`), closes clients that stay silent too long
 * (Python's `settimeout(5)`), and shuts down gracefully on Ctrl-C or
 * SIGTERM.
 *
 * Flags:
 *
 * - `--host HOST` — address to listen on (default `127.0.0.1`)
 * - `--port PORT` — TCP port, `0` for any free one (default `12345`)
 * - `--unix PATH` — listen on a Unix socket instead of `--host`/`--port`
 * - `--suffix TEXT` — sent after each echo; escapes `\n \r \t \0 \\ \xHH`
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
 * Logs (`listening on 127.0.0.1:12345`, or `listening on 127.0.0.1:12345
 * (TLS)`; `connection from …`, `closed … (N bytes in, M out)`, `timeout …
 * after 5 s idle`, a client's failed TLS handshake) go to stderr. Exit
 * codes: 0 after a clean shutdown, 1 if it cannot listen (or a TLS file is
 * unusable: the message names it), 2 on bad flags.
 *
 * Memory: the shebang and the compile line run V8 with
 * `--max-semi-space-size=8` (MiB). V8 grows its young generation while many
 * objects survive, as they do while thousands of clients connect at once
 * (each connection's objects live on), up to 16 MiB per semi-space, and
 * keeps it: 10,000 idle clients then peak at about 156 MiB. With 8 MiB
 * semi-spaces they peak at about 121 MiB (Node: 111) and 100-connection
 * ping-pong runs at Node's speed; 4 MiB saves 5 MiB more but costs about
 * 30% of that ping-pong in garbage collection (`bench/net/RESULTS.md`).
 * `deno run` without the flag works the same, with the larger peak.
 *
 * Run it:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write tools/echo.ts --suffix '\nI get it!\n' --idle-timeout 5
 * ```
 *
 * Compile it (`deno task compile echo` does this):
 *
 * ```sh
 * deno compile --allow-net --allow-read --allow-write --unstable-net --v8-flags=--max-semi-space-size=8 --output dist/sockit-echo tools/echo.ts
 * ```
 *
 * @module
 */
import type { Connection } from "../tcp/mod.ts";
import { EXIT_OK, reportError, versionLine } from "./_cli.ts";
import {
  runServer,
  SERVER_BOOLEAN_FLAGS,
  SERVER_STRING_FLAGS,
  serverConfig,
  serverFlagsUsage,
} from "./_server.ts";
import { SERVER_TLS_FLAGS, SERVER_TLS_USAGE } from "./_tls_flags.ts";
import { decodeEscapes } from "./_values.ts";
import { parseFlags } from "./_flags.ts";

const TOOL = "echo";
const DEFAULT_PORT = 12345;

const USAGE = `Usage: echo [OPTIONS]

An echo server: sends every chunk it receives back to its sender.

Options:
${
  serverFlagsUsage(
    DEFAULT_PORT,
    `  --suffix TEXT           send TEXT after each echo; escapes \\n \\r \\t \\0
                          \\\\ and \\xHH are decoded`,
  )
}

${SERVER_TLS_USAGE}

Examples:
  echo --port 0                                  any free port, printed
  echo --suffix '\\nI get it!\\n' --idle-timeout 5  the Python tutorial's server
  echo --unix /tmp/echo.sock
  echo --port 8443 --tls-cert server.crt --tls-key server.key
                                                 a TLS echo server`;

/**
 * A streaming client's chunks are read into a buffer of this size: the
 * largest read a connection makes (its `read()` grows to 256 KiB too), so
 * a bulk stream takes as few reads as the library's own echo, and none of
 * them allocates.
 */
const STREAM_BUFFER = 256 * 1024;

/**
 * Echoes each chunk, then the suffix (in one write), until EOF. An idle
 * client parks a small `read()`; once a client streams (a chunk of 16 KiB
 * or more), its chunks are read into one buffer of its own, reused for
 * every chunk (`readInto`: nothing allocated per chunk, so a fast stream
 * leaves no garbage behind), until it goes quiet again.
 */
function echoHandler(
  suffix: Uint8Array,
): (conn: Connection) => Promise<void> {
  return async (conn) => {
    let buffer: Uint8Array | null = null;
    for (;;) {
      let data: Uint8Array;
      if (buffer === null) {
        const chunk = await conn.read();
        if (chunk === null) return;
        data = chunk;
        if (chunk.length >= STREAM_BUFFER / 4) {
          buffer = new Uint8Array(STREAM_BUFFER);
        }
      } else {
        const n = await conn.readInto(buffer);
        if (n === null) return;
        data = buffer.subarray(0, n);
        if (n < STREAM_BUFFER / 16) buffer = null;
      }
      if (suffix.length === 0) {
        await conn.write(data);
      } else {
        const reply = new Uint8Array(data.length + suffix.length);
        reply.set(data);
        reply.set(suffix, data.length);
        await conn.write(reply);
      }
    }
  };
}

/**
 * Runs the echo server with the command line `args`; resolves with the
 * exit code once the server has shut down (or at once for `--help`,
 * `--version` and bad flags).
 *
 * @param args The command line, without the program name.
 * @returns The exit code: 0, 1 (cannot listen) or 2 (bad flags).
 *
 * @example Print the version
 * ```ts
 * import { main } from "@sockit/sockit/tools/echo";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await main(["--version"]), 0); // prints "sockit-echo 0.1.0"
 * assertEquals(await main(["--port", "99999"]), 2); // "echo: --port must be …"
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const flags = parseFlags(args, {
      string: [...SERVER_STRING_FLAGS, ...SERVER_TLS_FLAGS, "suffix"],
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
    const config = serverConfig(TOOL, flags, DEFAULT_PORT);
    const suffix = decodeEscapes(flags.values.get("suffix") ?? "", "suffix");
    return await runServer(config, echoHandler(suffix));
  } catch (error) {
    return reportError(TOOL, error);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
