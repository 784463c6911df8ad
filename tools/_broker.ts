/**
 * `cat --listen --broker` and `--chat`, ncat's connection broker: what
 * each client sends goes to every other client (and the listener's stdin
 * to all of them); `--chat` does it a line at a time, each line prefixed
 * with its sender (`<user3> hello`, the listener's stdin as `<user0>`),
 * its text escaped as the other tools escape what peers send (no client
 * can drive the others' terminals: see `chatLine()` below), and says who
 * comes and goes.
 *
 * Bounds: a sender waits while a client it sends to has more than
 * {@linkcode HIGH_WATER} bytes waiting (backpressure: nothing piles up);
 * a client that takes nothing for the stall time while others wait on it
 * is dropped, so one client that never reads cannot stop the room. A
 * `--chat` line longer than {@linkcode MAX_LINE} bytes goes out in pieces.
 * So a broker holds at most about HIGH_WATER plus a chunk per sender for
 * each client.
 *
 * @module
 */
import type { Connection } from "../tcp/mod.ts";
import { escapeControls } from "./_escape.ts";
import type { Progress } from "./_progress.ts";

/** Bytes waiting for one client above which its senders wait. */
export const HIGH_WATER = 256 * 1024;
/** The longest `--chat` line relayed whole; longer ones go in pieces. */
export const MAX_LINE = 16 * 1024;
/** The most bytes one write to a client takes from its queue. */
const WRITE_BATCH = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const encoder = new TextEncoder();
/** Not fatal: bytes that are not UTF-8 become U+FFFD. */
const decoder = new TextDecoder();

/** How a broker runs. */
export interface BrokerOptions {
  /** `--chat`: lines prefixed with their sender, arrivals and departures. */
  chat: boolean;
  /** Milliseconds a client may take nothing while others wait on it. */
  stallTimeout: number;
  /** Logs (`-v`). */
  info: (line: string) => void;
  /**
   * `--progress`: "received" counts the bytes read from clients, "sent"
   * the bytes written to them, each copy counted (a line that goes to
   * three clients counts three times; `--chat`'s prefixes and notices
   * included). The listener's stdin is in neither until it goes out.
   */
  progress?: Progress | undefined;
}

/** One client, or the listener's stdin (`user0`, never written to). */
interface Member {
  name: string;
  conn: Connection | null;
  peer: string;
  queue: Uint8Array[];
  queued: number;
  writing: boolean;
  /** When a byte last went to it, or data started waiting for it. */
  lastProgress: number;
  /** Wakes senders waiting on it. */
  wake: (() => void)[];
  closed: boolean;
  /** `--chat`: the start of a line not ended yet. */
  partial: Uint8Array[];
  partialBytes: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The broker: {@linkcode Broker.serve} each client (the listener's
 * handler), {@linkcode Broker.feed} the listener's stdin.
 */
export class Broker {
  readonly #options: BrokerOptions;
  readonly #members = new Set<Member>();
  #clients = 0;

  /**
   * Makes a broker with no clients.
   *
   * @param options Chat or not, the stall time, the log.
   */
  constructor(options: BrokerOptions) {
    this.#options = options;
  }

  /**
   * Serves one client until it ends (its end of stream, an error, a
   * drop): what it sends goes to the others.
   *
   * @param conn The client's connection.
   * @param peer Its address, for the log.
   */
  async serve(conn: Connection, peer: string): Promise<void> {
    const member = newMember(`user${++this.#clients}`, conn, peer);
    const { chat, info } = this.#options;
    info(`connection from ${peer} as ${member.name}`);
    if (chat) {
      const others = [...this.#members].map((m) => m.name);
      this.#send(
        member,
        notice(
          `you are ${member.name}; ${
            others.length === 0
              ? "nobody else is here"
              : `here: ${others.join(", ")}`
          }`,
        ),
      );
      this.#broadcast(null, notice(`${member.name} joined`));
    }
    this.#members.add(member);
    let why = "it closed";
    try {
      for (;;) {
        const chunk = await conn.read();
        if (chunk === null || member.closed) break;
        member.bytesIn += chunk.length;
        this.#options.progress?.add(1, chunk.length);
        await this.#publish(member, chunk);
      }
      if (chat) await this.#publish(member, null);
    } catch (error) {
      if (!member.closed) {
        why = error instanceof Error
          ? error.message.split("\n", 1)[0]!
          : String(error);
      }
    }
    this.#leave(member, why);
  }

