#!/usr/bin/env -S deno run --allow-net --allow-read --allow-write --unstable-net
/**
 * `relay`: socat's everyday job. It listens on one address and relays each
 * client to a target, bytes both ways: TCP or Unix streams (half-close
 * carried through both ways, backpressure, TLS terminated, originated or
 * both), or UDP (each client address a flow of its own, closed when idle).
 *
 * ```
 * relay [OPTIONS] LISTEN TARGET
 * ```
 *
 * Sides:
 *
 * - `tcp:HOST:PORT` — TCP (`tcp:[::1]:PORT` for IPv6; `tcp:PORT` is
 *   `127.0.0.1`); a LISTEN port of `0` takes any free one (printed)
 * - `unix:PATH` — a Unix stream socket
 * - `udp:HOST:PORT` — UDP: datagrams from each client address go to TARGET
 *   through a socket of their own, and the answers come back
 *
 * Both sides are streams (`tcp:`, `unix:`), or both `udp:`.
 *
 * Flags:
 *
 * - `--max-conns N` — relay at most `N` clients (UDP: flows) at once;
 *   others are closed before a byte is read, a line each in the log
 *   unless `--quiet` (UDP: their datagrams dropped, not logged) (default
 *   1024)
 * - `--idle-timeout SECONDS` — end a connection (a UDP flow) when nothing
 *   moved either way this long (default: none for streams, 60 for UDP)
 * - `--connect-timeout SECONDS` — give up connecting to TARGET (TLS
 *   handshake included) after this long (default 10)
 * - `--grace SECONDS` — on SIGINT/SIGTERM: stop accepting, end quiet
 *   connections, let transfers finish for this long, then close them
 *   (default 5); a second signal stops at once. UDP flows end at once.
 * - `-v`, `--verbose` — one line per connection when it ends: client,
 *   target, bytes each way, duration, why it ended; on a terminal, a live
 *   line with the totals (otherwise one summary line at the end)
 * - `--quiet` — log nothing but the listening line and fatal errors (by
 *   default connections that fail or are turned away are logged, and a
 *   signal's shutdown)
 * - `-h`, `--help`; `--version`
 *
 * TLS on the LISTEN side (terminate; the meanings of `cat --listen`'s):
 *
 * - `--tls-cert FILE`, `--tls-key FILE` — serve TLS with this certificate
 *   chain and key (PEM)
 * - `--tls-client-ca FILE` — require client certificates signed by this CA
 * - `--tls-alpn PROTO[,PROTO…]` — ALPN protocols to accept
 *
 * TLS to the TARGET (originate; `cat`'s client flags with `target-` in
 * front; the target's certificate is verified unless
 * `--target-tls-insecure`):
 *
 * - `--target-tls` — connect with TLS, verified against the system's roots
 *   for the target's host
 * - `--target-tls-ca FILE` — also trust this CA (PEM)
 * - `--target-tls-servername NAME` — the name verified and sent as SNI
 * - `--target-tls-cert FILE`, `--target-tls-key FILE` — a client
 *   certificate and its key
 * - `--target-tls-alpn PROTO[,PROTO…]` — ALPN protocols to offer
 * - `--target-tls-insecure` — verify nothing (a warning on every start)
 *
 * Every `--target-tls-*` flag implies `--target-tls`. TLS is TCP only.
 *
 * PROXY protocol (`tcp:` sides; `docs/load_balancer.md`):
 *
 * - `--send-proxy v1|v2` — start each TARGET connection with a PROXY
 *   header naming the client (the real one, when it came through a proxy)
 *   and the address it connected to, as HAProxy's `send-proxy` does
 * - `--proxy-protocol` with `--proxy-from ADDR[/BITS][,…]` (and
 *   `--proxy-optional`, `--proxy-version`, `--proxy-timeout`) — read the
 *   header each client starts with, from those proxies only: logs name the
 *   real client
 *
 * Memory: a relayed connection holds at most about 256 KiB of buffers
 * (64 KiB each way, read again only once written), plus the kernel's
 * socket buffers and, with TLS, the TLS engine's; a UDP flow a socket and
 * a 64 KiB receive buffer. With the default `--max-conns` of 1024, that
 * bounds the relay's buffers at about 256 MiB (UDP: 64 MiB).
 *
 * Logs go to stderr: `listening on ADDRESS, relaying to TARGET`, and one
 * line per connection (failed ones by default, all with `-v`):
 * `127.0.0.1:40112 -> 127.0.0.1:8080: 120 bytes up, 3400 down, 0.3 s, both
 * sides closed`. Exit codes: 0 after a signalled shutdown, 1 if it cannot
 * listen (or a TLS file is unusable: the message names it), 2 on bad usage.
 *
 * Run it:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write --unstable-net tools/relay.ts tcp:0.0.0.0:8443 tcp:127.0.0.1:8080 --tls-cert server.crt --tls-key server.key
 * deno run --allow-net --allow-read --allow-write --unstable-net tools/relay.ts udp:127.0.0.1:5353 udp:10.0.0.2:53 -v
 * ```
 *
 * Compile it (`deno task compile relay` does this):
 *
 * ```sh
 * deno compile --allow-net --allow-read --allow-write --unstable-net --output dist/sockit-relay tools/relay.ts
 * ```
 *
 * @module
 */
