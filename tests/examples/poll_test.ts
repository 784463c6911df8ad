import { connect } from "../../tcp/connect.ts";
import type { Connection } from "../../tcp/connection.ts";
import { bind, type DatagramSocket } from "../../udp/socket.ts";
import { assertEquals } from "../_utils.ts";
import { Example, python } from "./_example.ts";

const decoder = new TextDecoder();

async function ask(conn: Connection, text: string): Promise<string> {
  await conn.write(text);
  return decoder.decode(await conn.readExactly(text.length + 11));
}

async function askUdp(
  socket: DatagramSocket,
  port: number,
  text: string,
): Promise<string> {
  await socket.send(text, { hostname: "127.0.0.1", port });
  return decoder.decode((await socket.receive({ timeout: 10_000 })).data);
}

Deno.test("poll_server serves many TCP clients and a UDP socket from one loop and ends them all on SIGTERM", async () => {
  await using server = await Example.spawn("poll_server", ["0"]);
  const { port } = await server.listening();
  const [, udpPort] = await server.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(udp\)$/,
  );
  using datagrams = bind();
  await using a = await connect({ port });
  await using b = await connect({ port });
  await using c = await connect({ port });
  // Interleaved: each client gets its own answer.
  assertEquals(await ask(b, "from b"), "from b\nI get it!\n");
  assertEquals(await ask(a, "from a"), "from a\nI get it!\n");
  assertEquals(await ask(c, "from c"), "from c\nI get it!\n");
  assertEquals(await ask(a, "a again"), "a again\nI get it!\n");
  // Datagrams, between the TCP exchanges, in the same loop.
  assertEquals(
    await askUdp(datagrams, Number(udpPort), "over udp"),
    "over udp\nI get it!\n",
  );
  assertEquals(await ask(c, "c again"), "c again\nI get it!\n");

  // One leaves; the loop notices and keeps serving the others.
  const cPort = c.localAddr.port;
  c.close();
  await server.stderr.waitFor(new RegExp(`^127\\.0\\.0\\.1:${cPort} left$`));
  assertEquals(await ask(b, "b again"), "b again\nI get it!\n");

  // The interactive client works against it too.
  {
    await using client = await Example.spawn(
      "echo_client",
      ["127.0.0.1", String(port)],
      { stdin: "via the client\n" },
    );
    const result = await client.finish();
    assertEquals(result.code, 0);
    assertEquals(result.stdout, "> via the client\nI get it!\n> ");
  }
  {
    await using client = await Example.spawn(
      "udp_client",
      ["127.0.0.1", udpPort!],
      { stdin: "via udp_client\n" },
    );
    const result = await client.finish();
    assertEquals(result.code, 0, result.stderr.join("\n"));
    assertEquals(result.stdout, "> via udp_client\nI get it!\n> ");
  }
  const answer = await python(
    `
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"from python", ("127.0.0.1", int(sys.argv[1])))
print(repr(s.recvfrom(1024)[0]))
`,
    [udpPort!],
  );
  assertEquals(answer, "b'from python\\nI get it!\\n'\n");
  assertEquals(
    await askUdp(datagrams, Number(udpPort), "udp again"),
    "udp again\nI get it!\n",
  );

  const stopping = server.stop();
  assertEquals(await a.read(), null); // a graceful shutdown: EOF
  assertEquals(await b.read(), null);
  const result = await stopping;
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(result.stderr.at(-1), "shut down");
  assertEquals(
    result.stderr.filter((line) => line.startsWith("connection from")).length,
    4,
  );
  assertEquals(
    result.stderr.filter((line) => line.endsWith(" bytes (udp)")).length,
    4,
  );
});
