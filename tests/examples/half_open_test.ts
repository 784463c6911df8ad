import { assertEquals, assertMatch } from "../_utils.ts";
import { Example, python } from "./_example.ts";

Deno.test("half_open_client shuts down writing and still reads half_open_server's answer", async () => {
  await using server = await Example.spawn("half_open_server", ["0"]);
  const { port } = await server.listening();
  const client = await Example.spawn("half_open_client", [
    "127.0.0.1",
    String(port),
    "one two three",
  ]);
  const result = await client.finish();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(result.stdout, "you said: ONE TWO THREE\n");
  assertEquals(result.stderr, [
    "sent the request and shut down writing",
    "the server closed its side too",
  ]);
  await server.stderr.waitFor(
    /^127\.0\.0\.1:\d+ sent 13 characters, then EOF$/,
  );
  assertEquals((await server.stop()).code, 0);
});

Deno.test("half_open_server answers a Python client after its shutdown(SHUT_WR)", async () => {
  await using server = await Example.spawn("half_open_server", ["0"]);
  const { port } = await server.listening();
  const answer = await python(
    `
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(exchange(s, b"from ", b"python").decode(), end="")
`,
    [port],
  );
  assertEquals(answer, "you said: FROM PYTHON\n");
  assertMatch(
    (await server.stderr.waitFor(/sent \d+ characters/))[0],
    /sent 11 characters/,
  );
  assertEquals((await server.stop()).code, 0);
});
