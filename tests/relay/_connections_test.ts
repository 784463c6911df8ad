// relay(conn, other): two connections joined, as a proxy does.
import { connect } from "../../tcp/connect.ts";
import type { Connection } from "../../tcp/connection.ts";
import { listen } from "../../tcp/listen.ts";
import { relay, type RelayResult } from "../../relay/mod.ts";
import { equals } from "../../_internal/std.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  concatBytes,
} from "../_utils.ts";
import { peerTest } from "../_peers.ts";
import {
  bytes,
  deferred,
  pattern,
  readAll,
  readUntilGone,
  text,
  within,
} from "../tcp/_helpers.ts";
import { Python } from "../tcp/_python.ts";

/** `size` random bytes. */
function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(out.subarray(at, at + 65536));
  }
  return out;
}

/**
 * A proxy in front of `backend`: each client is relayed to a new
 * connection to it; `results` gets each relay's outcome (or error).
 */
function proxyTo(
  backend: { addr: { port: number } },
  options: Parameters<typeof relay>[2] = {},
) {
  const results: (RelayResult | Error)[] = [];
  const ended = deferred<RelayResult | Error>();
  const server = listen({ port: 0 }, async (client) => {
    const target = await connect({ port: backend.addr.port });
    let outcome: RelayResult | Error;
    try {
      outcome = await relay(client, target, options);
    } catch (error) {
      outcome = error as Error;
    }
    results.push(outcome);
    ended.resolve(outcome);
  });
  return { server, results, ended: ended.promise };
}

Deno.test("relay() joins two connections: bytes both ways, each FIN passed on", async () => {
  const backendSaw = deferred<string>();
  await using backend = listen({ port: 0 }, async (conn) => {
    // Reads to EOF (the client's FIN came through), then answers.
    const request = text(await readAll(conn))!;
    backendSaw.resolve(request);
    await conn.write(`got ${request.length} bytes`);
  });
  const proxy = proxyTo(backend);
  await using _server = proxy.server;
  await using client = await connect(proxy.server.addr);
  await client.write("hello, ");
  await client.write("backend");
  await client.shutdown("write");
  assertEquals(await backendSaw.promise, "hello, backend");
  assertEquals(text(await readAll(client)), "got 14 bytes");
  assertEquals(await proxy.ended, {
    reason: "complete",
    bytesSent: 12,
    bytesReceived: 14,
  });
});

Deno.test("relay() between connections keeps sending after the target's FIN", async () => {
  await using backend = listen({ port: 0 }, async (conn) => {
    await conn.write("banner");
    await conn.shutdown("write"); // the backend is done talking, not listening
    const got = await readAll(conn);
    await conn.write(`${got.length}`).catch(() => {}); // after FIN: refused
  });
  const proxy = proxyTo(backend);
  await using _server = proxy.server;
  await using client = await connect(proxy.server.addr);
  assertEquals(text(await client.readExactly(6)), "banner");
  assertEquals(await client.read(), null); // the backend's FIN
  const big = pattern(7, 300_000);
  await client.write(big);
  await client.shutdown("write");
  const result = await proxy.ended;
  assert(!(result instanceof Error), String(result));
  assertEquals(result, {
    reason: "complete",
    bytesSent: 6,
    bytesReceived: 300_000,
  });
});

