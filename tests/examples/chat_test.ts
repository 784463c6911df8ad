import { lines } from "../../framing/delimiter.ts";
import { connect } from "../../tcp/connect.ts";
import type { FramedConnection } from "../../tcp/mod.ts";
import { assertEquals } from "../_utils.ts";
import { Example } from "./_example.ts";

const decoder = new TextDecoder();

async function next(chat: FramedConnection): Promise<string | null> {
  const line = await chat.receive();
  return line === null ? null : decoder.decode(line);
}

Deno.test("chat_server relays what chat_client says to the others in the room", async () => {
  await using server = await Example.spawn("chat_server", ["0"]);
  const { port } = await server.listening();
  await using conn = await connect({ port });
  const bob = conn.framed(lines());
  assertEquals(await next(bob), "welcome! what is your name?");
  await bob.send("bob");
  assertEquals(await next(bob), "* hello bob, 1 here");

  // alice says one thing and leaves at the end of her input.
  const alice = await Example.spawn(
    "chat_client",
    ["127.0.0.1", String(port)],
    { stdin: "alice\nhi bob\n" },
  );
  assertEquals(await next(bob), "* alice joined");
  assertEquals(await next(bob), "<alice> hi bob");
  assertEquals(await next(bob), "* alice left");
  const result = await alice.finish();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(
    result.stdout,
    "welcome! what is your name?\n* hello alice, 2 here\n",
  );

  await bob.send("anyone?"); // nobody else hears it
  await server.stderr.waitFor(/^<bob> anyone\?$/);
  const stopping = server.stop();
  assertEquals(await next(bob), null); // the room closes gracefully
  assertEquals((await stopping).code, 0);
});

Deno.test("chat_client exits when the server hangs up while it waits for input", async () => {
  await using server = await Example.spawn("chat_server", ["0"]);
  const { port } = await server.listening();
  await using client = await Example.spawn(
    "chat_client",
    ["127.0.0.1", String(port)],
    { stdin: "piped" },
  );
  await client.write("carol\n");
  await client.stdout.waitFor(/^\* hello carol, 1 here$/);
  assertEquals((await server.stop()).code, 0);
  const result = await client.finish(); // stdin is still open
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(
    result.stdout,
    "welcome! what is your name?\n* hello carol, 1 here\n",
  );
});

Deno.test("chat_server drops a client that sends a line over 1 KiB and keeps the room", async () => {
  await using server = await Example.spawn("chat_server", ["0"]);
  const { port } = await server.listening();
  await using conn = await connect({ port });
  const dave = conn.framed(lines());
  await next(dave);
  await dave.send("dave");
  assertEquals(await next(dave), "* hello dave, 1 here");
  {
    await using rude = await connect({ port });
    await rude.write(`eve\n${"x".repeat(2000)}\n`);
    assertEquals(await next(dave), "* eve joined");
    assertEquals(await next(dave), "* eve left");
  }
  await server.stderr.waitFor(/FrameTooLargeError/);
  await dave.send("still here");
  await server.stderr.waitFor(/^<dave> still here$/);
  assertEquals((await server.stop()).code, 0);
});
