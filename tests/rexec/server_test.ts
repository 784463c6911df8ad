/**
 * Tests for `rexec/server.ts` (and the session behind it) over real
 * loopback sockets: argv is never interpreted (shell syntax reaches `echo`
 * verbatim), an injection corpus that must create no marker file and gets
 * one reply per request on a connection that keeps serving, path tricks in
 * requests, exposure beyond loopback, time and output limits, exit
 * statuses, the child's environment, tokens, idle and write deadlines,
 * options refused at once, and a Python client speaking the protocol with
 * `struct`.
 *
 * @module
 */
import { connect } from "../../tcp/mod.ts";
import {
  type CommandEvent,
  CommandRefusedError,
  runRemoteCommand,
  serveCommands,
  type ServeCommandsOptions,
} from "../../rexec/mod.ts";
import {
  checkExposure,
  checkTokenTransport,
  isLoopbackHost,
} from "../../rexec/_exposure.ts";
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertRejects,
  assertStringIncludes,
  assertThrows,
  type ErrorClass,
} from "../_utils.ts";
import { deferred, portOf, tempDir, waitFor, within } from "../tcp/_helpers.ts";
import { Python } from "../tcp/_python.ts";
import { Lines, ROOT } from "../_spawn.ts";
import {
  FORKER,
  HOLDER,
  isRunning,
  LEAVER,
  pidsOf,
  RawClient,
  serve,
  verdict,
  waitForExit,
  writeScript,
} from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// No shell, ever

Deno.test("echo receives shell syntax verbatim, in plain and JSON requests", async () => {
  await using server = serve();
  await using client = await RawClient.open(server);
  const words = [
    ";",
    "a;b",
    "$(id)",
    "`id`",
    "|",
    "a|b",
    "&&",
    "||",
    ">",
    ">>/tmp/x",
    "<",
    "2>&1",
    "*",
    "?",
    "[a-z]",
    "'single'",
    '"double"',
    "\\",
    "~",
    "$HOME",
    "${PATH}",
    "%s",
    "!!",
    "#",
    "&",
    "{a,b}",
  ];
  const plain = await client.request(`echo ${words.join(" ")}`);
  assertEquals(verdict(plain), "exit 0");
  assertEquals(plain.stdout, `${words.join(" ")}\n`);
  const json = await client.request(JSON.stringify(["echo", ...words, "a b"]));
  assertEquals(json.stdout, `${words.join(" ")} a b\n`);
  const typed = await runRemoteCommand(server.addr, ["echo", "x; y", "$(z)"]);
  assertEquals(decoder.decode(typed.stdout), "x; y $(z)\n");
});

