#!/usr/bin/env -S deno run --allow-run --allow-read --allow-write
/**
 * The network benchmarks, side by side in one run: sockit's servers against
 * raw Deno, Node, Python asyncio and C, all driven by one load generator
 * (`loadgen.c`, built here with the machine's `cc` into `bench/net/.build/`),
 * on loopback.
 *
 * Every server is started by the harness on a free port (port 0; each
 * prints `listening on 127.0.0.1:PORT`) and stopped by its PID (SIGTERM,
 * then SIGKILL after 3 s). Each measure runs 3 times per server, in rounds
 * (one run of every server per round, so a slow spell of the machine
 * touches them all alike), each run bounded in time and count; the median
 * is reported. The load generator says how much CPU the server, itself and
 * everything else used during a run: a run that other work on this shared
 * machine disturbed is repeated after waiting for quiet. The idle test uses
 * a fresh server per run.
 *
 * Output: the run's results as data (`bench/net/results.json`, see
 * `results.ts`), and made from them: one Markdown report
 * (`bench/net/RESULTS.md`, by `report.ts`: rows: servers; columns: the
 * measures, each figure with its ratio to raw Deno and to C from the same
 * run; the CPU each server used; the targets met or missed; then the same
 * for TLS), one SVG chart (`docs/bench.svg`, by `chart.ts`: a panel per
 * measure, a bar per server) and README.md's short summary table (between
 * its `bench:summary` markers). Notes written below the notes marker of
 * RESULTS.md are kept when it is rewritten. The Markdown also goes to
 * stdout.
 *
 * TLS: the load generator speaks TLS through OpenSSL (built with `-lssl
 * -lcrypto`; without the headers the TLS measures are skipped, with the
 * reason in the table) and verifies every server's certificate against a
 * throwaway CA that the harness makes with the `openssl` command in
 * `bench/net/.build/tls/` at each run (EC P-256, for `127.0.0.1` and
 * `localhost`; no key is committed). Every handshake is a full one.
 *
 * Run: `deno task bench:net`, or
 * `deno run --allow-run --allow-read --allow-write bench/net/run.ts [flags]`
 *
 * Flags:
 *
 * - `--only ID,ID` — only these servers: `sockit-echo`, `sockit-listen`,
 *   `sockit-listen-no-idle`, `sockit-framed`, `deno-loop`, `deno-pipe`,
 *   `node`, `python`, `c`; TLS: `sockit-echo-tls`, `deno-tls`, `node-tls`,
 *   `c-tls` (no file is written unless `--out`, `--json` or `--chart` is
 *   given)
 * - `--measures ID,ID` — only these measures: `bulk`, `pp1`, `pp1pin`,
 *   `pp100`, `fr1`, `fr100`, `udp`, `idle`; TLS: `tls-bulk`, `tls-pp100`,
 *   `tls-hs` (new connections with a full handshake and one round trip)
 * - `--runs N` — runs per measure (default 3)
 * - `--duration S` — seconds measured per run (default 1.5, bulk 2)
 * - `--quick` — one run of 0.5 s each, 2,000 idle connections
 * - `--profile DIR` — run the Deno servers with `--cpu-prof` into `DIR`
 *   (summarise a profile with `bench/net/profile.ts`)
 * - `--out FILE` — where to write the Markdown (default: RESULTS.md, on a
 *   run of every server and measure, which also writes results.json,
 *   docs/bench.svg and README.md's summary)
 * - `--json FILE` — where to save the results (default: results.json, on a
 *   run of every server and measure)
 * - `--chart FILE` — where to write the SVG chart (default:
 *   docs/bench.svg, on a run of every server and measure)
 * - `--from FILE` — measure nothing: make the outputs of the results saved
 *   in `FILE` (RESULTS.md, docs/bench.svg and README.md's summary unless
 *   `--out` or `--chart` says where)
 * - `--baseline REV` — also run sockit's servers as they were at git
 *   revision `REV` (the `echo` tool with that revision's shebang flags,
 *   its `listen()`, UDP and framed servers), as extra rows of the same run,
 *   so that "no ratio to raw Deno worse than before" is judged from one
 *   run rather than across runs days apart (RESULTS.md then has a "Before
 *   and now" table; the chart and README's summary leave these rows out);
 *   the revision's tree is unpacked into `bench/net/.build/baseline/`
 *   (`git archive`). `deno task bench:net --baseline 97761f2` compares with
 *   the code before the layout issue
 * - `--no-companions` — skip the companion benchmarks that a run of every
 *   server and measure ends with: `relay.ts` (the relay tool against socat
 *   and a raw Deno relay), `workers.ts` (`--workers` against
 *   node:cluster), `proxy.ts` (the PROXY protocol's cost on new
 *   connections) and `tools.ts` (the `time` tool and `cat --listen`
 *   against `listen()` servers doing the same work), each run as its own
 *   program, its Markdown kept in results.json and RESULTS.md
 *
 * Needs Linux (epoll, `/proc`), `cc` on the PATH, and a file-descriptor
 * hard limit of at least 10,200 (`ulimit -Hn`; each server and the load
 * generator raise their soft limit to it). Node and Python rows are
 * skipped, with the reason in the table, if `node` or `python3` is
 * missing; the pinned column needs `taskset`; the TLS measures need the
 * OpenSSL headers (Debian: `libssl-dev`) and the `openssl` command.
 *
 * @module
 */

import { formatNumber, renderReport, renderSummary } from "./report.ts";
import { renderChart } from "./chart.ts";
import {
  type BenchResults,
  type Companion,
  type Figure,
  HS_CONNS,
  HS_MAX,
  HS_THREADS,
  type IdleFigure,
  MAX_RETRIES,
  MEASURE_IDS,
  type MeasureId,
  NOISE_CORES,
  parseResults,
  type RateMeasureId,
  REPEAT_BUDGET,
  type Runtime,
  type ServerResult,
  stringifyResults,
  TCP_MEASURES,
  TLS_MEASURES,
  type TlsMeasureId,
} from "./results.ts";
import {
  BENCH_NET,
  build,
  BUILD_DIR,
  bulkArgs,
  compile,
  echoTool,
  killAfter,
  type LoadResult,
  lowerMedian as median,
  path,
  pumpLines,
  ROOT,
  runLoad as runLoadgen,
  type Running,
  shebangFlags,
  sleep,
  StartError,
  startServer,
  stopServer,
  within,
} from "./_harness.ts";

