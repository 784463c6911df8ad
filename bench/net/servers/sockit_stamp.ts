/**
 * Benchmark server: what the `time` tool does with `--frame raw`, written
 * with the library alone — `tcp.listen()` and a handler that answers each
 * chunk with `[<ctime>] ` and the chunk — so that the tool can be measured
 * against the library doing the same work (`bench/net/tools.ts`).
 *
 * Run: `deno run --allow-net bench/net/servers/sockit_stamp.ts --idle-timeout 60000`
 *
 * @module
 */
import { ctime } from "../../../net/mod.ts";
import { listen } from "../../../tcp/mod.ts";
import { announce, idleTimeoutFlag } from "./_args.ts";

const encoder = new TextEncoder();
const idleTimeout = idleTimeoutFlag(Deno.args);
const server = listen({ port: 0 }, async (conn) => {
  for (let data; (data = await conn.read()) !== null;) {
    const head = encoder.encode(`[${ctime()}] `);
    const reply = new Uint8Array(head.length + data.length);
    reply.set(head);
    reply.set(data, head.length);
    await conn.write(reply);
  }
}, {
  ...(idleTimeout === undefined ? {} : { idleTimeout }),
  onError: () => {},
});
announce(server.addr);