Deno.test("relay() between connections holds back a fast sender while the target does not read", async () => {
  const readNow = deferred();
  const received = deferred<Uint8Array>();
  await using backend = listen({ port: 0 }, async (conn) => {
    await readNow.promise;
    received.resolve(await readAll(conn));
  });
  let inFlight = 0;
  let most = 0;
  const proxy = proxyTo(backend, {
    onTraffic: (direction, chunk) => {
      if (direction === "received") {
        inFlight += chunk.length;
        most = Math.max(most, chunk.length);
      }
    },
  });
  await using _server = proxy.server;
  await using client = await connect(proxy.server.addr);
  // More than every socket buffer on the way can hold.
  const data = randomBytes(64 * 1024 * 1024);
  let written = false;
  const writing = client.write(data).then(() => written = true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert(!written, "the whole upload was taken while the backend read nothing");
  assert(inFlight < data.length, `the relay read ${inFlight} bytes`);
  readNow.resolve();
  await writing;
  await client.shutdown("write");
  const got = await received.promise;
  assertEquals(got.length, data.length);
  assert(equals(got, data), "bytes differ");
  assertLessOrEqual(most, 64 * 1024); // one reused buffer per direction
  assertEquals(await readUntilGone(client), "eof");
});

peerTest(
  "relay() between connections rejects when the target resets, and closes the client",
  ["python3"],
  async () => {
    // A Python backend that resets (SO_LINGER 0) after its first message.
    await using python = Python.spawn(
      [
        "srv = socket.create_server(('127.0.0.1', 0))",
        "print(srv.getsockname()[1])",
        "conn, _ = srv.accept()",
        "conn.sendall(b'partial')",
        "conn.recv(1)",
        "conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))",
        "conn.close()",
      ].join("\n"),
    );
    const backend = { addr: { port: await python.port() } };
    const proxy = proxyTo(backend);
    await using _server = proxy.server;
    await using client = await connect(proxy.server.addr);
    assertEquals(text(await client.readExactly(7)), "partial");
    await client.write("a");
    const ended = await within(proxy.ended, 5000, "the relay's end");
    assertInstanceOf(ended, Deno.errors.ConnectionReset);
    assertEquals(await readUntilGone(client), "eof");
    await python.success();
  },
);

Deno.test("relay() between connections ends both on its idle timeout", async () => {
  await using backend = listen({ port: 0 }, async (conn) => {
    await readAll(conn);
  });
  const proxy = proxyTo(backend, { idleTimeout: 100 });
  await using _server = proxy.server;
  await using client = await connect(proxy.server.addr);
  await client.write("x");
  const result = await within(proxy.ended, 3000, "the idle timeout");
  assertEquals(result, {
    reason: "idle-timeout",
    bytesSent: 0,
    bytesReceived: 1,
  });
  assertEquals(await readUntilGone(client), "eof");
});

Deno.test("relay() between connections passes a server's drain on: a quiet pair ends at once", async () => {
  await using backend = listen({ port: 0 }, async (conn) => {
    await readAll(conn);
  });
  const proxy = proxyTo(backend);
  await using client = await connect(proxy.server.addr);
  await client.write("hi");
  assertEquals(proxy.server.connections, 1);
  const started = performance.now();
  // A long grace period: the relay must not need it.
  await within(proxy.server.shutdown({ gracePeriod: 10_000 }), 3000, "drain");
  assertLessOrEqual(performance.now() - started, 2000);
  assertEquals(await proxy.ended, {
    reason: "stopped",
    bytesSent: 0,
    bytesReceived: 2,
  });
});

Deno.test("relay() between connections lets a reply in flight finish during a drain", async () => {
  const requested = deferred();
  await using backend = listen({ port: 0 }, async (conn) => {
    await conn.read();
    requested.resolve();
    // A reply that streams in pieces while the proxy drains.
    for (let i = 0; i < 10; i++) {
      await conn.write(pattern(i, 1000));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await conn.shutdown("write");
    await readAll(conn);
  });
  const proxy = proxyTo(backend);
  await using client = await connect(proxy.server.addr);
  await client.write("get");
  await requested.promise;
  const shutdown = proxy.server.shutdown({ gracePeriod: 10_000 });
  const reply = await readAll(client);
  await shutdown;
  assertEquals(
    reply,
    concatBytes(Array.from({ length: 10 }, (_, i) => pattern(i, 1000))),
  );
  const result = await proxy.ended;
  assert(!(result instanceof Error), String(result));
  assertEquals(result.reason, "stopped");
  assertEquals(result.bytesSent, 10_000);
});

Deno.test("relay() between connections: noHalfClose ends with the target, endWithPeer with the client", async () => {
  await using backend = listen({ port: 0 }, async (conn) => {
    await conn.write("bye");
    await conn.shutdown("write");
    await readAll(conn);
  });
  for (
    const [options, reason] of [
      // The target's FIN ends it.
      [{ noHalfClose: true }, "input-ended"],
      // The client's FIN ends it.
      [{ endWithPeer: true }, "peer-closed"],
    ] as const
  ) {
    const proxy = proxyTo(backend, options);
    await using _server = proxy.server;
    await using client = await connect(proxy.server.addr);
    assertEquals(text(await client.readExactly(3)), "bye");
    if (reason === "peer-closed") await client.shutdown("write");
    const result = await proxy.ended;
    assert(!(result instanceof Error), String(result));
    assertEquals(result.reason, reason);
    assertEquals(await readUntilGone(client), "eof");
  }
});

Deno.test("relay() refuses to join a connection to itself", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    await readAll(conn);
  });
  await using conn: Connection = await connect(server.addr);
  const error = await assertRejects(() => relay(conn, conn), TypeError);
  assertInstanceOf(error, TypeError);
  assertEquals(
    error.message,
    "Cannot relay a connection to itself: give two connections",
  );
  assertEquals(conn.closed, false);
  await conn.write(bytes("still usable"));
});
