/**
 * The PROXY protocol flags of the tools: the receiving side
 * (`--proxy-protocol`, `--proxy-from`, `--proxy-optional`,
 * `--proxy-version`, `--proxy-timeout`) for the servers, `cat --listen` and
 * `relay`'s listening side, and the sending side (`--send-proxy v1|v2`) for
 * `cat` and `relay`'s target.
 *
 * @module
 */
import { AddressSet } from "../_internal/cidr.ts";
import type { ProxyProtocolOptions } from "../tcp/mod.ts";
import { type Flags, UsageError } from "./_flags.ts";
import { parseSeconds } from "./_values.ts";

/** The receiving side's flags that take a value. */
export const PROXY_STRING_FLAGS: readonly string[] = [
  "proxy-from",
  "proxy-version",
  "proxy-timeout",
];

/** The receiving side's flags that take none. */
export const PROXY_BOOLEAN_FLAGS: readonly string[] = [
  "proxy-protocol",
  "proxy-optional",
];

/** The usage lines of the receiving side's flags. */
export const PROXY_FLAGS_USAGE: string = [
  "  --proxy-protocol        behind a load balancer: each connection starts",
  "                          with a PROXY protocol header (v1 or v2) naming",
  "                          the real client, which is what is logged; only",
  "                          --proxy-from addresses may send one (others are",
  "                          refused)",
  "  --proxy-from ADDR[/BITS][,...]",
  "                          the proxies trusted to send headers (required",
  "                          with --proxy-protocol)",
  "  --proxy-optional        with --proxy-protocol: also serve clients that",
  "                          connect directly (no header); they must speak",
  "                          first, or wait --proxy-timeout",
  "  --proxy-version v1|v2|any",
  "                          the header versions accepted (default any)",
  "  --proxy-timeout SECONDS the longest wait for a header (default 5)",
].join("\n");

/** The usage lines of `--send-proxy`. */
export const SEND_PROXY_USAGE: string = [
  "  --send-proxy v1|v2      send a PROXY protocol header first, naming this",
  "                          connection's own addresses, as a load balancer",
  "                          does (to test a server that reads them)",
].join("\n");

/**
 * Reads the receiving side's flags.
 *
 * @param flags The parsed flags.
 * @param unix Whether the tool listens on a Unix socket.
 * @returns `listen()`'s `proxyProtocol`, or `undefined` without
 * `--proxy-protocol`.
 * @throws {UsageError} If the flags do not go together, or a value is bad.
 */
export function proxyProtocolFlags(
  flags: Flags,
  unix: boolean,
): ProxyProtocolOptions | undefined {
  const on = flags.set.has("proxy-protocol");
  const from = flags.values.get("proxy-from");
  if (!on) {
    const stray = from !== undefined ? "proxy-from" : [
      "proxy-optional",
      "proxy-version",
      "proxy-timeout",
    ].find((flag) => flags.set.has(flag) || flags.values.has(flag));
    if (stray !== undefined) {
      throw new UsageError(`--${stray} needs --proxy-protocol`);
    }
    return undefined;
  }
  if (unix) {
    throw new UsageError(
      "--proxy-protocol is for TCP: a Unix socket has no client address to replace",
    );
  }
  if (from === undefined || from.trim() === "") {
    throw new UsageError(
      "--proxy-protocol needs --proxy-from ADDR[/BITS][,...]: the load balancers trusted to send headers (a header from anyone else is refused)",
    );
  }
  const version = flags.values.get("proxy-version") ?? "any";
  if (version !== "v1" && version !== "v2" && version !== "any") {
    throw new UsageError(
      `--proxy-version must be v1, v2 or any, not ${JSON.stringify(version)}`,
    );
  }
  const entries = from.split(",").map((entry) => entry.trim());
  try {
    AddressSet.parse(entries, "--proxy-from entry");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const timeout = flags.values.get("proxy-timeout");
  return {
    from: entries,
    required: !flags.set.has("proxy-optional"),
    version,
    ...(timeout === undefined
      ? {}
      : { headerTimeout: parseSeconds(timeout, "proxy-timeout") }),
  };
}

/**
 * Reads `--send-proxy v1|v2`.
 *
 * @param text The flag's value, if given.
 * @returns The version, or `undefined`.
 * @throws {UsageError} If the value is not `v1` or `v2`.
 */
export function sendProxyFlag(text: string | undefined): 1 | 2 | undefined {
  if (text === undefined) return undefined;
  if (text === "v1" || text === "1") return 1;
  if (text === "v2" || text === "2") return 2;
  throw new UsageError(
    `--send-proxy must be v1 or v2, not ${JSON.stringify(text)}`,
  );
}

/**
 * The note after `listening on ADDR` for a server reading PROXY headers.
 *
 * @param proxy The server's `proxyProtocol`, if any.
 * @returns ` (PROXY protocol from …)`, or `""`.
 */
export function proxyListeningNote(
  proxy: ProxyProtocolOptions | undefined,
): string {
  return proxy === undefined
    ? ""
    : ` (PROXY protocol from ${[proxy.from].flat().join(",")})`;
}
