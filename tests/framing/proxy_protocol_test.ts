/**
 * Tests of `framing/proxy_protocol.ts`: every v1 form and every malformed v1
 * line; every v2 family, LOCAL, each TLV, CRC32C good and bad; truncated and
 * oversized headers; headers split at every byte boundary with the bytes
 * after them handed back untouched; optional headers; the first impossible
 * byte failing at once; the encoder, round trips, and byte-exact headers
 * captured from HAProxy (and, where `haproxy` is installed, a live one).
 *
 * v2 headers in the tables are built by hand from the spec's byte layout,
 * not by the encoder, so the decoder is not checked against itself.
 *
 * @module
 */
import { freePort, haproxyTest } from "../_haproxy.ts";
import { Lines } from "../_spawn.ts";
import {
  encodeProxyHeader,
  MalformedFrameError,
  type ProxyHeader,
  ProxyHeaderDecoder,
  type ProxyHeaderDecoderOptions,
  TruncatedFrameError,
} from "../../framing/mod.ts";
import { crc32c } from "../../framing/_crc32c.ts";
import { formatIpv6, parseIpv6 } from "../../framing/_ip_text.ts";
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  fail,
  fromHex,
  toHex,
} from "../_utils.ts";

// ------------------------------------------------------------------ helpers

const ascii = (text: string): Uint8Array =>
  Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Bytes from pieces: byte arrays, lists of bytes, or ASCII text. */
function bytes(...parts: Array<Uint8Array | number[] | string>): Uint8Array {
  const arrays = parts.map((p) =>
    typeof p === "string" ? ascii(p) : Uint8Array.from(p)
  );
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

const SIGNATURE = fromHex("0d0a0d0a000d0a515549540a");

/** A v2 header: signature, version/command, family, length, body. */
function v2(
  versionCommand: number,
  family: number,
  body: Uint8Array,
  length: number = body.length,
): Uint8Array {
  return bytes(
    SIGNATURE,
    [versionCommand, family, length >> 8, length & 0xff],
    body,
  );
}

/** One TLV. */
function tlv(type: number, value: Uint8Array | string): Uint8Array {
  const v = typeof value === "string" ? new TextEncoder().encode(value) : value;
  return bytes([type, v.length >> 8, v.length & 0xff], v);
}

/** `header` with its CRC32C TLV (whose value starts at `at`) filled in. */
function withCrc(header: Uint8Array, at: number): Uint8Array {
  const sum = crc32c(header);
  const out = header.slice();
  new DataView(out.buffer).setUint32(at, sum);
  return out;
}

const V4_ADDRESSES = fromHex("c0000201" + "c6336407" + "dc04" + "01bb"); // 192.0.2.1 198.51.100.7 56324 443
const V6_ADDRESSES = bytes(
  parseIpv6("2001:db8::1")!,
  parseIpv6("2001:db8::2")!,
  [0x9c, 0x40, 0x01, 0xbb], // 40000 443
);

function unixPaths(source: string, destination: string): Uint8Array {
  const out = new Uint8Array(216);
  out.set(ascii(source), 0);
  out.set(ascii(destination), 108);
  return out;
}

const TCP4 = {
  transport: "tcp4",
  source: { hostname: "192.0.2.1", port: 56324 },
  destination: { hostname: "198.51.100.7", port: 443 },
} as const;
const TCP6 = {
  transport: "tcp6",
  source: { hostname: "2001:db8::1", port: 40000 },
  destination: { hostname: "2001:db8::2", port: 443 },
} as const;

type Result = { header: ProxyHeader | null; rest: Uint8Array };

/** Pushes `chunks` one by one until a result; the bytes after the header. */
function decodeChunks(
  chunks: Uint8Array[],
  options?: ProxyHeaderDecoderOptions,
): { header: ProxyHeader | null; after: Uint8Array } {
  const decoder = new ProxyHeaderDecoder(options);
  let result: Result | undefined;
  let i = 0;
  for (; i < chunks.length && result === undefined; i++) {
    result = decoder.push(chunks[i]!);
  }
  result ??= decoder.end();
  return {
    header: result.header,
    after: bytes(result.rest, ...chunks.slice(i)),
  };
}

function decode(
  input: Uint8Array,
  options?: ProxyHeaderDecoderOptions,
): ProxyHeader | null {
  return decodeChunks([input], options).header;
}

function malformed(
  input: Uint8Array,
  options?: ProxyHeaderDecoderOptions,
): MalformedFrameError {
  return assertThrows(() => decode(input, options), MalformedFrameError);
}

// ------------------------------------------------------------------- CRC32C

Deno.test("crc32c() gives the Castagnoli check value and RFC 3720's test vectors", () => {
  const rows: Array<[Uint8Array, number]> = [
    // The CRC catalogue's check value of CRC-32C.
    [ascii("123456789"), 0xe3069283],
    // No bytes.
    [new Uint8Array(0), 0],
    // RFC 3720 B.4: 32 bytes of zeros.
    [new Uint8Array(32), 0x8a9136aa],
    // RFC 3720 B.4: 32 bytes of 0xff.
    [new Uint8Array(32).fill(0xff), 0x62a8ab43],
    // RFC 3720 B.4: 32 incrementing bytes.
    [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    // RFC 3720 B.4: 32 decrementing bytes.
    [Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ];
  for (const [input, expected] of rows) {
    assertEquals(crc32c(input).toString(16), expected.toString(16));
  }
});

Deno.test("IPv6 text is parsed strictly and written as RFC 5952 says", () => {
  const rows: Array<[string, string | null]> = [
    // Loopback: the longest zero run compressed.
    ["0:0:0:0:0:0:0:1", "::1"],
    // All zeros.
    ["::", "::"],
    // Leading zeros of a group dropped, lowercase.
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    // The first of two equally long zero runs is compressed.
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    // The longer of two zero runs is compressed.
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    // A single zero group is not compressed.
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    // An IPv4-mapped address keeps its dotted tail.
    ["::ffff:c000:0201", "::ffff:192.0.2.1"],
    // A dotted tail is accepted.
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    // "::" for one group is accepted.
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    // Two "::" are not an address.
    ["1::2::3", null],
    // Too few groups without "::".
    ["1:2:3:4:5:6:7", null],
    // Too many groups.
    ["1:2:3:4:5:6:7:8:9", null],
    // A group of five digits.
    ["12345::", null],
    // A leading single colon.
    [":1:2:3:4:5:6:7", null],
    // A dotted tail with a leading zero.
    ["::ffff:192.0.2.01", null],
    // A dotted group before "::".
    ["1.2.3.4::", null],
    // A zone.
    ["fe80::1%eth0", null],
  ];
  for (const [text, expected] of rows) {
    const parsed = parseIpv6(text);
    assertEquals(parsed === null ? null : formatIpv6(parsed), expected, text);
  }
});

// ----------------------------------------------------------------- v1 lines

const MAX_IPV6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

Deno.test("ProxyHeaderDecoder decodes every v1 form", () => {
  const rows: Array<[string, Partial<ProxyHeader>]> = [
    // TCP over IPv4, the example of the spec.
    ["PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", {
      transport: "tcp4",
      source: { hostname: "192.168.0.1", port: 56324 },
      destination: { hostname: "192.168.0.11", port: 443 },
    }],
    // The longest TCP4 line (56 bytes) and the largest port.
    ["PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", {
      transport: "tcp4",
      source: { hostname: "255.255.255.255", port: 65535 },
      destination: { hostname: "255.255.255.255", port: 65535 },
    }],
    // Port 0 and the address 0.0.0.0.
    ["PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n", {
      transport: "tcp4",
      source: { hostname: "0.0.0.0", port: 0 },
      destination: { hostname: "10.0.0.1", port: 0 },
    }],
    // TCP over IPv6, compressed.
    ["PROXY TCP6 ::1 ::1 34114 57343\r\n", {
      transport: "tcp6",
      source: { hostname: "::1", port: 34114 },
      destination: { hostname: "::1", port: 57343 },
    }],
    // The longest TCP6 line (104 bytes).
    [`PROXY TCP6 ${MAX_IPV6} ${MAX_IPV6} 65535 65535\r\n`, {
      transport: "tcp6",
      source: { hostname: MAX_IPV6, port: 65535 },
      destination: { hostname: MAX_IPV6, port: 65535 },
    }],
    // IPv6 with leading zeros and capitals comes out canonical.
    ["PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 2001:db8::2 1 2\r\n", {
      transport: "tcp6",
      source: { hostname: "2001:db8::1", port: 1 },
      destination: { hostname: "2001:db8::2", port: 2 },
    }],
    // An IPv4-mapped address as inet_ntop writes it.
    ["PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.7 80 81\r\n", {
      transport: "tcp6",
      source: { hostname: "::ffff:192.0.2.1", port: 80 },
      destination: { hostname: "::ffff:198.51.100.7", port: 81 },
    }],
    // UNKNOWN, short form.
    ["PROXY UNKNOWN\r\n", { transport: "unknown" }],
    // UNKNOWN, the worst case of 107 bytes: the rest is ignored.
    [`PROXY UNKNOWN ${MAX_IPV6} ${MAX_IPV6} 65535 65535\r\n`, {
      transport: "unknown",
    }],
    // UNKNOWN followed by anything printable, even double spaces.
    ["PROXY UNKNOWN  whatever  1 2\r\n", { transport: "unknown" }],
  ];
  for (const [line, fields] of rows) {
    const header = decode(ascii(line));
    assertEquals(
      header,
      {
        version: 1,
        command: "proxy",
        ...fields,
        tlvs: { raw: [] },
      } as ProxyHeader,
      line,
    );
  }
  assertEquals(
    `PROXY UNKNOWN ${MAX_IPV6} ${MAX_IPV6} 65535 65535\r\n`.length,
    107,
  );
});

Deno.test("ProxyHeaderDecoder refuses every malformed v1 line at the offending byte", () => {
  const long = `PROXY UNKNOWN ${MAX_IPV6} ${MAX_IPV6} 65535 655355\r\n`; // 108 bytes
  const rows: Array<[string, number, string]> = [
    // LF without CR.
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 30, "bare LF"],
    // No CRLF within 107 bytes.
    ["PROXY UNKNOWN " + "x".repeat(120), 107, "no CRLF within 107 bytes"],
    // A complete line of 108 bytes is one too many.
    [long, 107, "no CRLF within 107 bytes"],
    // A CR alone inside the line.
    ["PROXY TCP4\r1.2.3.4 5.6.7.8 1 2\r\n", 10, "0x0d, which is not printable"],
    // A tab instead of a space.
    ["PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", 10, "0x09, which is not printable"],
    // A byte outside US-ASCII.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.\xe9 1 2\r\n",
      25,
      "0xe9, which is not printable",
    ],
    // Nothing after PROXY.
    ["PROXY\r\n", 5, "0x0d where a space must follow"],
    // No space after PROXY.
    [
      "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
      5,
      'where a space must follow "PROXY"',
    ],
    // Two spaces after PROXY.
    ["PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 6, "two spaces in a row"],
    // Two spaces between addresses.
    ["PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", 19, "two spaces in a row"],
    // A space before CRLF.
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 30, "ends with a space"],
    // An unknown protocol.
    [
      "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
      6,
      '"TCP5" is none of TCP4, TCP6, UNKNOWN',
    ],
    // UDP has no v1 form.
    ["PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 6, '"UDP4" is none of'],
    // Lowercase protocol.
    ["PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", 6, '"tcp4" is none of'],
    // UNKNOWN run into another word.
    ["PROXY UNKNOWNX\r\n", 6, '"UNKNOWNX" is none of'],
    // Too few fields.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
      28,
      "3 fields after the protocol, not 4",
    ],
    // Too many fields.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
      30,
      "5 fields after the protocol, not 4",
    ],
    // Three numbers are not an IPv4 address.
    [
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
      11,
      'source address "1.2.3" is not an IPv4 address',
    ],
    // A number above 255.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n",
      19,
      'destination address "5.6.7.256" is not an IPv4',
    ],
    // A leading zero in an IPv4 number (octal confusion).
    [
      "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
      11,
      '"01.2.3.4" is not an IPv4 address',
    ],
    // A host name is not an address.
    ["PROXY TCP4 localhost 5.6.7.8 1 2\r\n", 11, '"localhost" is not an IPv4'],
    // An IPv6 address on a TCP4 line.
    [
      "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
      11,
      "is an IPv6 address but the protocol is TCP4",
    ],
    // An IPv4 address on a TCP6 line.
    [
      "PROXY TCP6 ::1 5.6.7.8 1 2\r\n",
      15,
      "is an IPv4 address but the protocol is TCP6",
    ],
    // A bad IPv6 address.
    [
      "PROXY TCP6 1::2::3 ::1 1 2\r\n",
      11,
      'source address "1::2::3" is not an IPv6',
    ],
    // IPv6 in brackets.
    ["PROXY TCP6 [::1] ::1 1 2\r\n", 11, "is not an IPv6 address"],
    // Port 65536.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
      27,
      'source port "65536" is above 65535',
    ],
    // A port with a leading zero.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 080\r\n",
      29,
      'destination port "080" has a leading zero',
    ],
    // A port "00".
    ["PROXY TCP4 1.2.3.4 5.6.7.8 00 1\r\n", 27, '"00" has a leading zero'],
    // A signed port.
    ["PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", 27, '"+1" is not a decimal number'],
    // A hexadecimal port.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n",
      27,
      '"0x50" is not a decimal number',
    ],
    // A very long run of digits.
    [
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999999999999999999\r\n",
      29,
      "is above 65535",
    ],
  ];
  for (const [line, offset, reason] of rows) {
    const error = malformed(ascii(line));
    assertEquals(error.offset, offset, line);
    assertStringIncludes(error.reason, reason, line);
    assertStringIncludes(error.message, `: at byte offset ${offset}`);
  }
});

