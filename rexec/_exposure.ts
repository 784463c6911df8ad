// Who may reach a command server, private to rexec/: a TCP host other than
// loopback needs a token and TLS, so that the token never crosses a network
// in clear text (or an explicit `insecure`); Unix sockets are local, their
// file permissions decide who connects. A client sends a token to a host
// other than loopback only over TLS, and TLS that verifies the server
// (or an explicit `insecure`).
import { type Address, formatAddress } from "../net/mod.ts";
import { DEFAULT_HOSTNAME } from "../_internal/address.ts";

/**
 * Whether `hostname` is a loopback address: `127.0.0.0/8`, `::1` (also
 * written out, or as `::ffff:127.x.y.z`) or `localhost`. IPv6 with or
 * without brackets.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1") return true;
  if (/^(?:0{0,4}:){7}0{0,3}1$/.test(host)) return true; // ::1 written out
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
    .exec(host);
  return v4 !== null && Number(v4[1]) === 127 &&
    v4.slice(2).every((part) => Number(part) <= 255);
}

/**
 * Refuses to expose a command server beyond this machine without a token
 * sent over TLS: a TCP address whose host is not loopback needs `token`
 * and `tls`, or `insecure`.
 *
 * @throws {TypeError} If the address is exposed without them.
 */
export function checkExposure(
  address: Address,
  options: {
    token?: string | undefined;
    insecure?: boolean | undefined;
    tls?: boolean | undefined;
  },
): void {
  if ("path" in address) return;
  const host = address.hostname ?? DEFAULT_HOSTNAME;
  if (isLoopbackHost(host) || options.insecure === true) return;
  const token = options.token !== undefined;
  const tls = options.tls === true;
  if (token && tls) return;
  const where = formatAddress(address);
  const anyone =
    "or insecure (--insecure) to let anyone who can connect run the allowed programs";
  throw new TypeError(
    !token && !tls
      ? `Cannot serve commands on ${where} without a token and TLS as ${host} is not loopback: give a token that clients must send and TLS so that it never crosses the network in clear text (--token-file FILE --tls-cert FILE --tls-key FILE; token, tls), ${anyone}`
      : !token
      ? `Cannot serve commands on ${where} without a token as ${host} is not loopback: give a token that clients must send (--token-file FILE, token), ${anyone}`
      : `Cannot serve commands on ${where} with a token but without TLS as ${host} is not loopback: the token would cross the network in clear text; serve TLS (--tls-cert FILE --tls-key FILE, tls), or insecure (--insecure) to accept that`,
  );
}

/**
 * Refuses to send a token beyond this machine where others could take it:
 * a client that has a token for a TCP host other than loopback must connect
 * with TLS, and TLS that verifies the server, unless `insecure` (for the
 * second only: a token never crosses a network in clear text).
 *
 * @throws {TypeError} If it would.
 */
export function checkTokenTransport(
  address: Address,
  options: {
    token?: string | undefined;
    tls?: boolean | undefined;
    verified?: boolean | undefined;
    insecure?: boolean | undefined;
  },
): void {
  if ("path" in address || options.token === undefined) return;
  const verified = options.verified ?? true;
  if (options.tls && (verified || options.insecure === true)) return;
  const host = address.hostname ?? DEFAULT_HOSTNAME;
  if (isLoopbackHost(host)) return;
  const where = formatAddress(address);
  throw new TypeError(
    options.tls
      ? `Cannot send the token to ${where} over TLS that verifies nothing as ${host} is not loopback: whoever answers would get it; verify the server (--tls-ca FILE instead of --tls-insecure; tls.caCerts), or add --insecure (insecure) to accept that`
      : `Cannot send the token to ${where} in clear text as ${host} is not loopback: connect with TLS (--tls, or --tls-ca FILE for a private CA; tls)`,
  );
}
