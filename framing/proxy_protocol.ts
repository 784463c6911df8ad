/**
 * PROXY protocol headers, the line or block that HAProxy, nginx, cloud load
 * balancers, Traefik and Envoy put before a client's bytes so that the server
 * behind them learns the client's real address (HAProxy's
 * `doc/proxy-protocol.txt`). Bytes only: nothing here touches a socket.
 *
 * - Version 1 is one US-ASCII line of at most 107 bytes ending in CRLF:
 *   `PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n` (or `TCP6`, or
 *   `UNKNOWN`).
 * - Version 2 is binary: a 12-byte signature, a version and command byte
 *   (`LOCAL` or `PROXY`), a family and transport byte, a 16-bit length, the
 *   addresses (TCP or UDP over IPv4 or IPv6, or Unix socket paths), then
 *   type-length-value fields: ALPN, authority (the TLS SNI), a CRC32C of the
 *   header, a unique ID, TLS details, a network namespace.
 *
 * {@linkcode ProxyHeaderDecoder} reads a header from the first bytes of a
 * connection, however they are split across reads, and hands back the bytes
 * after it untouched; {@linkcode encodeProxyHeader} writes one, for a client
 * or a relay that sits in front of another server. A malformed header is a
 * {@linkcode MalformedFrameError} that names the problem and the byte offset.
 *
 * @example Read the client's address, then the client's own bytes
 * ```ts
 * import { ProxyHeaderDecoder } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const decoder = new ProxyHeaderDecoder();
 * const bytes = new TextEncoder().encode(
 *   "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET / HTTP/1.0\r\n\r\n",
 * );
 * const result = decoder.push(bytes);
 * assertEquals(result?.header?.source, { hostname: "192.0.2.1", port: 56324 });
 * assertEquals(new TextDecoder().decode(result?.rest), "GET / HTTP/1.0\r\n\r\n");
 * ```
 *
 * @module
 */
import { TruncatedFrameError } from "./errors.ts";
import { FrameBuffer } from "./_frame_buffer.ts";
import { checkInteger } from "./_options.ts";
import {
  byteName,
  hex2,
  malformed,
  V1_MAX_LINE,
  V2_FIXED,
} from "./_proxy_shared.ts";
import { decodeV1, encodeV1, V1_PREFIX } from "./_proxy_v1.ts";
import {
  checkVersionAndCommand,
  decodeV2,
  encodeV2,
  familyOf,
  V2_SIGNATURE,
} from "./_proxy_v2.ts";
import { concat } from "../_internal/std.ts";

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
/** The largest v2 header the 16-bit length can announce. */
const V2_MAX = V2_FIXED + 0xffff;
const DEFAULT_MAX_HEADER_SIZE = 4096;

/**
 * A decoded PROXY header: who the client really is (`source`), which
 * address it connected to (`destination`), and, for v2, the extra fields
 * the proxy sent. It is also what {@linkcode encodeProxyHeader} writes.
 *
 * When `source` is absent — a v1 `UNKNOWN` line, a v2 `LOCAL` header (a
 * health check from the proxy itself) or a v2 header for an unspecified
 * family — the spec says to use the connection's real addresses.
 *
 * @example Tell a client's connection from the proxy's health check
 * ```ts
 * import { encodeProxyHeader, type ProxyHeader, ProxyHeaderDecoder } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * function clientOf(header: ProxyHeader): string {
 *   const source = header.source;
 *   if (header.command === "local" || source === undefined) return "the proxy";
 *   return "hostname" in source ? `${source.hostname}:${source.port}` : source.path;
 * }
 *
 * const check = encodeProxyHeader({ command: "local", transport: "unknown" }, { version: 2 });
 * const header = new ProxyHeaderDecoder().push(check)?.header;
 * assertEquals(header && clientOf(header), "the proxy");
 * ```
 */