Deno.test("A v1 line without LF in its first 107 bytes fails at once, holding at most 107", () => {
  const decoder = new ProxyHeaderDecoder({ version: "v1" });
  const input = ascii("PROXY TCP4 " + "1".repeat(200));
  for (let i = 0; i < 106; i++) {
    assertEquals(decoder.push(input.subarray(i, i + 1)), undefined);
    assertLessOrEqual(decoder.bufferedBytes, 106);
  }
  // The 107th byte is not an LF: no line can end in time any more.
  const error = assertThrows(
    () => decoder.push(input.subarray(106, 107)),
    MalformedFrameError,
  );
  assertEquals(
    error.message,
    "Cannot decode frame header: PROXY v1 line has no CRLF within 107 bytes: at byte offset 107",
  );
  assertEquals(decoder.bufferedBytes, 0);
  // Decoding stays failed with the same error.
  assertStrictEquals(
    assertThrows(() => decoder.push(ascii("\r\n")), MalformedFrameError),
    error,
  );
});

// ---------------------------------------------------------------- v2 blocks

const NO_TLVS = { raw: [] };

Deno.test("ProxyHeaderDecoder decodes every v2 family and command", () => {
  const rows: Array<[Uint8Array, Omit<ProxyHeader, "version">]> = [
    // TCP over IPv4.
    [v2(0x21, 0x11, V4_ADDRESSES), {
      command: "proxy",
      ...TCP4,
      tlvs: NO_TLVS,
    }],
    // UDP over IPv4.
    [v2(0x21, 0x12, V4_ADDRESSES), {
      command: "proxy",
      ...TCP4,
      transport: "udp4",
      tlvs: NO_TLVS,
    }],
    // TCP over IPv6.
    [v2(0x21, 0x21, V6_ADDRESSES), {
      command: "proxy",
      ...TCP6,
      tlvs: NO_TLVS,
    }],
    // UDP over IPv6.
    [v2(0x21, 0x22, V6_ADDRESSES), {
      command: "proxy",
      ...TCP6,
      transport: "udp6",
      tlvs: NO_TLVS,
    }],
    // An IPv4-mapped IPv6 address (HAProxy's mixed-family form).
    [
      v2(
        0x21,
        0x21,
        bytes(parseIpv6("::ffff:127.0.0.1")!, parseIpv6("::1")!, [0, 1, 0, 2]),
      ),
      {
        command: "proxy",
        transport: "tcp6",
        source: { hostname: "::ffff:127.0.0.1", port: 1 },
        destination: { hostname: "::1", port: 2 },
        tlvs: NO_TLVS,
      },
    ],
    // A Unix stream socket.
    [v2(0x21, 0x31, unixPaths("/run/client.sock", "/run/server.sock")), {
      command: "proxy",
      transport: "unix",
      source: { path: "/run/client.sock" },
      destination: { path: "/run/server.sock" },
      tlvs: NO_TLVS,
    }],
    // A Unix datagram socket, with an unnamed source and a 108-byte path.
    [v2(0x21, 0x32, unixPaths("", "p".repeat(108))), {
      command: "proxy",
      transport: "unixpacket",
      source: { path: "" },
      destination: { path: "p".repeat(108) },
      tlvs: NO_TLVS,
    }],
    // An abstract Unix socket name (leading NUL).
    [v2(0x21, 0x31, unixPaths("\0abstract", "/s")), {
      command: "proxy",
      transport: "unix",
      source: { path: "\0abstract" },
      destination: { path: "/s" },
      tlvs: NO_TLVS,
    }],
    // PROXY with an unspecified family: no addresses.
    [v2(0x21, 0x00, new Uint8Array(0)), {
      command: "proxy",
      transport: "unknown",
      tlvs: NO_TLVS,
    }],
    // LOCAL, as HAProxy sends for health checks.
    [v2(0x20, 0x00, new Uint8Array(0)), {
      command: "local",
      transport: "unknown",
      tlvs: NO_TLVS,
    }],
    // LOCAL with an address block: skipped, not reported (use the real addresses).
    [v2(0x20, 0x11, bytes(V4_ADDRESSES, tlv(0x01, "h2"))), {
      command: "local",
      transport: "unknown",
      tlvs: { alpn: "h2", raw: [] },
    }],
    // LOCAL keeping its family but sending no addresses.
    [v2(0x20, 0x21, new Uint8Array(0)), {
      command: "local",
      transport: "unknown",
      tlvs: NO_TLVS,
    }],
    // Bytes after the address block that are TLVs (here none, length exact).
    [v2(0x21, 0x11, V4_ADDRESSES, 12), {
      command: "proxy",
      ...TCP4,
      tlvs: NO_TLVS,
    }],
  ];
  for (const [header, expected] of rows) {
    assertEquals(decode(header), { version: 2, ...expected }, toHex(header));
  }
});

