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

const HERE = new URL(".", import.meta.url);
const path = (url: URL): string => decodeURIComponent(url.pathname);
const BUILD = path(new URL(".build/", HERE));
const LOADGEN = `${BUILD}loadgen_plain`;

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(Deno.args[at + 1]);
  if (!(value > 0)) {
    throw new RangeError(
      `Cannot use ${name} ${Deno.args[at + 1]}: give a number > 0`,
    );
  }
  return value;
}

const ROUNDS = Math.min(flag("--rounds", 5), 20);
const DURATION = Math.min(flag("--duration", 2), 10);
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

async function build(): Promise<void> {
  await Deno.mkdir(BUILD, { recursive: true });
  const { success, stderr } = await new Deno.Command("cc", {
    args: ["-O2", "-pthread", "-o", LOADGEN, path(new URL("loadgen.c", HERE))],
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot build loadgen.c: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

/** Starts a server, waits for its port, runs one measure, stops it. */
async function round(variant: Variant): Promise<number> {
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      path(new URL("servers/sockit_proxy.ts", HERE)),
      ...variant.serverArgs,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    let match: RegExpMatchArray | null = null;
    while (match === null) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${variant.name}: the server exited`);
      text += value;
      match = text.match(/listening on 127\.0\.0\.1:(\d+)/);
    }
    reader.releaseLock();
    server.stdout.cancel().catch(() => {});
    const { stdout, success } = await new Deno.Command(LOADGEN, {
      args: [
        "--port",
        match[1]!,
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
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!success) throw new Error(`${variant.name}: the load generator failed`);
    const result = JSON.parse(new TextDecoder().decode(stdout));
    if (result.error !== null) {
      throw new Error(`${variant.name}: ${result.error}`);
    }
    return result.rate as number;
  } finally {
    server.kill("SIGTERM");
    await server.status;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (import.meta.main) {
  await build();
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
