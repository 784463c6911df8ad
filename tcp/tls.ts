/**
 * TLS for `connect()`, `listen()` and `Connection`: the options
 * ({@linkcode TlsClientOptions}, {@linkcode TlsServerOptions}), what a
 * connection knows of its session ({@linkcode TlsInfo}) and the error a
 * failed handshake or a bad certificate raises ({@linkcode TlsError}).
 *
 * @module
 */

/**
 * TLS options of a client: `connect(address, { tls })` and
 * `conn.startTls(options)`. `tls: true` takes every default: the server's
 * certificate is verified against the roots Deno trusts — its bundled
 * Mozilla roots, or the system store with `DENO_TLS_CA_STORE=system`, plus
 * any `DENO_CERT` file — for the name connected to.
 *
 * Which engine runs the handshake (invisible but for `conn.tls` and a few
 * messages): Deno's own TLS — `Deno.startTls` on a TCP connection with
 * `TCP_NODELAY` set first, or `Deno.connectTls` when a client certificate
 * is given — or `node:tls` (over Deno's TCP connection) when
 * `unsafelyDisableVerification` is set, or when a client certificate comes
 * with a `serverName` other than the hostname. See `docs/tls.md`.
 *
 * @example Verify a server signed by your own CA
 * ```ts ignore
 * import { connect } from "@sockit/sockit/tcp";
 *
 * const caCerts = [await Deno.readTextFile("ca.crt")];
 * await using conn = await connect({ hostname: "10.0.0.5", port: 8443 }, {
 *   tls: { caCerts, serverName: "db.internal", alpnProtocols: ["x-sync"] },
 * });
 * console.log(conn.tls?.alpnProtocol);
 * ```
 */
export interface TlsClientOptions {
  /**
   * CA certificates (PEM) trusted besides the roots: the CA of a private
   * server (the tools' `--tls-ca FILE`). They are added to the roots Deno
   * trusts (its bundled Mozilla roots, or the system store with
   * `DENO_TLS_CA_STORE=system`, plus `DENO_CERT`), never put in their place,
   * whichever engine runs the handshake.
   *
   * @default {[] (the roots only)}
   */
  caCerts?: string[];
  /**
   * The name sent as SNI and verified in the server's certificate, when it
   * differs from the address connected to (`--tls-servername NAME`).
   *
   * @default {the address's hostname}
   */
  serverName?: string;
  /** ALPN protocols to offer, most wanted first (`--tls-alpn LIST`). */
  alpnProtocols?: string[];
  /**
   * A client certificate (PEM) for servers that require one (mutual TLS),
   * with `key` (`--tls-cert FILE`).
   */
  cert?: string;
  /** The client certificate's private key (PEM), with `cert` (`--tls-key FILE`). */
  key?: string;
  /**
   * Skip every check of the server's certificate — issuer, name and dates —
   * for this connection only: anyone on the path can read and change the
   * traffic. For a test server with a throwaway certificate, never for
   * anything that matters. `conn.tls.verified` is then `false`.
   *
   * @default {false}
   */
  unsafelyDisableVerification?: boolean;
  /**
   * Milliseconds the handshake may take; past it the connection is closed
   * and the handshake fails with `TlsError` of kind `"handshake-timeout"`.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Aborts the handshake (`conn.startTls()`); `connect()` aborts with its
   * own `signal`, which covers the handshake too.
   */
  signal?: AbortSignal;
}

/**
 * TLS options of a server: `listen(address, handler, { tls })` (every
 * client speaks TLS from its first byte) or `{ startTls }` (clients start
 * in plain text and the handler upgrades with `conn.startTls()`).
 *
 * The certificate and key are PEM text (`cert`, `key`) or files
 * (`certFile`, `keyFile`) that `listen()` reads at once; a file that is
 * missing or holds no certificate, or a key that does not match the
 * certificate, makes `listen()` throw `TlsError` of kind `"config"` naming
 * the file.
 *
 * Engines: `node:tls` over Deno's TCP connections serves by default (with
 * `TCP_NODELAY`, so the first reply after the handshake goes at once, and
 * a client that never finishes its handshake is really disconnected);
 * `engine: "deno"` serves with `Deno.listenTls` instead (see `engine`).
 *
 * @example A TLS echo server from certificate files
 * ```ts ignore
 * import { listen } from "@sockit/sockit/tcp";
 *
 * await using server = listen({ port: 8443 }, async (conn) => {
 *   for await (const chunk of conn) await conn.write(chunk);
 * }, { tls: { certFile: "server.crt", keyFile: "server.key" } });
 * ```
 */