import {
  type Address,
  formatAddress,
  type GracefulServer,
  shutdownOnSignals,
  type SocketAddress,
  type TcpAddress,
} from "../net/mod.ts";
import {
  connect,
  type Connection,
  type ConnectOptions,
  listen,
  type ListenOptions,
  ProxyProtocolError,
  type ProxyProtocolOptions,
  type Server,
  type TlsClientOptions,
  TlsError,
  type TlsServerOptions,
} from "../tcp/mod.ts";
import { relay, relayDatagrams, type RelayEndReason } from "../relay/mod.ts";
import { bind, type DatagramSocket } from "../udp/mod.ts";
import { EXIT_OK, oneLine, reportError, versionLine } from "./_cli.ts";
import { type Flags, parseFlags, UsageError } from "./_flags.ts";
import { Progress } from "./_progress.ts";
import {
  PROXY_BOOLEAN_FLAGS,
  PROXY_FLAGS_USAGE,
  PROXY_STRING_FLAGS,
  proxyListeningNote,
  proxyProtocolFlags,
  sendProxyFlag,
} from "./_proxy_flags.ts";
import { DEFAULT_MAX_CONNECTIONS } from "./_server.ts";
import {
  clientTlsFlags,
  clientTlsOptions,
  given,
  listeningNote,
  serverTlsFlags,
  serverTlsOptions,
} from "./_tls_flags.ts";
import { parsePositiveInt, parseSeconds } from "./_values.ts";

const TOOL = "relay";

/** `--connect-timeout` when it is not given. */
const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** `--grace` when it is not given. */
const DEFAULT_GRACE = 5000;
/** A UDP flow's `--idle-timeout` when it is not given. */
const DEFAULT_UDP_IDLE = 60_000;

