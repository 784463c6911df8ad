// PROXY protocol v2: the binary header and its TLVs, decoded and encoded.
// Private to framing/: `proxy_protocol.ts` finds the header's end, this file
// reads it.
import type { ProxyHeader } from "./proxy_protocol.ts";
import { crc32cUpdate } from "./_crc32c.ts";
import { formatIpv4, formatIpv6 } from "./_ip_text.ts";
import {
  type Address,
  type EncodeInput,
  hex2,
  ipPort,
  malformed,
  noTlvs,
  type Ssl,
  textOf,
  type Transport,
  utf8,
  V2_FIXED,
} from "./_proxy_shared.ts";

/** The big-endian 16-bit number at `bytes[at]`. */
function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

/** The big-endian 32-bit number at `bytes[at]`. */
function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) |
    bytes[at + 3]!) >>> 0;
}

/** The 12 bytes every v2 header starts with. */
export const V2_SIGNATURE: Uint8Array = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);
const UNIX_PATH_SIZE = 108;
const UNIQUE_ID_MAX = 128;

// v2 TLV types and SSL sub-types.
const TLV_ALPN = 0x01;
const TLV_AUTHORITY = 0x02;
const TLV_CRC32C = 0x03;
const TLV_NOOP = 0x04;
const TLV_UNIQUE_ID = 0x05;
const TLV_SSL = 0x20;
const TLV_NETNS = 0x30;
const SSL_VERSION = 0x21;
const SSL_CN = 0x22;
const SSL_CIPHER = 0x23;
const SSL_SIG_ALG = 0x24;
const SSL_KEY_ALG = 0x25;
const SSL_GROUP = 0x26;
const SSL_SIG_SCHEME = 0x27;
const SSL_CLIENT_CERT = 0x28;
const SSL_CLIENT_TLS = 0x01;
const SSL_CLIENT_CERT_CONN = 0x02;
const SSL_CLIENT_CERT_SESS = 0x04;

/** v2 family and transport byte → transport and address block size. */
const V2_FAMILIES: ReadonlyMap<number, [Transport, number]> = new Map([
  [0x00, ["unknown", 0]],
  [0x11, ["tcp4", 12]],
  [0x12, ["udp4", 12]],
  [0x21, ["tcp6", 36]],
  [0x22, ["udp6", 36]],
  [0x31, ["unix", 2 * UNIX_PATH_SIZE]],
  [0x32, ["unixpacket", 2 * UNIX_PATH_SIZE]],
]);
const V2_FAMILY_BYTES = new Map<Transport, number>(
  [...V2_FAMILIES].map(([byte, [transport]]) => [transport, byte]),
);

/** Named sub-TLVs of the SSL TLV, in the order HAProxy writes them. */
const SSL_STRINGS = [
  [SSL_VERSION, "version"],
  [SSL_CN, "commonName"],
  [SSL_KEY_ALG, "keyAlgorithm"],
  [SSL_SIG_ALG, "signatureAlgorithm"],
  [SSL_CIPHER, "cipher"],
  [SSL_GROUP, "group"],
  [SSL_SIG_SCHEME, "signatureScheme"],
] as const;

type SslStringField = (typeof SSL_STRINGS)[number][1];

/** Checks the 13th byte: version 2, command LOCAL or PROXY. */
export function checkVersionAndCommand(byte: number): void {
  if (byte >> 4 !== 2) {
    throw malformed(`PROXY v2 header has version ${byte >> 4}, not 2`, 12);
  }
  if ((byte & 0x0f) > 1) {
    throw malformed(
      `PROXY v2 command 0x${
        (byte & 0x0f).toString(16)
      } is neither LOCAL (0x0) nor PROXY (0x1)`,
      12,
    );
  }
}

/** The transport and address block size of the 14th byte. */
export function familyOf(byte: number): [Transport, number] {
  const family = V2_FAMILIES.get(byte);
  if (family === undefined) {
    throw malformed(
      `PROXY v2 family and transport byte 0x${
        hex2(byte)
      } is none of 0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32`,
      13,
    );
  }
  return family;
}

/** A Unix socket path from its 108 NUL-padded bytes. */
function unixPath(bytes: Uint8Array, at: number): string {
  const field = bytes.subarray(at, at + UNIX_PATH_SIZE);
  // An abstract socket's name starts with a NUL byte; all NULs is unnamed.
  const nul = field.indexOf(0, field[0] === 0 ? 1 : 0);
  const end = nul === -1 ? UNIX_PATH_SIZE : nul === 1 ? 0 : nul;
  return textOf(field.subarray(0, end));
}

/**
 * Sets `header`'s source and destination from an IP address block at `at`:
 * the two addresses (`size` bytes each, written by `format`), then the two
 * ports.
 */
