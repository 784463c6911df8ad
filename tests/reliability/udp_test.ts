/**
 * UDP request/reply under a storm of bad datagrams, seeded: while
 * `request()` waits, the peer sends malformed headers of every kind
 * (short, wrong magic, wrong version, unknown kind, a request instead of a
 * reply, try 0, a try never sent, random bytes, datagrams over the
 * socket's `maxDatagramSize`), replies to other requests (stale), and
 * strangers — other sockets and a python3 process — send perfect replies
 * with the right id (wrong peer). None of them may be taken for the
 * answer, and each is counted exactly as an oracle written from the
 * documented header layout says. On the other side, `serveRequests()`
 * ignores and counts exactly the junk among real requests, and its
 * handler sees only the real ones.
 *
 * Replay with `SOCKIT_TEST_SEED=<seed>`.
 *
 * @module
 */
import { pack, unpack } from "../../framing/struct.ts";
import {
  bind,
  type DatagramSocket,
  request,
  serveRequests,
} from "../../udp/mod.ts";
import { assertEquals, Prng, testSeed } from "../_utils.ts";
import { Python } from "../tcp/_python.ts";

const SEED = testSeed("SOCKIT_TEST_SEED");
const ROUNDS = 40;
const MAX_JUNK = 40;
const MAX_DATAGRAM = 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function portOf(socket: DatagramSocket<"udp">): number {
  return socket.addr.port;
}

/** A datagram with the documented header: `!HBBIH` then the payload. */
function message(
  fields: {
    magic?: number;
    version?: number;
    kind: number;
    id: number;
    attempt: number;
  },
  payload: Uint8Array | string = "",
): Uint8Array {
  const header = pack(
    "!HBBIH",
    fields.magic ?? 0x534b,
    fields.version ?? 1,
    fields.kind,
    fields.id >>> 0,
    fields.attempt,
  );
  const body = typeof payload === "string" ? encoder.encode(payload) : payload;
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

type Verdict = "malformed" | "stale" | "answer";

/**
 * The oracle: how a requester waiting for request `id` on try `attempt`
 * must treat a datagram from its peer, from the documented rules.
 */
function classify(data: Uint8Array, id: number, attempt: number): Verdict {
  if (data.length > MAX_DATAGRAM || data.length < 10) return "malformed";
  const [magic, version, kind, rid, tryNo] = unpack(
    "!HBBIH",
    data.subarray(0, 10),
  );
  if (
    magic !== 0x534b || version !== 1 || (kind !== 1 && kind !== 2) ||
    tryNo === 0
  ) {
    return "malformed";
  }
  if (kind !== 2) return "malformed";
  if (rid !== id) return "stale";
  return tryNo > attempt ? "malformed" : "answer";
}

/** One junk datagram from the peer that is not an answer to `id`. */
function junk(prng: Prng, id: number, attempt: number): Uint8Array {
  for (;;) {
    const payload = prng.bytes(prng.int(0, 40));
    const candidates: Uint8Array[] = [
      prng.bytes(prng.int(0, 9)), // shorter than the header
      message({ magic: prng.int(0, 0xffff), kind: 2, id, attempt }), // wrong magic (almost always)
      message({ version: prng.int(2, 255), kind: 2, id, attempt }), // unknown version
      message({ kind: prng.pick([0, 3, 4, 255]), id, attempt }), // unknown kind
      message({ kind: 1, id, attempt }, payload), // a request, not a reply
      message({ kind: 2, id, attempt: 0 }, payload), // try 0
      message({ kind: 2, id, attempt: attempt + prng.int(1, 100) }, payload), // a try never sent
      message(
        { kind: 2, id: (id + prng.int(1, 1000)) >>> 0, attempt: 1 },
        payload,
      ), // stale
      prng.bytes(prng.int(10, 60)), // random bytes
      message({ kind: 2, id, attempt }, prng.bytes(MAX_DATAGRAM)), // too big: dropped
    ];
    const data = prng.pick(candidates);
    if (classify(data, id, attempt) !== "answer") return data;
  }
}

/**
 * A python3 stranger: for each `PORT ID TRY` line, sends a perfect reply
 * with that id from its own socket, then prints `sent`.
 */
const STRANGER = `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
for line in sys.stdin:
    port, rid, try_no = map(int, line.split())
    s.sendto(struct.pack("!HBBIH", 0x534B, 1, 2, rid, try_no) + b"impostor", ("127.0.0.1", port))
    print("sent")
`;

Deno.test("request() under seeded junk, stale replies and impostors takes only the real answer and counts the rest exactly", async () => {
  const prng = new Prng(SEED);
  using peer = bind();
  using client = bind({ port: 0 }, { maxDatagramSize: MAX_DATAGRAM });
  const strangers = [bind(), bind()];
  await using python = Python.spawn(STRANGER);
  await python.port();
  const totals = { malformed: 0, wrongPeer: 0, stale: 0 };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const asking = request(client, `question ${round}`, peer.addr, {
        timeout: 5000,
        retries: 0,
      });
      const { data, from } = await peer.receive({ timeout: 5000 });
      const [, , kind, id, attempt] = unpack("!HBBIH", data.subarray(0, 10));
      assertEquals([kind, decoder.decode(data.subarray(10))], [
        1,
        `question ${round}`,
      ]);
      const expected = { malformed: 0, wrongPeer: 0, stale: 0 };
      const count = prng.int(0, MAX_JUNK);
      for (let i = 0; i < count; i++) {
        const who = prng.int(0, 9);
        if (who === 0) {
          // an impostor's perfect reply, from another socket
          await prng.pick(strangers).send(
            message({ kind: 2, id, attempt }, "impostor"),
            from,
          );
          expected.wrongPeer++;
        } else if (who === 1 && i % 8 === 0) {
          await python.send(`${portOf(client)} ${id} ${attempt}`);
          assertEquals(await python.line(), "sent");
          expected.wrongPeer++;
        } else {
          const bad = junk(prng, id, attempt);
          const verdict = classify(bad, id, attempt);
          await peer.send(bad, from);
          expected[verdict as "malformed" | "stale"]++;
        }
      }
      await peer.send(
        message({ kind: 2, id, attempt }, `answer ${round}`),
        from,
      );
      const reply = await asking;
      assertEquals(
        decoder.decode(reply.data),
        `answer ${round}`,
        `seed ${SEED}, round ${round}`,
      );
      assertEquals(reply.ignored, expected, `seed ${SEED}, round ${round}`);
      totals.malformed += expected.malformed;
      totals.wrongPeer += expected.wrongPeer;
      totals.stale += expected.stale;
    }
  } finally {
    for (const s of strangers) s.close();
  }
  await python.success();
  console.log(
    `udp: ${ROUNDS} requests answered through ${
      totals.malformed + totals.wrongPeer + totals.stale
    } bad datagrams (ignored and counted: ${totals.malformed} malformed, ` +
      `${totals.wrongPeer} from the wrong peer, ${totals.stale} stale; seed ${SEED})`,
  );
});

