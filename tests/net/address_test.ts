/**
 * `SocketAddress<T>` and the typed addresses it gives servers, connections
 * and datagrams: each assignment below compiles only because the type
 * narrows by itself (no `"port" in addr`, no cast), and the values are
 * checked at run time too. `formatAddress()` for every kind.
 *
 * @module
 */
import { formatAddress, type SocketAddress } from "../../net/mod.ts";
import { connect, listen, type Server } from "../../tcp/mod.ts";
import { bind, type Datagram, serveDatagrams } from "../../udp/mod.ts";
import { assert, assertEquals } from "../_utils.ts";

Deno.test("a TCP server, its connections and a client have ports without narrowing", async () => {
  const ports: number[] = [];
  await using server = listen({ port: 0 }, (conn) => {
    ports.push(conn.remoteAddr.port, conn.localAddr.port);
  });
  const typed: Server<"tcp"> = server;
  const addr: SocketAddress<"tcp"> = typed.addr;
  const port: number = addr.port;
  const hostname: string = addr.hostname;
  assertEquals([addr.transport, hostname], ["tcp", "127.0.0.1"]);
  await using conn = await connect({ port });
  const peerPort: number = conn.remoteAddr.port;
  assertEquals(peerPort, port);
  await conn.read(); // EOF once the handler returned
  assertEquals(ports, [conn.localAddr.port, port]);
});

Deno.test("a Unix server and its client have paths without narrowing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/typed.sock`;
    await using server = listen({ path }, () => {});
    const file: string = server.addr.path;
    await using conn = await connect({ path });
    const peer: SocketAddress<"unix"> = conn.remoteAddr;
    assertEquals([file, peer.path], [path, path]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a UDP socket and its datagrams' senders have ports without narrowing", async () => {
  using server = bind({ port: 0 });
  const senders: number[] = [];
  await using _serving = serveDatagrams(server, (datagram) => {
    senders.push(datagram.from.port); // Datagram<"udp">
    return "ack";
  });
  using client = bind();
  await client.send("hi", { port: server.addr.port });
  const reply: Datagram<"udp"> = await client.receive({ timeout: 1000 });
  assertEquals(reply.from.port, server.addr.port);
  assertEquals(senders, [client.addr.port]);
});

Deno.test("the unnarrowed SocketAddress still takes every kind", () => {
  const all: SocketAddress[] = [
    { transport: "tcp", hostname: "::1", port: 80 },
    { transport: "udp", hostname: "127.0.0.1", port: 53 },
    { transport: "unix", path: "/tmp/s" },
    { transport: "unixpacket", path: "" },
  ];
  assertEquals(all.map(formatAddress), [
    "[::1]:80",
    "127.0.0.1:53",
    "unix:/tmp/s",
    "unix:",
  ]);
  for (const addr of all) {
    // A union still narrows on its fields.
    if ("port" in addr) {
      assert(addr.transport === "tcp" || addr.transport === "udp");
    }
  }
});
