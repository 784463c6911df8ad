/**
 * ACK storms against `broadcast listen`: a forged datagram that would make
 * two listeners answer each other forever, answered by a listener running
 * as a real child process (`--host 127.0.0.1`, so that it receives
 * unicast), against in-process peers that answer everything (the Python
 * tutorial's listener does). On loopback the forgery needs no raw socket:
 * the peer's own socket sends the first datagram, so it comes "from" the
 * peer.
 *
 * - A reply (`ACK`, `ACK …`) is never answered: after one forged datagram
 *   the exchange is exactly one ACK each way, and an ACK-format datagram
 *   gets no reply at all. Checked with sentinels, not waits: a datagram
 *   sent after the listener provably finished is the last thing queued.
 * - A peer that answers every ACK with text that is not a reply keeps the
 *   exchange going; the listener's limit (10 replies a second to one
 *   address) bounds it, counted over a fixed window.
 *
 * @module
 */
import { Lines, ROOT } from "../_spawn.ts";
import {
  bind,
  type Datagram,
  type DatagramSocket,
  serveDatagrams,
} from "../../udp/mod.ts";
import { assert, assertEquals, assertLessOrEqual } from "../_utils.ts";

const decoder = new TextDecoder();
const text = (data: Uint8Array): string => decoder.decode(data);

/** `broadcast listen --host 127.0.0.1 --port 0` as a child, stdout and stderr by line. */
class Listener implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  port = 0;
  #status: Deno.CommandStatus | undefined;

  private constructor(args: readonly string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "tools/broadcast.ts",
        "listen",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        ...args,
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Lines(this.child.stdout);
    this.stderr = new Lines(this.child.stderr);
  }

  static async start(args: readonly string[] = []): Promise<Listener> {
    const listener = new Listener(args);
    try {
      const [, port] = await listener.stderr.waitFor(
        /^listening on 127\.0\.0\.1:(\d+)$/,
      );
      listener.port = Number(port);
      return listener;
    } catch (error) {
      await listener[Symbol.asyncDispose]();
      throw error;
    }
  }

  get address(): { hostname: string; port: number } {
    return { hostname: "127.0.0.1", port: this.port };
  }

  /** SIGTERM, then the exit status once its output has ended. */
  async stop(): Promise<Deno.CommandStatus> {
    if (this.#status === undefined) {
      this.child.kill("SIGTERM");
      this.#status = await this.child.status;
      await Promise.all([this.stdout.done, this.stderr.done]);
    }
    return this.#status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#status === undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone already */ }
      this.#status = await this.child.status;
      await Promise.all([this.stdout.done, this.stderr.done]);
    }
  }
}

/** Whether `datagram` came from `socket`'s port on loopback. */
function from(datagram: Datagram, socket: DatagramSocket<"udp">): boolean {
  return "port" in datagram.from && datagram.from.port === socket.addr.port;
}

Deno.test("one forged datagram between broadcast listen and a peer that answers everything ends after one ACK each way", async () => {
  await using listener = await Listener.start();
  // The naive peer: answers every datagram with ACK, no limit, no check.
  using peer = bind({ hostname: "127.0.0.1", port: 0 });
  using probe = bind({ hostname: "127.0.0.1", port: 0 });
  let fromListener = 0;
  const sentinel = Promise.withResolvers<void>();
  await using _naive = serveDatagrams(peer, (datagram) => {
    if (from(datagram, probe)) {
      sentinel.resolve();
      return null;
    }
    fromListener++;
    return "ACK";
  });

  // The forgery: the peer's own socket asks the listener something.
  await peer.send("hello", listener.address);
  // The listener answers ACK; the peer answers that with ACK; the listener
  // prints the peer's ACK...
  const peerLine = `127.0.0.1:${peer.addr.port} ACK`;
  await listener.stdout.waitFor(new RegExp(`^${peerLine}$`));
  // ...and has finished with it (any reply already queued at the peer) once
  // it answers the probe's ping, the next datagram it reads.
  await probe.send("ping", listener.address);
  assertEquals(text((await probe.receive({ timeout: 5000 })).data), "ACK");
  // The sentinel is queued at the peer after anything the listener sent it.
  await probe.send("end", peer.addr);
  await sentinel.promise;

  console.log(
    `  forged datagram: listener → peer ${fromListener}, lines printed by the listener ${listener.stdout.seen.length}`,
  );
  assertEquals(fromListener, 1, "the listener answered the peer's ACK");
  assertEquals(listener.stdout.seen, [
    `127.0.0.1:${peer.addr.port} hello`,
    peerLine,
    `127.0.0.1:${probe.addr.port} ping`,
  ]);
  assertEquals((await listener.stop()).code, 0);
});

