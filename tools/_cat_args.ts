/**
 * The command line of `cat`: positional `HOST PORT` next to flags, nc's
 * spellings (`-l PORT`, `-lp PORT`, `-l HOST PORT`, `-z HOST 20-25`, `-w`,
 * `-C`, `-4`/`-6`, `-n`…; rewritten by `_nc_args.ts`), the modes (connect,
 * listen, probe, broker, UDP, Unix, TLS) and which flags go with which,
 * and the `--frame` names.
 *
 * @module
 */
import type { FrameCodec } from "../framing/mod.ts";
import {
  delimited,
  lengthPrefixed,
  lines,
  netstrings,
} from "../framing/mod.ts";
import type { Address } from "../net/mod.ts";
import type { ProxyProtocolOptions } from "../tcp/mod.ts";
import {
  PROXY_BOOLEAN_FLAGS,
  PROXY_STRING_FLAGS,
  proxyProtocolFlags,
  sendProxyFlag,
} from "./_proxy_flags.ts";
import { parsePositiveInt, parseSeconds } from "./_values.ts";
import { parseWorkers } from "./_server.ts";
import {
  checkHost,
  connectAddress,
  listenAddress,
  type SourceAddress,
  sourceAddress,
} from "./_cat_address.ts";
import { accessList, type AccessRules } from "./_access.ts";
import { expandNcArgs, ncSeconds } from "./_nc_args.ts";
import { type Flags, parseFlags, UsageError } from "./_flags.ts";
import {
  CLIENT_TLS_BOOLEAN_FLAGS,
  CLIENT_TLS_STRING_FLAGS,
  type ClientTlsFlags,
  clientTlsFlags,
  given,
  SERVER_TLS_FLAGS,
  type ServerTlsFlags,
  serverTlsFlags,
} from "./_tls_flags.ts";

/** Flags that take a value. */
const STRING_FLAGS: readonly string[] = [
  "host",
  "port",
  "unix",
  "max-conns",
  "connect-timeout",
  "idle-timeout",
  "wait",
  "source",
  "source-port",
  "allow",
  "deny",
  "allowfile",
  "denyfile",
  "frame",
  "frame-out",
  "max-frame",
  ...new Set([...CLIENT_TLS_STRING_FLAGS, ...SERVER_TLS_FLAGS]),
  "tls-alpn",
  "send-proxy",
  "workers",
  "grace",
  ...PROXY_STRING_FLAGS,
];

/** Flags that take none. */
const BOOLEAN_FLAGS: readonly string[] = [
  "listen",
  "keep-open",
  "broker",
  "chat",
  "udp",
  "unixsock",
  "broadcast",
  "probe",
  "ipv4",
  "ipv6",
  "nodns",
  "crlf",
  "no-half-close",
  "send-only",
  "recv-only",
  "verbose",
  "hex",
  "progress",
  ...PROXY_BOOLEAN_FLAGS,
  ...CLIENT_TLS_BOOLEAN_FLAGS,
  "help",
  "version",
];

/** Flags that may be given more than once, every value counting. */
const LIST_FLAGS: readonly string[] = [
  "allow",
  "deny",
  "allowfile",
  "denyfile",
];

/** Every TLS flag, for the checks of UDP and Unix sockets. */
const TLS_FLAGS: readonly string[] = [
  ...CLIENT_TLS_BOOLEAN_FLAGS,
  ...new Set([...CLIENT_TLS_STRING_FLAGS, ...SERVER_TLS_FLAGS]),
  "tls-alpn",
];

/** TLS flags of a client only: a listener takes --tls-cert/--tls-key. */
const CLIENT_ONLY_TLS_FLAGS: Readonly<Record<string, string>> = {
  "tls-ca": "a listener checks clients with --tls-client-ca FILE",
  "tls-servername": "a listener has no server name to verify",
  "tls-insecure": "a listener verifies no server",
};

type MaxFrame = { maxFrameSize?: number };

/** The `--frame` choices and their codecs. */
const FRAMES: Readonly<Record<string, (options: MaxFrame) => FrameCodec>> = {
  lines: (options) => lines(options),
  nul: (options) => delimited("\0", options),
  u16: (options) => lengthPrefixed({ header: "u16be", ...options }),
  u32: (options) => lengthPrefixed({ header: "u32be", ...options }),
  varint: (options) => lengthPrefixed({ header: "varint", ...options }),
  netstring: (options) => netstrings(options),
};

/** The `--frame` names, in the order the usage lists them. */
export const FRAME_NAMES: readonly string[] = Object.keys(FRAMES);

