// The TLS engines behind connect(), listen() and Connection.startTls(): which
// engine runs a handshake, the handshake itself (bounded by a timeout and a
// signal), server options read and checked at start-up, the errors mapped to
// TlsError, and what each TLS socket knows of its session. Private to tcp/.
//
// Engines (docs/tls.md says why):
// - client: Deno.startTls on a TCP connection with TCP_NODELAY set first
//   (Deno's TLS connections have no setNoDelay, and with Nagle on the first
//   request after the handshake waits ~40 ms for a delayed ACK); with a client
//   certificate Deno.connectTls (startTls takes none); node:tls for
//   unsafelyDisableVerification, or a client certificate with a serverName
//   other than the hostname.
// - server: node:tls over Deno's TCP connections (TCP_NODELAY on each, and
//   a client that stays silent past the handshake timeout really is closed);
//   Deno.listenTls with `engine: "deno"` (about 1.6 times node:tls's round
//   trips per second on 100 connections of small messages, the same bulk
//   MB/s, fewer new connections per second: bench/net/RESULTS.md's TLS
//   section, run of 2026-12-03; but Nagle stays on — the first reply waits
//   ~40 ms for a delayed ACK — and closing a connection whose handshake
//   never finished leaves its socket open until the client speaks or leaves:
//   Deno finishes a handshake before shutdown).
import { after } from "../_internal/timer.ts";
import {
  NodeConn,
  type NodeModules,
  nodeModules,
  type NodeTlsSocket,
  Transport,
} from "./_node_conn.ts";
import {
  type TlsClientOptions,
  TlsError,
  type TlsInfo,
  type TlsServerOptions,
} from "./tls.ts";

/** How long a handshake may take by default, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/** A socket Connection can drive: a Deno connection or a NodeConn. */
export type TlsSocket = Deno.TlsConn | NodeConn;

/** What names a peer in an error, and what was offered. */
interface ErrorContext {
  role: "client" | "server";
  peer: string;
  /** The name verified (clients). */
  serverName?: string;
  /** The ALPN protocols offered (clients) or spoken (servers). */
  alpnProtocols?: readonly string[];
  /** Whether a client certificate was sent (clients). */
  sentCert?: boolean;
  /** The handshake's time limit. */
  handshakeTimeout?: number;
}

/** What a TLS socket knows of its session, for Connection. */
export interface TlsState {
  info: TlsInfo;
  context: ErrorContext;
}

const states = new WeakMap<object, TlsState>();

/** The session of a socket Connection wraps, if it is a TLS one of ours. */
export function tlsStateOf(socket: object): TlsState | undefined {
  return states.get(socket);
}

const names = new WeakMap<object, string>();

/** Records the hostname `connect()` was given, for `startTls()`'s default. */
export function rememberName(conn: Deno.Conn, hostname: string): void {
  names.set(conn, hostname);
}

/** The hostname a TCP connection was made to (or its peer's address). */
export function connectedName(conn: Deno.TcpConn): string {
  return names.get(conn) ?? conn.remoteAddr.hostname;
}

const servers = new WeakMap<object, ServerTls | null>();

/**
 * Marks a server's connection: its `startTls()` upgrades as the server with
 * `tls`, or (`null`, a server without `startTls`) refuses.
 */
export function markServerSide(conn: object, tls: ServerTls | null): void {
  servers.set(conn, tls);
}

/** A server's TLS for `startTls()`: `undefined` for a client connection. */
export function serverSideOf(conn: object): ServerTls | null | undefined {
  return servers.get(conn);
}

// ---------------------------------------------------------------------------
// Clients

/** Client options with their defaults, checked. */
export interface ClientTls {
  caCerts: string[];
  serverName: string | undefined;
  alpnProtocols: string[];
  cert: string | undefined;
  key: string | undefined;
  unsafe: boolean;
  handshakeTimeout: number;
  signal: AbortSignal | undefined;
}

/**
 * Checks `tls` (`true` or options) and fills in the defaults.
 *
 * @throws {TypeError} For a certificate without its key, or a value of the
 * wrong type.
 * @throws {RangeError} For a negative `handshakeTimeout`.
 */