const LOADGEN = `${BUILD_DIR}loadgen`;
const C_ECHO = `${BUILD_DIR}c_echo`;
const C_TLS_ECHO = `${BUILD_DIR}c_tls_echo`;
/** The throwaway CA and server certificate, made at each run. */
const TLS_DIR = `${BUILD_DIR}tls/`;
const TLS_CA = `${TLS_DIR}ca.crt`;
const TLS_CERT = `${TLS_DIR}server.crt`;
const TLS_KEY = `${TLS_DIR}server.key`;
const SERVERS_DIR = "bench/net/servers";
const RESULTS = path(new URL("RESULTS.md", BENCH_NET));
const RESULTS_JSON = path(new URL("results.json", BENCH_NET));
const CHART = path(new URL("docs/bench.svg", ROOT));
const README = path(new URL("README.md", ROOT));
/** README.md's summary block, rewritten by a full run. */
const SUMMARY_START = "<!-- bench:summary:start (deno task bench:net) -->";
const SUMMARY_END = "<!-- bench:summary:end -->";
const NOTES_MARKER =
  "<!-- notes: hand-written below this line, kept by run.ts -->";

/** Idle timeout every server runs with (long: it must not fire in a run). */
const IDLE_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------
// Options

interface Options {
  only: Set<string> | null;
  measures: Set<MeasureId> | null;
  runs: number;
  duration: number;
  bulkDuration: number;
  warmup: number;
  idleConns: number;
  profileDir: string | null;
  /** The Markdown report. */
  out: string | null;
  /** The results as JSON. */
  json: string | null;
  /** The SVG chart. */
  chart: string | null;
  /** The README whose summary block is rewritten. */
  readme: string | null;
  /** Render the outputs of this saved run instead of measuring. */
  from: string | null;
  /** Run the companion benchmarks after the servers' measures. */
  companions: boolean;
  /** Also run sockit's servers as they were at this git revision. */
  baseline: string | null;
}

function usage(message: string): never {
  console.error(`bench:net: ${message}\nSee the flags in bench/net/run.ts.`);
  Deno.exit(2);
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    only: null,
    measures: null,
    runs: 3,
    duration: 1.5,
    bulkDuration: 2,
    warmup: 0.3,
    idleConns: 10_000,
    profileDir: null,
    out: null,
    json: null,
    chart: null,
    readme: null,
    from: null,
    companions: true,
    baseline: null,
  };
  let explicitOut = false;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--only": {
        const ids = value().split(",");
        const known = [...SERVERS, ...TLS_SERVERS].map((spec) => spec.id);
        for (const id of ids) {
          if (!known.includes(id)) {
            usage(`unknown server ${id}: give ${known.join(", ")}`);
          }
        }
        options.only = new Set(ids);
        break;
      }
      case "--measures": {
        const ids = value().split(",");
        for (const id of ids) {
          if (!MEASURE_IDS.includes(id as MeasureId)) {
            usage(`unknown measure ${id}: give ${MEASURE_IDS.join(", ")}`);
          }
        }
        options.measures = new Set(ids as MeasureId[]);
        break;
      }
      case "--runs":
        options.runs = Number(value());
        if (!Number.isInteger(options.runs) || options.runs < 1) {
          usage("--runs must be an integer >= 1");
        }
        break;
      case "--duration":
        options.duration = Number(value());
        if (!(options.duration > 0 && options.duration <= 10)) {
          usage("--duration must be seconds in (0, 10]");
        }
        options.bulkDuration = options.duration;
        break;
      case "--quick":
        options.runs = 1;
        options.duration = options.bulkDuration = 0.5;
        options.warmup = 0.2;
        options.idleConns = 2000;
        break;
      case "--profile":
        options.profileDir = value();
        break;
      case "--out":
        options.out = value();
        explicitOut = true;
        break;
      case "--json":
        options.json = value();
        explicitOut = true;
        break;
      case "--chart":
        options.chart = value();
        explicitOut = true;
        break;
      case "--from":
        options.from = value();
        break;
      case "--no-companions":
        options.companions = false;
        break;
      case "--baseline":
        options.baseline = value();
        break;
      default:
        usage(`unknown flag ${flag}`);
    }
  }
  if (options.only !== null || options.measures !== null) {
    options.companions = false;
  }
  if (!explicitOut && options.only === null && options.measures === null) {
    options.out = RESULTS;
    options.json = RESULTS_JSON;
    options.chart = CHART;
    options.readme = README;
  }
  return options;
}

// ---------------------------------------------------------------------------
// Servers

interface ServerSpec {
  id: string;
  label: string;
  /** Its name in the chart. */
  short: string;
  runtime: Runtime;
  /** The TCP server's command line. */
  tcp: string[];
  /** TCP measures this row runs (default: all). */
  measures?: readonly RateMeasureId[];
  /** The UDP echo on this row, if any, and its label. */
  udp?: { label: string; command: string[] };
  /** The idle test sends its 1-byte probe as a u32 length-prefixed frame. */
  framedProbe?: boolean;
  /** Said under the table. */
  note?: string;
}

function denoServer(file: string, ...args: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-net",
    `${SERVERS_DIR}/${file}`,
    ...args,
  ];
}

const IDLE = String(IDLE_TIMEOUT_MS);

