/**
 * PROXY protocol headers: what reading one costs a new connection. Each
 * iteration decodes {@linkcode PER_ITERATION} headers with a fresh
 * `ProxyHeaderDecoder` each (as a server does per connection), followed by a
 * few bytes of payload, so the time per operation is the cost per
 * connection, to set against connection-setup throughput (the target: under
 * 5% of it). A plain copy of the same bytes is the baseline; encoding is
 * measured too, for clients that send a header.
 *
 * Run: `deno bench bench/proxy_protocol_bench.ts`, or
 * `deno run --allow-run --allow-read bench/table.ts bench/proxy_protocol_bench.ts`
 * for ns per header and headers/s.
 *
 * @module
 */
import { encodeProxyHeader, ProxyHeaderDecoder } from "../framing/mod.ts";
import type { BenchUnits } from "./table.ts";

/** Headers per iteration, by `group/name`, for `bench/table.ts`. */
export const UNITS: Record<string, BenchUnits> = {};

/** Headers decoded (or encoded) per iteration. */
export const PER_ITERATION = 1000;

const PAYLOAD = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

function withPayload(header: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + PAYLOAD.length);
  out.set(header, 0);
  out.set(PAYLOAD, header.length);
  return out;
}

const TCP4 = {
  transport: "tcp4",
  source: { hostname: "192.0.2.1", port: 56324 },
  destination: { hostname: "198.51.100.7", port: 443 },
} as const;
const TCP6 = {
  transport: "tcp6",
  source: { hostname: "2001:db8:85a3::8a2e:370:7334", port: 40000 },
  destination: { hostname: "2001:db8::2", port: 443 },
} as const;
/** What HAProxy sends with TLS details (as its `proxy-v2-options` allow). */
const TLS = {
  ...TCP4,
  tlvs: {
    alpn: "h2",
    authority: "example.com",
    uniqueId: new TextEncoder().encode("abc-192.0.2.1-56324"),
    ssl: {
      tls: true,
      version: "TLSv1.3",
      keyAlgorithm: "RSA2048",
      signatureAlgorithm: "RSA-SHA256",
      cipher: "TLS_AES_256_GCM_SHA384",
    },
  },
} as const;

const CASES: Array<[string, Uint8Array]> = [
  ["v1 TCP4", withPayload(encodeProxyHeader(TCP4, { version: 1 }))],
  ["v1 TCP6", withPayload(encodeProxyHeader(TCP6, { version: 1 }))],
  ["v2 TCP4", withPayload(encodeProxyHeader(TCP4, { version: 2 }))],
  ["v2 TCP6", withPayload(encodeProxyHeader(TCP6, { version: 2 }))],
  [
    "v2 TCP4, TLS TLVs and CRC32C",
    withPayload(encodeProxyHeader(TLS, { version: 2, crc32c: true })),
  ],
];

let sink = 0;

function add(
  group: string,
  name: string,
  baseline: boolean,
  fn: () => number,
): void {
  UNITS[`${group}/${name}`] = { ops: PER_ITERATION };
  Deno.bench({
    group,
    name,
    baseline,
    warmup: 50,
    n: 400,
    fn() {
      sink += fn();
    },
  });
}

const DECODE = "decode one header per connection";
add(DECODE, "copy the same bytes (floor)", true, () => {
  let n = 0;
  const input = CASES[0]![1];
  for (let i = 0; i < PER_ITERATION; i++) n += input.slice().length;
  return n;
});
for (const [name, input] of CASES) {
  add(DECODE, name, false, () => {
    let n = 0;
    for (let i = 0; i < PER_ITERATION; i++) {
      const result = new ProxyHeaderDecoder().push(input);
      if (result === undefined || result.header === null) {
        throw new Error(`${name}: no header`);
      }
      n += result.rest.length;
    }
    return n;
  });
}
for (const [name, input] of [CASES[0]!, CASES[2]!]) {
  add(DECODE, `${name}, split in two reads`, false, () => {
    let n = 0;
    const first = input.subarray(0, 7);
    const second = input.subarray(7);
    for (let i = 0; i < PER_ITERATION; i++) {
      const decoder = new ProxyHeaderDecoder();
      decoder.push(first);
      n += decoder.push(second)!.rest.length;
    }
    return n;
  });
}

const ENCODE = "encode one header";
add(ENCODE, "v1 TCP4", true, () => {
  let n = 0;
  for (let i = 0; i < PER_ITERATION; i++) {
    n += encodeProxyHeader(TCP4, { version: 1 }).length;
  }
  return n;
});
add(ENCODE, "v2 TCP4", false, () => {
  let n = 0;
  for (let i = 0; i < PER_ITERATION; i++) {
    n += encodeProxyHeader(TCP4, { version: 2 }).length;
  }
  return n;
});
add(ENCODE, "v2 TCP4, TLS TLVs and CRC32C", false, () => {
  let n = 0;
  for (let i = 0; i < PER_ITERATION; i++) {
    n += encodeProxyHeader(TLS, { version: 2, crc32c: true }).length;
  }
  return n;
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