export interface ProxyHeader {
  /** The protocol version: 1 (text line) or 2 (binary). */
  version: 1 | 2;
  /**
   * `"proxy"`: the proxy relays a client, whose addresses follow.
   * `"local"`: v2 only, the proxy made the connection itself (a health
   * check); use the connection's real addresses.
   */
  command: "proxy" | "local";
  /**
   * The client connection's transport: TCP or UDP over IPv4 or IPv6, a Unix
   * stream (`"unix"`) or datagram (`"unixpacket"`, as Deno names it) socket,
   * or `"unknown"` (v1 `UNKNOWN`, v2 unspecified family, every `LOCAL`
   * header): no addresses.
   */
  transport:
    | "tcp4"
    | "tcp6"
    | "udp4"
    | "udp6"
    | "unix"
    | "unixpacket"
    | "unknown";
  /**
   * The client's address: an IP address in canonical text (IPv6 as RFC
   * 5952 writes it, an IPv4-mapped one as `::ffff:192.0.2.1`) and a port, or
   * a Unix socket path. Absent when `transport` is `"unknown"`.
   */
  source?: { hostname: string; port: number } | { path: string };
  /** The address the client connected to, in the same form as `source`. */
  destination?: { hostname: string; port: number } | { path: string };
  /**
   * v2 type-length-value fields (always empty for v1). A CRC32C field is
   * checked, not kept; NOOP fields are skipped. Values are copies: they
   * stay valid whatever happens to the bytes decoded.
   */
  tlvs: {
    /** ALPN (0x01): the application protocol the client negotiated, such as `"h2"`. */
    alpn?: string;
    /** AUTHORITY (0x02): the host name the client asked for (the TLS SNI), UTF-8. */
    authority?: string;
    /** UNIQUE_ID (0x05): the proxy's opaque ID of the connection, at most 128 bytes. */
    uniqueId?: Uint8Array;
    /** SSL (0x20): how the client connected to the proxy over TLS. */
    ssl?: {
      /** The client connected over TLS (`PP2_CLIENT_SSL`). */
      tls: boolean;
      /** The client presented a certificate on this connection (`PP2_CLIENT_CERT_CONN`). */
      certificateOnConnection: boolean;
      /** The client presented a certificate in this TLS session (`PP2_CLIENT_CERT_SESS`). */
      certificateInSession: boolean;
      /**
       * 0 when the client's certificate was presented and verified; else
       * the proxy's verification result (for HAProxy, OpenSSL's
       * `X509_V_ERR_*` code).
       */
      verify: number;
      /** VERSION (0x21): the TLS version, such as `"TLSv1.3"`. */
      version?: string;
      /** CN (0x22): the Common Name of the client certificate's subject. */
      commonName?: string;
      /** CIPHER (0x23): the cipher, such as `"TLS_AES_256_GCM_SHA384"`. */
      cipher?: string;
      /** SIG_ALG (0x24): the algorithm that signed the proxy's certificate, such as `"RSA-SHA256"`. */
      signatureAlgorithm?: string;
      /** KEY_ALG (0x25): the algorithm of the proxy certificate's key, such as `"RSA2048"`. */
      keyAlgorithm?: string;
      /** GROUP (0x26): the key exchange group, such as `"secp256r1"`. */
      group?: string;
      /** SIG_SCHEME (0x27): the signature scheme of the handshake, such as `"rsa_pss_rsae_sha256"`. */
      signatureScheme?: string;
      /** CLIENT_CERT (0x28): the client's certificate, DER. */
      clientCertificate?: Uint8Array;
      /** Sub-fields of other types, in the order they came. */
      raw: Array<{ type: number; value: Uint8Array }>;
    };
    /** NETNS (0x30): the name of the network namespace the client came through. */
    netns?: string;
    /**
     * Fields of the types not named above (such as a cloud load balancer's
     * own, in 0xE0..0xEF), in the order they came.
     */
    raw: Array<{ type: number; value: Uint8Array }>;
  };
}

/** Options of {@linkcode ProxyHeaderDecoder}. */
export interface ProxyHeaderDecoderOptions {
  /**
   * Which versions to accept. A header of another version counts as bytes
   * that cannot start a header (see `required`).
   *
   * @default {"any"}
   */
  version?: "v1" | "v2" | "any";
  /**
   * Whether the stream must start with a header. `true`: bytes that cannot
   * start one are a {@linkcode MalformedFrameError} at the first such byte.
   * `false`: they are the connection's own bytes, handed back untouched
   * with `header: null`, decided at the first byte that differs from a
   * header's start (never by waiting). Bytes are a header once they start
   * with `PROXY` or the v2 signature: a malformed one is then an error
   * either way. The PROXY spec forbids guessing:
   * accept optional headers only from addresses you trust to send one.
   *
   * @default {true}
   */
  required?: boolean;
  /**
   * The largest v2 header accepted, in bytes (the 16 fixed bytes plus the
   * announced length), from 16 to 65551. The default holds every header
   * the common senders write — addresses (at most 216 bytes) plus ALPN,
   * authority, a unique ID, TLS details, even a typical client
   * certificate — while bounding what one connection can make a server
   * hold before its header is known to be valid: an attacker-controlled
   * length could otherwise reserve 64 KiB per connection. A v1 line is
   * always at most 107 bytes.
   *
   * @default {4096}
   */
  maxHeaderSize?: number;
}

