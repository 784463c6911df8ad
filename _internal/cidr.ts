/**
 * Address blocks (`10.0.0.0/8`, `2001:db8::/32`, one address) and sets of
 * them, for access checks on peers: `cat --allow`/`--deny` and the trusted
 * proxies of `listen({ proxyProtocol })`.
 *
 * Matching rules:
 * - An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
 *   socket reports for an IPv4 peer) is the IPv4 address it carries, both as
 *   a peer and in a block: `192.0.2.0/24` holds `::ffff:192.0.2.1`, and
 *   `::ffff:192.0.2.0/120` is the block `192.0.2.0/24`. A mapped peer cannot
 *   slip past an IPv4 rule.
 * - Otherwise IPv4 blocks hold only IPv4 addresses and IPv6 blocks only IPv6
 *   ones (`::/0` is every IPv6 address, not every address), as ncat does.
 * - Bits past the prefix are ignored (`10.0.0.1/8` is `10.0.0.0/8`), as
 *   ncat does; `text` keeps what was written.
 * - Host names are never resolved: a block is an IP literal, and a peer
 *   that is not an IP literal is in no block.
 *
 * @module
 */
import { parseIpv4, parseIpv6 } from "./ip.ts";

/** One address or ADDR/BITS block. */
export interface CidrBlock {
  /** The address family. */
  family: 4 | 6;
  /** The network's bytes (4 or 16), bits past the prefix cleared. */
  bytes: number[];
  /** The prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  bits: number;
  /** The text as written (trimmed). */
  text: string;
}

/** The 16 bytes of an IPv6 address from its eight groups. */
function groupsToBytes(groups: readonly number[]): number[] {
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  return bytes;
}

/** Whether 16 bytes are an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`). */
function isMapped(bytes: readonly number[]): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Clears the bits of `bytes` past the first `bits`, in place. */
function mask(bytes: number[], bits: number): number[] {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = bytes[i]! & (0xff << (8 - keep)) & 0xff;
  }
  return bytes;
}

/**
 * Parses one block: an address (`192.0.2.7`, `::1`, a whole /32 or /128) or
 * `ADDR/BITS` (`10.0.0.0/8`, `2001:db8::/32`). IPv6 may be bracketed
 * (`[::1]/128`); a zone (`%eth0`) is dropped.
 *
 * @param text The block's text.
 * @param what What it is, for the error (`"--allow entry"`).
 * @returns The block, bits past the prefix cleared.
 * @throws {TypeError} "Cannot parse <what> <text>: <detail>" when the text
 *   is not an IP literal or the prefix length is out of range.
 */
export function parseCidr(text: string, what = "address block"): CidrBlock {
  const trimmed = text.trim();
  const fail = (detail: string): never => {
    throw new TypeError(
      `Cannot parse ${what} ${JSON.stringify(text)}: ${detail}`,
    );
  };
  const slash = trimmed.indexOf("/");
  const address = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const v4 = parseIpv4(address);
  const v6 = v4 === null ? parseIpv6(address) : null;
  if (v4 === null && v6 === null) {
    fail(
      address === ""
        ? "no address before the prefix length"
        : "it is not an IPv4 or IPv6 address (host names are not resolved)",
    );
  }
  const family = v4 !== null ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash !== -1) {
    const prefix = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      fail(`the prefix length must be an integer in 0..${max}`);
    }
    bits = Number(prefix);
  }
  const bytes = v4 ?? groupsToBytes(v6!);
  return { family, bytes: mask(bytes, bits), bits, text: trimmed };
}

/** A block's network bytes and prefix length, for matching. */
interface Normal {
  bytes: number[];
  bits: number;
}

/** Whether the first `bits` of `a` and `b` agree. */
function samePrefix(
  a: readonly number[],
  b: readonly number[],
  bits: number,
): boolean {
  let i = 0;
  for (; bits >= 8; i++, bits -= 8) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const m = (0xff << (8 - bits)) & 0xff;
  return (a[i]! & m) === (b[i]! & m);
}

/**
 * A set of address blocks: whether a peer's address is inside any of them.
 * See the module doc for how IPv4, IPv6 and mapped addresses match.
 */
export class AddressSet {
  /** The blocks, as given. */
  readonly blocks: readonly CidrBlock[];
  /** IPv4 blocks (and mapped IPv6 blocks) as IPv4. */
  #v4: Normal[] = [];
  /** The other IPv6 blocks. */
  #v6: Normal[] = [];

  /**
   * Makes a set of blocks.
   *
   * @param blocks The blocks (from {@linkcode parseCidr}).
   */
  constructor(blocks: readonly CidrBlock[]) {
    this.blocks = [...blocks];
    for (const b of this.blocks) {
      if (b.family === 4) {
        this.#v4.push({ bytes: b.bytes, bits: b.bits });
      } else if (b.bits >= 96 && isMapped(b.bytes)) {
        this.#v4.push({ bytes: b.bytes.slice(12), bits: b.bits - 96 });
      } else {
        // Including a wide block over the mapped range (`::/0`): it holds
        // the IPv6 addresses it covers and no IPv4 (or mapped) peer.
        this.#v6.push({ bytes: b.bytes, bits: b.bits });
      }
    }
  }

  /**
   * Parses a comma-separated list, or an array of entries (each may itself
   * be comma-separated); blank entries are ignored.
   *
   * @param list The text or entries.
   * @param what What an entry is, for the error (`"--allow entry"`).
   * @returns The set.
   * @throws {TypeError} As {@linkcode parseCidr} for a bad entry.
   */
  static parse(
    list: string | readonly string[],
    what = "address block",
  ): AddressSet {
    const entries = typeof list === "string" ? [list] : list;
    const blocks: CidrBlock[] = [];
    for (const entry of entries) {
      for (const part of entry.split(",")) {
        if (part.trim() !== "") blocks.push(parseCidr(part, what));
      }
    }
    return new AddressSet(blocks);
  }

  /** How many blocks the set holds. */
  get size(): number {
    return this.blocks.length;
  }

  /**
   * Whether an IP address is inside any block. A host name (not an IP
   * literal) is in none.
   *
   * @param hostname The address text (`192.0.2.1`, `::1`, `[::1]`,
   *   `::ffff:192.0.2.1`).
   * @returns Whether a block holds it.
   */
  has(hostname: string): boolean {
    const v4 = parseIpv4(hostname);
    if (v4 !== null) {
      return this.#v4.some((b) => samePrefix(v4, b.bytes, b.bits));
    }
    const v6 = parseIpv6(hostname);
    if (v6 === null) return false;
    const bytes = groupsToBytes(v6);
    if (isMapped(bytes)) {
      const inner = bytes.slice(12);
      return this.#v4.some((b) => samePrefix(inner, b.bytes, b.bits));
    }
    return this.#v6.some((b) => samePrefix(bytes, b.bytes, b.bits));
  }
}
