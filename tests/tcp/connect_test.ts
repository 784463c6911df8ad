/**
 * `connect()` over loopback: refused connections, the connect timeout (on a
 * Python listener whose accept queue is full, so the SYN goes unanswered),
 * `timeout` kept for reads as Python's `create_connection` keeps it and
 * `connectTimeout` for the connect alone, `signal`, and argument checks.
 *
 * @module
 */
import {
  connect,
  type Connection,
  listen,
  TimeoutError,
} from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  type ErrorClass,
} from "../_utils.ts";
import { closedPort, deferred, echo, text } from "./_helpers.ts";
import { Python } from "./_python.ts";

Deno.test("connect() to a port no one listens on rejects with ConnectionRefused naming the address", async () => {
  const port = closedPort();
  const error = await assertRejects(
    () => connect({ port }),
    Deno.errors.ConnectionRefused,
  );
  assertStringIncludes(error.message, `127.0.0.1:${port}`);
  assertStringIncludes(error.message, "refused");
});

Deno.test("connect() defaults the hostname to 127.0.0.1 and clears its timer when it connects in time", async () => {
  await using server = listen({ port: 0 }, (conn) => conn.write("hi"));
  await using conn = await connect({ port: server.addr.port }, {
    timeout: 5000,
  });
  assertEquals(text(await conn.read()), "hi");
  assertEquals(conn.remoteAddr, server.addr);
});

Deno.test("connect() with a timeout keeps it as the read timeout, as Python's create_connection does", async () => {
  const go = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    await go.promise;
    await conn.write("in the end");
    await conn.read(); // until the client closes
  });
  await using conn = await connect(server.addr, { timeout: 60 });
  assertEquals(conn.timeout, 60);
  const error = await assertRejects(() => conn.read(), TimeoutError);
  assertEquals(error.timeout, 60);
  // The read that timed out lost nothing: the data comes to the next one.
  conn.setTimeout(null);
  const pending = conn.readExactly(10);
  go.resolve();
  assertEquals(text(await pending), "in the end");
});

Deno.test("connect() with connectTimeout limits only the connect; it overrides timeout for the connect", async () => {
  await using server = listen({ port: 0 }, echo);
  await using plain = await connect(server.addr, { connectTimeout: 1000 });
  assertEquals(plain.timeout, null);
  await using both = await connect(server.addr, {
    connectTimeout: 1000,
    timeout: 250,
  });
  assertEquals(both.timeout, 250);
  await using none = await connect(server.addr, { timeout: null });
  assertEquals(none.timeout, null);
  await both.write("ok");
  assertEquals(text(await both.readExactly(2)), "ok");
});

/**
 * A Python listener with `listen(0)` that never accepts: once its accept
 * queue is full the kernel drops new SYNs, and a connect hangs. It exits
 * when its stdin closes.
 */
const FULL_BACKLOG_SERVER = `
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
print(srv.getsockname()[1])
sys.stdin.read()
srv.close()
`;

/**
 * Fills the accept queue of a {@linkcode FULL_BACKLOG_SERVER}: connects
 * until a connect times out. Returns the connections it holds and that
 * timeout error.
 */
async function fillBacklog(port: number): Promise<[Connection[], unknown]> {
  const held: Connection[] = [];
  for (let i = 0; i < 8; i++) {
    try {
      held.push(await connect({ port }, { timeout: 250 }));
    } catch (error) {
      return [held, error];
    }
  }
  for (const conn of held) conn.close();
  throw new Error(
    "8 connects to a listen(0) socket that never accepts all succeeded: this kernel does not make connect() hang",
  );
}

Deno.test("connect() with a timeout rejects with TimeoutError when the server never answers, and signal aborts a hanging connect", async (t) => {
  await using python = Python.spawn(FULL_BACKLOG_SERVER);
  const port = await python.port();
  const [held, error] = await fillBacklog(port);
  try {
    await t.step("timeout", () => {
      assert(held.length >= 1, "the first connect should fill the queue");
      assertInstanceOf(error, TimeoutError);
      assertEquals([error.name, error.timeout], ["TimeoutError", 250]);
      assertStringIncludes(error.message, `127.0.0.1:${port}`);
    });

    await t.step("signal aborted while the connect hangs", async () => {
      const controller = new AbortController();
      const attempt = connect({ port }, { signal: controller.signal });
      const reason = new Error("user gave up");
      controller.abort(reason);
      assertStrictEquals(await attempt.catch((e) => e), reason);
    });

    await t.step("AbortSignal.timeout()", async () => {
      const error = await attempt(() =>
        connect({ port }, { signal: AbortSignal.timeout(100) })
      );
      assertInstanceOf(error, DOMException);
      assertEquals(error.name, "TimeoutError");
    });

    await t.step(
      "timeout and signal together: the timeout wins first",
      async () => {
        const controller = new AbortController();
        const error = await attempt(() =>
          connect({ port }, { timeout: 100, signal: controller.signal })
        );
        assertInstanceOf(error, TimeoutError);
        assertEquals(error.timeout, 100);
      },
    );

    await t.step(
      "connectTimeout limits the connect, whatever timeout says",
      async () => {
        const error = await attempt(() =>
          connect({ port }, { connectTimeout: 100, timeout: 60_000 })
        );
        assertInstanceOf(error, TimeoutError);
        assertEquals(error.timeout, 100);
      },
    );

    await t.step(
      "timeout: Infinity waits until the signal aborts",
      async () => {
        // Timers fire at once past 2**31 - 1 ms: Infinity must mean no limit.
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 150);
        try {
          const error = await attempt(() =>
            connect({ port }, { timeout: Infinity, signal: controller.signal })
          );
          assertInstanceOf(error, DOMException);
          assertEquals(error.name, "AbortError");
        } finally {
          clearTimeout(timer);
        }
      },
    );
  } finally {
    for (const conn of held) conn.close();
  }
  assertEquals(await python.success(), []);
});

async function attempt(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("Expected a rejection");
}

Deno.test("connect() with an already-aborted signal rejects at once without connecting", async () => {
  const accepted = deferred();
  await using server = listen({ port: 0 }, async (conn) => {
    accepted.resolve();
    await echo(conn);
  });
  const reason = new Error("aborted before the call");
  const error = await attempt(() =>
    connect(server.addr, { signal: AbortSignal.abort(reason) })
  );
  assertStrictEquals(error, reason);
  await using conn = await connect(server.addr);
  await accepted.promise;
  assertEquals(server.acceptedConnections, 1);
  await conn.write("only me");
  assertEquals(text(await conn.readExactly(7)), "only me");
});

Deno.test("connect() rejects bad addresses and options before connecting", async () => {
  // Each row: the call, what is wrong with it, the error class.
  const cases: [string, () => Promise<unknown>, ErrorClass][] = [
    ["port 65536", () => connect({ port: 65536 }), RangeError],
    ["port 1.5", () => connect({ port: 1.5 }), RangeError],
    [
      "a negative timeout",
      () => connect({ port: 1 }, { timeout: -1 }),
      RangeError,
    ],
    [
      "a NaN timeout",
      () => connect({ port: 1 }, { timeout: Number.NaN }),
      RangeError,
    ],
    [
      "a negative connectTimeout",
      () => connect({ port: 1 }, { connectTimeout: -5 }),
      RangeError,
    ],
    ["an empty path", () => connect({ path: "" }), TypeError],
    [
      "no address",
      () => connect(null as unknown as { port: number }),
      TypeError,
    ],
  ];
  for (const [name, call, ErrorClass] of cases) {
    await assertRejects(call, ErrorClass, undefined, name);
  }
});