Deno.test("ProxyHeaderDecoder decodes each v2 TLV", () => {
  const sslValue = bytes(
    [0x07, 0, 0, 0, 20], // TLS, certificate on connection and in session; verify 20
    tlv(0x21, "TLSv1.3"),
    tlv(0x22, "client.example"),
    tlv(0x23, "TLS_AES_256_GCM_SHA384"),
    tlv(0x24, "RSA-SHA256"),
    tlv(0x25, "RSA2048"),
    tlv(0x26, "X25519"),
    tlv(0x27, "rsa_pss_rsae_sha256"),
    tlv(0x28, new Uint8Array([0x30, 0x82])),
    tlv(0x29, new Uint8Array([9])),
  );
  const rows: Array<[string, Uint8Array, ProxyHeader["tlvs"]]> = [
    // ALPN.
    ["ALPN", tlv(0x01, "http/1.1"), { alpn: "http/1.1", raw: [] }],
    // AUTHORITY, UTF-8.
    ["AUTHORITY", tlv(0x02, "bücher.example"), {
      authority: "bücher.example",
      raw: [],
    }],
    // NOOP: skipped, even empty.
    ["NOOP", bytes(tlv(0x04, ""), tlv(0x04, "pad")), { raw: [] }],
    // UNIQUE_ID at its limit of 128 bytes.
    ["UNIQUE_ID", tlv(0x05, new Uint8Array(128).fill(7)), {
      uniqueId: new Uint8Array(128).fill(7),
      raw: [],
    }],
    // SSL with every sub-TLV and an unknown one.
    ["SSL", tlv(0x20, sslValue), {
      ssl: {
        tls: true,
        certificateOnConnection: true,
        certificateInSession: true,
        verify: 20,
        version: "TLSv1.3",
        commonName: "client.example",
        cipher: "TLS_AES_256_GCM_SHA384",
        signatureAlgorithm: "RSA-SHA256",
        keyAlgorithm: "RSA2048",
        group: "X25519",
        signatureScheme: "rsa_pss_rsae_sha256",
        clientCertificate: new Uint8Array([0x30, 0x82]),
        raw: [{ type: 0x29, value: new Uint8Array([9]) }],
      },
      raw: [],
    }],
    // SSL with only its fixed fields: plain TCP client.
    ["SSL, no TLS", tlv(0x20, new Uint8Array(5)), {
      ssl: {
        tls: false,
        certificateOnConnection: false,
        certificateInSession: false,
        verify: 0,
        raw: [],
      },
      raw: [],
    }],
    // NETNS.
    ["NETNS", tlv(0x30, "blue"), { netns: "blue", raw: [] }],
    // Unknown types (custom range, future range) kept raw, in order, even empty.
    [
      "raw",
      bytes(tlv(0xea, new Uint8Array([1, 2])), tlv(0xf8, ""), tlv(0x06, "x")),
      {
        raw: [
          { type: 0xea, value: new Uint8Array([1, 2]) },
          { type: 0xf8, value: new Uint8Array(0) },
          { type: 0x06, value: ascii("x") },
        ],
      },
    ],
    // A repeated named TLV: the first counts.
    ["repeated", bytes(tlv(0x01, "h2"), tlv(0x01, "h3")), {
      alpn: "h2",
      raw: [],
    }],
  ];
  for (const [name, tlvs, expected] of rows) {
    const header = decode(v2(0x21, 0x11, bytes(V4_ADDRESSES, tlvs)));
    assertEquals(header?.tlvs, expected, name);
  }
});

Deno.test("TLV values are copies, not views of the bytes decoded", () => {
  const input = v2(
    0x21,
    0x11,
    bytes(V4_ADDRESSES, tlv(0x05, "id"), tlv(0xe0, "v")),
  );
  const header = decode(input);
  input.fill(0);
  assertEquals(header?.tlvs.uniqueId, ascii("id"));
  assertEquals(header?.tlvs.raw, [{ type: 0xe0, value: ascii("v") }]);
});

Deno.test("A v2 CRC32C TLV is checked: a good one passes, any changed byte fails", () => {
  const unsigned = v2(
    0x21,
    0x11,
    bytes(V4_ADDRESSES, tlv(0x03, new Uint8Array(4)), tlv(0x01, "h2")),
  );
  const crcAt = 16 + 12 + 3;
  const good = withCrc(unsigned, crcAt);
  assertEquals(decode(good)?.tlvs, { alpn: "h2", raw: [] });
  // Every single-bit change after the signature is caught: by the CRC, by
  // a structural check first, or (a longer length) as a truncated header.
  // Not the CRC TLV's own type byte: that makes it another TLV, with
  // nothing left to check.
  for (let i = 12; i < good.length; i++) {
    if (i === crcAt - 3) continue;
    const bad = good.slice();
    bad[i]! ^= 0x01;
    const error = assertThrows(
      () => decode(bad),
      Error,
      undefined,
      `byte ${i}`,
    );
    assert(
      error instanceof MalformedFrameError ||
        error instanceof TruncatedFrameError,
      `byte ${i}: ${error}`,
    );
  }
  // The CRC itself off by one bit: the message says both sums.
  const bad = good.slice();
  bad[crcAt + 3]! ^= 0x01;
  const error = malformed(bad);
  assertEquals(error.offset, crcAt);
  assertStringIncludes(error.reason, "CRC32C check failed");
  assertStringIncludes(error.reason, toHex(good.subarray(crcAt, crcAt + 4)));
  // A CRC32C of zero that is not the sum.
  assertThrows(
    () => decode(unsigned),
    MalformedFrameError,
    "CRC32C check failed",
  );
});

