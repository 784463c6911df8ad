import { compileScanWat, renderScanModule } from "../../scripts/build_wasm.ts";
import { assertEquals } from "../_utils.ts";

Deno.test("the committed framing/_scan_wasm.ts is what framing/_scan.wat compiles to", async () => {
  const root = new URL("../../", import.meta.url);
  const source = await Deno.readTextFile(new URL("framing/_scan.wat", root));
  const committed = await Deno.readTextFile(
    new URL("framing/_scan_wasm.ts", root),
  );
  assertEquals(
    committed,
    renderScanModule(await compileScanWat(source)),
    "run `deno task build:wasm` and commit the result",
  );
});
