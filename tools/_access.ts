/**
 * `cat --listen`'s access control, as ncat has it: `--allow`/`--deny`
 * lists of addresses and `ADDR/BITS` blocks, and `--allowfile`/`--denyfile`
 * with one or more a line; checked on each client's address as it is
 * accepted, before a byte is read.
 *
 * @module
 */
import { AddressSet } from "../_internal/cidr.ts";
import { UsageError } from "./_flags.ts";

/** Who may connect: a client must be in `allow` (when given), not in `deny`. */
export interface AccessRules {
  /** The `--allow` blocks and the `--allowfile` ones, or `undefined`: all. */
  allow: AddressSet | undefined;
  /** The `--deny` blocks and the `--denyfile` ones, or `undefined`: none. */
  deny: AddressSet | undefined;
}

/**
 * Why a client is refused, or `null` when it may connect. A peer in both
 * lists is refused: `--deny` wins (ncat's manual says `--allow` does, but
 * ncat 7.93 refuses such a peer too; refusing is the safe reading).
 *
 * @param rules The rules.
 * @param hostname The client's IP address.
 * @returns `"not in --allow"`, `"in --deny"` or `null`.
 */
export function refusal(rules: AccessRules, hostname: string): string | null {
  if (rules.deny?.has(hostname)) return "in --deny";
  if (rules.allow !== undefined && !rules.allow.has(hostname)) {
    return "not in --allow";
  }
  return null;
}

/**
 * The entries of an allow or deny file: blocks separated by commas, blanks
 * or line ends; `#` starts a comment to the end of its line.
 *
 * @param text The file's text.
 * @returns The entries.
 */
export function fileEntries(text: string): string[] {
  return text.split("\n").flatMap((line) =>
    line.replace(/#.*/, "").split(/[\s,]+/).filter((entry) => entry !== "")
  );
}

/**
 * Builds one list from its flag's values and its files' entries.
 *
 * @param name `"allow"` or `"deny"`.
 * @param values Each `--allow` value (comma-separated lists).
 * @param files Each `--allowfile` path.
 * @returns The set, or `undefined` when nothing was given (or an empty
 *   deny list).
 * @throws {UsageError} For an entry that is not an address or block, or a
 *   file that cannot be read.
 */
export function accessList(
  name: "allow" | "deny",
  values: readonly string[],
  files: readonly string[],
): AddressSet | undefined {
  if (values.length === 0 && files.length === 0) return undefined;
  try {
    const entries = [...values];
    for (const file of files) {
      let text: string;
      try {
        text = Deno.readTextFileSync(file);
      } catch (error) {
        throw new UsageError(
          `--${name}file ${file}: cannot read it: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
      }
      entries.push(...fileEntries(text));
    }
    const set = AddressSet.parse(entries, `--${name} entry`);
    if (set.size > 0) return set;
    if (name === "deny") return undefined; // an empty deny list: nobody
    // An empty allow list would refuse everyone: surely a mistake.
    throw new UsageError(
      "--allow lists no address: give ADDR or ADDR/BITS, comma-separated",
    );
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}
