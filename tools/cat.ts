#!/usr/bin/env -S deno run --allow-net --allow-read --allow-write --unstable-net
/**
 * `cat`: netcat, with message framing. It copies stdin to a socket and the
 * socket to stdout, both at once and each as fast as the other end takes
 * it. When stdin ends it sends FIN (a half-close) and keeps printing what
 * the peer sends until the peer closes, so `printf data | cat HOST PORT`
 * gets the whole reply; when the peer closes first, it sends the rest of
 * stdin before it ends (unless stdin is a terminal, or with `--keep-open`:
 * then it ends with the peer). TCP, UDP and Unix sockets; connect or listen;
 * TLS, verified by default (unlike ncat); and a framed mode that sends each
 * line as one frame (length-prefixed, NUL-terminated, netstrings…) and
 * prints each frame received as one line.
 *
 * ```
 * cat [OPTIONS] HOST PORT
 * cat [OPTIONS] --unix PATH
 * cat -l [OPTIONS] [HOST] PORT     (also --listen --port PORT [--host HOST])
 * cat -l [OPTIONS] --unix PATH
 * cat -z [OPTIONS] HOST PORT|LOW-HIGH
 * ```
 *
 * netcat's spellings work as typed: short flags combine (`-lkv`, `-lp
 * 9000`), and nc/ncat's `-l PORT`, `-l HOST PORT`, `-l -p PORT`, `-z`,
 * `-w`, `-C`, `-4`/`-6`, `-n`, `-s`/`-p` (UDP), `-m`, `-U`, `-N`,
 * `--allow`/`--deny`, `--broker`, `--chat` mean what they mean there;
 * `--help` says where cat differs on purpose (TLS verified by default, no
 * program ever run for a client, `-w` as OpenBSD nc's).
 *
 * Flags:
 *
 * - `HOST PORT` — where to connect (`::1` or `[::1]` for IPv6)
 * - `-l`, `--listen` — wait for a client instead of connecting; serve it,
 *   then exit; the port as `-l PORT`, `-l HOST PORT`, `-l -p PORT` or
 *   `--port PORT` (`0` for any free one, printed as `listening on
 *   HOST:PORT`)
 * - `--host HOST` — with `--listen`: address to listen on (default
 *   `127.0.0.1`, `::1` with `-6`)
 * - `--unix PATH`, `-U PATH` — a Unix socket instead of TCP
 * - `-k`, `--keep-open` — with `--listen`: serve one client after another
 *   until SIGINT/SIGTERM; stdin goes to every client (with `--udp`, nothing
 *   changes: a UDP listener hears every peer already, so ncat's `-luk`
 *   works)
 * - `-m`, `--max-conns N` — with `--keep-open`, `--broker` or `--chat`:
 *   serve up to `N` clients at once (default 100, as ncat); others are
 *   closed at once (`-v` logs each)
 * - `--workers N|auto` — with `--listen --keep-open`: serve from `N`
 *   workers (threads of this process) sharing the port, each printing what
 *   its clients send; stdin is read once and goes to every client of every
 *   worker (`docs/scaling.md`)
 * - `--grace SECONDS` — with `--listen`: on SIGINT/SIGTERM, let transfers
 *   under way finish for this long, then cut them off (default 1; 0: no
 *   wait)
 * - `--broker` — with `--listen`: each client's bytes go to every other
 *   client, stdin to all; nothing is printed
 * - `--chat` — `--broker` by lines, each prefixed `<userN> ` (stdin is
 *   `user0`), control characters (C0, DEL, C1) as `\xHH` (a tab as `\t`,
 *   `\` as `\\`), arrivals and departures announced
 * - `--allow ADDR[/BITS][,…]`, `--deny …`, `--allowfile FILE`,
 *   `--denyfile FILE` — with `--listen` over TCP: who may connect, checked
 *   before a byte is read; a refused client is closed at once (`-v` logs
 *   it)
 * - `-z`, `--probe` — connect, send nothing: exit 0 if open, 1 if not;
 *   with `HOST LOW-HIGH`, print each open port
 * - `-u`, `--udp` — UDP: each line of stdin is one datagram, each datagram
 *   received is printed as one line; with `--listen`, lines go to whoever
 *   sent the last datagram
 * - `--broadcast` — with `--udp`: print replies from any host (to send to
 *   a broadcast address such as `127.255.255.255`); with `--listen`, listen
 *   on `127.255.255.255` (with `SO_REUSEADDR`) unless `--host` says otherwise
 * - `-4`, `--ipv4` / `-6`, `--ipv6` — one address family only
 * - `-n`, `--nodns` — hosts must be IP addresses
 * - `-s`, `--source ADDR`; `-p`, `--source-port PORT` — with `--udp`: the
 *   local address and port to send from
 * - `-C`, `--crlf` — send stdin's `\n` line ends as `\r\n`
 * - `--no-half-close` — when stdin ends, close at once instead of sending
 *   FIN and waiting for the peer
 * - `--send-only` — never print what is received
 * - `--recv-only` — never read stdin, never send
 * - `-w`, `--wait SECONDS` — the connect and the idle timeout at once
 *   (OpenBSD nc's `-w`)
 * - `--connect-timeout SECONDS` — give up connecting after this long
 * - `--idle-timeout SECONDS` — stop when nothing has moved either way this
 *   long (a clean end); with `--broker`/`--chat`, how long a client may
 *   take nothing while data waits for it (default 10 s)
 * - `--frame lines|nul|u16|u32|varint|netstring` — each line of stdin is
 *   sent as one frame, each frame received is printed as one line
 * - `--frame-out text|hex` — how frames (and UDP datagrams) are printed
 *   (default `text`)
 * - `--max-frame BYTES` — with `--frame`: the largest frame received or
 *   sent (default 65536 with `--listen`, 8 MiB when connecting)
 * - `-v`, `--verbose` — log who connected, bytes each way and why it
 *   ended; over TLS the protocol version, the ALPN protocol and the peer's
 *   certificate where known; `-vv` also each chunk's size
 * - `--hex` — a hex dump of the traffic (`>` sent, `<` received)
 * - `--progress` — a live line on stderr with the bytes each way, the
 *   rate and the time elapsed (on a terminal; elsewhere one summary line
 *   at the end), like `pv`
 * - `--send-proxy v1|v2` — connecting over TCP: send a PROXY protocol
 *   header first, naming this connection's own addresses, as a load
 *   balancer does
 * - `--proxy-protocol` with `--proxy-from ADDR[/BITS][,…]` (and
 *   `--proxy-optional`, `--proxy-version`, `--proxy-timeout`) — with
 *   `--listen` over TCP: read the PROXY header each client starts with,
 *   from those proxies only, and log the real client
 *   (`docs/load_balancer.md`)
 * - `-h`, `--help`; `--version`
 *
 * TLS (TCP only; the server's certificate is always verified unless
 * `--tls-insecure` says otherwise, unlike ncat, whose client does not
 * verify by default):
 *
 * - `--tls` — connect with TLS, verifying the server against the system's
 *   roots for `HOST`
 * - `--tls-ca FILE` — also trust this CA (PEM); implies `--tls`
 * - `--tls-servername NAME` — the name verified and sent as SNI (default
 *   `HOST`)
 * - `--tls-cert FILE`, `--tls-key FILE` — a client certificate and its key
 *   (PEM); with `--listen`: the server's certificate, which turns TLS on
 *   for the listener
 * - `--tls-client-ca FILE` — with `--listen`: require client certificates
 *   signed by this CA (mutual TLS)
 * - `--tls-alpn PROTO[,PROTO…]` — ALPN protocols to offer (with
 *   `--listen`: to accept), most wanted first
 * - `--tls-insecure` — verify nothing about the server's certificate; a
 *   warning goes to stderr on every use
 *
 * When connecting, every `--tls-*` flag implies `--tls`.
 *
 * Data goes to stdout; logs, errors and hex dumps go to stderr. Exit codes:
 * 0 on a clean end (the peer closed, stdin ended with `--no-half-close`,
 * the idle timeout, a signal in listen mode, `-z` finding an open port,
 * stdout closed by its reader as in `cat HOST PORT | head -c 10`: cat then
 * ends quietly, as netcat does), 1 on a network error (refused, reset,
 * connect timeout), a bad frame or `-z` finding none, with a one-line
 * reason, 2 on bad usage.
 *
 * Run it:
 *
 * ```sh
 * printf 'GET / HTTP/1.0\r\n\r\n' | deno run --allow-net --allow-read --allow-write --unstable-net tools/cat.ts example.com 80
 * deno run --allow-net --allow-read --allow-write --unstable-net tools/cat.ts -l 9000 --frame u16
 * deno run --allow-net --allow-read --allow-write --unstable-net tools/cat.ts -lkv 9000 --chat
 * deno run --allow-net --allow-read --allow-write --unstable-net tools/cat.ts --tls-ca ca.crt 10.0.0.5 8443
 * ```
 *
 * Compile it (`deno task compile cat` does this):
 *
 * ```sh
 * deno compile --allow-net --allow-read --allow-write --unstable-net --output dist/sockit-cat tools/cat.ts
 * ```
 *
 * @module
 */
