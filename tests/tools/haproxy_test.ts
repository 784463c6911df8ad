/**
 * The echo tool behind a real HAProxy (`mode tcp`, two sockit backends):
 * HAProxy's health checks (`check-send-proxy`, with `send-proxy` and with
 * `send-proxy-v2`) demonstrably pass on both backends (each passed check
 * logged, HAProxy's stats say UP) without an error logged, after which the
 * tool logs each client's real address and port and both backends serve;
 * a backend shut down (SIGTERM) while a client streams through it echoes
 * every byte it read, the client gets all of it, byte for byte, then EOF,
 * and new clients go to the backup. Also: the PROXY flags' errors, and a
 * direct client refused with the reason.
 *
 * Without `haproxy` the HAProxy tests are ignored, or fail under CI
 * (`tests/_haproxy.ts`).
 *
 * @module
 */
import { freePort, haproxyTest } from "../_haproxy.ts";
import { connect } from "../../tcp/mod.ts";
import { Lines, runTool, ToolProcess } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertStringIncludes,
} from "../_utils.ts";

const decoder = new TextDecoder();

/** The echo tool, started with PROXY protocol from loopback. */
class Echo extends ToolProcess {
  port = 0;

  static async start(extra: string[] = []): Promise<Echo> {
    const echo = new Echo("echo", [
      "--port",
      "0",
      "--proxy-protocol",
      "--proxy-from",
      "127.0.0.0/8",
      "--grace",
      "5",
      ...extra,
    ]);
    const [, port] = await echo.stderr.waitFor(
      /^listening on 127\.0\.0\.1:(\d+) \(PROXY protocol from 127\.0\.0\.0\/8\)$/,
    );
    echo.port = Number(port);
    return echo;
  }
}

/**
 * HAProxy in front of `backends`, as a child we stop by its PID. It runs in
 * master-worker mode (`-W`), whose master prints `Loading success.` once
 * the worker runs with its listeners bound: the event `start()` waits for.
 * Its stats socket (a Unix socket in the temporary directory) takes
 * commands; `option log-health-checks` makes it log each check that
 * changes a server's health (`Health check for server echo/s0 succeeded,
 * …, status: 2/3 DOWN.`).
 */
