// The program the workers of tests/tcp/workers_test.ts run: it exports how
// a worker starts (the test passes the same function as the primary), and
// calls listenWorkers() as a main module, which it is in each worker.
//
// Each connection is answered with the worker's id ("worker 2\n"), then
// echoed. A client that sends "crash" makes its worker throw an uncaught
// error at worker scope, as a bug would; "exit" makes it call Deno.exit();
// "slow N" is answered "done\n" after N ms (a request under way during a
// shutdown). Each worker says on the BroadcastChannel `CHANNEL` when it
// listens and when it unloads, so that the test waits for events, not time.
//
// With the environment variable `MISTAKE_VARIABLE` set, its workers start
// wrongly: `no-reuse-port` (listen() without reusePort), `bad-cert` (a
// certificate file that does not exist), `elsewhere` (a port of its own).
// (An environment variable, not a query string in the module's URL: the
// module stays the one the test has type-checked already.)
import { listen, listenWorkers, type TcpAddress } from "../../tcp/mod.ts";
import type { Server } from "../../tcp/mod.ts";

/** Names a mistake for the workers to make as they start. */
export const MISTAKE_VARIABLE = "SOCKIT_TEST_WORKER_MISTAKE";

/** Where the workers report `{ worker, event: "listening" | "unload" }`. */
export const CHANNEL = "sockit-workers-test";

const decoder = new TextDecoder();
let channel: BroadcastChannel | undefined;

/** Starts worker `worker`'s echo server on `address`. */
export function start(address: TcpAddress, worker: number): Server {
  const server = listen(address, async (conn) => {
    await conn.write(`worker ${worker}\n`);
    for await (const chunk of conn) {
      const text = decoder.decode(chunk).trim();
      if (text === "crash") {
        setTimeout(() => {
          throw new Error(`crash requested in worker ${worker}`);
        }, 0);
        continue;
      }
      if (text === "exit") Deno.exit(0);
      const slow = /^slow (\d+)$/.exec(text);
      if (slow !== null) {
        await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
        await conn.write("done\n");
        continue;
      }
      await conn.write(chunk);
    }
  }, { reusePort: true, onError: () => {} });
  channel ??= new BroadcastChannel(CHANNEL);
  globalThis.addEventListener("unload", () => {
    channel?.postMessage({ worker, event: "unload" });
  });
  channel.postMessage({ worker, event: "listening" });
  return server;
}

/** The wrong starts, by `?mistake=`. */
const MISTAKES: Record<string, (address: TcpAddress) => Server> = {
  "no-reuse-port": (address) => listen(address, (conn) => conn.close()),
  "bad-cert": (address) =>
    listen(address, () => {}, {
      reusePort: true,
      tls: { certFile: "no-such.crt", keyFile: "no-such.key" },
    }),
  "elsewhere": (address) =>
    listen({ ...address, port: 0 }, () => {}, { reusePort: true }),
};

if (import.meta.main) {
  const mistake = Deno.env.get(MISTAKE_VARIABLE) ?? null;
  await listenWorkers(
    { port: 0 },
    mistake === null ? start : MISTAKES[mistake]!,
  );
}
