// Who may reach a command server, private to rexec/: a TCP host other than
// loopback needs a token (or an explicit `insecure`); Unix sockets are
// local, their file permissions decide who connects.
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
 * Refuses to expose a command server beyond this machine without a token:
 * a TCP address whose host is not loopback needs `token` or `insecure`.
 *
 * @throws {TypeError} If the address is exposed without either.
 */
export function checkExposure(
  address: Address,
  options: { token?: string | undefined; insecure?: boolean | undefined },
): void {
  if ("path" in address) return;
  const host = address.hostname ?? DEFAULT_HOSTNAME;
  if (
    isLoopbackHost(host) || options.token !== undefined ||
    options.insecure === true
  ) {
    return;
  }
  throw new TypeError(
    `Cannot serve commands on ${
      formatAddress(address)
    } without a token as ${host} is not loopback: give a token that clients must send, or insecure to let anyone who can connect run the allowed programs`,
  );
}