Deno.test("broadcast listen answers no ACK-format datagram: ACK, ACK and text", async () => {
  await using listener = await Listener.start(["--ack", "from A"]);
  using sender = bind({ hostname: "127.0.0.1", port: 0 });
  using probe = bind({ hostname: "127.0.0.1", port: 0 });
  // Each: a reply, which must get no answer; "ACKNOWLEDGE" is not one.
  for (const reply of ["ACK", "ACK from B", "ACK "]) {
    await sender.send(reply, listener.address);
  }
  await sender.send("ACKNOWLEDGE me", listener.address);
  // The probe's answer means the listener has read everything sent before.
  await probe.send("ping", listener.address);
  assertEquals(
    text((await probe.receive({ timeout: 5000 })).data),
    "ACK from A",
  );
  await probe.send("end", sender.addr); // queued after the listener's replies
  const got: string[] = [];
  for (;;) {
    const datagram = await sender.receive({ timeout: 5000 });
    if (from(datagram, probe)) break;
    got.push(text(datagram.data));
  }
  assertEquals(got, ["ACK from A"]); // for "ACKNOWLEDGE me" only
  assertEquals(listener.stdout.seen.length, 5); // every datagram is printed
  assertEquals((await listener.stop()).code, 0);
});

Deno.test("a peer that answers every ACK with a new question gets 10 ACKs, then the chain ends at the reply limit", async () => {
  await using listener = await Listener.start();
  // A reflector that turns every ACK into a new question, for ever: only
  // the listener's reply limit (a burst of 10 to one address, then 10 a
  // second) breaks the chain; the first reply it withholds ends it.
  using peer = bind({ hostname: "127.0.0.1", port: 0 });
  // The probe has an address of its own (127.0.0.2), so its own limit.
  using probe = bind({ hostname: "127.0.0.2", port: 0 });
  let fromListener = 0;
  const sentinel = Promise.withResolvers<void>();
  await using _reflector = serveDatagrams(peer, (datagram) => {
    if ("hostname" in datagram.from && datagram.from.hostname === "127.0.0.2") {
      sentinel.resolve();
      return null;
    }
    fromListener++;
    return "again?";
  });
  const started = performance.now();
  await peer.send("hello", listener.address);
  // Wait until the listener has read 11 questions (the 11th is not
  // answered unless the chain was slow enough to refill a token), then
  // make sure it has finished with the last one.
  await listener.stdout.waitFor(/ again\?$/);
  while (listener.stdout.seen.length < 11) {
    await listener.stdout.waitFor(/ again\?$/);
  }
  await probe.send("ping", listener.address);
  assertEquals(text((await probe.receive({ timeout: 5000 })).data), "ACK");
  const elapsed = performance.now() - started;
  await probe.send("end", peer.addr);
  await sentinel.promise;
  const status = await listener.stop();
  const asked = listener.stdout.seen.length - 1; // the probe's ping aside

  const bound = 10 + Math.floor((10 * elapsed) / 1000);
  console.log(
    `  reflector chain: ${asked} questions, ${fromListener} ACKs in ${
      Math.round(elapsed)
    } ms (bound ${bound}); listener: ${listener.stderr.seen.at(-2)}`,
  );
  assertEquals(status.code, 0);
  assert(fromListener >= 10, `only ${fromListener} replies: the burst is 10`);
  assertLessOrEqual(fromListener, bound);
  assertEquals(asked, fromListener + 1); // the chain ended at a withheld reply
});

Deno.test("a flood from one address gets at most 10 replies a second from broadcast listen, and another address is answered meanwhile", async () => {
  await using listener = await Listener.start();
  using sender = bind({ hostname: "127.0.0.1", port: 0 });
  using probe = bind({ hostname: "127.0.0.2", port: 0 });
  const flood = 200;
  const started = performance.now();
  for (let i = 0; i < flood; i++) {
    await sender.send(`question ${i}`, listener.address);
  }
  // The probe, another address, is answered once the flood is read.
  await probe.send("ping", listener.address);
  assertEquals(text((await probe.receive({ timeout: 5000 })).data), "ACK");
  const elapsed = performance.now() - started;
  await probe.send("end", sender.addr); // queued after every reply
  let replies = 0;
  for (;;) {
    const datagram = await sender.receive({ timeout: 5000 });
    if (from(datagram, probe)) break;
    replies++;
  }
  const status = await listener.stop();

  const bound = 10 + Math.floor((10 * elapsed) / 1000);
  console.log(
    `  flood: ${flood} datagrams in ${
      Math.round(elapsed)
    } ms, ${replies} replies (bound ${bound}); listener: ${
      listener.stderr.seen.at(-2)
    }`,
  );
  assertEquals(status.code, 0);
  assert(replies >= 10, `only ${replies} replies: the burst is 10`);
  assertLessOrEqual(replies, bound);
  assertEquals(listener.stdout.seen.length, flood + 1); // every one printed
  assertEquals(
    listener.stderr.seen.at(-2),
    `${
      flood - replies
    } replies not sent: at most 10 a second go to one address`,
  );
});
