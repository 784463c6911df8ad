import { LOOPBACK_BROADCAST } from "../../udp/broadcast.ts";
import { bind } from "../../udp/socket.ts";
import { assertEquals } from "../_utils.ts";
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