/**
 * `--max-frame` of a listener when it is not given: what the other server
 * tools take (asyncio's line limit), so that a client cannot make cat
 * hold megabytes of one unfinished frame. A client keeps the codecs' 8 MiB.
 */
export const LISTEN_MAX_FRAME = 64 * 1024;

/**
 * `--max-conns` of `--keep-open`, `--broker` and `--chat` when it is not
 * given: ncat's. (With 1, a client that comes while the one before is
 * being closed would be turned away.)
 */
export const MAX_CONNS = 100;

/**
 * `--grace` when it is not given: how long a listener's clients may finish
 * after SIGINT/SIGTERM, in milliseconds.
 */
export const GRACE_PERIOD = 1000;

/** The broadcast address `--listen --udp --broadcast` binds by default. */
const LOOPBACK_BROADCAST = "127.255.255.255";

/** What `cat` was asked to do, checked. */
export interface CatConfig {
  /** Wait for clients instead of connecting. */
  listen: boolean;
  /** UDP instead of TCP. */
  udp: boolean;
  /** Where to connect, or where to listen. */
  address: Address;
  /**
   * `-4`/`-6`: the address family a host name resolves to (`address` is a
   * host name then; an IP address was checked against it already).
   */
  family: 4 | 6 | undefined;
  /** `-z`: the ports to probe (one, or a range), instead of relaying. */
  probe: number[] | undefined;
  /** Whether `-z` was given a range (each open port is printed). */
  probeRange: boolean;
  /** UDP: the local address to send from (`-s ADDR`, `-p PORT`). */
  source: SourceAddress | undefined;
  /** Listen: serve client after client until a signal. */
  keepOpen: boolean;
  /** Listen: each client's data goes to the others (`--chat`: by line). */
  broker: "broker" | "chat" | undefined;
  /** Listen: who may connect (`--allow`, `--deny`). */
  access: AccessRules | undefined;
  /** Listen with keep-open or a broker: clients served at once (else 1). */
  maxConnections: number;
  /** UDP: take replies from any host (connect) / listen on the broadcast address. */
  broadcast: boolean;
  /** `-C`: send stdin's `\n` line ends as `\r\n`. */
  crlf: boolean;
  /** Close at the end of stdin instead of half-closing. */
  noHalfClose: boolean;
  /** Never print what is received. */
  sendOnly: boolean;
  /** Never read stdin. */
  recvOnly: boolean;
  /** Connect timeout, in milliseconds. */
  connectTimeout: number | undefined;
  /** Idle timeout, in milliseconds. */
  idleTimeout: number | undefined;
  /** Log connections and counts to stderr. */
  verbose: boolean;
  /** How many times `-v` was given (0: quiet). */
  verbosity: number;
  /** Hex dump of the traffic to stderr. */
  hex: boolean;
  /** The `--frame` name, if any. */
  frame: string | undefined;
  /** Its codec. */
  codec: FrameCodec | undefined;
  /** How frames and datagrams are printed. */
  frameOut: "text" | "hex";
  /**
   * TLS: the client's flags (connect), the server's (listen), or
   * `undefined` for plain TCP.
   */
  tls:
    | { role: "client"; flags: ClientTlsFlags }
    | { role: "server"; flags: ServerTlsFlags }
    | undefined;
  /** Listen: read PROXY protocol headers (`--proxy-protocol`, …). */
  proxyProtocol: ProxyProtocolOptions | undefined;
  /** Connect: send a PROXY header of this version first (`--send-proxy`). */
  sendProxy: 1 | 2 | undefined;
  /** `--progress`: a live line of bytes each way and the rate on stderr. */
  progress: boolean;
  /** Listen with keep-open: serve from this many workers (`--workers`). */
  workers: number | undefined;
  /**
   * Listen over TCP or Unix: how long clients may finish after
   * SIGINT/SIGTERM, in milliseconds (`--grace`; 0: no wait).
   */
  gracePeriod: number;
}

/** The command: show help, show the version, or run. */
export type CatCommand =
  | { action: "help" }
  | { action: "version" }
  | { action: "run"; config: CatConfig };

/**
 * Splits the command line into positional arguments and flags (with the
 * values of flags that take one); everything after `--` is positional.
 */
