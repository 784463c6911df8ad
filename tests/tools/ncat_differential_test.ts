/**
 * The same scenarios run with the real `ncat` (Debian's package, Nmap's
 * netcat) and with sockit's `cat`, in both roles, and what can be seen
 * compared: the bytes each way, half-close, `-k` serving several clients,
 * `-u`, `-z` exit codes, `-C`, `-w` timing, `--allow`/`--deny`,
 * `--broker`, `--chat` and `--send-only`. Where `cat` differs on purpose,
 * the test says so (and `cat --help` and docs/tools.md say why). Loopback
 * only.
 *
 * ncat cannot listen on port 0 and say which port it got: it is given a
 * port that was free a moment ago.
 *
 * @module
 */
import { assert, assertEquals, assertGreaterOrEqual } from "../_utils.ts";
import { closedPort, pattern } from "../tcp/_helpers.ts";
import { Python, unansweredListener } from "../tcp/_python.ts";
import { Peer, type Program } from "./_cat.ts";
import { type PeerProgram, peerTest } from "../_peers.ts";
import { equals } from "../../_internal/std.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PROGRAMS: readonly Program[] = ["cat", "ncat"];

/**
 * A test that needs ncat (and the `more` programs): skipped outside CI
 * without them, saying so; under CI=true it fails instead.
 */
function differential(
  name: string,
  fn: () => Promise<void>,
  more: readonly PeerProgram[] = [],
): void {
  peerTest(name, ["ncat", ...more], fn);
}

/**
 * Starts `program` listening on 127.0.0.1 with `flags` (nc spellings both
 * take); `cat` takes port 0, ncat a port free a moment ago and `-v`, so
 * that it says when it listens.
 */
async function listener(
  program: Program,
  flags: readonly string[],
  input?: string | Uint8Array,
): Promise<{ peer: Peer; port: number }> {
  const port = program === "cat" ? 0 : closedPort();
  const { peer, port: bound } = await Peer.listener(
    program,
    [
      ...(program === "ncat" ? ["-v"] : []),
      "-l",
      ...flags,
      "127.0.0.1",
      String(port),
    ],
    input,
  );
  return { peer, port: program === "cat" ? bound : port };
}

/** Writes all of `bytes` (`write()` may take part of them). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

/**
 * Connects, sends `data`, half-closes and reads to the end; a reset (a
 * refused client whose bytes were never read) counts as the end.
 */
async function talk(port: number, data: string): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let got = "";
  try {
    await writeAll(conn, encoder.encode(data));
    await conn.closeWrite();
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      got += decoder.decode(buffer.subarray(0, n));
    }
  } catch (error) {
    if (
      !(error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.BrokenPipe)
    ) throw error;
  }
  return got;
}

/** Runs `f` for each program at once; the results by program. */
async function both<T>(
  f: (program: Program) => Promise<T>,
): Promise<Record<Program, T>> {
  const [cat, ncat] = await Promise.all(PROGRAMS.map(f));
  return { cat: cat!, ncat: ncat! };
}

// ---------------------------------------------------------------------------
// Bytes and half-close

differential(
  "bytes each way: every pairing of cat and ncat as listener and client",
  async () => {
    const fromListener = pattern(1, 200 * 1024);
    const fromClient = pattern(2, 300 * 1024);
    for (const server of PROGRAMS) {
      await Promise.all(PROGRAMS.map(async (client) => {
        // The client's stdin ends only once it has the listener's bytes:
        // ncat as a listener exits at the client's FIN, even with stdin it
        // has not sent yet (a listener whose stdin ends first is fine: both
        // clients send on after its FIN).
        const { peer: l, port } = await listener(server, [], fromListener);
        await using _l = l;
        await using c = new Peer(client, ["127.0.0.1", String(port)]);
        const written = c.write(fromClient); // stdin first, not awaited
        await c.waitForBytes(fromListener.length);
        await written;
        await c.end();
        const [lr, cr] = await Promise.all([l.finish(), c.finish()]);
        const what = `${server} listening, ${client} connecting`;
        assertEquals(
          [lr.code, cr.code],
          [0, 0],
          `${what}: ${lr.stderr} ${cr.stderr}`,
        );
        // Compared without a diff: one of 300 KiB would not fit in memory.
        assertSameBytes(lr.bytes, fromClient, `${what}: the listener got`);
        assertSameBytes(cr.bytes, fromListener, `${what}: the client got`);
      }));
    }
  },
);