const USAGE = `Usage: relay [OPTIONS] LISTEN TARGET

Listens on LISTEN and relays each client to TARGET, bytes both ways.

Sides:
  tcp:HOST:PORT           TCP (tcp:[::1]:PORT for IPv6, tcp:PORT for
                          127.0.0.1); LISTEN port 0 takes any free one
  unix:PATH               a Unix stream socket
  udp:HOST:PORT           UDP: each client address is a flow with a socket
                          of its own to TARGET, closed when idle
  Both sides are streams (tcp:, unix:), or both udp:.

Options:
  --max-conns N           relay at most N clients (UDP: flows) at once;
                          close the others, a line each (UDP: drop their
                          datagrams) (default ${DEFAULT_MAX_CONNECTIONS})
  --idle-timeout SECONDS  end a connection (UDP: a flow) when nothing moved
                          either way this long (default: none; UDP 60)
  --connect-timeout SECONDS
                          give up connecting to TARGET, TLS handshake
                          included, after this long (default 10)
  --grace SECONDS         on SIGINT/TERM/HUP, stop accepting, end quiet
                          connections and let transfers finish this long
                          (default 5); a second signal stops at once
  -v, --verbose           a line per connection as it ends: client, target,
                          bytes each way, duration, why; on a terminal a
                          live line with the totals
  --quiet                 log only the listening line and fatal errors
                          (by default, connections that fail or are
                          turned away are logged, and a signal's shutdown)
  -h, --help              show this help
  --version               show the version

TLS on the LISTEN side (terminate; as cat --listen):
  --tls-cert FILE         serve TLS with this certificate (PEM chain), with
  --tls-key FILE          its private key (PEM)
  --tls-client-ca FILE    require client certificates signed by this CA
  --tls-alpn PROTO[,PROTO...]
                          ALPN protocols to accept

TLS to the TARGET (originate; cat's client flags, with target- in front):
  --target-tls            connect with TLS, verifying the target for its host
  --target-tls-ca FILE    also trust this CA (PEM)
  --target-tls-servername NAME
                          the name to verify and send as SNI
  --target-tls-cert FILE  a client certificate (PEM), with
  --target-tls-key FILE   its private key (PEM)
  --target-tls-alpn PROTO[,PROTO...]
                          ALPN protocols to offer
  --target-tls-insecure   do not verify the target's certificate at all
  Every --target-tls-* flag implies --target-tls. TLS is TCP only.

PROXY protocol (tcp: sides):
  --send-proxy v1|v2      send each TARGET connection a PROXY header naming
                          the client (the real one, behind a proxy) and the
                          address it connected to, as a load balancer does
${PROXY_FLAGS_USAGE}

Each relayed connection holds at most about 256 KiB of buffers; a slow
side slows the other down.

Examples:
  relay tcp:8080 tcp:10.0.0.5:80                 forward a local port
  relay tcp:0.0.0.0:8443 tcp:127.0.0.1:8080 --tls-cert s.crt --tls-key s.key
                                                 terminate TLS
  relay tcp:8080 tcp:example.com:443 --target-tls
                                                 originate TLS
  relay unix:/tmp/app.sock tcp:127.0.0.1:8080    a Unix socket in front
  relay udp:127.0.0.1:5353 udp:10.0.0.2:53 -v    a UDP forwarder`;

/** Flags that take a value. */
const STRING_FLAGS: readonly string[] = [
  "max-conns",
  "idle-timeout",
  "connect-timeout",
  "grace",
  "tls-cert",
  "tls-key",
  "tls-client-ca",
  "tls-alpn",
  "target-tls-ca",
  "target-tls-servername",
  "target-tls-cert",
  "target-tls-key",
  "target-tls-alpn",
  "send-proxy",
  ...PROXY_STRING_FLAGS,
];

/** Flags that take none. */
const BOOLEAN_FLAGS: readonly string[] = [
  "verbose",
  "quiet",
  "help",
  "version",
  "target-tls",
  "target-tls-insecure",
  ...PROXY_BOOLEAN_FLAGS,
];

/** The listen side's TLS flags. */
const LISTEN_TLS_FLAGS = ["tls-cert", "tls-key", "tls-client-ca", "tls-alpn"];

/** One side: a stream (`tcp:`, `unix:`) or datagrams (`udp:`). */
type Side =
  | { kind: "tcp"; address: TcpAddress }
  | { kind: "unix"; address: { path: string } }
  | { kind: "udp"; address: TcpAddress };