const SERVERS: ServerSpec[] = [
  {
    id: "sockit-echo",
    label: "sockit `echo` tool",
    short: "sockit echo tool",
    runtime: "deno",
    tcp: echoTool(
      "--idle-timeout",
      String(IDLE_TIMEOUT_MS / 1000),
      "--max-conns",
      "20000",
    ),
    note:
      `\`tools/echo.ts --port 0 --quiet --idle-timeout 60 --max-conns 20000\`, run with its shebang's flags, as the file and its compiled binary run (\`${
        shebangFlags("tools/echo.ts").join(" ")
      }\`; the idle test holds 10,000 clients; the tool's default cap is 1,024)`,
  },
  {
    id: "sockit-listen",
    label: "sockit `tcp.listen()` + handler",
    short: "sockit listen()",
    runtime: "deno",
    tcp: denoServer("sockit_listen.ts", "--idle-timeout", IDLE),
    udp: {
      label: "sockit `udp.bind()` + `serveDatagrams()`",
      command: denoServer("sockit_udp.ts"),
    },
    note:
      "`servers/sockit_listen.ts`: `for (let d; (d = await conn.read()) !== null;) await conn.write(d)`, `idleTimeout: 60000`; UDP: `servers/sockit_udp.ts`",
  },
  {
    id: "sockit-listen-no-idle",
    label: "sockit `tcp.listen()` + handler, no idle timeout",
    short: "sockit listen(), no idle",
    runtime: "deno",
    tcp: denoServer("sockit_listen.ts"),
    measures: ["pp1", "pp100"],
    note:
      "the same server without `idleTimeout`, to price the idle timer (ping-pong only)",
  },
  {
    id: "sockit-framed",
    label: "sockit framed echo (u32 length prefix)",
    short: "sockit framed",
    runtime: "deno",
    tcp: denoServer("sockit_framed.ts", "--idle-timeout", IDLE),
    measures: ["fr1", "fr100"],
    framedProbe: true,
    note:
      "`servers/sockit_framed.ts`: each read decoded in place by a `LengthPrefixCodec` (`pushRanges`: a range per frame, no view), re-encoded from the ranges (`encodeRanges`: back-to-back frames copied in one piece, headers written over), one write per read; a streaming client's reads go into one reused 64 KiB buffer (`readInto`), as in the echo tool; it speaks frames only, so it runs the framed columns and the idle test (its probe is a 1-byte frame)",
  },
  {
    id: "deno-loop",
    label: "raw Deno `read`/`write` loop",
    short: "Deno read/write",
    runtime: "deno",
    tcp: denoServer("deno_loop.ts", "--idle-timeout", IDLE),
    udp: {
      label: "raw Deno `listenDatagram` loop",
      command: denoServer("deno_udp.ts"),
    },
    note:
      "`servers/deno_loop.ts`: `Deno.listen`, a 64 KiB buffer per connection, idle timeout by a once-a-second sweep; UDP: `servers/deno_udp.ts`",
  },
  {
    id: "deno-pipe",
    label: "raw Deno `readable.pipeTo(writable)`",
    short: "Deno pipeTo",
    runtime: "deno",
    tcp: denoServer("deno_pipe_to.ts"),
    note:
      "`servers/deno_pipe_to.ts`; no idle timeout (`pipeTo` gives no hook to see activity)",
  },
  {
    id: "node",
    label: "Node `node:net` `socket.pipe(socket)`",
    short: "Node",
    runtime: "node",
    tcp: ["node", `${SERVERS_DIR}/node_echo.mjs`, "--idle-timeout", IDLE],
    udp: {
      label: "Node `node:dgram`",
      command: ["node", `${SERVERS_DIR}/node_echo.mjs`, "--udp"],
    },
    note:
      "`servers/node_echo.mjs`, idle timeout by `socket.setTimeout()`; UDP: `node:dgram`",
  },
  {
    id: "python",
    label: "Python asyncio streams",
    short: "Python asyncio",
    runtime: "python3",
    tcp: ["python3", `${SERVERS_DIR}/python_echo.py`, "--idle-timeout", IDLE],
    udp: {
      label: "Python asyncio datagram",
      command: ["python3", `${SERVERS_DIR}/python_echo.py`, "--udp"],
    },
    note:
      "`servers/python_echo.py`: `start_server`, `read(65536)`/`write`/`drain`, idle timeout by a once-a-second sweep; UDP: a `DatagramProtocol`",
  },
  {
    id: "c",
    label: "C epoll",
    short: "C epoll",
    runtime: "c",
    tcp: [C_ECHO, "--idle-timeout", IDLE],
    udp: { label: "C `recvfrom`/`sendto`", command: [C_ECHO, "--udp"] },
    note:
      "`c_echo.c`: one thread, level-triggered epoll, one shared 256 KiB read buffer; UDP: a blocking `recvfrom`/`sendto` loop",
  },
];

/**
 * Unpacks the tree of git revision `rev` (once) and gives sockit's rows as
 * they were then: the same commands, run from that tree with its own
 * `deno.json`.
 */
