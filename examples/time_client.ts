#!/usr/bin/env -S deno run --allow-net
/**
 * The client of the Twisted timestamp example, as a protocol: when the
 * connection is made it asks for a line at the `> ` prompt and sends it;
 * when the answer arrives it prints it and asks again. An empty line, or
 * the end of input, loses the connection. Run `time_server.ts` first.
 *
 * ```sh
 * deno run --allow-net examples/time_client.ts [host] [port]
 * ```
 *
 * Host and port default to 127.0.0.1 and 21567.
 *
 * @module
 */
import { FrameDecoderStream, lines, tcp } from "@sockit/sockit";

const [hostname = "127.0.0.1", port = "21567"] = Deno.args;
const decoder = new TextDecoder();
const input = Deno.stdin.readable
  .pipeThrough(new FrameDecoderStream(lines()))
  .getReader();

class TimestampClient implements tcp.Protocol {
  connectionMade(transport: tcp.Transport): Promise<void> {
    return this.sendData(transport);
  }
  async frameReceived(
    line: Uint8Array,
    transport: tcp.Transport,
  ): Promise<void> {
    console.log(decoder.decode(line));
    await this.sendData(transport);
  }
  async sendData(transport: tcp.Transport): Promise<void> {
    Deno.stdout.writeSync(new TextEncoder().encode("> "));
    const { value } = await input.read();
    if (value === undefined || value.length === 0) transport.loseConnection();
    else transport.write(value); // one line: the codec adds the \n
  }
}

const client = await tcp.connectProtocol(
  { hostname, port: Number(port) },
  new TimestampClient(),
  { codec: lines() },
);
const reason = await client.done; // connectionLost's reason: null if clean
if (reason !== null) {
  console.error(`connection lost: ${reason.message}`);
  Deno.exitCode = 1;
}
await input.cancel();
