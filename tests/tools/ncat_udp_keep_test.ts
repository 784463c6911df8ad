/**
 * ncat users type `-luk` (UDP listen, keep open). `cat` takes it, and `-k`
 * changes nothing there: a UDP listener of `cat` already prints every
 * peer's datagrams and sends stdin to whoever sent last. The real `ncat`
 * (7.93) refuses `-uk` without `--exec`, and its `-lu` hears its first
 * peer only: the differential test below shows both, so that `cat
 * --help`'s "coming from nc/ncat" note stays true. Loopback only.
 *
 * @module
 */
import { bind, type DatagramSocket } from "../../udp/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "../_utils.ts";
import { closedPort } from "../tcp/_helpers.ts";
import { assertCode, Cat, Peer, runCat } from "./_cat.ts";
import { peerTest } from "../_peers.ts";

const decoder = new TextDecoder();

/** The next datagram on `socket`, as text. */
async function receiveText(socket: DatagramSocket): Promise<string> {
  const { data } = await socket.receive({ timeout: 10_000 });
  return decoder.decode(data);
}

Deno.test("cat -luk serves every UDP peer as cat -lu does: each one's datagrams printed, stdin to whoever sent last", async () => {
  const { cat, port } = await Cat.listening(["-luk", "--port", "0"]);
  await using _cat = cat;
  using a = bind();
  using b = bind();
  const to = { hostname: "127.0.0.1", port };
  await a.send("from a\n", to);
  await cat.waitForOutput("from a\n");
  await b.send("from b\n", to);
  await cat.waitForOutput("from b\n");
  await cat.write("to b\n");
  assertEquals(await receiveText(b), "to b");
  await a.send("a again\n", to);
  await cat.waitForOutput("a again\n");
  await cat.write("to a\n");
  assertEquals(await receiveText(a), "to a");
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(result.stdout, "from a\nfrom b\na again\n");
});

Deno.test("cat: -k with -u still needs -l, and --max-conns has nothing to count over UDP", async () => {
  const cases: Array<[string[], string]> = [
    [["-uk", "127.0.0.1", "9"], "--keep-open needs --listen"],
    [
      ["-luk", "-m", "2", "--port", "0"],
      "--udp and --max-conns exclude each other",
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCat(args);
    assertCode(result, 2);
    assertStringIncludes(result.stderr.join("\n"), message);
  }
});

peerTest(
  "ncat refuses -luk without --exec, and its -lu hears its first peer only (why cat's -k changes nothing over UDP)",
  ["ncat"],
  async () => {
    const refused = new Peer("ncat", [
      "-luk",
      "127.0.0.1",
      String(closedPort()),
    ]);
    const result = await refused.finish();
    assertEquals(result.code, 2);
    assertStringIncludes(
      result.stderr.join("\n"),
      "UDP mode does not support the -k or --keep-open options",
    );

    const port = closedPort();
    const ncat = new Peer("ncat", ["-v", "-lu", "127.0.0.1", String(port)]);
    await using _ncat = ncat;
    await ncat.stderr.waitFor(/^Ncat: Listening on /);
    using a = bind();
    using b = bind();
    const to = { hostname: "127.0.0.1", port };
    await a.send("from a\n", to);
    await ncat.waitForOutput("from a\n");
    // b's datagram goes before a's second: ncat would print it first if it
    // heard b at all.
    await b.send("from b\n", to);
    await a.send("a again\n", to);
    await ncat.waitForOutput("a again\n");
    assert(!ncat.output.includes("from b"), ncat.output);
    assertEquals(ncat.output, "from a\na again\n");
  },
);