export function clientTls(tls: true | TlsClientOptions): ClientTls {
  const options: TlsClientOptions = tls === true ? {} : tls;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot use tls ${String(tls)}: give true or TLS client options`,
    );
  }
  const { cert, key } = options;
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError(
      `Cannot use a client certificate without its ${
        cert === undefined ? "certificate" : "key"
      }: pass both --tls-cert FILE and --tls-key FILE (cert and key)`,
    );
  }
  if (cert !== undefined && key !== undefined) checkClientPair(cert, key);
  const handshakeTimeout = options.handshakeTimeout ??
    DEFAULT_HANDSHAKE_TIMEOUT;
  checkHandshakeTimeout(handshakeTimeout);
  return {
    caCerts: pems("caCerts", options.caCerts),
    serverName: options.serverName,
    alpnProtocols: [...options.alpnProtocols ?? []],
    cert,
    key,
    unsafe: options.unsafelyDisableVerification === true,
    handshakeTimeout,
    signal: options.signal,
  };
}

function checkHandshakeTimeout(ms: number): void {
  if (typeof ms !== "number" || !(ms > 0)) {
    throw new RangeError(
      `Cannot use handshakeTimeout ${ms}: give milliseconds (> 0)`,
    );
  }
}

function pems(name: string, value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.some((pem) => typeof pem !== "string")) {
    throw new TypeError(
      `Cannot use ${name}: give PEM text (a string or an array of strings)`,
    );
  }
  return [...list];
}

/**
 * Whether connect() opens the connection with `Deno.connectTls` (a client
 * certificate for the hostname itself) rather than TCP and an upgrade.
 */
export function usesConnectTls(tls: ClientTls, hostname: string): boolean {
  return tls.cert !== undefined && !tls.unsafe &&
    (tls.serverName === undefined || tls.serverName === hostname);
}

/** The options of the `Deno.connectTls` that {@linkcode usesConnectTls}. */
export function connectTlsOptions(
  tls: ClientTls,
  hostname: string,
  port: number,
): Deno.ConnectTlsOptions & Deno.TlsCertifiedKeyPem {
  return {
    hostname,
    port,
    caCerts: tls.caCerts,
    alpnProtocols: tls.alpnProtocols,
    cert: tls.cert!,
    key: tls.key!,
  };
}

/**
 * Runs the client handshake on `conn` — a `Deno.TlsConn` from
 * `Deno.connectTls`, or a TCP connection to upgrade (which it consumes) —
 * within the handshake timeout and `signal`s. On failure the connection is
 * closed.
 *
 * @returns The TLS socket, its session recorded for `tlsStateOf`.
 * @throws {TlsError} If the handshake fails or times out.
 */
export async function secureClient(
  conn: Deno.Conn,
  tls: ClientTls,
  hostname: string,
  peer: string,
  signal?: AbortSignal,
): Promise<TlsSocket> {
  const serverName = tls.serverName ?? hostname;
  const context: ErrorContext = {
    role: "client",
    peer,
    serverName,
    alpnProtocols: tls.alpnProtocols,
    sentCert: tls.cert !== undefined,
    handshakeTimeout: tls.handshakeTimeout,
  };
  const signals = [signal, tls.signal].filter((s) => s !== undefined);
  if ("handshake" in conn) {
    const tlsConn = conn as Deno.TlsConn;
    const { alpnProtocol } = await bounded(
      tlsConn.handshake(),
      () => closeQuietly(tlsConn),
      context,
      signals,
    );
    return record(tlsConn, denoInfo(alpnProtocol, true), context);
  }
  const tcp = conn as Deno.TcpConn;
  if (tls.unsafe || tls.cert !== undefined) {
    const handshake = nodeClient(tcp, tls, serverName, context);
    const socket = await bounded(
      handshake.done,
      handshake.abort,
      context,
      signals,
    );
    return socket;
  }
  let upgraded: Deno.TlsConn | undefined;
  let stopped = false;
  const upgrade = async () => {
    const conn = upgraded = await Deno.startTls(tcp, {
      hostname: serverName,
      caCerts: tls.caCerts,
      alpnProtocols: tls.alpnProtocols,
    });
    if (stopped) {
      closeQuietly(conn);
      throw new Deno.errors.Interrupted("operation canceled");
    }
    return await conn.handshake();
  };
  const { localAddr, remoteAddr } = tcp;
  const { alpnProtocol } = await bounded(
    upgrade(),
    () => {
      stopped = true;
      // startTls consumed the TCP connection once it has begun.
      closeQuietly(upgraded ?? tcp);
    },
    context,
    signals,
  );
  // Deno.startTls's connection has addresses without `transport`: the TCP
  // connection's own stand in.
  Object.defineProperties(upgraded!, {
    localAddr: { value: localAddr },
    remoteAddr: { value: remoteAddr },
  });
  return record(upgraded!, denoInfo(alpnProtocol, true), context);
}

/** A node:tls client handshake on `tcp`, and how to stop it. */
function nodeClient(
  tcp: Deno.TcpConn,
  tls: ClientTls,
  serverName: string,
  context: ErrorContext,
): { done: Promise<NodeConn>; abort: () => void } {
  const node = nodeModules().tls;
  const ip = isIpAddress(serverName);
  const transport = new Transport(tcp);
  const socket = node.connect({
    socket: transport.duplex,
    host: serverName,
    ...(ip ? {} : { servername: serverName }),
    secureContext: nodeClientContext(tls, node),
    ...(tls.alpnProtocols.length > 0
      ? { ALPNProtocols: tls.alpnProtocols }
      : {}),
    rejectUnauthorized: !tls.unsafe, // before our certificate is sent
  });
  transport.attach(socket);
  socket.on("error", ignore); // after a failure, and while closing
  const done = handshakeOf(socket, "secureConnect", () => {
    const conn = new NodeConn(socket, tcp, transport); // listens for errors now
    return record(conn, nodeInfo(socket, !tls.unsafe), context);
  }, (error) => refine(error, socket));
  const unwatch = whenPeerLeaves(transport, socket);
  done.then(unwatch, unwatch);
  return { done, abort: () => socket.destroy() };
}

const clientContexts = new WeakMap<
  ClientTls,
  ReturnType<NodeModules["tls"]["createSecureContext"]>
>();

/**
 * node:tls's context for a client, made once per options: the client
 * certificate, and caCerts added to the roots Deno's own TLS trusts (its
 * bundled Mozilla roots, or the system store with DENO_TLS_CA_STORE=system,
 * plus DENO_CERT). node:tls's `ca` option would replace those roots, as in
 * Node; `addCACert` on a context made without `ca` adds to them, so both
 * client engines trust the same CAs (and nothing needs `--allow-sys`, which
 * reading `tls.rootCertificates` does).
 */
function nodeClientContext(
  tls: ClientTls,
  node: NodeModules["tls"],
): ReturnType<NodeModules["tls"]["createSecureContext"]> {
  let context = clientContexts.get(tls);
  if (context !== undefined) return context;
  context = node.createSecureContext(
    tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key! },
  );
  const inner = context.context as { addCACert(pem: string): void };
  for (const pem of tls.caCerts) inner.addCACert(pem);
  clientContexts.set(tls, context);
  return context;
}

function isIpAddress(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(":");
}

// ---------------------------------------------------------------------------
// Servers

/** Server options read, checked and ready to serve. */
export interface ServerTls {
  /** `"deno"`: `Deno.listenTls`; `"node"`: node:tls over TCP. */
  engine: "deno" | "node";
  cert: string;
  key: string;
  alpnProtocols: string[];
  clientCa: string[];
  handshakeTimeout: number;
  /** node:tls's context, made on first use. */
  context: ReturnType<NodeModules["tls"]["createSecureContext"]> | undefined;
}

/**
 * Reads and checks a server's TLS options at start-up: the files are read,
 * the certificate and key parsed and matched.
 *
 * @param options `listen()`'s `tls` or `startTls`.
 * @param where The address to listen on, for the error.
 * @param startTls Whether for a startTls server (node:tls upgrades it).
 * @throws {TlsError} Of kind `"config"`, naming the file or option.
 * @throws {TypeError} For `engine: "deno"` with `clientCa` or `startTls`.
 */
export function serverTls(
  options: TlsServerOptions,
  where: string,
  startTls = false,
): ServerTls {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot listen on ${where} with TLS options ${
        String(options)
      }: give { cert, key } or { certFile, keyFile }`,
    );
  }
  const cert = pemOf(options.cert, options.certFile, "cert", where);
  const key = pemOf(options.key, options.keyFile, "key", where);
  const handshakeTimeout = options.handshakeTimeout ??
    DEFAULT_HANDSHAKE_TIMEOUT;
  checkHandshakeTimeout(handshakeTimeout);
  const clientCa = pems("clientCa", options.clientCa);
  const engine = options.engine ?? "node";
  if (engine !== "node" && engine !== "deno") {
    throw new TypeError(
      `Cannot listen on ${where} with TLS engine ${
        JSON.stringify(engine)
      }: give "node" or "deno"`,
    );
  }
  if (engine === "deno" && (clientCa.length > 0 || startTls)) {
    throw new TypeError(
      `Cannot listen on ${where} with TLS engine "deno" and ${
        startTls ? "startTls" : "clientCa"
      }: Deno.listenTls ${
        startTls
          ? "cannot upgrade a plain connection"
          : "cannot ask for client certificates"
      }; leave engine out`,
    );
  }
  for (const pem of clientCa) {
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
      throw new TlsError(
        "config",
        `Cannot listen on ${where} with TLS as clientCa holds no PEM certificate (--tls-client-ca FILE): it must contain "-----BEGIN CERTIFICATE-----"`,
        { peer: where },
      );
    }
  }
  checkPair(cert, key, options, where);
  return {
    engine,
    cert,
    key,
    alpnProtocols: [...options.alpnProtocols ?? []],
    clientCa,
    handshakeTimeout,
    context: undefined,
  };
}

