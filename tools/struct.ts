#!/usr/bin/env -S deno run
/**
 * `struct`: Python's `struct` module from the shell — pack values into
 * bytes, unpack bytes into values, compute sizes — with values in and out
 * written as Python writes them (ints, floats, `True`/`False`, `b'…'`).
 *
 * ```sh
 * struct pack '!I' 20            # 00000014
 * struct unpack '!I' 00000014    # 20
 * struct calcsize '@iq'          # 16
 * struct pack '!H?4s' 7 True "b'ab'"   # 0007016162 0000
 * struct pack --raw '!I' 20 | struct unpack '!I' -
 * ```
 *
 * Flags:
 *
 * - `--json` — print the result as JSON (unpack: an array; ints as exact
 *   numbers, floats as numbers or `"nan"`/`"inf"`/`"-inf"`, bools, bytes as
 *   `{ "hex": "…" }`)
 * - `--raw` — `pack` writes the raw bytes instead of hex
 * - `-h`, `--help`; `--version`
 *
 * `unpack` reads hex (spaces and colons allowed) or, with `-`, raw bytes
 * from stdin. Errors name the value's index and format character.
 *
 * Limits: `pack` and `unpack` take a format of at most 1 MiB (1048576 bytes,
 * `calcsize`) and at most 65536 values; a larger one is refused with exit
 * code 2 before anything is allocated or read (`calcsize` answers for any
 * size). So work and output are bounded: at most 2 MiB of hex from `pack`,
 * at most 65536 values from `unpack` (about 0.2 s and 120 MB of memory,
 * where 1048576 one-byte values took 2.4 s and 740 MB with `--json`).
 *
 * Exit codes: 0 ok, 1 a struct error (a value out of range, the wrong
 * size), 2 bad usage (an unknown command or flag, an unreadable value, a
 * format over the size limit).
 *
 * Run it: `deno run tools/struct.ts pack '!I' 20` (no permissions needed;
 * `unpack -` reads stdin). Compile it: `deno task compile struct`.
 *
 * @module
 */
import {
  calcsize,
  type PackValue,
  Struct,
  StructError,
  type StructValue,
} from "../framing/mod.ts";
import {
  EXIT_OK,
  EXIT_USAGE,
  reportError,
  versionLine,
  writeAll,
} from "./_cli.ts";
import { UsageError } from "./_flags.ts";
import {
  parsePythonLiteral,
  pythonFloatRepr,
  pythonRepr,
} from "./_python_literals.ts";

const TOOL = "struct";

/** The largest struct `pack` and `unpack` handle: 1 MiB. */
const MAX_STRUCT_SIZE = 1024 * 1024;

/**
 * The most values `pack` and `unpack` handle. The values of `pack` go to
 * `Struct#pack` as arguments, and 131072 of them overflowed the stack;
 * `unpack` turned 1048576 one-byte values into 740 MB of strings.
 */
const MAX_VALUES = 65536;

const USAGE = `Usage: struct pack FORMAT VALUE...
       struct unpack FORMAT HEX|-
       struct calcsize FORMAT

Python's struct from the shell. FORMAT is a struct format such as '!HIq'
(byte order @ = < > !, characters x c b B ? h H i I l L q Q n N e f d s p P).
VALUEs are Python literals: 20, -0x1f, 1.5, inf, nan, True, False, b'ab\\x00'.

Commands:
  pack FORMAT VALUE...    print the packed bytes as hex
  unpack FORMAT HEX|-     print the values, as Python writes them; HEX may
                          hold spaces or colons; - reads raw bytes from stdin
  calcsize FORMAT         print the size in bytes

Options:
  --json                  print JSON instead
  --raw                   pack: write the raw bytes, not hex
  -h, --help              show this help
  --version               show the version

pack and unpack take a FORMAT of at most 1 MiB (1048576 bytes) and at most
${MAX_VALUES} values; a larger one is refused (exit 2) before anything is
allocated. A 64-bit integer past 2**53 must be written with digits only
(1e18 is a float, which may already be rounded). Exit codes: 0 ok, 1 a
struct error (a value out of range, the wrong size), 2 bad usage.

Examples:
  struct pack '!I' 20                     00000014
  struct unpack '!HI' 0007 00000014        7 20
  struct pack --raw '<hh' 1 -2 | struct unpack '<hh' -`;

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  const hex = text.replaceAll(/[\s:]/g, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) {
    throw new UsageError(
      `cannot read ${JSON.stringify(text)} as hex bytes (pairs of 0-9a-f)`,
    );
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

function jsonValue(value: StructValue, kind: string): string {
  if (value instanceof Uint8Array) return JSON.stringify({ hex: toHex(value) });
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return String(value);
  if (!Number.isFinite(value)) return JSON.stringify(pythonFloatRepr(value));
  return kind === "float" ? pythonFloatRepr(value) : String(value);
}

interface Command {
  name: string;
  args: string[];
  json: boolean;
  raw: boolean;
}

/** Splits flags from arguments; a negative number is an argument. */
function parse(args: readonly string[]): Command | "help" | "version" {
  const rest: string[] = [];
  let json = false;
  let raw = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") return "help";
    if (arg === "--version") return "version";
    if (arg === "--json") json = true;
    else if (arg === "--raw") raw = true;
    else if (
      arg.startsWith("-") && arg !== "-" && !/^-(?:[0-9.]|inf|nan)/i.test(arg)
    ) {
      throw new UsageError(`unknown flag ${arg.split("=", 1)[0]}`);
    } else rest.push(arg);
  }
  const [name, ...rest2] = rest;
  if (name === undefined) {
    throw new UsageError("missing command (pack, unpack or calcsize)");
  }
  return { name, args: rest2, json, raw };
}

