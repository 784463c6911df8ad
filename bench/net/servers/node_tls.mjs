// Benchmark server: Node.js TLS. `node:tls` `createServer` with the
// certificate and key given, `socket.pipe(socket)`, and `socket.setTimeout()`
// for the idle timeout (--idle-timeout MS). Prints
// `listening on 127.0.0.1:PORT`.
//
// Run: node bench/net/servers/node_tls.mjs --cert FILE --key FILE [--idle-timeout MS]
import { readFileSync } from "node:fs";
import process from "node:process";
import tls from "node:tls";

const args = process.argv.slice(2);
const flag = (name) => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
const idleTimeout = Number(flag("--idle-timeout") ?? 0);
if (flag("--cert") === undefined || flag("--key") === undefined) {
  console.error(
    "Usage: node_tls.mjs --cert FILE --key FILE [--idle-timeout MS]",
  );
  process.exit(2);
}

const server = tls.createServer({
  cert: readFileSync(flag("--cert")),
  key: readFileSync(flag("--key")),
}, (socket) => {
  socket.on("error", () => {});
  if (idleTimeout > 0) {
    socket.setTimeout(idleTimeout, () => socket.destroy());
  }
  socket.pipe(socket);
});
server.on("tlsClientError", () => {}); // a client that fails its handshake
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
