import { connect } from "../../tcp/connect.ts";
import { assertEquals } from "../_utils.ts";
import { Example } from "./_example.ts";

const decoder = new TextDecoder();

Deno.test("echo_workers serves from both of its workers, then drains on SIGTERM", async () => {
  await using server = await Example.spawn("echo_workers", ["0", "2"]);
  const [, port] = await server.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(2 workers\)$/,
  );
  // Each connection comes from a new client port, hashed anew: both
  // workers show up within a few (at most 200).
  const seen = new Set<string>();
  for (let attempt = 0; attempt < 200 && seen.size < 2; attempt++) {
    await using conn = await connect({ port: Number(port) });
    const [, worker] = await server.stderr.waitFor(
      /^\[worker (\d)\] connection from /,
    );
    await conn.write("ping");
    assertEquals(decoder.decode(await conn.readExactly(4)), "ping");
    seen.add(worker!);
  }
  assertEquals(seen, new Set(["1", "2"]));
  const result = await server.stop();
  assertEquals(result.code, 0, result.stderr.join("\n"));
  assertEquals(result.stderr.at(-1), "shut down");
});
