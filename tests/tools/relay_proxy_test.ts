/**
 * The relay tool with the PROXY protocol: it reads the header a balancer
 * puts in front of each client (`--proxy-protocol --proxy-from`) and sends
 * one to the target (`--send-proxy`), so that a chain of proxies still
 * tells the target who the client is; and the flags' usage errors.
 *
 * @module
 */
import { connect, listen, type SocketAddress } from "../../tcp/mod.ts";
import { runTool, ToolProcess } from "../_spawn.ts";
import { assertEquals, assertStringIncludes } from "../_utils.ts";
import { deferred } from "../tcp/_helpers.ts";

Deno.test("relay --proxy-protocol --send-proxy v2: the target learns the real client through the chain", async () => {
  const seen = deferred<[SocketAddress<"tcp">, unknown, string]>();
  await using target = listen({ port: 0 }, async (conn) => {
    const data = new TextDecoder().decode(await conn.readExactly(5));
    seen.resolve([conn.remoteAddr, conn.proxyHeader?.destination, data]);
    await conn.write("pong\n");
  }, { proxyProtocol: { from: "127.0.0.1", version: "v2" } });
  await using relay = new ToolProcess("relay", [
    "tcp:0",
    `tcp:127.0.0.1:${target.addr.port}`,
    "--proxy-protocol",
    "--proxy-from",
    "127.0.0.1",
    "--send-proxy",
    "v2",
    "-v",
  ]);
  const [, port] = await relay.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(PROXY protocol from 127\.0\.0\.1\), relaying to 127\.0\.0\.1:\d+ \(PROXY v2 header\)$/,
  );
  {
    await using client = await connect({ port: Number(port) }, {
      proxyHeader: {
        version: 1,
        source: { hostname: "203.0.113.50", port: 777 },
        destination: { hostname: "198.51.100.9", port: 443 },
      },
    });
    await client.write("ping\n");
    assertEquals(
      new TextDecoder().decode(await client.readExactly(5)),
      "pong\n",
    );
  }
  const [remote, destination, data] = await seen.promise;
  assertEquals(remote, {
    transport: "tcp",
    hostname: "203.0.113.50",
    port: 777,
  });
  assertEquals(destination, { hostname: "198.51.100.9", port: 443 });
  assertEquals(data, "ping\n");
  await relay.stderr.waitFor(
    /^203\.0\.113\.50:777 -> 127\.0\.0\.1:\d+: 5 bytes up, 5 down/,
  );
  assertEquals((await relay.stop()).code, 0);
});

Deno.test("relay PROXY flags: clear errors for what cannot work", async () => {
  const cases: Array<[string[], string]> = [
    [
      ["tcp:0", "tcp:127.0.0.1:9", "--send-proxy", "v9"],
      "--send-proxy must be v1 or v2",
    ],
    [
      ["tcp:0", "unix:/tmp/x.sock", "--send-proxy", "v1"],
      "--send-proxy needs a tcp: TARGET",
    ],
    [
      ["udp:0", "udp:127.0.0.1:9", "--proxy-protocol", "--proxy-from", "::1"],
      "--proxy-protocol needs a tcp: LISTEN side",
    ],
    [
      ["tcp:0", "tcp:127.0.0.1:9", "--proxy-protocol"],
      "--proxy-protocol needs --proxy-from",
    ],
    [
      ["tcp:0", "tcp:127.0.0.1:9", "--proxy-from", "10.0.0.0/8"],
      "--proxy-from needs --proxy-protocol",
    ],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runTool("relay", args);
    assertEquals(code, 2, `${args.join(" ")}: ${stderr}`);
    assertStringIncludes(stderr, message);
  }
});