Deno.test("no injection runs anything: no marker file appears, each request gets its reply, the connection keeps serving", async () => {
  await using dir = await tempDir();
  const marker = `${dir.path}/MARKER`;
  await using server = serve({
    allow: ["echo", "sleep"],
    cwd: dir.path, // relative markers would land here too
  });
  await using client = await RawClient.open(server);
  const text = (line: string) => encoder.encode(line);
  const cases: [string, string | Uint8Array, string, string?][] = [
    // [what, request, expected verdict, expected stdout]
    ["a program not allowed", `touch ${marker}`, "NotAllowed"],
    ["a relative marker", "touch MARKER", "NotAllowed"],
    [
      "; after an allowed program",
      `echo hi; touch ${marker}`,
      "exit 0",
      `hi; touch ${marker}\n`,
    ],
    [
      "; without spaces",
      `echo hi;touch ${marker}`,
      "exit 0",
      `hi;touch ${marker}\n`,
    ],
    ["&&", `echo hi && touch ${marker}`, "exit 0", `hi && touch ${marker}\n`],
    ["||", `sleep x || touch ${marker}`, "exit 1"],
    ["|", `echo hi | touch ${marker}`, "exit 0", `hi | touch ${marker}\n`],
    ["$(…)", `echo $(touch ${marker})`, "exit 0", `$(touch ${marker})\n`],
    [
      "backticks",
      `echo \`touch ${marker}\``,
      "exit 0",
      `\`touch ${marker}\`\n`,
    ],
    ["a redirection", `echo hi > ${marker}`, "exit 0", `hi > ${marker}\n`],
    ["a glob", `echo ${dir.path}/*`, "exit 0", `${dir.path}/*\n`],
    ["a shell", `sh -c 'touch ${marker}'`, "NotAllowed"],
    ["bash", `bash -c "touch ${marker}"`, "NotAllowed"],
    [
      "an absolute path to a program not allowed",
      `/usr/bin/touch ${marker}`,
      "NotAllowed",
    ],
    [
      "an absolute path to an allowed program",
      "/usr/bin/echo hi",
      "NotAllowed",
    ],
    ["../", `../bin/touch ${marker}`, "NotAllowed"],
    ["./", "./echo hi", "NotAllowed"],
    [
      "a path ending in an allowed name",
      "/tmp/../usr/bin/echo hi",
      "NotAllowed",
    ],
    ["another case", "ECHO hi", "NotAllowed"],
    ["a trailing slash", "echo/ hi", "NotAllowed"],
    ["a variable assignment", `PATH=/tmp echo hi`, "NotAllowed"],
    ["env", `env touch ${marker}`, "NotAllowed"],
    ["exec", `exec touch ${marker}`, "NotAllowed"],
    [
      "a JSON request for touch",
      JSON.stringify(["touch", marker]),
      "NotAllowed",
    ],
    [
      "a JSON request for a shell",
      JSON.stringify(["sh", "-c", `touch ${marker}`]),
      "NotAllowed",
    ],
    [
      "a JSON request for a path",
      JSON.stringify(["/usr/bin/touch", marker]),
      "NotAllowed",
    ],
    [
      "a JSON request with a NUL",
      JSON.stringify(["echo", "\0", marker]),
      "BadArguments",
    ],
    [
      "a NUL byte in the program",
      text(`echo\0touch ${marker}`),
      "BadArguments",
    ],
    ["a NUL byte in an argument", text(`echo a\0b ${marker}`), "BadArguments"],
    [
      "invalid UTF-8",
      new Uint8Array([...text("touch "), 0xff, 0xfe]),
      "InvalidUtf8",
    ],
    [
      "a cut-off UTF-8 sequence",
      new Uint8Array([...text("echo "), 0xc3]),
      "InvalidUtf8",
    ],
    [
      "an over-long line",
      `touch ${marker} ${"A".repeat(1024 * 1024)}`,
      "LineTooLong",
    ],
    [
      "an over-long line of echo",
      `echo ${"B".repeat(1024 * 1024)}`,
      "LineTooLong",
    ],
    ["bad JSON", `["touch", "${marker}"`, "BadRequest"],
    ["an empty line", "", "BadRequest"],
    [
      "a carriage return inside a word is text",
      `echo a\rb`,
      "exit 0",
      "a\rb\n",
    ],
  ];
  for (const [what, request, expected, stdout] of cases) {
    const outcome = await client.request(request);
    assertEquals(verdict(outcome), expected, what);
    if (stdout !== undefined) assertEquals(outcome.stdout, stdout, what);
    if (outcome.end.kind === "error") {
      assertEquals(outcome.stdout + outcome.stderr, "", what);
      assert(outcome.end.message.length > 0, what);
    }
    const next = await client.request("echo alive");
    assertEquals([verdict(next), next.stdout], ["exit 0", "alive\n"], what);
  }
  assertEquals(await Array.fromAsync(Deno.readDir(dir.path)), []);
  await assertRejects(() => Deno.stat(marker), Deno.errors.NotFound);
});

Deno.test("the error reply names the error and says what is allowed", async () => {
  await using server = serve({ allow: ["echo", "sleep"] });
  await using client = await RawClient.open(server);
  const outcome = await client.request("rm -rf /");
  assertEquals(outcome.end, {
    kind: "error",
    reason: "NotAllowed",
    message:
      'Cannot run "rm": it is not on the allow-list (allowed: echo, sleep)',
  });
  const path = await client.request("/bin/sleep 1");
  assertStringIncludes(
    (path.end as { message: string }).message,
    "a bare name from the allow-list, never a path",
  );
});

