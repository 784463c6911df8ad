// poll() with datagram sockets next to TCP connections (poll/poll.ts).
import { connect, listen } from "../../tcp/mod.ts";
import { poll, type PollEvent } from "../../poll/mod.ts";
import { bind } from "../../udp/mod.ts";
import { assert, assertEquals } from "../_utils.ts";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

Deno.test("one poll() loop serves a TCP client and a UDP socket", async () => {
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.write("from tcp");
    await conn.read(); // until the client closes
  });
  await using conn = await connect(server.addr);
  using socket = bind({ port: 0 });
  using sender = bind({ port: 0 });
  await sender.send("from udp", socket.addr);

  const poller = poll([conn, socket], { timeout: 2000 });
  const seen: string[] = [];
  for await (const event of poller) {
    if (event.type === "data") seen.push(`data ${text(event.data)}`);
    if (event.type === "datagram") {
      seen.push(`datagram ${text(event.data)}`);
      assertEquals(event.from, sender.addr);
    }
    if (event.type === "timeout" || seen.length === 2) break;
  }
  poller.close();
  assertEquals(seen.sort(), ["data from tcp", "datagram from udp"]);
});

Deno.test("an oversized datagram is an error event and the socket stays in the loop", async () => {
  using socket = bind({ port: 0 }, { maxDatagramSize: 8 });
  using sender = bind({ port: 0 });
  await sender.send("far too long for 8 bytes", socket.addr);
  await sender.send("short", socket.addr);
  const events: PollEvent[] = [];
  const poller = poll([socket], { timeout: 2000 });
  for await (const event of poller) {
    events.push(event);
    if (event.type === "datagram" || event.type === "timeout") break;
  }
  poller.close();
  assertEquals(events.map((e) => e.type), ["error", "datagram"]);
  const [error, datagram] = events;
  assert(error?.type === "error");
  assertEquals(error.error.name, "DatagramTooLargeError");
  assert(datagram?.type === "datagram");
  assertEquals(text(datagram.data), "short");
});

Deno.test("a datagram read but not delivered is handed back to the socket", async () => {
  using socket = bind({ port: 0 });
  using sender = bind({ port: 0 });
  const poller = poll([socket], { timeout: 50 });
  for await (const event of poller) {
    assertEquals(event.type, "timeout"); // nothing yet: the read is in flight
    break;
  }
  poller.close();
  await sender.send("kept", socket.addr);
  const { data } = await socket.receive({ timeout: 2000 });
  assertEquals(text(data), "kept");
});