function splitArgs(
  args: readonly string[],
): { positionals: string[]; flags: string[] } {
  const valued = new Set(STRING_FLAGS);
  const positionals: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      flags.push(arg);
      const next = args[i + 1];
      if (
        arg.startsWith("--") && valued.has(arg.slice(2)) && next !== undefined
      ) {
        flags.push(next);
        i++;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { positionals, flags };
}

/** Every value of a list flag (`--allow A --allow B`), in order. */
function allValues(flagArgs: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < flagArgs.length; i++) {
    const arg = flagArgs[i]!;
    if (arg === `--${name}`) {
      const value = flagArgs[++i];
      if (value !== undefined) values.push(value);
    } else if (arg.startsWith(`--${name}=`)) {
      values.push(arg.slice(name.length + 3));
    }
  }
  return values;
}

function seconds(flags: Flags, name: string): number | undefined {
  const text = flags.values.get(name);
  return text === undefined ? undefined : parseSeconds(ncSeconds(text), name);
}

function has(flags: Flags, name: string): boolean {
  return flags.set.has(name) || flags.values.has(name);
}

/** A flag that needs another one: `--keep-open needs --listen`. */
function requires(flags: Flags, name: string, needs: string, why = ""): void {
  if (has(flags, name) && !flags.set.has(needs)) {
    throw new UsageError(`--${name} needs --${needs}${why}`);
  }
}

/** Two flags that exclude each other. */
function excludes(flags: Flags, a: string, b: string, why = ""): void {
  if (has(flags, a) && has(flags, b)) {
    throw new UsageError(`--${a} and --${b} exclude each other${why}`);
  }
}

/**
 * Parses and checks `cat`'s command line, ours and nc's spellings alike.
 *
 * @param args The command line, without the program name.
 * @returns What to do.
 * @throws {UsageError} Naming the flag or argument that is wrong.
 */