Deno.test("requests sent together are answered one after another, in order", async () => {
  await using server = serve();
  await using client = await RawClient.open(server);
  await client.send("echo one\nrm x\r\necho two\n\necho three");
  await client.conn.shutdown("write"); // EOF ends the last line
  assertEquals((await client.outcome()).stdout, "one\n");
  assertEquals(verdict(await client.outcome()), "NotAllowed");
  assertEquals((await client.outcome()).stdout, "two\n");
  assertEquals(verdict(await client.outcome()), "BadRequest");
  assertEquals((await client.outcome()).stdout, "three\n");
  assertEquals(await client.reply(), null);
});

// ---------------------------------------------------------------------------
// Request lines past the limit

const MIB = 1024 * 1024;

Deno.test("a line past maxLineBytes is refused as soon as it passes the limit, the rest of it is skipped, and the connection serves the next line", async () => {
  await using server = serve({ maxLineBytes: 8192 });
  await using client = await RawClient.open(server);
  const chunk = new Uint8Array(64 * 1024).fill(0x41); // "A": no line end
  // The limit and more, then nothing: the refusal must come now, not when
  // the line ends (19 MiB and more of it are still to come).
  await client.send(chunk);
  const reply = await client.reply();
  assertEquals(reply?.kind === "error" && reply.reason, "LineTooLong");
  for (let sent = chunk.length; sent < 20 * MIB; sent += chunk.length) {
    await client.send(chunk);
  }
  // Its line end ends the skipped line, without a second reply.
  const next = await client.request("\necho after");
  assertEquals([verdict(next), next.stdout], ["exit 0", "after\n"]);
});

Deno.test("fifty 20 MiB request lines leave the server's buffers as they were: each is read into one buffer and dropped", async () => {
  // Its own process, to collect garbage before measuring.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      "tests/rexec/_memory_server.ts",
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = new Lines(child.stdout);
  const stdin = child.stdin.getWriter();
  try {
    const [, port] = await out.waitFor(/^port (\d+)$/);
    const external = async () => {
      await stdin.write(encoder.encode("\n"));
      return Number((await out.waitFor(/^external (\d+)$/))[1]);
    };
    const before = await external();
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    await Promise.all(Array.from({ length: 50 }, async () => {
      await using client = await RawClient.open({
        addr: { hostname: "127.0.0.1", port: Number(port) },
      });
      const reply = client.reply();
      for (let sent = 0; sent < 20 * MIB; sent += chunk.length) {
        await client.send(chunk);
      }
      await client.send("\n");
      const refused = await reply;
      assertEquals(refused?.kind === "error" && refused.reason, "LineTooLong");
    }));
    const grown = (await external()) - before;
    // Before: each read took a new buffer of up to 256 KiB; a collection
    // right after still found some 90 MiB of them.
    assertLessOrEqual(
      grown,
      16 * MIB,
      `external memory grew by ${(grown / MIB).toFixed(1)} MiB`,
    );
  } finally {
    await stdin.close();
    await child.status;
    await out.done;
  }
});

// ---------------------------------------------------------------------------
// Exposure

Deno.test("a host other than loopback needs a token and TLS, or insecure", async () => {
  const loopback: [string, boolean][] = [
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.1", false],
    ["128.0.0.1", false],
    ["127.0.0.256", false],
    ["example.com", false],
  ];
  for (const [host, expected] of loopback) {
    assertEquals(isLoopbackHost(host), expected, host);
  }
  checkExposure({ port: 0 }, {});
  checkExposure({ path: "/tmp/x.sock" }, {});
  checkExposure({ hostname: "0.0.0.0", port: 0 }, { token: "t", tls: true });
  checkExposure({ hostname: "0.0.0.0", port: 0 }, { insecure: true });
  // A token alone would cross the network in clear text; TLS alone lets
  // anyone run the programs.
  assertThrows(
    () => checkExposure({ hostname: "0.0.0.0", port: 0 }, { token: "t" }),
    TypeError,
    "with a token but without TLS as 0.0.0.0 is not loopback",
  );
  assertThrows(
    () => checkExposure({ hostname: "0.0.0.0", port: 0 }, { tls: true }),
    TypeError,
    "without a token as 0.0.0.0 is not loopback",
  );
  // A client sends a token beyond loopback only over TLS.
  checkTokenTransport({ hostname: "127.0.0.1", port: 1 }, { token: "t" });
  checkTokenTransport({ path: "/tmp/x.sock" }, { token: "t" });
  checkTokenTransport({ hostname: "10.0.0.1", port: 1 }, {});
  checkTokenTransport({ hostname: "10.0.0.1", port: 1 }, {
    token: "t",
    tls: true,
  });
  assertThrows(
    () =>
      checkTokenTransport({ hostname: "10.0.0.1", port: 1 }, { token: "t" }),
    TypeError,
    "Cannot send the token to 10.0.0.1:1 in clear text",
  );
  const error = assertThrows(
    () => serveCommands({ hostname: "0.0.0.0", port: 0 }, { allow: ["echo"] }),
    TypeError,
  );
  assertStringIncludes(error.message, "without a token");
  assertStringIncludes(error.message, "0.0.0.0 is not loopback");
  // Refused before the allow-list is even looked at.
  assertThrows(
    () => serveCommands({ hostname: "::", port: 0 }, { allow: ["./x"] }),
    TypeError,
    "without a token",
  );
  await using tokened = serveCommands({ hostname: "127.0.0.1", port: 0 }, {
    allow: ["echo"],
    token: "t",
  });
  assertEquals(tokened.addr.transport, "tcp");
});