import {
  FrameTooLargeError,
  HexDumper,
  MalformedFrameError,
  TruncatedFrameError,
} from "../framing/mod.ts";
import {
  type Address,
  formatAddress,
  shutdownOnSignals,
  type TcpAddress,
} from "../net/mod.ts";
import {
  connect,
  type ConnectOptions,
  listen,
  type ListenOptions,
  type Server,
  type TlsClientOptions,
  type TlsServerOptions,
} from "../tcp/mod.ts";
import type { Connection } from "../tcp/mod.ts";
import {
  relay,
  relayDatagrams,
  type RelayEndReason,
  relayFrames,
  type RelayOptions,
  type RelayStreams,
  SharedInput,
} from "../relay/mod.ts";
import { bind, bindClient, type DatagramSocket } from "../udp/mod.ts";
import {
  type CatConfig,
  FRAME_NAMES,
  LISTEN_MAX_FRAME,
  parseCatArgs,
} from "./_cat_args.ts";
import type { SourceAddress } from "./_cat_address.ts";
import { refusal } from "./_access.ts";
import { Broker } from "./_broker.ts";
import { crlfStream } from "./_crlf.ts";
import { runWorkers } from "./_server.ts";
import { WorkerInput, WorkerInputFeeder } from "./_worker_input.ts";
import { Progress } from "./_progress.ts";
import {
  PROXY_FLAGS_USAGE,
  proxyListeningNote,
  SEND_PROXY_USAGE,
} from "./_proxy_flags.ts";
import { resolveFamily } from "./_resolve.ts";
import {
  EXIT_FAILURE,
  EXIT_OK,
  oneLine,
  reportError,
  versionLine,
  writeAll,
} from "./_cli.ts";
import {
  clientTlsOptions,
  describeTls,
  insecureWarning,
  listeningNote,
  serverTlsOptions,
} from "./_tls_flags.ts";

const TOOL = "cat";
/**
 * How long a `--broker`/`--chat` client may take nothing while others
 * wait on it, when `--idle-timeout` does not say.
 */
