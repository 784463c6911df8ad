/**
 * `cat --listen --keep-open --workers N`: clients are served by every
 * worker on the shared port, each client's bytes reach stdout; stdin, read
 * by the primary alone, reaches every client of every worker, at the
 * slowest client's pace, and its end half-closes them all; SIGTERM drains
 * the workers; and the flag's usage errors.
 *
 * @module
 */
import { connect, type Connection } from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_utils.ts";
import { assertCode, Cat, runCat } from "./_cat.ts";

const decoder = new TextDecoder();

/**
 * Connects clients to `cat -v --workers 2` until both workers serve one
 * (the kernel picks a worker by a hash of the client's port: a bounded
 * number of clients sees both); each is open, and logged by its worker.
 */
async function clientsOfBothWorkers(
  cat: Cat,
  port: number,
): Promise<{ conns: Connection[]; workers: string[] }> {
  const conns: Connection[] = [];
  const workers: string[] = [];
  try {
    for (let i = 0; i < 64 && new Set(workers).size < 2; i++) {
      const conn = await connect({ port });
      conns.push(conn);
      const [, worker] = await cat.stderr.waitFor(
        new RegExp(
          `^\\[worker (\\d)\\] connection from 127\\.0\\.0\\.1:${conn.localAddr.port} `,
        ),
      );
      workers.push(worker!);
    }
  } catch (error) {
    for (const conn of conns) conn.close();
    throw error;
  }
  assertEquals([...new Set(workers)].sort(), ["1", "2"]);
  return { conns, workers };
}

Deno.test("cat --workers 2: both workers serve clients, every byte reaches stdout, SIGTERM exits 0", async () => {
  const { cat, port } = await Cat.listening([
    "-l",
    "--port",
    "0",
    "-k",
    "--recv-only",
    "--workers",
    "2",
    "-v",
  ]);
  await using _cat = cat;
  assertMatch(cat.stderr.seen.at(-1)!, / \(2 workers\)$/);
  const workers = new Set<string>();
  const sent: string[] = [];
  // The kernel picks a worker by a hash of the client's port: a bounded
  // number of clients sees both.
  for (let i = 0; i < 64 && workers.size < 2; i++) {
    const line = `client ${i}\n`;
    {
      await using conn = await connect({ port });
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
      ["-l", "--port", "0", "--broker", "--workers", "2", "-k"],
      "--workers and --broker exclude each other: clients in different workers could not reach each other",
    ],
    [
      ["-l", "--port", "0", "--chat", "--workers", "2", "-k"],
      "--workers and --chat exclude each other",
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

Deno.test("cat --workers 2 without --recv-only: stdin reaches every client of both workers, what they send is printed, stdin's end half-closes them", async () => {
  const { cat, port } = await Cat.listening([
    "-l",
    "--port",
    "0",
    "-k",
    "--workers",
    "2",
    "-v",
  ]);
  await using _cat = cat;
  assertMatch(cat.stderr.seen.at(-1)!, / \(2 workers\)$/);
  const { conns } = await clientsOfBothWorkers(cat, port);
  try {
    const sent = conns.map((_, i) => `client ${i}\n`);
    await Promise.all(conns.map((conn, i) => conn.write(sent[i]!)));
    const line = "to everyone\n";
    await cat.write(line);
    for (const conn of conns) {
      assertEquals(decoder.decode(await conn.readExactly(line.length)), line);
    }
    for (const text of sent) await cat.waitForOutput(text);
    // The end of stdin: every client gets FIN, and its relay ends with it.
    await cat.end();
    for (const conn of conns) assertEquals(await conn.read(), null);
  } finally {
    for (const conn of conns) conn.close();
  }
  const result = await cat.stop();
  assertCode(result, 0);
  assertEquals(
    result.stdout.split("\n").filter((l) => l).sort(),
    conns.map((_, i) => `client ${i}`).sort(),
  );
});

Deno.test("cat --workers 2 reads stdin only as fast as its slowest client takes it, and every client gets all of it", async () => {
  const { cat, port } = await Cat.listening([
    "-l",
    "--port",
    "0",
    "-k",
    "--workers",
    "2",
    "-v",
  ]);
  await using _cat = cat;
  assertMatch(cat.stderr.seen.at(-1)!, / \(2 workers\)$/);
  const { conns } = await clientsOfBothWorkers(cat, port);
  try {
    // No client reads: once the sockets' buffers are full, a write to
    // stdin stops being taken. Without backpressure all 64 MiB would go.
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let written = 0;
    let pending: Promise<void> | undefined;
    for (let i = 0; i < 1024; i++) {
      const write = cat.write(chunk).then(() => {
        written += chunk.length;
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const taken = await Promise.race([
        write.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(resolve, 1000, false);
        }),
      ]);
      clearTimeout(timer);
      if (!taken) {
        pending = write;
        break;
      }
    }
    assert(pending !== undefined, `cat took all ${written} bytes unread`);
    // Every client reads to the end of stdin and gets every byte.
    const ended = pending.then(() => cat.end());
    const received = await Promise.all(conns.map(async (conn) => {
      let total = 0;
      const buffer = new Uint8Array(256 * 1024);
      for (;;) {
        const n = await conn.readInto(buffer);
        if (n === null) return total;
        total += n;
      }
    }));
    await ended;
    assertEquals(received, conns.map(() => written));
  } finally {
    for (const conn of conns) conn.close();
  }
  assertCode(await cat.stop(), 0);
});

Deno.test("cat --workers 2: SIGTERM drains both workers, ending their clients' relays, exit 0", async () => {
  const { cat, port } = await Cat.listening([
    "-l",
    "--port",
    "0",
    "-k",
    "--workers",
    "2",
    "-v",
  ]);
  await using _cat = cat;
  assertMatch(cat.stderr.seen.at(-1)!, / \(2 workers\)$/);
  const { conns, workers } = await clientsOfBothWorkers(cat, port);
  try {
    const result = await cat.stop();
    assertCode(result, 0);
    for (const conn of conns) assertEquals(await conn.read(), null);
    const closed = result.stderr.filter((l) =>
      / closed 127\.0\.0\.1:\d+: .*; shutting down$/.test(l)
    );
    assertEquals(
      closed.map((l) => l.slice(0, "[worker 1]".length)).sort(),
      workers.map((w) => `[worker ${w}]`).sort(),
    );
    assertMatch(result.stderr.at(-1)!, /^shut down$/);
  } finally {
    for (const conn of conns) conn.close();
  }
});
