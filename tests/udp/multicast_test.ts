/**
 * Tests for multicast (`udp/multicast.ts` and `DatagramSocket.joinMulticast`)
 * on loopback. IPv4 groups are joined on `127.0.0.1` and sent to from a
 * socket bound to `127.0.0.1`, which Linux routes over `lo`: nothing leaves
 * the machine. IPv6 delivery needs a sender that picks `lo`
 * (`IPV6_MULTICAST_IF`), which Deno cannot set; python3 can, and where the
 * kernel refuses (no multicast on `lo`) that test is skipped with the reason.
 *
 * @module
 */
import { bind, type DatagramSocket, TimeoutError } from "../../udp/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../_utils.ts";
import { PythonPeer } from "./_python.ts";

const decoder = new TextDecoder();
/** Why IPv6 multicast delivery cannot be tested here, or `null` if it can. */
async function ipv6MulticastProblem(): Promise<string | null> {
  let socket: DatagramSocket<"udp">;
  try {
    socket = bind({ hostname: "::", port: 0 });
  } catch (error) {
    return `no IPv6 here (${String(error)})`;
  }
  try {
    await using _m = await socket.joinMulticast("ff01::5ec", { interface: 1 });
    const { code, stderr } = await new Deno.Command("python3", {
      args: [
        "-c",
        `import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, 1)
s.sendto(b"probe", ("ff01::5ec", ${socket.addr.port}))`,
      ],
      stdout: "null",
    }).output();
    if (code !== 0) {
      const last = decoder.decode(stderr).trim().split("\n").at(-1);
      return `the kernel will not send IPv6 multicast over loopback: ${last}`;
    }
    await socket.receive({ timeout: 1000 });
    return null;
  } catch (error) {
    return `IPv6 multicast over loopback does not work here: ${String(error)}`;
  } finally {
    await socket[Symbol.asyncDispose]();
  }
}

const IPV6_PROBLEM = await ipv6MulticastProblem();
if (IPV6_PROBLEM !== null) {
  console.log(`IPv6 multicast delivery test skipped: ${IPV6_PROBLEM}`);
}

Deno.test("IPv4: a member on loopback receives what is sent to the group, until it leaves", async () => {
  const group = "239.255.77.11";
  using receiver = bind({ hostname: group, port: 0 });
  const membership = await receiver.joinMulticast(group, {
    interface: "127.0.0.1",
  });
  assertEquals([membership.group, membership.family], [group, "IPv4"]);
  using sender = bind({ hostname: "127.0.0.1", port: 0 }, {
    multicastLoopback: true,
  });
  const to = { hostname: group, port: receiver.addr.port };
  await sender.send("to the group", to);
  const { data, from } = await receiver.receive({ timeout: 2000 });
  assertEquals(decoder.decode(data), "to the group");
  assertEquals(from, sender.addr);
  await membership.leave();
  await membership.leave(); // idempotent
  assert(membership.left);
  await sender.send("after leaving", to);
  await assertRejects(() => receiver.receive({ timeout: 100 }), TimeoutError);
});

Deno.test("IPv4: two members on one port both receive; TTL and loopback can be set", async () => {
  const group = "239.255.77.12";
  using a = bind({ hostname: group, port: 0 }, { reuseAddress: true });
  using b = bind({ hostname: group, port: a.addr.port }, {
    reuseAddress: true,
  });
  await using _ma = await a.joinMulticast(group, { interface: "127.0.0.1" });
  await using _mb = await b.joinMulticast(group, { interface: "127.0.0.1" });
  using sender = bind();
  // Deno sets the sender's multicast options through a membership.
  await using sending = await sender.joinMulticast(group, {
    interface: "127.0.0.1",
  });
  await sending.setTtl(0); // this host only
  await sending.setLoopback(true);
  await sender.send("both", { hostname: group, port: a.addr.port });
  assertEquals(
    decoder.decode((await a.receive({ timeout: 2000 })).data),
    "both",
  );
  assertEquals(
    decoder.decode((await b.receive({ timeout: 2000 })).data),
    "both",
  );
});

Deno.test("multicast arguments are checked", async () => {
  using socket = bind();
  await assertRejects(
    () => socket.joinMulticast("10.0.0.1"),
    RangeError,
    "224.0.0.0/4",
  );
  await assertRejects(
    () => socket.joinMulticast("239.1.1.1", { interface: 1 }),
    TypeError,
    "IPv4 address",
  );
  await assertRejects(
    () => socket.joinMulticast("ff02::1", { interface: "lo" }),
    TypeError,
    "index",
  );
  const membership = await socket.joinMulticast("239.255.77.13", {
    interface: "127.0.0.1",
  });
  await assertRejects(() => membership.setTtl(256), RangeError, "0..255");
  await membership.leave();
  await assertRejects(
    () => membership.setTtl(1),
    Deno.errors.BadResource,
    "left",
  );
});

Deno.test("closing the socket ends its memberships", async () => {
  const socket = bind();
  const membership = await socket.joinMulticast("239.255.77.14", {
    interface: "127.0.0.1",
  });
  socket.close();
  assert(membership.left);
  await membership.leave(); // a no-op, not an error
});

Deno.test("IPv6: join and leave a group on the loopback interface; no hop-limit setting in Deno", async () => {
  let socket: DatagramSocket<"udp">;
  try {
    socket = bind({ hostname: "::", port: 0 });
  } catch (error) {
    console.log(`skipped: no IPv6 here (${String(error)})`);
    return;
  }
  using _socket = socket;
  const membership = await socket.joinMulticast("ff01::5ed", { interface: 1 });
  assertEquals(membership.family, "IPv6");
  await membership.setLoopback(true);
  const error = await assertRejects(() => membership.setTtl(1), TypeError);
  assertStringIncludes(error.message, "hop-limit");
  await membership.leave();
});

Deno.test({
  name: "IPv6: a member on loopback receives a group datagram from Python",
  ignore: IPV6_PROBLEM !== null,
  fn: async () => {
    using receiver = bind({ hostname: "::", port: 0 });
    await using _m = await receiver.joinMulticast("ff01::5ee", {
      interface: 1,
    });
    await using python = PythonPeer.start(
      `
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, 1)
s.sendto(b"v6 group", ("ff01::5ee", int(sys.argv[1])))
`,
      [receiver.addr.port],
    );
    const { data } = await receiver.receive({ timeout: 2000 });
    assertEquals(decoder.decode(data), "v6 group");
    await python.finish();
  },
});
