/**
 * Tests for `rexec/_command_line.ts`: how a request line becomes argv
 * (split at spaces and tabs, or a JSON array; nothing expanded), what is
 * refused, and that the client's lines parse back to the same argv.
 *
 * @module
 */
import {
  formatCommandLine,
  parseCommandLine,
} from "../../rexec/_command_line.ts";
import { CommandRefusedError } from "../../rexec/mod.ts";
import { assert, assertEquals, assertThrows } from "../_utils.ts";

Deno.test("parseCommandLine() splits at spaces and tabs only and expands nothing", () => {
  const cases: [string, string[]][] = [
    ["date", ["date"]], // one word
    ["  echo \t a\t\tb  ", ["echo", "a", "b"]], // runs of blanks, leading and trailing
    ["echo 'a b'", ["echo", "'a", "b'"]], // quotes are text
    ['echo "a b"', ["echo", '"a', 'b"']], // double quotes too
    ["echo a\\ b", ["echo", "a\\", "b"]], // no backslash escapes
    ["echo $(id) `id` ${HOME} ~ *", [
      "echo",
      "$(id)",
      "`id`",
      "${HOME}",
      "~",
      "*",
    ]], // no expansion
    ["echo hi;rm -rf /", ["echo", "hi;rm", "-rf", "/"]], // ; is text
    ["echo a|b&&c>d<e", ["echo", "a|b&&c>d<e"]], // pipes, and, redirections
    ["echo #not a comment", ["echo", "#not", "a", "comment"]], // no comments
    ["echo a\rb\vc\fd\u00a0e", ["echo", "a\rb\vc\fd\u00a0e"]], // other whitespace is text
    ['["echo","a b",""]', ["echo", "a b", ""]], // JSON: spaces, empty words
    [' \t["x"]', ["x"]], // JSON after blanks
    ["ech[o]", ["ech[o]"]], // [ later in a word is text
  ];
  for (const [line, argv] of cases) {
    assertEquals(parseCommandLine(line), argv, JSON.stringify(line));
  }
});

Deno.test("parseCommandLine() refuses empty lines, bad JSON, NUL bytes, lone surrogates and too many words", () => {
  const cases: [string, string][] = [
    ["", "BadRequest"], // empty
    [" \t ", "BadRequest"], // blanks only
    ["[echo", "BadRequest"], // not JSON
    ['{"argv":["echo"]}', "BadRequest"], // not an array (and not a [ line: a word)
    ["[]", "BadRequest"], // empty array
    ['["echo", 1]', "BadRequest"], // not all strings
    ['[""]', "BadRequest"], // empty program name
    ["echo a\0b", "BadArguments"], // NUL in a word
    ['["echo","a\\u0000"]', "BadArguments"], // NUL through JSON
    ['["echo","\\ud800"]', "BadArguments"], // lone surrogate through JSON
    ["echo " + "x ".repeat(300), "BadArguments"], // over maxArgs
  ];
  for (const [line, reason] of cases) {
    if (line.startsWith("{")) {
      assertEquals(parseCommandLine(line), [line]); // a plain word
      continue;
    }
    const error = assertThrows(
      () => parseCommandLine(line),
      CommandRefusedError,
    );
    assertEquals(error.reason, reason, JSON.stringify(line));
  }
  assertEquals(parseCommandLine("a b c", { maxArgs: 3 }).length, 3);
});

Deno.test("formatCommandLine() gives lines that parse back to the same argv", () => {
  const cases: string[][] = [
    ["date"],
    ["echo", "a;b", "$(id)", "`x`", "*", "'q'"],
    ["echo", "a b", "tab\there"], // blanks: JSON
    ["echo", ""], // empty word: JSON
    ["[", "-f", "x", "]"], // program named [: JSON
    ["echo", "line\nbreak", "cr\r"], // line ends: JSON keeps it one line
  ];
  for (const argv of cases) {
    const line = formatCommandLine(argv);
    assert(!line.includes("\n"), line);
    assertEquals(parseCommandLine(line), argv);
  }
  assertThrows(() => formatCommandLine([]), TypeError);
});