export function parseCatArgs(args: readonly string[]): CatCommand {
  const { args: expanded, verbosity } = expandNcArgs(
    args,
    new Set(STRING_FLAGS),
  );
  const { positionals, flags: flagArgs } = splitArgs(expanded);
  const flags = parseFlags(flagArgs, {
    string: STRING_FLAGS,
    boolean: BOOLEAN_FLAGS,
  });
  if (flags.set.has("help")) return { action: "help" };
  if (flags.set.has("version")) return { action: "version" };

  const listen = flags.set.has("listen");
  const udp = flags.set.has("udp");
  const broadcast = flags.set.has("broadcast");
  const probe = flags.set.has("probe");
  const chat = flags.set.has("chat");
  const broker = chat ? "chat" : flags.set.has("broker") ? "broker" : undefined;
  const unix = flags.values.has("unix") || flags.set.has("unixsock");

  requires(flags, "keep-open", "listen");
  if (
    has(flags, "max-conns") && !flags.set.has("keep-open") && !broker && !udp
  ) {
    throw new UsageError("--max-conns needs --keep-open, --broker or --chat");
  }
  requires(flags, "broadcast", "udp");
  excludes(flags, "send-only", "recv-only", ": nothing would move");
  excludes(flags, "unix", "unixsock", ": give the path once");
  if (udp && unix) {
    throw new UsageError(
      "--udp and --unix exclude each other: Unix datagram sockets are not supported",
    );
  }
  // ncat users type -luk: a UDP listener already hears every peer (and
  // answers whoever sent last), so -k asks for nothing more. (ncat itself
  // refuses -uk without --exec.)
  excludes(
    flags,
    "udp",
    "max-conns",
    ": a UDP listener has no connections to count",
  );
  requires(flags, "grace", "listen", ": it is a listener's shutdown");
  excludes(
    flags,
    "udp",
    "grace",
    ": a UDP listener has no clients to let finish",
  );
  excludes(
    flags,
    "udp",
    "frame",
    ": datagrams keep their boundaries, each line is already one datagram",
  );
  excludes(flags, "udp", "connect-timeout", ": UDP does not connect");
  excludes(flags, "listen", "connect-timeout", ": a listener does not connect");
  excludes(flags, "wait", "connect-timeout", ": -w sets both timeouts");
  excludes(flags, "wait", "idle-timeout", ": -w sets both timeouts");
  excludes(flags, "ipv4", "ipv6", ": give one family, or neither for both");
  for (const other of ["frame", "udp"]) {
    excludes(
      flags,
      "crlf",
      other,
      other === "udp"
        ? ": each line is one datagram, sent without its line end"
        : ": each line is one frame, sent without its line end",
    );
  }
  if (probe) {
    for (const other of ["listen", "udp"]) {
      excludes(
        flags,
        "probe",
        other,
        other === "udp"
          ? ": UDP has no connection to probe"
          : ": -z probes a server, it does not listen",
      );
    }
  }
  if (broker !== undefined) {
    const name = broker;
    requires(flags, name, "listen", ": it is a server clients meet at");
    excludes(flags, name, "udp", ": it brokers TCP or Unix connections");
    excludes(flags, name, "frame", ": it relays bytes (--chat: lines)");
    excludes(flags, name, "hex", ": it prints no traffic");
    excludes(flags, name, "send-only", ": it prints nothing anyway");
    excludes(flags, name, "no-half-close", ": a client that ends is closed");
  }
  if (
    flags.values.has("frame-out") && !flags.values.has("frame") && !udp
  ) {
    throw new UsageError("--frame-out needs --frame or --udp");
  }
  if (flags.values.has("max-frame") && !flags.values.has("frame")) {
    throw new UsageError("--max-frame needs --frame");
  }
  const access = accessRules(flags, flagArgs, listen, udp, unix);
  const tls = tlsConfig(flags, listen, udp);
  const sendProxy = sendProxyFlag(flags.values.get("send-proxy"));
  if (sendProxy !== undefined) {
    if (listen) {
      throw new UsageError(
        "--send-proxy is for connecting; with --listen, read headers with --proxy-protocol",
      );
    }
    if (udp || unix) {
      throw new UsageError(
        `--send-proxy and --${
          udp ? "udp" : "unix"
        } exclude each other: the PROXY header is sent on TCP`,
      );
    }
  }
  const proxyProtocol = proxyProtocolFlags(flags, unix);
  const workersText = flags.values.get("workers");
  const workers = workersText === undefined
    ? undefined
    : parseWorkers(workersText);
  if (workers !== undefined) {
    if (!listen || !flags.set.has("keep-open")) {
      throw new UsageError(
        "--workers needs --listen --keep-open: workers serve many clients on one port",
      );
    }
    if (udp || unix) {
      throw new UsageError(
        "--workers is for TCP: workers share a port with SO_REUSEPORT",
      );
    }
    if (broker !== undefined) {
      throw new UsageError(
        `--workers and --${broker} exclude each other: clients in different workers could not reach each other`,
      );
    }
    if (flags.set.has("progress")) {
      throw new UsageError(
        "--workers and --progress exclude each other: each worker counts its own clients",
      );
    }
  }
  if (proxyProtocol !== undefined && (!listen || udp)) {
    throw new UsageError(
      listen
        ? "--proxy-protocol and --udp exclude each other: it is read on TCP connections"
        : "--proxy-protocol needs --listen (to connect with a header, use --send-proxy v1|v2)",
    );
  }

  const family = flags.set.has("ipv4")
    ? 4
    : flags.set.has("ipv6")
    ? 6
    : undefined;
  const noDns = flags.set.has("nodns");
  if (unix && (family !== undefined || noDns)) {
    throw new UsageError(
      `-${family ?? "n"} is for TCP and UDP: a Unix socket has a path`,
    );
  }

  let address: Address;
  let ports: number[] | undefined;
  let source: CatConfig["source"];
  if (listen) {
    address = listenAddress(flags, positionals);
    if ("port" in address && address.hostname === undefined) {
      if (udp && broadcast) {
        address = { hostname: LOOPBACK_BROADCAST, port: address.port };
      } else if (family === 6) {
        address = { hostname: "::1", port: address.port };
      }
    }
  } else {
    ({ address, ports } = connectAddress(flags, positionals, probe));
    source = sourceAddress(flags, udp, family, noDns);
  }
  if ("port" in address && address.hostname !== undefined) {
    checkHost(address.hostname, family, noDns, listen ? "--host" : "HOST");
  }

  const maxConnsText = flags.values.get("max-conns");
  const maxConnections = maxConnsText === undefined
    ? MAX_CONNS
    : parsePositiveInt(maxConnsText, "max-conns");

  const graceText = flags.values.get("grace");
  const frame = flags.values.get("frame");
  let codec: FrameCodec | undefined;
  if (frame !== undefined) {
    const make = Object.hasOwn(FRAMES, frame) ? FRAMES[frame] : undefined;
    if (make === undefined) {
      throw new UsageError(
        `--frame must be one of ${FRAME_NAMES.join(", ")}, not ${
          JSON.stringify(frame)
        }`,
      );
    }
    const maxText = flags.values.get("max-frame");
    const options: MaxFrame = maxText === undefined
      ? listen ? { maxFrameSize: LISTEN_MAX_FRAME } : {}
      : { maxFrameSize: parsePositiveInt(maxText, "max-frame") };
    try {
      codec = make(options);
    } catch (error) {
      throw new UsageError(
        `--max-frame ${maxText} does not suit --frame ${frame}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  }

  const frameOutText = flags.values.get("frame-out") ?? "text";
  if (frameOutText !== "text" && frameOutText !== "hex") {
    throw new UsageError(
      `--frame-out must be text or hex, not ${JSON.stringify(frameOutText)}`,
    );
  }

  // -w: nc's connect and idle timeout (a listener and UDP never connect;
  // a probe is never idle).
  const wait = seconds(flags, "wait");
  const connects = !listen && !udp;
  return {
    action: "run",
    config: {
      listen,
      udp,
      address,
      family,
      // A Unix socket is probed once, at its path.
      probe: probe ? ports ?? [] : undefined,
      probeRange: ports !== undefined && positionals[1]!.includes("-"),
      source,
      keepOpen: flags.set.has("keep-open"),
      broker,
      access,
      maxConnections,
      broadcast,
      crlf: flags.set.has("crlf"),
      noHalfClose: flags.set.has("no-half-close"),
      sendOnly: flags.set.has("send-only"),
      recvOnly: flags.set.has("recv-only"),
      connectTimeout: seconds(flags, "connect-timeout") ??
        (connects ? wait : undefined),
      idleTimeout: seconds(flags, "idle-timeout") ??
        (probe ? undefined : wait),
      verbose: verbosity > 0,
      verbosity,
      hex: flags.set.has("hex"),
      frame,
      codec,
      frameOut: frameOutText,
      tls,
      proxyProtocol,
      sendProxy,
      progress: flags.set.has("progress"),
      workers,
      gracePeriod: graceText === undefined
        ? GRACE_PERIOD
        : parseSeconds(ncSeconds(graceText), "grace", true),
    },
  };
}

/** `--allow`, `--deny`, `--allowfile`, `--denyfile`: listen over TCP. */
function accessRules(
  flags: Flags,
  flagArgs: readonly string[],
  listen: boolean,
  udp: boolean,
  unix: boolean,
): AccessRules | undefined {
  const given = LIST_FLAGS.find((name) => flags.values.has(name));
  if (given === undefined) return undefined;
  if (!listen) {
    throw new UsageError(`--${given} needs --listen: it says who may connect`);
  }
  if (udp || unix) {
    throw new UsageError(
      `--${given} and --${
        udp ? "udp" : "unix"
      } exclude each other: access control is for TCP listeners${
        udp ? "" : " (a Unix socket's clients have no address)"
      }`,
    );
  }
  return {
    allow: accessList(
      "allow",
      allValues(flagArgs, "allow"),
      allValues(flagArgs, "allowfile"),
    ),
    deny: accessList(
      "deny",
      allValues(flagArgs, "deny"),
      allValues(flagArgs, "denyfile"),
    ),
  };
}

/** The first TLS flag given, if any. */
function firstTlsFlag(flags: Flags): string | undefined {
  return TLS_FLAGS.find((name) => given(flags, name));
}

/**
 * The TLS flags: in connect mode each one turns TLS on; in listen mode
 * `--tls-cert` and `--tls-key` do, and the client's own flags are refused.
 */
function tlsConfig(
  flags: Flags,
  listen: boolean,
  udp: boolean,
): CatConfig["tls"] {
  const first = firstTlsFlag(flags);
  if (first === undefined) return undefined;
  if (udp) {
    throw new UsageError(
      `--${first} and --udp exclude each other: TLS runs over TCP (DTLS is not supported)`,
    );
  }
  if (flags.values.has("unix")) {
    throw new UsageError(
      `--${first} and --unix exclude each other: TLS runs over TCP only`,
    );
  }
  if (!listen) {
    if (given(flags, "tls-client-ca")) {
      throw new UsageError(
        "--tls-client-ca needs --listen: it is the CA a listener checks client certificates with (to verify a server, give --tls-ca FILE)",
      );
    }
    return { role: "client", flags: clientTlsFlags(flags)! };
  }
  for (const [name, why] of Object.entries(CLIENT_ONLY_TLS_FLAGS)) {
    if (given(flags, name)) {
      throw new UsageError(`--${name} and --listen exclude each other: ${why}`);
    }
  }
  const server = serverTlsFlags(flags, false);
  if (server === undefined) {
    throw new UsageError(
      "--tls with --listen needs --tls-cert FILE and --tls-key FILE: the certificate the listener serves",
    );
  }
  return { role: "server", flags: server };
}
