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
 * Output: one Markdown table (rows: servers; columns: the measures, each
 * figure with its ratio to raw Deno and to C from the same run), the CPU
 * each server used, and the targets of issue 7 met or missed; then the same
 * for TLS (rows: the TLS servers; ratios to raw Deno TLS and to C OpenSSL;
 * the targets of "TLS everywhere"), on stdout and in
 * `bench/net/RESULTS.md`. Notes written below the notes marker of that file
 * are kept when it is rewritten.
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
 *   `c-tls` (RESULTS.md is left alone unless `--out` is given)
 * - `--measures ID,ID` — only these measures: `bulk`, `pp1`, `pp1pin`,
 *   `pp100`, `fr1`, `fr100`, `udp`, `idle`; TLS: `tls-bulk`, `tls-pp100`,
 *   `tls-hs` (new connections with a full handshake and one round trip)
 * - `--runs N` — runs per measure (default 3)
 * - `--duration S` — seconds measured per run (default 1.5, bulk 2)
 * - `--quick` — one run of 0.5 s each, 2,000 idle connections
 * - `--profile DIR` — run the Deno servers with `--cpu-prof` into `DIR`
 *   (summarise a profile with `bench/net/profile.ts`)
 * - `--out FILE` — where to write the Markdown (default: RESULTS.md, on a
 *   run of every server and measure)
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

const HERE = new URL(".", import.meta.url);
const ROOT = new URL("../../", import.meta.url);
const path = (url: URL): string => decodeURIComponent(url.pathname);
const BUILD_DIR = path(new URL(".build/", HERE));
const LOADGEN = `${BUILD_DIR}loadgen`;
const C_ECHO = `${BUILD_DIR}c_echo`;
const C_TLS_ECHO = `${BUILD_DIR}c_tls_echo`;
/** The throwaway CA and server certificate, made at each run. */
const TLS_DIR = `${BUILD_DIR}tls/`;
const TLS_CA = `${TLS_DIR}ca.crt`;
const TLS_CERT = `${TLS_DIR}server.crt`;
const TLS_KEY = `${TLS_DIR}server.key`;
const SERVERS_DIR = "bench/net/servers";
const RESULTS = path(new URL("RESULTS.md", HERE));
const NOTES_MARKER =
  "<!-- notes: hand-written below this line, kept by run.ts -->";

/** Idle timeout every server runs with (long: it must not fire in a run). */
const IDLE_TIMEOUT_MS = 60_000;
const PAYLOAD = 64;
/** TLS handshakes: connections in flight, load generator threads, bound. */
const HS_CONNS = 32;
const HS_THREADS = 2;
const HS_MAX = 100_000;

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
  out: string | null;
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
      default:
        usage(`unknown flag ${flag}`);
    }
  }
  if (!explicitOut && options.only === null && options.measures === null) {
    options.out = RESULTS;
  }
  return options;
}

// ---------------------------------------------------------------------------
// Servers

type Runtime = "deno" | "node" | "python3" | "c";

interface ServerSpec {
  id: string;
  label: string;
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
    runtime: "deno",
    tcp: [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "tools/echo.ts",
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
    note:
      "`tools/echo.ts --port 0 --quiet --idle-timeout 60 --max-conns 20000` (the idle test holds 10,000 clients; the tool's default cap is 1,024)",
  },
  {
    id: "sockit-listen",
    label: "sockit `tcp.listen()` + handler",
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
    runtime: "deno",
    tcp: denoServer("sockit_listen.ts"),
    measures: ["pp1", "pp100"],
    note:
      "the same server without `idleTimeout`, to price the idle timer (ping-pong only)",
  },
  {
    id: "sockit-framed",
    label: "sockit framed echo (u32 length prefix)",
    runtime: "deno",
    tcp: denoServer("sockit_framed.ts", "--idle-timeout", IDLE),
    measures: ["fr1", "fr100"],
    framedProbe: true,
    note:
      "`servers/sockit_framed.ts`: each read decoded by a `LengthPrefixCodec`, re-encoded with `encodeAll`, one write per read; it speaks frames only, so it runs the framed columns and the idle test (its probe is a 1-byte frame)",
  },
  {
    id: "deno-loop",
    label: "raw Deno `read`/`write` loop",
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
    runtime: "deno",
    tcp: denoServer("deno_pipe_to.ts"),
    note:
      "`servers/deno_pipe_to.ts`; no idle timeout (`pipeTo` gives no hook to see activity)",
  },
  {
    id: "node",
    label: "Node `node:net` `socket.pipe(socket)`",
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
    runtime: "c",
    tcp: [C_ECHO, "--idle-timeout", IDLE],
    udp: { label: "C `recvfrom`/`sendto`", command: [C_ECHO, "--udp"] },
    note:
      "`c_echo.c`: one thread, level-triggered epoll, one shared 256 KiB read buffer; UDP: a blocking `recvfrom`/`sendto` loop",
  },
];