Deno.test("ProxyHeaderDecoder refuses every malformed v2 header at the offending byte", () => {
  const rows: Array<
    [string, Uint8Array, number, string, ProxyHeaderDecoderOptions?]
  > = [
    // Version 1 in the version nibble.
    ["version 1", v2(0x11, 0x11, V4_ADDRESSES), 12, "version 1, not 2"],
    // Version 3.
    ["version 3", v2(0x31, 0x11, V4_ADDRESSES), 12, "version 3, not 2"],
    // Command 2.
    [
      "command 2",
      v2(0x22, 0x11, V4_ADDRESSES),
      12,
      "command 0x2 is neither LOCAL",
    ],
    // Command 0xf.
    ["command 15", v2(0x2f, 0x11, V4_ADDRESSES), 12, "command 0xf"],
    // Family 4.
    ["family 4", v2(0x21, 0x41, V4_ADDRESSES), 13, "byte 0x41 is none of"],
    // Transport 3.
    ["transport 3", v2(0x21, 0x13, V4_ADDRESSES), 13, "byte 0x13 is none of"],
    // A family with an unspecified transport (not one of the listed bytes).
    ["INET, UNSPEC", v2(0x21, 0x10, V4_ADDRESSES), 13, "byte 0x10"],
    // LOCAL does not excuse a bad family byte.
    ["LOCAL, family 5", v2(0x20, 0x51, new Uint8Array(0)), 13, "byte 0x51"],
    // Length shorter than the IPv4 address block.
    [
      "short tcp4",
      v2(0x21, 0x11, V4_ADDRESSES.subarray(0, 8)),
      14,
      "length 8 is shorter than the 12-byte tcp4 address block",
    ],
    // Length shorter than the IPv6 address block.
    [
      "short tcp6",
      v2(0x21, 0x21, V4_ADDRESSES),
      14,
      "length 12 is shorter than the 36-byte tcp6",
    ],
    // Length shorter than the Unix address block.
    ["short unix", v2(0x21, 0x31, new Uint8Array(200)), 14, "216-byte unix"],
    // Over the default maxHeaderSize of 4096.
    [
      "oversized",
      v2(0x21, 0x11, new Uint8Array(4081)),
      14,
      "4097 bytes (16 + length 4081) exceeds maxHeaderSize 4096",
    ],
    // Over a smaller maxHeaderSize.
    [
      "over maxHeaderSize 27",
      v2(0x21, 0x11, V4_ADDRESSES),
      14,
      "28 bytes (16 + length 12) exceeds maxHeaderSize 27",
      { maxHeaderSize: 27 },
    ],
    // A TLV whose value runs past the end.
    [
      "TLV past end",
      v2(0x21, 0x11, bytes(V4_ADDRESSES, [0x01, 0, 5], "h2")),
      28,
      "TLV 0x01 of 5 bytes runs past the end of the header",
    ],
    // One byte of a TLV header.
    [
      "1 byte left",
      v2(0x21, 0x11, bytes(V4_ADDRESSES, [0x04])),
      28,
      "ends 1 bytes into a 3-byte type and length",
    ],
    // Two bytes of a TLV header.
    [
      "2 bytes left",
      v2(0x21, 0x11, bytes(V4_ADDRESSES, tlv(0x04, ""), [0x04, 0])),
      31,
      "ends 2 bytes into",
    ],
    // An unspecified family whose bytes are not TLVs.
    [
      "UNSPEC garbage",
      v2(0x21, 0x00, new Uint8Array([1, 2, 3, 4])),
      16,
      "TLV 0x01 of 515 bytes",
    ],
    // A CRC32C TLV of 3 bytes.
    [
      "CRC of 3",
      v2(0x21, 0x11, bytes(V4_ADDRESSES, tlv(0x03, new Uint8Array(3)))),
      28,
      "CRC32C TLV has 3 bytes, not 4",
    ],
    // A unique ID of 129 bytes.
    [
      "unique ID 129",
      v2(0x21, 0x11, bytes(V4_ADDRESSES, tlv(0x05, new Uint8Array(129)))),
      28,
      "unique ID has 129 bytes, more than 128",
    ],
    // An SSL TLV shorter than its fixed fields.
    [
      "SSL of 4",
      v2(0x21, 0x11, bytes(V4_ADDRESSES, tlv(0x20, new Uint8Array(4)))),
      28,
      "SSL TLV has 4 bytes, fewer than the 5",
    ],
    // An SSL sub-TLV that runs past the SSL TLV (though not the header).
    [
      "SSL sub past",
      v2(
        0x21,
        0x11,
        bytes(
          V4_ADDRESSES,
          tlv(0x20, bytes([1, 0, 0, 0, 0], [0x21, 0, 9], "TLS")),
          tlv(0x04, "padpadpad"),
        ),
      ),
      36,
      "TLV 0x21 of 9 bytes runs past the end of the SSL TLV",
    ],
  ];
  for (const [name, input, offset, reason, options] of rows) {
    const error = malformed(input, options);
    assertEquals(error.offset, offset, name);
    assertStringIncludes(error.reason, reason, name);
  }
});

Deno.test("An oversized v2 header fails at its length field, before its body arrives", () => {
  const decoder = new ProxyHeaderDecoder({ maxHeaderSize: 100 });
  const header = v2(0x21, 0x11, new Uint8Array(200));
  assertEquals(decoder.push(header.subarray(0, 15)), undefined);
  const error = assertThrows(
    () => decoder.push(header.subarray(15, 16)),
    MalformedFrameError,
  );
  assertEquals(error.offset, 14);
  assertLessOrEqual(decoder.bufferedBytes, 16);
  // The largest v2 header the length field allows is accepted when allowed.
  const largest = v2(
    0x21,
    0x11,
    bytes(V4_ADDRESSES, tlv(0xe0, new Uint8Array(65535 - 12 - 3))),
  );
  assertEquals(largest.length, 65551);
  const header2 = decode(largest, { maxHeaderSize: 65551 });
  assertEquals(header2?.tlvs.raw[0]?.value.length, 65520);
});

Deno.test("maxHeaderSize and version are checked", () => {
  // Below the 16 fixed bytes.
  assertThrows(
    () => new ProxyHeaderDecoder({ maxHeaderSize: 15 }),
    RangeError,
    "maxHeaderSize 15",
  );
  // Above what the length field can announce.
  assertThrows(
    () => new ProxyHeaderDecoder({ maxHeaderSize: 65552 }),
    RangeError,
    "at most 65551",
  );
  // Not an integer.
  assertThrows(
    () => new ProxyHeaderDecoder({ maxHeaderSize: 100.5 }),
    RangeError,
  );
  // An unknown version.
  assertThrows(
    () => new ProxyHeaderDecoder({ version: "v3" as "v1" }),
    RangeError,
    '"v1", "v2" or "any"',
  );
});

// ------------------------------------------------------------ split headers

const PAYLOAD = ascii("HELLO\r\n\r\nQUIT\n");

const SPLIT_CASES: Array<[string, Uint8Array]> = [
  // v1 over IPv4.
  ["v1 tcp4", ascii("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n")],
  // v1 over IPv6, long.
  ["v1 tcp6", ascii(`PROXY TCP6 ${MAX_IPV6} ::1 65535 1\r\n`)],
  // v1 UNKNOWN with a tail.
  ["v1 unknown", ascii("PROXY UNKNOWN 1 2 3\r\n")],
  // v2 over IPv4.
  ["v2 tcp4", v2(0x21, 0x11, V4_ADDRESSES)],
  // v2 LOCAL, 16 bytes only.
  ["v2 local", v2(0x20, 0x00, new Uint8Array(0))],
  // v2 Unix with TLVs and a CRC32C.
  [
    "v2 unix crc",
    withCrc(
      v2(
        0x21,
        0x31,
        bytes(
          unixPaths("/a", "/b"),
          tlv(0x01, "h2"),
          tlv(0x03, new Uint8Array(4)),
        ),
      ),
      16 + 216 + 5 + 3,
    ),
  ],
];

