/**
 * Where `cat` connects or listens, from its arguments and flags in every
 * spelling: `HOST PORT`, `-l PORT`, `-l HOST PORT`, `-lp PORT`, `--port`,
 * `--host`, `--unix PATH`, `-U PATH`, `-z HOST LOW-HIGH`, `-s`/`-p` as a
 * UDP client's source, and the `-4`/`-6`/`-n` checks on hosts.
 *
 * @module
 */
import type { Address } from "../net/mod.ts";
import { parseCidr } from "../_internal/cidr.ts";
import { type Flags, UsageError } from "./_flags.ts";
import { addressFromFlags, parseHost, parsePort } from "./_values.ts";

/** A UDP client's local address: `-s ADDR`, `-p PORT`. */
export interface SourceAddress {
  /** The address to send from, if given. */
  hostname?: string;
  /** The port to send from (0: any). */
  port: number;
}

/** Parses a positional port: 1..65535 to connect, 0..65535 to listen. */
function positionalPort(text: string, min: 0 | 1): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= min && port <= 65535)) {
    throw new UsageError(
      `PORT must be an integer in ${min}..65535, not ${JSON.stringify(text)}`,
    );
  }
  return port;
}

/** Parses a positional host. */
function positionalHost(text: string): string {
  try {
    return parseHost(text);
  } catch {
    throw new UsageError(
      `HOST must be a host name or IP address, not ${JSON.stringify(text)}`,
    );
  }
}

/** The ports of `-z HOST PORT` or `-z HOST LOW-HIGH`. */
function probePorts(text: string): number[] {
  const range = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (range === null) return [positionalPort(text, 1)];
  const low = positionalPort(range[1]!, 1);
  const high = positionalPort(range[2]!, 1);
  if (low > high) {
    throw new UsageError(
      `the port range ${text} runs backwards: give LOW-HIGH, LOW <= HIGH`,
    );
  }
  return Array.from({ length: high - low + 1 }, (_, i) => low + i);
}

/** `-U PATH`: a Unix socket named as the one argument (nc's spelling). */
function unixsockAddress(positionals: readonly string[]): Address {
  if (positionals.length !== 1 || positionals[0] === "") {
    throw new UsageError(
      positionals.length > 1
        ? `unexpected argument ${
          JSON.stringify(positionals[1])
        }: with -U give only the socket's PATH`
        : "-U needs the socket's PATH as its argument",
    );
  }
  return { path: positionals[0]! };
}

/**
 * Where to listen: `--port`, `-p PORT`, `-l PORT`, `-l HOST PORT`, `-l -p
 * PORT HOST`, `--host`, `--unix PATH`, `-U PATH`.
 *
 * @param flags The parsed flags (`-U` as `unixsock`, `-p` as
 *   `source-port`).
 * @param positionals The arguments that are not flags.
 * @returns The address (no hostname: the default, `127.0.0.1`).
 * @throws {UsageError} When the port is missing or given twice, or an
 *   argument is left over.
 */