/** The PEM given inline or read from its file. */
function pemOf(
  pem: string | undefined,
  file: string | undefined,
  what: "cert" | "key",
  where: string,
): string {
  const flag = what === "cert" ? "--tls-cert FILE" : "--tls-key FILE";
  if (pem !== undefined && file !== undefined) {
    throw new TypeError(
      `Cannot listen on ${where} with TLS given both ${what} and ${what}File: give one`,
    );
  }
  if (pem !== undefined) {
    if (typeof pem !== "string") {
      throw new TypeError(
        `Cannot listen on ${where} with TLS as ${what} is not PEM text`,
      );
    }
    return pem;
  }
  if (file === undefined) {
    throw new TypeError(
      `Cannot listen on ${where} with TLS without a ${
        what === "cert" ? "certificate" : "key"
      }: pass ${flag} (${what}File, or ${what} as PEM)`,
    );
  }
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new TlsError(
      "config",
      `Cannot read the TLS ${
        what === "cert" ? "certificate" : "key"
      } file ${file} (${flag}, ${what}File): ${reason}`,
      { peer: where, file, cause: error },
    );
  }
}

/**
 * What is wrong with a certificate and key, checked by Deno's TLS library
 * (no socket is opened): `undefined` when they parse and belong together.
 */
function pairProblem(cert: string, key: string): {
  trouble: "no-cert" | "no-key" | "mismatch" | undefined;
  message: string;
  error: unknown;
} | undefined {
  try {
    Deno.createHttpClient({ cert, key }).close();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const trouble = /No certificates found/i.test(message)
      ? "no-cert"
      : /No keys found/i.test(message)
      ? "no-key"
      : /KeyMismatch|not be consistent/i.test(message)
      ? "mismatch"
      : undefined;
    return { trouble, message, error };
  }
}

