/**
 * Strict flag parsing for the tools: an unknown flag, a stray argument, a
 * missing value or a value given to a boolean flag is a {@linkcode UsageError}
 * that names it (exit 2).
 *
 * @module
 */
import { parseArgs as stdParseArgs } from "@std/cli/parse-args";

/** A mistake on the command line: reported with "try --help", exit 2. */
export class UsageError extends Error {
  /**
   * Creates a `UsageError`.
   *
   * @param message What is wrong, naming the flag.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The flags a tool takes. */
export interface FlagSpec {
  /** Flags that take a value (`--port 80` or `--port=80`). */
  string: readonly string[];
  /** Flags that take none (`--quiet`). */
  boolean: readonly string[];
  /** Short names: `{ h: "help" }`. */
  alias?: Readonly<Record<string, string>>;
}

/** Parsed flags: the values of string flags given, and boolean flags. */
export interface Flags {
  /** Values of the string flags that were given (the last one wins). */
  values: Map<string, string>;
  /** Boolean flags that were given. */
  set: Set<string>;
}

/** What we take from `@std/cli`'s untyped `parseArgs`. */
type StdParseArgs = (args: string[], options: {
  string: string[];
  boolean: string[];
  alias: Record<string, string>;
  unknown: (arg: string) => boolean;
}) => Record<string, unknown>;

const parseArgs = stdParseArgs as StdParseArgs;

/**
 * Parses `args` against `spec`, strictly: an unknown flag, a positional
 * argument, a missing value or a value given to a boolean flag is a
 * {@linkcode UsageError} naming it. A value may start with `-` (`--grace
 * -1` reaches the validation, which says what is wrong with it) unless it
 * is one of the tool's own flags (`--port --quiet` lacks a port).
 *
 * @param args The command line.
 * @param spec The flags the tool takes.
 * @returns The flags given.
 * @throws {UsageError} On any mistake.
 */
export function parseFlags(args: readonly string[], spec: FlagSpec): Flags {
  const strings = new Set(spec.string);
  const booleans = new Set(spec.boolean);
  const alias = spec.alias ?? {};
  const isOwnFlag = (arg: string): boolean => {
    if (arg.startsWith("--")) {
      const name = arg.slice(2).split("=", 1)[0]!;
      return strings.has(name) || booleans.has(name);
    }
    return arg.length === 2 && arg[0] === "-" && arg[1]! in alias;
  };

  // Join each string flag with its value first, so that parseArgs never
  // mistakes a value such as "-1" for a flag, nor a flag for a value.
  const normalized: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      const rest = args[i + 1];
      if (rest !== undefined) {
        throw new UsageError(`unexpected argument ${JSON.stringify(rest)}`);
      }
      break;
    }
    const match = /^--([^=]+)(=.*)?$/s.exec(arg);
    if (match !== null) {
      const name = match[1]!;
      if (strings.has(name) && match[2] === undefined) {
        const value = args[i + 1];
        if (value === undefined || isOwnFlag(value) || value === "--") {
          throw new UsageError(`--${name} needs a value`);
        }
        normalized.push(`--${name}=${value}`);
        i++;
        continue;
      }
      if (booleans.has(name) && match[2] !== undefined) {
        throw new UsageError(`--${name} takes no value`);
      }
    }
    normalized.push(arg);
  }

  const unknown: string[] = [];
  const parsed = parseArgs(normalized, {
    string: [...strings],
    boolean: [...booleans],
    alias: { ...alias },
    unknown: (arg: string) => {
      unknown.push(arg);
      return false;
    },
  });
  const first = unknown[0];
  if (first !== undefined) {
    throw new UsageError(
      first.startsWith("-")
        ? `unknown flag ${first.split("=", 1)[0]}`
        : `unexpected argument ${JSON.stringify(first)}`,
    );
  }
  const flags: Flags = { values: new Map(), set: new Set() };
  for (const name of strings) {
    let value = parsed[name];
    if (Array.isArray(value)) value = value.at(-1);
    if (typeof value === "string") flags.values.set(name, value);
  }
  for (const name of booleans) {
    if (parsed[name] === true) flags.set.add(name);
  }
  return flags;
}