/** Kinds of what `#scan` found. */
const NEED_MORE = -1;
const NO_HEADER = -2;

/**
 * Reads the PROXY header at the start of a stream: feed it the stream's
 * bytes with {@linkcode ProxyHeaderDecoder.push} until it returns a result,
 * whose `rest` is the bytes after the header, untouched — a `subarray` view
 * of the last chunk, no copy. The header may arrive split anywhere, even
 * byte by byte; the version shows from the first byte, and a byte that
 * cannot belong to an acceptable header fails (or, when the header is
 * optional, ends the search) as soon as it arrives.
 *
 * One decoder reads one stream's header. Memory is bounded: a v1 line is at
 * most 107 bytes, a v2 header at most `maxHeaderSize`; only a header split
 * across pushes is copied, and only up to its end.
 *
 * @example A header split across reads, then the client's bytes
 * ```ts
 * import { encodeProxyHeader, ProxyHeaderDecoder } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const header = encodeProxyHeader({
 *   transport: "tcp6",
 *   source: { hostname: "2001:db8::1", port: 40000 },
 *   destination: { hostname: "2001:db8::2", port: 443 },
 *   tlvs: { authority: "example.com" },
 * }, { version: 2, crc32c: true });
 * const decoder = new ProxyHeaderDecoder({ version: "v2" });
 * assertEquals(decoder.push(header.subarray(0, 20)), undefined);
 * const result = decoder.push(new Uint8Array([...header.subarray(20), 1, 2, 3]));
 * assertEquals(result?.header?.source, { hostname: "2001:db8::1", port: 40000 });
 * assertEquals(result?.header?.tlvs.authority, "example.com");
 * assertEquals(result?.rest, new Uint8Array([1, 2, 3]));
 * ```
 */
export class ProxyHeaderDecoder {
  readonly #acceptV1: boolean;
  readonly #acceptV2: boolean;
  readonly #required: boolean;
  readonly #maxHeaderSize: number;
  /** The header so far, when it spans pushes (made on first need). */
  #buffer: FrameBuffer | undefined = undefined;
  /** 0 until the first byte, then the version it starts. */
  #kind: 0 | 1 | 2 = 0;
  /** The v2 header's full size, once its length field arrived. */
  #total = 0;
  #bytesRead = 0;
  #done = false;
  #error: unknown = undefined;

  /**
   * Creates a decoder for one stream.
   *
   * @param options Which versions, whether a header is required, the
   * largest v2 header.
   * @throws {RangeError} If `version` is not `"v1"`, `"v2"` or `"any"`, or
   * `maxHeaderSize` is not an integer in 16..65551.
   */
  constructor(options: ProxyHeaderDecoderOptions = {}) {
    const version = options.version ?? "any";
    if (version !== "v1" && version !== "v2" && version !== "any") {
      throw new RangeError(
        `Cannot decode PROXY headers of version ${
          JSON.stringify(String(version))
        }: use "v1", "v2" or "any"`,
      );
    }
    this.#acceptV1 = version !== "v2";
    this.#acceptV2 = version !== "v1";
    this.#required = options.required ?? true;
    const max = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    checkInteger("maxHeaderSize", max, V2_FIXED);
    if (max > V2_MAX) {
      throw new RangeError(
        `Cannot use maxHeaderSize ${max}: a PROXY v2 header has at most ${V2_MAX} bytes`,
      );
    }
    this.#maxHeaderSize = max;
  }