/**
 * A client certificate and key that do not belong together (or do not
 * parse) are a `TlsError` of kind `"config"` before any connection, as a
 * server's are at start-up — not a handshake that fails later.
 */
function checkClientPair(cert: string, key: string): void {
  const problem = pairProblem(cert, key);
  if (problem === undefined) return;
  const { trouble, message, error } = problem;
  const text = trouble === "no-cert"
    ? "its cert holds no PEM certificate"
    : trouble === "no-key"
    ? "its key holds no PEM private key"
    : trouble === "mismatch"
    ? "its key does not match its certificate"
    : `the certificate and key are unusable: ${message}`;
  throw new TlsError(
    "config",
    `Cannot use the client certificate as ${text} (--tls-cert FILE, --tls-key FILE; cert and key)`,
    { cause: error },
  );
}

/** A server's certificate and key that do not parse or belong together. */
function checkPair(
  cert: string,
  key: string,
  options: TlsServerOptions,
  where: string,
): void {
  const problem = pairProblem(cert, key);
  if (problem === undefined) return;
  const { trouble, message, error } = problem;
  const certName = options.certFile ?? "the cert option";
  const keyName = options.keyFile ?? "the key option";
  let text: string;
  let file: string | undefined;
  if (trouble === "no-cert") {
    text = `${certName} holds no PEM certificate (--tls-cert FILE, ${
      options.certFile === undefined ? "cert" : "certFile"
    })`;
    file = options.certFile;
  } else if (trouble === "no-key") {
    text = `${keyName} holds no PEM private key (--tls-key FILE, ${
      options.keyFile === undefined ? "key" : "keyFile"
    })`;
    file = options.keyFile;
  } else if (trouble === "mismatch") {
    text =
      `the key in ${keyName} does not match the certificate in ${certName} (--tls-key FILE, --tls-cert FILE)`;
    file = options.keyFile;
  } else {
    text = `${certName} and ${keyName} are unusable: ${message}`;
    file = options.certFile;
  }
  throw new TlsError(
    "config",
    `Cannot listen on ${where} with TLS as ${text}`,
    file === undefined
      ? { peer: where, cause: error }
      : { peer: where, file, cause: error },
  );
}

/** The options of the `Deno.listenTls` for a `"deno"` engine server. */
export function listenTlsOptions(
  tls: ServerTls,
  hostname: string,
  port: number,
): Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem {
  return {
    hostname,
    port,
    cert: tls.cert,
    key: tls.key,
    ...(tls.alpnProtocols.length > 0
      ? { alpnProtocols: tls.alpnProtocols }
      : {}),
  };
}

/**
 * Runs the server handshake on an accepted connection: a `Deno.TlsConn`
 * (`"deno"` engine) or a TCP connection that node:tls takes over. Bounded by
 * the handshake timeout (and `signal`); on failure the connection is closed.
 *
 * @returns The TLS socket, its session recorded for `tlsStateOf`.
 * @throws {TlsError} If the handshake fails, times out, or the client's
 * certificate is refused.
 */
