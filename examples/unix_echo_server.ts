#!/usr/bin/env -S deno run --allow-net --allow-read --allow-write --allow-env=SOCKET_PATH
/**
 * The echo server over a Unix socket file instead of a TCP port: Python's
 * `socket(AF_UNIX)` and `bind(path)`. Clients on the same machine connect
 * to the path; file permissions, not ports, say who may. A socket file
 * left by a crashed server is replaced; Ctrl-C stops the server and
 * removes the file.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write --allow-env=SOCKET_PATH examples/unix_echo_server.ts [path]
 * ```
 *
 * The path is the first argument, else `$SOCKET_PATH`, else
 * `/tmp/sockit-echo.sock`. Try it with `nc -U /tmp/sockit-echo.sock`, or
 * from Python: `s = socket.socket(socket.AF_UNIX); s.connect(path)`.
 *
 * @module
 */
import { shutdownOnSignals, tcp } from "@sockit/sockit";

const path = Deno.args[0] ?? Deno.env.get("SOCKET_PATH") ??
  "/tmp/sockit-echo.sock";

let clients = 0;
const server = tcp.listen({ path }, async (conn) => {
  const client = ++clients; // Unix clients have no address of their own
  console.error(`client ${client} connected`);
  for await (const data of conn) await conn.write(data);
  console.error(`client ${client} hung up`);
}, { replaceStaleSocket: true });

console.error(`listening on ${tcp.formatAddress(server.addr)}`);
shutdownOnSignals(server); // and the file is removed
await server.finished;
