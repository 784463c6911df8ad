/**
 * `FramedConnection` (`Connection.framed(codec)`) over loopback: sending
 * checks a frame before anything is written, sends several frames in one
 * write, and a signal stops a send. Decoding, framing errors and cut-off
 * frames are covered with the servers (`listen_test.ts`, the reliability
 * suite).
 *
 * @module
 */
import {
  FrameTooLargeError,
  lengthPrefixed,
  lines,
} from "../../framing/mod.ts";
import { connect, listen } from "../../tcp/mod.ts";
import { assertEquals, assertRejects, assertStrictEquals } from "../_utils.ts";
import { deferred, readAll, text } from "./_helpers.ts";

Deno.test("framed().send() rejects an oversized payload before writing anything", async () => {
  const got = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    got.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  const framed = conn.framed(lengthPrefixed({ header: "u16be" }));
  assertStrictEquals(framed.connection, conn);
  await assertRejects(
    async () => await framed.send(new Uint8Array(70_000)),
    FrameTooLargeError,
  );
  await framed.send("ok");
  await conn.shutdown("write");
  assertEquals(await got.promise, new Uint8Array([0, 2, 0x6f, 0x6b]));
});

Deno.test("sendAll() sends several frames in one write, and receive() hands them out one by one", async () => {
  const codec = lengthPrefixed({ header: "u8" });
  await using server = listen({ port: 0 }, async (conn) => {
    const framed = conn.framed(codec);
    for await (const frame of framed) await framed.send(frame);
  });
  await using conn = await connect(server.addr);
  const framed = conn.framed(codec);
  await framed.sendAll(["a", "bc", ""]);
  assertEquals(conn.bytesSent, 1 + 1 + 1 + 2 + 1);
  const got = [];
  for (let i = 0; i < 3; i++) got.push(text(await framed.receive()));
  assertEquals(got, ["a", "bc", ""]);
});

Deno.test("send() with an aborted signal sends nothing", async () => {
  const got = deferred<Uint8Array>();
  await using server = listen({ port: 0 }, async (conn) => {
    got.resolve(await readAll(conn));
  });
  await using conn = await connect(server.addr);
  const framed = conn.framed(lines());
  const reason = new Error("not now");
  assertStrictEquals(
    await framed.send("no", { signal: AbortSignal.abort(reason) }).catch((e) =>
      e
    ),
    reason,
  );
  await framed.send("yes");
  await conn.shutdown("write");
  assertEquals(text(await got.promise), "yes\n");
});
