import { connect } from "../../tcp/connect.ts";
import { assert, assertEquals, assertMatch } from "../_utils.ts";
import { Example } from "./_example.ts";

const decoder = new TextDecoder();

Deno.test("echo_client gets each line back with I get it! from echo_server, which takes $PORT and exits 0 on SIGTERM", async () => {
  await using server = await Example.spawn("echo_server", [], {
    env: { PORT: "0" },
  });
  const { port } = await server.listening();
  {
    // An empty line quits: the last line is never sent.
    await using client = await Example.spawn(
      "echo_client",
      ["127.0.0.1", String(port)],
      { stdin: "hello\nbrave world\n\nnever sent\n" },
    );
    const result = await client.finish();
    assertEquals(result.code, 0, result.stderr.join("\n"));
    assertEquals(
      result.stdout,
      "> hello\nI get it!\n> brave world\nI get it!\n> ",
    );
  }
  const [, peer] = await server.stderr.waitFor(/^connection from (\S+)$/);
  await server.stderr.waitFor(new RegExp(`^${peer} hung up$`));
  const result = await server.stop();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertMatch(result.stderr.join("\n"), /shutting down \(signal SIGTERM\)/);
});

Deno.test("echo_server answers a raw client and closes it after the idle timeout", async () => {
  await using server = await Example.spawn("echo_server", ["0", "0.2"]);
  const { port } = await server.listening();
  await using conn = await connect({ port });
  await conn.write("ping");
  assertEquals(
    decoder.decode(await conn.readExactly(15)),
    "ping\nI get it!\n",
  );
  assertEquals(await conn.read(), null); // silent for 0.2 s: closed
  await server.stderr.waitFor(/ was silent for 0\.2 s: closed$/);
  assertEquals((await server.stop()).code, 0);
});

Deno.test("echo_client says so when the server has closed the connection", async () => {
  await using server = await Example.spawn("echo_server", ["0", "0.2"]);
  const { port } = await server.listening();
  await using client = await Example.spawn(
    "echo_client",
    ["127.0.0.1", String(port)],
    { stdin: "piped" },
  );
  await client.write("first\n");
  await client.stdout.waitFor(/^I get it!$/);
  await server.stderr.waitFor(/ was silent for 0\.2 s: closed$/);
  await client.write("too late\n");
  const result = await client.finish();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assert(
    result.stdout.endsWith("the server closed the connection\n"),
    result.stdout,
  );
  assertEquals((await server.stop()).code, 0);
});
