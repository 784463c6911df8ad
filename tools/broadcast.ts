#!/usr/bin/env -S deno run --allow-net --unstable-net
/**
 * `broadcast`: the UDP broadcast pair of the Python tutorial. `listen`
 * prints each datagram with its sender and answers it with a unicast
 * `ACK`; `send` shouts a message to a broadcast address and prints every
 * reply until its wait ends.
 *
 * Replies are recognisable: a reply is the text `ACK`, or `ACK`, a space
 * and more text (`ACK Got it`). `listen` never answers a datagram that is
 * itself a reply — so two listeners, or a listener and the Python
 * tutorial's, cannot be made to answer each other forever by one forged
 * datagram — and sends at most 10 replies a second to one address (the IP
 * address, whatever the port; 1,024 addresses tracked at once): what a
 * forged sender address can make it send is bounded.
 *
 * ```
 * broadcast listen --port PORT [--host HOST] [--ack TEXT | --no-ack]
 * broadcast send MESSAGE --to ADDRESS --port PORT [--wait SECONDS] [--count N] [--interval MS]
 * ```
 *
 * `listen` flags:
 *
 * - `--port PORT` — UDP port to listen on, `0` for any free one (required)
 * - `--host HOST` — address to bind (default `127.255.255.255`: broadcasts
 *   from this machine only; `0.0.0.0` for broadcasts from the network).
 *   Linux does not deliver broadcasts to a socket bound to `127.0.0.1`.
 *   The port is bound with `SO_REUSEADDR`, so several listeners can share it
 * - `--ack TEXT` — reply `ACK TEXT` to each datagram (default: `ACK`)
 * - `--no-ack` — stay silent
 *
 * `send` flags:
 *
 * - `MESSAGE` — the text to send (UTF-8); put `--` before it if it starts
 *   with `-`
 * - `--to ADDRESS` — where to send (required, never defaulted):
 *   `255.255.255.255` reaches the local network, `127.255.255.255` this
 *   machine only; any unicast or multicast address works too
 * - `--port PORT` — the listeners' port (required)
 * - `--wait SECONDS` — how long to collect replies after the last send
 *   (default 2; 0 sends without waiting)
 * - `--count N` — how many times to send (default 1)
 * - `--interval MS` — whole milliseconds between sends (default 1000; 0:
 *   back to back)
 *
 * Both: `-h`, `--help`; `--version`.
 *
 * Output: one line per datagram on stdout, `SENDER TEXT` (`127.0.0.1:40001
 * Hi there!`), with `\` and control characters (C0, DEL and C1: U+0000–U+001F,
 * U+007F–U+009F) escaped (`\n`, `\xHH`) so that each datagram stays on one
 * line and none drives the terminal. Logs go to stderr (`listening on
 * 127.255.255.255:37020`, `sent 9 bytes to …`, `2 replies`). Exit codes:
 * `send` 0 when at least one reply came, 1 when none did; `listen` 0 after
 * SIGINT, SIGTERM or SIGHUP; 1 when the network fails (cannot bind); 2 on
 * bad usage.
 *
 * Run it:
 *
 * ```sh
 * deno run --allow-net --unstable-net tools/broadcast.ts listen --port 37020
 * deno run --allow-net --unstable-net tools/broadcast.ts send "Hi there!" --to 127.255.255.255 --port 37020
 * ```
 *
 * Compile it (`deno task compile broadcast` does this):
 *
 * ```sh
 * deno compile --allow-net --unstable-net --output dist/sockit-broadcast tools/broadcast.ts
 * ```
 *
 * @module
 */
import { formatAddress, shutdownOnSignals } from "../net/mod.ts";
import {
  bind,
  broadcast,
  type DatagramSocket,
  LOOPBACK_BROADCAST,
  serveDatagrams,
} from "../udp/mod.ts";
import { EXIT_FAILURE, EXIT_OK, reportError, versionLine } from "./_cli.ts";
import { escapeControls } from "./_escape.ts";
import {
  parseHost,
  parsePort,
  parsePositiveInt,
  parseSeconds,
} from "./_values.ts";
import { parseFlags, UsageError } from "./_flags.ts";

const TOOL = "broadcast";