// ---------------------------------------------------------------------------
// Limits and statuses

Deno.test("a command over its time limit is killed with SIGKILL and reported; the connection goes on", async () => {
  await using server = serve({ allow: ["sleep", "echo"], timeout: 200 });
  await using client = await RawClient.open(server);
  const started = performance.now();
  const outcome = await client.request("sleep 5");
  assertLessOrEqual(performance.now() - started, 2000);
  assertEquals(outcome.end, {
    kind: "exit",
    code: 137,
    signal: "SIGKILL",
    timedOut: true,
    truncated: false,
  });
  assertEquals(verdict(await client.request("echo after")), "exit 0");
});

Deno.test("output past maxOutput is cut at exactly the limit and reported", async () => {
  await using server = serve({ allow: ["echo", "seq"], maxOutput: 10 });
  await using client = await RawClient.open(server);
  const short = await client.request("echo 0123456789abcdef");
  assertEquals(short.stdout, "0123456789");
  assertEquals((short.end as { truncated: boolean }).truncated, true);
  const exact = await client.request("echo 012345678"); // 10 bytes with \n
  assertEquals(exact.stdout, "012345678\n");
  assertEquals((exact.end as { truncated: boolean }).truncated, false);

  // An endless producer is killed at the limit, not at the time limit.
  await using big = serve({ allow: ["seq"], maxOutput: 100_000 });
  const started = performance.now();
  const result = await runRemoteCommand(big.addr, ["seq", "1", "100000000"]);
  assertLessOrEqual(performance.now() - started, 5000);
  assertEquals(result.stdout.length, 100_000);
  assertEquals([result.truncated, result.timedOut], [true, false]);
  assertEquals(decoder.decode(result.stdout.subarray(0, 8)), "1\n2\n3\n4\n");
});

Deno.test("a command gets only the given environment and working directory", async () => {
  await using dir = await tempDir();
  Deno.env.set("SOCKIT_REXEC_SECRET", "leaked");
  try {
    await using server = serve({ allow: ["env", "pwd"], cwd: dir.path });
    const env = await runRemoteCommand(server.addr, ["env"]);
    assertEquals(decoder.decode(env.stdout), "PATH=/usr/bin:/bin\n");
    const pwd = await runRemoteCommand(server.addr, ["pwd"]);
    assertEquals(
      decoder.decode(pwd.stdout),
      `${await Deno.realPath(dir.path)}\n`,
    );
    await using custom = serve({ allow: ["env"], env: { LANG: "C" } });
    const only = await runRemoteCommand(custom.addr, ["env"]);
    assertEquals(decoder.decode(only.stdout), "LANG=C\n");
  } finally {
    Deno.env.delete("SOCKIT_REXEC_SECRET");
  }
});

Deno.test("a program that cannot be started gets SpawnFailed and the connection goes on", async () => {
  await using dir = await tempDir();
  const program = `${dir.path}/gone`;
  await Deno.writeTextFile(program, "#!/bin/sh\necho never\n");
  await Deno.chmod(program, 0o755);
  await using server = serve({ allow: [program, "echo"] });
  await Deno.remove(program);
  await using client = await RawClient.open(server);
  assertEquals(verdict(await client.request("gone")), "SpawnFailed");
  assertEquals(verdict(await client.request("echo ok")), "exit 0");
});

