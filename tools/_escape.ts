/**
 * Text from the network on an operator's terminal: every control character
 * escaped, so that no peer can drive the terminal. That is C0
 * (U+0000–U+001F: `ESC [` starts a terminal command), DEL (U+007F) and C1
 * (U+0080–U+009F: U+009B, CSI, starts one on its own, as do U+009D and
 * U+0090 for window titles and device commands). `JSON.stringify` escapes
 * C0 only.
 *
 * @module
 */

/** C0, DEL and C1, for the escapes below. */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\\\x00-\x1f\x7f-\x9f]/g;
/** DEL and C1: what `JSON.stringify` leaves raw. */
const JSON_LEFT_RAW = /[\x7f-\x9f]/g;

const NAMED: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function hex(c: string): string {
  return c.charCodeAt(0).toString(16).padStart(2, "0");
}

/**
 * `text` with `\` and every control character escaped: `\\`, `\n`, `\r`,
 * `\t`, and `\xHH` for the rest of C0, DEL and C1. The result is one line
 * of printable text, and `\` starts every escape, so nothing is ambiguous.
 *
 * @param text Text a peer sent (decoded as UTF-8).
 * @returns The text, safe to print.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => NAMED[c] ?? `\\x${hex(c)}`);
}

/**
 * `JSON.stringify(value)`, with DEL and C1 escaped as well (`\u007f`,
 * `\u009b`…): still valid JSON, for log lines that scripts parse.
 *
 * @param value A value `JSON.stringify` takes (argv, say).
 * @returns Its JSON, safe to print.
 */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value).replace(
    JSON_LEFT_RAW,
    (c) => `\\u00${hex(c)}`,
  );
}
