/**
 * A race the soak run found: a read whose data has arrived, but whose
 * continuation has not run yet, when the connection is closed — by the
 * idle timeout, by a shutdown's cut-off or by `close()`. The handler must
 * get the error a closed connection gives (`TimeoutError` after an idle
 * timeout), never a `TypeError` from the read buffer the close released.
 *
 * Under load this happens at random (in one soak run, once on the echo
 * tool and twice on the framed echo server, logged as `TypeError: Cannot
 * read properties of null (reading 'length')`); here the read's
 * completion is held back with a stand-in for `Deno.Conn`, so the order is
 * exact and the test deterministic.
 *
 * @module
 */
import { Connection, TimeoutError } from "../../tcp/mod.ts";
import { assertInstanceOf, assertRejects } from "../_utils.ts";
import { waitFor } from "../tcp/_helpers.ts";

/** A `Deno.Conn` whose reads complete when the test says so. */
function heldConn(): { conn: Deno.Conn; complete: (n: number) => void } {
  let complete = (_n: number) => {};
  const local: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 40001,
  };
  const conn = {
    localAddr: local,
    remoteAddr: { ...local, port: 40002 },
    read(buffer: Uint8Array): Promise<number | null> {
      return new Promise((resolve) => {
        complete = (n) => {
          buffer.fill(0x61, 0, n);
          resolve(n);
        };
      });
    },
    write: (bytes: Uint8Array) => Promise.resolve(bytes.length),
    closeWrite: () => Promise.resolve(),
    close: () => {},
  };
  return { conn: conn as unknown as Deno.Conn, complete: (n) => complete(n) };
}

Deno.test("a read completing as the idle timeout closes the connection raises TimeoutError, not TypeError", async () => {
  const held = heldConn();
  const conn = new Connection(held.conn, { idleTimeout: 20 });
  const reading = conn.read();
  reading.catch(() => {}); // checked below
  await waitFor(() => conn.closed, "the idle timeout", 2000);
  // The data had arrived; its continuation runs after the close.
  held.complete(5);
  const error = await reading.then(
    (data) => new Error(`read() returned ${data?.length} bytes`),
    (error: unknown) => error,
  );
  assertInstanceOf(error, TimeoutError, String(error));
});

Deno.test("a read completing as close() runs rejects as a closed connection's read, not with TypeError", async () => {
  const held = heldConn();
  const conn = new Connection(held.conn);
  const reading = conn.read();
  held.complete(5);
  conn.close(); // before the read's continuation: a shutdown's cut-off
  await assertRejects(() => reading, Deno.errors.BadResource);
});
