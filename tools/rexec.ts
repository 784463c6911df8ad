#!/usr/bin/env -S deno run --allow-net --allow-read --allow-write --allow-env=PATH --unstable-net
/**
 * `rexec`: a restricted remote-command server and its client — the Python
 * tutorials' remote command server, made safe. The server runs only the
 * programs named in `--allow`, each started directly (never through a
 * shell, so `;`, `$(…)`, backticks, `|`, `&&`, `>` and globs are plain
 * argument text), with a time limit, an output limit and an empty
 * environment, and answers with framed output and the exit status. Each
 * command runs in a process group of its own and is killed with everything
 * it started (the whole group) when its time or output runs out, as soon as
 * its client goes away, when `--grace` ends, and on a second signal: no
 * command outlives its client or the server. The protocol is described in
 * `rexec/`.
 *
 * Server: `rexec --allow date,uptime,echo --port P [flags]`
 *
 * - `--allow NAME[,NAME...]` — the programs that may run (required): bare
 *   names, looked up once in `PATH` (absolute directories only), or
 *   absolute paths (requested by their last component)
 * - `--host HOST` — address to listen on (default `127.0.0.1`); any host
 *   other than loopback needs `--token-file` and TLS (`--tls-cert`,
 *   `--tls-key`), so that the token never crosses a network in clear text,
 *   or `--insecure`
 * - `--port PORT` — TCP port, `0` for any free one (or `--unix PATH`)
 * - `--unix PATH` — listen on a Unix socket instead
 * - `--timeout SECONDS` — kill a command after this long (default 10)
 * - `--max-output BYTES` — stdout and stderr together per command; past it
 *   the command is killed and the reply says so (default 1048576)
 * - `--max-commands N` — the most commands running at once, across all
 *   clients; a request beyond it is refused at once with `Busy`
 *   (default 16)
 * - `--max-frame BYTES` — the longest request line (default 8192); a
 *   longer one is refused with `LineTooLong` as soon as it passes the
 *   limit, and the rest of it is dropped, never held
 * - `--token-file FILE` — a shared secret (one line) each client must send
 *   first
 * - `--tls-cert FILE`, `--tls-key FILE` — serve TLS with this certificate
 *   (PEM chain) and its private key
 * - `--tls-client-ca FILE` — with `--tls-cert`: require client
 *   certificates signed by this CA (mutual TLS)
 * - `--insecure` — allow a host other than loopback without a token or
 *   without TLS
 * - `--token-timeout SECONDS` — time to send the token (default 5)
 * - `--idle-timeout SECONDS` — time to send each request (default 60)
 * - `--cwd DIR` — the commands' working directory (default: the server's)
 * - `--max-conns N` — serve at most `N` clients at once (default 1024)
 * - `--grace SECONDS` — on SIGINT, SIGTERM or SIGHUP (the terminal
 *   closing), let commands finish this long, then kill what still runs
 *   (default 5; logged as killed at the end of the grace period); a second
 *   signal kills them and exits at once
 * - `--workers N|auto` — serve from `N` workers (threads of this process,
 *   each with its own server on the same port; `auto`: one per CPU);
 *   Linux spreads clients among them by a hash of their addresses. A
 *   worker that dies is restarted; `--max-conns` and `--max-commands` are
 *   each worker's. TCP only (needs `--unstable-net`, in the shebang)
 * - `--proxy-protocol`, `--proxy-from ADDR[/BITS][,…]`,
 *   `--proxy-optional`, `--proxy-version v1|v2|any`, `--proxy-timeout
 *   SECONDS` — behind a load balancer: read PROXY protocol headers from
 *   the trusted proxies, so logs name the real client
 *   (`docs/load_balancer.md`)
 * - `--quiet` — do not log the allow-list, the connections and the
 *   commands
 *
 * Client: `rexec --connect HOST:PORT [--token-file FILE] COMMAND [ARGS...]`
 * prints the command's stdout to stdout and its stderr to stderr and exits
 * with its exit code (128 + n after signal n; a note on stderr when the
 * server's time or output limit cut it short). `--connect unix:PATH` for a
 * Unix socket (which needs `--allow-write` too); `--connect-timeout
 * SECONDS` (default 10). TLS: `--tls` (verify the server against the
 * system's roots), `--tls-ca FILE` (also trust this CA; implies `--tls`),
 * `--tls-servername NAME`, `--tls-cert FILE` with `--tls-key FILE` (a
 * client certificate), `--tls-insecure` (verify nothing; warns on every
 * use); each implies `--tls`. The client sends a token to a host other
 * than loopback only over TLS that verifies the server: with
 * `--tls-insecure` it refuses (exit 2), as whoever answers would get the
 * token, unless `--insecure` is given too.
 *
 * Exit codes: 0 ok (client: the command's code); 1 network failure or a
 * refused command, one line on stderr; 2 bad usage, including a missing
 * `--allow`, an allowed program that does not exist, and permissions that
 * do not match the allow-list.
 *
 * Permissions: `--allow-run` must name exactly the allowed programs, by the
 * absolute paths they resolve to, and the system's `kill` program
 * (`/usr/bin/kill`), with which the server ends a command's process group
 * (Deno lets a program signal a process group itself only under an unscoped
 * `--allow-run`); the server checks this at startup (`Deno.permissions`)
 * and refuses to start under an unscoped `--allow-run` or `-A`, printing
 * the flag to use. So the shebang grants no run permission at all; run the
 * server with the programs named:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write --allow-env=PATH \
 *   --allow-run=/usr/bin/date,/usr/bin/uptime,/usr/bin/echo,/usr/bin/kill \
 *   tools/rexec.ts --allow date,uptime,echo --port 7070
 * deno run --allow-net --allow-read tools/rexec.ts --connect 127.0.0.1:7070 echo 'hi; rm -rf /'
 * ```
 *
 * Compile it (`deno task compile rexec --allow-run=…` does this). The
 * programs must be known when compiling, as an executable cannot be given
 * Deno flags later; without `--allow-run` the executable is a client whose
 * server mode refuses to start:
 *
 * ```sh
 * deno compile --allow-net --allow-read --allow-write --allow-env=PATH --unstable-net \
 *   --allow-run=/usr/bin/date,/usr/bin/uptime,/usr/bin/kill --output dist/sockit-rexec tools/rexec.ts
 * ```
 *
 * @module
 */
