/**
 * `cat --listen --keep-open --recv-only --workers N`: clients are served
 * by every worker on the shared port, each client's bytes reach stdout,
 * SIGTERM drains the workers; and the flag's usage errors.
 *
 * @module
 */
import { connect } from "../../tcp/mod.ts";
import { assertEquals, assertStringIncludes } from "../_utils.ts";
import { assertCode, Cat, runCat } from "./_cat.ts";

Deno.test("cat --workers 2: both workers serve clients, every byte reaches stdout, SIGTERM exits 0", async () => {
  await using cat = new Cat([
    "-l",
    "--port",
    "0",
    "-k",
    "--recv-only",
    "--workers",
    "2",
    "-v",
  ]);
  const [, port] = await cat.stderr.waitFor(
    /^listening on 127\.0\.0\.1:(\d+) \(2 workers\)$/,
  );
  const workers = new Set<string>();
  const sent: string[] = [];
  // The kernel picks a worker by a hash of the client's port: a bounded
  // number of clients sees both.
  for (let i = 0; i < 64 && workers.size < 2; i++) {
    const line = `client ${i}\n`;
    {
      await using conn = await connect({ port: Number(port) });
      await conn.write(line);
      await conn.shutdown("write");
      assertEquals(await conn.read(), null); // cat closes after our FIN
      const [, worker] = await cat.stderr.waitFor(
        new RegExp(
          `^\\[worker (\\d)\\] connection from 127\\.0\\.0\\.1:${conn.localAddr.port} `,
        ),
      );
      workers.add(worker!);
    }
    sent.push(line);
  }
  assertEquals([...workers].sort(), ["1", "2"]);
  await cat.waitForOutput(sent.at(-1)!);
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(
    result.stdout.split("\n").filter((l) => l).sort(),
    sent.map((l) => l.trim()).sort(),
  );
});

Deno.test("cat --workers: clear errors for what cannot work", async () => {
  const cases: Array<[string[], string]> = [
    [
      ["-l", "--port", "0", "--workers", "2", "--recv-only"],
      "--workers needs --listen --keep-open",
    ],
    [
      ["-l", "--port", "0", "-k", "--workers", "2"],
      "--workers needs --recv-only",
    ],
    [
      ["-l", "--port", "0", "--broker", "--workers", "2", "-k", "--recv-only"],
      "--workers and --broker exclude each other",
    ],
    [
      ["-l", "--port", "0", "-k", "--recv-only", "--workers", "0"],
      "--workers must be a positive integer or auto",
    ],
    [
      ["-l", "--unix", "/tmp/x.sock", "-k", "--recv-only", "--workers", "2"],
      "--workers is for TCP",
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCat(args);
    assertCode(result, 2);
    assertStringIncludes(result.stderr.join("\n"), message);
  }
});
