/**
 * Benchmark server: sockit's framed echo. Each read is decoded into u32
 * big-endian length-prefixed frames (a `LengthPrefixCodec`'s `push`), the
 * frames are re-encoded (its `encodeAll`) and sent back in one write per
 * read: batch decode, batch encode, one write per batch.
 *
 * Run: `deno run --allow-net bench/net/servers/sockit_framed.ts --idle-timeout 60000`
 *
 * @module
 */
import { lengthPrefixed } from "../../../framing/mod.ts";
import { listen } from "../../../tcp/mod.ts";
import { announce, idleTimeoutFlag } from "./_args.ts";

const idleTimeout = idleTimeoutFlag(Deno.args);
const server = listen({ port: 0 }, async (conn) => {
  const codec = lengthPrefixed({ header: "u32be" });
  const frames: Uint8Array[] = [];
  const collect = (frame: Uint8Array) => {
    frames.push(frame);
  };
  for (let chunk; (chunk = await conn.read()) !== null;) {
    codec.push(chunk, collect);
    if (frames.length === 0) continue;
    const batch = codec.encodeAll(frames);
    frames.length = 0;
    await conn.write(batch);
  }
}, {
  ...(idleTimeout === undefined ? {} : { idleTimeout }),
  onError: () => {},
});
announce(server.addr);