  /**
   * Sends the listener's stdin to every client (as `user0` in a chat),
   * until it ends.
   *
   * @param input The listener's stdin.
   */
  async feed(input: ReadableStream<Uint8Array>): Promise<void> {
    const server = newMember("user0", null, "stdin");
    for await (const chunk of input) await this.#publish(server, chunk);
    if (this.#options.chat) await this.#publish(server, null);
  }

  /** Closes every client. */
  close(): void {
    for (const member of this.#members) this.#leave(member, "shutting down");
  }

  /** Sends what `from` sent (`null`: its end, for a chat's last line). */
  async #publish(from: Member, chunk: Uint8Array | null): Promise<void> {
    const bytes = this.#options.chat ? chatLines(from, chunk) : chunk;
    if (bytes === null || bytes.length === 0) return;
    const targets = this.#broadcast(from, bytes);
    for (const target of targets) await this.#drain(target);
  }

  /** Queues `bytes` for every member but `from`; the members. */
  #broadcast(from: Member | null, bytes: Uint8Array): Member[] {
    const targets = [...this.#members].filter((m) => m !== from && !m.closed);
    for (const target of targets) this.#send(target, bytes);
    return targets;
  }

  /** Queues `bytes` for `member` and starts its writer. */
  #send(member: Member, bytes: Uint8Array): void {
    if (member.closed || member.conn === null) return;
    if (member.queued === 0) member.lastProgress = performance.now();
    member.queue.push(bytes);
    member.queued += bytes.length;
    if (!member.writing) this.#write(member);
  }

  /** Writes `member`'s queue until it is empty. */
  async #write(member: Member): Promise<void> {
    member.writing = true;
    try {
      while (member.queue.length > 0 && !member.closed) {
        const batch = takeBatch(member);
        await member.conn!.write(batch);
        member.queued -= batch.length;
        member.bytesOut += batch.length;
        this.#options.progress?.add(0, batch.length);
        member.lastProgress = performance.now();
        wakeAll(member);
      }
    } catch (error) {
      this.#leave(
        member,
        `cannot write to it: ${
          error instanceof Error
            ? error.message.split("\n", 1)[0]
            : String(error)
        }`,
      );
    } finally {
      member.writing = false;
    }
  }

  /**
   * Waits while `member` has more than {@linkcode HIGH_WATER} bytes
   * waiting; drops it when it takes nothing for the stall time.
   */
  async #drain(member: Member): Promise<void> {
    const { stallTimeout } = this.#options;
    while (member.queued > HIGH_WATER && !member.closed) {
      const left = member.lastProgress + stallTimeout - performance.now();
      if (left <= 0) {
        this.#leave(
          member,
          `dropped: it took nothing for ${
            stallTimeout / 1000
          } s while others waited`,
        );
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        member.wake.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Takes `member` out of the room and closes it, once. */
  #leave(member: Member, why: string): void {
    if (member.closed) return;
    member.closed = true;
    this.#members.delete(member);
    member.queue.length = 0;
    member.queued = 0;
    wakeAll(member);
    try {
      member.conn?.close();
    } catch { /* closed already */ }
    this.#options.info(
      `closed ${member.peer} (${member.name}): ${member.bytesIn} bytes in, ${member.bytesOut} out; ${why}`,
    );
    if (this.#options.chat && member.conn !== null) {
      this.#broadcast(null, notice(`${member.name} left`));
    }
  }
}