/** How the relay runs, from the command line. */
interface RelayConfig {
  listen: Side;
  target: Side;
  maxConnections: number;
  /** Milliseconds, if given. */
  idleTimeout: number | undefined;
  connectTimeout: number;
  gracePeriod: number;
  verbose: boolean;
  quiet: boolean;
  /** TLS served on the listen side (files read by `listen()`). */
  listenTls: TlsServerOptions | undefined;
  /** TLS spoken to the target (files read). */
  targetTls: TlsClientOptions | undefined;
  /** PROXY headers read from trusted proxies on the listen side. */
  proxyProtocol: ProxyProtocolOptions | undefined;
  /** The PROXY header version sent to the target, naming each client. */
  sendProxy: 1 | 2 | undefined;
}

/**
 * Splits the command line into flags and the positional LISTEN and TARGET
 * (a flag's value is never taken for a side).
 */
function splitArgs(
  args: readonly string[],
): { flags: string[]; sides: string[] } {
  const strings = new Set(STRING_FLAGS);
  const flags: string[] = [];
  const sides: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      sides.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("-") && arg !== "-") {
      flags.push(arg);
      if (strings.has(arg.replace(/^--/, "")) && i + 1 < args.length) {
        flags.push(args[++i]!);
      }
    } else {
      sides.push(arg);
    }
  }
  return { flags, sides };
}

const SIDE_FORMS = "tcp:HOST:PORT, unix:PATH or udp:HOST:PORT";

/** Parses `tcp:HOST:PORT`, `tcp:PORT`, `unix:PATH` or `udp:HOST:PORT`. */
function parseSide(text: string, which: "LISTEN" | "TARGET"): Side {
  const bad = (why = "") =>
    new UsageError(
      `${which} must be ${SIDE_FORMS}, not ${JSON.stringify(text)}${why}`,
    );
  const colon = text.indexOf(":");
  const scheme = colon < 0 ? "" : text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  if (scheme === "unix") {
    if (rest === "") throw bad(": give the socket's path");
    return { kind: "unix", address: { path: rest } };
  }
  if (scheme !== "tcp" && scheme !== "udp") throw bad();
  // PORT, HOST:PORT or [IPV6]:PORT
  const match = /^(?:(?:\[([^\]]+)\]|([^:\[\]]+)):)?(\d{1,5})$/.exec(rest);
  if (match === null) {
    throw bad(
      rest.includes(":") && !rest.includes("[")
        ? ": put an IPv6 address in brackets, as tcp:[::1]:PORT"
        : ": give HOST:PORT or PORT",
    );
  }
  const port = Number(match[3]);
  if (port > 65535) throw bad(": give a port in 0..65535");
  if (which === "TARGET" && port === 0) throw bad(": the port cannot be 0");
  const hostname = match[1] ?? match[2] ?? "127.0.0.1";
  if (!/^[A-Za-z0-9._:%-]+$/.test(hostname)) {
    throw bad(": the host is not a name or an IP address");
  }
  return { kind: scheme, address: { hostname, port } };
}

/** The target's flags without `target-` (`target-tls-ca` → `tls-ca`). */
function targetFlags(flags: Flags): Flags {
  const out: Flags = { values: new Map(), set: new Set() };
  for (const [name, value] of flags.values) {
    if (name.startsWith("target-")) out.values.set(name.slice(7), value);
  }
  for (const name of flags.set) {
    if (name.startsWith("target-")) out.set.add(name.slice(7));
  }
  return out;
}

/** Runs `read` on the target's flags, naming them as typed in errors. */
function asTargetFlags<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const message = error.message.replaceAll("--tls", "--target-tls");
    if (error instanceof UsageError) throw new UsageError(message);
    throw new Error(message, { cause: error });
  }
}

/**
 * Reads the command line.
 *
 * @returns The configuration, or `"help"` / `"version"`.
 * @throws {UsageError} For a bad flag or side.
 * @throws {Error} Naming the file, if a TLS file is unusable.
 */