/** The TLS rows: each a TLS echo server with the run's certificate. */
const TLS_SERVERS: ServerSpec[] = [
  {
    id: "sockit-echo-tls",
    label: "sockit `echo` tool, TLS",
    runtime: "deno",
    tcp: [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "tools/echo.ts",
      "--port",
      "0",
      "--tls-cert",
      TLS_CERT,
      "--tls-key",
      TLS_KEY,
      "--quiet",
      "--grace",
      "1",
      "--idle-timeout",
      String(IDLE_TIMEOUT_MS / 1000),
      "--max-conns",
      "20000",
    ],
    note:
      "`tools/echo.ts --port 0 --tls-cert FILE --tls-key FILE --quiet --idle-timeout 60 --max-conns 20000`",
  },
  {
    id: "deno-tls",
    label: "raw Deno `listenTls` `read`/`write` loop",
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

const MEASURE_IDS = [
  "bulk",
  "pp1",
  "pp1pin",
  "pp100",
  "fr1",
  "fr100",
  "udp",
  "idle",
  "tls-bulk",
  "tls-pp100",
  "tls-hs",
] as const;
type MeasureId = typeof MEASURE_IDS[number];
type TlsMeasureId = "tls-bulk" | "tls-pp100" | "tls-hs";
/** The measures with a figure per run (all but idle). */
type RateMeasureId = Exclude<MeasureId, "idle">;
type TcpMeasureId = Exclude<MeasureId, "udp" | "idle" | TlsMeasureId>;
const TLS_MEASURES: readonly TlsMeasureId[] = [
  "tls-bulk",
  "tls-pp100",
  "tls-hs",
];
const TCP_MEASURES: readonly TcpMeasureId[] = [
  "bulk",
  "pp1",
  "pp1pin",
  "pp100",
  "fr1",
  "fr100",
];

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
        args: [
          "--mode",
          "bulk",
          "--conns",
          "1",
          "--window",
          String(1 << 20),
          "--duration",
          String(options.bulkDuration),
          "--warmup",
          String(options.warmup),
        ],
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

/** A child we started; stopped by its PID only. */
interface Running {
  child: Deno.ChildProcess;
  pid: number;
  port: number;
  tail: string[];
  done: Promise<Deno.CommandStatus>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads lines from `stream` into `tail` (the last 20), calling `onLine`. */
async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  tail: string[],
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  try {
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onLine(line);
      }
    }
  } catch { /* the process went away */ }
  if (pending !== "") {
    tail.push(pending);
    onLine(pending);
  }
}