// ---------------------------------------------------------------------------
// No command outlives its client: each runs in a process group of its own,
// and the whole group is killed

Deno.test("a command whose client closes the connection is killed at once, with what it started", async () => {
  await using dir = await tempDir();
  const forker = await writeScript(dir.path, "forker", FORKER);
  const events: CommandEvent[] = [];
  await using server = serve({
    allow: [forker],
    timeout: 60_000,
    onCommand: (event) => events.push(event),
  });
  const client = await RawClient.open(server);
  await client.send("forker\n");
  const output = await client.reply(); // then silence
  assert(output?.kind === "stdout");
  const pids = pidsOf(decoder.decode(output.data));
  for (const pid of pids) assert(await isRunning(pid), `${pid} runs`);
  client.conn.close();
  await waitForExit(pids, 5000);
  await waitFor(() => server.connections === 0, "the session's end");
  const event = events.find((event) => event.type === "exit");
  assert(event?.type === "exit");
  assertEquals(
    [event.clientGone, event.gracePeriodEnded, event.exit.signal],
    [true, false, "SIGKILL"],
  );
});

Deno.test("a client that half-closes still gets the whole reply to its command", async () => {
  await using server = serve({ allow: ["sleep", "echo"] });
  await using client = await RawClient.open(server);
  await client.send("sleep 0.6\necho done\n");
  await client.conn.shutdown("write"); // EOF: no more requests, still reading
  const slept = await client.outcome(); // with empty frames while it sleeps
  assertEquals([verdict(slept), slept.stdout], ["exit 0", ""]);
  assertEquals((await client.outcome()).stdout, "done\n");
  assertEquals(await client.reply(), null);
});

Deno.test("what a command leaves running in its process group is killed when its program exits", async () => {
  await using dir = await tempDir();
  const leaver = await writeScript(dir.path, "leaver", LEAVER);
  await using server = serve({ allow: [leaver] });
  await using client = await RawClient.open(server);
  const outcome = await client.request("leaver");
  assertEquals(verdict(outcome), "exit 0");
  await waitForExit(pidsOf(outcome.stdout), 5000);
});

Deno.test("a command over its time limit is killed with what it started", async () => {
  await using dir = await tempDir();
  const forker = await writeScript(dir.path, "forker", FORKER);
  await using server = serve({ allow: [forker], timeout: 300 });
  await using client = await RawClient.open(server);
  const outcome = await client.request("forker");
  assertEquals(outcome.end.kind === "exit" && outcome.end.timedOut, true);
  await waitForExit(pidsOf(outcome.stdout), 5000);
});

Deno.test("a graceful shutdown kills what still runs when its grace period ends, and says so", async () => {
  await using dir = await tempDir();
  const forker = await writeScript(dir.path, "forker", FORKER);
  const events: CommandEvent[] = [];
  const server = serve({
    allow: [forker],
    timeout: 60_000,
    onCommand: (event) => events.push(event),
  });
  await using client = await RawClient.open(server);
  await client.send("forker\n");
  const output = await client.reply();
  assert(output?.kind === "stdout");
  const pids = pidsOf(decoder.decode(output.data));
  const started = performance.now();
  await within(server.shutdown({ gracePeriod: 300 }), 3000, "the shutdown");
  assertLessOrEqual(performance.now() - started, 2000);
  await waitForExit(pids, 5000);
  const event = events.find((event) => event.type === "exit");
  assert(event?.type === "exit");
  // Before: clientGone, though the client was there all along.
  assertEquals(
    [event.clientGone, event.gracePeriodEnded, event.exit.signal],
    [false, true, "SIGKILL"],
  );
});