async function baselineServers(rev: string): Promise<ServerSpec[]> {
  const parsed = await new Deno.Command("git", {
    args: ["rev-parse", "--short", "--verify", `${rev}^{commit}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!parsed.success) {
    usage(`--baseline ${rev}: not a git revision of this repository`);
  }
  const short = new TextDecoder().decode(parsed.stdout).trim();
  const dir = `${BUILD_DIR}baseline/${short}`;
  const unpacked = await Deno.stat(`${dir}/deno.json`).then(
    () => true,
    () => false,
  );
  if (!unpacked) {
    await Deno.mkdir(dir, { recursive: true });
    const tar = await new Deno.Command("sh", {
      args: ["-c", `git archive "$1" | tar -x -C "$2"`, "sh", short, dir],
      stderr: "piped",
    }).output();
    if (!tar.success) {
      throw new Error(
        `Cannot unpack ${short} into ${dir}: ${
          new TextDecoder().decode(tar.stderr).trim()
        }`,
      );
    }
  }
  const config = ["--config", `${dir}/deno.json`];
  const server = (file: string, ...args: string[]) => [
    Deno.execPath(),
    "run",
    "--allow-net",
    ...config,
    `${dir}/${SERVERS_DIR}/${file}`,
    ...args,
  ];
  const echo = `${dir}/tools/echo.ts`;
  const before = `before (${short})`;
  return [
    {
      id: "sockit-echo-before",
      label: `sockit \`echo\` tool, ${before}`,
      short: `echo tool, ${short}`,
      runtime: "deno",
      tcp: [
        Deno.execPath(),
        "run",
        ...config,
        ...shebangFlags(echo),
        echo,
        "--port",
        "0",
        "--quiet",
        "--grace",
        "1",
        "--idle-timeout",
        String(IDLE_TIMEOUT_MS / 1000),
        "--max-conns",
        "20000",
      ],
      note: `the \`echo\` tool of ${short}, with its shebang's flags (\`${
        shebangFlags(echo).join(" ")
      }\`)`,
    },
    {
      id: "sockit-listen-before",
      label: `sockit \`tcp.listen()\` + handler, ${before}`,
      short: `listen(), ${short}`,
      runtime: "deno",
      tcp: server("sockit_listen.ts", "--idle-timeout", IDLE),
      udp: {
        label: `sockit \`udp.bind()\` + \`serveDatagrams()\`, ${before}`,
        command: server("sockit_udp.ts"),
      },
      note: `\`servers/sockit_listen.ts\` and \`sockit_udp.ts\` of ${short}`,
    },
    {
      id: "sockit-framed-before",
      label: `sockit framed echo (u32 length prefix), ${before}`,
      short: `framed, ${short}`,
      runtime: "deno",
      tcp: server("sockit_framed.ts", "--idle-timeout", IDLE),
      measures: ["fr1", "fr100"],
      framedProbe: true,
      note: `\`servers/sockit_framed.ts\` of ${short}`,
    },
  ];
}

/** The TLS rows: each a TLS echo server with the run's certificate. */
const TLS_SERVERS: ServerSpec[] = [
  {
    id: "sockit-echo-tls",
    label: "sockit `echo` tool, TLS",
    short: "sockit echo tool",
    runtime: "deno",
    tcp: echoTool(
      "--tls-cert",
      TLS_CERT,
      "--tls-key",
      TLS_KEY,
      "--idle-timeout",
      String(IDLE_TIMEOUT_MS / 1000),
      "--max-conns",
      "20000",
    ),
    note:
      "`tools/echo.ts --port 0 --tls-cert FILE --tls-key FILE --quiet --idle-timeout 60 --max-conns 20000`",
  },
  {
    id: "deno-tls",
    label: "raw Deno `listenTls` `read`/`write` loop",
    short: "Deno listenTls",
    runtime: "deno",
    tcp: [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      `${SERVERS_DIR}/deno_tls.ts`,
      "--cert",
      TLS_CERT,
      "--key",
      TLS_KEY,
      "--idle-timeout",
      IDLE,
    ],
    note:
      "`servers/deno_tls.ts`: `Deno.listenTls`, then the loop of `servers/deno_loop.ts` (a 64 KiB buffer per connection, idle timeout by a once-a-second sweep)",
  },
  {
    id: "node-tls",
    label: "Node `node:tls` `socket.pipe(socket)`",
    short: "Node tls",
    runtime: "node",
    tcp: [
      "node",
      `${SERVERS_DIR}/node_tls.mjs`,
      "--cert",
      TLS_CERT,
      "--key",
      TLS_KEY,
      "--idle-timeout",
      IDLE,
    ],
    note:
      "`servers/node_tls.mjs`: `tls.createServer()`, idle timeout by `socket.setTimeout()`",
  },
  {
    id: "c-tls",
    label: "C epoll + OpenSSL",
    short: "C OpenSSL",
    runtime: "c",
    tcp: [
      C_TLS_ECHO,
      "--cert",
      TLS_CERT,
      "--key",
      TLS_KEY,
      "--idle-timeout",
      IDLE,
    ],
    note:
      "`c_tls_echo.c`: one thread, level-triggered epoll, non-blocking `SSL_accept`/`SSL_read`/`SSL_write` (read-ahead on, one shared 256 KiB buffer, `TCP_NODELAY`), OpenSSL's default sessions and tickets",
  },
];

// ---------------------------------------------------------------------------
// Measures

interface MeasureSpec {
  args: string[];
  pinned?: boolean;
  bulk?: boolean;
}

function measureSpec(id: RateMeasureId, options: Options): MeasureSpec {
  const d = String(options.duration);
  const timing = ["--duration", d, "--warmup", String(options.warmup)];
  switch (id) {
    case "tls-bulk":
    case "tls-pp100": {
      const plain = measureSpec(id === "tls-bulk" ? "bulk" : "pp100", options);
      return { ...plain, args: [...plain.args, "--tls", TLS_CA] };
    }
    case "tls-hs":
      return {
        args: [
          "--mode",
          "handshake",
          "--conns",
          String(HS_CONNS),
          "--threads",
          String(HS_THREADS),
          "--max-ops",
          String(HS_MAX),
          "--tls",
          TLS_CA,
          ...timing,
        ],
      };
    case "bulk":
      return {
        bulk: true,
        args: bulkArgs(options.bulkDuration, options.warmup),
      };
    case "pp1":
      return { args: ["--mode", "pingpong", "--conns", "1", ...timing] };
    case "pp1pin":
      return {
        pinned: true,
        args: ["--mode", "pingpong", "--conns", "1", ...timing],
      };
    case "pp100":
      return { args: ["--mode", "pingpong", "--conns", "100", ...timing] };
    case "fr1":
    case "fr100":
      return {
        args: [
          "--mode",
          "framed",
          "--conns",
          id === "fr1" ? "1" : "100",
          // One client thread cannot keep up with 100 pipelined
          // connections to the fastest servers; two can.
          "--threads",
          id === "fr1" ? "1" : "2",
          "--window",
          "512",
          "--batch",
          "64",
          ...timing,
        ],
      };
    case "udp":
      return { args: ["--mode", "udp", "--conns", "16", ...timing] };
  }
}

// ---------------------------------------------------------------------------
// Processes

const decoder = new TextDecoder();

/** Before a measure (and a repeat), wait until others use at most this. */
const QUIET_CORES = 0.15;
/**
 * Seconds the whole run may spend waiting for other work to stop, and runs
 * it may repeat: together they keep a run on a busy machine under about 10
 * minutes.
 */
const QUIET_BUDGET = 60;
let quietWaited = 0;
let repeated = 0;

/** Cores the whole machine used over `seconds` (our server is idle then). */
async function machineBusy(seconds: number): Promise<number> {
  const { stdout } = await new Deno.Command(LOADGEN, {
    args: ["--mode", "cpu", "--duration", String(seconds)],
    stdout: "piped",
    stderr: "null",
  }).output();
  try {
    const { busy, steal } = JSON.parse(decoder.decode(stdout)) as {
      busy: number;
      steal: number;
    };
    return busy + steal;
  } catch {
    return 0;
  }
}

/**
 * Waits (within {@linkcode QUIET_BUDGET} for the whole run) until other work
 * on the machine uses at most {@linkcode QUIET_CORES}.
 */
async function waitForQuiet(label: string): Promise<void> {
  let said = false;
  for (;;) {
    const busy = await machineBusy(0.3);
    if (busy <= QUIET_CORES) return;
    if (quietWaited >= QUIET_BUDGET) {
      if (!said) {
        progress(
          `${label}: other work uses ${
            busy.toFixed(2)
          } cores; the waiting budget is spent, measuring anyway`,
        );
      }
      return;
    }
    if (!said) {
      progress(
        `${label}: other work uses ${busy.toFixed(2)} cores: waiting for quiet`,
      );
      said = true;
    }
    await sleep(1000);
    quietWaited += 1.3;
  }
}

/** Runs the load generator once, killed if it overruns its time bound. */
async function runLoad(
  server: Running,
  args: string[],
  boundSeconds: number,
  pinned: boolean,
): Promise<LoadResult> {
  const common = [
    "--port",
    String(server.port),
    "--server-pid",
    String(server.pid),
    // Sharing one CPU with the server: never busy-poll.
    ...(pinned ? ["--spin", "0"] : []),
    ...args,
  ];
  return await runLoadgen(LOADGEN, common, {
    boundSeconds,
    ...(pinned ? { cpus: "0" } : {}),
  });
}

async function pin(pid: number, cpus: string): Promise<void> {
  await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", cpus, String(pid)],
    stdout: "null",
    stderr: "null",
  }).output();
}

