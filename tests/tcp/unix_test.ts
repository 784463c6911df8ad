/**
 * Unix stream sockets: `listen({ path })` and `connect({ path })` in a
 * temporary directory, a Python `AF_UNIX` client, and the clear errors —
 * thrown at once, `listen()` being synchronous — for a path in use, a stale
 * socket file and a missing directory; the socket file goes away at
 * shutdown.
 *
 * @module
 */
import { connect, listen, type Server } from "../../tcp/mod.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_utils.ts";
import { deferred, echo, readAll, tempDir, text } from "./_helpers.ts";
import { Python } from "./_python.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Leaves a socket file no one listens on: Python binds it and exits. */
async function staleSocket(path: string): Promise<void> {
  await using python = Python.spawn(
    `
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
s.close()  # the file stays: Python does not unlink it
`,
    [path],
  );
  await python.success();
  assert((await Deno.lstat(path)).isSocket, "no stale socket file was left");
}

Deno.test("listen({ path }) and connect({ path }) talk over a socket file that shutdown() removes", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/echo.sock`;
  const addrs = deferred<[unknown, unknown]>();
  const server = listen({ path }, async (conn) => {
    addrs.resolve([conn.localAddr, conn.remoteAddr]);
    await echo(conn);
  });
  assertEquals(server.addr, { transport: "unix", path });
  assert((await Deno.lstat(path)).isSocket, "no socket file");
  {
    await using conn = await connect({ path });
    assertEquals(conn.remoteAddr, { transport: "unix", path });
    await conn.write("over unix");
    await conn.shutdown("write");
    assertEquals(text(await readAll(conn)), "over unix");
    const [local] = await addrs.promise;
    assertEquals(local, { transport: "unix", path });
  }
  await server.shutdown();
  assertEquals(await exists(path), false, "shutdown() left the socket file");
});

Deno.test("listen({ path }) is typed as a Unix server: addr.path needs no narrowing", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/sync.sock`;
  {
    await using server = listen({ path }, (conn) => {
      const peer: string = conn.localAddr.path; // a Connection<"unix">
      return conn.write(peer === path ? "sync" : "?");
    });
    const typed: Server<"unix"> = server;
    const file: string = typed.addr.path;
    assertEquals(file, path);
    await using conn = await connect({ path });
    assertEquals(text(await readAll(conn)), "sync");
  }
  assertEquals(await exists(path), false);
});

Deno.test("setNoDelay() and setKeepAlive() throw TypeError on a Unix socket", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/opts.sock`;
  await using server = listen({ path }, echo);
  await using conn = await connect({ path });
  assertEquals(conn.localAddr.transport, "unix");
  assertThrows(() => conn.setNoDelay(), TypeError, "Unix");
  assertThrows(() => conn.setKeepAlive(), TypeError, "Unix");
  // connect() skips the TCP-only options for a Unix socket.
  await using other = await connect({ path }, { noDelay: true });
  await other.write("ok");
  assertEquals(text(await other.readExactly(2)), "ok");
  assertEquals(server.acceptedConnections, 2);
});

Deno.test("a Python AF_UNIX client gets its bytes back from listen({ path })", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/py.sock`;
  await using server = listen({ path }, echo);
  await using python = Python.spawn(
    `
data = os.urandom(200_000)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print(s.getpeername())
sender = threading.Thread(target=s.sendall, args=(data,))
sender.start()
got = bytearray()
while len(got) < len(data):
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
sender.join()
s.shutdown(socket.SHUT_WR)
print("ok" if bytes(got) == data and s.recv(1) == b"" else "mismatch")
s.close()
`,
    [path],
  );
  assertEquals(await python.success(), [path, "ok"]);
  assertEquals(server.acceptedConnections, 1);
});

Deno.test("listen({ path }) on a path a live server uses throws AddrInUse naming the path", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/busy.sock`;
  await using server = listen({ path }, echo);
  const error = assertThrows(
    () => listen({ path }, echo),
    Deno.errors.AddrInUse,
  );
  assertStringIncludes(error.message, path);
  // "another server is listening there" where /proc/net/unix can be read
  // (--allow-all), else "a server listens there, or it is left over…".
  assertMatch(
    error.message,
    /a server listens there|another server is listening/,
  );
  // The first server is unharmed.
  await using conn = await connect({ path });
  await conn.write("still mine");
  assertEquals(text(await conn.readExactly(10)), "still mine");
  assertEquals(server.addr, { transport: "unix", path });
});

Deno.test("listen({ path }) refuses a stale socket file unless replaceStaleSocket is set", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/stale.sock`;
  await staleSocket(path);
  const error = assertThrows(
    () => listen({ path }, echo),
    Deno.errors.AddrInUse,
  );
  assertStringIncludes(error.message, path);
  assertStringIncludes(error.message, "replaceStaleSocket");
  assert(await exists(path), "the stale file was removed without the option");

  await using server = listen({ path }, echo, { replaceStaleSocket: true });
  await using conn = await connect({ path });
  await conn.write("fresh");
  assertEquals(text(await conn.readExactly(5)), "fresh");
  assertEquals(server.acceptedConnections, 1);
});

Deno.test("listen({ path }) with replaceStaleSocket never removes a file that is not a socket", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/notes.txt`;
  await Deno.writeTextFile(path, "precious data");
  const error = assertThrows(
    () => listen({ path }, echo, { replaceStaleSocket: true }),
    Deno.errors.AddrInUse,
  );
  assertStringIncludes(error.message, path);
  assertStringIncludes(error.message, "not a socket");
  assertEquals(
    await Deno.readTextFile(path).catch(() => "<gone>"),
    "precious data",
  );
});

Deno.test("listen({ path }) in a directory that does not exist throws NotFound naming the directory", async () => {
  await using dir = await tempDir();
  const missing = `${dir.path}/no/such/dir`;
  const error = assertThrows(
    () => listen({ path: `${missing}/s.sock` }, echo),
    Deno.errors.NotFound,
  );
  assertStringIncludes(error.message, `directory ${missing} does not exist`);
});

Deno.test("connect() to a socket file that does not exist throws NotFound naming the path", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/nobody.sock`;
  const error = await assertRejects(
    () => connect({ path }),
    Deno.errors.NotFound,
  );
  assertStringIncludes(error.message, `unix:${path}`);
});
