/**
 * {@linkcode CommandAllowList}: the programs a command server may run, each
 * a bare name that clients use and the absolute path it was resolved to
 * once, at startup.
 *
 * @module
 */

import { killProgram, mayKillAnyProcess } from "./_process_group.ts";

const NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
const ABSOLUTE = /^(?:\/[A-Za-z0-9_+][A-Za-z0-9._+-]*)+$/;

/**
 * The programs a command server may run: each a bare name that clients use
 * (`date`) and the absolute path it was resolved to once, at startup
 * (`/usr/bin/date`). Entries are bare names, searched in `PATH`, or
 * absolute paths, allowed under their last component's name. A request
 * names a program by its bare name only, never by a path.
 *
 * @example Resolve names once
 * ```ts
 * import { CommandAllowList } from "@sockit/sockit/rexec";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const allow = CommandAllowList.resolve(["echo"]);
 * assertEquals(allow.names, ["echo"]);
 * assert(allow.pathOf("echo")!.startsWith("/"));
 * assertEquals(allow.pathOf("/bin/echo"), undefined); // never a path
 * ```
 */
export class CommandAllowList {
  readonly #programs: ReadonlyMap<string, string>;

  /**
   * Makes an allow-list from names and absolute paths that are already
   * resolved. Use {@linkcode CommandAllowList.resolve} to look names up.
   *
   * @param programs Each allowed name and the absolute path it runs.
   * @throws {TypeError} If a name is not a bare program name, a path is not
   * a normalized absolute path, a name is given two paths, or there are no
   * programs.
   *
   * @example Programs at known paths
   * ```ts
   * import { CommandAllowList } from "@sockit/sockit/rexec";
   * import { assertEquals } from "@std/assert";
   *
   * const allow = new CommandAllowList([["report", "/opt/tools/report"]]);
   * assertEquals(allow.pathOf("report"), "/opt/tools/report");
   * ```
   */
  constructor(programs: Iterable<readonly [string, string]>) {
    const map = new Map<string, string>();
    for (const [name, path] of programs) {
      if (typeof name !== "string" || !NAME.test(name)) {
        throw new TypeError(
          `Cannot allow ${
            JSON.stringify(name)
          }: a program name is letters, digits and . _ + - (not starting with . or -), never a path`,
        );
      }
      if (typeof path !== "string" || !isNormalizedAbsolute(path)) {
        throw new TypeError(
          `Cannot allow ${name} as ${
            JSON.stringify(path)
          }: give a normalized absolute path`,
        );
      }
      const known = map.get(name);
      if (known !== undefined && known !== path) {
        throw new TypeError(
          `Cannot allow ${name} twice, as ${known} and as ${path}: a name must mean one program`,
        );
      }
      map.set(name, path);
    }
    if (map.size === 0) {
      throw new TypeError(
        "Cannot serve commands without an allow-list: name at least one program",
      );
    }
    this.#programs = map;
  }

