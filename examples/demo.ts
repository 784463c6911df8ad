#!/usr/bin/env -S deno run --allow-net=127.0.0.1
/**
 * The sockit demo: byte order and Python-exact `struct` on real bytes, then
 * message framing over real loopback TCP connections — what goes wrong
 * without framing, and the fix with lines and with length prefixes.
 *
 * Run it with `deno task demo` (or `deno run --allow-net=127.0.0.1
 * examples/demo.ts`).
 *
 * @module
 */
import {
  calcsize,
  htonl,
  htons,
  lengthPrefixed,
  lines,
  pack,
  Struct,
  tcp,
  unpack,
  writeUint16Be,
} from "../mod.ts";

const text = new TextEncoder();
const decoder = new TextDecoder();

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function show(label: string, bytes: Uint8Array): void {
  console.log(`  ${label.padEnd(34)} ${hex(bytes)}`);
}

console.log("Network byte order: the number 20 as a 32-bit unsigned int");
show(`pack("!I", 20)   big-endian`, pack("!I", 20));
show(`pack("<I", 20)   little-endian`, pack("<I", 20));
show(`pack("@I", 20)   native`, pack("@I", 20));
console.log(`  htons(1) = ${htons(1)}, htonl(1) = ${htonl(1)} on this host`);

console.log("\nNative alignment, as CPython lays out C structs");
for (const format of ["@bi", "=bi", "@bq", "@b0q", "!bq"]) {
  console.log(`  calcsize(${JSON.stringify(format)}) = ${calcsize(format)}`);
}

console.log("\nA binary header (!HIq: type, length, id) over a TCP connection");
const header = new Struct("!HIq");
{
  await using server = tcp.listen({ port: 0 }, async (conn) => {
    const [kind, length, id] = header.unpack(
      await conn.readExactly(header.size),
    );
    const body = decoder.decode(await conn.readExactly(length));
    await conn.write(`type=${kind} id=${id} body=${body}`);
  });
  await using conn = await tcp.connect(server.addr);
  const body = text.encode("Hi there!");
  const message = header.pack(7, body.length, 1234567890123456789n);
  show("header sent", message);
  await conn.write(message);
  await conn.write(body);
  await conn.shutdown("write"); // half-close: we are done sending
  console.log(`  server understood: ${decoder.decode((await conn.read())!)}`);
}

console.log("\nTCP has no message boundaries: three sends, one recv");
{
  let first = "";
  await using server = tcp.listen({ port: 0 }, async (conn) => {
    const data = await conn.readExactly(15);
    first = decoder.decode(data);
  });
  await using conn = await tcp.connect(server.addr);
  for (const word of ["hello", "brave", "world"]) await conn.write(word);
  await conn.shutdown("write");
  await server.shutdown();
  console.log(
    `  the server read ${JSON.stringify(first)}: where do messages end?`,
  );
}

console.log(
  "\nThe fix, twice: end each message with \\n, or lead it with a length",
);
for (const codec of [lines(), lengthPrefixed({ header: "u16be" })]) {
  const received: string[] = [];
  await using server = tcp.listen({ port: 0 }, async (conn) => {
    for await (const frame of conn.framed(codec)) {
      received.push(decoder.decode(frame));
    }
  });
  await using conn = await tcp.connect(server.addr);
  const bytes = codec.createEncoder().encodeAll(
    ["hello", "brave", "world"].map((w) => text.encode(w)),
  );
  show(`${codec.name} on the wire`, bytes);
  await conn.write(bytes.subarray(0, 7)); // split anywhere: still 3 messages
  await conn.write(bytes.subarray(7));
  await conn.shutdown("write");
  await server.shutdown();
  console.log(`  ${codec.name}: the server got ${JSON.stringify(received)}`);
}

console.log("\nValues out of range are errors, as in Python");
try {
  pack("!H", 70000);
} catch (error) {
  console.log(`  ${error}`);
}
try {
  writeUint16Be(new Uint8Array(2), 0, -1);
} catch (error) {
  console.log(`  ${error}`);
}
const [flag, ratio] = unpack("<?e", pack("<?e", true, 0.333));
console.log(
  `\nHalf floats round as in Python: 0.333 → ${ratio} (flag ${flag})`,
);