differential(
  "half-close: both send FIN at the end of stdin and read on until the peer closes",
  async () => {
    // As a client: a server that answers only after the client's FIN.
    const asClient = await both(async (program) => {
      await using python = Python.spawn(`
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
print(srv.getsockname()[1])
c, _ = srv.accept()
got = b""
while chunk := c.recv(4096):
    got += chunk
time.sleep(0.1)
c.sendall(b"got %d bytes\\n" % len(got))
c.close()
`);
      const port = await python.port();
      await using peer = new Peer(program, ["127.0.0.1", String(port)], "abc");
      const result = await peer.finish();
      assertEquals((await python.finish()).code, 0);
      return [result.code, result.stdout];
    });
    assertEquals(asClient.cat, [0, "got 3 bytes\n"]);
    assertEquals(asClient.ncat, asClient.cat);
    // As a listener: a client that half-closes first and reads on.
    const asListener = await both(async (program) => {
      const { peer, port } = await listener(program, [], "reply\n");
      await using _peer = peer;
      await using python = Python.spawn(
        `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"question\\n")
s.shutdown(socket.SHUT_WR)
got = b""
while chunk := s.recv(4096):
    got += chunk
print(repr(got))
`,
        [port],
      );
      const heard = await python.line();
      const result = await peer.finish();
      return [heard, result.code, result.stdout];
    });
    assertEquals(asListener.cat, ["b'reply\\n'", 0, "question\n"]);
    assertEquals(asListener.ncat, asListener.cat);
  },
  ["python3"],
);

differential(
  "a listener's stdin that comes after the client's FIN: cat sends it, ncat exits without it (on purpose)",
  async () => {
    const got = await both(async (program) => {
      const { peer, port } = await listener(program, []);
      await using _peer = peer;
      await using python = Python.spawn(
        `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"question\\n")
s.shutdown(socket.SHUT_WR)
got = b""
while chunk := s.recv(4096):
    got += chunk
print(repr(got))
`,
        [port],
      );
      await peer.waitForOutput("question\n");
      if (program === "cat") {
        // cat reads on: the answer typed after the client's FIN goes out.
        await peer.write("late answer\n");
        await peer.end();
      } // ncat ends by itself at the client's FIN, its stdin still open.
      const result = await peer.finish();
      return [await python.line(), result.code];
    });
    assertEquals(got.cat, ["b'late answer\\n'", 0]);
    assertEquals(got.ncat, ["b''", 0]);
  },
  ["python3"],
);

differential("-k: a listener serves one client after another", async () => {
  const got = await both(async (program) => {
    const { peer, port } = await listener(program, ["-k"]);
    await using _peer = peer;
    for (let i = 1; i <= 3; i++) {
      using conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await writeAll(conn, encoder.encode(`client ${i}\n`));
    }
    await peer.waitForOutput("client 3\n");
    return (await peer.stop()).stdout;
  });
  assertEquals(got.cat, "client 1\nclient 2\nclient 3\n");
  assertEquals(got.ncat, got.cat);
});

// ---------------------------------------------------------------------------
// UDP

differential(
  "-u: a listener prints a datagram and answers its sender; a client prints the reply",
  async () => {
    const asListener = await both(async (program) => {
      const { peer, port } = await listener(program, ["-u"]);
      await using _peer = peer;
      const socket = Deno.listenDatagram({
        transport: "udp",
        hostname: "127.0.0.1",
        port: 0,
      });
      try {
        const to: Deno.NetAddr = {
          transport: "udp",
          hostname: "127.0.0.1",
          port,
        };
        await socket.send(encoder.encode("ping\n"), to);
        await peer.waitForOutput("ping\n");
        await peer.write("pong\n");
        const [reply] = await socket.receive();
        return { printed: peer.output, reply: decoder.decode(reply) };
      } finally {
        socket.close();
        await peer.stop();
      }
    });
    assertEquals(asListener.cat.printed, "ping\n");
    assertEquals(asListener.ncat.printed, asListener.cat.printed);
    // Different on purpose: cat sends each line as one datagram without its
    // line end; ncat sends stdin as it reads it.
    assertEquals(asListener.cat.reply, "pong");
    assertEquals(asListener.ncat.reply, "pong\n");

    const asClient = await both(async (program) => {
      const socket = Deno.listenDatagram({
        transport: "udp",
        hostname: "127.0.0.1",
        port: 0,
      });
      const port = (socket.addr as Deno.NetAddr).port;
      try {
        await using peer = new Peer(program, [
          ...(program === "cat" ? ["-w", "0.3"] : []),
          "-u",
          "127.0.0.1",
          String(port),
        ]);
        await peer.write("hello\n");
        const [data, from] = await socket.receive();
        await socket.send(encoder.encode("back\n"), from);
        await peer.waitForOutput("back\n");
        await peer.end();
        const result = await peer.finish();
        return {
          sent: decoder.decode(data),
          code: result.code,
          printed: result.stdout,
        };
      } finally {
        socket.close();
      }
    });
    assertEquals([asClient.cat.code, asClient.cat.printed], [0, "back\n"]);
    assertEquals([asClient.ncat.code, asClient.ncat.printed], [0, "back\n"]);
    // Different on purpose, as above; and ncat ends with stdin, while cat
    // waits for replies until -w (or --idle-timeout) says they are over.
    assertEquals(asClient.cat.sent, "hello");
    assertEquals(asClient.ncat.sent, "hello\n");
  },
);

