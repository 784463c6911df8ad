#!/usr/bin/env -S deno run --allow-net=127.0.0.1 --allow-env=PORT
/**
 * A small chat room over line framing: many clients, and what one says the
 * others hear. The first line a client sends is its name; every later line
 * goes to everyone else as `<name> line`, and the room hears `* name
 * joined` and `* name left`. Each line is one frame (`lines()`), however
 * TCP splits or joins the bytes. Talk to it with `chat_client.ts`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=PORT examples/chat_server.ts [port]
 * ```
 *
 * The port is the first argument, else `$PORT`, else 12345 (0: any free
 * port).
 *
 * @module
 */
import { lines, shutdownOnSignals, tcp } from "@sockit/sockit";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 12345);
const decoder = new TextDecoder();
const room = new Map<tcp.FramedConnection, string>();

function broadcast(text: string, from?: tcp.FramedConnection): void {
  console.error(text);
  for (const member of room.keys()) {
    // Writes to one connection are queued, never interleaved; a member
    // that has gone leaves the room through its own handler.
    if (member !== from) member.send(text).catch(() => {});
  }
}

const server = tcp.listen({ port }, async (conn) => {
  // A line longer than 1 KiB is an error that ends only this connection.
  const chat = conn.framed(lines({ maxFrameSize: 1024 }));
  await chat.send("welcome! what is your name?");
  const first = await chat.receive();
  if (first === null) return;
  const name = decoder.decode(first).trim() || "anonymous";
  room.set(chat, name);
  await chat.send(`* hello ${name}, ${room.size} here`);
  broadcast(`* ${name} joined`, chat);
  try {
    for await (const line of chat) {
      broadcast(`<${name}> ${decoder.decode(line)}`, chat);
    }
  } finally {
    room.delete(chat);
    broadcast(`* ${name} left`);
  }
});

console.error(`listening on ${tcp.formatAddress(server.addr)}`);
shutdownOnSignals(server);
await server.finished;
