/**
 * Benchmark server: raw Deno, no sockit. `Deno.listen`, and per connection
 * a `conn.read()`/`conn.write()` loop over one 64 KiB buffer (the size
 * Deno's own `conn.readable` reads with). With `--idle-timeout MS`, each
 * read stamps the time and a sweep once a second closes connections idle
 * that long — the cheapest idle timeout plain Deno code can have.
 *
 * Run: `deno run --allow-net bench/net/servers/deno_loop.ts --idle-timeout 60000`
 *
 * @module
 */
import { announce, idleTimeoutFlag } from "./_args.ts";

interface Client {
  conn: Deno.Conn;
  last: number;
}

const idleTimeout = idleTimeoutFlag(Deno.args);
const clients = new Set<Client>();

async function serve(client: Client): Promise<void> {
  const { conn } = client;
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      if (idleTimeout !== undefined) client.last = performance.now();
      for (let at = 0; at < n;) {
        at += await conn.write(buffer.subarray(at, n));
      }
    }
  } catch {
    // reset by the client, or closed by the idle sweep
  } finally {
    clients.delete(client);
    try {
      conn.close();
    } catch { /* closed already */ }
  }
}

if (idleTimeout !== undefined) {
  setInterval(() => {
    const now = performance.now();
    for (const client of clients) {
      if (now - client.last >= idleTimeout) {
        clients.delete(client);
        client.conn.close();
      }
    }
  }, 1000);
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
announce(listener.addr);
for await (const conn of listener) {
  const client = { conn, last: performance.now() };
  clients.add(client);
  serve(client);
}
