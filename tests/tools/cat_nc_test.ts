/**
 * `cat` for netcat users: nc/ncat spellings (parsed in process, then a
 * few run for real), `-z` probes and port ranges, `-C`, `-w`, `-4`, `-s`/
 * `-p` for UDP, `--allow`/`--deny` (with TLS too), `--broker` and `--chat`
 * (backpressure, a client that never reads is dropped), and the default
 * `--max-frame` of a listener. Loopback only.
 *
 * @module
 */
import {
  type CatConfig,
  LISTEN_MAX_FRAME,
  MAX_CONNS,
  parseCatArgs,
} from "../../tools/_cat_args.ts";
import { UsageError } from "../../tools/_flags.ts";
import { runTool } from "../_spawn.ts";
import { testCertificates } from "../_tls.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "../_utils.ts";
import { peerTest } from "../_peers.ts";
import { pattern, tempDir } from "../tcp/_helpers.ts";
import { Python } from "../tcp/_python.ts";
import { assertCode, Cat, runCat } from "./_cat.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The checked config of a command line that must parse. */
function config(args: readonly string[]): CatConfig {
  const command = parseCatArgs(args);
  assert(command.action === "run", args.join(" "));
  return command.config;
}

/** What a spelling decides, for comparing two spellings. */
function essentials(c: CatConfig): unknown {
  return {
    listen: c.listen,
    address: c.address,
    keepOpen: c.keepOpen,
    verbosity: c.verbosity,
    connectTimeout: c.connectTimeout,
    idleTimeout: c.idleTimeout,
    maxConnections: c.maxConnections,
    probe: c.probe,
    crlf: c.crlf,
    family: c.family,
    source: c.source,
    udp: c.udp,
  };
}

/** Writes all of `bytes` (`write()` may take part of them). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

/** Connects, sends `data`, half-closes and reads to the end. */
async function talk(
  port: number,
  data: string | Uint8Array = "",
  awaitBytes = 0,
) {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (data.length > 0) {
    await writeAll(
      conn,
      typeof data === "string" ? encoder.encode(data) : data,
    );
  }
  // With -k a client's relay ends when the client does: wait for what the
  // server sends first before half-closing, or it may never be sent.
  const first = new Uint8Array(awaitBytes);
  let got = 0;
  while (got < awaitBytes) {
    const n = await conn.read(first.subarray(got));
    if (n === null) break;
    got += n;
  }
  await conn.closeWrite();
  const rest = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  const all = new Uint8Array(got + rest.length);
  all.set(first.subarray(0, got));
  all.set(rest, got);
  return all;
}

// ---------------------------------------------------------------------------
// Spellings