function parseConfig(
  args: readonly string[],
): RelayConfig | "help" | "version" {
  const { flags: flagArgs, sides } = splitArgs(args);
  const flags = parseFlags(flagArgs, {
    string: STRING_FLAGS,
    boolean: BOOLEAN_FLAGS,
    alias: { h: "help", v: "verbose" },
  });
  if (flags.set.has("help")) return "help";
  if (flags.set.has("version")) return "version";
  if (sides.length !== 2) {
    throw new UsageError(
      sides.length < 2
        ? `give LISTEN and TARGET (${SIDE_FORMS})`
        : `unexpected argument ${JSON.stringify(sides[2])}`,
    );
  }
  const listenSide = parseSide(sides[0]!, "LISTEN");
  const target = parseSide(sides[1]!, "TARGET");
  if ((listenSide.kind === "udp") !== (target.kind === "udp")) {
    throw new UsageError(
      "LISTEN and TARGET must both be streams (tcp:, unix:) or both datagrams (udp:): a stream cannot be relayed to datagrams",
    );
  }
  if (flags.set.has("verbose") && flags.set.has("quiet")) {
    throw new UsageError("--verbose and --quiet exclude each other");
  }

  // TLS: the listen side serves it, the target side speaks it.
  let listenTls: TlsServerOptions | undefined;
  const listenTlsFlag = LISTEN_TLS_FLAGS.find((name) => given(flags, name));
  if (listenTlsFlag !== undefined) {
    if (listenSide.kind !== "tcp") {
      throw new UsageError(
        `--${listenTlsFlag} needs a tcp: LISTEN side: TLS is TCP only`,
      );
    }
    if (!given(flags, "tls-cert") && !given(flags, "tls-key")) {
      throw new UsageError(
        `--${listenTlsFlag} needs --tls-cert and --tls-key: the certificate to serve TLS with`,
      );
    }
    const tls = serverTlsFlags(flags, false);
    if (tls !== undefined) listenTls = serverTlsOptions(tls);
  }
  let targetTls: TlsClientOptions | undefined;
  const sub = targetFlags(flags);
  const tlsFlags = asTargetFlags(() => clientTlsFlags(sub));
  if (tlsFlags !== undefined) {
    if (target.kind !== "tcp") {
      throw new UsageError(
        "--target-tls needs a tcp: TARGET: TLS is TCP only",
      );
    }
    targetTls = asTargetFlags(() => clientTlsOptions(tlsFlags));
  }

  // PROXY protocol: read on a tcp: listen side, sent to a tcp: target.
  const proxyProtocol = proxyProtocolFlags(flags, listenSide.kind === "unix");
  if (proxyProtocol !== undefined && listenSide.kind !== "tcp") {
    throw new UsageError(
      "--proxy-protocol needs a tcp: LISTEN side: headers come on TCP connections",
    );
  }
  const sendProxy = sendProxyFlag(flags.values.get("send-proxy"));
  if (sendProxy !== undefined && target.kind !== "tcp") {
    throw new UsageError(
      "--send-proxy needs a tcp: TARGET: the header is sent on a TCP connection",
    );
  }
  if (sendProxy !== undefined && listenSide.kind !== "tcp") {
    throw new UsageError(
      "--send-proxy needs a tcp: LISTEN side: a Unix client has no address to send",
    );
  }

  const number = (name: string) => flags.values.get(name);
  const idle = number("idle-timeout");
  const max = number("max-conns");
  const connectTimeout = number("connect-timeout");
  const grace = number("grace");
  return {
    listen: listenSide,
    target,
    maxConnections: max === undefined
      ? DEFAULT_MAX_CONNECTIONS
      : parsePositiveInt(max, "max-conns"),
    idleTimeout: idle === undefined
      ? undefined
      : parseSeconds(idle, "idle-timeout"),
    connectTimeout: connectTimeout === undefined
      ? DEFAULT_CONNECT_TIMEOUT
      : parseSeconds(connectTimeout, "connect-timeout"),
    gracePeriod: grace === undefined
      ? DEFAULT_GRACE
      : parseSeconds(grace, "grace", true),
    verbose: flags.set.has("verbose"),
    quiet: flags.set.has("quiet"),
    listenTls,
    targetTls,
    proxyProtocol,
    sendProxy,
  };
}

