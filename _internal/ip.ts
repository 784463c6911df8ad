// IP address text: parsing and the canonical form, for address checks.
/** The four bytes of a dotted-quad IPv4 address, or `null`. */
export function parseIpv4(host: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (match === null) return null;
  const bytes = match.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or `null`. */
export function parseIpv6(host: string): number[] | null {
  let text = host.startsWith("[") && host.endsWith("]")
    ? host.slice(1, -1)
    : host;
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);
  if (!text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (head === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const tail = parse(halves[1]!);
  if (tail === null || head.length + tail.length > 7) return null;
  return [
    ...head,
    ...new Array<number>(8 - head.length - tail.length).fill(0),
    ...tail,
  ];
}

/** Whether `host` is an IPv6 address literal. */
export function isIpv6(host: string): boolean {
  return parseIpv6(host) !== null;
}

/**
 * A canonical text for an IP address literal, for comparisons (IPv4-mapped
 * IPv6 addresses become IPv4), or `null` for a host name.
 */
export function canonicalIp(host: string): string | null {
  const v4 = parseIpv4(host);
  if (v4 !== null) return v4.join(".");
  const v6 = parseIpv6(host);
  if (v6 === null) return null;
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return [v6[6]! >> 8, v6[6]! & 0xff, v6[7]! >> 8, v6[7]! & 0xff].join(".");
  }
  return v6.map((g) => g.toString(16)).join(":");
}
