import { connect } from "../../tcp/connect.ts";
import { assert, assertEquals } from "../_utils.ts";
import { Example } from "./_example.ts";

const MESSAGES = ['message "hello"', 'message "brave new"', 'message "world"'];

Deno.test("framing_client: framed modes deliver exactly three messages, raw mode only the bytes", async () => {
  await using server = await Example.spawn("framing_server", ["0"]);
  const { port } = await server.listening();
  const client = await Example.spawn("framing_client", [
    "127.0.0.1",
    String(port),
  ]);
  const { code, stdout } = await client.finish();
  assertEquals(code, 0);
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of stdout.trimEnd().split("\n")) {
    if (line.startsWith("  server: ")) current.push(line.slice(10));
    else sections.set(line.split(":")[0]!, current = []);
  }
  assertEquals([...sections.keys()], ["raw", "lines", "nul", "u16", "u32"]);
  for (const mode of ["lines", "nul", "u16", "u32"]) {
    assertEquals(sections.get(mode), MESSAGES, mode);
  }
  // Without framing the reads need not match the sends; the bytes do.
  const reads = sections.get("raw")!.map((line) => {
    assert(line.startsWith("read "), line);
    return JSON.parse(line.slice(5)) as string;
  });
  assertEquals(reads.join(""), "hellobrave newworld");
  assert(stdout.includes('u16: "hello" is 00 05 68 65 6c 6c 6f\n'), stdout);
  assertEquals((await server.stop()).code, 0);
});

Deno.test("framing_server decodes frames sent a byte at a time and survives an oversized frame", async () => {
  await using server = await Example.spawn("framing_server", ["0"]);
  const { port } = await server.listening();
  {
    await using conn = await connect({ port });
    // u32: "hi", then "there", each byte its own write.
    const bytes = [0, 0, 0, 2, 104, 105, 0, 0, 0, 5, 116, 104, 101, 114, 101];
    await conn.write("u32\n");
    for (const byte of bytes) await conn.write(new Uint8Array([byte]));
    await conn.shutdown("write");
    assertEquals(
      await new Response(conn.readable).text(),
      'message "hi"\nmessage "there"\n',
    );
  }
  {
    // A u32 header announcing 100000 bytes: over the 64 KiB limit.
    await using conn = await connect({ port });
    await conn.write("u32\n");
    await conn.write(new Uint8Array([0, 1, 0x86, 0xa0]));
    assertEquals(await conn.read(), null); // the server hung up on us
    await server.stderr.waitFor(/FrameTooLargeError/);
  }
  {
    await using conn = await connect({ port });
    await conn.write("xml\n");
    assertEquals(
      await new Response(conn.readable).text(),
      'unknown mode "xml"\n',
    );
  }
  assertEquals((await server.stop()).code, 0);
});
