// Request lines, private to rexec/: how the server turns one line into argv
// (parseCommandLine) and how the client writes argv as a line that parses
// back to the same argv (formatCommandLine). The rules are the protocol's,
// described for users in `mod.ts`: a line starting with `[` (after spaces
// and tabs) is a JSON array of strings; any other line is split at runs of
// spaces and tabs. Nothing is expanded or unquoted.
import { CommandRefusedError } from "./errors.ts";

/** The most words (program included) a request may have, by default. */
export const DEFAULT_MAX_ARGS = 256;

/** Options for {@linkcode parseCommandLine}. */
export interface ParseCommandLineOptions {
  /**
   * The most words (program included) a request may have.
   *
   * @default {256}
   */
  maxArgs?: number;
}

/**
 * Turns one request line (without its line end) into argv, exactly as the
 * server does: `$(…)`, `;`, quotes and `*` stay as they are.
 *
 * @param line The request line.
 * @param options The argument limit.
 * @returns argv: the program's name, then its arguments.
 * @throws {CommandRefusedError} With reason `BadRequest` (empty, or a bad
 * JSON array) or `BadArguments` (too many, a NUL byte, a lone surrogate).
 */
export function parseCommandLine(
  line: string,
  options: ParseCommandLineOptions = {},
): string[] {
  const maxArgs = options.maxArgs ?? DEFAULT_MAX_ARGS;
  const text = line.replace(/^[ \t]+/, "");
  if (text === "") {
    throw new CommandRefusedError(
      "BadRequest",
      "Cannot run an empty request: send a program's name and its arguments",
    );
  }
  let argv: string[];
  if (text.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new CommandRefusedError(
        "BadRequest",
        `Cannot parse a request starting with "[" as a JSON array: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    if (
      !Array.isArray(value) || value.length === 0 ||
      !value.every((item) => typeof item === "string")
    ) {
      throw new CommandRefusedError(
        "BadRequest",
        'Cannot run a JSON request that is not a non-empty array of strings: send ["program", "argument", …]',
      );
    }
    argv = value;
  } else {
    argv = text.split(/[ \t]+/);
    if (argv.at(-1) === "") argv.pop();
  }
  if (argv.length > maxArgs) {
    throw new CommandRefusedError(
      "BadArguments",
      `Cannot run a request of ${argv.length} words: the limit is ${maxArgs}`,
    );
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.includes("\0")) {
      throw new CommandRefusedError(
        "BadArguments",
        `Cannot pass word ${i} as it holds a NUL byte, which no program can receive`,
      );
    }
    if (!arg.isWellFormed()) {
      throw new CommandRefusedError(
        "BadArguments",
        `Cannot pass word ${i} as it holds a lone UTF-16 surrogate`,
      );
    }
  }
  if (argv[0] === "") {
    throw new CommandRefusedError(
      "BadRequest",
      "Cannot run a program with an empty name",
    );
  }
  return argv;
}

/**
 * Writes argv as a request line (without the `\n`) that
 * {@linkcode parseCommandLine} turns back into the same argv: words joined
 * by spaces when that is exact, else a JSON array.
 *
 * @param argv The program's name, then its arguments.
 * @returns The line.
 * @throws {TypeError} If `argv` is empty or holds a non-string.
 */
export function formatCommandLine(argv: readonly string[]): string {
  if (
    !Array.isArray(argv) || argv.length === 0 ||
    !argv.every((arg) => typeof arg === "string")
  ) {
    throw new TypeError(
      "Cannot send a command that is not a non-empty array of strings",
    );
  }
  const plain = !argv[0]!.startsWith("[") &&
    argv.every((arg) => arg !== "" && !/[ \t\r\n]/.test(arg));
  return plain ? argv.join(" ") : JSON.stringify(argv);
}
