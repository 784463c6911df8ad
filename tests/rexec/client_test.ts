/**
 * Tests for `rexec/client.ts` against a real server on loopback: statuses,
 * stdout and stderr apart, streamed output, refusals that leave the
 * connection usable, one command at a time, the output cap, tokens, argv
 * checked before connecting, a server that closes or sends junk, and TLS.
 *
 * @module
 */
import { connect, listen } from "../../tcp/mod.ts";
import {
  CommandClient,
  CommandRefusedError,
  connectCommands,
  runRemoteCommand,
} from "../../rexec/mod.ts";
import { MalformedFrameError, pack } from "../../framing/mod.ts";
import {
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_utils.ts";
import { closedPort } from "../tcp/_helpers.ts";
import { testCertificates } from "../_tls.ts";
import { serve } from "./_helpers.ts";

const decoder = new TextDecoder();

Deno.test("exit codes and stderr come back as sent, stdout and stderr apart", async () => {
  await using server = serve({ allow: ["false", "ls", "echo"] });
  await using client = await connectCommands(server.addr);
  const failed = await client.run(["false"]);
  assertEquals([failed.code, failed.success, failed.signal], [1, false, null]);
  const missing = await client.run(["ls", "/nonexistent-sockit"]);
  assertEquals(missing.code, 2);
  assertEquals(missing.stdout.length, 0);
  assertStringIncludes(decoder.decode(missing.stderr), "/nonexistent-sockit");
  const seen: string[] = [];
  const ok = await client.run(["echo", "streamed"], {
    onOutput: (stream, data) => {
      seen.push(`${stream}:${decoder.decode(data)}`);
    },
  });
  assertEquals([ok.code, ok.success, seen], [0, true, ["stdout:streamed\n"]]);
  assertEquals(ok.stdout.length, 0); // onOutput took it
});

Deno.test("a refused command throws CommandRefusedError and the connection keeps serving", async () => {
  await using server = serve();
  await using client = await connectCommands(server.addr);
  const error = await assertRejects(
    () => client.run(["rm", "-rf", "/"]),
    CommandRefusedError,
  );
  assertEquals([error.reason, error.name], [
    "NotAllowed",
    "CommandRefusedError",
  ]);
  assertStringIncludes(error.message, 'NotAllowed: Cannot run "rm"');
  assertEquals((await client.run(["echo", "after"])).code, 0);
});

Deno.test("arguments with spaces, tabs and empty words arrive exactly", async () => {
  await using server = serve();
  const argv = ["echo", "a b", "", "tab\there", "[x]", "$(id)"];
  const result = await runRemoteCommand(server.addr, argv);
  assertEquals(decoder.decode(result.stdout), "a b  tab\there [x] $(id)\n");
});

Deno.test("run() refuses a second command while one runs", async () => {
  await using server = serve({ allow: ["sleep"] });
  await using client = await connectCommands(server.addr);
  const first = client.run(["sleep", "0.2"]);
  await assertRejects(
    () => client.run(["sleep", "0"]),
    TypeError,
    "Cannot run two commands at once",
  );
  assertEquals((await first).code, 0);
});

Deno.test("collected output past maxOutput is a RangeError and closes the connection", async () => {
  await using server = serve({ allow: ["seq"] });
  await using client = await connectCommands(server.addr);
  await assertRejects(
    () => client.run(["seq", "1", "100000"], { maxOutput: 1000 }),
    RangeError,
    "maxOutput 1000",
  );
  await assertRejects(() => client.run(["seq", "1"]));
});

Deno.test("runRemoteCommand() checks argv before connecting", async () => {
  const port = closedPort();
  for (const argv of [[], [1], "echo"] as unknown as string[][]) {
    await assertRejects(
      () => runRemoteCommand({ port }, argv),
      TypeError,
      "non-empty array of strings",
    );
  }
  await assertRejects(
    () => runRemoteCommand({ port }, ["echo"]),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("a token with a line end is refused before it is sent", async () => {
  await using server = serve({ token: "t" });
  await assertRejects(
    () => connectCommands(server.addr, { token: "t\nrm -rf /" }),
    TypeError,
    "one-line string",
  );
});

Deno.test("the client reports a server that closes or sends a malformed reply", async () => {
  const replies: Uint8Array[] = [
    new Uint8Array(0), // closes at once
    pack("!IB", 1, 9), // a reply of unknown kind 9
    pack("!IBB", 2, 5, 1), // ready, in answer to a command
  ];
  let next = 0;
  await using server = listen({ port: 0 }, async (conn) => {
    await conn.read(); // the request line
    const reply = replies[next++]!;
    if (reply.length > 0) await conn.write(reply);
  });
  await assertRejects(
    () => runRemoteCommand(server.addr, ["echo"]),
    Deno.errors.UnexpectedEof,
    "the server closed the connection first",
  );
  await assertRejects(
    () => runRemoteCommand(server.addr, ["echo"]),
    MalformedFrameError,
    "unknown reply kind 9",
  );
  await assertRejects(
    () => runRemoteCommand(server.addr, ["echo"]),
    MalformedFrameError,
    "a ready reply came in answer to a command",
  );
});

Deno.test("new CommandClient() wraps a connection of one's own, and authenticate() sends the token", async () => {
  await using server = serve({ token: "s3cret" });
  await using client = new CommandClient(await connect(server.addr));
  await client.authenticate("s3cret");
  const result = await client.run(["echo", "mine"]);
  assertEquals(decoder.decode(result.stdout), "mine\n");
  assertEquals(client.connection.remoteAddr, server.addr);
});

Deno.test("over TLS: the token and the command go encrypted, a plain client is told to try TLS, and a token never goes beyond loopback in clear text", async () => {
  const certs = await testCertificates();
  await using server = serve({
    allow: ["echo"],
    token: "t0ken",
    tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile },
    onError: () => {}, // the plain client's failed handshake
  });
  const result = await runRemoteCommand(server.addr, ["echo", "over tls"], {
    token: "t0ken",
    tls: { caCerts: [certs.ca] },
  });
  assertEquals(decoder.decode(result.stdout), "over tls\n");
  const plain = await assertRejects(
    () => runRemoteCommand(server.addr, ["echo"], { token: "t0ken" }),
  );
  // node:tls (the server default) hangs up on plain text without a word:
  // the client can only suggest TLS; Deno's engine answers with a record.
  assertMatch(
    plain.message,
    /the server speaks TLS|if it speaks TLS, connect with --tls/,
  );
  // Refused before connecting: nothing listens there.
  await assertRejects(
    () =>
      runRemoteCommand({ hostname: "192.0.2.1", port: closedPort() }, [
        "echo",
      ], { token: "t0ken" }),
    TypeError,
    "Cannot send the token to 192.0.2.1:",
  );
  // Nor over TLS that verifies nothing, unless insecure. (Linux delivers a
  // connection to 0.0.0.0, not a loopback name, on this machine.)
  const port = "port" in server.addr ? server.addr.port : 0;
  const unverified = {
    token: "t0ken",
    tls: { unsafelyDisableVerification: true },
  };
  await assertRejects(
    () => runRemoteCommand({ hostname: "0.0.0.0", port }, ["echo"], unverified),
    TypeError,
    "over TLS that verifies nothing as 0.0.0.0 is not loopback",
  );
  const accepted = await runRemoteCommand(
    { hostname: "0.0.0.0", port },
    ["echo", "unverified"],
    { ...unverified, insecure: true },
  );
  assertEquals(decoder.decode(accepted.stdout), "unverified\n");
});
