import { Lines } from "../_spawn.ts";
import { connect } from "../../tcp/connect.ts";
import { listen } from "../../tcp/listen.ts";
import { shutdownOnSignals } from "../../net/mod.ts";
import { assert, assertEquals, assertThrows } from "../_utils.ts";

/** What a signal made `shutdownOnSignals()` do. */
type SignalAction = "shutdown" | "exit";

const ROOT = new URL("../../", import.meta.url);

/** A server that takes `work` ms over each request, then echoes it. */
const SCRIPT = `
import { listen } from ${JSON.stringify(new URL("tcp/mod.ts", ROOT).href)};
import { shutdownOnSignals } from ${
  JSON.stringify(new URL("net/mod.ts", ROOT).href)
};
const [work, grace] = Deno.args.map(Number);
const server = listen({ port: 0 }, async (conn) => {
  const data = await conn.read();
  if (data === null) return;
  console.error("working");
  await new Promise((resolve) => setTimeout(resolve, work));
  await conn.write(data);
});
shutdownOnSignals(server, { gracePeriod: grace });
console.error("listening " + server.addr.port);
await server.finished;
console.error("finished");
`;

async function spawnServer(
  work: number,
  grace: number,
): Promise<
  { child: Deno.ChildProcess; stderr: Lines; port: number; dir: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "sockit_signals_" });
  const script = `${dir}/server.ts`;
  await Deno.writeTextFile(script, SCRIPT);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config", // the library's import map
      new URL("deno.json", ROOT).pathname,
      "--allow-net",
      script,
      String(work),
      String(grace),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Lines(child.stderr);
  const port = Number((await stderr.waitFor(/^listening (\d+)$/))[1]);
  return { child, stderr, port, dir };
}

unixTest(
  "shutdownOnSignals() lets an in-flight exchange finish on SIGTERM, then the process exits 0",
  async () => {
    const { child, stderr, port, dir } = await spawnServer(300, 5000);
    try {
      await using conn = await connect({ port });
      await conn.write("job");
      await stderr.waitFor(/^working$/);
      child.kill("SIGTERM");
      await stderr.waitFor(
        /^shutting down \(signal SIGTERM\), Ctrl-C again to stop at once$/,
      );
      // The reply comes after the signal: the handler was allowed to finish.
      assertEquals(new TextDecoder().decode(await conn.readExactly(3)), "job");
      assertEquals(await conn.read(), null);
      const status = await child.status;
      await stderr.done;
      assertEquals(status.code, 0, stderr.seen.join("\n"));
      assertEquals(stderr.seen.at(-1), "finished");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

unixTest(
  "shutdownOnSignals() exits at once with 143 on a second SIGTERM",
  async () => {
    const { child, stderr, port, dir } = await spawnServer(60_000, 60_000);
    try {
      await using conn = await connect({ port });
      await conn.write("job");
      await stderr.waitFor(/^working$/);
      child.kill("SIGTERM");
      await stderr.waitFor(/^shutting down \(signal SIGTERM\)/);
      child.kill("SIGTERM");
      const status = await child.status;
      await stderr.done;
      assertEquals(status.code, 143, stderr.seen.join("\n"));
      assert(stderr.seen.includes("stopping at once (signal SIGTERM)"));
      assert(!stderr.seen.includes("finished"));
      // The process is gone, and its socket with it.
      const end = await conn.read().catch((error) => error);
      assert(end === null || end instanceof Error);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

unixTest(
  "shutdownOnSignals() reports each signal, calls exit with 128 + its number, then stops listening",
  async () => {
    const calls: [Deno.Signal, SignalAction][] = [];
    const exits: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    const server = listen({ port: 0 }, async (conn) => {
      await conn.read();
      await held;
    });
    const first = new Promise<void>((resolve) => {
      shutdownOnSignals(server, {
        signals: ["SIGUSR2"],
        gracePeriod: 10_000,
        onSignal: (signal, action) => {
          calls.push([signal, action]);
          if (action === "shutdown") resolve();
        },
        exit: (code) => exits.push(code),
      });
    });
    await using conn = await connect(server.addr);
    await conn.write("x");
    const own = watch("SIGUSR2");
    Deno.kill(Deno.pid, "SIGUSR2");
    await own.fired;
    own.stop();
    await first;
    assertEquals(calls, [["SIGUSR2", "shutdown"]]);
    // A second signal: exit, injected here, so nothing ends.
    const second = watch("SIGUSR2");
    Deno.kill(Deno.pid, "SIGUSR2");
    await second.fired;
    second.stop();
    assertEquals(calls.at(-1), ["SIGUSR2", "exit"]);
    assertEquals(exits, [Deno.build.os === "linux" ? 128 + 12 : 128 + 31]);
    release();
    await server.finished;
    // Listeners removed: a third signal reaches only our own listener.
    const third = watch("SIGUSR2");
    Deno.kill(Deno.pid, "SIGUSR2");
    await third.fired;
    third.stop();
    assertEquals(calls.length, 2);
    assertEquals(exits.length, 1);
  },
);

unixTest(
  "shutdownOnSignals() removes its listeners when the server finishes",
  async () => {
    const calls: SignalAction[] = [];
    const server = listen({ port: 0 }, () => {});
    shutdownOnSignals(server, {
      signals: ["SIGUSR1"],
      onSignal: (_signal, action) => calls.push(action),
      exit: () => {},
    });
    await server.shutdown({ gracePeriod: 0 });
    await server.finished;
    const own = watch("SIGUSR1");
    Deno.kill(Deno.pid, "SIGUSR1");
    await own.fired;
    own.stop();
    assertEquals(calls, []);
  },
);

Deno.test("shutdownOnSignals() checks its grace period", async () => {
  const server = listen({ port: 0 }, () => {});
  try {
    assertThrows(
      () => shutdownOnSignals(server, { gracePeriod: -1 }),
      RangeError,
      "gracePeriod -1",
    );
  } finally {
    await server.shutdown();
  }
});

/** Signals other than SIGINT do not exist on Windows. */
function unixTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: Deno.build.os === "windows", fn });
}

/**
 * Our own listener for `signal`, so that sending it never kills the test.
 * Signal listeners do not keep the event loop alive, so `fired` holds a
 * timer while it waits (and fails after 5 s).
 */
function watch(signal: Deno.Signal): { fired: Promise<void>; stop(): void } {
  let listener!: () => void;
  const fired = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${signal} within 5 s`)),
      5000,
    );
    listener = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  Deno.addSignalListener(signal, listener);
  return { fired, stop: () => Deno.removeSignalListener(signal, listener) };
}