import { formatAddress, shutdownOnSignals } from "../net/mod.ts";
import { ProxyProtocolError, type Server, TlsError } from "../tcp/mod.ts";
import {
  CommandAllowList,
  type CommandEvent,
  CommandRefusedError,
  runRemoteCommand,
  serveCommands,
  type ServeCommandsOptions,
} from "../rexec/mod.ts";
import {
  EXIT_FAILURE,
  EXIT_OK,
  oneLine,
  reportError,
  versionLine,
  writeAll,
} from "./_cli.ts";
import { escapeControls, jsonForTerminal } from "./_escape.ts";
import { UsageError } from "./_flags.ts";
import { PROXY_FLAGS_USAGE, proxyListeningNote } from "./_proxy_flags.ts";
import { runWorkers, WORKERS_USAGE } from "./_server.ts";
import {
  clientTlsOptions,
  insecureWarning,
  listeningNote,
} from "./_tls_flags.ts";
import {
  type ClientInvocation,
  parseRexecArgs,
  readTokenFile,
  type ServeInvocation,
  TOOL,
} from "./_rexec_args.ts";

const USAGE = `Usage:
  rexec --allow PROGRAM[,PROGRAM...] --port PORT [OPTIONS]   serve commands
  rexec --connect HOST:PORT [--token-file FILE] COMMAND [ARGS...]   run one

A restricted remote-command server: it runs only the programs named in
--allow, directly (never through a shell: ; $(...) \` | && > * are plain
text), with a time limit, an output limit and an empty environment. A
command is killed with all it started when its client goes away.

Server options:
  --allow NAMES           comma-separated programs that may run (required):
                          bare names found once in PATH, or absolute paths
  --host HOST             address to listen on (default 127.0.0.1); a host
                          other than loopback needs --token-file and TLS
                          (--tls-cert, --tls-key), or --insecure
  --port PORT             TCP port, 0 for any free one
  --unix PATH             listen on a Unix socket instead of --host/--port
  --timeout SECONDS       kill a command after this long (default 10)
  --max-output BYTES      stdout+stderr per command; past it the command is
                          killed and the reply says so (default 1048576)
  --max-commands N        commands running at once, for all clients; more
                          are refused at once with Busy (default 16)
  --max-frame BYTES       the longest request line (default 8192); a longer
                          one is refused with LineTooLong
  --token-file FILE       a shared secret clients must send first
  --tls-cert FILE         serve TLS with this certificate (PEM chain), with
                          --tls-key FILE, its private key (PEM)
  --tls-key FILE          the certificate's private key
  --tls-client-ca FILE    require client certificates signed by this CA
                          (mutual TLS)
  --insecure              serve a non-loopback host without a token or TLS
  --token-timeout SECONDS time a client has to send the token (default 5)
  --idle-timeout SECONDS  time a client has to send each request (default 60)
  --cwd DIR               the commands' working directory
  --max-conns N           serve at most N clients at once; close the others
                          at once (default 1024)
  --grace SECONDS         on SIGINT, SIGTERM or SIGHUP (the terminal closing),
                          let commands finish this long, then kill them
                          (default 5); a second signal kills them and stops
                          at once
${WORKERS_USAGE}
                          (--max-commands too)
${PROXY_FLAGS_USAGE}
  --quiet                 do not log the allow-list, connections and commands

Client options:
  --connect HOST:PORT     the server ([IPv6]:PORT, or unix:PATH)
  --token-file FILE       the server's shared secret
  --connect-timeout SECONDS  give up connecting after this long (default 10)
  --tls                   connect with TLS, verifying the server against
                          the system's roots
  --tls-ca FILE           also trust this CA (PEM); implies --tls
  --tls-servername NAME   the name to verify (default the --connect host)
  --tls-cert FILE         a client certificate (PEM), with --tls-key FILE
  --tls-key FILE          its private key (PEM)
  --tls-insecure          do not verify the server at all (warns on every
                          use); every --tls-* flag implies --tls
  --insecure              with --tls-insecure: send the token to a host
                          other than loopback all the same
  A token goes to a host other than loopback only over TLS, and TLS that
  verifies the server: --tls-insecure with a token is refused there (exit
  2), as whoever answers would get the token, unless --insecure is given.

  -h, --help              show this help
  --version               show the version

The client prints the command's stdout and stderr and exits with its exit
code (128+N after signal N); 1 on a network error or a refused command.

--allow-run must name exactly the allowed programs, by absolute path, and
kill (which ends a command's process group):
  deno run --allow-net --allow-read --allow-write --allow-env=PATH \\
    --allow-run=/usr/bin/date,/usr/bin/echo,/usr/bin/kill \\
    tools/rexec.ts --allow date,echo --port 7070`;

