// Tests of `framing/byte_order.ts`: HOST_BYTE_ORDER and the C-style
// host/network conversions, against typed arrays and against python3's
// socket module and sys.byteorder (a real peer). Reading and writing numbers
// in bytes is struct's job: see struct_test.ts and
// struct_differential_test.ts.
import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
  fail,
} from "../_utils.ts";
import {
  type ByteOrder,
  HOST_BYTE_ORDER,
  htonl,
  htons,
  ntohl,
  ntohs,
} from "../../framing/mod.ts";

/** Passes a value of the wrong type, as untyped JavaScript callers can. */
function untyped(value: unknown): never {
  return value as never;
}

// ---------------------------------------------------------------------------
// Host byte order and htons() & co.

/** The host byte order, found independently of the module under test. */
const EXPECTED_HOST_ORDER: ByteOrder =
  new DataView(new Uint32Array([0x11223344]).buffer).getUint8(0) === 0x44
    ? "little"
    : "big";

Deno.test("HOST_BYTE_ORDER is the byte order typed arrays use on this host", () => {
  assertStrictEquals(HOST_BYTE_ORDER, EXPECTED_HOST_ORDER);
});

Deno.test("htons() and ntohs() swap the two bytes on a little-endian host and are the identity on a big-endian one", () => {
  const little = HOST_BYTE_ORDER === "little";
  const rows: [number, number][] = [
    [0x1234, 0x3412], // distinct bytes
    [0, 0], // zero
    [1, 0x0100], // one
    [0x00ff, 0xff00], // low byte only
    [0xff00, 0x00ff], // high byte only
    [0xffff, 0xffff], // max
  ];
  for (const [value, swapped] of rows) {
    const expected = little ? swapped : value;
    assertStrictEquals(htons(value), expected, `htons(${value})`);
    assertStrictEquals(ntohs(value), expected, `ntohs(${value})`);
    assertStrictEquals(ntohs(htons(value)), value);
    // htons(x) is x's network-order bytes read back as a host-order uint16.
    const network = new Uint8Array(2);
    new DataView(network.buffer).setUint16(0, value); // big-endian
    assertStrictEquals(htons(value), new Uint16Array(network.buffer)[0]);
  }
});

Deno.test("htonl() and ntohl() swap the four bytes on a little-endian host, return an unsigned result, and are the identity on a big-endian one", () => {
  const little = HOST_BYTE_ORDER === "little";
  const rows: [number, number][] = [
    [1, 0x01000000], // one
    [0x12345678, 0x78563412], // distinct bytes
    [0, 0], // zero
    [0xff, 0xff000000], // result has the top bit set: must stay unsigned
    [0x80000000, 0x80], // input has the top bit set
    [0xffffffff, 0xffffffff], // max
  ];
  for (const [value, swapped] of rows) {
    const expected = little ? swapped : value;
    assertStrictEquals(htonl(value), expected, `htonl(${value})`);
    assertStrictEquals(ntohl(value), expected, `ntohl(${value})`);
    assertStrictEquals(ntohl(htonl(value)), value);
    assert(htonl(value) >= 0, "the result is unsigned");
    const network = new Uint8Array(4);
    new DataView(network.buffer).setUint32(0, value); // big-endian
    assertStrictEquals(htonl(value), new Uint32Array(network.buffer)[0]);
  }
});

Deno.test("htons(), ntohs(), htonl() and ntohl() reject values outside their range", () => {
  const rows: [(value: number) => number, string, number, string][] = [
    [htons, "htons", 65536, "0..65535"], // 16-bit max + 1
    [ntohs, "ntohs", -1, "0..65535"], // negative
    [htons, "htons", 1.5, "0..65535"], // fractional
    [htonl, "htonl", 2 ** 32, "0..4294967295"], // 32-bit max + 1
    [ntohl, "ntohl", -1, "0..4294967295"], // negative
    [htonl, "htonl", NaN, "0..4294967295"], // not a number at all
  ];
  for (const [fn, name, value, range] of rows) {
    const error = assertThrows(() => fn(value), RangeError);
    assertEquals(
      error.message,
      `Cannot convert ${value} with ${name}(): the value must be an integer in ${range}`,
    );
  }
  assertThrows(() => htons(untyped("1")), TypeError, "must be a number");
  assertThrows(() => htonl(untyped(1n)), TypeError, "must be a number");
});

// ---------------------------------------------------------------------------
// Cross-check against Python's socket module, a real peer

/** A seeded xorshift32 generator of unsigned 32-bit integers. */
function xorshift32(seed: number): () => number {
  let state = seed | 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

interface PythonRequest {
  htons: number[];
  htonl: number[];
  ntohs: number[];
  ntohl: number[];
}

interface PythonReply extends PythonRequest {
  byteorder: string;
}

const PYTHON_PEER = `
import json, socket, sys

request = json.load(sys.stdin)
reply = {
    "htons": [socket.htons(n) for n in request["htons"]],
    "htonl": [socket.htonl(n) for n in request["htonl"]],
    "ntohs": [socket.ntohs(n) for n in request["ntohs"]],
    "ntohl": [socket.ntohl(n) for n in request["ntohl"]],
    "byteorder": sys.byteorder,
}
json.dump(reply, sys.stdout)
`;

/** Runs python3 once, sends it the request on stdin and returns its reply. */
async function askPython(request: PythonRequest): Promise<PythonReply> {
  const child = new Deno.Command("python3", {
    args: ["-c", PYTHON_PEER],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let output: Deno.CommandOutput;
  try {
    await writer.write(new TextEncoder().encode(JSON.stringify(request)));
    await writer.close();
  } finally {
    output = await child.output();
  }
  if (!output.success) {
    fail(
      `python3 exited with code ${output.code}: ${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)) as PythonReply;
}

Deno.test("htons()/htonl()/ntohs()/ntohl() match python3's socket module and HOST_BYTE_ORDER its sys.byteorder", async () => {
  const random = xorshift32(20240611);
  const shorts = [0, 1, 0x1234, 0xff, 0xff00, 0xffff];
  while (shorts.length < 300) shorts.push(random() & 0xffff);
  const longs = [0, 1, 0x12345678, 0xff, 0x80000000, 0xffffffff];
  while (longs.length < 300) longs.push(random());

  const reply = await askPython({
    htons: shorts,
    htonl: longs,
    ntohs: shorts,
    ntohl: longs,
  });

  assertStrictEquals(reply.byteorder, HOST_BYTE_ORDER, "sys.byteorder");
  assertEquals(shorts.map(htons), reply.htons, "htons vs socket.htons");
  assertEquals(shorts.map(ntohs), reply.ntohs, "ntohs vs socket.ntohs");
  assertEquals(longs.map(htonl), reply.htonl, "htonl vs socket.htonl");
  assertEquals(longs.map(ntohl), reply.ntohl, "ntohl vs socket.ntohl");
});
