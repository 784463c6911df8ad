/**
 * Benchmark server: raw Deno TLS, no sockit. `Deno.listenTls` with the
 * certificate and key given, and per connection the same
 * `conn.read()`/`conn.write()` loop over one 64 KiB buffer as
 * `deno_loop.ts`. With `--idle-timeout MS`, each read stamps the time and a
 * sweep once a second closes connections idle that long.
 *
 * Run: `deno run --allow-net --allow-read bench/net/servers/deno_tls.ts --cert FILE --key FILE --idle-timeout 60000`
 *
 * @module
 */
import { announce, idleTimeoutFlag } from "./_args.ts";

interface Client {
  conn: Deno.TlsConn;
  last: number;
}

/** The file named after `flag` on the command line. */
function fileFlag(args: readonly string[], flag: string): string {
  const file = args[args.indexOf(flag) + 1];
  if (!args.includes(flag) || file === undefined) {
    throw new TypeError(`Cannot start as ${flag} FILE is missing`);
  }
  return file;
}

const idleTimeout = idleTimeoutFlag(Deno.args);
const cert = await Deno.readTextFile(fileFlag(Deno.args, "--cert"));
const key = await Deno.readTextFile(fileFlag(Deno.args, "--key"));
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
    // a failed handshake, reset by the client, or closed by the idle sweep
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

const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
announce(listener.addr);
for await (const conn of listener) {
  const client = { conn, last: performance.now() };
  clients.add(client);
  serve(client);
}