Deno.test("nc's spellings parse to what the long flags say", () => {
  const cases: [nc: string[], ours: string[]][] = [
    // ncat's listen port as the argument
    [["-l", "9000"], ["--listen", "--port", "9000"]],
    // traditional nc's -l -p
    [["-l", "-p", "9000"], ["--listen", "--port", "9000"]],
    // combined, the value as the next argument or glued on
    [["-lp", "9000"], ["--listen", "--port", "9000"]],
    [["-lp9000"], ["--listen", "--port", "9000"]],
    // host and port as arguments, in either order of flags
    [["-l", "::1", "9000"], ["--listen", "--host", "::1", "--port", "9000"]],
    [["-l", "-p", "9000", "::1"], [
      "--listen",
      "--host",
      "::1",
      "--port",
      "9000",
    ]],
    // a cluster of booleans, and -v counted
    [["-lkv", "-p", "0"], [
      "--listen",
      "--keep-open",
      "--verbose",
      "--port",
      "0",
    ]],
    [["-vv", "h", "1"], ["--verbose", "--verbose", "h", "1"]],
    // -w: the connect and the idle timeout, ncat's suffixes too
    [["-w", "3", "h", "1"], [
      "--connect-timeout",
      "3",
      "--idle-timeout",
      "3",
      "h",
      "1",
    ]],
    [["-w500ms", "h", "1"], [
      "--connect-timeout",
      "0.5",
      "--idle-timeout",
      "0.5",
      "h",
      "1",
    ]],
    // a listener never connects: -w is its idle timeout
    [
      ["-l", "-w", "2", "0"],
      ["--listen", "--idle-timeout", "2m", "0"]
        .map((a) => a === "2m" ? "2" : a),
    ],
    // -m is ncat's --max-conns; -N (OpenBSD) is what cat does anyway
    [["-lk", "-m", "5", "-N", "0"], [
      "--listen",
      "--keep-open",
      "--max-conns",
      "5",
      "--port",
      "0",
    ]],
    // -6 listens on ::1 when no host is given
    [["-l6", "0"], ["--listen", "--ipv6", "--host", "::1", "--port", "0"]],
    // -U PATH is --unix PATH
    [["-U", "/tmp/x.sock"], ["--unix", "/tmp/x.sock"]],
    [["-lU", "/tmp/x.sock"], ["--listen", "--unix", "/tmp/x.sock"]],
    // -C
    [["-C", "h", "1"], ["--crlf", "h", "1"]],
    // -s and -p are a UDP client's source
    [["-u", "-s", "127.0.0.1", "-p", "5000", "127.0.0.1", "9"], [
      "--udp",
      "--source",
      "127.0.0.1",
      "--source-port",
      "5000",
      "127.0.0.1",
      "9",
    ]],
  ];
  for (const [nc, ours] of cases) {
    assertEquals(
      essentials(config(nc)),
      essentials(config(ours)),
      `${nc.join(" ")} vs ${ours.join(" ")}`,
    );
  }
  // What the spellings above do not show.
  assertEquals(config(["-vvv", "h", "1"]).verbosity, 3);
  assertEquals(config(["-z", "h", "20-25"]).probe, [20, 21, 22, 23, 24, 25]);
  assertEquals(config(["-z", "h", "20-25"]).probeRange, true);
  assertEquals(config(["-z", "h", "22"]).probe, [22]);
  assertEquals(config(["-z", "h", "22"]).probeRange, false);
  assertEquals(config(["-zw", "1", "h", "22"]).idleTimeout, undefined);
  assertEquals(config(["-l", "0", "--chat"]).broker, "chat");
  assertEquals(config(["-l", "0", "--chat"]).maxConnections, MAX_CONNS);
  assertEquals(config(["-lk", "0"]).maxConnections, MAX_CONNS); // ncat's 100
  assertEquals(config(["-4", "localhost", "80"]).family, 4);
  assertEquals(config(["-n", "127.0.0.1", "80"]).address, {
    hostname: "127.0.0.1",
    port: 80,
  });
});

Deno.test("nc's spellings that cannot work say why (UsageError, exit 2)", async () => {
  const cases: [string[], string][] = [
    // never a program for a client
    [["-e", "/bin/sh", "-l", "9000"], "never runs a program"],
    [["-lc", "sh", "9000"], "never runs a program"],
    [["--exec", "/bin/sh", "-l", "9000"], "never runs a program"],
    // ncat's TLS flags have other names here
    [["--ssl", "h", "1"], "--tls"],
    // nc flags cat does not take, with what to give instead
    [["-i", "1", "h", "1"], "--idle-timeout"],
    [["-x", "h", "1"], "--hex"],
    [["-j", "h", "1"], "unknown flag -j"],
    // a value missing
    [["-lp"], "-p needs a value"],
    // Deno cannot bind a TCP client's source
    [["-p", "5000", "h", "1"], "needs --udp"],
    [["-s", "127.0.0.1", "h", "1"], "needs --udp"],
    [["-l", "-s", "127.0.0.1", "9000"], "-s/--source is for connecting"],
    // families and names
    [["-4", "::1", "80"], "does not go with the IPv6 address"],
    [["-6", "127.0.0.1", "80"], "does not go with the IPv4 address"],
    [["-46", "h", "80"], "exclude each other"],
    [["-n", "localhost", "80"], "-n (no name resolution) needs an IP address"],
    // ports given twice, too many arguments
    [["-l", "-p", "1", "h", "2"], "given by a flag already"],
    [["-l", "--port", "1", "-p", "2"], "--port and -p both give the port"],
    [["-l", "h", "1", "x"], 'unexpected argument "x"'],
    [["-l", "70000"], "PORT must be an integer in 0..65535"],
    // -z
    [["-z", "h", "25-20"], "runs backwards"],
    [["-z", "h", "0-5"], "PORT must be an integer in 1..65535"],
    [["-zl", "0"], "exclude each other"],
    [["-zu", "h", "1"], "UDP has no connection to probe"],
    // -C with datagrams and frames, -w with the long timeouts
    [["-Cu", "h", "1"], "--crlf and --udp exclude each other"],
    [["-C", "--frame", "lines", "h", "1"], "--crlf and --frame"],
    [["-w", "1", "--idle-timeout", "1", "h", "1"], "-w sets both"],
    [["-w", "soon", "h", "1"], "--wait must be a number of seconds"],
    // access control is for TCP listeners
    [["--allow", "127.0.0.1", "h", "1"], "--allow needs --listen"],
    [["-lu", "--deny", "127.0.0.1", "0"], "access control is for TCP"],
    [["-l", "--allow", "example.com", "0"], "host names are not resolved"],
    [["-l", "--allow", "10.0.0.0/33", "0"], "0..32"],
    [["-l", "--allow", " , ", "0"], "--allow lists no address"],
    [["-l", "--allowfile", "/nonexistent/allow", "0"], "cannot read it"],
    // the broker is a TCP (or Unix) listener of bytes
    [["--broker", "h", "1"], "--broker needs --listen"],
    [["-lu", "--chat", "0"], "--chat and --udp exclude each other"],
    [["-l", "--broker", "--frame", "u16", "0"], "exclude each other"],
    [["-l", "--max-conns", "3", "0"], "--max-conns needs --keep-open"],
  ];
  for (const [args, expected] of cases) {
    const error = assertThrows(() => parseCatArgs(args), UsageError);
    assertStringIncludes(error.message, expected, args.join(" "));
  }
  // The exit code and the one line, once for real.
  const ran = await runTool("cat", ["-e", "/bin/sh", "-l", "9000"]);
  assertEquals(ran.code, 2);
  assertMatch(ran.stderr, /^cat: cat does not take -e: [^\n]*; try --help\n$/);
});

