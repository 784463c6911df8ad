/**
 * Tests for `rexec/allow_list.ts`: entries are bare names or normalized
 * absolute paths, resolved synchronously and once (a `PATH` changed later,
 * or relative `PATH` entries with a fake program in them, change nothing:
 * proven with a marker file), and the `--allow-run` check.
 *
 * @module
 */
import { CommandAllowList, runRemoteCommand } from "../../rexec/mod.ts";
import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_utils.ts";
import { tempDir } from "../tcp/_helpers.ts";
import { killProgram } from "../../rexec/_process_group.ts";
import { serve } from "./_helpers.ts";

const decoder = new TextDecoder();

Deno.test("CommandAllowList.resolve() takes bare names and normalized absolute paths only", () => {
  const refused = [
    "./echo", // relative
    "../bin/touch", // relative, upwards
    "bin/echo", // relative, no dot
    "echo/", // a directory-ish name
    "/usr/bin/../bin/echo", // not normalized
    "/usr//bin/echo", // not normalized
    "", // empty
    "-rf", // looks like a flag
    ".hidden", // starts with a dot
    "ec ho", // blank
    "a;b", // shell syntax
  ];
  for (const entry of refused) {
    assertThrows(
      () => CommandAllowList.resolve([entry]),
      TypeError,
      undefined,
      JSON.stringify(entry),
    );
  }
  assertThrows(() => CommandAllowList.resolve([]), TypeError);
  assertThrows(
    () => CommandAllowList.resolve(["no-such-program-sockit"]),
    Deno.errors.NotFound,
  );
  assertThrows(
    () => CommandAllowList.resolve(["/usr/bin/no-such-program-sockit"]),
    Deno.errors.NotFound,
  );
  assertThrows(
    () => CommandAllowList.resolve(["/usr/bin"]), // a directory
    Deno.errors.NotFound,
  );
  const echo = CommandAllowList.resolve(["echo"]);
  const absolute = CommandAllowList.resolve([echo.pathOf("echo")!]);
  assertEquals(absolute.names, ["echo"]); // allowed as its last component
  assertEquals(absolute.pathOf(echo.pathOf("echo")!), undefined);
  assertEquals(
    absolute.runFlag,
    `--allow-run=${echo.pathOf("echo")},${killProgram()}`,
  );
});

Deno.test("new CommandAllowList() refuses a name with two paths, a relative path and an empty list", () => {
  assertThrows(
    () =>
      new CommandAllowList([["echo", "/usr/bin/echo"], ["echo", "/bin/echo"]]),
    TypeError,
    "a name must mean one program",
  );
  assertThrows(() => new CommandAllowList([["echo", "echo"]]), TypeError);
  assertThrows(
    () => new CommandAllowList([["/bin/echo", "/bin/echo"]]),
    TypeError,
  );
  assertThrows(() => new CommandAllowList([]), TypeError);
  const same = new CommandAllowList([["e", "/bin/echo"], [
    "echo",
    "/bin/echo",
  ]]);
  // Each path once, and the kill program that ends process groups.
  assertEquals(same.runFlag, `--allow-run=/bin/echo,${killProgram()}`);
  const kill = new CommandAllowList([["kill", killProgram()!]]);
  assertEquals(kill.runFlag, `--allow-run=${killProgram()}`);
});

Deno.test("bare names are looked up once, in the absolute directories of PATH only", async () => {
  await using dir = await tempDir();
  const marker = `${dir.path}/MARKER`;
  // A fake echo that would leave a marker, in directories PATH games use.
  const fake = `${dir.path}/echo`;
  await Deno.writeTextFile(fake, `#!/bin/sh\ntouch ${marker}\n`);
  await Deno.chmod(fake, 0o755);
  const relative = relativePath(Deno.cwd(), dir.path);
  const allow = CommandAllowList.resolve(["echo"], {
    searchPath: `:.:${relative}:/usr/bin:/bin`,
  });
  assertEquals(allow.pathOf("echo"), "/usr/bin/echo");
  // Changing PATH later changes nothing: the path was fixed at startup.
  await using server = serve({ allow });
  const saved = Deno.env.get("PATH");
  Deno.env.set("PATH", dir.path);
  try {
    const result = await runRemoteCommand(server.addr, ["echo", "real"]);
    assertEquals(decoder.decode(result.stdout), "real\n");
  } finally {
    if (saved !== undefined) Deno.env.set("PATH", saved);
  }
  await assertRejects(() => Deno.stat(marker), Deno.errors.NotFound);
});

/** `to` relative to `from`, both absolute. */
function relativePath(from: string, to: string): string {
  const a = from.split("/").filter(Boolean);
  const b = to.split("/").filter(Boolean);
  let common = 0;
  while (common < a.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => ".."), ...b.slice(common)].join("/");
}

Deno.test("checkRunPermission() insists on exactly the allowed programs when asked", () => {
  const allow = CommandAllowList.resolve(["echo"]);
  allow.checkRunPermission(); // this test runs with --allow-run: granted
  const error = assertThrows(
    () => allow.checkRunPermission({ requireScoped: true }),
    Deno.errors.NotCapable,
  );
  assertStringIncludes(error.message, `start with ${allow.runFlag}`);
  assertThrows(
    () => serve({ requireScopedRun: true }), // before listening
    Deno.errors.NotCapable,
  );
});