/** Where log lines go: through the live progress line when there is one. */
interface Logs {
  /** A line for stderr. */
  line: (text: string) => void;
  /** The `-v` progress, if any. */
  progress: Progress | undefined;
}

function logsFor(config: RelayConfig, detail: () => string): Logs {
  if (!config.verbose) {
    return { line: (text) => console.error(text), progress: undefined };
  }
  const progress = new Progress({
    labels: ["up", "down"],
    prefix: `${TOOL}: total`,
    detail,
  });
  return { line: (text) => progress.log(text), progress };
}

/**
 * `shutdownOnSignals()`'s line, through the logs (above a live line); none
 * with `--quiet`.
 */
function onSignal(config: RelayConfig, logs: Logs) {
  return (signal: Deno.Signal, action: "shutdown" | "exit"): void => {
    if (config.quiet) return;
    logs.line(
      action === "shutdown"
        ? `shutting down (signal ${signal}), Ctrl-C again to stop at once`
        : `stopping at once (signal ${signal})`,
    );
  };
}

/** Why a relay ended, in words. */
function describeEnd(reason: RelayEndReason, idleTimeout?: number): string {
  switch (reason) {
    case "complete":
      return "both sides closed";
    case "stopped":
      return "ended by the shutdown";
    case "idle-timeout":
      return `idle for ${(idleTimeout ?? 0) / 1000} s`;
    case "input-ended":
      return "the target closed";
    case "peer-closed":
      return "the client closed";
  }
}

/** The connection line: `CLIENT -> TARGET: N bytes up, M down, T, WHY`. */
function connectionLine(
  client: string,
  target: string,
  up: number,
  down: number,
  started: number,
  why: string,
  datagrams?: [number, number],
): string {
  const counts = datagrams === undefined
    ? ""
    : ` (${datagrams[0]} datagrams up, ${datagrams[1]} down)`;
  const seconds = (performance.now() - started) / 1000;
  return `${client} -> ${target}: ${up} bytes up, ${down} down${counts}, ${
    seconds.toFixed(2)
  } s, ${why}`;
}

/** `listen()`'s options for the configuration. */
function listenOptions(config: RelayConfig, logs: Logs): ListenOptions {
  const max = config.maxConnections;
  const target = formatAddress(config.target.address as Address);
  return {
    maxConnections: max,
    // A client over --max-conns is closed before a byte is read: a line
    // each, as for a connection that fails.
    onRejected: (client) => {
      if (config.quiet) return;
      logs.line(
        `${formatAddress(client)} -> ${target}: turned away: ${max} ${
          max === 1 ? "client" : "clients"
        } already (--max-conns ${max})`,
      );
    },
    onError: (error: unknown) => {
      // A client's failed TLS handshake: the message names the peer.
      // A refused PROXY header too.
      if (error instanceof TlsError || error instanceof ProxyProtocolError) {
        if (!config.quiet) logs.line(`${TOOL}: ${oneLine(error)}`);
      } else logs.line(`${TOOL}: error: ${oneLine(error)}`);
    },
    ...(config.listenTls === undefined ? {} : { tls: config.listenTls }),
    ...(config.proxyProtocol === undefined
      ? {}
      : { proxyProtocol: config.proxyProtocol }),
  };
}

/**
 * `connect()`'s options for the target; with `--send-proxy`, a header
 * naming `client` (the real one, when it came through a proxy) and the
 * address it connected to.
 */