/** Turns a library refusal to start into a usage error (exit 2). */
function asUsage(error: unknown): never {
  if (
    error instanceof TypeError || error instanceof RangeError ||
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotCapable
  ) {
    throw new UsageError(error.message);
  }
  throw error;
}

/**
 * One log line per client's connection and end (as the other server tools
 * write them) and per request; argv is JSON with every control character
 * escaped (`JSON.stringify` leaves DEL and C1, such as U+009B, raw: a
 * client could drive the operator's terminal). Each line starts with
 * `prefix` (`[worker 2] ` under `--workers`).
 */
function logCommand(prefix: string): (event: CommandEvent) => void {
  return (event) => {
    const line = describeCommand(event);
    if (line !== "") console.error(prefix + line);
  };
}

/** The log line for one of `serveCommands()`' events. */
function describeCommand(event: CommandEvent): string {
  if (event.type === "connection") {
    return `connection from ${event.peer}`;
  }
  if (event.type === "closed") {
    return `closed ${event.peer} (${event.bytesReceived} bytes in, ${event.bytesSent} out)`;
  }
  if (event.type === "refused") {
    return `${event.peer}: refused ${event.reason}${
      event.argv === undefined ? "" : ` ${jsonForTerminal(event.argv)}`
    }`;
  }
  const { exit } = event;
  const how = exit.signal === null
    ? `exit ${exit.code}`
    : `killed by ${exit.signal}`;
  const notes = [
    ...(exit.timedOut ? ["timed out"] : []),
    ...(exit.truncated ? ["output truncated"] : []),
    ...(event.clientGone ? ["client gone"] : []),
    ...(event.gracePeriodEnded
      ? ["killed at the end of the grace period"]
      : []),
  ];
  return `${event.peer}: ran ${jsonForTerminal(event.argv)}: ${how}${
    notes.length > 0 ? ` (${notes.join(", ")})` : ""
  }, ${event.outputBytes} bytes out in ${Math.round(event.duration)} ms`;
}