Deno.test("at most maxCommands commands run at once: more are refused at once with Busy, and a freed place is taken again", async () => {
  await using dir = await tempDir();
  const holder = await writeScript(dir.path, "holder", HOLDER);
  const events: CommandEvent[] = [];
  const freed = deferred();
  await using server = serve({
    allow: [holder],
    maxCommands: 3,
    timeout: 60_000,
    onCommand: (event) => {
      events.push(event);
      if (event.type === "exit") freed.resolve();
    },
  });
  const clients = await Promise.all(
    Array.from({ length: 10 }, () => RawClient.open(server)),
  );
  try {
    await Promise.all(
      clients.map((client, i) =>
        client.send(`holder ${dir.path}/started-${i}\n`)
      ),
    );
    // Each gets its first reply now: output of a command that runs, or Busy.
    const verdicts = (await Promise.all(clients.map((c) => c.reply())))
      .map((reply) => reply?.kind === "error" ? reply.reason : reply?.kind);
    assertEquals(verdicts.filter((v) => v === "stdout").length, 3);
    assertEquals(verdicts.filter((v) => v === "Busy").length, 7);
    const started = (await Array.fromAsync(Deno.readDir(dir.path)))
      .filter((entry) => entry.name.startsWith("started-"));
    assertEquals(started.length, 3); // processes started: one file each
    assertEquals(
      events.filter((e) => e.type === "refused" && e.reason === "Busy").length,
      7,
    );
    // One that runs leaves; its command is killed, and a retry runs.
    clients[verdicts.indexOf("stdout")]!.conn.close();
    await freed.promise;
    const retry = clients[verdicts.indexOf("Busy")]!;
    await retry.send(`holder ${dir.path}/retried\n`);
    assertEquals((await retry.reply())?.kind, "stdout");
  } finally {
    for (const client of clients) client.conn.close();
  }
});

// ---------------------------------------------------------------------------
// Tokens and deadlines

const TOKEN = "correct horse battery staple";

Deno.test("with a token: the right one gets ready, then commands run", async () => {
  await using server = serve({ token: TOKEN });
  await using client = await RawClient.open(server);
  await client.send(`AUTH ${TOKEN}\n`);
  assertEquals(await client.reply(), { kind: "ready", version: 1 });
  assertEquals((await client.request("echo in")).stdout, "in\n");
  const result = await runRemoteCommand(server.addr, ["echo", "x"], {
    token: TOKEN,
  });
  assertEquals(result.code, 0);
});

Deno.test("with a token: a wrong, missing or partial token is refused and the connection closed, and nothing runs", async () => {
  await using dir = await tempDir();
  const marker = `${dir.path}/MARKER`;
  await using server = serve({ token: TOKEN, allow: ["echo", "touch"] });
  const cases: [string, string][] = [
    [`AUTH ${TOKEN}x`, "Unauthorized"], // one character more
    [`AUTH ${TOKEN.slice(0, -1)}`, "Unauthorized"], // one character less
    [`AUTH  ${TOKEN}`, "Unauthorized"], // two spaces
    [`auth ${TOKEN}`, "Unauthorized"], // lower case
    [`AUTH`, "Unauthorized"], // no token
    [`touch ${marker}`, "Unauthorized"], // a command first
    [TOKEN, "Unauthorized"], // the bare token
  ];
  for (const [line, reason] of cases) {
    await using client = await RawClient.open(server);
    // The refusal must not depend on what follows: send a command too.
    await client.send(`${line}\ntouch ${marker}\n`);
    const reply = await client.reply();
    assertEquals(reply?.kind === "error" && reply.reason, reason, line);
    assertEquals(await client.reply(), null, line); // closed
  }
  const error = await assertRejects(
    () => runRemoteCommand(server.addr, ["echo", "x"], { token: "guess" }),
    CommandRefusedError,
  );
  assertEquals(error.reason, "Unauthorized");
  await assertRejects(
    () => runRemoteCommand(server.addr, ["echo", "x"]), // no token at all
    CommandRefusedError,
    "Unauthorized",
  );
  await assertRejects(() => Deno.stat(marker), Deno.errors.NotFound);
});