export function listenAddress(
  flags: Flags,
  positionals: readonly string[],
): Address {
  if (flags.set.has("unixsock")) {
    if (flags.values.has("source-port")) {
      throw new UsageError(
        "-U cannot be combined with -p: a Unix socket has a path, not a port",
      );
    }
    return unixsockAddress(positionals);
  }
  if (flags.values.has("source")) {
    throw new UsageError(
      "-s/--source is for connecting: to listen on an address give -l HOST PORT or --host HOST",
    );
  }
  if (flags.values.has("unix")) {
    if (positionals.length > 0) {
      throw new UsageError(
        `unexpected argument ${
          JSON.stringify(positionals[0])
        }: --unix PATH replaces HOST PORT`,
      );
    }
    if (flags.values.has("source-port")) {
      throw new UsageError(
        "--unix cannot be combined with -p: a Unix socket has a path, not a port",
      );
    }
    return addressFromFlags(flags, 0);
  }
  const byFlag = flags.values.get("port");
  const byP = flags.values.get("source-port");
  if (byFlag !== undefined && byP !== undefined) {
    throw new UsageError("--port and -p both give the port: give one");
  }
  let portText = byFlag ?? byP;
  let portGiven = portText !== undefined;
  let hostText = flags.values.get("host");
  let hostGiven = hostText !== undefined;
  if (positionals.length > 2) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(positionals[2])}`,
    );
  }
  if (positionals.length === 2) {
    if (portGiven || hostGiven) {
      throw new UsageError(
        `unexpected argument ${JSON.stringify(positionals[1])}: the ${
          portGiven ? "port" : "host"
        } is given by a flag already`,
      );
    }
    [hostText, portText] = positionals as [string, string];
    hostGiven = portGiven = false;
  } else if (positionals.length === 1) {
    if (portGiven && hostGiven) {
      throw new UsageError(
        `unexpected argument ${
          JSON.stringify(positionals[0])
        }: --host and the port are given already`,
      );
    }
    if (portGiven) hostText = positionals[0];
    else portText = positionals[0];
  }
  if (portText === undefined) {
    throw new UsageError(
      "--listen needs a port: -l PORT, -l HOST PORT, -l -p PORT or --port PORT (0 for any free one), or --unix PATH",
    );
  }
  const port = portGiven
    ? parsePort(portText, byFlag !== undefined ? "port" : "source-port")
    : positionalPort(portText, 0);
  if (hostText === undefined) return { port };
  return {
    hostname: hostGiven ? parseHost(hostText) : positionalHost(hostText),
    port,
  };
}

/**
 * Where to connect: `HOST PORT`, `--unix PATH`, `-U PATH`; with `-z`,
 * `PORT` may be a range `LOW-HIGH`.
 *
 * @param flags The parsed flags.
 * @param positionals The arguments that are not flags.
 * @param probe Whether `-z` was given.
 * @returns The address (its port the first to probe) and, with `-z`, the
 *   ports.
 * @throws {UsageError} When the arguments do not make an address.
 */
export function connectAddress(
  flags: Flags,
  positionals: readonly string[],
  probe: boolean,
): { address: Address; ports: number[] | undefined } {
  for (const name of ["host", "port"]) {
    if (flags.values.has(name)) {
      throw new UsageError(
        `--${name} is for --listen; to connect give HOST PORT as arguments`,
      );
    }
  }
  if (flags.set.has("unixsock")) {
    return { address: unixsockAddress(positionals), ports: undefined };
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
    return { address: { path: unix }, ports: undefined };
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      positionals.length < 2
        ? "give HOST and PORT to connect to (or --listen, or --unix PATH)"
        : `unexpected argument ${JSON.stringify(positionals[2])}`,
    );
  }
  const [hostText, portText] = positionals as [string, string];
  const hostname = positionalHost(hostText);
  if (probe) {
    const ports = probePorts(portText);
    return { address: { hostname, port: ports[0]! }, ports };
  }
  return {
    address: { hostname, port: positionalPort(portText, 1) },
    ports: undefined,
  };
}

/** The family of an IP address literal, or `undefined` for a host name. */
function familyOf(hostname: string): 4 | 6 | undefined {
  try {
    return parseCidr(hostname).family;
  } catch {
    return undefined;
  }
}

/**
 * Checks a host against `-4`/`-6` and `-n`: an IP address must be of the
 * family asked for, and with `-n` a host must be an IP address.
 *
 * @param hostname The host.
 * @param family `-4`/`-6`, if given.
 * @param noDns Whether `-n` was given.
 * @param what How the host was given, for the message.
 * @throws {UsageError} When it does not fit.
 */
export function checkHost(
  hostname: string,
  family: 4 | 6 | undefined,
  noDns: boolean,
  what: string,
): void {
  const literal = familyOf(hostname);
  if (literal === undefined && noDns) {
    throw new UsageError(
      `-n (no name resolution) needs an IP address as ${what}, not ${
        JSON.stringify(hostname)
      }`,
    );
  }
  if (literal !== undefined && family !== undefined && literal !== family) {
    throw new UsageError(
      `-${family} (IPv${family} only) does not go with the IPv${literal} address ${
        JSON.stringify(hostname)
      }`,
    );
  }
}

/**
 * `-s ADDR` and `-p PORT` when connecting: the local address of a UDP
 * client (Deno cannot choose a TCP client's).
 *
 * @param flags The parsed flags.
 * @param udp Whether `--udp` was given.
 * @param family `-4`/`-6`, if given.
 * @param noDns Whether `-n` was given.
 * @returns The source, or `undefined` when neither flag was given.
 * @throws {UsageError} With TCP, or for a bad address or port.
 */
export function sourceAddress(
  flags: Flags,
  udp: boolean,
  family: 4 | 6 | undefined,
  noDns: boolean,
): SourceAddress | undefined {
  const host = flags.values.get("source");
  const port = flags.values.get("source-port");
  if (host === undefined && port === undefined) return undefined;
  if (!udp) {
    throw new UsageError(
      `${
        host !== undefined ? "-s/--source" : "-p/--source-port"
      } needs --udp when connecting: Deno cannot choose a TCP client's local address or port (with --listen, -p PORT is the port to listen on)`,
    );
  }
  const hostname = host === undefined ? undefined : parseHost(host, "source");
  if (hostname !== undefined) checkHost(hostname, family, noDns, "-s");
  return {
    ...(hostname === undefined ? {} : { hostname }),
    port: port === undefined ? 0 : parsePort(port, "source-port"),
  };
}
