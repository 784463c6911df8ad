import { bind } from "../../udp/socket.ts";
import { assertEquals } from "../_utils.ts";
import { Example, python } from "./_example.ts";

const decoder = new TextDecoder();

Deno.test("udp_client sends each line to udp_echo_server, which takes $PORT, and prints the echo", async () => {
  await using server = await Example.spawn("udp_echo_server", [], {
    env: { PORT: "0" },
  });
  const { port } = await server.listening();
  {
    // An empty line quits: the last line is never sent.
    await using client = await Example.spawn(
      "udp_client",
      ["127.0.0.1", String(port)],
      { stdin: "hello\nbrave world\n\nnever sent\n" },
    );
    const result = await client.finish();
    assertEquals(result.code, 0, result.stderr.join("\n"));
    assertEquals(result.stdout, "> hello\n> brave world\n> ");
  }
  const [, peer] = await server.stderr.waitFor(/^(\S+): 5 bytes$/);
  await server.stderr.waitFor(new RegExp(`^${peer}: 11 bytes$`));
  const result = await server.stop();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(result.stderr.at(-1), "shut down after 2 datagrams");
});

Deno.test("udp_echo_server sends a Python client's datagram back to its sendto() address", async () => {
  await using server = await Example.spawn("udp_echo_server", ["0"]);
  const { port } = await server.listening();
  const answer = await python(
    `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.sendto(b"from python", ("127.0.0.1", int(sys.argv[1])))
data, addr = s.recvfrom(1024)
print(data.decode(), addr == ("127.0.0.1", int(sys.argv[1])), s.getsockname()[1], sep="\\n")
`,
    [port],
  );
  const [text, fromServer, pythonPort] = answer.trimEnd().split("\n");
  assertEquals([text, fromServer], ["from python", "True"]);
  await server.stderr.waitFor(
    new RegExp(`^127\\.0\\.0\\.1:${pythonPort}: 11 bytes$`),
  );
  assertEquals((await server.stop()).code, 0);
});

Deno.test("udp_client prints timed out when no answer comes, and goes on with the next line", async () => {
  // A peer that drops the first datagram and answers the second.
  using peer = bind({ port: 0 });
  const { port } = peer.addr;
  await using client = await Example.spawn(
    "udp_client",
    ["127.0.0.1", String(port), "0.3"],
    { stdin: "piped" },
  );
  await client.write("lost\n");
  const lost = await peer.receive({ timeout: 10_000 });
  assertEquals(decoder.decode(lost.data), "lost");
  await client.stdout.waitFor(/timed out$/);
  await client.write("second\n");
  const second = await peer.receive({ timeout: 10_000 });
  assertEquals(decoder.decode(second.data), "second");
  assertEquals(second.from, lost.from); // one socket for the whole session
  await peer.send("answered", second.from);
  await client.stdout.waitFor(/answered$/);
  const result = await client.finish(); // end of input: quits
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(result.stdout, "> timed out\n> answered\n> ");
  assertEquals(result.stderr, []);
});