  /** Bytes held for a header that is not complete yet. */
  get bufferedBytes(): number {
    return (this.#buffer?.length ?? 0);
  }

  /** Bytes pushed so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /**
   * Decodes the next bytes of the stream.
   *
   * @param chunk The next bytes; the decoder copies what it keeps, so the
   * caller may reuse the chunk's memory once `push` returns (but `rest` is
   * a view of it).
   * @returns `undefined` while the header is incomplete; then the header
   * (`null` if the header is optional and the stream does not start with
   * one) and `rest`, the stream's bytes after the header. `rest` is a view
   * of `chunk`, except when the bytes turn out not to be a header after a
   * partial match held over from an earlier push: it is then a copy of all
   * the bytes pushed.
   * @throws {MalformedFrameError} If the bytes are not an acceptable header
   * (when one is required), or the header is malformed, oversized or fails
   * its CRC32C: at the offending byte. Decoding then stays failed.
   * @throws {TypeError} If called after a result or after
   * {@linkcode ProxyHeaderDecoder.end}.
   *
   * @example Optional header: bytes that are not one come back as they are
   * ```ts
   * import { ProxyHeaderDecoder } from "@sockit/sockit/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const bytes = new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n");
   * const result = new ProxyHeaderDecoder({ required: false }).push(bytes);
   * assertEquals(result, { header: null, rest: bytes });
   * ```
   */
  push(
    chunk: Uint8Array,
  ): { header: ProxyHeader | null; rest: Uint8Array } | undefined {
    this.#check();
    try {
      this.#bytesRead += chunk.length;
      return this.#push(chunk);
    } catch (error) {
      this.#buffer = undefined;
      this.#error = error;
      throw error;
    }
  }

  /**
   * Ends the stream before a result: the bytes held are handed back if the
   * header is optional and they are only the start of a signature;
   * otherwise the stream ended inside a header (or, when one is required,
   * before it: `received` is then 0, as for a load balancer's plain TCP
   * health check that connects and closes).
   *
   * @returns The bytes held, as the connection's own (`header: null`).
   * @throws {TruncatedFrameError} If the stream ended inside a header, or
   * before a required one.
   * @throws {TypeError} If called after a result or a second time.
   *
   * @example A required header that never came
   * ```ts
   * import { ProxyHeaderDecoder, TruncatedFrameError } from "@sockit/sockit/framing";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const decoder = new ProxyHeaderDecoder();
   * decoder.push(new TextEncoder().encode("PROXY TCP4 192.0.2.1"));
   * const error = assertThrows(() => decoder.end(), TruncatedFrameError);
   * assertEquals(error.received, 20);
   * ```
   */
  end(): { header: null; rest: Uint8Array } {
    this.#check();
    this.#done = true;
    const held = this.#buffer?.length ?? 0;
    const prefix = this.#kind === 1 ? V1_PREFIX.length : V2_SIGNATURE.length;
    if (!this.#required && (held === 0 || held < prefix)) {
      return {
        header: null,
        rest: this.#buffer?.take() ?? new Uint8Array(0),
      };
    }
    this.#buffer = undefined;
    const expected = this.#kind === 2 && this.#total > 0
      ? this.#total
      : undefined;
    const error = new TruncatedFrameError(
      expected === undefined
        ? { received: held, offset: 0 }
        : { expected, received: held, offset: 0 },
      `Cannot decode the PROXY header as the stream ended ${
        held === 0
          ? "before it"
          : expected === undefined
          ? `after ${held} bytes, before its end`
          : `after ${held} of its ${expected} bytes`
      }: at byte offset 0`,
    );
    this.#error = error;
    throw error;
  }

  #check(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#done) {
      throw new TypeError(
        "Cannot use a PROXY header decoder after its result: use a new decoder for the next stream",
      );
    }
  }

  #push(
    chunk: Uint8Array,
  ): { header: ProxyHeader | null; rest: Uint8Array } | undefined {
    const before = this.#buffer?.length ?? 0;
    if (before === 0) {
      // The common case: the whole header in the first chunk, no copy.
      const end = this.#scan(chunk, 0);
      if (end === NEED_MORE) {
        (this.#buffer ??= new FrameBuffer()).append(chunk, this.#capacity());
        return undefined;
      }
      this.#done = true;
      if (end === NO_HEADER) return { header: null, rest: chunk };
      return { header: this.#decode(chunk, end), rest: chunk.subarray(end) };
    }
    // Append only what can still belong to the header, then look again from
    // where the last look stopped.
    let used = 0;
    for (;;) {
      const seen = this.#buffer?.length ?? 0;
      const take = Math.min(this.#room(), chunk.length - used);
      (this.#buffer ??= new FrameBuffer()).append(
        chunk.subarray(used, used + take),
        this.#capacity(),
      );
      used += take;
      const bytes = this.#buffer!.peek();
      const end = this.#scan(bytes, seen);
      if (end === NEED_MORE) {
        if (used === chunk.length) return undefined;
        continue;
      }
      this.#done = true;
      if (end === NO_HEADER) {
        const rest = concat([bytes.subarray(0, before), chunk]);
        this.#buffer = undefined;
        return { header: null, rest };
      }
      const header = this.#decode(bytes, end);
      this.#buffer = undefined;
      return { header, rest: chunk.subarray(end - before) };
    }
  }

  /** The most bytes the header can have, as far as is known yet. */
  #bound(): number {
    if (this.#kind === 1) return V1_MAX_LINE;
    return this.#total > 0 ? this.#total : V2_FIXED;
  }

  /**
   * What to allocate for a header split across pushes: its bound, but for a
   * v2 header whose length has not arrived, room for a typical one (so it is
   * allocated once), never past `maxHeaderSize`.
   */
  #capacity(): number {
    if (this.#kind !== 2 || this.#total > 0) return this.#bound();
    return Math.min(256, this.#maxHeaderSize);
  }

  /** How many more bytes the header can need beyond those held. */
  #room(): number {
    return this.#bound() - (this.#buffer?.length ?? 0);
  }

  /**
   * Looks at `bytes` (the stream from its first byte), of which the first
   * `from` were looked at before: the header's size once it is complete,
   * `NEED_MORE`, or `NO_HEADER` (optional headers only).
   */
  #scan(bytes: Uint8Array, from: number): number {
    const length = bytes.length;
    if (length === 0) return NEED_MORE;
    if (this.#kind === 0) {
      const first = bytes[0]!;
      if (first === V1_PREFIX[0] && this.#acceptV1) this.#kind = 1;
      else if (first === V2_SIGNATURE[0] && this.#acceptV2) this.#kind = 2;
      else return this.#notHeader(0, first);
    }
    const prefix = this.#kind === 1 ? V1_PREFIX : V2_SIGNATURE;
    const matched = Math.min(length, prefix.length);
    for (let i = Math.max(from, 1); i < matched; i++) {
      if (bytes[i] !== prefix[i]) return this.#notHeader(i, bytes[i]!);
    }
    if (length < prefix.length) return NEED_MORE;
    return this.#kind === 1
      ? this.#scanV1(bytes, from)
      : this.#scanV2(bytes, from);
  }

  #scanV1(bytes: Uint8Array, from: number): number {
    const length = bytes.length;
    if (length > V1_PREFIX.length && bytes[V1_PREFIX.length] !== SPACE) {
      throw malformed(
        `PROXY v1 line has ${
          byteName(bytes[V1_PREFIX.length]!)
        } where a space must follow "PROXY"`,
        V1_PREFIX.length,
      );
    }
    const limit = Math.min(length, V1_MAX_LINE);
    const start = Math.max(from, V1_PREFIX.length + 1);
    const lf = start < limit ? bytes.subarray(0, limit).indexOf(LF, start) : -1;
    if (lf === -1) {
      if (length < V1_MAX_LINE) return NEED_MORE;
      throw malformed(
        `PROXY v1 line has no CRLF within ${V1_MAX_LINE} bytes`,
        V1_MAX_LINE,
      );
    }
    if (bytes[lf - 1] !== CR) {
      throw malformed("PROXY v1 line ends with a bare LF, not CRLF", lf);
    }
    return lf + 1;
  }

  #scanV2(bytes: Uint8Array, from: number): number {
    const length = bytes.length;
    if (from <= 12 && length > 12) checkVersionAndCommand(bytes[12]!);
    if (from <= 13 && length > 13) familyOf(bytes[13]!);
    if (length < V2_FIXED) return NEED_MORE;
    if (this.#total === 0) {
      const announced = (bytes[14]! << 8) | bytes[15]!;
      const total = V2_FIXED + announced;
      if (total > this.#maxHeaderSize) {
        throw malformed(
          `PROXY v2 header of ${total} bytes (16 + length ${announced}) exceeds maxHeaderSize ${this.#maxHeaderSize}`,
          14,
        );
      }
      this.#total = total;
    }
    return length < this.#total ? NEED_MORE : this.#total;
  }

  /** `NO_HEADER` for an optional header, else the error at `offset`. */
  #notHeader(offset: number, byte: number): number {
    if (!this.#required) return NO_HEADER;
    let reason: string;
    if (this.#kind === 1) {
      reason = `wrong PROXY v1 prefix, ${byteName(byte)} where "PROXY" has ${
        JSON.stringify(String.fromCharCode(V1_PREFIX[offset]!))
      }`;
    } else if (this.#kind === 2) {
      reason = `wrong PROXY v2 signature, ${byteName(byte)} where it has 0x${
        hex2(V2_SIGNATURE[offset]!)
      }`;
    } else if (this.#acceptV1 && this.#acceptV2) {
      reason = `no PROXY header, as ${
        byteName(byte)
      } starts neither "PROXY" (v1) nor the v2 signature`;
    } else {
      const v1 = this.#acceptV1;
      const other = v1 ? byte === V2_SIGNATURE[0] : byte === V1_PREFIX[0];
      reason = `no PROXY ${v1 ? "v1" : "v2"} header, as ${
        byteName(byte)
      } does not start ${v1 ? '"PROXY"' : "the v2 signature"}${
        other
          ? ` (it may start a v${
            v1 ? 2 : 1
          } header, which this decoder does not accept)`
          : ""
      }`;
    }
    throw malformed(reason, offset);
  }

  #decode(bytes: Uint8Array, end: number): ProxyHeader {
    return this.#kind === 1
      ? decodeV1(bytes, end)
      : decodeV2(bytes.subarray(0, end));
  }
}

