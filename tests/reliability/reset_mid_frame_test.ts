/**
 * A peer that resets mid-frame: python3 sends part of a frame, then closes
 * with `SO_LINGER` 0, so the kernel sends RST instead of FIN. The framed
 * handler must get a typed error that names the truncated frame —
 * `TruncatedFrameError` (how much of which frame arrived, where it
 * started) with the `ConnectionReset` as its `cause` — and never the
 * partial frame as if it were whole. A reset between frames cuts nothing
 * off and stays a plain `ConnectionReset`. Meanwhile other framed clients
 * are untouched, and the server keeps accepting.
 *
 * @module
 */
import {
  type FrameCodec,
  lengthPrefixed,
  lines,
  TruncatedFrameError,
} from "../../framing/mod.ts";
import { connect, type Connection, listen } from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStringIncludes,
  Prng,
  testSeed,
} from "../_utils.ts";
import { within } from "../tcp/_helpers.ts";
import { Python } from "../tcp/_python.ts";

const SEED = testSeed("SOCKIT_TEST_SEED");
const GOOD_CLIENTS = 4;
const ROUND_TRIPS = 300;

/** What a framed echo handler saw on one connection. */
interface Seen {
  frames: string[];
  error?: unknown;
  /** Settles when the handler has finished. */
  done: Promise<void>;
}

/**
 * A framed echo server that records, per client port, the frames it got
 * and the error that ended the connection (which it rethrows, so that
 * `onError` sees it too).
 */
function framedEcho(codec: FrameCodec) {
  const seen = new Map<number, Seen>();
  const reported: unknown[] = [];
  const server = listen({ port: 0 }, async (conn: Connection) => {
    const finished = Promise.withResolvers<void>();
    const record: Seen = { frames: [], done: finished.promise };
    seen.set((conn.remoteAddr as { port: number }).port, record);
    const framed = conn.framed(codec);
    try {
      for await (const frame of framed) {
        record.frames.push(new TextDecoder().decode(frame));
        await framed.send(frame);
      }
    } catch (error) {
      record.error = error;
      throw error;
    } finally {
      finished.resolve();
    }
  }, { onError: (error) => reported.push(error) });
  return { server, seen, reported };
}

/**
 * For each case: connect, send `whole` and read its echo back (so the
 * server has surely decoded it), send `cut`, then reset (SO_LINGER 0).
 * Prints each connection's local port.
 */
const RESETTER = `
import binascii
port = int(sys.argv[1])
for case in sys.argv[2:]:
    whole, echo_len, cut = case.split(",")
    whole, cut, echo_len = binascii.unhexlify(whole), binascii.unhexlify(cut), int(echo_len)
    s = socket.create_connection(("127.0.0.1", port))
    print(s.getsockname()[1])
    s.sendall(whole)
    got = b""
    while len(got) < echo_len:
        chunk = s.recv(65536)
        assert chunk, "the server closed before echoing"
        got += chunk
    assert got == whole, (got, whole)
    s.sendall(cut)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
print("done")
`;

