import { LOOPBACK_BROADCAST } from "../../udp/broadcast.ts";
import { bind } from "../../udp/socket.ts";
import { assert, assertEquals } from "../_utils.ts";
import { Example, python } from "./_example.ts";

const decoder = new TextDecoder();

Deno.test("broadcast_sender's Hi there! reaches two broadcast_receivers on one port, and it prints every ACK", async () => {
  await using first = await Example.spawn("broadcast_receiver", ["0"]);
  const { port, address } = await first.listening();
  assertEquals(address, `127.255.255.255:${port}`);
  // SO_REUSEADDR: a second receiver shares the port.
  await using second = await Example.spawn("broadcast_receiver", [], {
    env: { PORT: String(port) },
  });
  await second.listening();

  await using sender = await Example.spawn(
    "broadcast_sender",
    [String(port), "2", "0.3"],
  );
  const result = await sender.finish();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  // Two sends, two receivers: four unicast ACKs, all from the shared port.
  assertEquals(result.stdout, `ACK from 127.0.0.1:${port}\n`.repeat(4));
  assertEquals(result.stderr, [
    `sending "Hi there!" to 127.255.255.255:${port} 2 times`,
    "4 ACKs",
  ]);

  for (const receiver of [first, second]) {
    const [, from] = await receiver.stdout.waitFor(
      /^Hi there! from (127\.0\.0\.1:\d+)$/,
    );
    await receiver.stdout.waitFor(new RegExp(`^Hi there! from ${from}$`));
    const stopped = await receiver.stop();
    assertEquals(stopped.code, 0, stopped.stderr.join("\n"));
    assertEquals(stopped.stderr.at(-1), "shut down after 2 ACKs");
  }
});

Deno.test("broadcast_receiver answers a Python SO_BROADCAST sender with a unicast ACK", async () => {
  await using receiver = await Example.spawn("broadcast_receiver", ["0"]);
  const { port } = await receiver.listening();
  const answer = await python(
    `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("127.0.0.1", 0))
s.sendto(b"Hi there!", ("127.255.255.255", int(sys.argv[1])))
data, addr = s.recvfrom(1024)
print(data.decode(), "%s:%d" % addr, s.getsockname()[1])
`,
    [port],
  );
  const [ack, from, pythonPort] = answer.trimEnd().split(" ");
  assertEquals([ack, from], ["ACK", `127.0.0.1:${port}`]);
  await receiver.stdout.waitFor(
    new RegExp(`^Hi there! from 127\\.0\\.0\\.1:${pythonPort}$`),
  );
  assertEquals((await receiver.stop()).code, 0);
});

Deno.test("broadcast_sender exits 1 when nobody answers", async () => {
  // A listener that hears the broadcast and keeps quiet.
  using silent = bind({ hostname: LOOPBACK_BROADCAST, port: 0 });
  const { port } = silent.addr;
  await using sender = await Example.spawn(
    "broadcast_sender",
    [String(port), "1", "0.1"],
  );
  const heard = await silent.receive({ timeout: 10_000 });
  assertEquals(decoder.decode(heard.data), "Hi there!");
  const result = await sender.finish();
  assertEquals(result.code, 1);
  assertEquals(result.stdout, "");
  assertEquals(result.stderr.at(-1), "0 ACKs");
});

Deno.test("broadcast_receiver never answers an ACK, answers one address 10 times a second at most, and escapes what it prints", async () => {
  await using receiver = await Example.spawn("broadcast_receiver", ["0"]);
  const { port } = await receiver.listening();
  using peer = bind({ hostname: "127.0.0.1", port: 0 });
  // It hears broadcasts only: it is bound to the broadcast address.
  const to = { hostname: LOOPBACK_BROADCAST, port };
  // Replies (a forged one would start an ACK storm between two receivers),
  // then a terminal command (CSI, ESC), then a burst past the rate.
  await peer.send("ACK", to);
  await peer.send("ACK from another receiver", to);
  await peer.send("red\u009b31m\u001b[2J\\", to);
  for (let i = 0; i < 14; i++) await peer.send(`burst ${i}`, to);
  await receiver.stdout.waitFor(/^ACK from 127\.0\.0\.1:\d+$/);
  await receiver.stdout.waitFor(/^ACK from another receiver from /);
  await receiver.stdout.waitFor(/^red\\x9b31m\\x1b\[2J\\\\ from /);
  await receiver.stdout.waitFor(/^burst 13 from /);
  const stopped = await receiver.stop();
  assertEquals(stopped.code, 0, stopped.stderr.join("\n"));
  // 15 datagrams asked for an ACK, the two ACKs for none: the bucket's
  // burst of 10 (one more if a tenth of a second passed), the rest counted.
  // Before: 17 ACKs, two of them answers to ACKs.
  const [, sent] = /^shut down after (\d+) ACKs$/.exec(stopped.stderr.at(-1)!)!;
  const [, withheld] = /^(\d+) ACKs not sent/.exec(stopped.stderr.at(-2)!)!;
  assertEquals(Number(sent) + Number(withheld), 15);
  assert(Number(sent) >= 10 && Number(sent) <= 11, `${sent} ACKs`);
  const acks: string[] = [];
  for (let i = 0; i < Number(sent); i++) {
    acks.push(decoder.decode((await peer.receive({ timeout: 5000 })).data));
  }
  assertEquals(acks, Array(Number(sent)).fill("ACK"));
});
