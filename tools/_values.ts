/**
 * Flag values for the tools: ports, hosts, durations, counts, `\\n`-style
 * escapes and the `--host`/`--port`/`--unix` address, each checked with an
 * error that names the flag.
 *
 * @module
 */
import type { Address } from "../net/mod.ts";
import { type Flags, UsageError } from "./_flags.ts";

/** The one-character escapes and their bytes. */
const ESCAPES: ReadonlyMap<string, number> = new Map([
  ["n", 0x0a],
  ["r", 0x0d],
  ["t", 0x09],
  ["0", 0x00],
  ["\\", 0x5c],
]);

/**
 * Decodes backslash escapes in a flag's text into bytes: `\n`, `\r`, `\t`,
 * `\0`, `\\` and `\xHH` (one raw byte, as in a Python bytes literal); the
 * rest is UTF-8.
 *
 * @param text The text as typed.
 * @param flag The flag, for the error message.
 * @returns The bytes.
 * @throws {UsageError} On an unknown or incomplete escape.
 */
export function decodeEscapes(text: string, flag: string): Uint8Array {
  const encoder = new TextEncoder();
  const parts: number[] = [];
  let literal = "";
  const flush = () => {
    if (literal !== "") parts.push(...encoder.encode(literal));
    literal = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\") {
      literal += c;
      continue;
    }
    const e = text[i + 1];
    const byte = e === undefined ? undefined : ESCAPES.get(e);
    if (byte !== undefined) {
      flush();
      parts.push(byte);
      i++;
    } else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      flush();
      parts.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const shown = e === "x"
        ? `\\x${text.slice(i + 2, i + 4)}`
        : `\\${e ?? ""}`;
      throw new UsageError(
        `--${flag} has a bad escape ${shown}: use \\n \\r \\t \\0 \\\\ or \\xHH`,
      );
    }
  }
  flush();
  return new Uint8Array(parts);
}

/**
 * Parses a port: an integer in 0..65535 (0: any free port).
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @returns The port.
 * @throws {UsageError} If it is not one.
 */
export function parsePort(text: string, flag = "port"): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(
      `--${flag} must be an integer in 0..65535, not ${JSON.stringify(text)}`,
    );
  }
  return port;
}

/**
 * The longest duration a flag takes: 2**31 - 1 ms (about 24.8 days), the
 * longest timer there is (a longer `setTimeout` or `AbortSignal.timeout`
 * fires at once).
 */
const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Parses a duration in seconds (decimals allowed) into whole milliseconds.
 * What rounds to 0 ms (`0.0001`) is refused rather than taken as 0 (no
 * timeout, or none at all); with `allowZero`, only `0` itself means 0 (the
 * flag documents it as "none"). Longer than {@linkcode MAX_DURATION_MS} is
 * refused too, as the timer would fire at once.
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @param allowZero Whether 0 is allowed.
 * @returns Milliseconds: at least 1 (or exactly 0 with `allowZero`), at
 * most {@linkcode MAX_DURATION_MS}.
 * @throws {UsageError} If it is not a number, or too small or too large.
 */
export function parseSeconds(
  text: string,
  flag: string,
  allowZero = false,
): number {
  const seconds = /^\s*$/.test(text) ? NaN : Number(text);
  const expected = `--${flag} must be a number of seconds ${
    allowZero ? ">= 0" : "> 0"
  }`;
  if (
    !Number.isFinite(seconds) || seconds < 0 || (!allowZero && seconds === 0)
  ) {
    throw new UsageError(`${expected}, not ${JSON.stringify(text)}`);
  }
  const ms = Math.round(seconds * 1000);
  if (ms === 0 && seconds !== 0) {
    throw new UsageError(
      `${expected}, not ${JSON.stringify(text)}: it rounds to 0 ms (${
        allowZero ? "0 means none; " : ""
      }the shortest is 0.001)`,
    );
  }
  if (ms > MAX_DURATION_MS) {
    throw new UsageError(
      `${expected}, not ${
        JSON.stringify(text)
      }: the longest is 2147483.647 (about 24.8 days)`,
    );
  }
  return ms;
}

/**
 * Parses a positive integer.
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @returns The integer (>= 1).
 * @throws {UsageError} If it is not one.
 */
export function parsePositiveInt(text: string, flag: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(
      `--${flag} must be an integer >= 1, not ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/**
 * Parses a host: a name or an IP address (`[::1]` or `::1` for IPv6).
 *
 * @param text The flag's value.
 * @param flag The flag's name.
 * @returns The hostname, without brackets.
 * @throws {UsageError} If it cannot be a host.
 */
export function parseHost(text: string, flag = "host"): string {
  const host = /^\[.*\]$/.test(text) ? text.slice(1, -1) : text;
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) {
    throw new UsageError(
      `--${flag} must be a host name or IP address, not ${
        JSON.stringify(text)
      }`,
    );
  }
  return host;
}

/**
 * The address from `--host`/`--port` or `--unix`, which exclude each other.
 *
 * @param flags The parsed flags.
 * @param defaultPort The port when `--port` is not given.
 * @returns A TCP or Unix address.
 * @throws {UsageError} If the flags are bad or conflict.
 */
export function addressFromFlags(flags: Flags, defaultPort: number): Address {
  const unix = flags.values.get("unix");
  const host = flags.values.get("host");
  const port = flags.values.get("port");
  if (unix !== undefined) {
    if (host !== undefined || port !== undefined) {
      throw new UsageError(
        `--unix cannot be combined with --${
          host !== undefined ? "host" : "port"
        }: a Unix socket has a path, not a host and port`,
      );
    }
    if (unix === "") throw new UsageError("--unix needs a path");
    return { path: unix };
  }
  return {
    ...(host === undefined ? {} : { hostname: parseHost(host) }),
    port: port === undefined ? defaultPort : parsePort(port),
  };
}
