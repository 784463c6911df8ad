#!/usr/bin/env -S deno run --allow-net --unstable-net
/**
 * The UDP client of the Python tutorials: it reads a line at the `> `
 * prompt, sends it as one datagram (`sendto`), and waits a limited time
 * for the answer (`settimeout` and `recvfrom`). UDP may lose a datagram,
 * so silence is not the end: it prints `timed out`, as Python's
 * `socket.timeout` does, and goes on with the next line. An empty line, or
 * the end of input, quits; piped input works too
 * (`printf 'hi\n' | deno run …`). Run `udp_echo_server.ts` first.
 *
 * ```sh
 * deno run --allow-net --unstable-net examples/udp_client.ts [host] [port] [timeout-seconds]
 * ```
 *
 * Host, port and timeout default to 127.0.0.1, 12345 and 1 second. An
 * answer that comes after its timeout is printed for the next line: plain
 * UDP cannot tell them apart (`udp.request()` numbers its requests).
 *
 * @module
 */
import { FrameDecoderStream, lines, udp } from "@sockit/sockit";

const [hostname = "127.0.0.1", port = "12345", seconds = "1"] = Deno.args;
const server = { hostname, port: Number(port) };
const PROMPT = new TextEncoder().encode("> ");
const decoder = new TextDecoder();

// socket(AF_INET, SOCK_DGRAM) and settimeout(seconds). Python binds on the
// first sendto(), to all interfaces and a free port; so do we, now.
using socket = udp.bind(
  { hostname: hostname.includes(":") ? "::" : "0.0.0.0", port: 0 },
  { timeout: Number(seconds) * 1000 },
);
const input = Deno.stdin.readable.pipeThrough(
  new FrameDecoderStream(lines()), // \n or \r\n, like input()
);

Deno.stdout.writeSync(PROMPT);
for await (const line of input) {
  if (line.length === 0) break; // an empty line quits
  await socket.send(line, server); // sendto(line, (host, port))
  try {
    const { data } = await socket.receive(); // recvfrom(), with the timeout
    console.log(decoder.decode(data).trimEnd());
  } catch (error) {
    if (!(error instanceof udp.TimeoutError)) throw error;
    console.log("timed out"); // print(e) for Python's socket.timeout
  }
  Deno.stdout.writeSync(PROMPT);
}