const BROKER_STALL = 10_000;
const encoder = new TextEncoder();

const USAGE = `Usage: cat [OPTIONS] HOST PORT
       cat [OPTIONS] --unix PATH
       cat -l [OPTIONS] [HOST] PORT   (--listen --port PORT [--host HOST])
       cat -l [OPTIONS] --unix PATH
       cat -z [OPTIONS] HOST PORT|LOW-HIGH

netcat with message framing: copies stdin to the socket and the socket to
stdout, both at once. When stdin ends it sends FIN (half-close) and keeps
printing what the peer sends until the peer closes; when the peer closes
first, it sends the rest of stdin, then ends (a terminal on stdin, or
--keep-open: it ends with the peer). Short flags combine: -lkv, -lp 9000.

Modes:
  -l, --listen            wait for a client instead of connecting; serve it,
                          then exit. The port: -l PORT, -l HOST PORT,
                          -l -p PORT, -lp PORT or --port PORT (0: any free
                          one, printed); the address: HOST or --host HOST
                          (default 127.0.0.1; ::1 with -6)
  --unix PATH, -U PATH    a Unix socket instead of HOST PORT
  -k, --keep-open         with --listen: serve one client after another
                          until SIGINT/TERM/HUP; stdin goes to every client
                          (with -u it changes nothing: see below)
  -m, --max-conns N       with --keep-open, --broker or --chat: serve up to
                          N clients at once (default 100, as ncat); close
                          the others at once (-v logs each)
  --workers N|auto        with --listen --keep-open: serve from N workers
                          (threads) sharing the port (auto: one per CPU),
                          each printing what its clients send; stdin is
                          read once and goes to every client of every
                          worker, as fast as the slowest takes it;
                          --max-conns is per worker (Linux; TCP; not with
                          --broker/--chat: clients of different workers
                          cannot reach each other)
  --grace SECONDS         with --listen over TCP or Unix: on SIGINT or
                          SIGTERM, let transfers under way finish for this
                          long, then cut them off (default 1; 0: at once);
                          a quiet client is closed at once. A second
                          signal stops at once
  --broker                with --listen: what each client sends goes to
                          every other client, and stdin to all of them;
                          nothing is printed (ncat's connection broker)
  --chat                  --broker a line at a time, each line prefixed
                          with its sender (<user3> hi; stdin is <user0>),
                          control characters (C0, DEL, C1) shown as \\xHH
                          (a tab as \\t, \\ as \\\\), arrivals and
                          departures announced (* user3 joined). With
                          both, --idle-timeout (default 10 s) is how long a
                          client may take nothing while data waits for it
                          (the others wait): then it is dropped. A client
                          that is merely quiet stays
  -z, --probe             connect, send nothing, close: exit 0 if the port
                          is open, 1 if not. With a range (HOST 20-25),
                          print each open port on stdout, one a line;
                          exit 0 if any is open. -v logs every port
  -u, --udp               UDP: each line of stdin is one datagram, each
                          datagram received is printed as one line; with
                          --listen, lines go to whoever sent last
  --broadcast             with --udp: print replies from any host (send to
                          a broadcast address such as 127.255.255.255);
                          with --listen, listen on 127.255.255.255

Addresses:
  -4, --ipv4 / -6, --ipv6 IPv4 or IPv6 only: a host name resolves to that
                          family; an address of the other is refused
  -n, --nodns             no name resolution: hosts must be IP addresses
  -s, --source ADDR       with --udp: send from this local address
  -p, --source-port PORT  with --udp: send from this local port; with
                          --listen: the port to listen on. (A TCP client's
                          local address cannot be chosen in Deno)

Access control (--listen over TCP; checked on each client's address as
it is accepted, before a byte is read; a refused client is closed at once
and logged with -v; a client in both lists is refused):
  --allow ADDR[/BITS][,...]
                          only these addresses or blocks may connect
                          (10.0.0.0/8, 192.0.2.7, ::1, 2001:db8::/32; host
                          names are not resolved; bits past /BITS are
                          ignored); may be repeated
  --deny ADDR[/BITS][,...]
                          these may not; may be repeated
  --allowfile FILE, --denyfile FILE
                          the same from a file: entries separated by
                          commas, blanks or lines; # starts a comment

Direction and end:
  -C, --crlf              send stdin's line ends as \\r\\n (\\r\\n stays)
  --no-half-close         when stdin ends, close at once instead of sending
                          FIN and waiting for the peer to close
  --send-only             never print what is received
  --recv-only             never read stdin, never send
  -w, --wait SECONDS      give up connecting after this long, and stop when
                          nothing has moved either way this long (OpenBSD
                          nc's -w); ncat's suffixes work: 500ms, 2s, 1m
  --connect-timeout SECONDS
                          give up connecting after this long
  --idle-timeout SECONDS  stop when nothing has moved either way this long
                          (a clean end); UDP stops only so, or on a signal,
                          unless --no-half-close or --send-only

Framing:
  --frame ${FRAME_NAMES.join("|")}
                          send each line of stdin as one frame: lines (\\n),
                          nul (\\0), u16/u32 (big-endian length prefix),
                          varint (LEB128 length), netstring (5:hello,);
                          print each frame received as one line
  --frame-out text|hex    print frames (and datagrams) as text or in hex
                          (default text)
  --max-frame BYTES       with --frame: the largest frame received or sent
                          (default ${LISTEN_MAX_FRAME} with --listen, so that a client
                          cannot make cat hold megabytes; 8 MiB when
                          connecting); a client past it is closed

TLS (verified by default, unlike ncat: the server's certificate must be
valid for HOST and signed by a CA the system or --tls-ca trusts):
  --tls                   connect with TLS
  --tls-ca FILE           also trust this CA (PEM); implies --tls
  --tls-servername NAME   the name to verify and send as SNI (default HOST)
  --tls-cert FILE         a client certificate (PEM), with --tls-key; with
                          --listen: the server's certificate, which turns
                          on TLS for the listener
  --tls-key FILE          the private key of --tls-cert (PEM)
  --tls-client-ca FILE    with --listen: require client certificates signed
                          by this CA (mutual TLS)
  --tls-alpn PROTO[,PROTO...]
                          ALPN protocols to offer (with --listen: to
                          accept), most wanted first
  --tls-insecure          do not verify the server's certificate at all
                          (a warning on every use): test servers only
  When connecting, every --tls-* flag implies --tls. TLS is TCP only.

Load balancers (TCP):
${SEND_PROXY_USAGE}
  With --listen:
${PROXY_FLAGS_USAGE}

Output:
  -v, --verbose           log who connected, bytes each way and why it
                          ended, to stderr; over TLS the version, the ALPN
                          protocol and the peer's certificate where known;
                          -vv also logs the size of each chunk moved
  --hex                   hex dump of the traffic to stderr (> sent,
                          < received)
  --progress              a live line on stderr with the bytes each way,
                          the rate and the time (on a terminal; elsewhere
                          one summary line at the end), like pv
  -h, --help              show this help
  --version               show the version

Coming from nc/ncat:
  These work as you type them: -l PORT, -l HOST PORT, -l -p PORT, -lp PORT,
  -k, -u, -v/-vv, -z HOST PORT (and OpenBSD nc's -z HOST 20-25), -w SECS,
  -C, -4/-6, -n, -s ADDR, -p PORT, -m N, -U PATH, -N (the default here),
  --send-only, --recv-only, --allow/--deny/--allowfile/--denyfile,
  --broker, --chat, --max-conns. Different on purpose:
  - TLS is verified by default (ncat's --ssl does not verify); the flags are
    --tls, --tls-ca, --tls-cert... and --tls-insecure, which warns.
  - cat never runs a program or a shell for a client: no -e/--exec,
    -c/--sh-exec (use the rexec tool: allow-listed commands, TLS).
  - -w is the connect and the idle timeout, as in OpenBSD nc, and an idle
    end is a clean one (exit 0); ncat's -w is the connect timeout alone and
    its -i an idle timeout that exits 1. For -i give --idle-timeout.
  - UDP sends each line of stdin as one datagram, without its \\n, and
    prints each datagram as one line; ncat sends stdin as it reads it.
  - --send-only sends FIN at the end of stdin and ends when the peer closes
    (what it sends meanwhile is thrown away), so no reset can cost the
    peer the last bytes; ncat closes at once. --no-half-close does that.
  - A listener binds 127.0.0.1 unless told otherwise (ncat: every address).
  - -s and -p cannot choose a TCP client's local address or port (Deno
    cannot); they work with --udp.
  - --chat names clients user1, user2... in arrival order (ncat: by file
    descriptor) and words its notices its own way.
  - -luk is taken, and -k changes nothing there: a UDP listener already
    prints every peer's datagrams and sends stdin to whoever sent last.
    ncat refuses -uk without --exec, and its -lu hears only the first peer.
  Not taken: -e -c -i -q -d -o -x -t, --ssl*, proxies.

Exit codes: 0 clean end (also an idle timeout, a signal in listen mode,
and stdout closed by its reader, as in cat HOST PORT | head -c 10: cat
then stops quietly, like nc), 1 network error (refused, reset, connect
timeout), bad frame, or -z finding no open port, 2 bad usage.

Examples:
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | cat example.com 80
  cat -l 9000 > received.bin
  cat -lkv --allow 10.0.0.0/8 0.0.0.0 9000
  cat -l 9000 --chat
  cat -z -w 1 10.0.0.5 20-25
  cat --frame u16 --frame-out hex 127.0.0.1 9000
  cat --udp --broadcast --idle-timeout 2 127.255.255.255 37020
  cat --tls-ca ca.crt -v 10.0.0.5 8443
  cat --listen --port 8443 --tls-cert server.crt --tls-key server.key`;