/** A server that exited, or said nothing, before it listened. */
class StartError extends Error {
  override name = "StartError";
  /** Why, in a line: the first thing the server said, or the time out. */
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Runs `command` through `sh` so its soft file-descriptor limit is raised
 * to the hard limit (`exec` keeps the PID), and waits for its
 * `listening on HOST:PORT` line.
 */
async function startServer(command: string[]): Promise<Running> {
  const child = new Deno.Command("sh", {
    args: ["-c", 'ulimit -Sn "$(ulimit -Hn)" && exec "$@"', "sh", ...command],
    cwd: path(ROOT),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  let resolvePort: (port: number) => void = () => {};
  const portPromise = new Promise<number>((resolve) => {
    resolvePort = resolve;
  });
  const onLine = (line: string) => {
    const match = /listening on \S*:(\d+)/.exec(line);
    if (match) resolvePort(Number(match[1]));
  };
  pumpLines(child.stdout, tail, onLine);
  pumpLines(child.stderr, tail, onLine);
  const done = child.status;
  const port = await withTimeout(
    Promise.race([portPromise, done.then(() => -1)]),
    30_000,
  ) ?? -2;
  const running = { child, pid: child.pid, port, tail, done };
  if (port < 0) {
    await stopServer(running);
    const said = tail.map((line) => line.trim()).find((line) => line !== "");
    throw new StartError(
      `${command.join(" ")} ${
        port === -1 ? "exited" : "did not say where it listens within 30 s"
      }: ${tail.slice(-5).join(" | ")}`,
      port === -1
        ? said?.slice(0, 300) ?? "it exited without a word"
        : "it did not say where it listens within 30 s",
    );
  }
  return running;
}

/** SIGTERM, then SIGKILL after 3 s: only the process we started, by PID. */
async function stopServer(server: Running): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch { /* exited already */ }
  if (await withTimeout(server.done, 3000) === undefined) {
    try {
      server.child.kill("SIGKILL");
    } catch { /* exited already */ }
    await server.done;
  }
}

interface LoadResult {
  rate: number;
  mbps: number;
  p50_us: number;
  p99_us: number;
  lost: number;
  /** CPU cores the server used while measuring. */
  cpu_server: number;
  /** CPU cores everything else (not the server, not us) used. */
  cpu_other: number;
  /** CPU cores the hypervisor took. */
  cpu_steal: number;
  /** Share of the time the load generator's busiest thread was working. */
  loadgen_busy: number;
  /** With TLS: protocol, cipher and key-exchange group negotiated. */
  tls?: string;
  error: string | null;
}

/**
 * A run during which other work on the machine used more than this many
 * cores is disturbed: it is repeated (at most {@linkcode MAX_RETRIES}
 * times per measure).
 */
const NOISE_CORES = 0.25;
const MAX_RETRIES = 4;
/** Before a measure (and a repeat), wait until others use at most this. */
const QUIET_CORES = 0.15;
/**
 * Seconds the whole run may spend waiting for other work to stop, and runs
 * it may repeat: together they keep a run on a busy machine under about 10
 * minutes.
 */
const QUIET_BUDGET = 60;
const REPEAT_BUDGET = 20;
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
  const command = pinned ? "taskset" : LOADGEN;
  const full = pinned ? ["-c", "0", LOADGEN, ...common] : common;
  const child = new Deno.Command(command, {
    args: full,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const result = await withTimeout(output, boundSeconds * 1000);
  if (result === undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await output.catch(() => {});
    return failed(`the load generator overran ${boundSeconds} s`);
  }
  const text = decoder.decode(result.stdout).trim();
  try {
    return JSON.parse(text.split("\n").at(-1) ?? "") as LoadResult;
  } catch {
    return failed(
      decoder.decode(result.stderr).trim() || `exit code ${result.code}`,
    );
  }
}

function failed(error: string): LoadResult {
  return {
    rate: 0,
    mbps: 0,
    p50_us: 0,
    p99_us: 0,
    lost: 0,
    cpu_server: 0,
    cpu_other: 0,
    cpu_steal: 0,
    loadgen_busy: 0,
    error,
  };
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

/** One measure of one server: the median of its runs. */
interface Figure {
  value: number;
  p50?: number;
  p99?: number;
  runs: number[];
  /** Median CPU cores the server used. */
  serverCpu?: number;
  /** Median share of the time the load generator was working. */
  loadgenBusy?: number;
  /** The most cores other work used in a kept run, if over the limit. */
  noise?: number;
  /** Runs repeated because other work disturbed them. */
  retries?: number;
  /** With TLS: what was negotiated. */
  tls?: string;
  error?: string;
  skipped?: string;
}

interface IdleFigure {
  live: number;
  conns: number;
  peakMiB: number;
  perConnKiB: number;
  runs: number[];
  error?: string;
  skipped?: string;
}

interface Row {
  spec: ServerSpec;
  figures: Partial<Record<RateMeasureId, Figure>>;
  idle?: IdleFigure;
  skipped?: string;
  /** The server did not start: why. */
  failed?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
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
    let resolveLine: (line: string) => void = () => {};
    const firstLine = new Promise<string>((resolve) => {
      resolveLine = resolve;
    });
    pumpLines(child.stdout, tail, (line) => resolveLine(line));
    pumpLines(child.stderr, tail, () => {});
    const line = await withTimeout(
      Promise.race([firstLine, child.status.then(() => "")]),
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
    if (await withTimeout(child.status, 20_000) === undefined) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
    }
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

/** Compiles `source` into `output` with cc; the compiler's complaint, or "". */
async function compile(
  source: string,
  output: string,
  before: readonly string[],
  after: readonly string[] = [],
): Promise<string> {
  const { success, stderr } = await new Deno.Command("cc", {
    args: [
      "-O2",
      "-Wall",
      ...before,
      "-o",
      output,
      path(new URL(source, HERE)),
      ...after,
    ],
    stderr: "piped",
  }).output();
  return success ? "" : decoder.decode(stderr).trim() || "cc failed";
}

/**
 * Builds the load generator (with OpenSSL if it builds, else without), the
 * C echo server and, with OpenSSL, the C TLS echo server. Returns cc's
 * version line and why the TLS measures cannot run (null if they can).
 */
async function build(): Promise<{ cc: string; noTls: string | null }> {
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const cc = await commandWorks("cc", ["--version"]);
  if (cc === "") {
    throw new Error(
      "Cannot build the load generator: no `cc` on the PATH (install gcc or clang)",
    );
  }
  const ssl = ["-lssl", "-lcrypto"];
  let noTls: string | null = null;
  const tlsFailure = await compile("loadgen.c", LOADGEN, [
    "-pthread",
    "-DWITH_TLS",
  ], ssl) ||
    await compile("c_tls_echo.c", C_TLS_ECHO, [], ssl);
  if (tlsFailure !== "") {
    const line = (tlsFailure.split("\n").find((l) => /error/i.test(l)) ??
      tlsFailure.split("\n")[0]!).replace(path(HERE), "");
    noTls = /openssl\/\w+\.h/.test(tlsFailure)
      ? `no OpenSSL headers (Debian: apt-get install libssl-dev): ${line}`
      : `cannot build with OpenSSL (-lssl -lcrypto): ${line}`;
  }
  const plain: [string, string, string[]][] = [["c_echo.c", C_ECHO, []]];
  if (noTls !== null) plain.unshift(["loadgen.c", LOADGEN, ["-pthread"]]);
  for (const [source, output, extra] of plain) {
    const failure = await compile(source, output, extra);
    if (failure !== "") {
      throw new Error(`Cannot build ${source} with cc: ${failure}`);
    }
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

// ---------------------------------------------------------------------------
// Formatting

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "—";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ratio(value: number, reference: number | undefined): string {
  if (reference === undefined || !(reference > 0) || !Number.isFinite(value)) {
    return "–";
  }
  const r = value / reference;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

type Column = {
  title: string;
  /** The measure the column shows. */
  measure: RateMeasureId | "idle";
  /** The figure, or undefined when the row has none. */
  get: (row: Row) => number | undefined;
  /** A second figure shown after a slash (p99 next to p50). */
  second?: (row: Row) => number | undefined;
};

function figureOf(row: Row, id: RateMeasureId): Figure | undefined {
  return row.figures[id];
}

/** A column of a measure's main figure (round trips/s, MB/s, frames/s). */
function rateColumn(title: string, measure: RateMeasureId): Column {
  return { title, measure, get: (r) => figureOf(r, measure)?.value };
}

/** A column of a measure's latencies: p50, then p99 after a slash. */
function latencyColumn(title: string, measure: TcpMeasureId): Column {
  return {
    title,
    measure,
    get: (r) => figureOf(r, measure)?.p50,
    second: (r) => figureOf(r, measure)?.p99,
  };
}

const COLUMNS: Column[] = [
  rateColumn("bulk echo MB/s (1 conn)", "bulk"),
  rateColumn("ping-pong rt/s, 1 conn", "pp1"),
  latencyColumn("1 conn p50 / p99 µs", "pp1"),
  rateColumn("ping-pong rt/s, 1 conn, pinned to 1 CPU", "pp1pin"),
  rateColumn("ping-pong rt/s, 100 conns", "pp100"),
  latencyColumn("100 conns p50 / p99 µs", "pp100"),
  rateColumn("framed frames/s, 1 conn", "fr1"),
  rateColumn("framed frames/s, 100 conns", "fr100"),
  rateColumn("UDP rt/s (16 in flight)", "udp"),
  { title: "idle conns: live", measure: "idle", get: (r) => r.idle?.live },
  {
    title: "idle: peak RSS MiB",
    measure: "idle",
    get: (r) => r.idle?.error ? undefined : r.idle?.peakMiB,
  },
  {
    title: "idle: KiB/conn",
    measure: "idle",
    get: (r) => r.idle?.error ? undefined : r.idle?.perConnKiB,
  },
];

function cell(
  row: Row,
  column: Column,
  deno: Row | undefined,
  c: Row | undefined,
  marks: Map<string, string>,
): string {
  const figure = column.measure === "idle"
    ? row.idle
    : row.figures[column.measure];
  if (figure === undefined) return "";
  if (figure.skipped !== undefined) return `skipped: ${figure.skipped}`;
  const mark = marks.get(`${row.spec.id}|${column.title}`) ?? "";
  if (column.measure === "idle" && column.title.endsWith("live")) {
    return `${row.idle!.live.toLocaleString("en-US")}/${
      row.idle!.conns.toLocaleString("en-US")
    }${figure.error !== undefined ? " failed" : ""}${mark}`;
  }
  const value = column.get(row);
  if (figure.error !== undefined || value === undefined) return `failed${mark}`;
  const second = column.second?.(row);
  const shown = second === undefined
    ? formatNumber(value)
    : `${formatNumber(value)} / ${formatNumber(second)}`;
  const ratios = (reference: Row | undefined, name: string): string => {
    if (reference === undefined || reference === row) return "";
    const base = column.get(reference);
    if (base === undefined) return "";
    const baseSecond = column.second?.(reference);
    return second === undefined || baseSecond === undefined
      ? `${name} ${ratio(value, base)}`
      : `${name} ${ratio(value, base)} / ${ratio(second, baseSecond)}`;
  };
  const under = [ratios(deno, "D"), ratios(c, "C")].filter((s) => s !== "")
    .join(" · ");
  const noisy = "noise" in figure && figure.noise !== undefined ? " †" : "";
  return `${shown}${noisy}${mark}${under ? `<br>${under}` : ""}`;
}

// ---------------------------------------------------------------------------
// Targets

interface Target {
  text: string;
  met: boolean | undefined;
  detail: string;
  /** Cells to mark: `id|column title`. */
  cells: string[];
}

function targets(rows: Row[]): Target[] {
  const byId = new Map(rows.map((r) => [r.spec.id, r]));
  const value = (id: string, m: TcpMeasureId | "udp") =>
    byId.get(id)?.figures[m]?.value;
  const list: Target[] = [];
  const check = (
    text: string,
    pairs: [number | undefined, number | undefined, number][],
    detail: string,
    cells: string[],
  ) => {
    const known = pairs.every(([a, b]) =>
      a !== undefined && b !== undefined && Number.isFinite(a) &&
      Number.isFinite(b)
    );
    list.push({
      text,
      met: known ? pairs.every(([a, b, k]) => a! >= k * b!) : undefined,
      detail,
      cells,
    });
  };
  const r = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : "?";
  for (const id of ["sockit-echo", "sockit-listen"]) {
    if (!byId.has(id)) continue;
    const label = byId.get(id)!.spec.label;
    const bulk = value(id, "bulk");
    check(
      `${label}: bulk echo ≥ 0.9× C and ≥ 1.5× Python asyncio`,
      [[bulk, value("c", "bulk"), 0.9], [bulk, value("python", "bulk"), 1.5]],
      `${r(bulk, value("c", "bulk"))}× C, ${
        r(bulk, value("python", "bulk"))
      }× Python`,
      [`${id}|${COLUMNS[0]!.title}`],
    );
    const pp = value(id, "pp100");
    check(
      `${label}: ping-pong, 100 conns ≥ Node and ≥ 0.75× C (never the pipeTo collapse)`,
      [[pp, value("node", "pp100"), 1], [pp, value("c", "pp100"), 0.75]],
      `${r(pp, value("node", "pp100"))}× Node, ${
        r(pp, value("c", "pp100"))
      }× C, ${r(pp, value("deno-pipe", "pp100"))}× pipeTo`,
      [`${id}|${COLUMNS[4]!.title}`],
    );
  }
  for (const id of ["sockit-echo", "sockit-listen", "sockit-framed"]) {
    const row = byId.get(id);
    if (row?.idle === undefined) continue;
    const node = byId.get("node")?.idle;
    const deno = byId.get("deno-loop")?.idle;
    const peak = row.idle.error ? undefined : row.idle.peakMiB;
    const allLive = row.idle.live === row.idle.conns;
    const known = peak !== undefined && node !== undefined &&
      deno !== undefined;
    list.push({
      text: `${row.spec.label}: ${
        row.idle.conns.toLocaleString("en-US")
      } idle connections all served, peak RSS ≤ Node's and ≤ ¼ of raw Deno's`,
      met: known
        ? allLive && peak <= node.peakMiB && peak * 4 <= deno.peakMiB
        : allLive
        ? undefined
        : false,
      detail: `${row.idle.live} live; ${peak?.toFixed(0) ?? "?"} MiB = ${
        r(peak, node?.peakMiB)
      }× Node, ${r(peak, deno?.peakMiB)}× raw Deno`,
      cells: [`${id}|${COLUMNS[10]!.title}`],
    });
  }
  const withIdle = value("sockit-listen", "pp100");
  const without = value("sockit-listen-no-idle", "pp100");
  check(
    "Idle timeouts cost ≤ 5% of ping-pong throughput (sockit `tcp.listen()`, 100 conns, with vs without)",
    [[withIdle, without, 0.95]],
    `with: ${formatNumber(withIdle ?? NaN)} rt/s, without: ${
      formatNumber(without ?? NaN)
    } rt/s (${r(withIdle, without)}×)`,
    [`sockit-listen|${COLUMNS[4]!.title}`],
  );
  const framed = value("sockit-framed", "fr1");
  const plain = value("sockit-listen", "fr1");
  check(
    "Framed echo of 64-byte frames on 1 conn ≥ 40% of the unframed echo's bytes/s (sockit `tcp.listen()` echo under the same load)",
    [[framed, plain, 0.4]],
    `${formatNumber(framed ?? NaN)} vs ${
      formatNumber(plain ?? NaN)
    } frames/s = ${r(framed, plain)}× (${
      formatNumber((framed ?? NaN) * (PAYLOAD + 4) / 1e6)
    } MB/s of frames; ${
      r((framed ?? NaN) * (PAYLOAD + 4) / 1e6, value("sockit-listen", "bulk"))
    }× its bulk echo)`,
    [`sockit-framed|${COLUMNS[6]!.title}`],
  );
  const udp = value("sockit-listen", "udp");
  check(
    "UDP echo ≥ 0.95× raw `Deno.listenDatagram` and ≥ Node `dgram`",
    [[udp, value("deno-loop", "udp"), 0.95], [udp, value("node", "udp"), 1]],
    `${r(udp, value("deno-loop", "udp"))}× raw Deno, ${
      r(udp, value("node", "udp"))
    }× Node`,
    [`sockit-listen|${COLUMNS[8]!.title}`],
  );
  return list;
}

/** Is C the fastest server in every throughput column? */
function loadgenCheck(rows: Row[]): string {
  const c = rows.find((r) => r.spec.id === "c");
  if (c === undefined) return "";
  const lines: string[] = [];
  for (const index of [0, 1, 3, 4, 6, 7, 8]) {
    const column = COLUMNS[index]!;
    const cValue = column.get(c);
    if (cValue === undefined || !Number.isFinite(cValue)) continue;
    const faster = rows.filter((r) => r !== c && (column.get(r) ?? 0) > cValue);
    if (faster.length > 0) {
      lines.push(
        `${column.title}: ${
          faster.map((r) =>
            `${r.spec.label} ${formatNumber(column.get(r)!)} vs C ${
              formatNumber(cValue)
            }`
          ).join("; ")
        }`,
      );
    }
  }
  return lines.length === 0
    ? "The load generator drives the C server faster than any other server in every throughput column: it is not the bottleneck."
    : `The C server is the fastest in every throughput column except: ${
      lines.join("; ")
    }. There the load generator drove another server faster still, so it could have driven C faster too: on one connection a C server that answers at once makes the client read the echo in smaller pieces (more system calls per byte) than a slower server that lets bytes pile up, so the client's own limit, not the server's, sets C's figure there. The table below shows how busy the load generator was.`;
}

// ---------------------------------------------------------------------------
// Report

interface Facts {
  machine: string;
  versions: string[];
  /** What speaks TLS in each runtime. */
  tlsVersions: string[];
  seconds: number;
}

/** The whole Markdown: the plain section, then the TLS one (if run). */
function report(
  rows: Row[],
  tlsRows: Row[],
  options: Options,
  facts: Facts,
): string {
  const out: string[] = [];
  out.push("# Network benchmarks: sockit side by side");
  out.push("");
  out.push(
    "Written by `deno task bench:net` (`bench/net/run.ts`) from one run; do not edit by hand above the notes marker.",
  );
  if (rows.length > 0) out.push("", ...plainReport(rows, options, facts));
  if (tlsRows.length > 0) out.push("", ...tlsReport(tlsRows, options, facts));
  return out.join("\n");
}

/** Marks for the cells of the targets: ✓ met, ✗ missed. */
function targetMarks(goals: Target[]): Map<string, string> {
  const marks = new Map<string, string>();
  for (const goal of goals) {
    for (const key of goal.cells) {
      if (goal.met === false) marks.set(key, " ✗");
      else if (goal.met === true && !marks.has(key)) marks.set(key, " ✓");
    }
  }
  return marks;
}

function goalLine(goal: Target): string {
  const verdict = goal.met === undefined
    ? "not measured"
    : goal.met
    ? "met ✓"
    : "**missed ✗**";
  return `- ${goal.text}: ${verdict} — ${goal.detail}.`;
}

function plainReport(rows: Row[], options: Options, facts: Facts): string[] {
  const deno = rows.find((r) => r.spec.id === "deno-loop");
  const c = rows.find((r) => r.spec.id === "c");
  const goals = targets(rows);
  const marks = targetMarks(goals);
  const out: string[] = [];
  out.push(
    `${facts.machine}. ${
      facts.versions.join(", ")
    }. Loopback only. Each figure is the median of ${options.runs} run${
      options.runs === 1 ? "" : "s"
    } of ${options.duration} s (bulk ${options.bulkDuration} s) after ${options.warmup} s of warm-up, taken in rounds (one run of every server per round, each round in a rotated order); the whole run took ${
      Math.round(facts.seconds)
    } s${
      repeated > 0 || quietWaited > 0
        ? ` (this machine is shared: ${repeated} run${
          repeated === 1 ? " was" : "s were"
        } repeated because other work disturbed ${
          repeated === 1 ? "it" : "them"
        }, and ${Math.round(quietWaited)} s went to waiting for quiet)`
        : ""
    }. Under each figure: its ratio to raw Deno (D, the \`read\`/\`write\` loop) and to C in the same run; for latency and memory, lower is better. ✓/✗: a target of issue 7 met/missed (below).`,
  );
  out.push("");
  const header = ["server", ...COLUMNS.map((col) => col.title)];
  out.push(`| ${header.join(" | ")} |`);
  out.push(`| --- | ${COLUMNS.map(() => "---:").join(" | ")} |`);
  for (const row of rows) {
    if (row.skipped !== undefined) {
      out.push(
        `| ${row.spec.label} | skipped: ${row.skipped} |${
          COLUMNS.slice(1).map(() => " |").join("")
        }`,
      );
      continue;
    }
    const cells = COLUMNS.map((col) => cell(row, col, deno, c, marks));
    out.push(`| ${row.spec.label} | ${cells.join(" | ")} |`);
  }
  out.push("");
  out.push("Servers (in `bench/net/`):");
  out.push("");
  for (const row of rows) {
    const udp = row.spec.udp ? ` UDP column: ${row.spec.udp.label}.` : "";
    out.push(`- ${row.spec.label}: ${row.spec.note ?? ""}.${udp}`);
  }
  out.push("");
  out.push("Measures (one load generator, `loadgen.c`, for every server):");
  out.push("");
  out.push(
    `- bulk echo: one connection streams a byte pattern (writes of up to 256 KiB, at most 1 MiB in flight) and checks every byte that comes back; MB/s of echoed bytes.`,
  );
  out.push(
    `- ping-pong: ${PAYLOAD}-byte messages, one in flight per connection, each echo checked; round trips/s and the latency of each round trip (p50/p99). "Pinned": server and load generator both on CPU 0 (\`taskset\`), which removes the cross-core wake-up from each round trip.`,
  );
  out.push(
    `- framed: ${PAYLOAD}-byte payloads with a u32 big-endian length prefix, pipelined (up to 512 frames in flight per connection, 64 per write), every frame's header, sequence number and payload checked; frames/s. Plain echo servers echo the bytes, the framed server decodes and re-encodes them. The load generator uses two threads for 100 connections, one otherwise.`,
  );
  out.push(
    `- UDP: 16 sockets, one ${PAYLOAD}-byte datagram in flight each, checked; unanswered after 200 ms counts as lost and is resent.`,
  );
  out.push(
    `- idle: ${
      options.idleConns.toLocaleString("en-US")
    } connections opened (64 handshakes at a time), each proven live by a 1-byte echo, then held idle; every server runs with its idle timeout on (60 s, longer than the test). Peak RSS is the server's VmHWM from \`/proc/PID/status\` with all connections open; KiB/conn is (VmRSS then − VmRSS before the first connection) / live connections. A fresh server for each run.`,
  );
  const errors = rows.flatMap((row) => [
    ...Object.entries(row.figures).filter(([, f]) => f?.error).map((
      [m, f],
    ) => `${row.spec.label}, ${m}: ${f!.error}`),
    ...(row.idle?.error ? [`${row.spec.label}, idle: ${row.idle.error}`] : []),
  ]);
  if (errors.length > 0) {
    out.push("");
    out.push("Failed runs:");
    out.push("");
    for (const e of errors) out.push(`- ${e}`);
  }
  if (rows.some((r) => Object.values(r.figures).some((f) => f?.noise))) {
    out.push("");
    out.push(
      `† Other work on this (shared) machine used more than ${NOISE_CORES} cores during a run kept for this figure (runs are repeated at most ${MAX_RETRIES} times each and ${REPEAT_BUDGET} times in all): take it with salt.`,
    );
  }
  out.push("");
  out.push("## The load generator is not the bottleneck");
  out.push("");
  out.push(loadgenCheck(rows));
  out.push("");
  out.push(
    "Each cell: CPU cores the server used while measured / the share of that time the load generator was busy (medians of the runs). A server near 1.00 core was the bottleneck itself — all of these servers echo on one thread; a load generator well below 1.00 was waiting for the server, not the other way round (ping-pong and UDP busy-poll, so there it counts only the polls that found work):",
  );
  out.push("");
  const cpuColumns: (TcpMeasureId | "udp")[] = [
    "bulk",
    "pp1",
    "pp1pin",
    "pp100",
    "fr1",
    "fr100",
    "udp",
  ];
  out.push(`| server | ${cpuColumns.join(" | ")} |`);
  out.push(`| --- | ${cpuColumns.map(() => "---:").join(" | ")} |`);
  for (const row of rows) {
    if (row.skipped !== undefined) continue;
    const cells = cpuColumns.map((m) => {
      const figure = row.figures[m];
      if (figure?.serverCpu === undefined) return "";
      return `${figure.serverCpu.toFixed(2)} / ${
        figure.loadgenBusy?.toFixed(2) ?? "?"
      }`;
    });
    out.push(`| ${row.spec.label} | ${cells.join(" | ")} |`);
  }
  out.push("");
  out.push("## Targets (issue 7)");
  out.push("");
  for (const goal of goals) out.push(goalLine(goal));
  return out;
}

// ---------------------------------------------------------------------------
// TLS report

const TLS_COLUMNS: Column[] = [
  rateColumn("TLS bulk echo MB/s (1 conn)", "tls-bulk"),
  rateColumn("TLS ping-pong rt/s, 100 conns", "tls-pp100"),
  rateColumn(
    `TLS new connections/s (full handshake + 1 round trip, ${HS_CONNS} at a time)`,
    "tls-hs",
  ),
];

/** Short names of the TLS measures, for the targets' details. */
const TLS_SHORT: Record<TlsMeasureId, string> = {
  "tls-bulk": "bulk",
  "tls-pp100": "ping-pong 100 conns",
  "tls-hs": "handshakes",
};

function tlsTargets(rows: Row[]): Target[] {
  const byId = new Map(rows.map((r) => [r.spec.id, r]));
  const sockit = byId.get("sockit-echo-tls");
  if (sockit === undefined) return [];
  const value = (id: string, m: TlsMeasureId) =>
    byId.get(id)?.figures[m]?.value;
  const r = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : "?";
  const why = sockit.failed !== undefined
    ? ` (it failed to start: ${sockit.failed})`
    : sockit.skipped !== undefined
    ? ` (skipped: ${sockit.skipped})`
    : "";
  const target = (
    text: string,
    pairs: [number | undefined, number | undefined, number][],
    detail: string,
    cells: string[],
  ): Target => {
    const known = pairs.length > 0 &&
      pairs.every(([a, b]) =>
        a !== undefined && b !== undefined && Number.isFinite(a) &&
        Number.isFinite(b)
      );
    return {
      text,
      met: known ? pairs.every(([a, b, k]) => a! >= k * b!) : undefined,
      detail,
      cells,
    };
  };
  const measured = TLS_MEASURES.filter((m) =>
    sockit.figures[m] !== undefined || byId.get("deno-tls")?.figures[m]
  );
  const pp = value(sockit.spec.id, "tls-pp100");
  return [
    target(
      `${sockit.spec.label}: ≥ 0.95× raw Deno TLS on every measure (bulk, ping-pong with 100 conns, new connections)`,
      measured.map((
        m,
      ) => [value(sockit.spec.id, m), value("deno-tls", m), 0.95]),
      `${
        measured.map((m) =>
          `${TLS_SHORT[m]} ${
            r(value(sockit.spec.id, m), value("deno-tls", m))
          }×`
        ).join(", ") || "no TLS measure run"
      }${why}`,
      TLS_COLUMNS.map((col) => `${sockit.spec.id}|${col.title}`),
    ),
    target(
      `${sockit.spec.label}: ping-pong, 100 conns ≥ Node \`node:tls\``,
      [[pp, value("node-tls", "tls-pp100"), 1]],
      `${r(pp, value("node-tls", "tls-pp100"))}× Node${why}`,
      [`${sockit.spec.id}|${TLS_COLUMNS[1]!.title}`],
    ),
  ];
}

/** Is the C OpenSSL server the fastest in every TLS column? */
function tlsLoadgenCheck(rows: Row[]): string {
  const c = rows.find((r) => r.spec.id === "c-tls");
  if (c === undefined) {
    return "The C OpenSSL server was not run, so this run cannot show that the load generator outpaces the servers.";
  }
  const lines: string[] = [];
  let compared = 0;
  for (const column of TLS_COLUMNS) {
    const cValue = column.get(c);
    if (cValue === undefined || !Number.isFinite(cValue)) continue;
    compared++;
    const faster = rows.filter((r) => r !== c && (column.get(r) ?? 0) > cValue);
    if (faster.length > 0) {
      lines.push(
        `${column.title}: ${
          faster.map((r) =>
            `${r.spec.label} ${formatNumber(column.get(r)!)} vs C ${
              formatNumber(cValue)
            }`
          ).join("; ")
        }`,
      );
    }
  }
  if (compared === 0) {
    return "The C OpenSSL server has no figure in this run, so this run cannot show that the load generator outpaces the servers.";
  }
  return lines.length === 0
    ? "The load generator drives the C OpenSSL server faster than any other server in every TLS column: the others' figures are theirs, not the load generator's."
    : `The C OpenSSL server is the fastest in every TLS column except: ${
      lines.join("; ")
    }. There the load generator drove another server faster than C, so it did not limit C either: C's own cost per byte or per handshake set its figure. The table below shows how busy each side was.`;
}

function tlsReport(rows: Row[], options: Options, facts: Facts): string[] {
  const deno = rows.find((r) => r.spec.id === "deno-tls");
  const c = rows.find((r) => r.spec.id === "c-tls");
  const goals = tlsTargets(rows);
  const marks = targetMarks(goals);
  const out: string[] = [];
  out.push("## TLS");
  out.push("");
  out.push(
    `${facts.machine}. ${
      [...facts.versions, ...facts.tlsVersions].join(", ")
    }. Loopback only, TLS 1.3 as each server and the load generator negotiate it by default (below). Each figure is the median of ${options.runs} run${
      options.runs === 1 ? "" : "s"
    } of ${options.duration} s (bulk ${options.bulkDuration} s) after ${options.warmup} s of warm-up, taken in rounds like the plain measures. Under each figure: its ratio to raw Deno TLS (D, the \`listenTls\` \`read\`/\`write\` loop) and to C OpenSSL (C) in the same run. ✓/✗: a target of "TLS everywhere" met/missed (below).`,
  );
  out.push("");
  out.push(`| server | ${TLS_COLUMNS.map((col) => col.title).join(" | ")} |`);
  out.push(`| --- | ${TLS_COLUMNS.map(() => "---:").join(" | ")} |`);
  for (const row of rows) {
    const whole = row.skipped !== undefined
      ? `skipped: ${row.skipped}`
      : row.failed !== undefined
      ? `failed to start: ${row.failed.replaceAll("|", "\\|")}`
      : undefined;
    if (whole !== undefined) {
      out.push(
        `| ${row.spec.label} | ${whole} |${
          TLS_COLUMNS.slice(1).map(() => " |").join("")
        }`,
      );
      continue;
    }
    const cells = TLS_COLUMNS.map((col) => cell(row, col, deno, c, marks));
    out.push(`| ${row.spec.label} | ${cells.join(" | ")} |`);
  }
  out.push("");
  out.push("TLS servers (in `bench/net/`), each with the run's certificate:");
  out.push("");
  for (const row of rows) out.push(`- ${row.spec.label}: ${row.spec.note}.`);
  out.push("");
  out.push(
    "TLS measures (the same load generator, `loadgen.c`, as an OpenSSL client):",
  );
  out.push("");
  out.push(
    "- Certificates: a throwaway CA and a server certificate for `127.0.0.1` and `localhost` signed by it, EC P-256, made with the `openssl` command in `bench/net/.build/tls/` at each run. The load generator verifies each server's certificate against that CA and its IP address, as a verifying client does (there is no insecure mode), and never resumes a session: every handshake is a full one, for every server alike.",
  );
  out.push(
    "- TLS bulk echo: as bulk echo above (one connection, at most 1 MiB in flight, every byte checked), over TLS; the handshake happens before the measuring.",
  );
  out.push(
    `- TLS ping-pong: 100 connections, one ${PAYLOAD}-byte message in flight each, each echo checked; the handshakes happen before the measuring.`,
  );
  out.push(
    `- TLS new connections: ${HS_CONNS} connections at a time (${HS_THREADS} load generator threads), each: TCP connect, a full TLS handshake (certificate verified), one ${PAYLOAD}-byte message and its echo (checked), \`close_notify\` and close; then the next. Completed ones per second, at most ${
      HS_MAX.toLocaleString("en-US")
    } per run. On a small machine the load generator's share of this one is large: a TLS client does more public-key work per handshake (two signature checks) than the server (one signature).`,
  );
  const errors = rows.flatMap((row) =>
    Object.entries(row.figures).filter(([, f]) => f?.error).map((
      [m, f],
    ) => `${row.spec.label}, ${m}: ${f!.error}`)
  );
  if (errors.length > 0) {
    out.push("");
    out.push("Failed runs:");
    out.push("");
    for (const e of errors) out.push(`- ${e}`);
  }
  if (rows.some((r) => Object.values(r.figures).some((f) => f?.noise))) {
    out.push("");
    out.push(
      `† Other work on this (shared) machine used more than ${NOISE_CORES} cores during a run kept for this figure: take it with salt.`,
    );
  }
  out.push("");
  out.push("### The load generator is not the bottleneck (TLS)");
  out.push("");
  out.push(tlsLoadgenCheck(rows));
  out.push("");
  out.push(
    "Each cell: CPU cores the server used while measured / the share of that time the load generator's busiest thread was busy (medians); then the new connections' time from connect to echo, and what each server negotiated with the load generator:",
  );
  out.push("");
  out.push(
    "| server | tls-bulk | tls-pp100 | tls-hs | new connection p50 / p99 ms | negotiated |",
  );
  out.push("| --- | ---: | ---: | ---: | ---: | --- |");
  for (const row of rows) {
    if (row.skipped !== undefined || row.failed !== undefined) continue;
    const cells = TLS_MEASURES.map((m) => {
      const figure = row.figures[m];
      if (figure?.serverCpu === undefined) return "";
      return `${figure.serverCpu.toFixed(2)} / ${
        figure.loadgenBusy?.toFixed(2) ?? "?"
      }`;
    });
    const hs = row.figures["tls-hs"];
    const latency = hs?.p50 !== undefined && hs.p99 !== undefined
      ? `${formatNumber(hs.p50 / 1000)} / ${formatNumber(hs.p99 / 1000)}`
      : "";
    const tls = TLS_MEASURES.map((m) => row.figures[m]?.tls).find((t) => t) ??
      "";
    out.push(
      `| ${row.spec.label} | ${cells.join(" | ")} | ${latency} | ${tls} |`,
    );
  }
  out.push("");
  out.push('### Targets ("TLS everywhere")');
  out.push("");
  if (goals.length === 0) {
    out.push(
      "- The sockit row (`sockit-echo-tls`) was not in this run: no target to check.",
    );
  }
  for (const goal of goals) out.push(goalLine(goal));
  return out;
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

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const started = performance.now();
  if (Deno.build.os !== "linux") {
    throw new Error("bench:net needs Linux (epoll, /proc, taskset)");
  }
  const { cc, noTls } = await build();
  const wanted = (m: MeasureId) =>
    options.measures === null || options.measures.has(m);
  const plainWanted = MEASURE_IDS.some((m) =>
    !TLS_MEASURES.includes(m as TlsMeasureId) && wanted(m)
  );
  const plainServers = SERVERS.filter((spec) =>
    plainWanted && (options.only === null || options.only.has(spec.id))
  );
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
    const row: Row = { spec, figures: {} };
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
  const tlsRows: Row[] = tlsServers.map((spec) => ({ spec, figures: {} }));
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

  const seconds = (performance.now() - started) / 1000;
  let markdown = report(rows, tlsRows, options, {
    machine,
    versions,
    tlsVersions,
    seconds,
  });
  if (options.out !== null) {
    const notes = await keptNotes(options.out);
    markdown += `\n\n${NOTES_MARKER}\n${notes ? `\n${notes}\n` : ""}`;
    await Deno.writeTextFile(options.out, markdown);
    await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", options.out],
      stdout: "null",
      stderr: "null",
    }).output();
    progress(`wrote ${options.out} in ${Math.round(seconds)} s`);
  }
  console.log(markdown);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(
      `bench:net: ${error instanceof Error ? error.message : String(error)}`,
    );
    Deno.exit(1);
  }
}
