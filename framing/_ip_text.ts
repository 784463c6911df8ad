// IP address text for PROXY protocol headers: strict parsing (no leading
// zeros in IPv4 numbers, as the PROXY spec demands; exactly 128 bits for
// IPv6) and the canonical IPv6 text of RFC 5952. Private to framing/: the
// lenient helpers of _internal/ip.ts are out of framing's reach, and they
// accept what a PROXY header must refuse.

const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * The four bytes of a dotted-quad IPv4 address written canonically (four
 * decimal numbers 0..255, no leading zeros), or `null`.
 */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** The value of hex digit `code`, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * The eight 16-bit groups of an IPv6 address (hex groups of 1 to 4 digits,
 * at most one `::`, optionally a dotted IPv4 tail as `inet_ntop` writes
 * mapped addresses), or `null`. No brackets, no zone. A plain array: typed
 * arrays cost more to make than this whole parse.
 */
export function parseIpv6Groups(text: string): number[] | null {
  const n = text.length;
  if (n < 2 || n > 45) return null;
  const groups: number[] = [];
  let gap = -1; // groups before "::"
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return null;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let value = 0;
    while (i < n) {
      const digit = hexValue(text.charCodeAt(i));
      if (digit === -1) break;
      value = value * 16 + digit;
      i++;
    }
    if (i < n && text.charCodeAt(i) === 0x2e) {
      // A dotted IPv4 tail: the last 32 bits.
      const v4 = groups.length <= 6 ? parseIpv4(text.slice(start)) : null;
      if (v4 === null) return null;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      break;
    }
    if (i === start || i - start > 4 || groups.length === 8) return null;
    groups.push(value);
    if (i === n) break;
    if (text.charCodeAt(i) !== 0x3a || ++i === n) return null;
    if (text.charCodeAt(i) === 0x3a) {
      if (gap !== -1) return null;
      gap = groups.length;
      i++;
    }
  }
  if (gap === -1) return groups.length === 8 ? groups : null;
  if (groups.length > 7) return null;
  groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
  return groups;
}

/** The sixteen bytes of an IPv6 address (as {@linkcode parseIpv6Groups}), or `null`. */
export function parseIpv6(text: string): number[] | null {
  const groups = parseIpv6Groups(text);
  if (groups === null) return null;
  const bytes: number[] = [];
  for (const group of groups) bytes.push(group >> 8, group & 0xff);
  return bytes;
}

/** The dotted-quad text of four bytes at `bytes[at..at+4)`. */
export function formatIpv4(bytes: ArrayLike<number>, at: number = 0): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/**
 * The canonical text (RFC 5952) of the IPv6 address at `bytes[at..at+16)`:
 * lowercase, no leading zeros, the longest run of two or more zero groups
 * (the first of equals) as `::`, and an IPv4-mapped address as
 * `::ffff:a.b.c.d`.
 */
export function formatIpv6(bytes: ArrayLike<number>, at: number = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) {
    groups.push((bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!);
  }
  return formatIpv6Groups(groups);
}

/** The canonical text of eight 16-bit groups, as {@linkcode formatIpv6}. */
export function formatIpv6Groups(groups: readonly number[]): string {
  if (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 &&
    groups[4] === 0 && groups[5] === 0xffff
  ) {
    const g6 = groups[6]!;
    const g7 = groups[7]!;
    return `::ffff:${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += "::";
      i += bestLength - 1;
    } else {
      if (out !== "" && i !== best + bestLength) out += ":";
      out += groups[i]!.toString(16);
    }
  }
  return out;
}