function newMember(
  name: string,
  conn: Connection | null,
  peer: string,
): Member {
  return {
    name,
    conn,
    peer,
    queue: [],
    queued: 0,
    writing: false,
    lastProgress: performance.now(),
    wake: [],
    closed: false,
    partial: [],
    partialBytes: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
}

function wakeAll(member: Member): void {
  const wake = member.wake.splice(0);
  for (const resolve of wake) resolve();
}

/** Up to {@linkcode WRITE_BATCH} bytes of the queue in one array. */
function takeBatch(member: Member): Uint8Array {
  const first = member.queue.shift()!;
  if (member.queue.length === 0 || first.length >= WRITE_BATCH) return first;
  let size = first.length;
  let count = 0;
  while (
    count < member.queue.length &&
    size + member.queue[count]!.length <= WRITE_BATCH
  ) {
    size += member.queue[count++]!.length;
  }
  if (count === 0) return first;
  const batch = new Uint8Array(size);
  batch.set(first);
  let at = first.length;
  for (const part of member.queue.splice(0, count)) {
    batch.set(part, at);
    at += part.length;
  }
  return batch;
}

/** A chat notice line: `* TEXT`. */
function notice(text: string): Uint8Array {
  return encoder.encode(`* ${text}\n`);
}

/**
 * The chat lines `chunk` completes for `from`, each as `<name> TEXT\n`
 * (a line's `\r\n` end as `\n`, the text escaped); a line
 * past {@linkcode MAX_LINE} goes out as it is so far; `null` ends the
 * stream (its unfinished line goes out). `null` when no line is complete.
 */
function chatLines(from: Member, chunk: Uint8Array | null): Uint8Array | null {
  const lines: Uint8Array[] = [];
  const flush = () => {
    lines.push(chatLine(from.name, from.partial, from.partialBytes));
    from.partial = [];
    from.partialBytes = 0;
  };
  if (chunk === null) {
    if (from.partialBytes > 0) flush();
  } else {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(LF, start);
      const piece = chunk.subarray(start, end === -1 ? chunk.length : end);
      let cut = false; // the line so far went out at MAX_LINE
      for (let at = 0; at < piece.length;) {
        const part = piece.subarray(at, at + MAX_LINE - from.partialBytes);
        from.partial.push(part);
        from.partialBytes += part.length;
        at += part.length;
        cut = from.partialBytes >= MAX_LINE;
        if (cut) flush();
      }
      if (end === -1) break;
      if (!cut || from.partialBytes > 0) flush();
      start = end + 1;
    }
  }
  if (lines.length === 0) return null;
  if (lines.length === 1) return lines[0]!;
  const out = new Uint8Array(lines.reduce((n, line) => n + line.length, 0));
  let at = 0;
  for (const line of lines) {
    out.set(line, at);
    at += line.length;
  }
  return out;
}

/**
 * One chat line: `<name> `, the text escaped, `\n`. The text is read as
 * UTF-8 (a byte that is not UTF-8 shows as U+FFFD) and escaped by
 * `escapeControls()`, as `broadcast` and `rexec` print what peers send:
 * `\` as `\\`, a tab as `\t`, a lone CR as `\r`, and the rest of C0
 * (U+0000-U+001F: ESC starts a terminal command), DEL and C1
 * (U+0080-U+009F: U+009B is a terminal's CSI) as `\xHH`.
 */
function chatLine(
  name: string,
  parts: readonly Uint8Array[],
  size: number,
): Uint8Array {
  const text = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    text.set(part, at);
    at += part.length;
  }
  // A CRLF line end (-C, telnet) is a line end, not a character to show.
  const body = size > 0 && text[size - 1] === CR
    ? text.subarray(0, size - 1)
    : text;
  return encoder.encode(`<${name}> ${escapeControls(decoder.decode(body))}\n`);
}
