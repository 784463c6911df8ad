import { connect } from "../../tcp/connect.ts";
import { assertEquals, assertRejects } from "../_utils.ts";
import { Example, python } from "./_example.ts";

const decoder = new TextDecoder();

Deno.test("unix_echo_server echoes over a socket file, replaces a stale one, and removes it on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/echo.sock`;
    // A socket file left behind, as by a server that crashed.
    await python("socket.socket(socket.AF_UNIX).bind(sys.argv[1])", [path]);
    assertEquals((await Deno.lstat(path)).isSocket, true);

    await using server = await Example.spawn("unix_echo_server", [path]);
    assertEquals((await server.listening()).address, `unix:${path}`);
    {
      await using conn = await connect({ path });
      await conn.write("over a file");
      assertEquals(decoder.decode(await conn.readExactly(11)), "over a file");
    }
    const answer = await python(
      `
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print(exchange(s, b"from python").decode())
`,
      [path],
    );
    assertEquals(answer, "from python\n");
    await server.stderr.waitFor(/^client 2 hung up$/);
    const result = await server.stop();
    assertEquals(result.code, 0, result.stderr.join("\n"));
    await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
