// Benchmark server: Node.js `node:cluster`, N worker processes (--workers
// N, default 2) each running the `node:net` echo server of node_echo.mjs
// (`socket.pipe(socket)`), sharing one port. The primary accepts and hands
// connections to the workers round robin (Node's default scheduling on
// Linux); `--sched none` lets the workers accept on the shared socket
// themselves. Prints `listening on 127.0.0.1:PORT` once every worker
// listens; SIGTERM ends the primary and its workers.
//
// Run: node bench/net/servers/node_cluster.mjs [--workers N] [--sched rr|none]
import cluster from "node:cluster";
import net from "node:net";
import process from "node:process";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const workers = Number(flag("--workers", "2"));

if (cluster.isPrimary) {
  cluster.schedulingPolicy = flag("--sched", "rr") === "none"
    ? cluster.SCHED_NONE
    : cluster.SCHED_RR;
  let listening = 0;
  cluster.on("listening", (_worker, address) => {
    if (++listening === workers) {
      console.log(`listening on 127.0.0.1:${address.port}`);
    }
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers)) worker.kill();
    process.exit(0);
  });
} else {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  // Port 0 in a cluster: the primary picks one port for all workers.
  server.listen(0, "127.0.0.1");
}