/**
 * Serves until a signal stops it: resolves the allow-list and checks that
 * `--allow-run` names exactly its programs (exit 2 otherwise), starts
 * `serveCommands()` (in each worker, with `--workers`), logs the real
 * address and each command, and shuts down gracefully on SIGINT, SIGTERM
 * or SIGHUP.
 */
async function serve(invocation: ServeInvocation): Promise<number> {
  const { server: config } = invocation;
  const token = invocation.tokenFile === undefined
    ? undefined
    : await readTokenFile(invocation.tokenFile);
  if (invocation.cwd !== undefined) {
    const info = await Deno.stat(invocation.cwd).catch(() => undefined);
    if (!info?.isDirectory) {
      throw new UsageError(`--cwd ${invocation.cwd} is not a directory`);
    }
  }
  let allowList: CommandAllowList;
  try {
    allowList = CommandAllowList.resolve(invocation.allow);
  } catch (error) {
    asUsage(error);
  }
  try {
    allowList.checkRunPermission({ requireScoped: true });
  } catch (error) {
    if (Deno.build.standalone && error instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `this executable may not run ${
          [...allowList.programs.values()].join(", ")
        }: compile it with ${allowList.runFlag}`,
      );
    }
    asUsage(error);
  }
  const options = (prefix: string): ServeCommandsOptions => ({
    allow: allowList,
    requireScopedRun: true,
    insecure: invocation.insecure,
    timeout: invocation.timeout,
    maxOutput: invocation.maxOutput,
    maxCommands: invocation.maxCommands,
    maxLineBytes: invocation.maxLineBytes,
    idleTimeout: invocation.idleTimeout,
    tokenTimeout: invocation.tokenTimeout,
    ...(token === undefined ? {} : { token }),
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.proxyProtocol === undefined
      ? {}
      : { proxyProtocol: config.proxyProtocol }),
    ...(invocation.cwd === undefined ? {} : { cwd: invocation.cwd }),
    ...(config.maxConnections === undefined
      ? {}
      : { maxConnections: config.maxConnections }),
    ...(config.quiet ? {} : { onCommand: logCommand(prefix) }),
    onError: (error) => {
      // A client's failed handshake: the message names the peer.
      // A refused PROXY header too.
      if (error instanceof TlsError || error instanceof ProxyProtocolError) {
        if (!config.quiet) {
          console.error(`${prefix}${TOOL}: ${oneLine(error)}`);
        }
      } else console.error(`${prefix}${TOOL}: error: ${oneLine(error)}`);
    },
  });
  // A host other than loopback without a token, or a bad limit: usage.
  const failed = (error: unknown): number =>
    error instanceof TypeError || error instanceof RangeError
      ? reportError(TOOL, new UsageError(error.message))
      : reportError(TOOL, error); // cannot listen there
  const announce = () => {
    if (config.quiet) return;
    const programs = [...allowList.programs]
      .map(([name, path]) => `${name} (${path})`).join(", ");
    console.error(
      `allowing ${programs}${
        token === undefined ? "" : "; clients must send the token"
      }`,
    );
  };
  if (config.workers !== undefined) {
    return await runWorkers(
      config,
      (address, worker) =>
        serveCommands(address, {
          ...options(`[worker ${worker}] `),
          reusePort: true,
        }),
      { announce, failed },
    );
  }
  let server: Server;
  try {
    server = serveCommands(config.address, options(""));
  } catch (error) {
    return failed(error);
  }
  announce();
  // Handle signals before saying we listen: whoever waits for that line
  // may signal us at once.
  using _signals = shutdownOnSignals(server, {
    gracePeriod: config.gracePeriod,
  });
  console.error(
    `listening on ${formatAddress(server.addr)}${listeningNote(config.tls)}${
      proxyListeningNote(config.proxyProtocol)
    }`,
  );
  await server.finished;
  console.error("shut down");
  return EXIT_OK;
}

