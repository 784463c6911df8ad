import { lines } from "../../framing/delimiter.ts";
import { connect } from "../../tcp/connect.ts";
import { assert, assertEquals } from "../_utils.ts";
import { Example } from "./_example.ts";

const decoder = new TextDecoder();

Deno.test("graceful_server finishes the request under way after SIGTERM, then exits 0", async () => {
  await using server = await Example.spawn("graceful_server", ["0"]);
  const { port } = await server.listening();
  await using idle = await connect({ port }); // connected, asking nothing
  await using conn = await connect({ port });
  const requests = conn.framed(lines());
  await requests.send("soon");
  assertEquals(
    decoder.decode((await requests.receive())!),
    "give a number of milliseconds, 0 to 60000",
  );
  await requests.send("1000");
  await server.stderr.waitFor(/^working 1000 ms for 127\.0\.0\.1:\d+$/);
  server.kill("SIGTERM");
  await server.stderr.waitFor(/^shutting down \(signal SIGTERM\)/);
  assertEquals(await idle.read(), null); // no request under way: EOF at once
  // The request under way still gets its answer, then EOF.
  assertEquals(
    decoder.decode((await requests.receive())!),
    "done after 1000 ms",
  );
  assertEquals(await requests.receive(), null);
  const result = await server.finish();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(result.stderr.at(-1), "shut down after 2 connections");
  assert(!result.stderr.some((line) => line.includes("error")));
});

Deno.test("graceful_server exits at once with 143 on a second SIGTERM", async () => {
  await using server = await Example.spawn("graceful_server", ["0"]);
  const { port } = await server.listening();
  await using conn = await connect({ port });
  await conn.write("60000\n");
  await server.stderr.waitFor(/^working 60000 ms/);
  server.kill("SIGTERM");
  await server.stderr.waitFor(/^shutting down/);
  server.kill("SIGTERM");
  const result = await server.finish();
  assertEquals(result.code, 143);
  assertEquals(result.stderr.at(-1), "stopping at once (signal SIGTERM)");
});
