// `deno task demo` runs the whole toolkit on loopback and exits by itself.
import denoJson from "../../deno.json" with { type: "json" };
import { ROOT } from "../_spawn.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../_utils.ts";

Deno.test("the demo runs every part and exits 0 by itself", async () => {
  // The same command as the demo task, minus the leading "deno".
  const args = denoJson.tasks.demo.split(" ").slice(1);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  assertStringIncludes(out, `pack("!I", 20)       → 00000014`);
  assertStringIncludes(out, `"hello\\nI get it!\\n"`);
  assertMatch(out, /a silent client was closed by the server after 1\.\d s/);
  assertStringIncludes(out, "echo exited with code 0");
  assertMatch(out, /→ \[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] first line/);
  assertStringIncludes(out, `the server got ["hello","brave","world"]`);
  assertStringIncludes(out, `reply "ACK" from 127.0.0.1:`);
  assertStringIncludes(out, `→ "hi; rm -rf /\\n" (exit 0)`);
  assertStringIncludes(out, "rm -rf / → refused: NotAllowed");
});
