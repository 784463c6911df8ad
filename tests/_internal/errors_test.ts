/**
 * `wrapError()`: one way for tcp/ and udp/ to say what they were doing when
 * Deno failed, keeping the error's class and the original as `cause`.
 *
 * @module
 */
import { wrapError } from "../../_internal/errors.ts";
import {
  assertEquals,
  assertInstanceOf,
  assertStrictEquals,
} from "../_utils.ts";

Deno.test("wrapError() keeps the class, says what failed, and keeps the original as cause", () => {
  const original = new Deno.errors.ConnectionRefused(
    "Connection refused (os error 111)",
  );
  const wrapped = wrapError(original, "connect to 127.0.0.1:9");
  assertInstanceOf(wrapped, Deno.errors.ConnectionRefused);
  assertEquals(
    wrapped.message,
    "Cannot connect to 127.0.0.1:9: Connection refused (os error 111)",
  );
  assertStrictEquals(wrapped.cause, original);
});

Deno.test("wrapError() takes a detail in place of the original message", () => {
  const original = new Deno.errors.AddrInUse("Address already in use");
  const wrapped = wrapError(
    original,
    "listen on 127.0.0.1:80",
    "the address is in use",
  );
  assertInstanceOf(wrapped, Deno.errors.AddrInUse);
  assertEquals(
    wrapped.message,
    "Cannot listen on 127.0.0.1:80: the address is in use",
  );
});

Deno.test("wrapError() returns what is not an Error, or cannot be made again, as it is", () => {
  assertStrictEquals(wrapError("text", "read"), "text");
  class Odd extends Error {
    constructor(required: { code: number }) {
      if (typeof required !== "object") throw new TypeError("give { code }");
      super(`odd ${required.code}`);
    }
  }
  const odd = new Odd({ code: 1 });
  assertStrictEquals(wrapError(odd, "read from x"), odd);
});