// ---------------------------------------------------------------------------
// -z, -C, -w

differential(
  "-z: exit 0 for an open port, 1 for a closed one; a port range is cat's (OpenBSD nc's) alone",
  async () => {
    using open = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = closedPort();
    const codes = await both(async (program) => {
      const run = async (port: string) => {
        await using peer = new Peer(program, ["-z", "127.0.0.1", port], "");
        return (await peer.finish()).code;
      };
      return await Promise.all([
        run(String(open.addr.port)),
        run(String(closed)),
        run(`${open.addr.port}-${open.addr.port}`),
      ]);
    });
    assertEquals(codes.cat, [0, 1, 0]);
    // ncat takes no range: "Invalid port number", exit 2.
    assertEquals(codes.ncat, [0, 1, 2]);
  },
);

differential(
  "-C: stdin's LF line ends go out as CRLF, CRLF stays",
  async () => {
    const got = await both(async (program) => {
      using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const receiving = server.accept().then(async (conn) => {
        try {
          return await new Response(conn.readable).text();
        } finally {
          try {
            conn.close();
          } catch { /* closed by the read */ }
        }
      });
      await using peer = new Peer(
        program,
        ["-C", "127.0.0.1", String(server.addr.port)],
        "a\nb\r\n\nc",
      );
      const text = await receiving;
      assertEquals((await peer.finish()).code, 0);
      return text;
    });
    assertEquals(got.cat, "a\r\nb\r\n\r\nc");
    assertEquals(got.ncat, got.cat);
  },
);

differential(
  "-w: a connect nobody answers gives up after that long (exit 1); an idle end differs",
  async () => {
    await using python = unansweredListener();
    const silent = String(await python.port());
    const timed = await both(async (program) => {
      const started = performance.now();
      await using peer = new Peer(
        program,
        ["-w", "0.4", "127.0.0.1", silent],
        "",
      );
      const { code } = await peer.finish();
      return { code, ms: performance.now() - started };
    });
    for (const program of PROGRAMS) {
      const { code, ms } = timed[program];
      assertEquals(code, 1, program);
      assertGreaterOrEqual(ms, 400, program);
      assert(ms < 3000, `${program} gave up after ${ms} ms, not about 400`);
    }
    await python.send("done");
    assertEquals((await python.finish()).code, 0);

    // Different on purpose: cat's -w is also the idle timeout, as OpenBSD
    // nc's, and an idle end is clean (exit 0); ncat's -w is the connect
    // timeout alone, and its idle timeout (-i) exits 1.
    using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held = (async () => {
      const conns = [await server.accept(), await server.accept()];
      return conns;
    })();
    const port = String(server.addr.port);
    const idle = await both(async (program) => {
      const started = performance.now();
      // stdin stays open: only the idle timeout ends it.
      await using peer = new Peer(program, [
        program === "cat" ? "-w" : "-i",
        "0.4",
        "127.0.0.1",
        port,
      ]);
      const { code } = await peer.finish();
      return { code, ms: performance.now() - started };
    });
    for (const conn of await held) conn.close();
    assertEquals(idle.cat.code, 0);
    assertEquals(idle.ncat.code, 1);
    for (const program of PROGRAMS) {
      assertGreaterOrEqual(idle[program].ms, 400, program);
      assert(idle[program].ms < 3000, `${program}: ${idle[program].ms} ms`);
    }
  },
  ["python3"],
);

// ---------------------------------------------------------------------------
// Access control, broker, chat

differential(
  "--deny and --allow: a refused client is closed without a byte either way; an allowed one is served",
  async () => {
    const runs = await both(async (program) => {
      const results: { got: string; printed: string }[] = [];
      for (
        const flags of [
          ["--deny", "127.0.0.1"],
          ["--allow", "10.0.0.0/8"],
          ["--allow", "127.0.0.1"],
        ]
      ) {
        const { peer, port } = await listener(
          program,
          ["-k", ...flags],
          "hello\n",
        );
        await using _peer = peer;
        const got = await talk(port, "knock\n");
        if (flags[1] === "127.0.0.1" && flags[0] === "--allow") {
          await peer.waitForOutput("knock\n");
        }
        results.push({ got, printed: (await peer.stop()).stdout });
      }
      return results;
    });
    assertEquals(runs.cat, [
      { got: "", printed: "" },
      { got: "", printed: "" },
      { got: "hello\n", printed: "knock\n" },
    ]);
    assertEquals(runs.ncat, runs.cat);
  },
);

