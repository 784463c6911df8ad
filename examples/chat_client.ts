#!/usr/bin/env -S deno run --allow-net
/**
 * The client of `chat_server.ts`: it prints every line the room sends while
 * sending every line you type (the first one is your name). At the end of
 * input (Ctrl-D, or the end of piped input) it shuts down writing, prints
 * what is still on its way, and exits when the server has closed.
 *
 * ```sh
 * deno run --allow-net examples/chat_client.ts [host] [port]
 * ```
 *
 * Host and port default to 127.0.0.1 and 12345.
 *
 * @module
 */
import { FrameDecoderStream, lines, tcp } from "@sockit/sockit";

const [hostname = "127.0.0.1", port = "12345"] = Deno.args;
const decoder = new TextDecoder();

await using conn = await tcp.connect({ hostname, port: Number(port) });
const chat = conn.framed(lines());

// Two things at once, as a Python client would do with select() or a
// thread: print what the room says, and send what we type.
const input = Deno.stdin.readable
  .pipeThrough(new FrameDecoderStream(lines()))
  .getReader();
const printing = (async () => {
  for await (const line of chat) console.log(decoder.decode(line));
  await input.cancel(); // the server hung up: stop reading input too
})();
try {
  for (let next; !(next = await input.read()).done;) {
    await chat.send(next.value);
  }
  await conn.shutdown("write"); // done talking; the server says bye
} catch (error) {
  console.error(`cannot send: ${(error as Error).message}`);
}
await printing;