export async function secureServer(
  conn: Deno.Conn,
  tls: ServerTls,
  peer: string,
  signal?: AbortSignal,
): Promise<TlsSocket> {
  const context: ErrorContext = {
    role: "server",
    peer,
    alpnProtocols: tls.alpnProtocols,
    handshakeTimeout: tls.handshakeTimeout,
  };
  const signals = signal === undefined ? [] : [signal];
  if ("handshake" in conn) {
    const tlsConn = conn as Deno.TlsConn;
    const { alpnProtocol } = await bounded(
      tlsConn.handshake(),
      () => closeQuietly(tlsConn),
      context,
      signals,
    );
    return record(tlsConn, denoInfo(alpnProtocol, false), context);
  }
  const handshake = nodeServer(conn as Deno.TcpConn, tls, context);
  return await bounded(handshake.done, handshake.abort, context, signals);
}

/** A node:tls server handshake on `tcp`, and how to stop it. */
function nodeServer(
  tcp: Deno.TcpConn,
  tls: ServerTls,
  context: ErrorContext,
): { done: Promise<NodeConn>; abort: () => void } {
  const node = nodeModules().tls;
  const mutual = tls.clientCa.length > 0;
  tls.context ??= node.createSecureContext({
    cert: tls.cert,
    key: tls.key,
    ...(mutual ? { ca: tls.clientCa } : {}),
  });
  const transport = new Transport(tcp);
  const socket = new node.TLSSocket(transport.duplex, {
    isServer: true,
    secureContext: tls.context,
    requestCert: mutual,
    rejectUnauthorized: mutual,
    ...(tls.alpnProtocols.length > 0
      ? { ALPNProtocols: tls.alpnProtocols }
      : {}),
  });
  transport.attach(socket);
  socket.on("error", ignore); // after a failure, and while closing
  const done = handshakeOf(socket, "secure", () => {
    if (mutual) {
      // node:tls leaves a TLSSocket made by hand to check the chain.
      const code = verifyError(socket);
      if (code !== null) {
        const error = Object.assign(
          new Error(`client certificate refused: ${code}`),
          { code },
        );
        socket.destroy();
        throw refine(error, socket);
      }
    }
    const conn = new NodeConn(socket, tcp, transport); // listens for errors now
    return record(conn, nodeInfo(socket, mutual), context);
  });
  const unwatch = whenPeerLeaves(transport, socket);
  done.then(unwatch, unwatch);
  return { done, abort: () => socket.destroy() };
}

/**
 * Settles with the end of a node:tls handshake: with what `onSecure` returns
 * (or rejects with what it throws) once `socket` emits `event`; on an error
 * with `failure(error)`, destroying the socket; on a close before either, with
 * an `UnexpectedEof`.
 */
function handshakeOf(
  socket: NodeTlsSocket,
  event: "secureConnect" | "secure",
  onSecure: () => NodeConn,
  failure: (error: unknown) => unknown = (error) => error,
): Promise<NodeConn> {
  return new Promise<NodeConn>((resolve, reject) => {
    const onError = (error: unknown) => {
      socket.off(event, onEvent);
      socket.off("close", onClose);
      reject(failure(error));
      socket.destroy();
    };
    const onClose = () => {
      socket.off("error", onError);
      socket.off(event, onEvent);
      reject(
        new Deno.errors.UnexpectedEof("closed during the TLS handshake"),
      );
    };
    const onEvent = () => {
      socket.off("error", onError);
      socket.off("close", onClose);
      try {
        resolve(onSecure());
      } catch (error) {
        reject(error);
      }
    };
    socket.once(event, onEvent);
    socket.once("error", onError);
    socket.once("close", onClose);
  });
}

/**
 * How long a handshake may go on after the peer's FIN: what arrived with it
 * is being processed.
 */
const PEER_GONE_WAIT = 100;

/**
 * Ends a node:tls handshake whose peer has left: node:tls in Deno does not
 * notice the end of its transport mid-handshake, and would wait for the
 * handshake timeout. Returns the function that stops watching.
 */
function whenPeerLeaves(
  transport: Transport,
  socket: NodeTlsSocket,
): () => void {
  let cancel = () => {};
  const onEnd = () => {
    cancel = after(PEER_GONE_WAIT, () => socket.destroy());
  };
  transport.duplex.once("end", onEnd);
  return () => {
    transport.duplex.off("end", onEnd);
    cancel();
  };
}

/** The verification error of a server TLSSocket's client certificate. */
function verifyError(socket: NodeTlsSocket): string | null {
  const handle = socket as unknown as {
    _handle?: { verifyError?: () => unknown };
    ssl?: { verifyError?: () => unknown };
  };
  const found = (handle.ssl ?? handle._handle)?.verifyError?.();
  if (found === undefined || found === null || found === "") return null;
  if (typeof found === "string") return found;
  const code = (found as { code?: unknown }).code;
  return typeof code === "string" ? code : String(found);
}