class Haproxy implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Lines;
  readonly #dir: string;

  private constructor(
    readonly port: number,
    dir: string,
    child: Deno.ChildProcess,
  ) {
    this.#dir = dir;
    this.#child = child;
    this.#stderr = new Lines(child.stderr);
  }

  /**
   * Starts HAProxy with a server line for each backend, with
   * `serverOptions` (or `serverOptions(i)` for backend `i`).
   */
  static async start(
    backends: readonly Echo[],
    serverOptions: string | ((i: number) => string),
  ): Promise<Haproxy> {
    const dir = await Deno.makeTempDir({ prefix: "sockit_haproxy_" });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/haproxy.cfg`,
      [
        "global",
        `  stats socket ${dir}/stats.sock mode 600 level admin`,
        "defaults",
        "  mode tcp",
        "  option log-health-checks",
        "  timeout connect 2s",
        "  timeout client 10s",
        "  timeout server 10s",
        "  retries 3",
        "  option redispatch",
        "frontend in",
        `  bind 127.0.0.1:${port}`,
        "  default_backend echo",
        "backend echo",
        "  balance roundrobin",
        ...backends.map((backend, i) =>
          `  server s${i} 127.0.0.1:${backend.port} ${
            typeof serverOptions === "string" ? serverOptions : serverOptions(i)
          }`
        ),
        "",
      ].join("\n"),
    );
    const child = new Deno.Command("haproxy", {
      args: ["-W", "-db", "-f", `${dir}/haproxy.cfg`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const haproxy = new Haproxy(port, dir, child);
    await haproxy.#stderr.waitFor(/Loading success\./, 10_000);
    return haproxy;
  }

  /** Waits for a line of HAProxy's stderr (its alerts and warnings). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    return this.#stderr.waitFor(pattern, 10_000);
  }

  /** Every line of HAProxy's stderr so far. */
  get seen(): readonly string[] {
    return this.#stderr.seen;
  }

  /** Sends `command` to the stats socket and returns the answer. */
  async command(command: string): Promise<string> {
    const conn = await Deno.connect({
      transport: "unix",
      path: `${this.#dir}/stats.sock`,
    });
    const chunks: Uint8Array[] = [];
    try {
      await conn.write(new TextEncoder().encode(`${command}\n`));
      const buffer = new Uint8Array(16 * 1024);
      // HAProxy answers and closes; at most 1 MiB.
      for (let total = 0; total < 1 << 20;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        chunks.push(buffer.slice(0, n));
        total += n;
      }
    } finally {
      conn.close();
    }
    return decoder.decode(concat(chunks));
  }

  /**
   * The `show stat` row of each server of the `echo` backend, by name
   * (`s0`, `s1`…), with the CSV's columns as keys (`status`,
   * `check_status`, `chkfail`…).
   */
  async serverStats(): Promise<Map<string, Record<string, string>>> {
    const lines = (await this.command("show stat")).split("\n");
    const columns = lines[0]!.replace(/^# /, "").split(",");
    const rows = new Map<string, Record<string, string>>();
    for (const line of lines.slice(1)) {
      const cells = line.split(",");
      if (cells[0] !== "echo" || !/^s\d+$/.test(cells[1] ?? "")) continue;
      rows.set(
        cells[1]!,
        Object.fromEntries(columns.map((name, i) => [name, cells[i] ?? ""])),
      );
    }
    return rows;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.#child.status;
    await this.#stderr.done;
    await Deno.remove(this.#dir, { recursive: true });
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Sends `message` through HAProxy and reads the echo; returns the client's
 * own port.
 */
async function echoThrough(port: number, message: string): Promise<number> {
  await using conn = await connect({ port });
  await conn.write(message);
  assertEquals(
    decoder.decode(await conn.readExactly(message.length)),
    message,
  );
  return conn.localAddr.port;
}

/** The lines of `echo`'s log that say something went wrong. */
function errorLines(echo: Echo): string[] {
  return echo.stderr.seen.filter((line) => /error|Cannot/i.test(line));
}

for (const version of ["send-proxy", "send-proxy-v2"] as const) {
  haproxyTest(
    `echo behind HAProxy (${version}): health checks pass on both backends without an error, then real client addresses are logged and both backends serve`,
    async () => {
      await using a = await Echo.start();
      await using b = await Echo.start();
      await using haproxy = await Haproxy.start(
        [a, b],
        `${version} check check-send-proxy inter 100 rise 3`,
      );
      // Each server marked down from the CLI must pass three checks in a
      // row (rise 3) to be up again; each passed check is logged. A check
      // connects, sends its header (v1: the check's own addresses; v2:
      // LOCAL) and resets; the backend drops it quietly (or, when the header
      // came before the reset, logs it and its reset).
      for (const server of ["s0", "s1"]) {
        assertEquals(
          (await haproxy.command(`set server echo/${server} health down`))
            .trim(),
          "",
        );
      }
      const up = new Set<string>();
      while (up.size < 2) {
        up.add((await haproxy.waitFor(/Server echo\/(s[01]) is UP\./))[1]!);
      }
      for (const server of ["s0", "s1"]) {
        // After the CLI's "down": three passed checks, in order, then UP.
        let at = haproxy.seen.findIndex((line) =>
          line.includes(`Server echo/${server} is DOWN, changed from CLI`)
        );
        for (const step of ["1/3 DOWN", "2/3 DOWN", "3/3 UP"]) {
          at = haproxy.seen.findIndex((line, i) =>
            i > at &&
            line.includes(
              `Health check for server echo/${server} succeeded, reason: Layer4 check passed`,
            ) && line.endsWith(`status: ${step}.`)
          );
          assert(at !== -1, `${server} ${step}:\n${haproxy.seen.join("\n")}`);
        }
      }
      // HAProxy's own count: both servers UP, their last check a layer-4
      // success ("* " before it while the next check runs), none failed.
      const stats = await haproxy.serverStats();
      for (const server of ["s0", "s1"]) {
        const row = stats.get(server);
        assertEquals(
          [row?.status, row?.check_status?.replace(/^\* /, ""), row?.chkfail],
          ["UP", "L4OK", "0"],
          `${server}: ${JSON.stringify(row)}`,
        );
      }
      for (const echo of [a, b]) assertEquals(errorLines(echo), []);
      // The servers still serve: round robin, two clients each, each
      // logged with its own port.
      const ports: number[] = [];
      for (let i = 0; i < 4; i++) {
        ports.push(await echoThrough(haproxy.port, `hello ${i}\n`));
      }
      // After a graceful stop every line is in.
      assertEquals((await a.stop()).code, 0);
      assertEquals((await b.stop()).code, 0);
      const perBackend = [a, b].map((echo) =>
        ports.filter((port) =>
          echo.stderr.seen.some((line) =>
            line.startsWith(`connection from 127.0.0.1:${port} via 127.0.0.1:`)
          )
        ).length
      );
      assertEquals(perBackend, [2, 2]);
      for (const echo of [a, b]) {
        assertEquals(errorLines(echo), []);
      }
    },
  );
}

/** Whether `error` says the peer closed or reset the connection. */
function isConnectionGone(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.NotConnected;
}

/** Byte `i` of the stream the graceful-shutdown test sends. */
function streamByte(i: number): number {
  return (i * 31 + (i >>> 12)) & 0xff;
}

haproxyTest(
  "echo behind HAProxy: a backend shut down with a stream in flight echoes every byte it read, the client gets all of it then EOF, and new clients go to the backup",
  async () => {
    await using a = await Echo.start();
    await using b = await Echo.start();
    // Every client goes to a while it is up; b is the backup. Checks every
    // 100 ms mark a down at its first failure.
    await using haproxy = await Haproxy.start(
      [a, b],
      (i) => `send-proxy-v2 check inter 100 fall 1${i === 1 ? " backup" : ""}`,
    );
    await using client = await connect({ port: haproxy.port });
    // The client streams a known sequence in 16 KiB chunks and reads the
    // echo at the same time, checking each byte against what it sent.
    let sent = 0;
    let received = 0;
    let mismatch: number | undefined;
    let flowing: () => void = () => {};
    const isFlowing = new Promise<void>((resolve) => flowing = resolve);
    const reader = (async (): Promise<"EOF"> => {
      for (;;) {
        const chunk = await client.read();
        if (chunk === null) return "EOF";
        for (let j = 0; j < chunk.length && mismatch === undefined; j++) {
          if (chunk[j] !== streamByte(received + j)) mismatch = received + j;
        }
        received += chunk.length;
        if (received >= 256 * 1024) flowing();
      }
    })();
    // It writes until the backend says it is shutting down (at most
    // 64 MiB), then half-closes: the end of its stream. A write may fail
    // once the backend has ended reading and closed (below): the stream is
    // then cut there.
    let signalled = false;
    let shuttingDown = false;
    let attempted = 0;
    const writer = (async (): Promise<"half-closed" | "cut"> => {
      const chunk = new Uint8Array(16 * 1024);
      try {
        while (!shuttingDown && sent < 64 * 1024 * 1024) {
          for (let j = 0; j < chunk.length; j++) {
            chunk[j] = streamByte(sent + j);
          }
          attempted = sent + chunk.length;
          await client.write(chunk);
          sent = attempted;
        }
        await client.shutdown("write");
        return "half-closed";
      } catch (error) {
        if (signalled && isConnectionGone(error)) return "cut";
        throw error;
      }
    })();
    // Settled below; marked handled so that a failure of one is reported
    // by the assertions, not as an unhandled rejection.
    reader.catch(() => {});
    writer.catch(() => {});
    await isFlowing;
    const receivedAtSignal = received;
    signalled = true;
    const stopping = a.stop(); // SIGTERM with the stream under way
    await a.stderr.waitFor(/^shutting down \(signal SIGTERM\)/);
    shuttingDown = true;
    await writer;
    // The backend stops accepting and ends reading gracefully: it reads
    // what keeps arriving (a read that waits 50 ms ends it, so under load
    // the stream's tail may go unread), echoes every byte it read and
    // closes. The client reads all of that echo, byte for byte, then EOF,
    // not a reset.
    assertEquals(await reader, "EOF");
    assertEquals(mismatch, undefined, `echo differs at byte ${mismatch}`);
    assert(receivedAtSignal < received, "the stream was in flight");
    assertLessOrEqual(received, attempted);
    assertEquals((await stopping).code, 0);
    assertEquals(a.stderr.seen.at(-1), "shut down");
    const port = client.localAddr.port;
    const log = a.stderr.seen.join("\n");
    assertStringIncludes(
      log,
      `connection from 127.0.0.1:${port} via 127.0.0.1:`,
    );
    // Every byte it read was echoed, and every echoed byte arrived.
    assertStringIncludes(
      log,
      `closed 127.0.0.1:${port} (${received} bytes in, ${received} out)`,
    );
    // New clients reach the backup once HAProxy has seen a go.
    await haproxy.waitFor(/Server echo\/s0 is DOWN/);
    for (let i = 0; i < 3; i++) {
      const port = await echoThrough(haproxy.port, "after\n");
      // The backup logs the real client (its stderr may lag the reply).
      await b.stderr.waitFor(
        new RegExp(`^closed 127\\.0\\.0\\.1:${port} \\(6 bytes in, 6 out\\)$`),
      );
    }
    // HAProxy's checks of the backup (plain TCP: connect, reset) and the
    // shutdown are no error.
    assertEquals(errorLines(a), []);
    assertEquals(errorLines(b), []);
  },
);

Deno.test("echo --proxy-protocol: a direct client is refused and logged, the next one through a proxy served", async () => {
  await using echo = await Echo.start();
  // Trusted (loopback), but no header: refused before its handler.
  const direct = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
  await direct.write(new TextEncoder().encode("hello"));
  assertEquals(await direct.read(new Uint8Array(8)).catch(() => null), null);
  direct.close();
  await echo.stderr.waitFor(
    new RegExp(
      `^echo: Cannot read the PROXY header from 127\\.0\\.0\\.1:${direct.localAddr.port}: no PROXY header, as 0x68 \\("h"\\) starts neither "PROXY" \\(v1\\) nor the v2 signature: at byte offset 0$`,
    ),
  );
  await using proxied = await connect({ port: echo.port }, {
    proxyHeader: {
      version: 1,
      source: { hostname: "203.0.113.5", port: 4242 },
      destination: { hostname: "127.0.0.1", port: echo.port },
    },
  });
  await proxied.write("hi");
  assertEquals(decoder.decode(await proxied.readExactly(2)), "hi");
  await echo.stderr.waitFor(
    /^connection from 203\.0\.113\.5:4242 via 127\.0\.0\.1:\d+$/,
  );
  assertEquals((await echo.stop()).code, 0);
});

Deno.test("echo PROXY flags: clear errors for flags that do not go together", async () => {
  const cases: Array<[string[], string]> = [
    [["--proxy-from", "10.0.0.1"], "--proxy-from needs --proxy-protocol"],
    [["--proxy-optional"], "--proxy-optional needs --proxy-protocol"],
    [["--proxy-protocol"], "--proxy-protocol needs --proxy-from ADDR[/BITS]"],
    [
      ["--proxy-protocol", "--proxy-from", "lb.example.com"],
      'Cannot parse --proxy-from entry "lb.example.com": it is not an IPv4 or IPv6 address (host names are not resolved)',
    ],
    [
      ["--proxy-protocol", "--proxy-from", "10.0.0.0/33"],
      "the prefix length must be an integer in 0..32",
    ],
    [
      ["--proxy-protocol", "--proxy-from", "10.0.0.1", "--proxy-version", "3"],
      "--proxy-version must be v1, v2 or any",
    ],
    [
      ["--proxy-protocol", "--proxy-from", "10.0.0.1", "--unix", "/tmp/s"],
      "--proxy-protocol is for TCP",
    ],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runTool("echo", args);
    assertEquals(code, 2, args.join(" "));
    assertStringIncludes(stderr, message);
  }
});

Deno.test("echo: a client that resets (as a health check does after its header) is logged as a reset, not an error", async () => {
  await using echo = await Echo.start();
  // Python's socket with SO_LINGER 0: close() sends RST, as HAProxy's
  // checks do.
  const script = `
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", ${echo.port}))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.sendall(b"PROXY TCP4 198.51.100.1 127.0.0.1 5000 80\\r\\nhi")
assert s.recv(2) == b"hi"
s.close()
`;
  const { success } = await new Deno.Command("python3", {
    args: ["-c", script],
  }).output();
  assert(success);
  await echo.stderr.waitFor(
    /^closed 198\.51\.100\.1:5000 \(reset by the client, 2 bytes in, 2 out\)$/,
  );
  assertEquals((await echo.stop()).code, 0);
  assert(
    !echo.stderr.seen.some((line) => line.includes("error")),
    echo.stderr.seen.join("\n"),
  );
});
