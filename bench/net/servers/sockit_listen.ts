/**
 * Benchmark server: sockit's plain TCP echo, `tcp.listen()` with a handler
 * that reads and writes until EOF — the loop a user writes first. With
 * `--idle-timeout MS` the server's idle timeout is on.
 *
 * Run: `deno run --allow-net bench/net/servers/sockit_listen.ts --idle-timeout 60000`
 *
 * @module
 */
import { listen } from "../../../tcp/mod.ts";
import { announce, idleTimeoutFlag } from "./_args.ts";

const idleTimeout = idleTimeoutFlag(Deno.args);
const server = listen({ port: 0 }, async (conn) => {
  for (let data; (data = await conn.read()) !== null;) await conn.write(data);
}, {
  ...(idleTimeout === undefined ? {} : { idleTimeout }),
  onError: () => {}, // clients that reset are not news here
});
announce(server.addr);