/**
 * The size of `format`, refused over {@linkcode MAX_STRUCT_SIZE} before
 * anything is allocated (calcsize allocates nothing per byte).
 */
function checkedSize(command: string, format: string): number {
  const size = calcsize(format);
  if (size > MAX_STRUCT_SIZE) {
    throw new UsageError(
      `cannot ${command} with format ${
        JSON.stringify(format)
      } as its size ${size} bytes exceeds the tool's limit of ${MAX_STRUCT_SIZE} bytes (1 MiB)`,
    );
  }
  return size;
}

/**
 * The format compiled, refused over {@linkcode MAX_VALUES} values (after
 * `checkedSize()`, which bounds the count to 1048576).
 */
function checkedStruct(command: string, format: string): Struct<string> {
  const struct = new Struct(format);
  const count = struct.valueKinds.length;
  if (count > MAX_VALUES) {
    throw new UsageError(
      `cannot ${command} with format ${
        JSON.stringify(format)
      } as its ${count} values exceed the tool's limit of ${MAX_VALUES} values`,
    );
  }
  return struct;
}

/**
 * `error` as a shell user reads it: a 64-bit integer code given a float
 * past 2**53 (the library asks for a `bigint`) is told to write the
 * integer with digits only.
 */
function forTheShell(
  error: unknown,
  values: readonly PackValue[],
  texts: readonly string[],
): unknown {
  if (!(error instanceof StructError) || error.index === undefined) {
    return error;
  }
  const value = values[error.index];
  if (
    typeof value !== "number" || !Number.isInteger(value) ||
    Number.isSafeInteger(value)
  ) {
    return error;
  }
  return new StructError(
    `Cannot pack value ${error.index} ('${error.char}' in ${
      JSON.stringify(error.format)
    }) as ${
      texts[error.index]
    } is a float, which past 2**53 may already be rounded: write the integer with digits only (1000000000000000000, not 1e18)`,
    {
      format: error.format,
      index: error.index,
      ...(error.char === undefined ? {} : { char: error.char }),
    },
    { cause: error },
  );
}

/**
 * Reads stdin, at most `size` bytes: the struct's size. More is an error
 * (the struct needs exactly `size`), found without reading the rest.
 */
async function readStdin(format: string, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  const reader = Deno.stdin.readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > size) {
        throw new StructError(
          `Cannot unpack stdin with format ${
            JSON.stringify(format)
          } as it holds more than the ${size} bytes the format needs`,
          { format, expected: size, actual: at + value.length },
        );
      }
      out.set(value, at);
      at += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return out.subarray(0, at);
}

async function run(command: Command): Promise<void> {
  const { name, args, json } = command;
  if (name !== "pack" && name !== "unpack" && name !== "calcsize") {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)} (pack, unpack or calcsize)`,
    );
  }
  const format = args[0];
  if (format === undefined) throw new UsageError(`${name} needs a FORMAT`);
  if (name === "calcsize") {
    if (args.length > 1) throw new UsageError("calcsize takes only a FORMAT");
    const size = calcsize(format);
    console.log(json ? JSON.stringify(size) : String(size));
    return;
  }
  if (name === "pack") {
    checkedSize(name, format);
    const struct = checkedStruct(name, format);
    const texts = args.slice(1);
    if (texts.length > MAX_VALUES) {
      throw new UsageError(
        `cannot pack ${texts.length} values as they exceed the tool's limit of ${MAX_VALUES} values`,
      );
    }
    const values = texts.map((text, i) => parsePythonLiteral(text, i));
    let bytes: Uint8Array;
    try {
      bytes = struct.pack(...values);
    } catch (error) {
      throw forTheShell(error, values, texts);
    }
    if (command.raw) await writeAll(Deno.stdout, bytes);
    else {console.log(
        json ? JSON.stringify({ hex: toHex(bytes) }) : toHex(bytes),
      );}
    return;
  }
  if (name === "unpack") {
    if (args.length < 2) throw new UsageError("unpack needs HEX bytes or -");
    const size = checkedSize(name, format);
    const struct = checkedStruct(name, format);
    const bytes = args[1] === "-" && args.length === 2
      ? await readStdin(format, size)
      : fromHex(args.slice(1).join(""));
    const values = struct.unpack(bytes);
    const kinds = struct.valueKinds;
    console.log(
      json
        ? `[${values.map((v, i) => jsonValue(v, kinds[i]!)).join(",")}]`
        : values.map((v, i) => pythonRepr(v, kinds[i]!)).join(" "),
    );
  }
}

/**
 * Runs the tool with `args`.
 *
 * @param args The command line.
 * @returns The exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const command = parse(args);
    if (command === "help") {
      console.log(USAGE);
      return EXIT_OK;
    }
    if (command === "version") {
      console.log(versionLine(TOOL));
      return EXIT_OK;
    }
    await run(command);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof SyntaxError) {
      console.error(`${TOOL}: ${error.message}; try --help`);
      return EXIT_USAGE;
    }
    return reportError(TOOL, error);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
