/**
 * Tests of `tcp/_node_conn.ts`, the adapter between `node:tls` and Deno's
 * TCP connections that sockit's TLS servers run on: the fast path (reads
 * handed straight to node:tls's TLS engine, its output written at once) is
 * the one this Deno takes, and both it and the plain-stream fallback carry
 * every byte, in order, with backpressure, against a real Deno TLS client.
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { NodeConn, nodeModules, Transport } from "../../tcp/_node_conn.ts";
import { testCertificates } from "../_tls.ts";
import { pattern, waitFor, within } from "./_helpers.ts";

const { ca, server: pair } = await testCertificates();

/** A node:tls server connection over a Transport, and its Deno client. */
interface Pair extends AsyncDisposable {
  server: NodeConn;
  transport: Transport;
  client: Deno.TlsConn;
}

/**
 * Connects a Deno TLS client to a node:tls server socket on a Transport,
 * with the fast path (`attach`) or without it (the fallback).
 */
async function tlsPair(
  attach: boolean,
  early: Uint8Array | null = null,
): Promise<Pair> {
  const { tls } = nodeModules();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connecting = Deno.connectTls({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCerts: [ca],
  });
  const tcp = await listener.accept();
  tcp.setNoDelay(true);
  const transport = new Transport(tcp);
  const socket = new tls.TLSSocket(transport.duplex, {
    isServer: true,
    secureContext: tls.createSecureContext({
      cert: pair.cert,
      key: pair.key,
    }),
  });
  if (attach) transport.attach(socket);
  const secure = new Promise<void>((resolve, reject) => {
    socket.once("secure", () => resolve());
    socket.once("error", reject);
  });
  const client = await connecting;
  await within(
    Promise.all([client.handshake(), secure]),
    5000,
    "the handshake",
  );
  if (early !== null) {
    // Sent before the server wraps its socket: node:tls holds it.
    await writeAll(client, early);
    await waitFor(
      () => socket.readableLength === early.length,
      "the early bytes",
    );
  }
  const server = new NodeConn(socket, tcp, transport);
  return {
    server,
    transport,
    client,
    [Symbol.asyncDispose]() {
      server.close();
      try {
        client.close();
      } catch { /* closed already */ }
      return Promise.resolve();
    },
  };
}

async function readExactly(
  read: (into: Uint8Array) => Promise<number | null>,
  size: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let filled = 0; filled < size;) {
    const n = await read(out.subarray(filled));
    if (n === null) throw new Error(`EOF after ${filled} of ${size} bytes`);
    filled += n;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

Deno.test("Transport.attach() finds node:tls's TLS engine on this Deno, so reads skip the stream machinery", async () => {
  await using pair = await tlsPair(true);
  assert(
    pair.transport.attached,
    "node:tls is not made as tcp/_node_conn.ts knows it: TLS servers fall back to the slower stream path",
  );
});

for (const attach of [true, false]) {
  const path = attach ? "the fast path" : "the stream fallback";

  Deno.test(`NodeConn over ${path}: every byte both ways, in order, small and large, then EOF`, async () => {
    await using pair = await tlsPair(attach);
    const { server, client } = pair;
    assertEquals(pair.transport.attached, attach);
    // One byte, then sizes around a TLS record and the read buffer's steps.
    for (const size of [1, 100, 16 * 1024 + 1, 300_000, 1 << 20]) {
      const sent = pattern(size, size);
      const writing = writeAll(client, sent);
      const got = await readExactly((into) => server.read(into), size);
      await writing;
      assertEquals(got, sent);
      const back = server.write(got);
      assertEquals(await readExactly((into) => client.read(into), size), sent);
      assertEquals(await back, size);
    }
    await client.closeWrite();
    assertEquals(await server.read(new Uint8Array(8)), null);
  });

  Deno.test(`NodeConn over ${path}: bytes that came before the NodeConn are read first, then the rest in order`, async () => {
    const early = pattern(1, 3000);
    await using pair = await tlsPair(attach, early);
    const { server, client } = pair;
    const late = pattern(2, 5000);
    await writeAll(client, late);
    const got = await readExactly((into) => server.read(into), 8000);
    assertEquals(got.subarray(0, 3000), early);
    assertEquals(got.subarray(3000), late);
  });

  Deno.test(`NodeConn over ${path}: a write resolves once the TCP socket took it, so a peer that does not read holds it back`, async () => {
    await using pair = await tlsPair(attach);
    const { server, client } = pair;
    const size = 16 << 20; // far more than the socket buffers hold
    const sent = pattern(7, size);
    let written = false;
    const writing = server.write(sent).then((n) => {
      written = true;
      return n;
    });
    // Nothing is read yet: the write cannot have finished.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals(written, false);
    const got = await readExactly((into) => client.read(into), size);
    assertEquals(await within(writing, 5000, "the write"), size);
    assertEquals(got, sent);
  });
}