  /**
   * Resolves allow-list entries, synchronously: a bare name (`date`) is
   * looked up in the search path, the first absolute directory holding an
   * executable file of that name winning; an absolute path
   * (`/opt/bin/report`) must be an executable file and is allowed as its
   * last component (`report`). Relative paths (`./x`, `../bin/x`, `bin/x`)
   * are refused.
   *
   * @param entries Names and absolute paths.
   * @param options The search path.
   * @returns The allow-list.
   * @throws {TypeError} If an entry is neither a bare name nor an absolute
   * path, two entries share a name, or there are none.
   * @throws {Deno.errors.NotFound} If a program is not found or not
   * executable.
   *
   * @example Look names up in a given search path
   * ```ts
   * import { CommandAllowList } from "@sockit/sockit/rexec";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const allow = CommandAllowList.resolve(["echo"], { searchPath: "/usr/bin:/bin" });
   * assertEquals(allow.pathOf("echo"), "/usr/bin/echo");
   * assertThrows(() => CommandAllowList.resolve(["./echo"]), TypeError);
   * ```
   */
  static resolve(
    entries: readonly string[],
    options: {
      /**
       * The search path for bare names, `:`-separated. Only absolute
       * directories are searched: empty and relative entries (`""`, `.`,
       * `bin`) are skipped, so the server's working directory never
       * matters.
       *
       * @default {the `PATH` environment variable}
       */
      searchPath?: string;
    } = {},
  ): CommandAllowList {
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new TypeError(
        "Cannot serve commands without an allow-list: name at least one program",
      );
    }
    const searchPath = options.searchPath ?? Deno.env.get("PATH") ?? "";
    const dirs = searchPath.split(":")
      .filter((dir) => dir.startsWith("/"))
      .map((dir) => dir.length > 1 ? dir.replace(/\/+$/, "") : dir);
    const resolved: [string, string][] = [];
    for (const entry of entries) {
      if (typeof entry !== "string") {
        throw new TypeError(
          `Cannot allow ${String(entry)}: give a program name or path`,
        );
      }
      if (entry.startsWith("/")) {
        if (!isNormalizedAbsolute(entry)) {
          throw new TypeError(
            `Cannot allow ${
              JSON.stringify(entry)
            }: give a normalized absolute path (no . or .. parts, no //)`,
          );
        }
        if (!isExecutableFile(entry)) {
          throw new Deno.errors.NotFound(
            `Cannot allow ${entry}: it is not an executable file`,
          );
        }
        resolved.push([entry.slice(entry.lastIndexOf("/") + 1), entry]);
        continue;
      }
      if (!NAME.test(entry)) {
        throw new TypeError(
          `Cannot allow ${
            JSON.stringify(entry)
          }: give a bare program name (letters, digits and . _ + -, not starting with . or -) or an absolute path, never a relative path`,
        );
      }
      const found = dirs
        .map((dir) => dir === "/" ? `/${entry}` : `${dir}/${entry}`)
        .find(isExecutableFile);
      if (found === undefined) {
        throw new Deno.errors.NotFound(
          `Cannot allow ${entry}: no executable of that name in the absolute directories of PATH (${
            dirs.join(":") || "none"
          })`,
        );
      }
      resolved.push([entry, found]);
    }
    return new CommandAllowList(resolved);
  }

  /** The allowed names, in the order given. */
  get names(): string[] {
    return [...this.#programs.keys()];
  }

  /** Each allowed name and the absolute path it runs. */
  get programs(): ReadonlyMap<string, string> {
    return this.#programs;
  }

  /**
   * The `--allow-run` flag that grants exactly these programs and the
   * system's `kill` program, which a server uses to end a command's whole
   * process group (Deno lets `Deno.kill` signal a group only under an
   * unscoped `--allow-run`): `--allow-run=/usr/bin/date,/usr/bin/echo,/usr/bin/kill`.
   *
   * @example The flag to start a server with
   * ```ts
   * import { CommandAllowList } from "@sockit/sockit/rexec";
   * import { assert } from "@std/assert";
   *
   * const allow = new CommandAllowList([["report", "/opt/tools/report"]]);
   * // "--allow-run=/opt/tools/report,/usr/bin/kill" on Linux
   * assert(allow.runFlag.startsWith("--allow-run=/opt/tools/report,"));
   * ```
   */
  get runFlag(): string {
    const kill = killProgram();
    const paths = new Set(this.#programs.values());
    if (kill !== undefined) paths.add(kill);
    return `--allow-run=${[...paths].join(",")}`;
  }

  /**
   * The absolute path that `name` runs, or `undefined` if `name` is not
   * exactly an allowed name (a path never is).
   *
   * @param name A request's first word.
   * @returns The path, or `undefined`.
   *
   * @example Names, never paths
   * ```ts
   * import { CommandAllowList } from "@sockit/sockit/rexec";
   * import { assertEquals } from "@std/assert";
   *
   * const allow = new CommandAllowList([["date", "/usr/bin/date"]]);
   * assertEquals(allow.pathOf("date"), "/usr/bin/date");
   * assertEquals(allow.pathOf("/usr/bin/date"), undefined);
   * assertEquals(allow.pathOf("DATE"), undefined);
   * ```
   */
  pathOf(name: string): string | undefined {
    return this.#programs.get(name);
  }

  /**
   * Checks that Deno's permissions let this process run every allowed
   * program (`Deno.permissions.querySync`, no prompt), so a command never
   * fails for want of `--allow-run`, and end a command's process group: an
   * unscoped `--allow-run`, or the system's `kill` program granted too.
   * With `requireScoped`, also that `--allow-run` is not unscoped.
   * `serveCommands()` does this at startup.
   *
   * @param options Whether to refuse an unscoped `--allow-run`.
   * @throws {Deno.errors.NotCapable} Naming the flag to use,
   * {@linkcode CommandAllowList.runFlag}, or saying that there is no `kill`
   * program to end process groups with.
   *
   * @example Under `-A`, an unscoped `--allow-run` is refused when asked
   * ```ts
   * import { CommandAllowList } from "@sockit/sockit/rexec";
   * import { assertThrows } from "@std/assert";
   *
   * const allow = CommandAllowList.resolve(["echo"]);
   * if (Deno.permissions.querySync({ name: "run" }).state === "granted") {
   *   allow.checkRunPermission(); // every program may run
   *   assertThrows(
   *     () => allow.checkRunPermission({ requireScoped: true }),
   *     Deno.errors.NotCapable,
   *   );
   * }
   * ```
   */
  checkRunPermission(
    options: {
      /**
       * Also refuse an unscoped `--allow-run` (which lets Deno run any
       * program), so Deno's permissions repeat the allow-list.
       *
       * @default {false}
       */
      requireScoped?: boolean;
    } = {},
  ): void {
    const needed = new Set(this.#programs.values());
    if (!mayKillAnyProcess()) {
      const kill = killProgram();
      if (kill === undefined) {
        throw new Deno.errors.NotCapable(
          "Cannot serve commands as there is no kill program (/usr/bin/kill or /bin/kill) to end a command's process group with: install one (procps or util-linux)",
        );
      }
      needed.add(kill);
    }
    const missing = [...needed].filter((command) =>
      Deno.permissions.querySync({ name: "run", command }).state !== "granted"
    );
    if (missing.length > 0) {
      throw new Deno.errors.NotCapable(
        `Cannot serve commands as Deno may not run ${
          missing.join(", ")
        }: start with ${this.runFlag} (exactly the allowed programs, and kill)`,
      );
    }
    if (
      options.requireScoped &&
      Deno.permissions.querySync({ name: "run" }).state === "granted"
    ) {
      throw new Deno.errors.NotCapable(
        `Cannot serve commands with an unscoped --allow-run, which lets Deno run any program: start with ${this.runFlag} (exactly the allowed programs, and kill)`,
      );
    }
  }
}

function isNormalizedAbsolute(path: string): boolean {
  return ABSOLUTE.test(path) &&
    !path.split("/").some((part) => part === "." || part === "..");
}

function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotADirectory
    ) {
      return false;
    }
    throw error;
  }
}