export interface TlsServerOptions {
  /** The server's certificate chain (PEM), with `key`; or give `certFile`. */
  cert?: string;
  /** The certificate's private key (PEM), with `cert`; or give `keyFile`. */
  key?: string;
  /** A file holding the certificate chain (PEM), read by `listen()` (`--tls-cert FILE`). */
  certFile?: string;
  /** A file holding the private key (PEM), read by `listen()` (`--tls-key FILE`). */
  keyFile?: string;
  /**
   * ALPN protocols the server speaks, most wanted first; a client that
   * offers none of them fails its handshake (`"no-application-protocol"`).
   */
  alpnProtocols?: string[];
  /**
   * CA certificates (PEM) that sign the client certificates to accept:
   * with it every client must present a certificate signed by one of them
   * (mutual TLS, `--tls-client-ca FILE`), and `conn.tls.peerCertificate`
   * names it. Served with `node:tls`.
   */
  clientCa?: string | string[];
  /**
   * Milliseconds a client has to finish its handshake; one that is slower
   * (or never speaks) is dropped, never reaches the handler and frees its
   * `maxConnections` slot. `onError` gets a `TlsError` of kind
   * `"handshake-timeout"`.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Who runs the TLS: `"node"`, `node:tls` over Deno's TCP connections;
   * or `"deno"`, `Deno.listenTls` — about 1.7× the round trips per second
   * on many small messages (bulk throughput about the same), at two costs
   * measured with Deno 2.9: its connections keep Nagle's algorithm on
   * (a reply that follows the handshake waits ~40 ms for the client's
   * delayed ACK), and a client that never finishes its handshake keeps its
   * socket after `handshakeTimeout` (its slot is freed; the socket closes
   * when the client speaks or leaves), as Deno finishes a handshake before
   * it shuts a connection down. `"deno"` serves neither `clientCa` nor
   * `startTls`, and `conn.tls` tells only the ALPN protocol.
   *
   * @default {"node"}
   */
  engine?: "node" | "deno";
}

/**
 * What a TLS connection knows of its session: `conn.tls` (`null` on a
 * plain connection). Deno's TLS engine tells only the ALPN protocol;
 * `node:tls` (servers unless `engine: "deno"`, clients with
 * `unsafelyDisableVerification`) tells the rest.
 *
 * @example A plain connection has none
 * ```ts
 * import { connect, listen } from "@sockit/sockit/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, () => {});
 * await using conn = await connect(server.addr);
 * assertEquals(conn.tls, null);
 * ```
 */
export interface TlsInfo {
  /**
   * The protocol version (`"TLSv1.3"`), or `null` where the engine does not
   * say (Deno's).
   */
  readonly protocol: string | null;
  /** The ALPN protocol agreed, or `null` when none was. */
  readonly alpnProtocol: string | null;
  /**
   * The peer's certificate: its subject and issuer (`"CN=localhost"`) and
   * the end of its validity (ISO 8601); `null` where the engine does not
   * say (Deno's) or the peer sent none (a server's client without
   * `clientCa`).
   */
  readonly peerCertificate: {
    readonly subject: string;
    readonly issuer: string;
    readonly validTo: string;
  } | null;
  /**
   * Whether the peer's certificate was verified: `true` for a client
   * (unless `unsafelyDisableVerification`) and for a mutual TLS server,
   * `false` for a server whose clients send no certificate.
   */
  readonly verified: boolean;
}

/**
 * A TLS handshake failed, a certificate was refused, or a server's TLS
 * configuration is unusable. `kind` says which; the message says what to do,
 * naming the tools' flag and the option (`--tls-ca FILE (or caCerts)`), so
 * it can be shown as it is. The connection it concerns is closed; a server
 * reports it to `onError` and keeps serving.
 *
 * Kinds: `"unknown-issuer"` (signed by a CA not trusted), `"name-mismatch"`,
 * `"expired"`, `"not-yet-valid"`, `"bad-certificate"` (the peer refused our
 * certificate, or sent one that is unusable), `"certificate-required"`,
 * `"no-application-protocol"` (no ALPN protocol in common), `"not-tls"`
 * (the peer spoke plain text), `"handshake-timeout"`,
 * `"closed-during-handshake"`, `"config"` (a bad certificate or key at
 * start-up) and `"other"`.
 *
 * @example A TLS client against a plain-text server
 * ```ts
 * import { connect, listen, TlsError } from "@sockit/sockit/tcp";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = listen({ port: 0 }, async (conn) => {
 *   await conn.read(); // the client's hello, taken for a request
 *   await conn.write("HTTP/1.0 400 Bad Request\r\n\r\n");
 * });
 * const error = await assertRejects(
 *   () => connect(server.addr, { tls: true }),
 *   TlsError,
 * );
 * assertEquals(error.kind, "not-tls");
 * assertEquals(error.peer, `127.0.0.1:${server.addr.port}`);
 * ```
 */
export class TlsError extends Error {
  /** What went wrong. */
  readonly kind:
    | "unknown-issuer"
    | "name-mismatch"
    | "expired"
    | "not-yet-valid"
    | "bad-certificate"
    | "certificate-required"
    | "no-application-protocol"
    | "not-tls"
    | "handshake-timeout"
    | "closed-during-handshake"
    | "config"
    | "other";
  /**
   * The other end (`"127.0.0.1:8443"`); for a `"config"` error, the
   * address the server was to listen on.
   */
  readonly peer: string;
  /** For a `"config"` error, the file at fault (if it came from a file). */
  readonly file: string | undefined;

  /**
   * Creates a `TlsError`.
   *
   * @param kind What went wrong.
   * @param message What happened and what to do.
   * @param options The peer, the file and the underlying error (`cause`).
   */
  constructor(
    kind: TlsError["kind"],
    message: string,
    options: { peer?: string; file?: string; cause?: unknown } = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "TlsError";
    this.kind = kind;
    this.peer = options.peer ?? "";
    this.file = options.file;
  }
}
