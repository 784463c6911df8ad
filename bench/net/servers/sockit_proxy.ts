/**
 * Benchmark server: sockit's plain TCP echo (as `sockit_listen.ts`), with
 * `--proxy-protocol v1|v2|any` reading a PROXY header from loopback on each
 * connection first (`listen()`'s `proxyProtocol`); without the flag, none.
 *
 * Run: `deno run --allow-net bench/net/servers/sockit_proxy.ts --proxy-protocol any`
 *
 * @module
 */
import { listen } from "../../../tcp/mod.ts";
import { announce } from "./_args.ts";

const at = Deno.args.indexOf("--proxy-protocol");
const version = at === -1 ? undefined : Deno.args[at + 1];
if (
  version !== undefined && version !== "v1" && version !== "v2" &&
  version !== "any"
) {
  throw new TypeError(
    `Cannot use --proxy-protocol ${version}: give v1, v2 or any`,
  );
}
const server = listen({ port: 0 }, async (conn) => {
  for (let data; (data = await conn.read()) !== null;) await conn.write(data);
}, {
  ...(version === undefined
    ? {}
    : { proxyProtocol: { from: "127.0.0.1", version } }),
  onError: () => {}, // clients that reset are not news here
});
announce(server.addr);
