// The layout rules of docs/architecture.md, checked on the real tree, and the
// checker itself checked on small sources that break each rule.
import {
  checkFile,
  checkImports,
  countSymbols,
  holdsBlock,
  publicApi,
  renderApi,
} from "../scripts/architecture.ts";
import { assert, assertEquals } from "./_utils.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("no import in the library or the examples breaks a layout rule", async () => {
  const violations = await checkImports();
  assertEquals(
    violations.map((v) => `${v.file}: ${v.specifier}: ${v.rule}`),
    [],
  );
});

Deno.test("checkFile() finds each kind of forbidden import", () => {
  const cases: [file: string, source: string, rule: RegExp | null][] = [
    // tcp/ and udp/ never import each other
    [
      "udp/socket.ts",
      'import { x } from "../tcp/mod.ts";\n',
      /may not import tcp/,
    ],
    [
      "tcp/listen.ts",
      'import { x } from "../udp/mod.ts";\n',
      /may not import udp/,
    ],
    // another folder through its public files: mod.ts, or one public file
    [
      "relay/stream.ts",
      'import { x } from "../tcp/connection.ts";\n',
      null,
    ],
    [
      "relay/stream.ts",
      'import { x } from "../tcp/_tls.ts";\n',
      /a _file of another folder is private/,
    ],
    // a private file of another folder, even when split over lines
    [
      "poll/poll.ts",
      'import {\n  a,\n  b,\n} from "../udp/_hooks.ts";\n',
      /a _file of another folder is private/,
    ],
    // framing is bytes only
    [
      "framing/codec.ts",
      "const c = await Deno.connect({ port: 1 });\n",
      /no Deno API/,
    ],
    [
      "framing/codec.ts",
      'import { after } from "../_internal/timer.ts";\n',
      /only _internal\/std\.ts/,
    ],
    // tools/ take from _internal/ only the std boundary and cidr.ts
    [
      "tools/cat.ts",
      'import { after } from "../_internal/timer.ts";\n',
      /only _internal\/std\.ts and _internal\/cidr\.ts/,
    ],
    [
      "tools/_cat_args.ts",
      'import { AddressSet } from "../_internal/cidr.ts";\n',
      null,
    ],
    // nothing imports tools/
    [
      "tcp/listen.ts",
      'import { x } from "../tools/_cli.ts";\n',
      /may not import tools/,
    ],
    // the std boundary
    [
      "tcp/listen.ts",
      'import { delay } from "@std/async/delay";\n',
      /typed boundary/,
    ],
    // a dynamic import counts too
    [
      "udp/serve.ts",
      'const m = await import("../tcp/mod.ts");\n',
      /may not import tcp/,
    ],
    // examples import the package
    [
      "examples/echo_server.ts",
      'import { tcp } from "../mod.ts";\n',
      /only the package/,
    ],
    // allowed: own folder, another folder's mod.ts, _internal, std boundary
    [
      "relay/stream.ts",
      'import { x } from "../tcp/mod.ts";\nimport { y } from "./_shared.ts";\n',
      null,
    ],
    [
      "udp/socket.ts",
      'import { Waiter } from "../_internal/waiter.ts";\n',
      null,
    ],
    [
      "framing/delimiter.ts",
      'import { concat } from "../_internal/std.ts";\n',
      null,
    ],
    [
      "tools/cat.ts",
      'import { parseArgs } from "@std/cli/parse-args";\nimport denoJson from "../deno.json" with { type: "json" };\n',
      null,
    ],
    // a string that ends in "from" is not an import
    [
      "tools/_server.ts",
      'export const FLAGS = [\n  "proxy-from",\n  "grace",\n];\n',
      null,
    ],
    // imports inside doc comments are examples, not imports
    [
      "framing/codec.ts",
      '/**\n * import { connect } from "../tcp/mod.ts";\n * Deno.connect()\n */\n',
      null,
    ],
  ];
  for (const [file, source, rule] of cases) {
    const found = checkFile(file, source);
    if (rule === null) {
      assertEquals(found, [], `${file}: ${source}`);
    } else {
      assertEquals(found.length, 1, `${file}: ${source}`);
      assert(rule.test(found[0]!.rule), `${found[0]!.rule} !~ ${rule}`);
    }
  }
});

Deno.test("the public API has under 150 symbols and docs/architecture.md lists them", async () => {
  const api = await publicApi();
  const count = countSymbols(api);
  assert(count < 150, `${count} public symbols: the target is under 150`);
  const doc = await Deno.readTextFile(new URL("docs/architecture.md", ROOT));
  assert(
    holdsBlock(doc, renderApi(api)),
    "docs/architecture.md's public-symbol table is out of date: run `deno task api`",
  );
});