Deno.test("--help has a 'coming from nc/ncat' section and the new flags", async () => {
  const help = await runTool("cat", ["-h"]);
  assertEquals(help.code, 0);
  for (
    const text of [
      "Coming from nc/ncat:",
      "TLS is verified by default",
      "never runs a program or a shell",
      "-z, --probe",
      "-w, --wait SECONDS",
      "-C, --crlf",
      "-4, --ipv4",
      "-n, --nodns",
      "--allow ADDR[/BITS]",
      "--allowfile FILE",
      "--broker",
      "--chat",
      `(default ${LISTEN_MAX_FRAME} with --listen`,
      "stdout closed by its reader",
    ]
  ) {
    assertStringIncludes(help.stdout, text);
  }
});

// ---------------------------------------------------------------------------
// Running them

Deno.test("cat -lp 0 and cat -lkv serve as --listen --port 0 does", async () => {
  const { cat, port } = await Cat.listening(["-lp", "0"], "to client\n");
  await using _cat = cat;
  assertEquals(decoder.decode(await talk(port, "to cat\n")), "to client\n");
  const result = await cat.finish();
  assertCode(result, 0);
  assertEquals(result.stdout, "to cat\n");

  const keep = await Cat.listening(["-lkv", "127.0.0.1", "0"]);
  await using _keep = keep.cat;
  await talk(keep.port, "one\n");
  await talk(keep.port, "two\n");
  await keep.cat.stderr.waitFor(/^closed .*; the peer closed/);
  await keep.cat.stderr.waitFor(/^closed .*; the peer closed/);
  const kept = await keep.cat.stop();
  assertCode(kept, 0);
  assertEquals(kept.stdout, "one\ntwo\n");
});

/**
 * Two listening ports LOW and LOW+2 with LOW+1 free a moment ago. Port 0
 * cannot give three in a row, so they are tried below the ephemeral range
 * (32768 and up), where no connect() takes a port and only listeners sit.
 */
function portTrio(): { listeners: Deno.TcpListener[]; low: number } {
  for (let attempt = 0; attempt < 100; attempt++) {
    const low = 20000 + Math.floor(Math.random() * 10000);
    const listeners: Deno.TcpListener[] = [];
    try {
      listeners.push(Deno.listen({ hostname: "127.0.0.1", port: low }));
      Deno.listen({ hostname: "127.0.0.1", port: low + 1 }).close();
      listeners.push(Deno.listen({ hostname: "127.0.0.1", port: low + 2 }));
      return { listeners, low };
    } catch {
      for (const listener of listeners) listener.close();
    }
  }
  throw new Error("no three ports in a row free on 127.0.0.1");
}