function targetOptions(
  config: RelayConfig,
  signal: AbortSignal,
  client: Connection,
): ConnectOptions {
  const tls = config.targetTls;
  const from = client.remoteAddr;
  // Behind a proxy, forward what its header said the client connected to.
  const forwarded = client.proxyHeader?.command === "proxy"
    ? client.proxyHeader.destination
    : undefined;
  const to = forwarded !== undefined && "hostname" in forwarded
    ? forwarded
    : client.localAddr;
  return {
    connectTimeout: config.connectTimeout,
    signal,
    ...(config.sendProxy === undefined || !("port" in from) ||
        !("port" in to)
      ? {}
      : {
        proxyHeader: {
          version: config.sendProxy,
          source: { hostname: from.hostname, port: from.port },
          destination: { hostname: to.hostname, port: to.port },
        },
      }),
    ...(config.target.kind === "tcp" ? { noDelay: true } : {}),
    // --connect-timeout bounds the handshake too: both are connecting.
    ...(tls === undefined
      ? {}
      : { tls: { ...tls, handshakeTimeout: config.connectTimeout } }),
  };
}

/** Relays stream clients (TCP, Unix) until a signal stops the server. */
async function runStreams(config: RelayConfig): Promise<number> {
  const target = config.target.address as Address;
  const targetName = formatAddress(target);
  // Relays still running when the grace period is over are cut off.
  const cutOff = new AbortController();
  let server: Server | undefined;
  let clients = 0;
  const logs = logsFor(
    config,
    () => `${server?.connections ?? 0} open, ${clients} in all`,
  );
  const progress = logs.progress;
  const onTraffic = progress === undefined
    ? undefined
    : (direction: "sent" | "received", bytes: Uint8Array) =>
      progress.add(direction === "received" ? 0 : 1, bytes.length);

  const handler = async (client: Connection): Promise<void> => {
    const started = performance.now();
    const number = ++clients;
    const peer = client.remoteAddr.transport === "unix"
      ? `${formatAddress(client.localAddr)} #${number}`
      : formatAddress(client.remoteAddr);
    let why: string;
    let failed = false;
    try {
      const upstream = await connect(
        target,
        targetOptions(config, cutOff.signal, client),
      );
      const result = await relay(client, upstream, {
        signal: cutOff.signal,
        ...(config.idleTimeout === undefined
          ? {}
          : { idleTimeout: config.idleTimeout }),
        ...(onTraffic === undefined ? {} : { onTraffic }),
      });
      why = describeEnd(result.reason, config.idleTimeout);
    } catch (error) {
      failed = true;
      why = cutOff.signal.aborted
        ? "cut off at the end of the grace period"
        : `failed: ${oneLine(error)}`;
      client.close();
    }
    if (config.verbose || (failed && !config.quiet)) {
      logs.line(
        connectionLine(
          peer,
          targetName,
          client.bytesReceived,
          client.bytesSent,
          started,
          why,
        ),
      );
    }
  };

  try {
    server = listen(
      config.listen.address as Address,
      handler,
      listenOptions(config, logs),
    );
  } catch (error) {
    return reportError(TOOL, error);
  }
  const listening = server;
  const gracePeriod = config.gracePeriod;
  // Handle signals before saying we listen: whoever waits for that line
  // may signal us at once.
  using _signals = shutdownOnSignals({
    shutdown: async (options) => {
      const timer = setTimeout(() => cutOff.abort(), gracePeriod);
      try {
        await listening.shutdown(options);
      } finally {
        clearTimeout(timer);
      }
    },
    finished: server.finished,
  }, { gracePeriod, onSignal: onSignal(config, logs) });
  if (config.targetTls?.unsafelyDisableVerification) {
    logs.line(insecureWarning());
  }
  logs.line(
    `listening on ${formatAddress(server.addr)}${
      listeningNote(config.listenTls)
    }${proxyListeningNote(config.proxyProtocol)}, relaying to ${targetName}${
      config.targetTls === undefined ? "" : " (TLS)"
    }${
      config.sendProxy === undefined
        ? ""
        : ` (PROXY v${config.sendProxy} header)`
    }`,
  );
  await server.finished;
  progress?.end();
  if (!config.quiet) console.error("shut down");
  return EXIT_OK;
}