// ---------------------------------------------------------------------------
// Results

/** A server's results while it is measured, and how to start it. */
interface Row extends ServerResult {
  spec: ServerSpec;
}

/** A fresh row for `spec`. */
function rowOf(spec: ServerSpec): Row {
  return {
    spec,
    id: spec.id,
    label: spec.label,
    short: spec.short,
    runtime: spec.runtime,
    ...(spec.note !== undefined ? { note: spec.note } : {}),
    ...(spec.udp !== undefined ? { udpLabel: spec.udp.label } : {}),
    figures: {},
  };
}

/** The row without how to start it: what results.json keeps. */
function resultOf(row: Row): ServerResult {
  const { spec: _, ...result } = row;
  return result;
}

function progress(line: string): void {
  console.error(`bench:net: ${line}`);
}

/**
 * One run of a measure against a running server; a run disturbed by other
 * work on the machine is repeated (at most {@linkcode MAX_RETRIES} times),
 * after waiting for quiet.
 */
async function runOnce(
  server: Running,
  spec: MeasureSpec,
  options: Options,
  label: string,
): Promise<{ result: LoadResult; retries: number }> {
  const bound = (spec.bulk ? options.bulkDuration : options.duration) +
    options.warmup + 15;
  for (let retries = 0;; retries++) {
    if (spec.pinned) await pin(server.pid, "0");
    const result = await runLoad(
      server,
      spec.args,
      bound,
      spec.pinned ?? false,
    );
    if (spec.pinned) {
      await pin(server.pid, `0-${navigator.hardwareConcurrency - 1}`);
    }
    const noise = result.cpu_other + result.cpu_steal;
    if (
      result.error !== null || noise <= NOISE_CORES ||
      retries >= MAX_RETRIES || repeated >= REPEAT_BUDGET
    ) {
      return { result, retries };
    }
    repeated++;
    progress(
      `${label}: other work used ${
        noise.toFixed(2)
      } cores during the run: repeating it`,
    );
    await waitForQuiet(label);
  }
}

/** The median figure of a measure's runs. */
function medianFigure(
  results: LoadResult[],
  spec: MeasureSpec,
  retries: number,
  label: string,
): Figure {
  const failure = results.find((r) => r.error !== null);
  if (failure !== undefined) {
    progress(`${label}: failed: ${failure.error}`);
    return { value: NaN, runs: [], error: failure.error! };
  }
  const values = results.map((r) => spec.bulk ? r.mbps : r.rate);
  const figure: Figure = {
    value: median(values),
    runs: values,
    serverCpu: median(results.map((r) => r.cpu_server)),
    loadgenBusy: median(results.map((r) => r.loadgen_busy)),
    retries,
  };
  if (results[0]!.tls) figure.tls = results[0]!.tls;
  const noise = Math.max(...results.map((r) => r.cpu_other + r.cpu_steal));
  if (noise > NOISE_CORES) figure.noise = noise;
  if (results[0]!.p50_us > 0) {
    figure.p50 = median(results.map((r) => r.p50_us));
    figure.p99 = median(results.map((r) => r.p99_us));
  }
  progress(
    `${label}: ${values.map((v) => formatNumber(v)).join(", ")} → ${
      formatNumber(figure.value)
    } (server ${figure.serverCpu!.toFixed(2)} cores, load generator busy ${
      figure.loadgenBusy!.toFixed(2)
    }${noise > 0.05 ? `, other work ${noise.toFixed(2)} cores` : ""})`,
  );
  return figure;
}

/**
 * Runs `measure` against every server in `servers`, in rounds: one run of
 * each server per round, so a slow spell of the machine touches them all
 * alike rather than one server's three runs. Each round starts one server
 * further down the list, so no server always runs first (or right after
 * the same neighbour).
 */
async function measureAll(
  measure: RateMeasureId,
  servers: Map<Row, Running>,
  options: Options,
): Promise<void> {
  const spec = measureSpec(measure, options);
  const results = new Map<Row, LoadResult[]>();
  const retries = new Map<Row, number>();
  for (let round = 0; round < options.runs; round++) {
    await waitForQuiet(`${measure} round ${round + 1}`);
    for (const [row, server] of rotate([...servers], round)) {
      const label = `${row.spec.id} ${measure}`;
      const done = results.get(row) ?? [];
      if (done.some((r) => r.error !== null)) continue; // failed: stop
      const { result, retries: n } = await runOnce(
        server,
        spec,
        options,
        label,
      );
      results.set(row, [...done, result]);
      retries.set(row, (retries.get(row) ?? 0) + n);
    }
  }
  for (const [row, list] of results) {
    row.figures[measure] = medianFigure(
      list,
      spec,
      retries.get(row) ?? 0,
      `${row.spec.id} ${measure}`,
    );
  }
}

