/**
 * The cost of the PROXY protocol on connection setup: new connections per
 * second (connect, one 64-byte message and its echo, close; 16 in flight)
 * to sockit's `listen()` echo without PROXY protocol, and with it reading
 * the v1 and the v2 header that the load generator sends first on each
 * connection, as HAProxy does. Each round runs the three servers one after
 * the other, so that a disturbance of the machine touches all of them; the
 * table gives the median of the rounds, the median of each round's ratio to
 * the server without headers, and the server's CPU time per connection.
 * Target (issue 16): parsing costs < 5% of connection-setup throughput.
 *
 * Run: `deno run -A bench/net/proxy.ts [--rounds 9] [--duration 1]`
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

const ROUNDS = Math.min(numberFlag("--rounds", 9), 30);
const DURATION = Math.min(numberFlag("--duration", 1), 10);
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

/** One round's figures for one server. */
interface Figures {
  rate: number;
  /** Server CPU per connection, µs. */
  cpuUs: number;
}

/** Starts a server, waits for its port, runs one measure, stops it. */
async function round(variant: Variant): Promise<Figures> {
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
    return { rate: result.rate, cpuUs: result.cpu_server / result.rate * 1e6 };
  } finally {
    await stopServer(server);
  }
}

/** `value` with two decimals, then the least and greatest in brackets. */
function spread(values: readonly number[], digits: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${median(values).toFixed(digits)} (${sorted[0]!.toFixed(digits)}–${
    sorted.at(-1)!.toFixed(digits)
  })`;
}

if (import.meta.main) {
  await build("loadgen.c", LOADGEN, ["-pthread"]);
  const figures = VARIANTS.map(() => [] as Figures[]);
  for (let r = 0; r < ROUNDS; r++) {
    // Each round starts with another server: no position in a round is
    // always first after a pause or last before one.
    for (let k = 0; k < VARIANTS.length; k++) {
      const i = (r + k) % VARIANTS.length;
      figures[i]!.push(await round(VARIANTS[i]!));
    }
  }
  const base = figures[0]!;
  const lines = [
    `New connections per second to sockit's listen() echo (connect, 64-byte echo, close; ${CONNS} in flight; ${ROUNDS} rounds of ${DURATION} s, each round running the three servers one after the other, in a rotating order). "vs no header" is the median over the rounds of that round's ratio to the server without headers (least–greatest in brackets): the load generator and the server share the machine, so a round compares servers under the same conditions. Server CPU is what the server's process used per connection (its CPU time over the connections served), the cost that does not depend on how much of the machine the load generator took.`,
    "",
    "| server | connections/s | vs no header | cost | server CPU µs per connection | vs no header |",
    "| ------ | ------------: | -----------: | ---: | ---------------------------: | -----------: |",
    ...VARIANTS.map((variant, i) => {
      const own = figures[i]!;
      const ratios = own.map((f, r) => f.rate / base[r]!.rate);
      const cpuRatios = own.map((f, r) => f.cpuUs / base[r]!.cpuUs);
      const rate = median(own.map((f) => f.rate));
      return `| ${variant.name} | ${Math.round(rate).toLocaleString("en")} | ${
        spread(ratios, 2)
      }× | ${((1 - median(ratios)) * 100).toFixed(1)}% | ${
        median(own.map((f) => f.cpuUs)).toFixed(1)
      } | ${median(cpuRatios).toFixed(2)}× |`;
    }),
  ];
  lines.push(
    "",
    "Target (issue 16): PROXY parsing costs < 5% of connection-setup throughput (the median of the per-round ratios):",
    "",
    ...VARIANTS.slice(1).map((variant, i) => {
      const ratio = median(
        figures[i + 1]!.map((f, r) => f.rate / base[r]!.rate),
      );
      const cost = (1 - ratio) * 100;
      return `- ${variant.name}: ${cost.toFixed(1)}% ${
        cost < 5 ? "met ✓" : "**missed ✗**"
      }`;
    }),
  );
  console.log(lines.join("\n"));
}
