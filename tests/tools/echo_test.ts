import denoJson from "../../deno.json" with { type: "json" };
import { connect } from "../../tcp/connect.ts";
import { TimeoutError } from "../../net/errors.ts";
import { listen } from "../../tcp/listen.ts";
import { runTool, ToolProcess } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";

const decoder = new TextDecoder();

/** A running echo server, spawned as `deno run tools/echo.ts …`. */
class Echo extends ToolProcess {
  /** The address line: `127.0.0.1:PORT` or `unix:PATH`. */
  listening = "";
  port = 0;

  static async start(args: string[]): Promise<Echo> {
    const echo = new Echo("echo", args);
    const [, address, port] = await echo.stderr.waitFor(
      /^listening on (.*?(?::(\d+))?)$/,
    );
    echo.listening = address!;
    echo.port = Number(port ?? 0);
    return echo;
  }
}

/** Runs the echo tool to completion. */
function run(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runTool("echo", args);
}

Deno.test("echo sends each chunk back, logs the connection, and exits 0 on SIGTERM", async () => {
  await using echo = await Echo.start(["--port", "0"]);
  assertMatch(echo.listening, /^127\.0\.0\.1:\d+$/);
  assert(echo.port > 0);
  {
    await using conn = await connect({ port: echo.port });
    await conn.write("hello");
    assertEquals(decoder.decode(await conn.readExactly(5)), "hello");
    await conn.write("again");
    assertEquals(decoder.decode(await conn.readExactly(5)), "again");
    const [, from] = await echo.stderr.waitFor(
      /^connection from (127\.0\.0\.1:\d+)$/,
    );
    assertEquals(
      from,
      `127.0.0.1:${conn.localAddr.port}`,
    );
    await conn.shutdown("write");
    assertEquals(await conn.read(), null);
    await echo.stderr.waitFor(
      new RegExp(`^closed ${from} \\(10 bytes in, 10 out\\)$`),
    );
  }
  const status = await echo.stop();
  assertEquals(status.code, 0, echo.stderr.seen.join("\n"));
  assert(
    echo.stderr.seen.includes(
      "shutting down (signal SIGTERM), Ctrl-C again to stop at once",
    ),
  );
  assertEquals(echo.stderr.seen.at(-1), "shut down");
});

Deno.test("echo --suffix answers a Python client as the tutorial's server does", async () => {
  await using echo = await Echo.start([
    "--port",
    "0",
    "--suffix",
    "\\nI get it!\\n",
    "--quiet",
  ]);
  const client = `
import socket, sys
want = b"Hello, world\\nI get it!\\n"
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
    s.sendall(b"Hello, world")
    got = b""
    while len(got) < len(want):
        chunk = s.recv(1024)
        if not chunk:
            break
        got += chunk
print(repr(got))
`;
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: ["-c", client, String(echo.port)],
    stdin: "null",
  }).output();
  assertEquals(code, 0, decoder.decode(stderr));
  assertEquals(decoder.decode(stdout), "b'Hello, world\\nI get it!\\n'\n");
  assertEquals((await echo.stop()).code, 0);
  // --quiet: no connection logs.
  assertEquals(
    echo.stderr.seen.filter((l) => /^(connection|closed)/.test(l)),
    [],
  );
});

Deno.test("echo --suffix decodes \\t \\0 \\\\ and \\xHH into raw bytes", async () => {
  await using echo = await Echo.start([
    "--port",
    "0",
    "--suffix",
    "\\t\\0\\\\\\xff\\r",
  ]);
  {
    await using conn = await connect({ port: echo.port });
    await conn.write("x");
    assertEquals(
      await conn.readExactly(6),
      new Uint8Array([0x78, 0x09, 0x00, 0x5c, 0xff, 0x0d]),
    );
  }
  assertEquals((await echo.stop()).code, 0);
});

Deno.test("echo --idle-timeout closes a silent client and logs it", async () => {
  await using echo = await Echo.start(["--port", "0", "--idle-timeout", "0.3"]);
  {
    await using conn = await connect({ port: echo.port });
    await conn.write("hi");
    assertEquals(decoder.decode(await conn.readExactly(2)), "hi");
    const started = performance.now();
    conn.setTimeout(5000); // a bound, should the server not close it
    // Now silent: the server closes the connection.
    assertEquals(await conn.read(), null);
    assert(performance.now() - started >= 250, "closed too early");
    const port = conn.localAddr.port;
    await echo.stderr.waitFor(
      new RegExp(`^timeout 127\\.0\\.0\\.1:${port} after 0\\.3 s idle$`),
    );
    await echo.stderr.waitFor(
      new RegExp(`^closed 127\\.0\\.0\\.1:${port} \\(2 bytes in, 2 out\\)$`),
    );
  }
  assertEquals((await echo.stop()).code, 0);
});