/** `list` rotated left by `by` places. */
function rotate<T>(list: readonly T[], by: number): T[] {
  const at = list.length === 0 ? 0 : by % list.length;
  return [...list.slice(at), ...list.slice(0, at)];
}

async function idleRun(
  spec: ServerSpec,
  options: Options,
): Promise<IdleResult> {
  const server = await startServer(spec.tcp);
  try {
    await sleep(300);
    const child = new Deno.Command(LOADGEN, {
      args: [
        "--port",
        String(server.port),
        "--mode",
        "idle",
        "--conns",
        String(options.idleConns),
        "--timeout",
        "60",
        "--hold",
        "30",
        "--idle-framed",
        spec.framedProbe ? "1" : "0",
        "--server-pid",
        String(server.pid),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const tail: string[] = [];
    const firstLine = Promise.withResolvers<string>();
    pumpLines(child.stdout, tail, (line) => firstLine.resolve(line));
    pumpLines(child.stderr, tail, () => {});
    const line = await within(
      Promise.race([firstLine.promise, child.status.then(() => "")]),
      75_000,
    );
    interface IdleReport {
      live: number;
      rss_before_kib: number;
      hwm_kib: number;
      rss_kib: number;
      error: string | null;
    }
    let report: IdleReport | undefined;
    let error: string | undefined;
    if (line === undefined) {
      error = "the load generator said nothing within 75 s";
    } else {
      try {
        report = JSON.parse(line) as IdleReport;
        if (report.error !== null) error = report.error;
      } catch {
        error = tail.join(" | ") || "the load generator exited";
      }
    }
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("release\n")).catch(() => {});
    await writer.close().catch(() => {});
    await killAfter(child, 20_000);
    const live = report?.live ?? 0;
    return {
      live,
      peakKiB: report?.hwm_kib ?? NaN,
      perConnKiB: report && live > 0
        ? (report.rss_kib - report.rss_before_kib) / live
        : NaN,
      ...(error !== undefined ? { error } : {}),
    };
  } finally {
    await stopServer(server);
  }
}

interface IdleResult {
  live: number;
  peakKiB: number;
  perConnKiB: number;
  error?: string;
}

function idleFigure(
  row: Row,
  runs: IdleResult[],
  options: Options,
): IdleFigure {
  const failure = runs.find((r) => r.error !== undefined);
  if (failure !== undefined) {
    progress(`${row.spec.id} idle: failed: ${failure.error}`);
    return {
      live: failure.live,
      conns: options.idleConns,
      peakMiB: failure.peakKiB / 1024,
      perConnKiB: failure.perConnKiB,
      runs: [],
      error: failure.error!,
    };
  }
  const peaks = runs.map((r) => r.peakKiB / 1024);
  const figure: IdleFigure = {
    live: Math.min(...runs.map((r) => r.live)),
    conns: options.idleConns,
    peakMiB: median(peaks),
    perConnKiB: median(runs.map((r) => r.perConnKiB)),
    runs: peaks,
  };
  progress(
    `${row.spec.id} idle: ${figure.live} live, peak ${
      peaks.map((p) => p.toFixed(0)).join(", ")
    } MiB → ${figure.peakMiB.toFixed(0)} MiB, ${
      figure.perConnKiB.toFixed(1)
    } KiB/conn`,
  );
  return figure;
}

// ---------------------------------------------------------------------------
// Preflight

async function commandWorks(command: string, args: string[]): Promise<string> {
  try {
    const { success, stdout, stderr } = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = (decoder.decode(stdout) + decoder.decode(stderr)).trim();
    return success ? text.split("\n")[0]! : "";
  } catch {
    return "";
  }
}

/**
 * Builds the load generator (with OpenSSL if it builds, else without), the
 * C echo server and, with OpenSSL, the C TLS echo server. Returns cc's
 * version line and why the TLS measures cannot run (null if they can).
 */
async function buildAll(): Promise<{ cc: string; noTls: string | null }> {
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const cc = await commandWorks("cc", ["--version"]);
  if (cc === "") {
    throw new Error(
      "Cannot build the load generator: no `cc` on the PATH (install gcc or clang)",
    );
  }
  const ssl = ["-lssl", "-lcrypto"];
  let noTls: string | null = null;
  const tlsFailure = await compile("loadgen.c", LOADGEN, {
    before: ["-pthread", "-DWITH_TLS"],
    after: ssl,
  }) || await compile("c_tls_echo.c", C_TLS_ECHO, { after: ssl });
  if (tlsFailure !== "") {
    const line = (tlsFailure.split("\n").find((l) => /error/i.test(l)) ??
      tlsFailure.split("\n")[0]!).replace(path(BENCH_NET), "");
    noTls = /openssl\/\w+\.h/.test(tlsFailure)
      ? `no OpenSSL headers (Debian: apt-get install libssl-dev): ${line}`
      : `cannot build with OpenSSL (-lssl -lcrypto): ${line}`;
  }
  const plain: [string, string, string[]][] = [["c_echo.c", C_ECHO, []]];
  if (noTls !== null) plain.unshift(["loadgen.c", LOADGEN, ["-pthread"]]);
  for (const [source, output, extra] of plain) {
    await build(source, output, extra);
  }
  return { cc, noTls };
}

async function openssl(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: TLS_DIR,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot make the TLS certificates: openssl ${args.join(" ")}: ${
        decoder.decode(stderr).trim()
      }`,
    );
  }
}

/**
 * Makes a throwaway CA and a server certificate for `127.0.0.1` and
 * `localhost` signed by it (EC P-256, valid for a day) in `.build/tls/`,
 * replacing the last run's.
 */
async function makeCertificates(): Promise<void> {
  await Deno.remove(TLS_DIR, { recursive: true }).catch(() => {});
  await Deno.mkdir(TLS_DIR, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=sockit bench:net CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await openssl([
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${TLS_DIR}server.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "1",
    "-extfile",
    "server.ext",
  ]);
}

async function fdHardLimit(): Promise<number> {
  const text = await commandWorks("sh", ["-c", "ulimit -Hn"]);
  return text === "unlimited" ? Infinity : Number(text);
}

async function keptNotes(file: string): Promise<string> {
  try {
    const text = await Deno.readTextFile(file);
    const at = text.indexOf(NOTES_MARKER);
    return at === -1 ? "" : text.slice(at + NOTES_MARKER.length).trim();
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------------------
// Main

async function main(options: Options): Promise<void> {
  const started = performance.now();
  if (Deno.build.os !== "linux") {
    throw new Error("bench:net needs Linux (epoll, /proc, taskset)");
  }
  const { cc, noTls } = await buildAll();
  const wanted = (m: MeasureId) =>
    options.measures === null || options.measures.has(m);
  const plainWanted = MEASURE_IDS.some((m) =>
    !TLS_MEASURES.includes(m as TlsMeasureId) && wanted(m)
  );
  const plainServers = SERVERS.filter((spec) =>
    plainWanted && (options.only === null || options.only.has(spec.id))
  );
  if (options.baseline !== null && plainWanted) {
    plainServers.push(...await baselineServers(options.baseline));
  }
  const tlsServers = TLS_SERVERS.filter((spec) =>
    TLS_MEASURES.some((m) => wanted(m)) &&
    (options.only === null || options.only.has(spec.id))
  );
  const hard = await fdHardLimit();
  const wantIdle = options.measures === null || options.measures.has("idle");
  if (
    plainServers.length > 0 && wantIdle && !(hard >= options.idleConns + 200)
  ) {
    throw new Error(
      `The idle test needs ${
        options.idleConns + 200
      } file descriptors per process but the hard limit (ulimit -Hn) is ${hard}: raise it (as root: ulimit -n 20000 in this shell, or LimitNOFILE=/limits.conf) or run with --measures to skip idle`,
    );
  }
  const node = await commandWorks("node", ["--version"]);
  const python = await commandWorks("python3", ["--version"]);
  const taskset = await commandWorks("taskset", ["--version"]);
  const versions = [
    `Deno ${Deno.version.deno}`,
    node ? `Node ${node}` : "no Node",
    python || "no Python",
    `cc: ${cc}`,
  ];
  // Deno wants --allow-all for /proc: ask grep and uname instead.
  const cpu =
    (await commandWorks("grep", ["-m1", "model name", "/proc/cpuinfo"]))
      .replace(/^model name\s*:\s*/, "") || "unknown CPU";
  const kernel = await commandWorks("uname", ["-r"]);
  const machine =
    `${cpu}, ${navigator.hardwareConcurrency} CPUs, Linux ${kernel}`;
  if (options.profileDir !== null) {
    await Deno.mkdir(options.profileDir, { recursive: true });
  }

  const rows: Row[] = [];
  for (const spec of plainServers) {
    const row = rowOf(spec);
    rows.push(row);
    if (spec.runtime === "node" && !node) {
      row.skipped = "`node` is not on the PATH";
    } else if (spec.runtime === "python3" && !python) {
      row.skipped = "`python3` is not on the PATH";
    }
    if (row.skipped) progress(`${spec.id}: skipped (${row.skipped})`);
  }
  const live = rows.filter((row) => row.skipped === undefined);
  const profiled = (spec: ServerSpec, command: string[], name: string) =>
    options.profileDir !== null && spec.runtime === "deno"
      ? [
        command[0]!,
        command[1]!,
        "--cpu-prof",
        `--cpu-prof-dir=${options.profileDir}`,
        `--cpu-prof-name=${name}.cpuprofile`,
        ...command.slice(2),
      ]
      : command;

  // TCP: every server up at once (idle until its turn), measure by measure.
  const tcpMeasures: readonly RateMeasureId[] = TCP_MEASURES.filter((m) =>
    wanted(m)
  );
  const tcpRows = live.filter((row) =>
    (row.spec.measures ?? TCP_MEASURES).some((m) => tcpMeasures.includes(m))
  );
  const servers = new Map<Row, Running>();
  try {
    for (const row of tcpRows) {
      servers.set(
        row,
        await startServer(profiled(row.spec, row.spec.tcp, row.spec.id)),
      );
    }
    for (const m of tcpMeasures) {
      if (m === "pp1pin" && !taskset) {
        for (const row of tcpRows) {
          row.figures[m] = { value: NaN, runs: [], skipped: "no `taskset`" };
        }
        continue;
      }
      const those = new Map(
        [...servers].filter(([row]) =>
          (row.spec.measures ?? TCP_MEASURES).includes(m)
        ),
      );
      await measureAll(m, those, options);
    }
  } finally {
    for (const server of servers.values()) await stopServer(server);
    servers.clear();
  }

  // UDP: the same, with each row's UDP echo.
  if (wanted("udp")) {
    try {
      for (const row of live) {
        if (row.spec.udp === undefined) continue;
        servers.set(
          row,
          await startServer(
            profiled(row.spec, row.spec.udp.command, `${row.spec.id}-udp`),
          ),
        );
      }
      await measureAll("udp", servers, options);
    } finally {
      for (const server of servers.values()) await stopServer(server);
      servers.clear();
    }
  }

  // Idle connections: a fresh server for each run, in rounds too.
  if (wanted("idle")) {
    const idleRows = live.filter((row) =>
      row.spec.id !== "sockit-listen-no-idle"
    );
    const runs = new Map<Row, IdleResult[]>();
    for (let round = 0; round < options.runs; round++) {
      for (const row of rotate(idleRows, round)) {
        const done = runs.get(row) ?? [];
        if (done.some((r) => r.error !== undefined)) continue;
        await waitForQuiet(`${row.spec.id} idle`);
        runs.set(row, [...done, await idleRun(row.spec, options)]);
      }
    }
    for (const [row, list] of runs) row.idle = idleFigure(row, list, options);
  }

  // TLS: the same, with the TLS servers and the run's certificates.
  const tlsRows: Row[] = tlsServers.map(rowOf);
  const tlsVersions: string[] = [];
  if (tlsRows.length > 0) {
    const openssl = await commandWorks("openssl", ["version"]);
    let noCertificates: string | null = openssl === ""
      ? "no `openssl` command to make the certificates (Debian: apt-get install openssl)"
      : null;
    if (noTls === null && noCertificates === null) {
      try {
        await makeCertificates();
      } catch (error) {
        noCertificates = error instanceof Error ? error.message : String(error);
      }
    }
    if (openssl) {
      tlsVersions.push(
        `${
          openssl.replace(/ \(Library:.*\)$/, "")
        } (\`openssl\`; the C server and the load generator link the system's libssl)`,
      );
    }
    const nodeSsl = node
      ? await commandWorks("node", ["-p", "process.versions.openssl"])
      : "";
    if (nodeSsl) tlsVersions.push(`Node's OpenSSL ${nodeSsl}`);
    tlsVersions.push("Deno's TLS: rustls");
    for (const row of tlsRows) {
      if (noTls !== null) row.skipped = noTls;
      else if (noCertificates !== null) row.skipped = noCertificates;
      else if (row.spec.runtime === "node" && !node) {
        row.skipped = "`node` is not on the PATH";
      }
      if (row.skipped) progress(`${row.spec.id}: skipped (${row.skipped})`);
    }
    try {
      for (const row of tlsRows) {
        if (row.skipped !== undefined) continue;
        try {
          servers.set(
            row,
            await startServer(profiled(row.spec, row.spec.tcp, row.spec.id)),
          );
        } catch (error) {
          if (!(error instanceof StartError)) throw error;
          row.failed = error.reason;
          progress(`${row.spec.id}: failed to start: ${error.message}`);
        }
      }
      for (const m of TLS_MEASURES) {
        if (wanted(m) && servers.size > 0) {
          await measureAll(m, servers, options);
        }
      }
    } finally {
      for (const server of servers.values()) await stopServer(server);
      servers.clear();
    }
  }

  const companions = options.companions ? await runCompanions() : [];
  const seconds = (performance.now() - started) / 1000;
  const results: BenchResults = {
    date: new Date().toISOString().slice(0, 10),
    machine,
    versions,
    tlsVersions,
    seconds,
    settings: {
      runs: options.runs,
      duration: options.duration,
      bulkDuration: options.bulkDuration,
      warmup: options.warmup,
      idleConns: options.idleConns,
    },
    repeated,
    quietWaited,
    plain: rows.map(resultOf),
    tls: tlsRows.map(resultOf),
    ...(companions.length === 0 ? {} : { companions }),
  };
  await writeOutputs(results, options);
}