Deno.test("A header split at every byte boundary decodes the same, the payload handed back untouched", () => {
  for (const [name, header] of SPLIT_CASES) {
    const input = bytes(header, PAYLOAD);
    const whole = decodeChunks([input]);
    assert(whole.header !== null, name);
    assertEquals(whole.after, PAYLOAD, name);
    // Every 2-way split, the payload after the header included.
    for (let cut = 0; cut <= input.length; cut++) {
      const got = decodeChunks([input.subarray(0, cut), input.subarray(cut)]);
      assertEquals(got, whole, `${name} cut at ${cut}`);
    }
    // Every 3-way split within the header.
    for (let a = 1; a < header.length; a += 3) {
      for (let b = a; b <= header.length; b += 2) {
        const got = decodeChunks([
          input.subarray(0, a),
          input.subarray(a, b),
          input.subarray(b),
        ]);
        assertEquals(got, whole, `${name} cut at ${a}, ${b}`);
      }
    }
    // Byte by byte: the result comes with the header's last byte, not later.
    const decoder = new ProxyHeaderDecoder();
    for (let i = 0; i < header.length - 1; i++) {
      assertEquals(
        decoder.push(input.subarray(i, i + 1)),
        undefined,
        `${name} byte ${i}`,
      );
    }
    const last = input.subarray(header.length - 1, header.length);
    const result = decoder.push(last);
    assertEquals(result?.header, whole.header, name);
    assertEquals(result?.rest.length, 0);
  }
});

Deno.test("The bytes after the header are a view of the chunk, not a copy", () => {
  for (const [name, header] of SPLIT_CASES) {
    const input = bytes(header, PAYLOAD);
    // In one chunk.
    const one = new ProxyHeaderDecoder().push(input);
    assertStrictEquals(one?.rest.buffer, input.buffer, name);
    assertEquals(one?.rest.byteOffset, header.length);
    // Split inside the header: rest is a view of the second chunk.
    const decoder = new ProxyHeaderDecoder();
    const first = input.slice(0, 9);
    const second = input.slice(9);
    assertEquals(decoder.push(first), undefined);
    const result = decoder.push(second);
    assertStrictEquals(result?.rest.buffer, second.buffer, name);
    assertEquals(result?.rest.byteOffset, header.length - 9);
    assertEquals(result?.rest, PAYLOAD);
    assertEquals(decoder.bufferedBytes, 0);
  }
});

Deno.test("A split v2 header holds only its own bytes, never the payload after it", () => {
  const header = v2(
    0x21,
    0x11,
    bytes(V4_ADDRESSES, tlv(0xe0, new Uint8Array(100))),
  );
  const decoder = new ProxyHeaderDecoder();
  assertEquals(decoder.push(header.subarray(0, 3)), undefined);
  assertEquals(decoder.bufferedBytes, 3);
  const big = bytes(header.subarray(3), new Uint8Array(1 << 20));
  const result = decoder.push(big);
  assertEquals(result?.rest.length, 1 << 20);
  assertStrictEquals(result?.rest.buffer, big.buffer);
});

// ----------------------------------------------------------- optional mode

Deno.test("An optional header: bytes that cannot start one come back untouched, decided at the first differing byte", () => {
  const rows: Array<[string, Uint8Array[], ProxyHeaderDecoderOptions]> = [
    // An HTTP request: "G" starts neither.
    ["http", [ascii("GET / HTTP/1.0\r\n\r\n")], {}],
    // A TLS ClientHello.
    ["tls", [fromHex("160301020001")], {}],
    // "PRO" then "BE": differs at byte 3, across pushes.
    ["PROBE split", [ascii("PRO"), ascii("BE\n")], {}],
    // "P" alone, then a lowercase r.
    ["P then r", [ascii("P"), ascii("roxy")], {}],
    // The first 11 bytes of the v2 signature, then something else.
    ["almost v2", [SIGNATURE.subarray(0, 11), ascii("X rest")], {}],
    // A v2 header when only v1 is accepted is not a header.
    ["v2 to v1-only", [v2(0x21, 0x11, V4_ADDRESSES)], { version: "v1" }],
    // A v1 line when only v2 is accepted is not a header.
    ["v1 to v2-only", [ascii("PROXY UNKNOWN\r\n")], { version: "v2" }],
    // An empty chunk first changes nothing.
    ["empty first", [new Uint8Array(0), ascii("x")], {}],
  ];
  for (const [name, chunks, options] of rows) {
    const decoder = new ProxyHeaderDecoder({ ...options, required: false });
    let result: Result | undefined;
    let i = 0;
    for (; result === undefined; i++) result = decoder.push(chunks[i]!);
    // Decided by the chunk holding the first differing byte: no later chunk.
    assertEquals(i, chunks.length, name);
    assertEquals(result.header, null, name);
    assertEquals(result.rest, bytes(...chunks), name);
    if (chunks.length === 1) assertStrictEquals(result.rest, chunks[0], name);
  }
});

Deno.test("An optional header that is there is decoded, and a malformed one still fails", () => {
  const options = { required: false };
  assertEquals(
    decode(ascii("PROXY UNKNOWN\r\n"), options)?.transport,
    "unknown",
  );
  assertEquals(
    decode(v2(0x20, 0x00, new Uint8Array(0)), options)?.command,
    "local",
  );
  // Past the signature it is a header: malformed is an error, not data.
  assertEquals(malformed(ascii("PROXY TCP9\r\n"), options).offset, 6);
  assertEquals(malformed(v2(0x31, 0x11, V4_ADDRESSES), options).offset, 12);
});

Deno.test("end() hands back a partial signature of an optional header and refuses a truncated one", () => {
  // A partial "PROXY" is the connection's own bytes.
  const partial = new ProxyHeaderDecoder({ required: false });
  assertEquals(partial.push(ascii("PRO")), undefined);
  assertEquals(partial.end(), { header: null, rest: ascii("PRO") });
  // Nothing at all.
  assertEquals(new ProxyHeaderDecoder({ required: false }).end(), {
    header: null,
    rest: new Uint8Array(0),
  });
  // A v1 line without its CRLF.
  const v1 = new ProxyHeaderDecoder({ required: false });
  v1.push(ascii("PROXY TCP4 1.2.3.4"));
  const e1 = assertThrows(() => v1.end(), TruncatedFrameError);
  assertEquals([e1.received, e1.expected, e1.offset], [18, undefined, 0]);
  assertEquals(
    e1.message,
    "Cannot decode the PROXY header as the stream ended after 18 bytes, before its end: at byte offset 0",
  );
  // A v2 header whose length is known.
  const v2d = new ProxyHeaderDecoder();
  v2d.push(v2(0x21, 0x11, V4_ADDRESSES).subarray(0, 20));
  const e2 = assertThrows(() => v2d.end(), TruncatedFrameError);
  assertEquals([e2.received, e2.expected], [20, 28]);
  assertStringIncludes(e2.message, "after 20 of its 28 bytes");
  // A required header that never came (a plain TCP health check).
  const none = new ProxyHeaderDecoder();
  const e3 = assertThrows(() => none.end(), TruncatedFrameError);
  assertEquals(e3.received, 0);
  assertStringIncludes(e3.message, "ended before it");
  // A partial signature when the header is required.
  const required = new ProxyHeaderDecoder();
  required.push(SIGNATURE.subarray(0, 4));
  assertEquals(
    assertThrows(() => required.end(), TruncatedFrameError).received,
    4,
  );
});

// ------------------------------------------------------------- required mode

