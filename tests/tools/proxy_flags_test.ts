/**
 * The receiving side's PROXY protocol flags (`tools/_proxy_flags.ts`) on a
 * running server tool, `time`: `--proxy-protocol` logs the real client and
 * stamps its messages; `--proxy-optional` serves direct clients as they are
 * while still reading a trusted proxy's header (and refusing an untrusted
 * one); `--proxy-version v2` refuses a v1 header with the reason and serves
 * v2; `--proxy-timeout` cuts a silent client off after it, logged. The
 * usage errors are in `haproxy_test.ts` (echo) and `cat_proxy_test.ts`.
 *
 * @module
 */
import { encodeProxyHeader } from "../../framing/mod.ts";
import { connect, type Connection } from "../../tcp/mod.ts";
import { ToolProcess } from "../_spawn.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertMatch,
} from "../_utils.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client the tests put in PROXY headers. */
const CLIENT = { hostname: "203.0.113.5", port: 4242 };

/** `time --port 0 --proxy-protocol --proxy-from FROM ARGS…`, listening. */
class Time extends ToolProcess {
  port = 0;

  static async start(from: string, extra: string[] = []): Promise<Time> {
    const time = new Time("time", [
      "--port",
      "0",
      "--proxy-protocol",
      "--proxy-from",
      from,
      ...extra,
    ]);
    const [, port] = await time.stderr.waitFor(
      new RegExp(
        `^listening on 127\\.0\\.0\\.1:(\\d+) \\(PROXY protocol from ${
          from.replaceAll(".", "\\.")
        }\\)$`,
      ),
    );
    time.port = Number(port);
    return time;
  }
}

/** Sends `line` on `conn`'s socket and checks the stamped reply. */
async function stamped(
  conn: Connection,
  line: string,
): Promise<void> {
  await conn.write(`${line}\n`);
  assertMatch(
    decoder.decode(await conn.readUntil("\n")),
    new RegExp(
      `^\\[\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\] ${line}\\n$`,
    ),
  );
}

/** A v1 or v2 header naming {@linkcode CLIENT}, to `port`. */
function header(version: 1 | 2, port: number): Uint8Array {
  return encodeProxyHeader({
    transport: "tcp4",
    source: CLIENT,
    destination: { hostname: "127.0.0.1", port },
  }, { version });
}

/**
 * Connects plainly, sends `bytes`, and reads until the server closes:
 * what a refused client sees (no reply).
 */
async function refused(port: number, bytes: Uint8Array): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(bytes).catch(() => 0); // may be closed already
    assertEquals(await conn.read(new Uint8Array(64)).catch(() => null), null);
    return conn.localAddr.port;
  } finally {
    conn.close();
  }
}

Deno.test("time --proxy-protocol: the real client from the header is logged, and its messages stamped", async () => {
  await using time = await Time.start("127.0.0.1");
  {
    await using conn = await connect({ port: time.port }, {
      proxyHeader: {
        version: 1,
        source: CLIENT,
        destination: { hostname: "127.0.0.1", port: time.port },
      },
    });
    await stamped(conn, "hello");
    const [, via] = await time.stderr.waitFor(
      /^connection from 203\.0\.113\.5:4242 via 127\.0\.0\.1:(\d+)$/,
    );
    assertEquals(Number(via), conn.localAddr.port);
  }
  await time.stderr.waitFor(
    /^closed 203\.0\.113\.5:4242 \(6 bytes in, \d+ out\)$/,
  );
  assertEquals((await time.stop()).code, 0);
});

Deno.test("time --proxy-optional: a direct client is served as it is, a trusted header still read, an untrusted one refused", async () => {
  // Trusted: 127.0.0.1 only. Direct clients come from 127.0.0.1 too, so the
  // untrusted sender needs another address: 127.0.0.2 (Python binds it).
  await using time = await Time.start("127.0.0.1", ["--proxy-optional"]);
  {
    // No header: served, logged under its own address, no "via".
    await using direct = await connect({ port: time.port });
    await stamped(direct, "direct");
    await time.stderr.waitFor(
      new RegExp(`^connection from 127\\.0\\.0\\.1:${direct.localAddr.port}$`),
    );
  }
  {
    // A header from the trusted proxy: the real client.
    await using proxied = await connect({ port: time.port }, {
      proxyHeader: {
        version: 2,
        source: CLIENT,
        destination: { hostname: "127.0.0.1", port: time.port },
      },
    });
    await stamped(proxied, "proxied");
    await time.stderr.waitFor(
      /^connection from 203\.0\.113\.5:4242 via 127\.0\.0\.1:\d+$/,
    );
  }
  // A header from 127.0.0.2, which is not trusted: refused, logged.
  const { success, stdout, stderr } = await new Deno.Command("python3", {
    args: [
      "-c",
      `
import socket
s = socket.socket()
s.settimeout(10)
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", ${time.port}))
print(s.getsockname()[1], flush=True)
s.sendall(b"PROXY TCP4 203.0.113.5 127.0.0.1 4242 ${time.port}\\r\\nspoof\\n")
try:
    assert s.recv(64) == b""
except ConnectionResetError:
    pass
s.close()
`,
    ],
  }).output();
  assert(success, decoder.decode(stderr));
  const spoofer = Number(decoder.decode(stdout).trim());
  await time.stderr.waitFor(
    new RegExp(
      `^time: Cannot accept 127\\.0\\.0\\.2:${spoofer}: it sent a PROXY header but is not a trusted proxy \\(trusted: 127\\.0\\.0\\.1\\)`,
    ),
  );
  assertEquals((await time.stop()).code, 0);
});

Deno.test("time --proxy-version v2: a v1 header is refused with the reason, a v2 header served", async () => {
  await using time = await Time.start("127.0.0.1", ["--proxy-version", "v2"]);
  const port = await refused(
    time.port,
    new Uint8Array([...header(1, time.port), ...encoder.encode("v1\n")]),
  );
  await time.stderr.waitFor(
    new RegExp(
      `^time: Cannot read the PROXY header from 127\\.0\\.0\\.1:${port}: no PROXY v2 header, as 0x50 \\("P"\\) does not start the v2 signature \\(it may start a v1 header, which this decoder does not accept\\): at byte offset 0$`,
    ),
  );
  {
    await using conn = await connect({ port: time.port }, {
      proxyHeader: {
        version: 2,
        source: CLIENT,
        destination: { hostname: "127.0.0.1", port: time.port },
      },
    });
    await stamped(conn, "v2");
  }
  await time.stderr.waitFor(
    /^connection from 203\.0\.113\.5:4242 via 127\.0\.0\.1:\d+$/,
  );
  assertEquals((await time.stop()).code, 0);
});

Deno.test("time --proxy-timeout: a client that sends no header is cut off after it, and logged", async () => {
  await using time = await Time.start("127.0.0.1", [
    "--proxy-timeout",
    "0.3",
  ]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: time.port });
  const from = performance.now();
  try {
    // Silent: the server closes it once the 300 ms are up (never earlier;
    // the default would be 5 s).
    assertEquals(await conn.read(new Uint8Array(8)).catch(() => null), null);
    const waited = performance.now() - from;
    assertGreaterOrEqual(waited, 290);
    assert(waited < 5000, `${waited} ms`);
  } finally {
    conn.close();
  }
  await time.stderr.waitFor(
    new RegExp(
      `^time: Cannot read the PROXY header from 127\\.0\\.0\\.1:${conn.localAddr.port}: no complete header within 300 ms \\(0 bytes received\\)$`,
    ),
  );
  assertEquals((await time.stop()).code, 0);
});
