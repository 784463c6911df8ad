/**
 * The echo tool behind a real HAProxy (`mode tcp`, two sockit backends):
 * with `send-proxy` and with `send-proxy-v2` the tool logs each client's
 * real address and port, connections reach both backends, HAProxy's health
 * checks (plain and `check-send-proxy`) do not disturb the servers, and a
 * backend shut down gracefully loses no byte it acknowledged while the
 * other keeps serving. Also: the PROXY flags' errors, and a direct client
 * refused.
 *
 * @module
 */
import { freePort, hasHaproxy } from "../_haproxy.ts";
import { connect } from "../../tcp/mod.ts";
import { Lines, runTool, ToolProcess } from "../_spawn.ts";
import { assert, assertEquals, assertStringIncludes } from "../_utils.ts";

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
        "defaults",
        "  mode tcp",
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

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.#child.status;
    await this.#stderr.done;
    await Deno.remove(this.#dir, { recursive: true });
  }
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

for (const version of ["send-proxy", "send-proxy-v2"] as const) {
  Deno.test({
    name:
      `echo behind HAProxy (${version}): real client addresses logged, both backends used, health checks harmless`,
    ignore: !(await hasHaproxy()),
    async fn() {
      await using a = await Echo.start();
      await using b = await Echo.start();
      await using haproxy = await Haproxy.start(
        [a, b],
        `${version} check check-send-proxy inter 100`,
      );
      const ports: number[] = [];
      for (let i = 0; i < 4; i++) {
        ports.push(await echoThrough(haproxy.port, `hello ${i}\n`));
      }
      // Round robin: two clients each, each logged with its own port.
      const logged = [...a.stderr.seen, ...b.stderr.seen].join("\n");
      for (const port of ports) {
        assertStringIncludes(
          logged,
          `connection from 127.0.0.1:${port} via 127.0.0.1:`,
        );
      }
      const perBackend = [a, b].map((echo) =>
        ports.filter((port) =>
          echo.stderr.seen.some((line) =>
            line.startsWith(`connection from 127.0.0.1:${port} via`)
          )
        ).length
      );
      assertEquals(perBackend, [2, 2]);
      // HAProxy's TCP checks (connect, then a reset; every 100 ms) are
      // neither served nor errors.
      for (const echo of [a, b]) {
        assert(
          !echo.stderr.seen.some((line) => line.includes("error")),
          echo.stderr.seen.join("\n"),
        );
      }
      assertEquals((await a.stop()).code, 0);
      assertEquals((await b.stop()).code, 0);
    },
  });
}

Deno.test({
  name:
    "echo behind HAProxy: a backend shut down gracefully loses no acknowledged byte, the other keeps serving",
  ignore: !(await hasHaproxy()),
  async fn() {
    await using a = await Echo.start();
    await using b = await Echo.start();
    // Every client goes to a while it is up; b is the backup. Checks every
    // 100 ms mark a down at its first failure.
    await using haproxy = await Haproxy.start(
      [a, b],
      (i) => `send-proxy-v2 check inter 100 fall 1${i === 1 ? " backup" : ""}`,
    );
    await using client = await connect({ port: haproxy.port });
    await client.write("x");
    await client.readExactly(1);
    const serving = a;
    const other = b;
    // A transfer on the backend about to stop: everything echoed so far
    // is acknowledged.
    const chunk = new Uint8Array(64 * 1024).fill(7);
    let echoed = 1;
    for (let i = 0; i < 8; i++) {
      await client.write(chunk);
      echoed += (await client.readExactly(chunk.length)).length;
    }
    const stopping = serving.stop();
    await serving.stderr.waitFor(/^shut down$/);
    // The stopped backend read EOF at its shutdown: the client gets EOF
    // after every byte it was sent, never a reset.
    assertEquals(await client.read(), null);
    assertEquals(echoed, 1 + 8 * chunk.length);
    assertEquals((await stopping).code, 0);
    assertStringIncludes(
      serving.stderr.seen.join("\n"),
      `(${echoed} bytes in, ${echoed} out)`,
    );
    // New clients reach the backup once HAProxy has seen a go.
    await haproxy.waitFor(/Server echo\/s0 is DOWN/);
    for (let i = 0; i < 3; i++) {
      const port = await echoThrough(haproxy.port, "after\n");
      // The backup logs the real client (its stderr may lag the reply).
      await other.stderr.waitFor(
        new RegExp(`^closed 127\\.0\\.0\\.1:${port} \\(6 bytes in, 6 out\\)$`),
      );
    }
    // HAProxy's checks of the backup (header, then a reset) are no error.
    assert(
      !other.stderr.seen.some((line) => line.includes("error")),
      `${other.stderr.seen.join("\n")}\n---\n${serving.stderr.seen.join("\n")}`,
    );
  },
});

Deno.test("echo --proxy-protocol: a direct client is refused and logged, the next one through a proxy served", async () => {
  await using echo = await Echo.start();
  // Trusted (loopback), but no header: refused before its handler.
  const direct = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
  await direct.write(new TextEncoder().encode("hello"));
  assertEquals(await direct.read(new Uint8Array(8)).catch(() => null), null);
  direct.close();
  const [line] = await echo.stderr.waitFor(
    /^echo: Cannot read the PROXY header from 127\.0\.0\.1:\d+: .*$/,
  );
  assert(line.includes(`127.0.0.1:${direct.localAddr.port}`), line);
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
