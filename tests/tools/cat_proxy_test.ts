/**
 * `cat` with load balancers and live progress: `--send-proxy v1|v2` (a
 * header naming cat's own addresses reaches a server reading them),
 * `--listen --proxy-protocol --proxy-from` (the real client logged, the
 * data untouched; a trusted address without a header refused; a header
 * from an address outside `--proxy-from` refused with the reason while the
 * trusted proxy is served), their usage errors, and
 * `--progress` with stderr as a pipe (one summary line) and as a
 * pseudo-terminal (a live line drawn in place, then the summary).
 *
 * @module
 */
import { connect, listen } from "../../tcp/mod.ts";
import { ROOT, TOOL_PERMISSIONS } from "../_spawn.ts";
import { encodeProxyHeader } from "../../framing/mod.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { Python } from "../tcp/_python.ts";
import { ptyScript } from "./_pty.ts";
import { deferred } from "../tcp/_helpers.ts";
import { assertCode, Cat, runCat } from "./_cat.ts";

for (const version of ["v1", "v2"] as const) {
  Deno.test(`cat --send-proxy ${version}: the server reads a header naming cat's own addresses, then the data`, async () => {
    const seen = deferred<[string, number, number, string]>();
    await using server = listen({ port: 0 }, async (conn) => {
      const data = new TextDecoder().decode(await conn.readExactly(6));
      seen.resolve([
        conn.remoteAddr.hostname,
        conn.remoteAddr.port,
        conn.proxyHeader!.version,
        data,
      ]);
      await conn.write("ok\n");
    }, { proxyProtocol: { from: "127.0.0.1" } });
    const result = await runCat(
      ["--send-proxy", version, "-v", "127.0.0.1", String(server.addr.port)],
      "hello\n",
    );
    assertCode(result, 0);
    assertEquals(result.stdout, "ok\n");
    const [hostname, port, sent, data] = await seen.promise;
    // The header names cat's own end of the connection, which -v logs.
    const from = result.stderr.join("\n").match(/from 127\.0\.0\.1:(\d+)/);
    assertEquals([hostname, port, sent, data], [
      "127.0.0.1",
      Number(from?.[1]),
      version === "v1" ? 1 : 2,
      "hello\n",
    ]);
  });
}

Deno.test("cat --listen --proxy-protocol: the real client is logged, the data untouched; a trusted address that sends no header is refused", async () => {
  await using cat = new Cat([
    "--listen",
    "--port",
    "0",
    "-k",
    "-v",
    "--proxy-protocol",
    "--proxy-from",
    "127.0.0.1",
  ]);
  const [, port] = await cat.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(PROXY protocol from 127\.0\.0\.1\)$/,
  );
  {
    await using client = await connect({ port: Number(port) }, {
      proxyHeader: {
        version: 2,
        source: { hostname: "203.0.113.7", port: 999 },
        destination: { hostname: "127.0.0.1", port: Number(port) },
      },
    });
    await client.write("through the balancer\n");
    await cat.stderr.waitFor(
      /^connection from 203\.0\.113\.7:999 via 127\.0\.0\.1:\d+$/,
    );
    await cat.waitForOutput("through the balancer\n");
  }
  // No header from a trusted address: refused, logged, and the next served.
  const direct = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(port),
  });
  await direct.write(new TextEncoder().encode("no header\n"));
  assertEquals(await direct.read(new Uint8Array(4)).catch(() => null), null);
  direct.close();
  await cat.stderr.waitFor(
    /^cat: Cannot read the PROXY header from 127\.0\.0\.1:\d+: /,
  );
  const result = await cat.stop();
  assertEquals(result.stdout, "through the balancer\n");
});

