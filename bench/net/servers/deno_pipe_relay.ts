/**
 * Benchmark relay: raw Deno, no sockit. Each client is joined to a new
 * connection to the target with two `pipeTo()`s, the one-liner relay
 * (`a.readable.pipeTo(b.writable)` both ways). No half-close: a
 * `Deno.Conn`'s writable closes the whole socket.
 *
 * Run: `deno run --allow-net bench/net/servers/deno_pipe_relay.ts TARGET_PORT`
 *
 * @module
 */
import { announce } from "./_args.ts";

const targetPort = Number(Deno.args[0]);
if (!Number.isInteger(targetPort) || targetPort <= 0) {
  console.error("usage: deno_pipe_relay.ts TARGET_PORT");
  Deno.exit(2);
}
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
announce(listener.addr);
for await (const client of listener) {
  (async () => {
    let target: Deno.TcpConn;
    try {
      target = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      client.close();
      return;
    }
    client.setNoDelay(true);
    target.setNoDelay(true);
    await Promise.all([
      client.readable.pipeTo(target.writable).catch(() => {}),
      target.readable.pipeTo(client.writable).catch(() => {}),
    ]);
  })();
}