/** `--progress`, while it runs: every stderr line goes through it. */
let progress: Progress | undefined;

const log = (line: string) =>
  progress === undefined ? console.error(line) : progress.log(line);

/**
 * stdout for the relays. When its reader goes away (`cat HOST PORT | head
 * -c 10`), a write fails with EPIPE (`Deno.errors.BrokenPipe`): the sink
 * notes it, so that cat ends quietly with exit code 0, as netcat does,
 * rather than reporting a network error. A `BrokenPipe` from the socket is
 * not this: only stdout's own writes set `closed`.
 */
class Stdout {
  /** Whether stdout's reader has gone away. */
  closed = false;
  /** Called once when it has. */
  onClosed: (() => void) | undefined = undefined;
  /** The last write: chunks go out whole, one after another. */
  #last: Promise<void> = Promise.resolve();

  /**
   * A writable for one relay; several may share stdout (`--keep-open`).
   * Each chunk goes to `Deno.stdout.write()` whole, after the chunk before
   * it (whichever relay wrote that one): one stream layer fewer than
   * `Deno.stdout.writable`, worth about 10% of a fast stream into a
   * listening `cat` (bench/net/RESULTS.md).
   */
  writable(): WritableStream<Uint8Array> {
    return new WritableStream({
      write: (chunk) => {
        const written = this.#last.then(() => writeAll(Deno.stdout, chunk));
        this.#last = written.catch(() => {});
        return written.catch((error) => {
          if (error instanceof Deno.errors.BrokenPipe && !this.closed) {
            this.closed = true;
            this.onClosed?.();
          }
          throw error;
        });
      },
    });
  }
}