function decodeIpEnds(
  header: ProxyHeader,
  bytes: Uint8Array,
  at: number,
  size: number,
  format: (bytes: Uint8Array, at: number) => string,
): void {
  const ports = at + 2 * size;
  header.source = { hostname: format(bytes, at), port: u16(bytes, ports) };
  header.destination = {
    hostname: format(bytes, at + size),
    port: u16(bytes, ports + 2),
  };
}

/** Decodes a whole v2 header, `bytes` exactly. */
export function decodeV2(bytes: Uint8Array): ProxyHeader {
  const command = (bytes[12]! & 0x0f) === 1 ? "proxy" : "local";
  const [transport, familySize] = familyOf(bytes[13]!);
  const announced = u16(bytes, 14);
  // LOCAL ignores the family: a block too short for its addresses has none
  // (the spec says a LOCAL sender should send no addresses).
  const addressSize = command === "local" && announced < familySize
    ? 0
    : familySize;
  if (announced < addressSize) {
    throw malformed(
      `PROXY v2 length ${announced} is shorter than the ${addressSize}-byte ${transport} address block`,
      14,
    );
  }
  const header: ProxyHeader = command === "local"
    ? { version: 2, command, transport: "unknown", tlvs: noTlvs() }
    : { version: 2, command, transport, tlvs: noTlvs() };
  if (command === "proxy") {
    const a = V2_FIXED;
    if (transport === "tcp4" || transport === "udp4") {
      decodeIpEnds(header, bytes, a, 4, formatIpv4);
    } else if (transport === "tcp6" || transport === "udp6") {
      decodeIpEnds(header, bytes, a, 16, formatIpv6);
    } else if (transport === "unix" || transport === "unixpacket") {
      header.source = { path: unixPath(bytes, a) };
      header.destination = { path: unixPath(bytes, a + UNIX_PATH_SIZE) };
    }
  }
  decodeTlvs(bytes, V2_FIXED + addressSize, header.tlvs);
  return header;
}

/** Calls `each(type, start, end)` for each TLV in `bytes[from..to)`. */
function eachTlv(
  bytes: Uint8Array,
  from: number,
  to: number,
  what: string,
  each: (type: number, start: number, end: number) => void,
): void {
  for (let at = from; at < to;) {
    if (to - at < 3) {
      throw malformed(
        `PROXY v2 ${what} ends ${to - at} bytes into a 3-byte type and length`,
        at,
      );
    }
    const type = bytes[at]!;
    const size = (bytes[at + 1]! << 8) | bytes[at + 2]!;
    const start = at + 3;
    if (start + size > to) {
      throw malformed(
        `PROXY v2 TLV 0x${
          hex2(type)
        } of ${size} bytes runs past the end of the ${what}`,
        at,
      );
    }
    each(type, start, start + size);
    at = start + size;
  }
}

function decodeTlvs(
  bytes: Uint8Array,
  from: number,
  tlvs: ProxyHeader["tlvs"],
): void {
  eachTlv(bytes, from, bytes.length, "header", (type, start, end) => {
    const value = bytes.subarray(start, end);
    switch (type) {
      case TLV_ALPN:
        tlvs.alpn ??= textOf(value);
        return;
      case TLV_AUTHORITY:
        tlvs.authority ??= textOf(value);
        return;
      case TLV_CRC32C:
        return checkCrc32c(bytes, start, end);
      case TLV_NOOP:
        return;
      case TLV_UNIQUE_ID:
        if (value.length > UNIQUE_ID_MAX) {
          throw malformed(
            `PROXY v2 unique ID has ${value.length} bytes, more than ${UNIQUE_ID_MAX}`,
            start - 3,
          );
        }
        tlvs.uniqueId ??= value.slice();
        return;
      case TLV_SSL:
        tlvs.ssl ??= decodeSsl(bytes, start, end);
        return;
      case TLV_NETNS:
        tlvs.netns ??= textOf(value);
        return;
      default:
        tlvs.raw.push({ type, value: value.slice() });
    }
  });
}

function checkCrc32c(
  bytes: Uint8Array,
  start: number,
  end: number,
): void {
  if (end - start !== 4) {
    throw malformed(
      `PROXY v2 CRC32C TLV has ${end - start} bytes, not 4`,
      start - 3,
    );
  }
  const sent = u32(bytes, start);
  let crc = crc32cUpdate(0xffffffff, bytes, 0, start);
  crc = crc32cUpdate(crc, ZERO_CRC);
  crc = crc32cUpdate(crc, bytes, end, bytes.length);
  const sum = ~crc >>> 0;
  if (sum !== sent) {
    throw malformed(
      `PROXY v2 CRC32C check failed: the header says 0x${
        sent.toString(16).padStart(8, "0")
      }, its bytes sum to 0x${sum.toString(16).padStart(8, "0")}`,
      start,
    );
  }
}

