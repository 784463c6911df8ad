#!/usr/bin/env -S deno run --allow-net=127.0.0.1
/**
 * The sockit demo: byte order and Python-exact `struct` on real bytes, sent
 * through a real loopback TCP connection.
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
  pack,
  readUint32Be,
  Struct,
  unpack,
  writeUint16Be,
} from "../mod.ts";

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
console.log(
  `  htons(1) = ${htons(1)}, htonl(1) = ${htonl(1)} on this host`,
);

console.log("\nNative alignment, as CPython lays out C structs");
for (const format of ["@bi", "=bi", "@bq", "@b0q", "!bq"]) {
  console.log(`  calcsize(${JSON.stringify(format)}) = ${calcsize(format)}`);
}

console.log("\nA message header: type, length, id (!HIq) and a payload");
const header = new Struct("!HIq");
const payload = new TextEncoder().encode("Hi there!");
const message = new Uint8Array(header.size + payload.length);
header.packInto(message, 0, 7, payload.length, 1234567890123456789n);
message.set(payload, header.size);
show("packed", message);

// Send it through a real socket on loopback, then read it back.
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const server = (async () => {
  const conn = await listener.accept();
  const received: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(4096);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    received.push(buffer.slice(0, n));
    total += n;
  }
  conn.close();
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of received) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
})();
const client = await Deno.connect({
  hostname: "127.0.0.1",
  port: listener.addr.port,
});
let written = 0;
while (written < message.length) {
  written += await client.write(message.subarray(written));
}
client.closeWrite();
const received = await server;
client.close();
listener.close();

show(`received on port ${listener.addr.port}`, received);
const [kind, length, id] = header.unpackFrom(received);
const text = new TextDecoder().decode(
  received.subarray(header.size, header.size + length),
);
console.log(`  unpacked: type=${kind} length=${length} id=${id} text=${text}`);
console.log(
  `  readUint32Be(received, 2) = ${
    readUint32Be(received, 2)
  } (the length field)`,
);

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