/** Relays UDP flows until a signal stops them. */
async function runDatagrams(config: RelayConfig): Promise<number> {
  const target = config.target.address as TcpAddress;
  const targetName = formatAddress(target);
  let socket: DatagramSocket;
  try {
    socket = bind(config.listen.address as TcpAddress);
  } catch (error) {
    return reportError(TOOL, error);
  }
  // The flows open (a flow opens with its sender's first datagram), for -v.
  const open = new Set<string>();
  let flows = 0;
  const keyOf = (peer: SocketAddress) =>
    "port" in peer ? `${peer.hostname} ${peer.port}` : peer.path;
  const logs = logsFor(config, () => `${open.size} flows, ${flows} in all`);
  const progress = logs.progress;
  const idleTimeout = config.idleTimeout ?? DEFAULT_UDP_IDLE;
  const stop = new AbortController();
  const relaying = relayDatagrams(socket, target, {
    signal: stop.signal,
    idleTimeout,
    maxFlows: config.maxConnections,
    ...(progress === undefined ? {} : {
      onTraffic: (direction, bytes, peer) => {
        progress.add(direction === "received" ? 0 : 1, bytes.length);
        if (direction === "received") {
          const key = keyOf(peer as SocketAddress);
          if (!open.has(key)) {
            open.add(key);
            flows++;
          }
        }
      },
    }),
    onFlowEnd: (flow) => {
      open.delete(keyOf(flow.peer));
      const failed = flow.reason === "error";
      if (!config.verbose && !(failed && !config.quiet)) return;
      const why = failed
        ? `failed: ${oneLine(flow.error)}`
        : flow.reason === "idle-timeout"
        ? `idle for ${idleTimeout / 1000} s`
        : "ended by the shutdown";
      logs.line(
        connectionLine(
          formatAddress(flow.peer),
          targetName,
          flow.bytesReceived,
          flow.bytesSent,
          performance.now() - flow.duration,
          why,
          [flow.datagramsReceived, flow.datagramsSent],
        ),
      );
    },
  });
  const finished = relaying.then(() => {}, () => {});
  const server: GracefulServer = {
    shutdown: () => {
      stop.abort();
      return finished;
    },
    finished,
  };
  using _signals = shutdownOnSignals(server, {
    gracePeriod: 0,
    onSignal: onSignal(config, logs),
  });
  logs.line(
    `listening on ${
      formatAddress(socket.addr)
    } (UDP), relaying to ${targetName}`,
  );
  try {
    await relaying;
  } catch (error) {
    progress?.end();
    return reportError(TOOL, error);
  }
  progress?.end();
  if (!config.quiet) console.error("shut down");
  return EXIT_OK;
}

/** The warning `--target-tls-insecure` prints on every start. */
function insecureWarning(): string {
  return `${TOOL}: warning: --target-tls-insecure: the target's certificate is not verified; anyone on the path can read and change the relayed connections`;
}

/**
 * Runs the relay with the command line `args`; resolves with the exit
 * code once it has shut down (or at once for `--help`, `--version` and
 * bad usage).
 *
 * @param args The command line, without the program name.
 * @returns The exit code: 0, 1 (cannot listen, unusable TLS file) or 2
 * (bad usage).
 *
 * @example Print the version
 * ```ts
 * import { main } from "@sockit/sockit/tools/relay";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await main(["--version"]), 0); // prints "sockit-relay 0.1.0"
 * assertEquals(await main(["tcp:0", "udp:127.0.0.1:53"]), 2); // streams and datagrams do not mix
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const config = parseConfig(args);
    if (config === "help") {
      console.log(USAGE);
      return EXIT_OK;
    }
    if (config === "version") {
      console.log(versionLine(TOOL));
      return EXIT_OK;
    }
    return config.listen.kind === "udp"
      ? await runDatagrams(config)
      : await runStreams(config);
  } catch (error) {
    return reportError(TOOL, error);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