const USAGE =
  `Usage: broadcast listen --port PORT [--host HOST] [--ack TEXT | --no-ack]
       broadcast send MESSAGE --to ADDRESS --port PORT [--wait SECONDS]
                      [--count N] [--interval MS]

UDP broadcast: listen prints each datagram with its sender and answers it
with a unicast ACK; send broadcasts MESSAGE and prints every reply.

Replies: a reply is the text ACK, or ACK, a space and more (ACK Got it).
listen never answers a datagram that is itself a reply (no two listeners
answer each other forever), and sends at most 10 replies a second to one
address (IP address, whatever the port).

Broadcast addresses:
  255.255.255.255   every host on the local network
  127.255.255.255   this machine only (nothing leaves it)

listen options:
  --port PORT       UDP port to listen on, 0 for any free one (required)
  --host HOST       address to bind (default 127.255.255.255: broadcasts
                    from this machine only; 0.0.0.0 for the network's);
                    127.0.0.1 never sees a broadcast
  --ack TEXT        reply "ACK TEXT" to each datagram (default: ACK)
  --no-ack          do not reply

send options:
  MESSAGE           the text to send; put -- before it if it starts with -
  --to ADDRESS      where to send (required): 255.255.255.255 or
                    127.255.255.255, or any unicast or multicast address
  --port PORT       the listeners' port (required)
  --wait SECONDS    collect replies this long after the last send
                    (default 2; 0: do not wait)
  --count N         send N times (default 1)
  --interval MS     milliseconds between sends (default 1000; 0: back
                    to back)

  -h, --help        show this help
  --version         show the version

Each datagram is one line on stdout: SENDER TEXT, with \\ and control
characters (C0, DEL, C1: U+0000-U+001F, U+007F-U+009F) escaped as \\n or
\\xHH. Logs go to stderr. Exit codes: send 0 when a reply came, 1 when
none did; listen 0 after SIGINT, SIGTERM or SIGHUP; 1 when the network
fails; 2 on bad usage.

Examples:
  broadcast listen --port 37020
  broadcast send "Hi there!" --to 127.255.255.255 --port 37020 --wait 1`;

const LISTEN_FLAGS: readonly string[] = ["port", "host", "ack"];
const SEND_FLAGS: readonly string[] = [
  "port",
  "to",
  "wait",
  "count",
  "interval",
];
const BOOLEAN_FLAGS: readonly string[] = ["help", "version"];

const decoder = new TextDecoder();

/** The most replies per second `listen` sends to one address. */
const MAX_REPLIES_PER_SECOND = 10;

/**
 * Whether `data` is a reply — `ACK`, or `ACK`, a space and more — which
 * `listen` never answers.
 */
function isReply(data: Uint8Array): boolean {
  return data.length >= 3 && data[0] === 0x41 && data[1] === 0x43 &&
    data[2] === 0x4b && (data.length === 3 || data[3] === 0x20);
}

/**
 * A datagram as one line of text: UTF-8 (bad bytes become U+FFFD), with
 * `\` and control characters escaped (C0, DEL and C1: `escapeControls`),
 * so that no peer can drive the terminal.
 */
function escapeText(data: Uint8Array): string {
  return escapeControls(decoder.decode(data));
}

/** Splits the arguments after the command into positionals and flags. */
function splitArgs(
  args: readonly string[],
  valued: readonly string[],
): { positionals: string[]; flags: string[] } {
  const positionals: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("-") && arg !== "-") {
      flags.push(arg);
      const name = arg.startsWith("--") ? arg.slice(2) : "";
      const next = args[i + 1];
      if (valued.includes(name) && next !== undefined) {
        flags.push(next);
        i++;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { positionals, flags };
}

function requirePort(text: string | undefined, forSending: boolean): number {
  if (text === undefined) {
    throw new UsageError(
      forSending
        ? "--port is required: the port the listeners are bound to"
        : "--port is required: the UDP port to listen on (0 for any free one)",
    );
  }
  const port = parsePort(text);
  if (forSending && port === 0) {
    throw new UsageError("--port must be in 1..65535 to send, not 0");
  }
  return port;
}

async function listenCommand(args: readonly string[]): Promise<number> {
  const { positionals, flags: flagArgs } = splitArgs(args, LISTEN_FLAGS);
  const flags = parseFlags(flagArgs, {
    string: LISTEN_FLAGS,
    boolean: [...BOOLEAN_FLAGS, "no-ack"],
    alias: { h: "help" },
  });
  if (flags.set.has("help")) {
    console.log(USAGE);
    return EXIT_OK;
  }
  if (flags.set.has("version")) {
    console.log(versionLine(TOOL));
    return EXIT_OK;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `unexpected argument ${
        JSON.stringify(positionals[0])
      }: listen takes no MESSAGE`,
    );
  }
  const port = requirePort(flags.values.get("port"), false);
  const hostname = parseHost(flags.values.get("host") ?? LOOPBACK_BROADCAST);
  const ackText = flags.values.get("ack");
  if (ackText !== undefined && flags.set.has("no-ack")) {
    throw new UsageError("--ack and --no-ack exclude each other");
  }
  const ack = flags.set.has("no-ack")
    ? null
    : ackText === undefined || ackText === ""
    ? "ACK"
    : `ACK ${ackText}`;

  let socket: DatagramSocket;
  try {
    socket = bind({ hostname, port }, { reuseAddress: true });
  } catch (error) {
    return reportError(TOOL, error);
  }
  using _socket = socket;
  console.error(`listening on ${formatAddress(socket.addr)}`);
  const server = serveDatagrams(socket, ({ data, from }) => {
    console.log(`${formatAddress(from)} ${escapeText(data)}`);
    return isReply(data) ? null : ack;
  }, {
    maxRepliesPerSecond: MAX_REPLIES_PER_SECOND,
    onError: (error) =>
      console.error(
        `${TOOL}: ${error instanceof Error ? error.message : String(error)}`,
      ),
  });
  using _signals = shutdownOnSignals(server, { gracePeriod: 1000 });
  await server.finished;
  const withheld = server.repliesLimited;
  if (withheld > 0) {
    console.error(
      `${withheld} ${
        withheld === 1 ? "reply" : "replies"
      } not sent: at most ${MAX_REPLIES_PER_SECOND} a second go to one address`,
    );
  }
  console.error("shut down");
  return EXIT_OK;
}

