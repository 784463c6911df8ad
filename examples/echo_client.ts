#!/usr/bin/env -S deno run --allow-net
/**
 * The interactive client of the echo server (`echo_server.ts`): it reads a
 * line at the `> ` prompt, sends it, and prints the server's answer (the
 * line back, then `I get it!`). An empty line, or the end of input, quits;
 * it works with piped input too (`printf 'hi\n' | deno run …`).
 *
 * ```sh
 * deno run --allow-net examples/echo_client.ts [host] [port]
 * ```
 *
 * Host and port default to 127.0.0.1 and 12345.
 *
 * @module
 */
import { FrameDecoderStream, lines, tcp } from "@sockit/sockit";

const [hostname = "127.0.0.1", port = "12345"] = Deno.args;
const ANSWER = new TextEncoder().encode("\nI get it!\n");
const PROMPT = new TextEncoder().encode("> ");
const decoder = new TextDecoder();

await using conn = await tcp.connect({ hostname, port: Number(port) }, {
  timeout: 5000, // socket.create_connection(address, timeout=5)
});
const input = Deno.stdin.readable.pipeThrough(
  new FrameDecoderStream(lines()), // \n or \r\n, like input()
);

Deno.stdout.writeSync(PROMPT);
for await (const line of input) {
  if (line.length === 0) break; // an empty line quits
  await conn.write(line);
  try {
    // The echo and the answer are this many bytes. (The server answers
    // each read; on loopback a short line arrives in one piece, but
    // framing_client.ts shows why real protocols frame their messages.)
    const reply = await conn.readExactly(line.length + ANSWER.length);
    console.log(decoder.decode(reply).trimEnd());
  } catch {
    // EOF (IncompleteReadError), or a reset if the server had closed
    // before we wrote (the echo server's idle timeout, say).
    console.log("the server closed the connection");
    break;
  }
  Deno.stdout.writeSync(PROMPT);
}