/** A raw client: what it has received so far. */
class Client implements Disposable {
  readonly conn: Deno.TcpConn;
  readonly #peer = new TextDecoder();
  received = "";
  #notify: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.done = (async () => {
      try {
        for await (const chunk of conn.readable) {
          this.received += this.#peer.decode(chunk, { stream: true });
          this.#notify?.();
        }
      } catch { /* closed */ }
      this.#notify?.();
    })();
  }

  /** Waits until what was received includes `text`. */
  async waitFor(text: string): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (!this.received.includes(text)) {
      const left = deadline - performance.now();
      assert(left > 0, `never got ${JSON.stringify(text)}: ${this.received}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#notify = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
}

/** Joins a broker: connects and waits for the listener to log it. */
async function join(peer: Peer, port: number, nth: number): Promise<Client> {
  const client = new Client(
    await Deno.connect({ hostname: "127.0.0.1", port }),
  );
  if (peer.program === "cat") {
    await peer.stderr.waitFor(new RegExp(` as user${nth}$`));
  } else {
    await peer.stderr.waitFor(/^Ncat: Connection from 127\.0\.0\.1:\d+\.$/);
  }
  return client;
}

/** The chat lines (not the notices), user numbers left out. */
function chatLines(received: string): string[] {
  return received.split("\n").filter((line) => line.startsWith("<user"))
    .map((line) => line.replace(/^<user[1-9]\d*>/, "<user>"));
}

differential(
  "--broker and --chat: each client's data goes to the others, stdin to all",
  async () => {
    const runs = await both(async (program) => {
      const out: Record<string, unknown> = {};
      for (const mode of ["--broker", "--chat"]) {
        // -v: both log each arrival, which the test waits for.
        const { peer, port } = await listener(program, [
          mode,
          ...(program === "cat" ? ["-v"] : []),
        ]);
        await using _peer = peer;
        using a = await join(peer, port, 1);
        using b = await join(peer, port, 2);
        await writeAll(a.conn, encoder.encode("one\n"));
        await b.waitFor("one\n");
        await peer.write("from stdin\n");
        await a.waitFor("from stdin\n");
        await b.waitFor("from stdin\n");
        const printed = (await peer.stop()).stdout;
        out[mode] = mode === "--broker"
          ? { a: a.received, b: b.received, printed }
          : { a: chatLines(a.received), b: chatLines(b.received), printed };
      }
      return out;
    });
    assertEquals(runs.cat["--broker"], {
      a: "from stdin\n",
      b: "one\nfrom stdin\n",
      printed: "",
    });
    assertEquals(runs.cat["--chat"], {
      a: ["<user0> from stdin"],
      b: ["<user> one", "<user0> from stdin"],
      printed: "",
    });
    // Different on purpose: the user numbers (ncat's are file descriptors,
    // cat's count arrivals) and the wording of the notices, left out here.
    assertEquals(runs.ncat, runs.cat);
  },
);

differential(
  "--send-only: both send stdin and print nothing; cat waits for the peer to close, ncat does not",
  async () => {
    const runs = await both(async (program) => {
      await using python = Python.spawn(`
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
print(srv.getsockname()[1])
c, _ = srv.accept()
c.sendall(b"noise\\n")
got = b""
while len(got) < 4:
    got += c.recv(100)
print(repr(got))
time.sleep(0.4)
c.close()
`);
      const port = String(await python.port());
      const started = performance.now();
      await using peer = new Peer(
        program,
        ["--send-only", "127.0.0.1", port],
        "sent",
      );
      const result = await peer.finish();
      const ms = performance.now() - started;
      const heard = await python.line();
      await python.finish();
      return { heard, code: result.code, printed: result.stdout, ms };
    });
    for (const program of PROGRAMS) {
      const { heard, code, printed } = runs[program];
      assertEquals([heard, code, printed], ["b'sent'", 0, ""], program);
    }
    // Different on purpose: cat half-closes and ends with the peer (no reset
    // can cost the peer what was sent); ncat closes at once.
    assertGreaterOrEqual(runs.cat.ms, 400);
    assert(runs.ncat.ms < 400, `ncat took ${runs.ncat.ms} ms`);
  },
  ["python3"],
);

/** Fails naming the lengths and the first differing offset, if any. */
function assertSameBytes(
  actual: Uint8Array,
  expected: Uint8Array,
  what: string,
): void {
  if (equals(actual, expected)) return;
  let at = 0;
  while (at < actual.length && actual[at] === expected[at]) at++;
  throw new Error(
    `${what} ${actual.length} bytes of ${expected.length}, the first difference at byte ${at}`,
  );
}