async function client(invocation: ClientInvocation): Promise<number> {
  const token = invocation.tokenFile === undefined
    ? undefined
    : await readTokenFile(invocation.tokenFile);
  const tls = invocation.tls === undefined
    ? undefined
    : clientTlsOptions(invocation.tls);
  if (tls?.unsafelyDisableVerification) console.error(insecureWarning(TOOL));
  try {
    const result = await runRemoteCommand(invocation.address, invocation.argv, {
      connectTimeout: invocation.connectTimeout,
      insecure: invocation.insecure,
      ...(token === undefined ? {} : { token }),
      ...(tls === undefined ? {} : { tls }),
      onOutput: (stream, data) =>
        writeAll(stream === "stdout" ? Deno.stdout : Deno.stderr, data),
    });
    if (result.timedOut) {
      console.error(
        `${TOOL}: the command ran out of time on ${
          formatAddress(invocation.address)
        } and was killed`,
      );
    }
    if (result.truncated) {
      console.error(
        `${TOOL}: the output was cut off at the server's limit${
          result.signal === null ? "" : " and the command killed"
        }`,
      );
    }
    return result.code;
  } catch (error) {
    if (error instanceof CommandRefusedError) {
      // The server's words: escaped, as a hostile server's could hold
      // terminal commands.
      console.error(`${TOOL}: ${escapeControls(error.message)}`);
      return EXIT_FAILURE;
    }
    // Refused before connecting: a token beyond loopback in clear text,
    // or over --tls-insecure without --insecure.
    if (error instanceof TypeError) {
      return reportError(TOOL, new UsageError(error.message));
    }
    return reportError(TOOL, error);
  }
}

/**
 * Runs `rexec` with the command line `args`: serves commands until a
 * signal stops it, or runs one command as a client; resolves with the exit
 * code.
 *
 * @param args The command line, without the program name.
 * @returns The exit code: 0, 1 (network failure, refused command), 2 (bad
 * usage), or in client mode the command's own code.
 *
 * @example Refuse to start without an allow-list
 * ```ts
 * import { main } from "@sockit/sockit/tools/rexec";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await main(["--version"]), 0); // prints "sockit-rexec 0.1.0"
 * assertEquals(await main(["--port", "0"]), 2); // "rexec: needs --allow …"
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const invocation = parseRexecArgs(args);
    switch (invocation.mode) {
      case "help":
        console.log(USAGE);
        return EXIT_OK;
      case "version":
        console.log(versionLine(TOOL));
        return EXIT_OK;
      case "client":
        return await client(invocation);
      case "serve":
        return await serve(invocation);
    }
  } catch (error) {
    return reportError(TOOL, error);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
