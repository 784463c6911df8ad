/**
 * The framed echo server of the soak run: `tcp.listen` with an idle
 * timeout, each client's 32-bit big-endian length-prefixed frames
 * (`lengthPrefixed({ header: "u32be" })`, 64 KiB at most) echoed back as
 * frames. It prints `listening on HOST:PORT` on stderr, shuts down
 * gracefully on SIGINT/SIGTERM, and then prints one JSON line on stdout:
 * connections accepted, frames and payload bytes echoed, and the errors
 * that ended connections, by name.
 *
 * Usage: `deno run --allow-net=127.0.0.1 bench/soak/_framed_echo.ts
 * [IDLE_TIMEOUT_MS] [MAX_FRAME_SIZE]`
 *
 * @module
 */
import { lengthPrefixed } from "../../framing/mod.ts";
import { formatAddress, listen } from "../../tcp/mod.ts";
import { shutdownOnSignals } from "../../net/mod.ts";

/** What the server reports when it has shut down. */
export interface FramedEchoReport {
  /** Connections accepted. */
  accepted: number;
  /** Frames echoed. */
  frames: number;
  /** Payload bytes echoed. */
  bytes: number;
  /** Errors that ended connections, by `error.name`. */
  errors: Record<string, number>;
  /**
   * Every connection as `[client port, bytes read, bytes written, end
   * time (Date.now())]`, for the runner's check against its clients.
   */
  connections: [number, number, number, number][];
}

if (import.meta.main) {
  const idleTimeout = Number(Deno.args[0] ?? 5000);
  const maxFrameSize = Number(Deno.args[1] ?? 65536);
  const codec = lengthPrefixed({ header: "u32be", maxFrameSize });
  const report: FramedEchoReport = {
    accepted: 0,
    frames: 0,
    bytes: 0,
    errors: {},
    connections: [],
  };
  const server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(codec);
    try {
      for await (const frame of framed) {
        report.frames++;
        report.bytes += frame.length;
        await framed.send(frame);
      }
    } finally {
      const port = (conn.remoteAddr as { port: number }).port;
      report.connections.push([
        port,
        conn.bytesReceived,
        conn.bytesSent,
        Date.now(),
      ]);
    }
  }, {
    idleTimeout,
    onError: (error) => {
      const name = error instanceof Error ? error.name : typeof error;
      report.errors[name] = (report.errors[name] ?? 0) + 1;
    },
  });
  using _signals = shutdownOnSignals(server, {
    gracePeriod: 5000,
    onSignal: () => {},
  });
  console.error(`listening on ${formatAddress(server.addr)}`);
  await server.finished;
  report.accepted = server.acceptedConnections;
  console.log(JSON.stringify(report));
}
