/**
 * Benchmark server: sockit's UDP echo, `udp.bind()` and `serveDatagrams()`
 * answering each datagram with its own bytes.
 *
 * Run: `deno run --allow-net --unstable-net bench/net/servers/sockit_udp.ts`
 *
 * @module
 */
import { bind, serveDatagrams } from "../../../udp/mod.ts";
import { announce } from "./_args.ts";

const socket = bind({ port: 0 });
serveDatagrams(socket, (datagram) => datagram.data, { onError: () => {} });
announce(socket.addr);