// ---------------------------------------------------------------------------
// Handshakes: time limits, sessions

/**
 * `handshake`, unless the time limit or a signal ends it first: then
 * `abort()` closes the connection (which fails the handshake) and the error
 * is `handshake-timeout` or the signal's reason. Other failures become
 * `TlsError`s.
 */
async function bounded<T>(
  handshake: Promise<T>,
  abort: () => void,
  context: ErrorContext,
  signals: AbortSignal[],
): Promise<T> {
  let timedOut = false;
  let aborted: AbortSignal | undefined;
  const cancel = after(context.handshakeTimeout!, () => {
    timedOut = true;
    abort();
  });
  const onAbort = (event: Event) => {
    aborted ??= event.target as AbortSignal;
    abort();
  };
  for (const signal of signals) {
    if (signal.aborted) {
      aborted ??= signal;
      abort();
    } else signal.addEventListener("abort", onAbort, { once: true });
  }
  try {
    return await handshake;
  } catch (error) {
    abort(); // a failed handshake closes its connection
    if (aborted !== undefined) throw aborted.reason;
    if (timedOut) {
      throw new TlsError(
        "handshake-timeout",
        `Cannot finish the TLS handshake with ${context.peer} within ${context.handshakeTimeout} ms`,
        { peer: context.peer, cause: error },
      );
    }
    throw tlsErrorOf(error, context);
  } finally {
    cancel();
    for (const signal of signals) {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

function ignore(): void {}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed already */ }
}

function record<T extends object>(
  socket: T,
  info: TlsInfo,
  context: ErrorContext,
): T {
  states.set(socket, { info, context });
  return socket;
}

function denoInfo(alpnProtocol: string | null, verified: boolean): TlsInfo {
  return { protocol: null, alpnProtocol, peerCertificate: null, verified };
}

function nodeInfo(socket: NodeTlsSocket, verified: boolean): TlsInfo {
  const cert = socket.getPeerCertificate();
  const known = cert !== null && typeof cert === "object" &&
    cert.subject !== undefined && Object.keys(cert.subject).length > 0;
  return {
    protocol: socket.getProtocol() ?? null,
    alpnProtocol: typeof socket.alpnProtocol === "string"
      ? socket.alpnProtocol
      : null,
    peerCertificate: known
      ? {
        subject: distinguishedName(cert.subject),
        issuer: distinguishedName(cert.issuer),
        validTo: isoDate(cert.valid_to),
      }
      : null,
    verified,
  };
}

/** `{ CN: "localhost", O: "x" }` as `"CN=localhost, O=x"`. */
function distinguishedName(name: object | undefined): string {
  if (name === undefined || name === null) return "";
  return Object.entries(name).map(([field, value]) =>
    `${field}=${Array.isArray(value) ? value.join("+") : String(value)}`
  ).join(", ");
}

/** A certificate date (`"Jan  2 00:00:00 2020 GMT"`) in ISO 8601. */
function isoDate(text: string | undefined): string {
  if (text === undefined) return "";
  const time = Date.parse(text);
  return Number.isNaN(time) ? text : isoSeconds(time);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

// ---------------------------------------------------------------------------
// Errors

const ALERTS: Record<string, string> = {
  CERTIFICATE_REQUIRED: "CertificateRequired",
  NO_APPLICATION_PROTOCOL: "NoApplicationProtocol",
  UNKNOWN_CA: "UnknownCA",
  BAD_CERTIFICATE: "BadCertificate",
  CERTIFICATE_UNKNOWN: "CertificateUnknown",
  CERTIFICATE_EXPIRED: "CertificateExpired",
  UNSUPPORTED_CERTIFICATE: "UnsupportedCertificate",
  CERTIFICATE_REVOKED: "CertificateRevoked",
  DECRYPT_ERROR: "DecryptError",
  ACCESS_DENIED: "AccessDenied",
  HANDSHAKE_FAILURE: "HandshakeFailure",
  PROTOCOL_VERSION: "ProtocolVersion",
};

/** Alerts by which a peer refuses a certificate. */
const REFUSALS = new Set([
  "UnknownCA",
  "BadCertificate",
  "CertificateUnknown",
  "CertificateExpired",
  "UnsupportedCertificate",
  "CertificateRevoked",
  "DecryptError",
  "AccessDenied",
]);

/** The alert in a Deno or node:tls error, by its rustls name. */
function alertOf(message: string, code: string): string | null {
  const deno = /received fatal alert: (\w+)/.exec(message);
  if (deno !== null) return deno[1]!;
  const node = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(\w+)$/.exec(code);
  if (node !== null) return ALERTS[node[1]!] ?? node[1]!;
  return null;
}

/** A node:tls certificate error with the dates of the certificate. */
function refine(error: unknown, socket: NodeTlsSocket): unknown {
  if (!(error instanceof Error)) return error;
  const code = String((error as { code?: unknown }).code ?? "");
  if (!/^(UNABLE_TO_|CERT_|DEPTH_ZERO|SELF_SIGNED)/.test(code)) return error;
  let cert: ReturnType<NodeTlsSocket["getPeerCertificate"]> | undefined;
  try {
    cert = socket.getPeerCertificate();
  } catch { /* none */ }
  if (cert === undefined || cert === null || !cert.valid_to) return error;
  const now = Date.now();
  const notAfter = Date.parse(cert.valid_to);
  const notBefore = Date.parse(cert.valid_from);
  if (notAfter < now) {
    return Object.assign(error, { expiredOn: isoSeconds(notAfter) });
  }
  if (notBefore > now) {
    return Object.assign(error, { validFrom: isoSeconds(notBefore) });
  }
  return error;
}

/** A handshake failure (Deno's or node:tls's) as a `TlsError`. */
function tlsErrorOf(error: unknown, context: ErrorContext): TlsError {
  if (error instanceof TlsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = String((error as { code?: unknown })?.code ?? "");
  const { peer, role } = context;
  const make = (kind: TlsError["kind"], text: string) =>
    new TlsError(kind, text, { peer, cause: error });
  const start = role === "client"
    ? `Cannot start TLS with ${peer}`
    : `Cannot accept TLS from ${peer}`;
  const verify = role === "client"
    ? `Cannot verify ${peer}: its certificate`
    : `Cannot verify the client certificate of ${peer}: it`;

  const alert = alertOf(message, code);
  if (alert === "CertificateRequired") {
    return make(
      "certificate-required",
      `${start} as the server requires a client certificate; pass --tls-cert FILE --tls-key FILE (cert, key)`,
    );
  }
  if (alert === "NoApplicationProtocol") return noAlpn();
  if (alert !== null && REFUSALS.has(alert)) {
    if (role === "server") {
      return make(
        "bad-certificate",
        `${start} as it refused our certificate (${alert}); give the client our CA (--tls-ca FILE, caCerts) or serve one it trusts (--tls-cert FILE, cert)`,
      );
    }
    return make(
      "bad-certificate",
      context.sentCert
        ? `${start} as it refused our client certificate (${alert}); pass one signed by a CA it trusts with --tls-cert FILE --tls-key FILE (cert, key)`
        : `${start} as it refused the handshake (${alert})`,
    );
  }
  if (alert !== null) return make("other", `${start}: ${message}`);

  if (
    code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" ||
    /peer sent no certificates/.test(message)
  ) {
    return make(
      "certificate-required",
      `${start} as it sent no client certificate, which --tls-client-ca FILE (clientCa) requires`,
    );
  }
  if (
    code === "ERR_SSL_NO_APPLICATION_PROTOCOL" ||
    /doesn't support any known protocol/.test(message)
  ) {
    return noAlpn();
  }
  if (
    /InvalidContentType|corrupt message|InvalidMessage|wrong version number/i
      .test(message) || code === "ERR_SSL_WRONG_VERSION_NUMBER"
  ) {
    return make(
      "not-tls",
      role === "client"
        ? `${start} as it does not speak TLS (it sent plain text); connect without --tls, or check the port`
        : `${start} as it does not speak TLS (it sent plain text); the client must connect with --tls (or tls)`,
    );
  }

  // Our check of the peer's certificate.
  const expiredOn = (error as { expiredOn?: string }).expiredOn ??
    unixDate(/not valid after (\d+)/.exec(message));
  if (
    expiredOn !== undefined || code === "CERT_HAS_EXPIRED" ||
    /certificate expired/i.test(message)
  ) {
    return make(
      "expired",
      `${verify} expired${expiredOn === undefined ? "" : ` on ${expiredOn}`}; ${
        role === "client"
          ? "the server needs a new one"
          : "the client needs a new one"
      } (or this machine's clock is wrong)`,
    );
  }
  const validFrom = (error as { validFrom?: string }).validFrom ??
    unixDate(/not valid before (\d+)/.exec(message));
  if (
    validFrom !== undefined || code === "CERT_NOT_YET_VALID" ||
    /not valid yet/i.test(message)
  ) {
    return make(
      "not-yet-valid",
      `${verify} is not valid ${
        validFrom === undefined ? "yet" : `before ${validFrom}`
      }; check this machine's clock`,
    );
  }
  if (
    code === "ERR_TLS_CERT_ALTNAME_INVALID" ||
    /not valid for name|NotValidForName/.test(message)
  ) {
    const names = certificateNames(message);
    const name = context.serverName ?? "";
    return make(
      "name-mismatch",
      names.length > 0
        ? `Cannot verify ${peer}: its certificate is for ${
          names.join(", ")
        }, not ${name}; connect by one of those names or pass --tls-servername NAME (serverName)`
        : `Cannot verify ${peer}: its certificate is not for ${name}; connect by a name it is for or pass --tls-servername NAME (serverName)`,
    );
  }
  if (
    /UnknownIssuer|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_UNTRUSTED/.test(
      `${code} ${message}`,
    )
  ) {
    // node:tls in Deno says UNABLE_TO_VERIFY_LEAF_SIGNATURE for a
    // certificate out of its dates too (refine() tells when it can).
    const vague = code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
      ? ", or is out of its dates (node:tls does not say which)"
      : "";
    return make(
      "unknown-issuer",
      role === "client"
        ? `${verify} is signed by an unknown CA${vague}; pass the CA with --tls-ca FILE (or caCerts)`
        : `${verify} is not signed by a CA of --tls-client-ca FILE (clientCa)${vague}`,
    );
  }
  if (/invalid peer certificate|^CERT_/.test(`${message} ${code}`)) {
    return make(
      "bad-certificate",
      `${verify} is unusable (${code || message})`,
    );
  }
  if (
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    code === "ECONNRESET" || code === "EPIPE" ||
    /unexpected end of file|socket hang up/i.test(message)
  ) {
    return make(
      "closed-during-handshake",
      role === "client"
        ? `${start} as it closed the connection during the handshake; check that it speaks TLS on this port${
          context.alpnProtocols?.length
            ? ` and one of the ALPN protocols offered (${
              context.alpnProtocols.join(", ")
            }; --tls-alpn LIST, alpnProtocols)`
            : ""
        }`
        : `${start} as it closed the connection during the handshake (a client that does not trust our certificate may, without a word)`,
    );
  }
  return make("other", `${start}: ${message}`);

  function noAlpn(): TlsError {
    const list = context.alpnProtocols?.length
      ? context.alpnProtocols.join(", ")
      : "none";
    return make(
      "no-application-protocol",
      role === "client"
        ? `${start} as no ALPN protocol was agreed (offered: ${list}); offer one it speaks with --tls-alpn LIST (alpnProtocols)`
        : `${start} as no ALPN protocol was agreed (ours: ${list}; --tls-alpn LIST, alpnProtocols)`,
    );
  }
}

function unixDate(match: RegExpExecArray | null): string | undefined {
  return match === null ? undefined : isoSeconds(Number(match[1]) * 1000);
}

/** The names a certificate is for, from Deno's or node:tls's message. */
function certificateNames(message: string): string[] {
  const names: string[] = [];
  for (
    const match of message.matchAll(/(?:DnsName|IpAddress)\("?([^")]+)"?\)/g)
  ) {
    names.push(match[1]!);
  }
  if (names.length > 0) return names;
  const list = /.*altnames: (.*)$/.exec(message) ??
    /.*cert's list: (.*)$/.exec(message);
  if (list === null) return names;
  for (const part of list[1]!.split(",")) {
    const name = part.trim().replace(/^(DNS|IP Address):/, "");
    if (name !== "") names.push(name);
  }
  return names;
}

/**
 * What a failed read of a TLS connection means: `null` for a peer that
 * closed without close_notify (EOF, as Python's `suppress_ragged_eofs`) —
 * unless a client has received nothing yet, which is how a server refuses
 * a client certificate after a TLS 1.3 handshake without an alert; a
 * `TlsError` for a TLS alert (a client certificate refused, in TLS 1.3 seen
 * by the client's first read); `undefined` for an error that is not TLS's.
 */
export function tlsReadError(
  error: unknown,
  state: TlsState,
  received: number,
): TlsError | null | undefined {
  if (
    error instanceof Deno.errors.UnexpectedEof &&
    /close_notify/.test(error.message)
  ) {
    const { role, peer, sentCert } = state.context;
    if (received > 0 || role === "server") return null;
    // TLS 1.3: the client's handshake ends before the server has checked
    // its certificate, and node:tls servers close without an alert.
    return new TlsError(
      "closed-during-handshake",
      `Cannot start TLS with ${peer} as it closed the connection as the handshake ended, without a word (no close_notify); ${
        sentCert
          ? "it may refuse our client certificate (--tls-cert FILE, cert)"
          : "it may require a client certificate: pass --tls-cert FILE --tls-key FILE (cert, key)"
      }`,
      { peer, cause: error },
    );
  }
  const message = error instanceof Error ? error.message : "";
  const code = String((error as { code?: unknown })?.code ?? "");
  if (
    !(error instanceof Deno.errors.InvalidData) &&
    !code.startsWith("ERR_SSL")
  ) {
    return undefined;
  }
  if (alertOf(message, code) === null && !/corrupt|Invalid/.test(message)) {
    return undefined;
  }
  return tlsErrorOf(error, state.context);
}
