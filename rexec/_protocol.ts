// The rexec wire format (version 1), private to rexec/: the reply frames the
// server writes and the client reads, and the `AUTH` request line. The
// protocol itself is described for users in `mod.ts`.
//
// A reply is a frame: a 32-bit big-endian length, then that many bytes of
// body. The body's first byte is its kind (`REPLY_KIND`); the rest depends
// on the kind. Request lines (client → server) are in `_command_line.ts`.
import { MalformedFrameError, Struct } from "../framing/mod.ts";
import { equals } from "../_internal/std.ts";
import type { OutputStream } from "./_runner.ts";
import type { CommandExit } from "./client.ts";
import type { CommandErrorReason } from "./errors.ts";

/** The protocol version a `ready` reply announces. */
export const PROTOCOL_VERSION = 1;

/** The kind byte that starts each reply body. */
export const REPLY_KIND: {
  readonly stdout: 1;
  readonly stderr: 2;
  readonly exit: 3;
  readonly error: 4;
  readonly ready: 5;
} = { stdout: 1, stderr: 2, exit: 3, error: 4, ready: 5 };

/** Bit of an `exit` reply's flags: the time limit killed the command. */
export const EXIT_TIMED_OUT = 1;
/** Bit of an `exit` reply's flags: the output passed the limit and was cut. */
export const EXIT_TRUNCATED = 2;

/** Output bytes in one `stdout`/`stderr` frame, at most. */
export const MAX_OUTPUT_FRAME = 64 * 1024;
/** The largest reply frame a client accepts (servers send far smaller). */
export const MAX_REPLY_FRAME = 1024 * 1024;

/** One reply frame's body, decoded by {@linkcode decodeReply}. */
export type CommandReply =
  | { kind: "stdout"; data: Uint8Array }
  | { kind: "stderr"; data: Uint8Array }
  | ({ kind: "exit" } & CommandExit)
  | { kind: "error"; reason: string; message: string }
  | { kind: "ready"; version: number };

const OUTPUT_PREFIX = new Struct("!IB");
const EXIT_HEADER = new Struct("!BBi");
const ERROR_HEADER = new Struct("!BB");
const READY_BODY = new Struct("!BB");

const encoder = new TextEncoder();
const lenient = new TextDecoder();
const AUTH_PREFIX = encoder.encode("AUTH");

/**
 * Decodes the body of one reply frame (the bytes after its 32-bit length).
 * Output `data` is a view of `body`.
 *
 * @throws {MalformedFrameError} If the body is not a reply; `offset` is the
 * offending byte's index in `body`.
 */
export function decodeReply(body: Uint8Array): CommandReply {
  const kind = body[0];
  switch (kind) {
    case REPLY_KIND.stdout:
      return { kind: "stdout", data: body.subarray(1) };
    case REPLY_KIND.stderr:
      return { kind: "stderr", data: body.subarray(1) };
    case REPLY_KIND.exit: {
      if (body.length < EXIT_HEADER.size) {
        throw new MalformedFrameError(
          `an exit reply needs ${EXIT_HEADER.size} bytes, got ${body.length}`,
          body.length,
        );
      }
      const [, flags, code] = EXIT_HEADER.unpackFrom(body, 0);
      const signal = lenient.decode(body.subarray(EXIT_HEADER.size));
      return {
        kind: "exit",
        code,
        signal: signal === "" ? null : signal,
        timedOut: (flags & EXIT_TIMED_OUT) !== 0,
        truncated: (flags & EXIT_TRUNCATED) !== 0,
      };
    }
    case REPLY_KIND.error: {
      const length = body[1];
      if (length === undefined || body.length < 2 + length) {
        throw new MalformedFrameError(
          "an error reply is cut off inside its name",
          body.length,
        );
      }
      return {
        kind: "error",
        reason: lenient.decode(body.subarray(2, 2 + length)),
        message: lenient.decode(body.subarray(2 + length)),
      };
    }
    case REPLY_KIND.ready: {
      const version = body[1];
      if (version === undefined) {
        throw new MalformedFrameError(
          "a ready reply needs its version byte",
          1,
        );
      }
      return { kind: "ready", version };
    }
    default:
      throw new MalformedFrameError(
        kind === undefined
          ? "a reply needs at least its kind byte"
          : `unknown reply kind ${kind}`,
        0,
      );
  }
}

/** Frames a reply body: its 32-bit big-endian length, then the body. */
function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** A whole `stdout` or `stderr` frame holding `data` (at most 64 KiB). */
export function encodeOutput(
  stream: OutputStream,
  data: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(OUTPUT_PREFIX.size + data.length);
  OUTPUT_PREFIX.packInto(out, 0, data.length + 1, REPLY_KIND[stream]);
  out.set(data, OUTPUT_PREFIX.size);
  return out;
}

/**
 * An empty `stdout` frame: what a server writes now and then while a
 * command runs silently and reading cannot tell whether the client is still
 * there (it sent EOF, or more requests); a write that fails says it is not.
 */
export const PROBE_FRAME: Uint8Array = encodeOutput(
  "stdout",
  new Uint8Array(0),
);

/** A whole `exit` frame. */
export function encodeExit(exit: CommandExit): Uint8Array {
  const flags = (exit.timedOut ? EXIT_TIMED_OUT : 0) |
    (exit.truncated ? EXIT_TRUNCATED : 0);
  const signal = encoder.encode(exit.signal ?? "");
  const body = new Uint8Array(EXIT_HEADER.size + signal.length);
  EXIT_HEADER.packInto(body, 0, REPLY_KIND.exit, flags, exit.code);
  body.set(signal, EXIT_HEADER.size);
  return frame(body);
}

/** A whole `error` frame. */
export function encodeError(
  reason: CommandErrorReason,
  message: string,
): Uint8Array {
  const name = encoder.encode(reason);
  const text = encoder.encode(message);
  const body = new Uint8Array(ERROR_HEADER.size + name.length + text.length);
  ERROR_HEADER.packInto(body, 0, REPLY_KIND.error, name.length);
  body.set(name, ERROR_HEADER.size);
  body.set(text, ERROR_HEADER.size + name.length);
  return frame(body);
}

/** The whole `ready` frame: the same bytes every time. */
export const READY_FRAME: Uint8Array = frame(
  READY_BODY.pack(REPLY_KIND.ready, PROTOCOL_VERSION),
);

/**
 * The token of a request line that is an `AUTH` line (`AUTH <token>`, or
 * a bare `AUTH`: an empty token), else `undefined`.
 */
export function authToken(line: Uint8Array): Uint8Array | undefined {
  if (!equals(line.subarray(0, AUTH_PREFIX.length), AUTH_PREFIX)) {
    return undefined;
  }
  if (line.length === AUTH_PREFIX.length) return new Uint8Array(0);
  return line[AUTH_PREFIX.length] === 0x20
    ? line.subarray(AUTH_PREFIX.length + 1)
    : undefined;
}

/** The `AUTH` request line for `token`, with its `\n`. */
export function authLine(token: string): string {
  return `AUTH ${token}\n`;
}
