/**
 * What every tool shares: its version, its exit codes, and how it reports an
 * error (one line on stderr; "try --help" and exit 2 for a usage mistake).
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };
import { UsageError } from "./_flags.ts";

/** The version in `deno.json`. */
export const VERSION: string = denoJson.version;

/** Exit codes: success, failure, bad usage. */
export const EXIT_OK = 0;
/** Something failed (the network, a file). */
export const EXIT_FAILURE = 1;
/** The command line was wrong. */
export const EXIT_USAGE = 2;

/**
 * The `--version` line: `sockit-echo 0.1.0`.
 *
 * @param tool The tool's name.
 * @returns The line.
 */
export function versionLine(tool: string): string {
  return `sockit-${tool} ${VERSION}`;
}

/**
 * Reports an error the tool's way, on one line of stderr, and picks the
 * exit code: a {@linkcode UsageError} adds "try --help" and gives 2,
 * anything else gives 1.
 *
 * @param tool The tool's name.
 * @param error What went wrong.
 * @returns The exit code.
 */
export function reportError(tool: string, error: unknown): number {
  const message = oneLine(error);
  if (error instanceof UsageError) {
    console.error(`${tool}: ${message}; try --help`);
    return EXIT_USAGE;
  }
  console.error(`${tool}: ${message}`);
  return EXIT_FAILURE;
}

/** The first line of an error's message. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n", 1)[0]!.trim() || String(error);
}

/**
 * Writes all of `data` to `file` (stdout, stderr: one write may take only
 * part of it).
 */
export async function writeAll(
  file: { write(data: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  for (let at = 0; at < data.length;) {
    at += await file.write(data.subarray(at));
  }
}