Deno.test("echo --quiet says nothing of clients that time out or reset, and serves on", async () => {
  await using echo = await Echo.start([
    "--port",
    "0",
    "--quiet",
    "--idle-timeout",
    "0.3",
  ]);
  {
    // Silent after one echo: closed by the idle timeout.
    await using conn = await connect({ port: echo.port });
    await conn.write("hi");
    assertEquals(decoder.decode(await conn.readExactly(2)), "hi");
    conn.setTimeout(5000); // a bound, should the server not close it
    assertEquals(await conn.read(), null);
  }
  // A client that resets its connection (SO_LINGER 0) after one echo.
  const reset = `
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"x")
assert s.recv(1) == b"x"
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
`;
  const { code, stderr } = await new Deno.Command("python3", {
    args: ["-c", reset, String(echo.port)],
    stdin: "null",
  }).output();
  assertEquals(code, 0, decoder.decode(stderr));
  {
    await using conn = await connect({ port: echo.port });
    await conn.write("next");
    assertEquals(decoder.decode(await conn.readExactly(4)), "next");
  }
  assertEquals((await echo.stop()).code, 0);
  assertEquals(
    echo.stderr.seen.filter((line) =>
      !/^(listening on |shutting down|shut down$)/.test(line)
    ),
    [],
  );
});

Deno.test("echo --max-conns 1 closes a second client at once and serves the next one", async () => {
  await using echo = await Echo.start(["--port", "0", "--max-conns", "1"]);
  {
    await using first = await connect({ port: echo.port });
    await first.write("1");
    assertEquals(decoder.decode(await first.readExactly(1)), "1");
    {
      await using second = await connect({ port: echo.port });
      second.setTimeout(5000); // a bound, should it be served after all
      // Closed by the server without a byte: EOF, or a reset.
      const end = await second.read().catch((error) => error);
      assert(
        end === null ||
          (end instanceof Error && !(end instanceof TimeoutError)),
        String(end),
      );
    }
    // The first client is still served.
    await first.write("2");
    assertEquals(decoder.decode(await first.readExactly(1)), "2");
  }
  await echo.stderr.waitFor(/^closed .* \(2 bytes in, 2 out\)$/);
  {
    await using third = await connect({ port: echo.port });
    await third.write("3");
    assertEquals(decoder.decode(await third.readExactly(1)), "3");
  }
  assertEquals((await echo.stop()).code, 0);
});

Deno.test("echo --unix serves a Unix socket and removes it at shutdown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockit_echo_" });
  const path = `${dir}/echo.sock`;
  try {
    await using echo = await Echo.start(["--unix", path]);
    assertEquals(echo.listening, `unix:${path}`);
    {
      await using conn = await connect({ path });
      await conn.write("over unix");
      assertEquals(decoder.decode(await conn.readExactly(9)), "over unix");
    }
    await echo.stderr.waitFor(/^closed unix:.* \(9 bytes in, 9 out\)$/);
    assertEquals((await echo.stop()).code, 0);
    const gone = await Deno.stat(path).then(() => false, () => true);
    assert(gone, "the socket file is still there");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("echo --help prints the usage on stdout and exits 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const { code, stdout, stderr } = await run([flag]);
    assertEquals(code, 0);
    assertEquals(stderr, "");
    assertMatch(stdout, /^Usage: echo /);
    for (
      const name of [
        "--host",
        "--port",
        "--unix",
        "--suffix",
        "--idle-timeout",
        "--max-conns",
        "--grace",
        "--quiet",
        "--version",
      ]
    ) {
      assertStringIncludes(stdout, name);
    }
  }
});

Deno.test("echo --version prints deno.json's version", async () => {
  const { code, stdout } = await run(["--version"]);
  assertEquals(code, 0);
  assertEquals(stdout, `sockit-echo ${denoJson.version}\n`);
});

Deno.test("echo rejects bad flags with one line naming the flag, exit 2", async () => {
  const cases: [args: string[], names: string][] = [
    [["--bogus"], "--bogus"], // unknown flag
    [["--port", "65536"], "--port"], // port out of range
    [["--port", "http"], "--port"], // port not a number
    [["--port"], "--port"], // missing value
    [["--port", "--quiet"], "--port"], // a flag where the value should be
    [["--idle-timeout", "soon"], "--idle-timeout"], // non-numeric timeout
    [["--idle-timeout", "0"], "--idle-timeout"], // zero timeout
    [["--grace", "-1"], "--grace"], // negative grace period
    [["--max-conns", "1.5"], "--max-conns"], // not an integer
    [["--unix", "/tmp/x.sock", "--port", "1"], "--unix"], // unix and port
    [["--unix", "/tmp/x.sock", "--host", "::1"], "--host"], // unix and host
    [["--host", "a b"], "--host"], // not a host
    [["--suffix", "\\q"], "--suffix"], // unknown escape
    [["--suffix", "\\x4"], "--suffix"], // short \x escape
    [["--quiet=yes"], "--quiet"], // value for a boolean flag
    [["extra"], "extra"], // positional argument
  ];
  for (const [args, name] of cases) {
    const { code, stdout, stderr } = await run(args);
    const where = `echo ${args.join(" ")}: ${stderr}`;
    assertEquals(code, 2, where);
    assertEquals(stdout, "", where);
    assertEquals(stderr.split("\n").length, 2, where); // one line + "\n"
    assertStringIncludes(stderr, name, where);
    assertMatch(stderr, /^echo: .*; try --help\n$/, where);
  }
});

Deno.test("echo exits 1 with one line when the address is in use", async () => {
  await using taken = listen({ port: 0 }, () => {});
  const port = taken.addr.port;
  const { code, stdout, stderr } = await run(["--port", String(port)]);
  assertEquals(code, 1, stderr);
  assertEquals(stdout, "");
  assertEquals(
    stderr,
    `echo: Cannot listen on 127.0.0.1:${port}: the address is in use\n`,
  );
});