Deno.test("A required header fails at the first byte that no acceptable header can have", () => {
  const rows: Array<
    [string, Uint8Array, number, string, ProxyHeaderDecoderOptions?]
  > = [
    // An HTTP request.
    [
      "http",
      ascii("GET / HTTP/1.1\r\n"),
      0,
      'no PROXY header, as 0x47 ("G") starts neither "PROXY" (v1) nor the v2 signature',
    ],
    // A NUL byte.
    ["nul", new Uint8Array([0, 1]), 0, "0x00 starts neither"],
    // "PROXX".
    [
      "PROXX",
      ascii("PROXX TCP4"),
      4,
      'wrong PROXY v1 prefix, 0x58 ("X") where "PROXY" has "Y"',
    ],
    // Lowercase "proxy".
    ["proxy", ascii("proxy TCP4"), 0, "0x70"],
    // "PR" then a space.
    ["PR ", ascii("PR OXY"), 2, "0x20 where"],
    // The v2 signature with a wrong 5th byte (NUL).
    [
      "sig 4",
      bytes(SIGNATURE.subarray(0, 4), [1]),
      4,
      "wrong PROXY v2 signature, 0x01 where it has 0x00",
    ],
    // The v2 signature with a wrong last byte.
    [
      "sig 11",
      bytes(SIGNATURE.subarray(0, 11), [0x0d]),
      11,
      "wrong PROXY v2 signature, 0x0d where it has 0x0a",
    ],
    // v1 given to a v2-only decoder: says why.
    [
      "v1 to v2",
      ascii("PROXY TCP4"),
      0,
      "it may start a v1 header, which this decoder does not accept",
      { version: "v2" },
    ],
    // v2 given to a v1-only decoder: says why.
    [
      "v2 to v1",
      SIGNATURE,
      0,
      "it may start a v2 header, which this decoder does not accept",
      { version: "v1" },
    ],
    // Neither, to a v1-only decoder.
    ["x to v1", ascii("x"), 0, 'does not start "PROXY"', { version: "v1" }],
    // The v2 version byte, before the length.
    ["v2 version", bytes(SIGNATURE, [0x11]), 12, "version 1, not 2"],
    // The v2 family byte, before the length.
    ["v2 family", bytes(SIGNATURE, [0x21, 0x44]), 13, "byte 0x44"],
    // A v1 bare LF fails at the LF.
    ["v1 LF", ascii("PROXY UNKNOWN\n"), 13, "bare LF"],
  ];
  for (const [name, input, offset, reason, options] of rows) {
    const decoder = new ProxyHeaderDecoder(options);
    for (let i = 0; i < offset; i++) {
      assertEquals(
        decoder.push(input.subarray(i, i + 1)),
        undefined,
        `${name} byte ${i}`,
      );
    }
    const error = assertThrows(
      () => decoder.push(input.subarray(offset, offset + 1)),
      MalformedFrameError,
      undefined,
      name,
    );
    assertEquals(error.offset, offset, name);
    assertStringIncludes(error.reason, reason, name);
    // And in one chunk, the same error.
    assertEquals(malformed(input, options).message, error.message, name);
  }
});

Deno.test("A decoder is done after its result: push and end throw a TypeError", () => {
  const decoder = new ProxyHeaderDecoder();
  assert(decoder.push(ascii("PROXY UNKNOWN\r\n")) !== undefined);
  assertEquals(decoder.bytesRead, 15);
  assertThrows(() => decoder.push(ascii("x")), TypeError, "use a new decoder");
  assertThrows(() => decoder.end(), TypeError);
  const ended = new ProxyHeaderDecoder({ required: false });
  ended.end();
  assertThrows(() => ended.push(ascii("x")), TypeError);
});

// ------------------------------------------------------------------ encoder

Deno.test("encodeProxyHeader writes v1 lines", () => {
  const rows: Array<[Parameters<typeof encodeProxyHeader>[0], string]> = [
    // TCP over IPv4.
    [TCP4, "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"],
    // TCP over IPv6, written canonically.
    [
      { ...TCP6, source: { hostname: "2001:0DB8:0:0:0:0:0:1", port: 1 } },
      "PROXY TCP6 2001:db8::1 2001:db8::2 1 443\r\n",
    ],
    // UNKNOWN.
    [{ transport: "unknown" }, "PROXY UNKNOWN\r\n"],
    // LOCAL has no v1 form: UNKNOWN means the same (use the real addresses).
    [{ ...TCP4, command: "local" }, "PROXY UNKNOWN\r\n"],
    // A decoded header's empty TLVs are fine.
    [
      { ...TCP4, tlvs: { raw: [] } },
      "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n",
    ],
  ];
  for (const [header, line] of rows) {
    assertEquals(
      new TextDecoder().decode(encodeProxyHeader(header, { version: 1 })),
      line,
    );
  }
});

Deno.test("encodeProxyHeader writes v2 headers byte for byte as the spec lays them out", () => {
  const rows: Array<
    [string, Parameters<typeof encodeProxyHeader>[0], Uint8Array]
  > = [
    // TCP over IPv4.
    ["tcp4", TCP4, v2(0x21, 0x11, V4_ADDRESSES)],
    // UDP over IPv6.
    ["udp6", { ...TCP6, transport: "udp6" }, v2(0x21, 0x22, V6_ADDRESSES)],
    // Unix stream, NUL-padded paths.
    ["unix", {
      transport: "unix",
      source: { path: "/a" },
      destination: { path: "/b" },
    }, v2(0x21, 0x31, unixPaths("/a", "/b"))],
    // LOCAL: no addresses even if given.
    ["local", { ...TCP4, command: "local" }, v2(0x20, 0x00, new Uint8Array(0))],
    // UNKNOWN under PROXY.
    ["unknown", { transport: "unknown" }, v2(0x21, 0x00, new Uint8Array(0))],
    // TLVs in HAProxy's order: raw, ALPN, AUTHORITY, UNIQUE_ID, SSL, NETNS.
    [
      "tlvs",
      {
        ...TCP4,
        tlvs: {
          netns: "blue",
          ssl: { tls: true, version: "TLSv1.3", cipher: "C", commonName: "cn" },
          uniqueId: ascii("id"),
          authority: "a.example",
          alpn: "h2",
          raw: [{ type: 0xe1, value: ascii("x") }],
        },
      },
      v2(
        0x21,
        0x11,
        bytes(
          V4_ADDRESSES,
          tlv(0xe1, "x"),
          tlv(0x01, "h2"),
          tlv(0x02, "a.example"),
          tlv(0x05, "id"),
          tlv(
            0x20,
            bytes(
              [1, 0, 0, 0, 0],
              tlv(0x21, "TLSv1.3"),
              tlv(0x22, "cn"),
              tlv(0x23, "C"),
            ),
          ),
          tlv(0x30, "blue"),
        ),
      ),
    ],
  ];
  for (const [name, header, expected] of rows) {
    assertEquals(
      toHex(encodeProxyHeader(header, { version: 2 })),
      toHex(expected),
      name,
    );
  }
  // CRC32C: after the raw TLVs, its sum over the whole header.
  const crc = encodeProxyHeader({ ...TCP4, tlvs: { alpn: "h2" } }, {
    version: 2,
    crc32c: true,
  });
  assertEquals(
    toHex(crc),
    toHex(
      withCrc(
        v2(
          0x21,
          0x11,
          bytes(V4_ADDRESSES, tlv(0x03, new Uint8Array(4)), tlv(0x01, "h2")),
        ),
        31,
      ),
    ),
  );
});

