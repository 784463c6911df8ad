/**
 * The command line of `cat`: positional `HOST PORT` next to flags, the
 * modes (connect, listen, UDP, Unix, TLS) and which flags go with which,
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
import {
  addressFromFlags,
  parseHost,
  parsePositiveInt,
  parseSeconds,
} from "./_values.ts";
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
  "frame",
  "frame-out",
  "max-frame",
  ...new Set([...CLIENT_TLS_STRING_FLAGS, ...SERVER_TLS_FLAGS]),
  "tls-alpn",
];

/** Flags that take none. */
const BOOLEAN_FLAGS: readonly string[] = [
  "listen",
  "keep-open",
  "udp",
  "broadcast",
  "no-half-close",
  "send-only",
  "recv-only",
  "verbose",
  "hex",
  ...CLIENT_TLS_BOOLEAN_FLAGS,
  "help",
  "version",
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

/** Short names, as netcat spells them. */
const ALIASES: Readonly<Record<string, string>> = {
  h: "help",
  l: "listen",
  k: "keep-open",
  u: "udp",
  v: "verbose",
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
  /** Listen: serve client after client until a signal. */
  keepOpen: boolean;
  /** Listen with keep-open: clients served at once. */
  maxConnections: number;
  /** UDP: take replies from any host (connect) / listen on the broadcast address. */
  broadcast: boolean;
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

function seconds(flags: Flags, name: string): number | undefined {
  const text = flags.values.get(name);
  return text === undefined ? undefined : parseSeconds(text, name);
}

/** A flag that needs another one: `--keep-open needs --listen`. */
function requires(flags: Flags, name: string, needs: string, why = ""): void {
  if (
    (flags.set.has(name) || flags.values.has(name)) && !flags.set.has(needs)
  ) {
    throw new UsageError(`--${name} needs --${needs}${why}`);
  }
}

/** Two flags that exclude each other. */
function excludes(flags: Flags, a: string, b: string, why = ""): void {
  const has = (name: string) => flags.set.has(name) || flags.values.has(name);
  if (has(a) && has(b)) {
    throw new UsageError(`--${a} and --${b} exclude each other${why}`);
  }
}

function parseTarget(positionals: readonly string[]): Address {
  if (positionals.length !== 2) {
    throw new UsageError(
      positionals.length < 2
        ? "give HOST and PORT to connect to (or --listen, or --unix PATH)"
        : `unexpected argument ${JSON.stringify(positionals[2])}`,
    );
  }
  const [hostText, portText] = positionals as [string, string];
  let hostname: string;
  try {
    hostname = parseHost(hostText);
  } catch {
    throw new UsageError(
      `HOST must be a host name or IP address, not ${JSON.stringify(hostText)}`,
    );
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new UsageError(
      `PORT must be an integer in 1..65535, not ${JSON.stringify(portText)}`,
    );
  }
  return { hostname, port };
}

/**
 * Parses and checks `cat`'s command line.
 *
 * @param args The command line, without the program name.
 * @returns What to do.
 * @throws {UsageError} Naming the flag or argument that is wrong.
 */
export function parseCatArgs(args: readonly string[]): CatCommand {
  const { positionals, flags: flagArgs } = splitArgs(args);
  const flags = parseFlags(flagArgs, {
    string: STRING_FLAGS,
    boolean: BOOLEAN_FLAGS,
    alias: ALIASES,
  });
  if (flags.set.has("help")) return { action: "help" };
  if (flags.set.has("version")) return { action: "version" };

  const listen = flags.set.has("listen");
  const udp = flags.set.has("udp");
  const broadcast = flags.set.has("broadcast");

  requires(flags, "keep-open", "listen");
  requires(flags, "max-conns", "keep-open");
  requires(flags, "broadcast", "udp");
  excludes(flags, "send-only", "recv-only", ": nothing would move");
  excludes(flags, "udp", "unix", ": Unix datagram sockets are not supported");
  excludes(
    flags,
    "udp",
    "keep-open",
    ": a UDP listener already answers whoever sent last",
  );
  excludes(
    flags,
    "udp",
    "frame",
    ": datagrams keep their boundaries, each line is already one datagram",
  );
  excludes(flags, "udp", "connect-timeout", ": UDP does not connect");
  excludes(flags, "listen", "connect-timeout", ": a listener does not connect");
  if (
    flags.values.has("frame-out") && !flags.values.has("frame") && !udp
  ) {
    throw new UsageError("--frame-out needs --frame or --udp");
  }
  if (flags.values.has("max-frame") && !flags.values.has("frame")) {
    throw new UsageError("--max-frame needs --frame");
  }
  const tls = tlsConfig(flags, listen, udp);

  let address: Address;
  if (listen) {
    if (positionals.length > 0) {
      throw new UsageError(
        `unexpected argument ${
          JSON.stringify(positionals[0])
        }: with --listen give --port PORT (and --host HOST) or --unix PATH`,
      );
    }
    if (!flags.values.has("port") && !flags.values.has("unix")) {
      throw new UsageError(
        "--listen needs --port PORT (0 for any free one) or --unix PATH",
      );
    }
    address = addressFromFlags(flags, 0);
    if (udp && broadcast && !flags.values.has("host") && "port" in address) {
      address = { hostname: LOOPBACK_BROADCAST, port: address.port };
    }
  } else {
    for (const name of ["host", "port"]) {
      if (flags.values.has(name)) {
        throw new UsageError(
          `--${name} is for --listen; to connect give HOST PORT as arguments`,
        );
      }
    }
    const unix = flags.values.get("unix");
    if (unix !== undefined) {
      if (unix === "") throw new UsageError("--unix needs a path");
      if (positionals.length > 0) {
        throw new UsageError(
          `unexpected argument ${
            JSON.stringify(positionals[0])
          }: --unix PATH replaces HOST PORT`,
        );
      }
      address = { path: unix };
    } else {
      address = parseTarget(positionals);
    }
  }

  const maxConnsText = flags.values.get("max-conns");
  const maxConnections = maxConnsText === undefined
    ? 1
    : parsePositiveInt(maxConnsText, "max-conns");

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
      ? {}
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

  return {
    action: "run",
    config: {
      listen,
      udp,
      address,
      keepOpen: flags.set.has("keep-open"),
      maxConnections,
      broadcast,
      noHalfClose: flags.set.has("no-half-close"),
      sendOnly: flags.set.has("send-only"),
      recvOnly: flags.set.has("recv-only"),
      connectTimeout: seconds(flags, "connect-timeout"),
      idleTimeout: seconds(flags, "idle-timeout"),
      verbose: flags.set.has("verbose"),
      hex: flags.set.has("hex"),
      frame,
      codec,
      frameOut: frameOutText,
      tls,
    },
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
