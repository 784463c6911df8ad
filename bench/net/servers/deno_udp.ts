/**
 * Benchmark server: raw Deno UDP echo, no sockit. `Deno.listenDatagram` and
 * a `receive()`/`send()` loop over one reused buffer.
 *
 * Run: `deno run --allow-net --unstable-net bench/net/servers/deno_udp.ts`
 *
 * @module
 */
import { announce } from "./_args.ts";

const conn = Deno.listenDatagram({
  transport: "udp",
  hostname: "127.0.0.1",
  port: 0,
});
announce(conn.addr);
const buffer = new Uint8Array(65536);
for (;;) {
  const [data, from] = await conn.receive(buffer);
  try {
    await conn.send(data, from);
  } catch { /* the sender is gone */ }
}