Deno.test("encodeProxyHeader → ProxyHeaderDecoder round-trips every transport and TLV", () => {
  const ssl = {
    tls: true,
    certificateOnConnection: false,
    certificateInSession: true,
    verify: 0xffffffff,
    version: "TLSv1.2",
    commonName: "ñame",
    cipher: "ECDHE-RSA-AES128-GCM-SHA256",
    signatureAlgorithm: "RSA-SHA256",
    keyAlgorithm: "EC256",
    group: "secp256r1",
    signatureScheme: "ecdsa_secp256r1_sha256",
    clientCertificate: new Uint8Array([1, 2, 3]),
    raw: [{ type: 0x2f, value: new Uint8Array([4]) }],
  };
  const headers: Array<[Omit<ProxyHeader, "version">, Array<1 | 2>]> = [
    // TCP over IPv4, both versions.
    [{ command: "proxy", ...TCP4, tlvs: { raw: [] } }, [1, 2]],
    // TCP over IPv6, both versions.
    [{ command: "proxy", ...TCP6, tlvs: { raw: [] } }, [1, 2]],
    // UNKNOWN, both versions.
    [{ command: "proxy", transport: "unknown", tlvs: { raw: [] } }, [1, 2]],
    // UDP over IPv4.
    [{ command: "proxy", ...TCP4, transport: "udp4", tlvs: { raw: [] } }, [2]],
    // UDP over IPv6, mapped addresses.
    [{
      command: "proxy",
      transport: "udp6",
      source: { hostname: "::ffff:10.0.0.1", port: 0 },
      destination: { hostname: "::", port: 65535 },
      tlvs: { raw: [] },
    }, [2]],
    // Unix datagram.
    [{
      command: "proxy",
      transport: "unixpacket",
      source: { path: "/tmp/c" },
      destination: { path: "/tmp/s" },
      tlvs: { raw: [] },
    }, [2]],
    // LOCAL with every TLV.
    [{
      command: "local",
      transport: "unknown",
      tlvs: {
        alpn: "http/1.1",
        authority: "example.com",
        uniqueId: new Uint8Array(128).fill(1),
        ssl,
        netns: "ns",
        raw: [{ type: 0xe0, value: new Uint8Array(300) }, {
          type: 0xff,
          value: new Uint8Array(0),
        }],
      },
    }, [2]],
  ];
  for (const [header, versions] of headers) {
    for (const version of versions) {
      for (const crc32c of version === 2 ? [false, true] : [false]) {
        const encoded = encodeProxyHeader(header, { version, crc32c });
        assertEquals(
          decode(encoded),
          { version, ...header },
          `${header.transport} v${version}`,
        );
      }
    }
  }
});

Deno.test("encodeProxyHeader refuses what it cannot write", () => {
  const v1 = { version: 1 } as const;
  const v2o = { version: 2 } as const;
  const rows: Array<[string, () => unknown, string]> = [
    // TLVs in v1.
    [
      "v1 TLVs",
      () => encodeProxyHeader({ ...TCP4, tlvs: { alpn: "h2" } }, v1),
      "v1 has no TLVs (alpn given): use version 2",
    ],
    // Raw TLVs in v1.
    [
      "v1 raw",
      () =>
        encodeProxyHeader({
          ...TCP4,
          tlvs: { raw: [{ type: 0xe0, value: new Uint8Array() }] },
        }, v1),
      "v1 has no TLVs (raw given)",
    ],
    // UDP in v1.
    [
      "v1 udp",
      () => encodeProxyHeader({ ...TCP4, transport: "udp4" }, v1),
      "not udp4",
    ],
    // Unix in v1.
    [
      "v1 unix",
      () =>
        encodeProxyHeader({
          transport: "unix",
          source: { path: "/a" },
          destination: { path: "/b" },
        }, v1),
      "not unix",
    ],
    // A CRC32C in v1.
    [
      "v1 crc",
      () => encodeProxyHeader(TCP4, { version: 1, crc32c: true }),
      "v1 has no CRC32C",
    ],
    // No source address.
    [
      "no source",
      () => encodeProxyHeader({ transport: "tcp4" }, v2o),
      "without a source { hostname, port }",
    ],
    // A path for an IP transport.
    [
      "path for tcp4",
      () =>
        encodeProxyHeader({
          transport: "tcp4",
          source: { path: "/a" },
          destination: TCP4.destination,
        }, v2o),
      "without a source",
    ],
    // An IPv6 address for tcp4.
    [
      "v6 for tcp4",
      () =>
        encodeProxyHeader(
          { ...TCP4, source: { hostname: "::1", port: 1 } },
          v1,
        ),
      '"::1" in a tcp4 PROXY header: it is not an IPv4 address',
    ],
    // A leading zero in IPv4.
    [
      "leading zero",
      () =>
        encodeProxyHeader({
          ...TCP4,
          source: { hostname: "010.0.0.1", port: 1 },
        }, v2o),
      "not an IPv4 address",
    ],
    // An IPv4 address for tcp6.
    [
      "v4 for tcp6",
      () =>
        encodeProxyHeader({
          ...TCP6,
          destination: { hostname: "1.2.3.4", port: 1 },
        }, v2o),
      "not an IPv6 address",
    ],
    // A host name.
    [
      "host name",
      () =>
        encodeProxyHeader({
          ...TCP4,
          source: { hostname: "localhost", port: 1 },
        }, v1),
      '"localhost"',
    ],
    // Port 65536.
    [
      "port 65536",
      () =>
        encodeProxyHeader({
          ...TCP4,
          source: { hostname: "1.2.3.4", port: 65536 },
        }, v1),
      "port 65536",
    ],
    // A negative port.
    [
      "port -1",
      () =>
        encodeProxyHeader({
          ...TCP4,
          destination: { hostname: "1.2.3.4", port: -1 },
        }, v2o),
      "port -1",
    ],
    // A fractional port.
    [
      "port 1.5",
      () =>
        encodeProxyHeader({
          ...TCP4,
          destination: { hostname: "1.2.3.4", port: 1.5 },
        }, v2o),
      "port 1.5",
    ],
    // A Unix path of 109 bytes.
    [
      "long path",
      () =>
        encodeProxyHeader({
          transport: "unix",
          source: { path: "x".repeat(109) },
          destination: { path: "/b" },
        }, v2o),
      "109 bytes, more than 108",
    ],
    // A unique ID of 129 bytes.
    [
      "unique ID",
      () =>
        encodeProxyHeader(
          { ...TCP4, tlvs: { uniqueId: new Uint8Array(129) } },
          v2o,
        ),
      "129 bytes: at most 128",
    ],
    // A raw TLV of a named type.
    [
      "raw ALPN",
      () =>
        encodeProxyHeader({
          ...TCP4,
          tlvs: { raw: [{ type: 0x01, value: new Uint8Array() }] },
        }, v2o),
      "it has a named field",
    ],
    // A raw TLV type above 255.
    [
      "raw 256",
      () =>
        encodeProxyHeader({
          ...TCP4,
          tlvs: { raw: [{ type: 256, value: new Uint8Array() }] },
        }, v2o),
      "0..255",
    ],
    // A raw SSL sub-TLV of a named type.
    [
      "raw SSL CN",
      () =>
        encodeProxyHeader({
          ...TCP4,
          tlvs: { ssl: { raw: [{ type: 0x22, value: new Uint8Array() }] } },
        }, v2o),
      "SSL sub-TLV of type 34",
    ],
    // A TLV value over 65535 bytes.
    [
      "big TLV",
      () =>
        encodeProxyHeader({
          ...TCP4,
          tlvs: { raw: [{ type: 0xe0, value: new Uint8Array(65536) }] },
        }, v2o),
      "65536 bytes, more than 65535",
    ],
    // A header over 16 + 65535 bytes.
    [
      "big header",
      () =>
        encodeProxyHeader({
          ...TCP4,
          tlvs: { raw: [{ type: 0xe0, value: new Uint8Array(65535) }] },
        }, v2o),
      "its length field holds at most 65535",
    ],
    // An SSL verify that does not fit 32 bits.
    [
      "verify",
      () =>
        encodeProxyHeader({ ...TCP4, tlvs: { ssl: { verify: 2 ** 32 } } }, v2o),
      "SSL verify 4294967296",
    ],
    // Version 3.
    [
      "version 3",
      () => encodeProxyHeader(TCP4, { version: 3 as 2 }),
      "of version 3: use 1 or 2",
    ],
    // An unknown transport.
    [
      "transport",
      () => encodeProxyHeader({ ...TCP4, transport: "sctp" as "tcp4" }, v2o),
      'transport "sctp"',
    ],
  ];
  for (const [name, fn, message] of rows) {
    const error = assertThrows(fn, RangeError, undefined, name);
    assertStringIncludes(error.message, message, name);
  }
});