Deno.test("cat --listen --proxy-protocol: a header from an address outside --proxy-from is refused with the reason, and the trusted proxy is still served", async () => {
  // Only 127.0.0.2 is trusted; the test connects from 127.0.0.1.
  await using cat = new Cat([
    "--listen",
    "--port",
    "0",
    "-k",
    "-v",
    "--proxy-protocol",
    "--proxy-from",
    "127.0.0.2",
  ]);
  const [, port] = await cat.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(PROXY protocol from 127\.0\.0\.2\)$/,
  );
  // A header claiming another client, from an untrusted address: closed
  // before a byte of it is read, and logged with the reason.
  const spoofer = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(port),
  });
  const header = encodeProxyHeader({
    transport: "tcp4",
    source: { hostname: "203.0.113.66", port: 6666 },
    destination: { hostname: "127.0.0.1", port: Number(port) },
  }, { version: 1 });
  await spoofer.write(header).catch(() => 0); // may already be closed
  await spoofer.write(new TextEncoder().encode("spoofed\n")).catch(() => 0);
  assertEquals(await spoofer.read(new Uint8Array(4)).catch(() => null), null);
  spoofer.close();
  await cat.stderr.waitFor(
    new RegExp(
      `^cat: Cannot accept 127\\.0\\.0\\.1:${spoofer.localAddr.port}: a PROXY header is required and it is not a trusted proxy \\(trusted: 127\\.0\\.0\\.2\\)`,
    ),
  );
  // The trusted proxy, from 127.0.0.2 (Python binds the source address;
  // Deno.connect cannot): served, its client logged.
  const { success, stderr } = await new Deno.Command("python3", {
    args: [
      "-c",
      `
import socket
s = socket.socket()
s.settimeout(10)
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", ${Number(port)}))
s.sendall(b"PROXY TCP4 198.51.100.9 127.0.0.1 7777 ${port}\\r\\nvia the trusted proxy\\n")
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
s.close()
`,
    ],
    stdout: "null",
  }).output();
  assert(success, new TextDecoder().decode(stderr));
  await cat.stderr.waitFor(
    /^connection from 198\.51\.100\.9:7777 via 127\.0\.0\.2:\d+$/,
  );
  await cat.waitForOutput("via the trusted proxy\n");
  const result = await cat.stop();
  // Nothing of the refused connection reached stdout.
  assertEquals(result.stdout, "via the trusted proxy\n");
});

Deno.test("cat PROXY flags: clear errors for what cannot work", async () => {
  const cases: Array<[string[], string]> = [
    [["--send-proxy", "v3", "127.0.0.1", "9"], "--send-proxy must be v1 or v2"],
    [
      ["--listen", "--port", "0", "--send-proxy", "v1"],
      "--send-proxy is for connecting",
    ],
    [
      ["--udp", "--send-proxy", "v1", "127.0.0.1", "9"],
      "--send-proxy and --udp exclude each other",
    ],
    [
      ["--proxy-protocol", "--proxy-from", "127.0.0.1", "127.0.0.1", "9"],
      "--proxy-protocol needs --listen",
    ],
    [["--listen", "--port", "0", "--proxy-protocol"], "needs --proxy-from"],
    [
      ["--listen", "--port", "0", "--proxy-from", "::1"],
      "--proxy-from needs --proxy-protocol",
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCat(args);
    assertCode(result, 2);
    assertStringIncludes(result.stderr.join("\n"), message);
  }
});

Deno.test("cat --progress with stderr a pipe: one summary line at the end, no escape codes", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    for await (const chunk of conn) await conn.write(chunk);
  });
  const input = "x".repeat(3000);
  const result = await runCat(
    ["--progress", "127.0.0.1", String(server.addr.port)],
    input,
  );
  assertCode(result, 0);
  assertEquals(result.stdout, input);
  assertEquals(result.stderr.length, 1, result.stderr.join("\n"));
  assertMatch(
    result.stderr[0]!,
    /^cat: 2\.93 KiB sent, 2\.93 KiB received in \d+\.\d s \(/,
  );
  assertEquals(result.stderr[0]!.includes("\x1b"), false);
});

Deno.test("cat --progress with stderr a pseudo-terminal: a live line drawn in place, then the summary", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    for await (const chunk of conn) await conn.write(chunk);
  });
  // cat reads stdin from a pipe the driver holds open until the live line
  // shows the bytes, so the line is drawn while the relay runs.
  await using driver = Python.spawn(
    ptyScript(
      `
cat = child
cat.stdin.write(b'y' * 5000)
cat.stdin.flush()
assert read_until(b'4.88 KiB sent, 4.88 KiB received, ', 20), seen
cat.stdin.close()
code = cat.wait(20)
read_until(b' in ', 2)
print(json.dumps({'code': code, 'seen': seen.decode()}))
`,
      "pipe",
    ),
    [
      ROOT.pathname,
      Deno.execPath(),
      "run",
      ...TOOL_PERMISSIONS,
      "tools/cat.ts",
      "--progress",
      "127.0.0.1",
      server.addr.port,
    ],
  );
  const result = JSON.parse(await driver.line()) as {
    code: number;
    seen: string;
  };
  await driver.success();
  assertEquals(result.code, 0);
  const seen = result.seen.replaceAll("\x1b", "ESC");
  // Drawn in place: a carriage return and a clear before each redraw.
  assertMatch(seen, /\rESC\[Kcat: 4\.88 KiB sent, 4\.88 KiB received, /);
  // At the end, the summary replaces the live line.
  assertMatch(seen, /\rESC\[Kcat: 4\.88 KiB sent, 4\.88 KiB received in /);
});