/**
 * Writes a PROXY header: the bytes a client (or a relay in front of another
 * server) sends first, so that the server learns the original client's
 * addresses. Takes the fields of a {@linkcode ProxyHeader} (`version` comes
 * from the options, `command` defaults to `"proxy"`, `tlvs` are optional),
 * so a decoded header can be passed on as it is.
 *
 * v1 writes `PROXY TCP4|TCP6 source destination sport dport\r\n`, or
 * `PROXY UNKNOWN\r\n` for `transport: "unknown"` and `command: "local"`.
 * v2 writes addresses and TLVs in the order HAProxy does (other TLVs, then
 * CRC32C, ALPN, authority, unique ID, SSL, network namespace), so
 * decoding HAProxy's header and encoding it again gives the same bytes. A
 * `"local"` v2 header carries no addresses.
 *
 * @param header The command, transport, addresses (IP text and port, or a
 * Unix path) and TLVs.
 * @param options The version, and whether to add a CRC32C.
 * @returns The header's bytes.
 * @throws {RangeError} If a field cannot be written: an address that is
 * not of the transport's family, a port outside 0..65535, a Unix path over
 * 108 bytes, a unique ID over 128 bytes, a value or header too long for
 * its length field, a raw TLV whose type has a named field, or anything
 * but TCP addresses for v1 (TLVs, UDP, Unix, CRC32C need v2).
 *
 * @example A v1 line and a v2 header for the same client
 * ```ts
 * import { encodeProxyHeader } from "@sockit/sockit/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const client = {
 *   transport: "tcp4",
 *   source: { hostname: "192.0.2.1", port: 56324 },
 *   destination: { hostname: "198.51.100.7", port: 443 },
 * } as const;
 * assertEquals(
 *   new TextDecoder().decode(encodeProxyHeader(client, { version: 1 })),
 *   "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n",
 * );
 * const v2 = encodeProxyHeader(client, { version: 2 });
 * assertEquals(v2.length, 16 + 12);
 * assertEquals(v2.subarray(12, 14), new Uint8Array([0x21, 0x11]));
 * ```
 */
