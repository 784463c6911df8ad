#!/usr/bin/env -S deno run --allow-net
/**
 * The client side of a half-open socket: it sends a request in several
 * writes, shuts down writing (Python's `s.shutdown(socket.SHUT_WR)`: the
 * server reads EOF), and keeps reading until the server's answer ends.
 * Run `half_open_server.ts` first.
 *
 * ```sh
 * deno run --allow-net examples/half_open_client.ts [host] [port] [message]
 * ```
 *
 * Host and port default to 127.0.0.1 and 12345.
 *
 * @module
 */
import { tcp } from "@sockit/sockit";

const [hostname = "127.0.0.1", port = "12345", message = "hello, half-open"] =
  Deno.args;

await using conn = await tcp.connect({ hostname, port: Number(port) });
for (const word of message.split(/(?<= )/)) await conn.write(word);
await conn.shutdown("write"); // FIN: "that was all", but we still listen
console.error("sent the request and shut down writing");

// The socket is half-open: we can no longer write, but we can read.
const answer = await new Response(conn.readable).text();
console.log(answer.trimEnd());
console.error("the server closed its side too");
