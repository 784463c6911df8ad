// PROXY protocol v1: the text line, decoded and encoded. Private to
// framing/: `proxy_protocol.ts` finds the line's end, this file reads it.
import type { ProxyHeader } from "./proxy_protocol.ts";
import {
  formatIpv4,
  formatIpv6,
  formatIpv6Groups,
  parseIpv4,
  parseIpv6,
  parseIpv6Groups,
} from "./_ip_text.ts";
import {
  byteName,
  type EncodeInput,
  ipPort,
  malformed,
  noTlvs,
  utf8,
} from "./_proxy_shared.ts";

/** `PROXY`: the start of every v1 line. */
export const V1_PREFIX: Uint8Array = new Uint8Array([
  0x50,
  0x52,
  0x4f,
  0x58,
  0x59,
]);

const SPACE = 0x20;
const DOT = 0x2e;
const ZERO = 0x30;
const UNKNOWN = [0x55, 0x4e, 0x4b, 0x4e, 0x4f, 0x57, 0x4e];

/**
 * Decodes the v1 line `bytes[0..end)`, which starts with `PROXY ` and ends
 * with CRLF (the decoder checked both).
 *
 * @throws {MalformedFrameError} At the first byte that is wrong.
 */
export function decodeV1(bytes: Uint8Array, end: number): ProxyHeader {
  return parse(bytes, end - 2) ?? refuse(bytes, end - 2);
}

/** The index of the next space in `bytes[from..cr)`, or -1. */
function spaceAt(bytes: Uint8Array, from: number, cr: number): number {
  for (let i = from; i < cr; i++) if (bytes[i] === SPACE) return i;
  return -1;
}

/** The canonical IPv4 text in `bytes[start..end)`, or `null`. */
function ipv4At(bytes: Uint8Array, start: number, end: number): string | null {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    if (byte === DOT) {
      if (digits === 0 || ++parts > 3) return null;
      value = 0;
      digits = 0;
    } else {
      const digit = byte - ZERO;
      if (digit < 0 || digit > 9 || (digits > 0 && value === 0)) return null;
      value = value * 10 + digit;
      if (++digits > 3 || value > 255) return null;
    }
  }
  if (parts !== 3 || digits === 0) return null;
  return String.fromCharCode.apply(
    null,
    bytes.subarray(start, end) as unknown as number[],
  );
}

/** The canonical IPv6 text of the address in `bytes[start..end)`, or `null`. */
function ipv6At(bytes: Uint8Array, start: number, end: number): string | null {
  if (end - start > 45) return null;
  const groups = parseIpv6Groups(String.fromCharCode.apply(
    null,
    bytes.subarray(start, end) as unknown as number[],
  ));
  return groups === null ? null : formatIpv6Groups(groups);
}

/** The port in `bytes[start..end)` (0..65535, no leading zero), or -1. */
function portAt(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length < 1 || length > 5 || (length > 1 && bytes[start] === ZERO)) {
    return -1;
  }
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i]! - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value > 65535 ? -1 : value;
}

/** Decodes a well-formed line ending at `cr`, or `undefined` if it is not. */
function parse(bytes: Uint8Array, cr: number): ProxyHeader | undefined {
  for (let i = 6; i < cr; i++) {
    const byte = bytes[i]!;
    if (byte < 0x20 || byte > 0x7e) return undefined;
  }
  let unknown = cr === 13 || (cr > 13 && bytes[13] === SPACE);
  for (let i = 0; unknown && i < 7; i++) unknown = bytes[6 + i] === UNKNOWN[i];
  if (unknown) {
    return {
      version: 1,
      command: "proxy",
      transport: "unknown",
      tlvs: noTlvs(),
    };
  }
  // "TCP4 " or "TCP6 "
  if (
    cr < 11 || bytes[6] !== 0x54 || bytes[7] !== 0x43 || bytes[8] !== 0x50 ||
    (bytes[9] !== 0x34 && bytes[9] !== 0x36) || bytes[10] !== SPACE
  ) {
    return undefined;
  }
  const v6 = bytes[9] === 0x36;
  const address = v6 ? ipv6At : ipv4At;
  const e1 = spaceAt(bytes, 11, cr);
  if (e1 === -1) return undefined;
  const source = address(bytes, 11, e1);
  const e2 = spaceAt(bytes, e1 + 1, cr);
  if (source === null || e2 === -1) return undefined;
  const destination = address(bytes, e1 + 1, e2);
  const e3 = spaceAt(bytes, e2 + 1, cr);
  if (destination === null || e3 === -1) return undefined;
  const sourcePort = portAt(bytes, e2 + 1, e3);
  const destinationPort = portAt(bytes, e3 + 1, cr);
  if (sourcePort === -1 || destinationPort === -1) return undefined;
  return {
    version: 1,
    command: "proxy",
    transport: v6 ? "tcp6" : "tcp4",
    source: { hostname: source, port: sourcePort },
    destination: { hostname: destination, port: destinationPort },
    tlvs: noTlvs(),
  };
}