Deno.test("cat -z probes a port (exit 0/1) and prints each open port of a range", async () => {
  const { listeners, low } = portTrio();
  try {
    const range = `${low}-${low + 2}`;
    const [scan, verbose, open, closed] = await Promise.all([
      runTool("cat", ["-z", "127.0.0.1", range]),
      runTool("cat", ["-zv", "127.0.0.1", range]),
      runTool("cat", ["-z", "127.0.0.1", String(low)]),
      runTool("cat", ["-z", "127.0.0.1", String(low + 1)]),
    ]);
    assertEquals([scan.code, scan.stdout, scan.stderr], [
      0,
      `${low}\n${low + 2}\n`,
      "",
    ]);
    assertEquals(verbose.stdout, scan.stdout);
    const lines = verbose.stderr.trimEnd().split("\n");
    assertEquals(lines.length, 3);
    assertEquals(lines[0], `127.0.0.1:${low} open`);
    assertMatch(lines[1]!, new RegExp(`^127\\.0\\.0\\.1:${low + 1} closed: `));
    assertEquals(lines[2], `127.0.0.1:${low + 2} open`);
    // One port: the exit code says it, stdout says nothing.
    assertEquals([open.code, open.stdout, open.stderr], [0, "", ""]);
    assertEquals([closed.code, closed.stdout, closed.stderr], [1, "", ""]);
  } finally {
    for (const listener of listeners) listener.close();
  }
  // A Unix socket is probed at its path.
  await using dir = await tempDir();
  const path = `${dir.path}/probe.sock`;
  using _unix = Deno.listen({ transport: "unix", path });
  const [unix, missing] = await Promise.all([
    runTool("cat", ["-zU", path]),
    runTool("cat", ["-zU", `${dir.path}/none.sock`]),
  ]);
  assertEquals([unix.code, missing.code], [0, 1]);
});

Deno.test("cat -C sends stdin's line ends as CRLF; -4 resolves localhost to 127.0.0.1; -vv logs chunk sizes", async () => {
  using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      using conn = await server.accept();
      got.push(await new Response(conn.readable).text());
    }
    return got;
  })();
  const port = String(server.addr.port);
  const crlf = await runCat(["-C", "127.0.0.1", port], "a\nb\r\n\nc");
  assertCode(crlf, 0);
  const four = await runCat(["-4vv", "localhost", port], "x");
  assertCode(four, 0);
  assertEquals(four.stderr[0], "localhost is 127.0.0.1");
  assert(four.stderr.includes("> 1 bytes"), four.stderr.join("\n")); // -vv
  assertEquals(await received, ["a\r\nb\r\n\r\nc", "x"]);
});

Deno.test("cat -w ends a silent connection after that long, cleanly (exit 0), as OpenBSD nc", async () => {
  using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held = server.accept();
  await using cat = new Cat([
    "-w",
    "0.3",
    "127.0.0.1",
    String(server.addr.port),
  ]);
  const started = performance.now();
  const result = await cat.finish(); // stdin stays open: only -w ends it
  assertGreaterOrEqual(performance.now() - started, 300);
  assertCode(result, 0);
  (await held).close();
});

Deno.test("cat -u -p PORT sends from that port (and -s from that address)", async () => {
  const server = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const free = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const source = (free.addr as Deno.NetAddr).port;
  free.close();
  try {
    await using cat = new Cat([
      "-u",
      "-s",
      "127.0.0.1",
      "-p",
      String(source),
      "-w",
      "0.5",
      "127.0.0.1",
      String((server.addr as Deno.NetAddr).port),
    ], "hello\n");
    const [data, from] = await server.receive();
    assertEquals(decoder.decode(data), "hello");
    assertEquals((from as Deno.NetAddr).port, source);
    assertCode(await cat.finish(), 0);
  } finally {
    server.close();
  }
});

// ---------------------------------------------------------------------------
// Access control