// ----------------------------------------------------------------- HAProxy

// Captured from HAProxy 2.6.12 (Debian 12) with `mode tcp` backends using
// `send-proxy`, `send-proxy-v2`, a TLS frontend (`alpn h2`, SNI
// example.com, `unique-id-format abc-%ci-%cp`) with `proxy-v2-options
// ssl,cert-sig,cert-key,ssl-cipher,authority,crc32c,unique-id`, and a
// health check with `proxy-v2-options crc32c`; each followed by the
// client's "HELLO\n" where one was sent.
const HAPROXY: Array<
  [string, string, Omit<ProxyHeader, "version">, crc32c?: boolean]
> = [
  [
    "send-proxy, IPv4 client",
    "50524f58592054435034203132372e302e302e31203132372e302e302e312034333230302035373334330d0a48454c4c4f0a",
    {
      command: "proxy",
      transport: "tcp4",
      source: { hostname: "127.0.0.1", port: 43200 },
      destination: { hostname: "127.0.0.1", port: 57343 },
      tlvs: { raw: [] },
    },
  ],
  [
    "send-proxy, IPv6 client",
    "50524f58592054435036203a3a31203a3a312033343131342035373334330d0a48454c4c4f0a",
    {
      command: "proxy",
      transport: "tcp6",
      source: { hostname: "::1", port: 34114 },
      destination: { hostname: "::1", port: 57343 },
      tlvs: { raw: [] },
    },
  ],
  [
    "send-proxy-v2, IPv4 client",
    "0d0a0d0a000d0a515549540a2111000c7f0000017f000001950abdbd48454c4c4f0a",
    {
      command: "proxy",
      transport: "tcp4",
      source: { hostname: "127.0.0.1", port: 38154 },
      destination: { hostname: "127.0.0.1", port: 48573 },
      tlvs: { raw: [] },
    },
  ],
  [
    "send-proxy-v2, IPv6 client",
    "0d0a0d0a000d0a515549540a21210024000000000000000000000000000000010000000000000000000000000000000190c2bdbd48454c4c4f0a",
    {
      command: "proxy",
      transport: "tcp6",
      source: { hostname: "::1", port: 37058 },
      destination: { hostname: "::1", port: 48573 },
      tlvs: { raw: [] },
    },
  ],
  [
    "send-proxy-v2 with TLS, ALPN, authority, unique ID and CRC32C",
    "0d0a0d0a000d0a515549540a2111007e7f0000017f000001a9989c1503000418055bbb010002683202000b6578616d706c652e636f6d0500136162632d3132372e302e302e312d343334313620003f0100000000210007544c5376312e332500075253413230343824000a5253412d534841323536230016544c535f4145535f3235365f47434d5f53484133383448454c4c4f0a",
    {
      command: "proxy",
      transport: "tcp4",
      source: { hostname: "127.0.0.1", port: 43416 },
      destination: { hostname: "127.0.0.1", port: 39957 },
      tlvs: {
        alpn: "h2",
        authority: "example.com",
        uniqueId: ascii("abc-127.0.0.1-43416"),
        ssl: {
          tls: true,
          certificateOnConnection: false,
          certificateInSession: false,
          verify: 0,
          version: "TLSv1.3",
          keyAlgorithm: "RSA2048",
          signatureAlgorithm: "RSA-SHA256",
          cipher: "TLS_AES_256_GCM_SHA384",
          raw: [],
        },
        raw: [],
      },
    },
    true,
  ],
  [
    "health check, LOCAL with CRC32C",
    "0d0a0d0a000d0a515549540a20000007030004a9b87e8f",
    { command: "local", transport: "unknown", tlvs: { raw: [] } },
    true,
  ],
];

Deno.test("HAProxy's headers decode, and encode back to the same bytes", () => {
  for (const [name, hex, expected, crc32c = false] of HAPROXY) {
    const input = fromHex(hex);
    const end = hex.endsWith("48454c4c4f0a") ? input.length - 6 : input.length;
    const result = new ProxyHeaderDecoder().push(input);
    const version = input[0] === 0x50 ? 1 : 2;
    assertEquals(result?.header, { version, ...expected }, name);
    assertEquals(result?.rest, input.subarray(end), name);
    const again = encodeProxyHeader(result!.header!, { version, crc32c });
    assertEquals(toHex(again), toHex(input.subarray(0, end)), name);
  }
});

/** Reads from `conn` until the decoder has the header and `want` more bytes. */
async function readHeader(
  conn: Deno.Conn,
  want: number,
): Promise<{ header: ProxyHeader | null; raw: Uint8Array; after: Uint8Array }> {
  const decoder = new ProxyHeaderDecoder();
  const chunks: Uint8Array[] = [];
  let result: Result | undefined;
  const buffer = new Uint8Array(4096);
  while (result === undefined) {
    const n = await conn.read(buffer);
    if (n === null) fail("EOF before the PROXY header");
    const chunk = buffer.slice(0, n);
    chunks.push(chunk);
    result = decoder.push(chunk);
  }
  let after = result.rest;
  while (after.length < want) {
    const n = await conn.read(buffer);
    if (n === null) break;
    after = bytes(after, buffer.subarray(0, n));
  }
  const raw = bytes(...chunks);
  return {
    header: result.header,
    raw: raw.subarray(0, raw.length - result.rest.length),
    after,
  };
}

haproxyTest(
  "A live HAProxy's send-proxy and send-proxy-v2 headers decode to the client's address, byte for byte as we encode them",
  async () => {
    using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const frontends = { v1: freePort(), v2: freePort() };
    const dir = await Deno.makeTempDir({ prefix: "sockit_haproxy_" });
    const config = `${dir}/haproxy.cfg`;
    await Deno.writeTextFile(
      config,
      [
        "defaults",
        "  mode tcp",
        "  timeout connect 5s",
        "  timeout client 10s",
        "  timeout server 10s",
        `frontend v1`,
        `  bind 127.0.0.1:${frontends.v1}`,
        "  default_backend v1",
        "backend v1",
        `  server s 127.0.0.1:${server.addr.port} send-proxy`,
        "frontend v2",
        `  bind 127.0.0.1:${frontends.v2}`,
        "  default_backend v2",
        "backend v2",
        `  server s 127.0.0.1:${server.addr.port} send-proxy-v2 proxy-v2-options crc32c`,
        "",
      ].join("\n"),
    );
    // Master-worker mode (-W): the master says "Loading success." once
    // the worker runs with its listeners bound.
    const child = new Deno.Command("haproxy", {
      args: ["-W", "-db", "-f", config],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log = new Lines(child.stderr);
    try {
      await log.waitFor(/Loading success\./, 10_000);
      for (const version of [1, 2] as const) {
        const port = version === 1 ? frontends.v1 : frontends.v2;
        using client = await Deno.connect({ hostname: "127.0.0.1", port });
        await client.write(ascii("HELLO\n"));
        using conn = await server.accept();
        const { header, raw, after } = await readHeader(conn, 6);
        const expected = {
          transport: "tcp4",
          source: { hostname: "127.0.0.1", port: client.localAddr.port },
          destination: { hostname: "127.0.0.1", port },
        } as const;
        assertEquals(header, {
          version,
          command: "proxy",
          ...expected,
          tlvs: { raw: [] },
        });
        assertEquals(after, ascii("HELLO\n"));
        assertEquals(
          toHex(raw),
          toHex(
            encodeProxyHeader(expected, { version, crc32c: version === 2 }),
          ),
        );
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await log.done;
      await Deno.remove(dir, { recursive: true });
    }
  },
);
