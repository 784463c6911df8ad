#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT
/**
 * The timestamp server of the Twisted example, with sockit's protocol API:
 * a `Protocol` class says what to do when data arrives, a factory builds
 * one per client, and `serveProtocol` runs them (Twisted's
 * `reactor.listenTCP(PORT, factory)`). Every line a client sends comes back
 * as `[ctime] line`. Try it with `time_client.ts`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT examples/time_server.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 21567 (0: any free
 * port). Unlike the Twisted original, which stamps each chunk as it happens
 * to arrive, this one frames messages as lines (`codec: lines()`).
 *
 * @module
 */
import { ctime, lines, shutdownOnSignals, tcp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 21567);
const decoder = new TextDecoder();

class TimestampProtocol implements tcp.Protocol {
  frameReceived(line: Uint8Array, transport: tcp.Transport): void {
    transport.write(`[${ctime()}] ${decoder.decode(line)}`);
  }
  connectionLost(reason: Error | null): void {
    console.error(`connection lost${reason ? `: ${reason.message}` : ""}`);
  }
}

class TimestampFactory implements tcp.ProtocolFactory {
  buildProtocol(peer: tcp.SocketAddress): tcp.Protocol {
    console.error(`connection from ${tcp.formatAddress(peer)}`);
    return new TimestampProtocol();
  }
}

const server = tcp.serveProtocol({ port }, new TimestampFactory(), {
  codec: lines(),
});
console.error(`listening on ${tcp.formatAddress(server.addr)}`);
shutdownOnSignals(server);
await server.finished;