Deno.test("cat --deny and --allow refuse a client at once (logged with -v); others are served", async () => {
  await using dir = await tempDir();
  const denyFile = `${dir.path}/deny`;
  await Deno.writeTextFile(
    denyFile,
    "# the lab\n10.0.0.0/8 192.0.2.1\n\n127.0.0.1\n",
  );
  const allowFile = `${dir.path}/allow`;
  await Deno.writeTextFile(allowFile, "# loopback\n::1, 127.0.0.0/8\n");
  const labFile = `${dir.path}/lab`;
  await Deno.writeTextFile(labFile, "10.0.0.0/8\n");
  const cases: [string[], boolean, RegExp | null][] = [
    // in --deny
    [["--deny", "127.0.0.0/8"], false, /: in --deny$/],
    // not in --allow
    [["--allow", "10.0.0.0/8,::1"], false, /: not in --allow$/],
    // in both: --deny wins
    [["--allow", "127.0.0.1", "--deny", "127.0.0.1"], false, /: in --deny$/],
    // a deny file with comments, blanks and several entries a line
    [["--denyfile", denyFile], false, /: in --deny$/],
    // allowed (and bits past the prefix do not matter)
    [["--allow", "10.0.0.0/8", "--allow", "127.9.9.9/8"], true, null],
    // allowed by an allow file, commas and a comment in it
    [["--allowfile", allowFile], true, null],
    // an allow file that does not list the client
    [["--allowfile", labFile], false, /: not in --allow$/],
  ];
  await Promise.all(cases.map(async ([flags, served, logged]) => {
    const { cat, port } = await Cat.listening(
      ["-lkv", ...flags, "0"],
      "welcome\n",
    );
    await using _cat = cat;
    const got = decoder.decode(
      await talk(port, "knock\n", served ? "welcome\n".length : 0),
    );
    if (served) {
      assertEquals(got, "welcome\n", flags.join(" "));
      await cat.stderr.waitFor(/^closed /);
    } else {
      assertEquals(got, "", flags.join(" "));
      const { input: line } = await cat.stderr.waitFor(/^refused /);
      assertMatch(line, /^refused 127\.0\.0\.1:\d+: /);
      assertMatch(line, logged!);
    }
    const result = await cat.stop();
    assertCode(result, 0);
    assertEquals(result.stdout, served ? "knock\n" : "", flags.join(" "));
  }));
});

peerTest(
  "cat -l --allow: a refused client does not count as the one served; over TLS it gets no handshake",
  ["python3"],
  async () => {
    const certs = await testCertificates();
    await using cat = new Cat([
      "-lv",
      "--allow",
      "127.0.0.1",
      "--tls-cert",
      certs.server.certFile,
      "--tls-key",
      certs.server.keyFile,
      "0",
    ], "over tls\n");
    const [, port] = await cat.stderr.waitFor(
      /^listening on .*:(\d+) \(TLS\)$/,
    );
    // From 127.0.0.2: closed at once, before any handshake (a TLS server
    // would wait for the ClientHello).
    await using python = Python.spawn(
      `
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
print(repr(s.recv(100)))
`,
      [port!],
    );
    assertEquals(await python.line(), "b''");
    await cat.stderr.waitFor(/^refused 127\.0\.0\.2:\d+: not in --allow$/);
    // Then the one client it serves, over TLS.
    const client = await runCat([
      "--tls-ca",
      certs.caFile,
      "--tls-servername",
      "localhost",
      "127.0.0.1",
      String(port),
    ], "hi\n");
    assertCode(client, 0);
    assertEquals(client.stdout, "over tls\n");
    const result = await cat.finish();
    assertCode(result, 0);
    assertEquals(result.stdout, "hi\n");
  },
);

// ---------------------------------------------------------------------------
// Broker and chat

/** A raw client of a broker: what it has received so far. */
class Member implements Disposable {
  readonly conn: Deno.TcpConn;
  received = "";
  readonly done: Promise<void>;
  #notify: (() => void) | undefined;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.done = (async () => {
      try {
        for await (const chunk of conn.readable) {
          this.received += decoder.decode(chunk, { stream: true });
          this.#notify?.();
        }
      } catch { /* closed */ }
      this.#notify?.();
    })();
  }

  static async join(port: number): Promise<Member> {
    return new Member(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Waits until what was received includes `text`. */
  async waitFor(text: string): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (!this.received.includes(text)) {
      assert(
        performance.now() < deadline,
        `never got ${text}: ${this.received}`,
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#notify = resolve;
        timer = setTimeout(resolve, 100);
      });
      clearTimeout(timer);
    }
  }

  async say(text: string): Promise<void> {
    await writeAll(this.conn, encoder.encode(text));
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
}

