/**
 * The cost of the PROXY protocol on connection setup: new connections per
 * second (connect, one 64-byte message and its echo, close; 16 in flight)
 * to sockit's `listen()` echo without PROXY protocol, and with it reading
 * the v1 and the v2 header that the load generator sends first on each
 * connection, as HAProxy does. Rounds alternate between the three servers,
 * so that a disturbance of the machine touches all of them; the table gives
 * the median of the rounds and the ratio to the server without headers.
 * Target (issue 16): parsing costs < 5% of connection-setup throughput.
 *
 * Run: `deno run -A bench/net/proxy.ts [--rounds 5] [--duration 2]`
 * (it builds the load generator into `bench/net/.build/` with `cc`).
 *
 * @module
 */

import {
  build,
  BUILD_DIR,
  median,
  numberFlag,
  runLoad,
  startServer,
  stopServer,
} from "./_harness.ts";

const LOADGEN = `${BUILD_DIR}loadgen_plain`;

const ROUNDS = Math.min(numberFlag("--rounds", 5), 20);
const DURATION = Math.min(numberFlag("--duration", 2), 10);
const CONNS = 16;

interface Variant {
  name: string;
  serverArgs: string[];
  loadgenArgs: string[];
}

const VARIANTS: Variant[] = [
  { name: "no PROXY header", serverArgs: [], loadgenArgs: [] },
  {
    name: "PROXY v1",
    serverArgs: ["--proxy-protocol", "v1"],
    loadgenArgs: ["--proxy", "v1"],
  },
  {
    name: "PROXY v2",
    serverArgs: ["--proxy-protocol", "v2"],
    loadgenArgs: ["--proxy", "v2"],
  },
];

/** Starts a server, waits for its port, runs one measure, stops it. */
async function round(variant: Variant): Promise<number> {
  const server = await startServer([
    Deno.execPath(),
    "run",
    "--allow-net",
    "bench/net/servers/sockit_proxy.ts",
    ...variant.serverArgs,
  ]);
  try {
    const result = await runLoad(LOADGEN, [
      "--port",
      String(server.port),
      "--mode",
      "handshake",
      "--conns",
      String(CONNS),
      "--duration",
      String(DURATION),
      "--max-ops",
      "2000000",
      "--server-pid",
      String(server.pid),
      ...variant.loadgenArgs,
    ], { boundSeconds: DURATION + 15 });
    if (result.error !== null) {
      throw new Error(`${variant.name}: ${result.error}`);
    }
    return result.rate;
  } finally {
    await stopServer(server);
  }
}

if (import.meta.main) {
  await build("loadgen.c", LOADGEN, ["-pthread"]);
  const rates = VARIANTS.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, variant] of VARIANTS.entries()) {
      rates[i]!.push(await round(variant));
    }
  }
  const base = median(rates[0]!);
  const lines = [
    `New connections per second to sockit's listen() echo (connect, 64-byte echo, close; ${CONNS} in flight; median of ${ROUNDS} alternating rounds of ${DURATION} s):`,
    "",
    "| server | connections/s | vs no header | cost |",
    "| ------ | ------------: | -----------: | ---: |",
    ...VARIANTS.map((variant, i) => {
      const rate = median(rates[i]!);
      return `| ${variant.name} | ${Math.round(rate).toLocaleString("en")} | ${
        (rate / base).toFixed(2)
      }× | ${((1 - rate / base) * 100).toFixed(1)}% |`;
    }),
  ];
  console.log(lines.join("\n"));
}
