// What the PROXY protocol's v1 and v2 codecs share: error construction,
// byte names for messages, address checks for the encoders. Private to
// framing/.
import { MalformedFrameError } from "./errors.ts";
import { parseIpv4, parseIpv6 } from "./_ip_text.ts";
import type { encodeProxyHeader, ProxyHeader } from "./proxy_protocol.ts";

/** A transport of a PROXY header. */
export type Transport = ProxyHeader["transport"];
/** An address of a PROXY header. */
export type Address = NonNullable<ProxyHeader["source"]>;
/** What `encodeProxyHeader` takes. */
export type EncodeInput = Parameters<typeof encodeProxyHeader>[0];
/** A header's SSL TLV, decoded. */
export type Ssl = NonNullable<ProxyHeader["tlvs"]["ssl"]>;

/** The longest v1 line, CRLF included (`UNKNOWN` with two full IPv6 addresses). */
export const V1_MAX_LINE = 107;
/** Signature, version and command, family and transport, length. */
export const V2_FIXED = 16;

/** The decoder's error for `reason` at stream byte `offset`. */
export function malformed(reason: string, offset: number): MalformedFrameError {
  return new MalformedFrameError(reason, offset);
}

/** Two lowercase hex digits. */
export function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** `0x41 ("A")` for a printable byte, `0x0d` otherwise. */
export function byteName(byte: number): string {
  return byte >= 0x21 && byte <= 0x7e
    ? `0x${hex2(byte)} (${JSON.stringify(String.fromCharCode(byte))})`
    : `0x${hex2(byte)}`;
}

/** The TLVs of a header that has none. */
export function noTlvs(): ProxyHeader["tlvs"] {
  return { raw: [] };
}

/** UTF-8 for the encoders. */
export const utf8: TextEncoder = new TextEncoder();

const utf8Decoder = new TextDecoder();

/**
 * The UTF-8 text of `bytes`; short ASCII (every TLV string HAProxy sends)
 * without the cost of a `TextDecoder` call.
 */
export function textOf(bytes: Uint8Array): string {
  if (bytes.length > 64) return utf8Decoder.decode(bytes);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) return utf8Decoder.decode(bytes);
  }
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/**
 * The address bytes and port of `address` for an IP `transport`, checked.
 *
 * @throws {RangeError} If the address is missing, not of the transport's
 * family, or the port is not an integer in 0..65535.
 */
export function ipPort(
  address: Address | undefined,
  name: string,
  transport: Transport,
): { ip: ArrayLike<number>; port: number } {
  const v6 = transport.endsWith("6");
  if (address === undefined || !("hostname" in address)) {
    throw new RangeError(
      `Cannot encode a PROXY header for ${transport} without a ${name} { hostname, port }`,
    );
  }
  const { hostname, port } = address;
  const ip = v6 ? parseIpv6(hostname) : parseIpv4(hostname);
  if (ip === null) {
    throw new RangeError(
      `Cannot encode the ${name} address ${
        JSON.stringify(hostname)
      } in a ${transport} PROXY header: it is not an IPv${
        v6 ? 6 : 4
      } address (IPv4 as four numbers without leading zeros)`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot encode the ${name} port ${
        String(port)
      } in a PROXY header: it must be an integer in 0..65535`,
    );
  }
  return { ip, port };
}