Deno.test("with a token: a token sent too slowly is cut off at the deadline", async () => {
  await using server = serve({ token: TOKEN, tokenTimeout: 300 });
  // Silent: nothing at all.
  {
    await using client = await RawClient.open(server);
    const started = performance.now();
    const reply = await client.reply();
    assertEquals(reply?.kind === "error" && reply.reason, "TokenTimeout");
    assertLessOrEqual(performance.now() - started, 2000);
    assertEquals(await client.reply(), null);
  }
  // Trickled: the right token, a byte every 50 ms, takes longer than 300 ms.
  {
    await using client = await RawClient.open(server);
    const line = encoder.encode(`AUTH ${TOKEN}\n`);
    const trickle = (async () => {
      for (const byte of line) {
        try {
          await client.send(new Uint8Array([byte]));
        } catch {
          return; // the server gave up on us
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const reply = await client.reply();
    assertEquals(reply?.kind === "error" && reply.reason, "TokenTimeout");
    client.conn.close();
    await trickle;
  }
});

Deno.test("without a token, an AUTH first line gets ready", async () => {
  await using server = serve();
  const result = await runRemoteCommand(server.addr, ["echo", "x"], {
    token: "unneeded",
  });
  assertEquals(result.code, 0);
});

Deno.test("a client that sends no request within idleTimeout gets IdleTimeout and is disconnected", async () => {
  await using server = serve({ idleTimeout: 200 });
  await using client = await RawClient.open(server);
  assertEquals(verdict(await client.request("echo first")), "exit 0");
  await client.send("echo never finis"); // no line end
  const reply = await client.reply();
  assertEquals(reply?.kind === "error" && reply.reason, "IdleTimeout");
  assertEquals(await client.reply(), null);
});

Deno.test("a client that reads nothing is disconnected after writeTimeout and its command killed", async () => {
  await using server = serve({
    allow: ["seq"],
    maxOutput: 1024 * 1024 * 1024,
    timeout: 20_000,
    writeTimeout: 300,
  });
  await using conn = await connect(server.addr);
  await conn.write("seq 1 1000000000\n"); // and never read
  await waitFor(() => server.connections === 1, "the connection");
  await waitFor(() => server.connections === 0, "the disconnection", 5000);
});

// ---------------------------------------------------------------------------
// Events

Deno.test("onCommand is told of each client's connection and end, with its byte counts, around its requests", async () => {
  const events: CommandEvent[] = [];
  const closed = deferred();
  await using server = serve({
    onCommand: (event) => {
      events.push(event);
      if (event.type === "closed") closed.resolve();
    },
  });
  await runRemoteCommand(server.addr, ["echo", "hi"]);
  await within(closed.promise, 5000, "the closed event");
  const peer = events[0]?.peer;
  assert(peer !== undefined && /^127\.0\.0\.1:\d+$/.test(peer), peer);
  assertEquals(
    events.map((event) =>
      event.type === "closed"
        ? [event.type, event.peer, event.bytesReceived, event.bytesSent]
        : [event.type, event.peer]
    ),
    [
      ["connection", peer],
      ["exit", peer],
      // "echo hi\n"; a stdout frame of 3 bytes and an exit frame
      ["closed", peer, 8, 18],
    ],
  );
});

// ---------------------------------------------------------------------------
// Transports and peers

Deno.test("behind a load balancer (proxyProtocol), events name the real client", async () => {
  const events: CommandEvent[] = [];
  const closed = deferred();
  await using server = serve({
    proxyProtocol: { from: "127.0.0.1" },
    onCommand: (event) => {
      events.push(event);
      if (event.type === "closed") closed.resolve();
    },
  });
  const conn = await connect(server.addr, {
    proxyHeader: {
      version: 2,
      source: { hostname: "203.0.113.9", port: 1234 },
      destination: { hostname: "127.0.0.1", port: portOf(server) },
    },
  });
  await conn.write("echo hi\n");
  await conn.shutdown("write");
  while ((await conn.read()) !== null) { /* the reply frames */ }
  conn.close();
  await within(closed.promise, 5000, "the closed event");
  assertEquals(
    events.map((event) => [event.type, event.peer]),
    [
      ["connection", "203.0.113.9:1234"],
      ["exit", "203.0.113.9:1234"],
      ["closed", "203.0.113.9:1234"],
    ],
  );
});

Deno.test("commands are served on a Unix socket too", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/rexec.sock`;
  {
    await using server = serveCommands({ path }, { allow: ["echo"] });
    const result = await runRemoteCommand({ path }, ["echo", "unix"]);
    assertEquals(decoder.decode(result.stdout), "unix\n");
    assertEquals(server.acceptedConnections, 1);
  }
});

Deno.test("a Python client speaks the protocol with struct", async () => {
  await using server = serve({ allow: ["echo", "ls"] });
  await using python = Python.spawn(
    `
import json
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
def outcome(request):
    s.sendall(request)
    out = {"stdout": b"", "stderr": b""}
    while True:
        (n,) = struct.unpack("!I", f.read(4))
        body = f.read(n)
        if body[0] == 1:
            out["stdout"] += body[1:]
        elif body[0] == 2:
            out["stderr"] += body[1:]
        elif body[0] == 3:
            kind, flags, code = struct.unpack("!BBi", body[:6])
            return {"exit": code, "flags": flags, "signal": body[6:].decode(),
                    "stdout": out["stdout"].decode(), "stderr": len(out["stderr"]) > 0}
        elif body[0] == 4:
            (k, n) = struct.unpack("!BB", body[:2])
            return {"error": body[2:2 + n].decode(), "message": body[2 + n:].decode()}
for request in (b"echo a;b $(id) 'q'\\n", b"rm -rf /\\n", b"ls /nonexistent-sockit\\n",
                b'["echo","a b"]\\n', b"\\xff\\n"):
    print(json.dumps(outcome(request)))
s.close()
`,
    [portOf(server)],
  );
  const results = (await python.success()).map((line) => JSON.parse(line));
  assertEquals(results[0], {
    exit: 0,
    flags: 0,
    signal: "",
    stdout: "a;b $(id) 'q'\n",
    stderr: false,
  });
  assertEquals(results[1].error, "NotAllowed");
  assertEquals([results[2].exit, results[2].stderr], [2, true]);
  assertEquals(results[3].stdout, "a b\n");
  assertEquals(results[4].error, "InvalidUtf8");
});

Deno.test("serveCommands() refuses bad limits, tokens, environments and directories at once", () => {
  const cases: [string, Partial<ServeCommandsOptions>, ErrorClass][] = [
    ["a zero timeout", { timeout: 0 }, RangeError],
    ["a negative timeout", { timeout: -1 }, RangeError],
    ["a negative maxOutput", { maxOutput: -1 }, RangeError],
    ["a fractional maxLineBytes", { maxLineBytes: 1.5 }, RangeError],
    ["a tiny maxLineBytes", { maxLineBytes: 8 }, RangeError],
    ["no arguments at all", { maxArgs: 0 }, RangeError],
    ["no commands at all", { maxCommands: 0 }, RangeError],
    ["a fractional maxCommands", { maxCommands: 2.5 }, RangeError],
    ["a NaN idleTimeout", { idleTimeout: NaN }, RangeError],
    ["an empty token", { token: "" }, TypeError],
    ["a token with a newline", { token: "a\nb" }, TypeError],
    ["a token with a NUL", { token: "a\0b" }, TypeError],
    ["a token longer than a line", { token: "t".repeat(9000) }, TypeError],
    ["an env of numbers", { env: { A: 1 as unknown as string } }, TypeError],
    ["an empty allow-list", { allow: [] }, TypeError],
    ["a relative program", { allow: ["./echo"] }, TypeError],
    [
      "a missing program",
      { allow: ["no-such-program-sockit"] },
      Deno.errors.NotFound,
    ],
    ["a missing cwd", { cwd: "/nonexistent-sockit" }, Deno.errors.NotFound],
    ["a cwd that is a file", { cwd: "/etc/passwd" }, Deno.errors.NotFound],
  ];
  for (const [what, options, errorClass] of cases) {
    assertThrows(() => serve(options), errorClass, undefined, what);
  }
  assertThrows(
    () => serveCommands({ port: 0 }, null as unknown as ServeCommandsOptions),
    TypeError,
  );
});

Deno.test("serveCommands() takes Infinity for no time limit", async () => {
  await using server = serve({ timeout: Infinity, idleTimeout: Infinity });
  const result = await runRemoteCommand(server.addr, ["echo", "ok"]);
  assertEquals(result.code, 0);
});

Deno.test("a graceful shutdown lets a running command finish and answers it in full", async () => {
  const server = serve({ allow: ["sleep", "echo"] });
  await using client = await RawClient.open(server);
  await client.send("sleep 0.3\n");
  await waitFor(() => server.connections === 1, "the connection");
  await new Promise((resolve) => setTimeout(resolve, 50)); // it runs now
  const stopped = server.shutdown({ gracePeriod: 3000 });
  assertEquals(verdict(await client.outcome()), "exit 0");
  assertEquals(await client.reply(), null); // then the server closes
  await stopped;
});