const ZERO_CRC = new Uint8Array(4);

function decodeSsl(
  bytes: Uint8Array,
  start: number,
  end: number,
): Ssl {
  if (end - start < 5) {
    throw malformed(
      `PROXY v2 SSL TLV has ${
        end - start
      } bytes, fewer than the 5 of its client and verify fields`,
      start - 3,
    );
  }
  const client = bytes[start]!;
  const ssl: Ssl = {
    tls: (client & SSL_CLIENT_TLS) !== 0,
    certificateOnConnection: (client & SSL_CLIENT_CERT_CONN) !== 0,
    certificateInSession: (client & SSL_CLIENT_CERT_SESS) !== 0,
    verify: u32(bytes, start + 1),
    raw: [],
  };
  eachTlv(bytes, start + 5, end, "SSL TLV", (type, from, to) => {
    const value = bytes.subarray(from, to);
    const field = SSL_STRINGS.find(([t]) => t === type)?.[1];
    if (field !== undefined) ssl[field] ??= textOf(value);
    else if (type === SSL_CLIENT_CERT) ssl.clientCertificate ??= value.slice();
    else ssl.raw.push({ type, value: value.slice() });
  });
  return ssl;
}

// ---------------------------------------------------------------- encoding

function unixPathBytes(address: Address | undefined, name: string): Uint8Array {
  if (address === undefined || !("path" in address)) {
    throw new RangeError(
      `Cannot encode a Unix PROXY header without a ${name} { path }`,
    );
  }
  const bytes = utf8.encode(address.path);
  if (bytes.length > UNIX_PATH_SIZE) {
    throw new RangeError(
      `Cannot encode the ${name} path in a PROXY header as it has ${bytes.length} bytes, more than ${UNIX_PATH_SIZE}`,
    );
  }
  return bytes;
}

/** A TLV to write: its type and value. */
type Tlv = [type: number, value: Uint8Array];

function checkRaw(
  raw: ReadonlyArray<{ type: number; value: Uint8Array }>,
  named: ReadonlySet<number>,
  what: string,
): Tlv[] {
  return raw.map(({ type, value }) => {
    if (!Number.isInteger(type) || type < 0 || type > 255 || named.has(type)) {
      throw new RangeError(
        `Cannot encode a raw ${what} of type ${String(type)}: ${
          named.has(type)
            ? "it has a named field, use that"
            : "a type is an integer in 0..255"
        }`,
      );
    }
    return [type, value];
  });
}

const NAMED_TLVS: ReadonlySet<number> = new Set([
  TLV_ALPN,
  TLV_AUTHORITY,
  TLV_CRC32C,
  TLV_UNIQUE_ID,
  TLV_SSL,
  TLV_NETNS,
]);
const NAMED_SSL: ReadonlySet<number> = new Set([
  ...SSL_STRINGS.map(([type]) => type),
  SSL_CLIENT_CERT,
]);

/** The size of TLVs back to back, each value checked to fit its length. */
function tlvSize(tlvs: readonly Tlv[], what: string): number {
  let size = 0;
  for (const [type, value] of tlvs) {
    if (value.length > 0xffff) {
      throw new RangeError(
        `Cannot encode PROXY v2 ${what} 0x${
          hex2(type)
        } as its value has ${value.length} bytes, more than 65535`,
      );
    }
    size += 3 + value.length;
  }
  return size;
}

/** Writes TLVs back to back into `out` from `at`; returns where they end. */
function writeTlvs(out: Uint8Array, at: number, tlvs: readonly Tlv[]): number {
  for (const [type, value] of tlvs) {
    out[at] = type;
    out[at + 1] = value.length >> 8;
    out[at + 2] = value.length & 0xff;
    out.set(value, at + 3);
    at += 3 + value.length;
  }
  return at;
}