function hex(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string"
    ? new TextEncoder().encode(bytes)
    : bytes;
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

function u32Frame(payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** A client exchanging random frames with the server, checking each echo. */
async function goodClient(port: number, codec: FrameCodec, seed: number) {
  const prng = new Prng(seed);
  await using conn = await connect({ port });
  const framed = conn.framed(codec);
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const payload = `${seed}:${i}:${"x".repeat(prng.int(0, 2000))}`;
    await framed.send(payload);
    const echo = await framed.receive();
    assert(echo !== null, `seed ${seed}: EOF at round trip ${i}`);
    assertEquals(new TextDecoder().decode(echo), payload, `seed ${SEED}`);
  }
}

interface ResetCase {
  /** What the case shows. */
  name: string;
  /** A whole frame sent and echoed first. */
  whole: Uint8Array;
  /** The bytes sent just before the reset. */
  cut: Uint8Array;
  /** The frames the handler must have received. */
  frames: string[];
  /** The expected TruncatedFrameError's facts, or null for a plain reset. */
  truncated:
    | { expected: number | undefined; received: number; offset: number }
    | null;
}

async function runCases(codec: FrameCodec, cases: ResetCase[]): Promise<void> {
  const { server, seen, reported } = framedEcho(codec);
  try {
    const port = server.addr.port;
    const good = Array.from(
      { length: GOOD_CLIENTS },
      (_, i) => goodClient(port, codec, (SEED + i) >>> 0),
    );
    await using python = Python.spawn(RESETTER, [
      port,
      ...cases.map((c) => `${hex(c.whole)},${c.whole.length},${hex(c.cut)}`),
    ]);
    const ports: number[] = [];
    for (let i = 0; i < cases.length; i++) {
      ports.push(Number(await python.line()));
    }
    assertEquals(await python.line(), "done");
    await python.success();
    await Promise.all(good); // untouched by the resets around them

    // The server still accepts, and serves.
    await goodClient(port, codec, SEED ^ 0x5eed);

    for (const [i, c] of cases.entries()) {
      // The handler had echoed the whole frame, so it exists; it learns of
      // the reset when its read fails.
      const record = seen.get(ports[i]!);
      assert(
        record !== undefined,
        `${c.name}: the server never saw the client`,
      );
      await within(record.done, 5000, `${c.name}: the handler's end`);
      assertEquals(record.frames, c.frames, `${c.name}: frames handed out`);
      const error = record.error;
      if (c.truncated === null) {
        assertInstanceOf(error, Deno.errors.ConnectionReset, c.name);
        continue;
      }
      assert(
        error instanceof TruncatedFrameError,
        `${c.name}: expected a TruncatedFrameError naming the cut frame, got ${
          error instanceof Error ? `${error.name}: ${error.message}` : error
        }`,
      );
      assertEquals(
        {
          expected: error.expected,
          received: error.received,
          offset: error.offset,
        },
        c.truncated,
        c.name,
      );
      assertInstanceOf(error.cause, Deno.errors.ConnectionReset, c.name);
      assertStringIncludes(error.message, "reset", c.name);
    }
    assertEquals(
      reported.length,
      cases.length,
      "onError gets each reset connection's error, and nothing else",
    );
  } finally {
    await server.shutdown();
  }
}

Deno.test("a peer that resets mid-frame gives the length-prefix handler a TruncatedFrameError; others are untouched", async () => {
  await runCases(lengthPrefixed({ header: "u32be" }), [
    {
      // 400 of a 1000-byte payload, then RST
      name: "reset in the payload",
      whole: u32Frame("abc"),
      cut: new Uint8Array([...u32Frame("x".repeat(1000)).subarray(0, 404)]),
      frames: ["abc"],
      truncated: { expected: 1004, received: 404, offset: 7 },
    },
    {
      // 2 of the 4 header bytes, then RST
      name: "reset in the header",
      whole: u32Frame("hello"),
      cut: new Uint8Array([0, 0]),
      frames: ["hello"],
      truncated: { expected: undefined, received: 2, offset: 9 },
    },
    {
      // nothing of a next frame: nothing was cut off
      name: "reset between frames",
      whole: u32Frame("whole"),
      cut: new Uint8Array(),
      frames: ["whole"],
      truncated: null,
    },
  ]);
});

Deno.test("a peer that resets mid-line gives the lines handler a TruncatedFrameError, not the partial line", async () => {
  await runCases(lines(), [
    {
      // lines mode hands out a last line without "\n" at a clean EOF, but
      // a reset is not a clean end: the partial line is cut off
      name: "reset in a line",
      whole: new TextEncoder().encode("one\n"),
      cut: new TextEncoder().encode("partial li"),
      frames: ["one"],
      truncated: { expected: undefined, received: 10, offset: 4 },
    },
  ]);
});