/** The companion benchmarks: each a program printing its Markdown. */
const COMPANIONS: readonly { title: string; file: string }[] = [
  {
    title: "Relays: the relay tool, socat and a raw Deno relay",
    file: "relay.ts",
  },
  { title: "Every core: --workers against node:cluster", file: "workers.ts" },
  { title: "PROXY protocol: the cost on new connections", file: "proxy.ts" },
  {
    title: "The time tool and cat --listen against the library",
    file: "tools.ts",
  },
];

/**
 * Runs each companion benchmark as its own program (each bounded in time:
 * a minute or two) and keeps its Markdown; one that fails is recorded
 * with its error, and the run goes on.
 */
async function runCompanions(): Promise<Companion[]> {
  const out: Companion[] = [];
  for (const { title, file } of COMPANIONS) {
    const command = `deno run -A bench/net/${file}`;
    progress(`companion: ${command}`);
    await waitForQuiet(file);
    const { success, stdout, stderr } = await new Deno.Command(
      Deno.execPath(),
      {
        args: ["run", "-A", path(new URL(file, BENCH_NET))],
        cwd: path(ROOT),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      },
    ).output();
    const text = new TextDecoder().decode(success ? stdout : stderr).trim();
    out.push({
      title,
      command,
      markdown: success
        ? text
        : `Failed: ${text.split("\n").slice(-3).join(" ")}`,
    });
  }
  return out;
}