Deno.test("serveRequests() ignores and counts exactly the junk among real requests; its handler sees only the real ones", async () => {
  const prng = new Prng(SEED ^ 0x3c3c);
  using serverSocket = bind();
  const seen: string[] = [];
  await using server = serveRequests(serverSocket, (data) => {
    seen.push(decoder.decode(data));
    return data.toReversed();
  });
  using client = bind();
  using junkSender = bind();
  let junkCount = 0;
  const asked: string[] = [];
  for (let round = 0; round < 30; round++) {
    const count = prng.int(0, 20);
    for (let i = 0; i < count; i++) {
      const id = prng.u32();
      const candidates: Uint8Array[] = [
        prng.bytes(prng.int(0, 9)), // short
        prng.bytes(prng.int(10, 80)), // random
        message({ kind: 2, id, attempt: 1 }, "a reply, not a request"),
        message({ kind: 1, id, attempt: 0 }, "try 0"),
        message({ version: 9, kind: 1, id, attempt: 1 }, "version 9"),
        message({ magic: 0x4b53, kind: 1, id, attempt: 1 }, "wrong magic"),
      ];
      let bad = prng.pick(candidates);
      // Random bytes that happen to be a valid request are not junk.
      while (bad.length >= 10 && classifyRequest(bad)) bad = prng.bytes(9);
      await junkSender.send(bad, serverSocket.addr);
      junkCount++;
    }
    const question = `request ${round}`;
    asked.push(question);
    const reply = await request(client, question, serverSocket.addr, {
      timeout: 2000,
      retries: 2,
    });
    assertEquals(decoder.decode(reply.data), [...question].reverse().join(""));
  }
  // Every junk datagram was sent before the last request, which has been
  // answered: the server has seen them all.
  assertEquals(seen, asked, "the handler saw only the real requests");
  assertEquals(server.requests, asked.length);
  assertEquals(server.malformed, junkCount, `seed ${SEED}`);
  assertEquals(server.errors, 0);
});

/** Whether `data` is a valid request by the documented rules. */
function classifyRequest(data: Uint8Array): boolean {
  const [magic, version, kind, , tryNo] = unpack(
    "!HBBIH",
    data.subarray(0, 10),
  );
  return magic === 0x534b && version === 1 && kind === 1 && tryNo !== 0;
}