export function encodeProxyHeader(
  header: {
    /** `"proxy"` (the default) or `"local"`. */
    command?: ProxyHeader["command"];
    /** The client connection's transport. */
    transport: ProxyHeader["transport"];
    /** The client's address; needed unless `transport` is `"unknown"`. */
    source?: ProxyHeader["source"];
    /** The address the client connected to; needed as `source` is. */
    destination?: ProxyHeader["destination"];
    /** v2 fields; every one optional. */
    tlvs?:
      & Partial<Omit<ProxyHeader["tlvs"], "ssl">>
      & { ssl?: Partial<NonNullable<ProxyHeader["tlvs"]["ssl"]>> };
  },
  options: {
    /**
     * The version to write: 1, the text line (TCP over IPv4 or IPv6, or
     * `UNKNOWN`; no TLVs), or 2, the binary header (every transport, TLVs).
     * Required: a receiver accepts only the version it was configured for.
     */
    version: 1 | 2;
    /**
     * v2: add a CRC32C TLV, the checksum of the whole header, which the
     * receiver checks.
     *
     * @default {false}
     */
    crc32c?: boolean;
  },
): Uint8Array {
  const version = options?.version;
  if (version === 1) return encodeV1(header, options);
  if (version === 2) return encodeV2(header, options);
  throw new RangeError(
    `Cannot encode a PROXY header of version ${String(version)}: use 1 or 2`,
  );
}

type EncodeInput = Parameters<typeof encodeProxyHeader>[0];
type Address = NonNullable<ProxyHeader["source"]>;
