/**
 * Tests for `rexec/_protocol.ts`: the reply frames byte for byte as the
 * protocol documents them (`struct` formats), decoding what was encoded,
 * bodies that are not replies, and `AUTH` lines.
 *
 * @module
 */
import { MalformedFrameError, pack } from "../../framing/mod.ts";
import {
  authToken,
  decodeReply,
  encodeError,
  encodeExit,
  encodeOutput,
  READY_FRAME,
} from "../../rexec/_protocol.ts";
import { assertEquals, assertThrows, concatBytes } from "../_utils.ts";

const encoder = new TextEncoder();
const bytes = (...parts: (Uint8Array | string)[]): Uint8Array =>
  concatBytes(
    parts.map((part) => typeof part === "string" ? encoder.encode(part) : part),
  );

Deno.test("reply frames are a 32-bit length and a body as documented", () => {
  const cases: [string, Uint8Array, Uint8Array][] = [
    // [what, encoded, expected bytes]
    [
      "stdout",
      encodeOutput("stdout", encoder.encode("hi")),
      bytes(pack("!IB", 3, 1), "hi"),
    ],
    [
      "stderr, empty",
      encodeOutput("stderr", new Uint8Array(0)),
      pack("!IB", 1, 2),
    ],
    [
      "exit 0",
      encodeExit({ code: 0, signal: null, timedOut: false, truncated: false }),
      bytes(pack("!IBBi", 6, 3, 0, 0)),
    ],
    [
      "exit after SIGKILL, timed out and truncated",
      encodeExit({
        code: 137,
        signal: "SIGKILL",
        timedOut: true,
        truncated: true,
      }),
      bytes(pack("!IBBi", 13, 3, 3, 137), "SIGKILL"),
    ],
    [
      "a negative exit code",
      encodeExit({ code: -1, signal: null, timedOut: false, truncated: false }),
      bytes(pack("!IBBi", 6, 3, 0, -1)),
    ],
    [
      "error",
      encodeError("NotAllowed", "Cannot run \u00e9"),
      bytes(pack("!IBB", 25, 4, 10), "NotAllowed", "Cannot run \u00e9"),
    ],
    ["ready", READY_FRAME, pack("!IBB", 2, 5, 1)],
  ];
  for (const [what, encoded, expected] of cases) {
    assertEquals(encoded, expected, what);
  }
});

Deno.test("decodeReply() reads back what was encoded", () => {
  const body = (frame: Uint8Array) => frame.subarray(4);
  assertEquals(decodeReply(body(encodeOutput("stdout", encoder.encode("x")))), {
    kind: "stdout",
    data: encoder.encode("x"),
  });
  for (
    const exit of [
      { code: 0, signal: null, timedOut: false, truncated: false },
      { code: 137, signal: "SIGKILL", timedOut: true, truncated: false },
      { code: 2, signal: null, timedOut: false, truncated: true },
    ]
  ) {
    assertEquals(decodeReply(body(encodeExit(exit))), {
      kind: "exit",
      ...exit,
    });
  }
  assertEquals(decodeReply(body(encodeError("BadRequest", "Cannot x"))), {
    kind: "error",
    reason: "BadRequest",
    message: "Cannot x",
  });
  assertEquals(decodeReply(body(READY_FRAME)), { kind: "ready", version: 1 });
});

Deno.test("decodeReply() refuses bodies that are not replies, naming the offset", () => {
  const cases: [string, Uint8Array, number][] = [
    ["empty", new Uint8Array(0), 0],
    ["an unknown kind", new Uint8Array([9]), 0],
    ["kind 0", new Uint8Array([0, 1, 2]), 0],
    ["an exit cut short", new Uint8Array([3, 0, 0, 0]), 4],
    ["an error without its name length", new Uint8Array([4]), 1],
    ["an error cut inside its name", bytes(pack("!BB", 4, 10), "Not"), 5],
    ["a ready without its version", new Uint8Array([5]), 1],
  ];
  for (const [what, body, offset] of cases) {
    const error = assertThrows(() => decodeReply(body), MalformedFrameError);
    assertEquals(error.offset, offset, what);
  }
});

Deno.test("authToken() finds the token of an AUTH line only", () => {
  const cases: [string, string | undefined][] = [
    ["AUTH s3cret", "s3cret"], // the token
    ["AUTH a b ", "a b "], // the rest of the line, spaces and all
    ["AUTH ", ""], // an empty token
    ["AUTH", ""], // no token at all
    ["AUTHs3cret", undefined], // no space
    ["auth s3cret", undefined], // lower case
    [" AUTH s3cret", undefined], // leading blank
    ["AUT", undefined], // too short
    ["", undefined], // empty
  ];
  const decoder = new TextDecoder();
  for (const [line, token] of cases) {
    const found = authToken(encoder.encode(line));
    assertEquals(found && decoder.decode(found), token, JSON.stringify(line));
  }
});
