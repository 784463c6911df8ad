import { connect } from "../../tcp/connect.ts";
import { assert, assertEquals, assertMatch } from "../_utils.ts";
import { Example } from "./_example.ts";

/** `[ctime] text`, ctime as Python's time.ctime() formats it. */
function stamped(text: string): RegExp {
  return new RegExp(
    `^\\[((?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\\d \\d\\d:\\d\\d:\\d\\d \\d{4})\\] ${text}$`,
  );
}

/** Asserts that `line` is `[ctime] text` with a ctime within a minute of now. */
function assertStamped(line: string, text: string): void {
  assertMatch(line, stamped(text));
  const ctime = stamped(text).exec(line)![1]!;
  const when = Date.parse(ctime); // V8 reads ctime's format, in local time
  assert(Math.abs(Date.now() - when) < 60_000, `${ctime} is not now`);
}

Deno.test("time_client asks at a > prompt and prints time_server's [ctime] answers", async () => {
  await using server = await Example.spawn("time_server", ["0"]);
  const { port } = await server.listening();
  const client = await Example.spawn(
    "time_client",
    ["127.0.0.1", String(port)],
    { stdin: "hello\nsecond line\n\nnever sent\n" }, // an empty line quits
  );
  const result = await client.finish();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  const lines = result.stdout.split("\n");
  assertEquals(lines.length, 3, result.stdout);
  assert(lines.every((line) => line.startsWith("> ")), result.stdout);
  assertStamped(lines[0]!.slice(2), "hello");
  assertStamped(lines[1]!.slice(2), "second line");
  assertEquals(lines[2], "> ");
  await server.stderr.waitFor(/^connection from 127\.0\.0\.1:\d+$/);
  await server.stderr.waitFor(/^connection lost$/);
  assertEquals((await server.stop()).code, 0);
});

Deno.test("time_server stamps each line, however the bytes arrive", async () => {
  await using server = await Example.spawn("time_server", ["0"]);
  const { port } = await server.listening();
  await using conn = await connect({ port });
  await conn.write("one\ntw"); // a line and a half in one send
  await conn.write("o\r\n");
  await conn.shutdown("write");
  const answer = await new Response(conn.readable).text();
  const lines = answer.split("\n");
  assertEquals(lines.length, 3, answer);
  assertStamped(lines[0]!, "one");
  assertStamped(lines[1]!, "two");
  assertEquals(lines[2], "");
  assertEquals((await server.stop()).code, 0);
});