/** Writes `value` big-endian into `out[at..at+4)`. */
function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function sslValue(
  ssl: NonNullable<NonNullable<EncodeInput["tlvs"]>["ssl"]>,
): Uint8Array {
  const subs: Tlv[] = [];
  for (const [type, field] of SSL_STRINGS) {
    const value: string | undefined = ssl[field as SslStringField];
    if (value !== undefined) subs.push([type, utf8.encode(value)]);
  }
  if (ssl.clientCertificate !== undefined) {
    subs.push([SSL_CLIENT_CERT, ssl.clientCertificate]);
  }
  subs.push(...checkRaw(ssl.raw ?? [], NAMED_SSL, "SSL sub-TLV"));
  const size = tlvSize(subs, "SSL sub-TLV");
  const verify = ssl.verify ?? 0;
  if (!Number.isInteger(verify) || verify < 0 || verify > 0xffffffff) {
    throw new RangeError(
      `Cannot encode SSL verify ${
        String(verify)
      }: it must be an integer in 0..4294967295`,
    );
  }
  const out = new Uint8Array(5 + size);
  out[0] = (ssl.tls ? SSL_CLIENT_TLS : 0) |
    (ssl.certificateOnConnection ? SSL_CLIENT_CERT_CONN : 0) |
    (ssl.certificateInSession ? SSL_CLIENT_CERT_SESS : 0);
  writeU32(out, 1, verify);
  writeTlvs(out, 5, subs);
  return out;
}

/**
 * The v2 header for `header`.
 *
 * @throws {RangeError} If a field cannot be written.
 */
export function encodeV2(
  header: EncodeInput,
  options: { version: 1 | 2; crc32c?: boolean },
): Uint8Array {
  const local = (header.command ?? "proxy") === "local";
  const transport = local ? "unknown" : header.transport;
  const family = V2_FAMILY_BYTES.get(transport);
  if (family === undefined) {
    throw new RangeError(
      `Cannot encode a PROXY header for transport ${
        JSON.stringify(String(transport))
      }`,
    );
  }
  // Check the addresses and gather the TLVs, then write once.
  let paths: [Uint8Array, Uint8Array] | undefined;
  let ips: ReturnType<typeof ipPort>[] | undefined;
  let addressSize = 0;
  if (transport === "unix" || transport === "unixpacket") {
    paths = [
      unixPathBytes(header.source, "source"),
      unixPathBytes(header.destination, "destination"),
    ];
    addressSize = 2 * UNIX_PATH_SIZE;
  } else if (transport !== "unknown") {
    ips = [
      ipPort(header.source, "source", transport),
      ipPort(header.destination, "destination", transport),
    ];
    addressSize = 2 * ips[0]!.ip.length + 4;
  }
  const given = header.tlvs ?? {};
  const tlvs = checkRaw(given.raw ?? [], NAMED_TLVS, "TLV");
  const crcAt = V2_FIXED + addressSize + tlvSize(tlvs, "TLV") + 3;
  if (options.crc32c) tlvs.push([TLV_CRC32C, ZERO_CRC]);
  if (given.alpn !== undefined) tlvs.push([TLV_ALPN, utf8.encode(given.alpn)]);
  if (given.authority !== undefined) {
    tlvs.push([TLV_AUTHORITY, utf8.encode(given.authority)]);
  }
  if (given.uniqueId !== undefined) {
    if (given.uniqueId.length > UNIQUE_ID_MAX) {
      throw new RangeError(
        `Cannot encode a PROXY v2 unique ID of ${given.uniqueId.length} bytes: at most ${UNIQUE_ID_MAX}`,
      );
    }
    tlvs.push([TLV_UNIQUE_ID, given.uniqueId]);
  }
  if (given.ssl !== undefined) tlvs.push([TLV_SSL, sslValue(given.ssl)]);
  if (given.netns !== undefined) {
    tlvs.push([TLV_NETNS, utf8.encode(given.netns)]);
  }
  const length = addressSize + tlvSize(tlvs, "TLV");
  if (length > 0xffff) {
    throw new RangeError(
      `Cannot encode a PROXY v2 header of ${
        V2_FIXED + length
      } bytes: its length field holds at most 65535 after the first 16`,
    );
  }
  const out = new Uint8Array(V2_FIXED + length);
  out.set(V2_SIGNATURE, 0);
  out[12] = 0x20 | (local ? 0 : 1);
  out[13] = family;
  out[14] = length >> 8;
  out[15] = length & 0xff;
  if (paths !== undefined) {
    out.set(paths[0], V2_FIXED);
    out.set(paths[1], V2_FIXED + UNIX_PATH_SIZE);
  } else if (ips !== undefined) {
    const [source, destination] = ips as [
      ReturnType<typeof ipPort>,
      ReturnType<typeof ipPort>,
    ];
    const size = source.ip.length;
    out.set(source.ip, V2_FIXED);
    out.set(destination.ip, V2_FIXED + size);
    const ports = V2_FIXED + 2 * size;
    out[ports] = source.port >> 8;
    out[ports + 1] = source.port & 0xff;
    out[ports + 2] = destination.port >> 8;
    out[ports + 3] = destination.port & 0xff;
  }
  writeTlvs(out, V2_FIXED + addressSize, tlvs);
  if (options.crc32c) {
    writeU32(out, crcAt, ~crc32cUpdate(0xffffffff, out) >>> 0);
  }
  return out;
}
