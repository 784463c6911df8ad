/**
 * netcat's spellings for `cat`: short flags as nc and ncat take them —
 * clustered (`-lkv`, `-lp 9000`, `-lp9000`, `-w3`), repeated (`-vv`) —
 * rewritten into `cat`'s long flags before the strict parse, with a clear
 * word for the nc flags `cat` does not take (`-e`: it never runs a
 * program).
 *
 * @module
 */
import { UsageError } from "./_flags.ts";

/** Short flags that take no value, and the long flag each one is. */
const SHORT_BOOLEANS: Readonly<Record<string, string>> = {
  h: "help",
  l: "listen",
  k: "keep-open",
  u: "udp",
  v: "verbose",
  z: "probe",
  C: "crlf",
  n: "nodns",
  U: "unixsock",
  "4": "ipv4",
  "6": "ipv6",
  // OpenBSD nc's -N (shut the socket down at the end of stdin) is what cat
  // does anyway: taken, and ignored.
  N: "",
};

/** Short flags that take a value, and the long flag each one is. */
const SHORT_VALUES: Readonly<Record<string, string>> = {
  p: "source-port",
  s: "source",
  w: "wait",
  m: "max-conns",
};

/** nc/ncat flags that cat does not take, and what to do instead. */
const NOT_TAKEN: Readonly<Record<string, string>> = {
  e: "cat never runs a program for a client (no -e/--exec, no -c/--sh-exec); rexec serves allow-listed commands over TLS",
  c: "cat never runs a program for a client (no -e/--exec, no -c/--sh-exec); rexec serves allow-listed commands over TLS",
  i: "for an idle timeout give --idle-timeout SECONDS (ncat's -i; OpenBSD nc's -i is a delay between lines)",
  q: "cat already ends when the peer closes after stdin ended; for a time limit give -w SECONDS",
  d: "to leave stdin alone give --recv-only",
  o: "to keep a copy, redirect stdout (data) or stderr (--hex dumps)",
  x: "for a hex dump of the traffic give --hex (to stderr)",
  t: "cat does not answer Telnet negotiations",
};

/** Long nc/ncat flags that cat does not take, and why. */
const LONG_NOT_TAKEN: Readonly<Record<string, string>> = {
  exec: NOT_TAKEN.e!,
  "sh-exec": NOT_TAKEN.e!,
  "lua-exec": NOT_TAKEN.e!,
  "no-shutdown": "to close at the end of stdin give --no-half-close",
};

/** ncat's --ssl flags: cat's are --tls, --tls-ca, --tls-cert… */
const SSL_ADVICE =
  "cat's TLS flags are --tls, --tls-ca, --tls-cert, --tls-key, --tls-servername, --tls-alpn (verified by default; see --help)";

/** What {@linkcode expandNcArgs} made of a command line. */
export interface NcArgs {
  /** The command line with every short flag written long. */
  args: string[];
  /** How many times `-v`/`--verbose` was given. */
  verbosity: number;
}

/**
 * ncat's time values: seconds, or a number with `ms`, `s`, `m` or `h`
 * (`500ms`, `2m`), as seconds for `parseSeconds()`; anything else is left
 * for it to refuse.
 */
export function ncSeconds(text: string): string {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (match === null) return text;
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2]!]!;
  return String(Number(match[1]) * scale);
}

/**
 * Rewrites nc-style short flags into long ones: `-lkv` is `--listen
 * --keep-open --verbose`; a flag that takes a value takes the rest of its
 * cluster or the next argument (`-lp9000`, `-lp 9000`); `-vv` counts
 * twice. Long flags and positional arguments pass through; after `--`
 * nothing is rewritten.
 *
 * @param args The command line.
 * @param valued The long flags that take a value: the argument after
 *   `--flag` is its value, left as it is (`--idle-timeout -1`).
 * @returns The rewritten command line and the verbosity.
 * @throws {UsageError} For an unknown short flag (with advice for the nc
 * flags cat does not take), or one that lacks its value.
 */
export function expandNcArgs(
  args: readonly string[],
  valued: ReadonlySet<string>,
): NcArgs {
  const out: string[] = [];
  let verbosity = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (arg.startsWith("--")) {
      const name = arg.slice(2).split("=", 1)[0]!;
      const why = Object.hasOwn(LONG_NOT_TAKEN, name)
        ? LONG_NOT_TAKEN[name]
        : /^ssl(-|$)/.test(name)
        ? SSL_ADVICE
        : undefined;
      if (why !== undefined) {
        throw new UsageError(`cat does not take --${name}: ${why}`);
      }
      if (name === "verbose") verbosity++;
      out.push(arg);
      if (valued.has(name) && !arg.includes("=") && i + 1 < args.length) {
        out.push(args[++i]!);
      }
      continue;
    }
    if (!arg.startsWith("-") || arg.length === 1) {
      out.push(arg); // a positional (or "-")
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j]!;
      if (Object.hasOwn(SHORT_BOOLEANS, c)) {
        const long = SHORT_BOOLEANS[c]!;
        if (long === "verbose") verbosity++;
        if (long !== "") out.push(`--${long}`);
        continue;
      }
      if (Object.hasOwn(SHORT_VALUES, c)) {
        const long = SHORT_VALUES[c]!;
        let value = arg.slice(j + 1);
        if (value === "") {
          const next = args[i + 1];
          if (next === undefined) throw new UsageError(`-${c} needs a value`);
          value = next;
          i++;
        }
        out.push(`--${long}=${value}`);
        break;
      }
      const why = Object.hasOwn(NOT_TAKEN, c) ? NOT_TAKEN[c] : undefined;
      throw new UsageError(
        why === undefined
          ? `unknown flag -${c}${arg.length > 2 ? ` (in ${arg})` : ""}`
          : `cat does not take -${c}: ${why}`,
      );
    }
  }
  return { args: out, verbosity };
}