/**
 * Writes what `options` asks for from `results`: results.json, the
 * Markdown (keeping the notes below the marker), the chart and README's
 * summary; prints the Markdown.
 */
async function writeOutputs(
  results: BenchResults,
  options: Options,
): Promise<void> {
  if (options.json !== null) {
    await Deno.writeTextFile(options.json, stringifyResults(results));
    progress(`wrote ${options.json}`);
  }
  let markdown = renderReport(results);
  if (options.out !== null) {
    const notes = await keptNotes(options.out);
    markdown += `\n\n${NOTES_MARKER}\n${notes ? `\n${notes}\n` : ""}`;
    await Deno.writeTextFile(options.out, markdown);
    await denoFmt(options.out);
    progress(`wrote ${options.out}`);
  }
  if (options.chart !== null) {
    // The chart shows the code as it is; --baseline rows stay in the tables.
    const current = results.plain.filter((row) => !row.id.endsWith("-before"));
    await Deno.writeTextFile(
      options.chart,
      renderChart({ ...results, plain: current }),
    );
    await denoFmt(options.chart); // deno fmt --check formats SVG too
    progress(`wrote ${options.chart}`);
  }
  if (options.readme !== null) {
    await updateReadme(options.readme, renderSummary(results));
  }
  console.log(markdown);
}

async function denoFmt(file: string): Promise<void> {
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", file],
    stdout: "null",
    stderr: "null",
  }).output();
}

/** Replaces README.md's summary between its markers with `summary`. */
async function updateReadme(file: string, summary: string): Promise<void> {
  const text = await Deno.readTextFile(file);
  const start = text.indexOf(SUMMARY_START);
  const end = text.indexOf(SUMMARY_END);
  if (start === -1 || end < start) {
    progress(
      `${file} has no ${SUMMARY_START} … ${SUMMARY_END} block: its summary is left alone`,
    );
    return;
  }
  await Deno.writeTextFile(
    file,
    `${text.slice(0, start + SUMMARY_START.length)}\n\n${summary}\n\n${
      text.slice(end)
    }`,
  );
  await denoFmt(file);
  progress(`wrote the summary in ${file}`);
}

/** `--from FILE`: the outputs of a saved run, nothing measured. */
async function render(options: Options, from: string): Promise<void> {
  const results = parseResults(await Deno.readTextFile(from));
  await writeOutputs(results, { ...options, json: null });
}

if (import.meta.main) {
  try {
    const options = parseOptions(Deno.args);
    if (options.from !== null) await render(options, options.from);
    else await main(options);
  } catch (error) {
    console.error(
      `bench:net: ${error instanceof Error ? error.message : String(error)}`,
    );
    Deno.exit(1);
  }
}