Deno.test("cat --broker: each client's bytes go to every other client, stdin to all; nothing is printed", async () => {
  const { cat, port } = await Cat.listening(["-lv", "--broker", "0"]);
  await using _cat = cat;
  using a = await Member.join(port);
  await cat.stderr.waitFor(/ as user1$/);
  using b = await Member.join(port);
  using c = await Member.join(port);
  await cat.stderr.waitFor(/ as user2$/);
  await cat.stderr.waitFor(/ as user3$/);
  await a.say("from a\n");
  await b.waitFor("from a\n");
  await c.waitFor("from a\n");
  await cat.write("from stdin\n");
  await Promise.all([a, b, c].map((m) => m.waitFor("from stdin\n")));
  await c.say("from c\n");
  await Promise.all([a, b].map((m) => m.waitFor("from c\n")));
  // A client that ends is closed; the others stay.
  await c.conn.closeWrite();
  await c.done;
  await b.say("after c\n");
  await a.waitFor("after c\n");
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(result.stdout, "");
  assertEquals(a.received, "from stdin\nfrom c\nafter c\n");
  assertEquals(b.received, "from a\nfrom stdin\nfrom c\n");
  assertEquals(c.received, "from a\nfrom stdin\n");
});

Deno.test("cat --chat prefixes each line with its sender, escapes C0, DEL and C1 (U+009B), announces arrivals and departures", async () => {
  const { cat, port } = await Cat.listening(["-lv", "--chat", "0"]);
  await using _cat = cat;
  using a = await Member.join(port);
  await a.waitFor("* you are user1; nobody else is here\n");
  using b = await Member.join(port);
  await b.waitFor("* you are user2; here: user1\n");
  await a.waitFor("* user2 joined\n");
  // C1 (U+009B is a terminal's CSI, as ESC [ is), DEL, a tab, a backslash;
  // a byte that is not UTF-8 (a raw 0x9b) shows as U+FFFD.
  await a.say("csi\u009b2J esc\x1b[2J del\x7f\ttab \\ end\n");
  await writeAll(a.conn, new Uint8Array([0x72, 0x61, 0x77, 0x9b, 0x0a]));
  await b.waitFor("<user1> raw\ufffd\n");
  // Split mid-line, a CRLF end, a control character, a line without end.
  await a.say("hel");
  await a.say("lo\r\nbell\x07!\nno end");
  await b.waitFor("<user1> bell\\x07!\n");
  await cat.write("from the server\n");
  await a.waitFor("<user0> from the server\n");
  a.conn.close();
  await b.waitFor("* user1 left\n");
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(result.stdout, "");
  assertEquals(
    b.received,
    "* you are user2; here: user1\n" +
      "<user1> csi\\x9b2J esc\\x1b[2J del\\x7f\\ttab \\\\ end\n<user1> raw\ufffd\n" +
      "<user1> hello\n<user1> bell\\x07!\n" +
      "<user0> from the server\n<user1> no end\n* user1 left\n",
  );
});

Deno.test("cat --broker holds back a fast sender (every byte arrives) and drops a client that never reads", async () => {
  const { cat, port } = await Cat.listening([
    "-lv",
    "--broker",
    "--idle-timeout",
    "0.5",
    "0",
  ]);
  await using _cat = cat;
  const sender = await Deno.connect({ hostname: "127.0.0.1", port });
  await cat.stderr.waitFor(/ as user1$/);
  const reader = await Deno.connect({ hostname: "127.0.0.1", port });
  await cat.stderr.waitFor(/ as user2$/);
  using _stuck = await Deno.connect({ hostname: "127.0.0.1", port });
  await cat.stderr.waitFor(/ as user3$/);
  // More than the kernel's buffers take for the client that never reads.
  const payload = pattern(7, 24 * 1024 * 1024);
  const sending = (async () => {
    await writeAll(sender, payload);
  })();
  const got = new Uint8Array(payload.length);
  let size = 0;
  for await (const chunk of reader.readable) {
    got.set(chunk, size);
    size += chunk.length;
    if (size === payload.length) break;
  }
  await sending;
  assertEquals(size, payload.length, cat.stderr.seen.join("\n"));
  assertEquals(got, payload);
  await cat.stderr.waitFor(
    /^closed 127\.0\.0\.1:\d+ \(user3\): 0 bytes in, \d+ out; dropped: it took nothing for 0\.5 s while others waited$/,
  );
  sender.close();
  const result = await cat.stop();
  assertCode(result, 0);
});

