/**
 * How the relays print a frame or a datagram as a line: `formatFrame()`
 * (`relay/_format.ts`, private to `relay/`).
 *
 * @module
 */
import { formatFrame } from "../../relay/_format.ts";
import { assertEquals, assertThrows } from "../_utils.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const text = (data: Uint8Array): string => decoder.decode(data);

Deno.test("formatFrame() writes text and hex lines", () => {
  const cases: [string, Uint8Array, "text" | "hex", string][] = [
    // text gets a newline
    ["text", bytes("hi"), "text", "hi\n"],
    // text that ends with one keeps it, without a second
    ["text ending in \\n", bytes("hi\n"), "text", "hi\n"],
    // an empty frame is an empty line, either way
    ["empty text", new Uint8Array(), "text", "\n"],
    ["empty hex", new Uint8Array(), "hex", "\n"],
    // hex is lowercase, two digits a byte
    ["hex", new Uint8Array([0, 0x0a, 0xab, 0xff]), "hex", "000aabff\n"],
  ];
  for (const [name, frame, format, expected] of cases) {
    assertEquals(text(formatFrame(frame, format)), expected, name);
  }
});

Deno.test("formatFrame() rejects a format that is neither text nor hex", () => {
  assertThrows(
    () => formatFrame(bytes("x"), "binary" as "text"),
    TypeError,
    'give "text" or "hex"',
  );
});
