/**
 * Helpers for the `rexec/` tests: a client that speaks the protocol byte
 * for byte (so tests can send what no well-behaved client would), and a
 * server on loopback port 0 that allows `echo` unless told otherwise.
 *
 * @module
 */
import { LengthPrefixCodec } from "../../framing/mod.ts";
import type { Address } from "../../net/mod.ts";
import { connect, type Connection, type Server } from "../../tcp/mod.ts";
import { serveCommands, type ServeCommandsOptions } from "../../rexec/mod.ts";
import { type CommandReply, decodeReply } from "../../rexec/_protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What one request got: its output by stream and its last reply. */
export interface Outcome {
  stdout: string;
  stderr: string;
  /** The `exit` or `error` reply that ended it. */
  end: CommandReply;
}

/** A client that speaks the protocol by hand. */
export class RawClient implements AsyncDisposable {
  readonly conn: Connection;
  readonly #decoder = new LengthPrefixCodec({ header: "u32be" });
  readonly #frames: Uint8Array[] = [];

  private constructor(conn: Connection) {
    this.conn = conn;
    conn.setTimeout(5000); // a broken test fails instead of hanging
  }

  /** Connects to `server` (anything with an `addr`). */
  static async open(server: { readonly addr: Address }): Promise<RawClient> {
    return new RawClient(await connect(server.addr));
  }

  async send(data: string | Uint8Array): Promise<void> {
    await this.conn.write(data);
  }

  /** The next reply, or `null` when the server closed the connection. */
  async reply(): Promise<CommandReply | null> {
    while (this.#frames.length === 0) {
      const chunk = await this.conn.read();
      if (chunk === null) return null;
      this.#decoder.push(
        chunk,
        (body: Uint8Array) => this.#frames.push(body.slice()),
      );
    }
    return decodeReply(this.#frames.shift()!);
  }

  /** Replies up to and including the `exit` or `error` one. */
  async outcome(): Promise<Outcome> {
    let stdout = "";
    let stderr = "";
    for (;;) {
      const reply = await this.reply();
      if (reply === null) throw new Error("the server closed the connection");
      if (reply.kind === "stdout") stdout += decoder.decode(reply.data);
      else if (reply.kind === "stderr") stderr += decoder.decode(reply.data);
      else return { stdout, stderr, end: reply };
    }
  }

  /** Sends `line` and a `\n`, and returns its outcome. */
  async request(line: string | Uint8Array): Promise<Outcome> {
    const bytes = typeof line === "string" ? encoder.encode(line) : line;
    const request = new Uint8Array(bytes.length + 1);
    request.set(bytes);
    request[bytes.length] = 0x0a;
    await this.send(request);
    return await this.outcome();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.conn.close();
    return Promise.resolve();
  }
}

/** The error name of an outcome, or `exit N` when it ran. */
export function verdict(outcome: Outcome): string {
  return outcome.end.kind === "error"
    ? outcome.end.reason
    : outcome.end.kind === "exit"
    ? `exit ${outcome.end.code}`
    : outcome.end.kind;
}

/** A command server on `127.0.0.1`, port 0, allowing `echo` by default. */
export function serve(options: Partial<ServeCommandsOptions> = {}): Server {
  return serveCommands({ port: 0 }, { allow: ["echo"], ...options });
}