Deno.test("cat -lk --max-conns 2 turns a third client away (logged with -v); the two keep working", async () => {
  const { cat, port } = await Cat.listening(["-lkv", "--max-conns", "2", "0"]);
  await using _cat = cat;
  using a = await Member.join(port);
  await cat.stderr.waitFor(/^connection from /);
  using b = await Member.join(port);
  await cat.stderr.waitFor(/^connection from /);
  using c = await Member.join(port);
  await c.done; // closed at once
  const { input: line } = await cat.stderr.waitFor(/^refused /);
  assertEquals(
    line,
    `refused 127.0.0.1:${c.conn.localAddr.port}: already serving 2 (--max-conns 2)`,
  );
  assertEquals(c.received, "");
  await cat.write("to both\n");
  await Promise.all([a, b].map((m) => m.waitFor("to both\n")));
  await a.say("from a\n");
  await b.say("from b\n");
  await cat.waitForOutput("from a\n");
  await cat.waitForOutput("from b\n");
  const result = await cat.stop();
  assertCode(result, 0);
});

Deno.test("cat --broker --max-conns 2 turns a third client away (logged with -v); the two keep talking", async () => {
  const { cat, port } = await Cat.listening([
    "-lv",
    "--broker",
    "--max-conns",
    "2",
    "0",
  ]);
  await using _cat = cat;
  using a = await Member.join(port);
  await cat.stderr.waitFor(/ as user1$/);
  using b = await Member.join(port);
  await cat.stderr.waitFor(/ as user2$/);
  using c = await Member.join(port);
  await c.done; // closed at once
  const { input: line } = await cat.stderr.waitFor(/^refused /);
  assertEquals(
    line,
    `refused 127.0.0.1:${c.conn.localAddr.port}: already serving 2 (--max-conns 2)`,
  );
  await a.say("from a\n");
  await b.waitFor("from a\n");
  await b.say("from b\n");
  await a.waitFor("from b\n");
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(c.received, "");
  assert(
    !result.stderr.some((l) => l.includes("user3")),
    result.stderr.join("\n"),
  );
});

// ---------------------------------------------------------------------------
// IPv6

Deno.test("cat -6 listens on ::1 by default and connects to ::1", async () => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
  } catch (error) {
    // A container without IPv6 on loopback: nothing to test against.
    console.error(
      `skipped "cat -6 …": ::1 is not available here (${
        error instanceof Error ? error.message : error
      })`,
    );
    return;
  }
  const { cat: server, port } = await Cat.listening(
    ["-6", "-l", "0"],
    "from server\n",
  );
  await using _server = server;
  assertMatch(server.stderr.seen[0]!, /^listening on \[::1\]:\d+$/);
  const client = await runCat(["-6v", "::1", String(port)], "from client\n");
  assertCode(client, 0);
  assertEquals(client.stdout, "from server\n");
  assertMatch(
    client.stderr.join("\n"),
    /^connected to \[::1\]:\d+ from \[::1\]:\d+$/m,
  );
  const served = await server.finish();
  assertCode(served, 0);
  assertEquals(served.stdout, "from client\n");
});

// ---------------------------------------------------------------------------
// Bounds

Deno.test("cat --listen --frame takes frames up to 65536 bytes unless --max-frame says more", async () => {
  const line = "x".repeat(LISTEN_MAX_FRAME + 1) + "\n";
  const [bounded, raised] = await Promise.all(
    [[], ["--max-frame", String(2 * LISTEN_MAX_FRAME)]].map(async (extra) => {
      const { cat, port } = await Cat.listening(
        ["-l", "--frame", "lines", ...extra, "0"],
        "",
      );
      await using _cat = cat;
      await talk(port, line);
      return await cat.finish();
    }),
  );
  assertCode(bounded!, 1);
  assertEquals(bounded!.stdout, "");
  assertMatch(
    bounded!.stderr.at(-1)!,
    /^cat: bad frame from 127\.0\.0\.1:\d+: /,
  );
  assertStringIncludes(bounded!.stderr.at(-1)!, "65536");
  assertCode(raised!, 0);
  assertEquals(raised!.stdout, line);
});