async function sendCommand(args: readonly string[]): Promise<number> {
  const { positionals, flags: flagArgs } = splitArgs(args, SEND_FLAGS);
  const flags = parseFlags(flagArgs, {
    string: SEND_FLAGS,
    boolean: BOOLEAN_FLAGS,
    alias: { h: "help" },
  });
  if (flags.set.has("help")) {
    console.log(USAGE);
    return EXIT_OK;
  }
  if (flags.set.has("version")) {
    console.log(versionLine(TOOL));
    return EXIT_OK;
  }
  const message = positionals[0];
  if (message === undefined) {
    throw new UsageError("send needs a MESSAGE");
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `unexpected argument ${
        JSON.stringify(positionals[1])
      }: send takes one MESSAGE (quote it if it has spaces)`,
    );
  }
  const toText = flags.values.get("to");
  if (toText === undefined) {
    throw new UsageError(
      "--to is required: 255.255.255.255 for the local network, 127.255.255.255 for this machine only",
    );
  }
  const hostname = parseHost(toText, "to");
  const port = requirePort(flags.values.get("port"), true);
  const wait = parseSeconds(flags.values.get("wait") ?? "2", "wait", true);
  const countText = flags.values.get("count");
  const count = countText === undefined
    ? 1
    : parsePositiveInt(countText, "count");
  const intervalText = flags.values.get("interval") ?? "1000";
  if (!/^\d{1,9}$/.test(intervalText)) {
    throw new UsageError(
      `--interval must be a whole number of milliseconds >= 0, not ${
        JSON.stringify(intervalText)
      }`,
    );
  }
  const interval = Number(intervalText);

  const to = { hostname, port };
  const bytes = new TextEncoder().encode(message);
  const size = bytes.length;
  if (isReply(bytes)) {
    console.error(
      "note: a message that looks like a reply (ACK, or ACK and a space) gets no answer from broadcast listen",
    );
  }
  console.error(
    `sending ${size} bytes to ${formatAddress(to)}${
      count > 1 ? ` ${count} times, ${interval} ms apart` : ""
    }; collecting replies for ${wait / 1000} s`,
  );
  let replies: number;
  try {
    replies = (await broadcast(message, to, {
      timeout: wait,
      count,
      interval,
      onReply: ({ data, from }) =>
        console.log(`${formatAddress(from)} ${escapeText(data)}`),
    })).length;
  } catch (error) {
    return reportError(TOOL, error);
  }
  console.error(`${replies} ${replies === 1 ? "reply" : "replies"}`);
  return replies > 0 ? EXIT_OK : EXIT_FAILURE;
}

/**
 * Runs the tool with the command line `args`; resolves with the exit code
 * (for `listen`, once a signal has stopped it).
 *
 * @param args The command line, without the program name.
 * @returns The exit code: 0, 1 or 2.
 *
 * @example Bad usage is exit code 2
 * ```ts
 * import { main } from "@sockit/sockit/tools/broadcast";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await main(["--version"]), 0); // prints "sockit-broadcast 0.1.0"
 * assertEquals(await main(["send", "hi", "--port", "9"]), 2); // --to is required
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const [command, ...rest] = args;
    switch (command) {
      case "listen":
        return await listenCommand(rest);
      case "send":
        return await sendCommand(rest);
      case "-h":
      case "--help":
        console.log(USAGE);
        return EXIT_OK;
      case "--version":
        console.log(versionLine(TOOL));
        return EXIT_OK;
      case undefined:
        throw new UsageError("give a command: listen or send");
      default:
        throw new UsageError(
          command.startsWith("-")
            ? `give a command (listen or send) before ${command}`
            : `unknown command ${JSON.stringify(command)}: use listen or send`,
        );
    }
  } catch (error) {
    return reportError(TOOL, error);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
