// Benchmark server: Node.js. TCP: `node:net` with `socket.pipe(socket)`,
// and `socket.setTimeout()` for the idle timeout (--idle-timeout MS). UDP
// (--udp): `node:dgram`, each datagram sent back to its sender. Prints
// `listening on 127.0.0.1:PORT`.
//
// Run: node bench/net/servers/node_echo.mjs [--udp] [--idle-timeout MS]
import dgram from "node:dgram";
import net from "node:net";
import process from "node:process";

const args = process.argv.slice(2);
const at = args.indexOf("--idle-timeout");
const idleTimeout = at === -1 ? 0 : Number(args[at + 1]);
const announce = (port) => console.log(`listening on 127.0.0.1:${port}`);

if (args.includes("--udp")) {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (message, from) => {
    socket.send(message, from.port, from.address);
  });
  socket.bind(0, "127.0.0.1", () => announce(socket.address().port));
} else {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    if (idleTimeout > 0) {
      socket.setTimeout(idleTimeout, () => socket.destroy());
    }
    socket.pipe(socket);
  });
  server.listen(0, "127.0.0.1", () => announce(server.address().port));
}