/** What the relay needs from the command line, with the logs. */
interface Session {
  config: CatConfig;
  /** Logs when `--verbose`. */
  info: (line: string) => void;
  /** Where received data goes. */
  stdout: Stdout;
  /** Aborted when a listener's shutdown cuts relays off. */
  signal?: AbortSignal;
  /** TLS options, files read: the client's (connect) or the server's (listen). */
  tls?: TlsClientOptions | TlsServerOptions;
}

/** An empty stream, for `--recv-only`. */
function nothing(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/** stdin, through `-C`'s line ends; nothing when `--recv-only`. */
function stdin(config: CatConfig): ReadableStream<Uint8Array> {
  if (config.recvOnly) return nothing();
  return config.crlf
    ? Deno.stdin.readable.pipeThrough(crlfStream())
    : Deno.stdin.readable;
}

/** A `--hex` dump and `-vv`'s chunk sizes, or nothing. */
function trafficHook(
  config: CatConfig,
): ((direction: "sent" | "received", bytes: Uint8Array) => void) | undefined {
  const sizes = config.verbosity >= 2;
  const counting = progress;
  if (!config.hex && !sizes) return counting?.onTraffic;
  const sent = new HexDumper({ prefix: "> " });
  const received = new HexDumper({ prefix: "< " });
  return (direction, bytes) => {
    counting?.onTraffic(direction, bytes);
    if (sizes) {
      log(`${direction === "sent" ? ">" : "<"} ${bytes.length} bytes`);
    }
    if (!config.hex) return;
    const dumper = direction === "sent" ? sent : received;
    log(dumper.dump(bytes).slice(0, -1));
  };
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

function endText(reason: RelayEndReason, config: CatConfig): string {
  switch (reason) {
    case "complete":
      return "stdin ended and the peer closed";
    case "peer-closed":
      return "the peer closed the connection";
    case "input-ended":
      return "stdin ended";
    case "idle-timeout":
      return `idle for ${seconds(config.idleTimeout!)}`;
    case "stopped":
      return "shutting down";
  }
}

/** A frame error in what the peer sent: it has a stream byte offset. */
function isPeerFrameError(error: unknown): boolean {
  return error instanceof MalformedFrameError ||
    error instanceof TruncatedFrameError ||
    (error instanceof FrameTooLargeError && error.offset !== undefined);
}

/** Relays one TCP or Unix connection; the exit code. */
async function relayConnection(
  conn: Connection,
  streams: RelayStreams,
  peer: string,
  { config, info, stdout, signal }: Session,
): Promise<number> {
  const onTraffic = trafficHook(config);
  const options: RelayOptions = {
    noHalfClose: config.noHalfClose,
    // Stop with the peer when the rest of stdin is not this peer's: what a
    // user has not typed yet, or what other clients of --keep-open get.
    endWithPeer: config.keepOpen || Deno.stdin.isTerminal(),
    sendOnly: config.sendOnly,
    recvOnly: config.recvOnly,
    ...(config.idleTimeout === undefined
      ? {}
      : { idleTimeout: config.idleTimeout }),
    ...(onTraffic === undefined ? {} : { onTraffic }),
    ...(signal === undefined ? {} : { signal }),
  };
  try {
    if (config.codec !== undefined) {
      const result = await relayFrames(conn, streams, {
        ...options,
        codec: config.codec,
        output: config.frameOut,
      });
      info(
        `closed ${peer}: ${result.framesSent} frames sent (${result.bytesSent} bytes), ${result.framesReceived} received (${result.bytesReceived} bytes); ${
          endText(result.reason, config)
        }`,
      );
    } else {
      const result = await relay(conn, streams, options);
      info(
        `closed ${peer}: ${result.bytesSent} bytes sent, ${result.bytesReceived} received; ${
          endText(result.reason, config)
        }`,
      );
    }
    return EXIT_OK;
  } catch (error) {
    if (signal?.aborted && error === signal.reason) {
      info(
        `closed ${peer}: ${conn.bytesSent} bytes sent, ${conn.bytesReceived} received; ${
          endText("stopped", config)
        }`,
      );
      return EXIT_OK;
    }
    if (stdout.closed) {
      info(
        `closed ${peer}: ${conn.bytesSent} bytes sent, ${conn.bytesReceived} received; stdout closed`,
      );
      return EXIT_OK;
    }
    const code = reportError(
      TOOL,
      isPeerFrameError(error)
        ? new Error(`bad frame from ${peer}: ${(error as Error).message}`)
        : error,
    );
    info(
      `closed ${peer}: ${conn.bytesSent} bytes sent, ${conn.bytesReceived} received; failed`,
    );
    return code;
  }
}

/**
 * Where to connect or listen: with `-4`/`-6`, a host name becomes its
 * address of that family (and TLS keeps verifying the name).
 */
async function resolved(session: Session): Promise<Address> {
  const { config } = session;
  const address = config.address;
  if (
    config.family === undefined || "path" in address ||
    address.hostname === undefined
  ) {
    return address;
  }
  const hostname = await resolveFamily(address.hostname, config.family);
  if (hostname === address.hostname) return address;
  const tls = session.tls as TlsClientOptions | undefined;
  if (tls !== undefined && !config.listen && tls.serverName === undefined) {
    session.tls = { ...tls, serverName: address.hostname };
  }
  session.info(`${address.hostname} is ${hostname}`);
  return { hostname, port: address.port };
}

/** The options of `connect()`: the connect timeout and TLS. */
function connectOptions(session: Session): ConnectOptions {
  const { config } = session;
  const tls = session.tls as TlsClientOptions | undefined;
  // connectTimeout, not timeout: that one would limit every read too.
  const options: ConnectOptions = config.connectTimeout === undefined
    ? {}
    : { connectTimeout: config.connectTimeout };
  if (config.sendProxy !== undefined) {
    options.proxyHeader = { version: config.sendProxy };
  }
  if (tls !== undefined) {
    // --connect-timeout bounds the handshake too: both are connecting.
    options.tls = config.connectTimeout === undefined
      ? tls
      : { ...tls, handshakeTimeout: config.connectTimeout };
  }
  return options;
}

async function connectTcp(session: Session): Promise<number> {
  const { config, info } = session;
  let conn: Connection;
  try {
    const address = await resolved(session);
    const tls = session.tls as TlsClientOptions | undefined;
    if (tls?.unsafelyDisableVerification) log(insecureWarning(TOOL));
    conn = await connect(address, connectOptions(session));
  } catch (error) {
    return reportError(TOOL, error);
  }
  const peer = formatAddress(
    "path" in config.address ? config.address : conn.remoteAddr,
  );
  info(
    "path" in config.address
      ? `connected to ${peer}`
      : `connected to ${peer} from ${formatAddress(conn.localAddr)}`,
  );
  if (conn.tls !== null) info(describeTls(peer, conn.tls, "client"));
  return await relayConnection(
    conn,
    {
      readable: stdin(config),
      writable: session.stdout.writable(),
    },
    peer,
    session,
  );
}

/**
 * `-z`: connects to each port in turn, sends nothing, closes. With a
 * range, each open port is printed; exit 0 if any port is open.
 */
async function probe(session: Session): Promise<number> {
  const { config, info } = session;
  let address: Address;
  try {
    address = await resolved(session);
  } catch (error) {
    return reportError(TOOL, error);
  }
  const tls = session.tls as TlsClientOptions | undefined;
  if (tls?.unsafelyDisableVerification) log(insecureWarning(TOOL));
  const options = connectOptions(session);
  const ports = config.probe ?? [];
  const out = Deno.stdout.writable.getWriter();
  let open = 0;
  try {
    for (const port of "path" in address ? [0] : ports) {
      const target: Address = "path" in address
        ? address
        : { hostname: address.hostname!, port };
      const where = formatAddress(target);
      try {
        const conn = await connect(target, options);
        conn[Symbol.dispose]();
      } catch (error) {
        info(`${where} closed: ${oneLine(error)}`);
        continue;
      }
      open++;
      info(`${where} open`);
      if (config.probeRange) await out.write(encoder.encode(`${port}\n`));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  } finally {
    out.releaseLock();
  }
  return open > 0 ? EXIT_OK : EXIT_FAILURE;
}

/** Why a client may not connect, or `null`; a Unix client always may. */
function refused(config: CatConfig, conn: Connection): string | null {
  const addr = conn.remoteAddr;
  if (config.access === undefined || addr.transport !== "tcp") return null;
  return refusal(config.access, addr.hostname);
}

/**
 * Lets a client in, or not: the access rules first (a refused client is
 * closed before a byte is read), then, with access rules and TLS, the
 * handshake. `null` when it is not served.
 */
async function admit(
  session: Session,
  accepted: Connection,
  lateTls: boolean,
): Promise<Connection | null> {
  const why = refused(session.config, accepted);
  if (why !== null) {
    session.info(`refused ${formatAddress(accepted.remoteAddr)}: ${why}`);
    accepted.close();
    return null;
  }
  if (!lateTls) return accepted;
  try {
    return await accepted.startTls();
  } catch (error) {
    log(`${TOOL}: ${oneLine(error)}`);
    return null;
  }
}

/** ` via PROXY` for a client that came through a load balancer. */
function via(conn: Connection): string {
  return conn.proxyHeader?.command === "proxy"
    ? ` via ${formatAddress(conn.proxyAddr!)}`
    : "";
}

/** `listen()`'s options shared by the single server and the workers. */
function serverOptions(
  session: Session,
  lateTls: boolean,
  maxConnections: number,
): ListenOptions {
  const tls = session.tls as TlsServerOptions | undefined;
  const { proxyProtocol } = session.config;
  return {
    ...(tls === undefined ? {} : lateTls ? { startTls: tls } : { tls }),
    maxConnections,
    // A client over the limit is closed before a byte is read; -v says so.
    onRejected: (client) =>
      session.info(
        `refused ${formatAddress(client)}: ${
          session.config.keepOpen || session.config.broker !== undefined
            ? `already serving ${maxConnections} (--max-conns ${maxConnections})`
            : "already serving a client (-k serves more)"
        }`,
      ),
    onError: (error: unknown) => log(`${TOOL}: ${oneLine(error)}`),
    ...(proxyProtocol === undefined ? {} : { proxyProtocol }),
  };
}

/**
 * `--listen --keep-open --workers N`: each worker serves its own clients
 * on the shared port (SO_REUSEPORT) and prints what they send; logs are
 * prefixed `[worker N]`. stdin is read here, in the primary alone, and
 * each chunk goes to every worker's clients, as to one `cat -k`'s
 * (`_worker_input.ts`: the slowest client sets the pace).
 */
async function listenWorkersTcp(session: Session): Promise<number> {
  const { config } = session;
  const tls = session.tls as TlsServerOptions | undefined;
  const lateTls = tls !== undefined && config.access !== undefined;
  let address: Address;
  try {
    address = await resolved(session);
  } catch (error) {
    return reportError(TOOL, error);
  }
  const stdout = session.stdout.writable();
  // Each worker's writes to stdout, one after the other, through one writer.
  const sink = stdout.getWriter();
  // The primary's stdin, read for the workers as they ask: made in the
  // primary only (announce, onMessage), as a worker must not touch stdin.
  let feeder: WorkerInputFeeder | undefined;
  const feed = () => feeder ??= new WorkerInputFeeder(stdin(config));
  const code = await runWorkers(
    {
      tool: TOOL,
      address,
      idleTimeout: config.idleTimeout,
      maxConnections: config.maxConnections,
      gracePeriod: config.gracePeriod,
      quiet: !config.verbose,
      workers: config.workers!,
      ...(tls === undefined ? {} : { tls }),
      ...(config.proxyProtocol === undefined
        ? {}
        : { proxyProtocol: config.proxyProtocol }),
    },
    (at, worker) => {
      const prefix = `[worker ${worker}] `;
      const inWorker: Session = {
        ...session,
        info: config.verbose ? (line) => log(prefix + line) : () => {},
      };
      let clients = 0;
      // In the worker: the primary's stdin, for every client.
      const input = config.recvOnly ? undefined : new WorkerInput();
      return listen(at, async (accepted) => {
        const conn = await admit(inWorker, accepted, lateTls);
        if (conn === null) return;
        clients++;
        const peer = formatAddress(conn.remoteAddr);
        // Subscribed (and the primary told) before the client is logged:
        // stdin that comes after that line reaches it.
        const readable = input?.subscribe() ?? nothing();
        try {
          await input?.ready();
          inWorker.info(`connection from ${peer}${via(conn)} (#${clients})`);
          if (conn.tls !== null) {
            inWorker.info(describeTls(peer, conn.tls, "server"));
          }
          await relayConnection(
            conn,
            {
              readable,
              writable: new WritableStream({
                write: (chunk) => sink.write(chunk),
              }),
            },
            peer,
            inWorker,
          );
        } finally {
          await (input?.unsubscribe(readable) ?? readable.cancel());
        }
      }, {
        ...serverOptions(inWorker, lateTls, config.maxConnections),
        reusePort: true,
      });
    },
    config.recvOnly ? {} : {
      announce: (pool) =>
        feed().attach((worker, message) => pool.postMessage(worker, message)),
      onMessage: (worker, message) => {
        feed().receive(worker, message);
      },
      onRestart: (worker) => feeder?.restarted(worker),
    },
  );
  feeder?.cancel().catch(() => {});
  return code;
}

async function listenTcp(outer: Session): Promise<number> {
  if (outer.config.workers !== undefined) return await listenWorkersTcp(outer);
  // A relay that still waits for stdin when the grace period of a
  // signalled shutdown is over is stopped.
  const stopping = new AbortController();
  const session: Session = { ...outer, signal: stopping.signal };
  const { config, info } = session;
  const { keepOpen } = config;
  let code = EXIT_OK;
  let clients = 0;
  let server: Server | undefined;
  // With --keep-open, stdin goes to every client and each client's data
  // goes to stdout a chunk at a time.
  const shared = keepOpen && config.broker === undefined && !config.recvOnly
    ? new SharedInput(stdin(config))
    : undefined;
  // --broker/--chat: the clients talk to each other.
  const broker = config.broker === undefined ? undefined : new Broker({
    chat: config.broker === "chat",
    stallTimeout: config.idleTimeout ?? BROKER_STALL,
    info,
    progress,
  });
  const tls = session.tls as TlsServerOptions | undefined;
  // With access rules, TLS starts once the client is let in: a refused
  // client gets no handshake, and not a byte of it is read.
  const lateTls = tls !== undefined && config.access !== undefined;

  const handler = async (accepted: Connection): Promise<void> => {
    const conn = await admit(session, accepted, lateTls);
    if (conn === null) return;
    clients++;
    const peer = conn.remoteAddr.transport === "unix"
      ? `${formatAddress(conn.localAddr)} #${clients}`
      : formatAddress(conn.remoteAddr);
    if (broker !== undefined) {
      if (conn.tls !== null) info(describeTls(peer, conn.tls, "server"));
      return await broker.serve(conn, peer);
    }
    if (!keepOpen && clients > 1) return; // served one already: close it
    info(`connection from ${peer}${via(conn)}`);
    if (conn.tls !== null) info(describeTls(peer, conn.tls, "server"));
    if (!keepOpen) {
      code = await relayConnection(
        conn,
        {
          readable: stdin(config),
          writable: session.stdout.writable(),
        },
        peer,
        session,
      );
      server?.shutdown({ gracePeriod: 0 }).catch(() => {});
      return;
    }
    const input = shared?.subscribe() ?? nothing();
    try {
      await relayConnection(
        conn,
        {
          readable: input,
          writable: session.stdout.writable(),
        },
        peer,
        session,
      );
    } finally {
      await input.cancel();
    }
  };
  const options = serverOptions(
    session,
    lateTls,
    keepOpen || broker !== undefined ? config.maxConnections : 1,
  );
  try {
    server = listen(await resolved(session), handler, options);
  } catch (error) {
    return reportError(TOOL, error);
  }
  // With stdout gone, nothing received can be shown: stop serving, quietly.
  const listening = server;
  session.stdout.onClosed = () => {
    stopping.abort();
    listening.shutdown({ gracePeriod: 0 }).catch(() => {});
  };
  // Handle signals before saying we listen: whoever waits for that line
  // may signal us at once.
  using _signals = shutdownOnSignals({
    shutdown: async (options) => {
      const cutOff = setTimeout(() => {
        stopping.abort();
        broker?.close();
      }, config.gracePeriod);
      try {
        await listening.shutdown(options);
      } finally {
        clearTimeout(cutOff);
      }
    },
    finished: server.finished,
  }, { gracePeriod: config.gracePeriod });
  log(
    `listening on ${formatAddress(server.addr)}${listeningNote(tls)}${
      proxyListeningNote(config.proxyProtocol)
    }`,
  );
  // The broker's stdin goes to every client, until it ends.
  if (broker !== undefined && !config.recvOnly) {
    broker.feed(stdin(config)).catch(() => {});
  }
  await server.finished;
  return code;
}

async function runUdp(session: Session): Promise<number> {
  const { config, info } = session;
  let socket: DatagramSocket;
  let address: TcpAddress;
  try {
    address = await resolved(session) as TcpAddress;
    socket = config.listen
      ? bind(address, { reuseAddress: config.broadcast })
      : config.source === undefined
      ? bindClient(address)
      : bindSource(address, config.source);
  } catch (error) {
    return reportError(TOOL, error);
  }
  const hex = trafficHook({ ...config, verbosity: 0 });
  const controller = new AbortController();
  const relaying = relayDatagrams(socket, {
    readable: stdin(config),
    writable: session.stdout.writable(),
  }, {
    ...(config.listen ? {} : {
      to: address,
      acceptFrom: config.broadcast ? "any" as const : "peer" as const,
    }),
    output: config.frameOut,
    noHalfClose: config.noHalfClose,
    sendOnly: config.sendOnly,
    recvOnly: config.recvOnly,
    ...(config.idleTimeout === undefined
      ? {}
      : { idleTimeout: config.idleTimeout }),
    signal: controller.signal,
    onTraffic: (direction, bytes, peer) => {
      info(
        `${direction === "sent" ? "sent" : "received"} ${bytes.length} bytes ${
          direction === "sent" ? "to" : "from"
        } ${formatAddress(peer)}`,
      );
      hex?.(direction, bytes);
    },
  });
  const finished = relaying.then(() => {}, () => {});
  // A UDP listener has no end of its own: SIGINT/SIGTERM is a clean one.
  using _signals = config.listen
    ? shutdownOnSignals({
      shutdown: () => {
        controller.abort();
        return finished;
      },
      finished,
    }, { onSignal: (signal) => info(`stopping (signal ${signal})`) })
    : undefined;
  if (config.listen) log(`listening on ${formatAddress(socket.addr)}`);
  else {
    info(
      `sending to ${formatAddress(address)} from ${
        formatAddress(socket.addr)
      } (UDP)`,
    );
  }
  try {
    const result = await relaying;
    info(
      `done: ${result.datagramsSent} datagrams sent (${result.bytesSent} bytes), ${result.datagramsReceived} received (${result.bytesReceived} bytes), ${result.ignored} ignored; ${
        endText(result.reason, config)
      }`,
    );
    return EXIT_OK;
  } catch (error) {
    if (controller.signal.aborted) return EXIT_OK;
    if (session.stdout.closed) {
      info("done: stdout closed");
      return EXIT_OK;
    }
    return reportError(TOOL, error);
  }
}

/**
 * A UDP client socket on `-s ADDR`/`-p PORT`: the address given, or the
 * one `bindClient()` would pick for `to` (loopback for a loopback peer,
 * else the wildcard of its family).
 */
function bindSource(to: TcpAddress, source: SourceAddress): DatagramSocket {
  let hostname = source.hostname;
  if (hostname === undefined) {
    using picked = bindClient(to);
    hostname = picked.addr.hostname;
  }
  return bind({ hostname, port: source.port });
}

/**
 * Runs `cat` with the command line `args`; resolves with the exit code
 * once the session is over (or at once for `--help`, `--version` and bad
 * usage).
 *
 * @param args The command line, without the program name.
 * @returns The exit code: 0, 1 (network error or bad frame) or 2 (bad
 * usage).
 *
 * @example Print the version; refuse bad usage
 * ```ts
 * import { main } from "@sockit/sockit/tools/cat";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await main(["--version"]), 0); // prints "sockit-cat 0.1.0"
 * assertEquals(await main(["--frame", "xml", "127.0.0.1", "9"]), 2); // "cat: --frame must be …"
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let config: CatConfig;
  try {
    const command = parseCatArgs(args);
    if (command.action === "help") {
      console.log(USAGE);
      return EXIT_OK;
    }
    if (command.action === "version") {
      console.log(versionLine(TOOL));
      return EXIT_OK;
    }
    config = command.config;
  } catch (error) {
    return reportError(TOOL, error);
  }
  const session: Session = {
    config,
    info: config.verbose ? log : () => {},
    stdout: new Stdout(),
  };
  if (config.progress) progress = new Progress({ prefix: TOOL });
  try {
    // The certificate files are read (and their errors, naming the file,
    // reported) before any connection is made.
    if (config.tls?.role === "client") {
      session.tls = clientTlsOptions(config.tls.flags);
    } else if (config.tls?.role === "server") {
      session.tls = serverTlsOptions(config.tls.flags);
    }
    if (config.udp) return await runUdp(session);
    if (config.probe !== undefined) return await probe(session);
    return config.listen ? await listenTcp(session) : await connectTcp(session);
  } catch (error) {
    return reportError(TOOL, error);
  } finally {
    progress?.end();
    progress = undefined;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