/** A v1 port: 0..65535 in decimal, no leading zero. */
function checkPort(text: string, name: string, offset: number): void {
  if (!/^[0-9]+$/.test(text)) {
    throw malformed(
      `PROXY v1 ${name} port ${JSON.stringify(text)} is not a decimal number`,
      offset,
    );
  }
  if (text.length > 1 && text[0] === "0") {
    throw malformed(
      `PROXY v1 ${name} port ${JSON.stringify(text)} has a leading zero`,
      offset,
    );
  }
  if (Number(text) > 65535) {
    throw malformed(
      `PROXY v1 ${name} port ${JSON.stringify(text)} is above 65535`,
      offset,
    );
  }
}

/** A v1 address of the line's family. */
function checkAddress(
  text: string,
  v6: boolean,
  name: string,
  offset: number,
): void {
  if (v6 ? parseIpv6(text) !== null : parseIpv4(text) !== null) return;
  const other = v6 ? parseIpv4(text) !== null : parseIpv6(text) !== null;
  throw malformed(
    `PROXY v1 ${name} address ${JSON.stringify(text)} is ${
      other
        ? `an IPv${v6 ? 4 : 6} address but the protocol is TCP${v6 ? 6 : 4}`
        : `not an IPv${v6 ? 6 : 4} address`
    }`,
    offset,
  );
}

/**
 * Throws the error for a line `parse` refused, naming the first thing wrong
 * and its offset. Slow, and only for bad input.
 */
function refuse(bytes: Uint8Array, cr: number): never {
  for (let i = V1_PREFIX.length; i < cr; i++) {
    const byte = bytes[i]!;
    if (byte < 0x20 || byte > 0x7e) {
      throw malformed(
        `PROXY v1 line has ${byteName(byte)}, which is not printable US-ASCII`,
        i,
      );
    }
  }
  const fields = String.fromCharCode(...bytes.subarray(0, cr)).split(" ");
  // offsets[k]: where fields[k] starts.
  const offsets: number[] = [];
  let at = 0;
  for (const field of fields) {
    offsets.push(at);
    at += field.length + 1;
  }
  const protocol = fields[1]!;
  if (protocol === "" && fields.length > 2) {
    throw malformed("PROXY v1 line has two spaces in a row", offsets[1]!);
  }
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw malformed(
      protocol === ""
        ? "PROXY v1 line ends with a space before CRLF"
        : `PROXY v1 protocol ${
          JSON.stringify(protocol)
        } is none of TCP4, TCP6, UNKNOWN`,
      protocol === "" ? offsets[1]! - 1 : offsets[1]!,
    );
  }
  for (let k = 2; k < fields.length; k++) {
    if (fields[k] !== "") continue;
    throw k === fields.length - 1
      ? malformed(
        "PROXY v1 line ends with a space before CRLF",
        offsets[k]! - 1,
      )
      : malformed("PROXY v1 line has two spaces in a row", offsets[k]!);
  }
  if (fields.length !== 6) {
    throw malformed(
      `PROXY v1 ${protocol} line has ${
        fields.length - 2
      } fields after the protocol, not 4 (source, destination, their ports)`,
      fields.length > 6 ? offsets[6]! - 1 : cr,
    );
  }
  const v6 = protocol === "TCP6";
  checkAddress(fields[2]!, v6, "source", offsets[2]!);
  checkAddress(fields[3]!, v6, "destination", offsets[3]!);
  checkPort(fields[4]!, "source", offsets[4]!);
  checkPort(fields[5]!, "destination", offsets[5]!);
  // Unreachable while parse() and refuse() agree.
  throw malformed("PROXY v1 line is malformed", 0);
}

/**
 * The v1 line for `header`.
 *
 * @throws {RangeError} For what v1 cannot carry, or a bad address or port.
 */
export function encodeV1(
  header: EncodeInput,
  options: { version: 1 | 2; crc32c?: boolean },
): Uint8Array {
  const fail = (detail: string) =>
    new RangeError(
      `Cannot encode a PROXY v1 header as ${detail}: use version 2`,
    );
  if (options.crc32c) throw fail("v1 has no CRC32C");
  const tlvs = header.tlvs;
  if (tlvs !== undefined) {
    const given = (Object.keys(tlvs) as Array<keyof typeof tlvs>).filter((
      k,
    ) => tlvs[k] !== undefined && !(k === "raw" && tlvs.raw?.length === 0));
    if (given.length > 0) {
      throw fail(`v1 has no TLVs (${given.join(", ")} given)`);
    }
  }
  const { transport } = header;
  if (header.command === "local" || transport === "unknown") {
    return utf8.encode("PROXY UNKNOWN\r\n");
  }
  if (transport !== "tcp4" && transport !== "tcp6") {
    throw fail(`v1 carries only TCP over IPv4 or IPv6, not ${transport}`);
  }
  const source = ipPort(header.source, "source", transport);
  const destination = ipPort(header.destination, "destination", transport);
  const text = transport === "tcp4" ? formatIpv4 : formatIpv6;
  return utf8.encode(
    `PROXY ${transport === "tcp4" ? "TCP4" : "TCP6"} ${text(source.ip)} ${
      text(destination.ip)
    } ${source.port} ${destination.port}\r\n`,
  );
}
