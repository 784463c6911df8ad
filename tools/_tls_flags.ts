/**
 * The TLS flags of the tools: the client's (`--tls`, `--tls-ca FILE`,
 * `--tls-servername NAME`, `--tls-cert FILE`, `--tls-key FILE`,
 * `--tls-insecure`, and `cat`'s `--tls-alpn LIST`) and the server's
 * (`--tls-cert FILE`, `--tls-key FILE`, `--tls-client-ca FILE`): which go
 * together, the files read into `tcp`'s TLS options with errors that name
 * the file and the flag, the `--tls-insecure` warning and the `-v` line.
 *
 * @module
 */
import type {
  TlsClientOptions,
  TlsInfo,
  TlsServerOptions,
} from "../tcp/mod.ts";
import { type Flags, UsageError } from "./_flags.ts";

/** The server's TLS flags that take a value (`echo`, `time`, `rexec`). */
export const SERVER_TLS_FLAGS: readonly string[] = [
  "tls-cert",
  "tls-key",
  "tls-client-ca",
];

/** The client's TLS flags that take a value (`cat` adds `tls-alpn`). */
export const CLIENT_TLS_STRING_FLAGS: readonly string[] = [
  "tls-ca",
  "tls-servername",
  "tls-cert",
  "tls-key",
];

/** The client's TLS flags that take none. */
export const CLIENT_TLS_BOOLEAN_FLAGS: readonly string[] = [
  "tls",
  "tls-insecure",
];

/** The usage lines of the server's TLS flags. */
export const SERVER_TLS_USAGE: string = `TLS:
  --tls-cert FILE         serve TLS with this certificate (PEM, the chain
                          from the server's certificate up), with --tls-key
  --tls-key FILE          the certificate's private key (PEM)
  --tls-client-ca FILE    require a client certificate signed by this CA
                          (PEM): mutual TLS
  A client that fails its handshake is logged (unless --quiet) and closed;
  the others are served. Without --tls-cert the server speaks plain TCP.`;

/** A server's TLS flags, checked; the files are read by `listen()`. */
export interface ServerTlsFlags {
  /** `--tls-cert FILE`. */
  certFile: string;
  /** `--tls-key FILE`. */
  keyFile: string;
  /** `--tls-client-ca FILE`, if given. */
  clientCaFile: string | undefined;
  /** `--tls-alpn LIST` (`cat --listen`). */
  alpnProtocols: string[];
}

/** A client's TLS flags, checked; the files are not read yet. */
export interface ClientTlsFlags {
  /** `--tls-ca FILE`, if given. */
  caFile: string | undefined;
  /** `--tls-servername NAME`, if given. */
  serverName: string | undefined;
  /** `--tls-cert FILE`, if given (with `keyFile`). */
  certFile: string | undefined;
  /** `--tls-key FILE`, if given (with `certFile`). */
  keyFile: string | undefined;
  /** `--tls-alpn LIST` (`cat`). */
  alpnProtocols: string[];
  /** `--tls-insecure`. */
  insecure: boolean;
}

/** Whether a flag was given (with or without a value). */
export function given(flags: Flags, name: string): boolean {
  return flags.set.has(name) || flags.values.has(name);
}

/**
 * `--tls-cert` and `--tls-key` come together.
 *
 * @throws {UsageError} If only one is given.
 */
function checkPair(flags: Flags): void {
  const cert = given(flags, "tls-cert");
  const key = given(flags, "tls-key");
  if (key && !cert) {
    throw new UsageError(
      "--tls-key needs --tls-cert: give the certificate the key belongs to",
    );
  }
  if (cert && !key) {
    throw new UsageError(
      "--tls-cert needs --tls-key: give the certificate's private key",
    );
  }
}

/**
 * Parses `--tls-alpn PROTO[,PROTO…]`.
 *
 * @param flags The parsed flags.
 * @returns The protocols, most wanted first (none if not given).
 * @throws {UsageError} For an empty name or one over 255 bytes.
 */
export function alpnFromFlags(flags: Flags): string[] {
  const text = flags.values.get("tls-alpn");
  if (text === undefined) return [];
  const protocols = text.split(",").map((name) => name.trim());
  const encoder = new TextEncoder();
  for (const name of protocols) {
    const size = encoder.encode(name).length;
    if (size === 0 || size > 255) {
      throw new UsageError(
        `--tls-alpn needs protocol names of 1 to 255 bytes separated by commas (h2,http/1.1), not ${
          JSON.stringify(text)
        }`,
      );
    }
  }
  return protocols;
}

/**
 * Reads a server's TLS flags: `--tls-cert` and `--tls-key` together turn
 * TLS on; `--tls-client-ca` needs them.
 *
 * @param flags The parsed flags.
 * @param unix Whether the server listens on a Unix socket (TLS is TCP only).
 * @returns The flags, or `undefined` for a plain server.
 * @throws {UsageError} For flags that do not go together.
 */
export function serverTlsFlags(
  flags: Flags,
  unix: boolean,
): ServerTlsFlags | undefined {
  checkPair(flags);
  const certFile = flags.values.get("tls-cert");
  const keyFile = flags.values.get("tls-key");
  const clientCaFile = flags.values.get("tls-client-ca");
  if (certFile === undefined || keyFile === undefined) {
    if (clientCaFile !== undefined) {
      throw new UsageError(
        "--tls-client-ca needs --tls-cert and --tls-key: a server checks client certificates only over TLS",
      );
    }
    if (given(flags, "tls-alpn")) {
      throw new UsageError(
        "--tls-alpn needs --tls-cert and --tls-key to serve TLS (or drop --listen to connect)",
      );
    }
    return undefined;
  }
  if (unix) {
    throw new UsageError(
      "--tls-cert and --unix exclude each other: TLS is served over TCP only",
    );
  }
  for (const [name, value] of [["tls-cert", certFile], ["tls-key", keyFile]]) {
    if (value === "") throw new UsageError(`--${name} needs a file`);
  }
  if (clientCaFile === "") throw new UsageError("--tls-client-ca needs a file");
  return {
    certFile,
    keyFile,
    clientCaFile,
    alpnProtocols: alpnFromFlags(flags),
  };
}

/**
 * Reads a client's TLS flags: any of them turns TLS on.
 *
 * @param flags The parsed flags (`tls-alpn` is read if the tool takes it).
 * @returns The flags, or `undefined` for a plain connection.
 * @throws {UsageError} For flags that do not go together.
 */
export function clientTlsFlags(flags: Flags): ClientTlsFlags | undefined {
  const names = [
    ...CLIENT_TLS_BOOLEAN_FLAGS,
    ...CLIENT_TLS_STRING_FLAGS,
    "tls-alpn",
  ];
  if (!names.some((name) => given(flags, name))) return undefined;
  checkPair(flags);
  const insecure = flags.set.has("tls-insecure");
  if (insecure && given(flags, "tls-ca")) {
    throw new UsageError(
      "--tls-insecure and --tls-ca exclude each other: --tls-ca verifies the server with that CA, --tls-insecure verifies nothing",
    );
  }
  for (const name of ["tls-ca", "tls-servername", "tls-cert", "tls-key"]) {
    if (flags.values.get(name) === "") {
      throw new UsageError(
        `--${name} needs a ${name === "tls-servername" ? "name" : "file"}`,
      );
    }
  }
  return {
    caFile: flags.values.get("tls-ca"),
    serverName: flags.values.get("tls-servername"),
    certFile: flags.values.get("tls-cert"),
    keyFile: flags.values.get("tls-key"),
    alpnProtocols: alpnFromFlags(flags),
    insecure,
  };
}

/** What a PEM file must hold. */
const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Reads a PEM file named by a flag.
 *
 * @param file The file.
 * @param flag The flag, for the error (`--tls-ca FILE`).
 * @param what What the file is (`"CA certificate"`), for the error.
 * @param holds The certificate marker or the key pattern it must contain.
 * @returns The PEM text.
 * @throws {Error} Naming the file and the flag, if it cannot be read or
 * holds no such PEM block.
 */
function readPem(
  file: string,
  flag: string,
  what: string,
  holds: string | RegExp,
): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new Error(
      `Cannot read the TLS ${what} file ${file} (${flag} FILE): ${reason}`,
      { cause: error },
    );
  }
  const found = typeof holds === "string"
    ? text.includes(holds)
    : holds.test(text);
  if (!found) {
    throw new Error(
      `Cannot use the TLS ${what} file ${file} (${flag} FILE) as it holds no PEM ${
        typeof holds === "string" ? "certificate" : "private key"
      } (no "${
        typeof holds === "string" ? holds : "-----BEGIN PRIVATE KEY-----"
      }" line)`,
    );
  }
  return text;
}

/**
 * The server options of `listen()` for the flags: the certificate and key
 * files go to `listen()`, which reads and checks them (its `TlsError`
 * names the file); the client CA file is read here.
 *
 * @param tls From {@linkcode serverTlsFlags}.
 * @returns The options.
 * @throws {Error} Naming the `--tls-client-ca` file, if it is unusable.
 */
export function serverTlsOptions(tls: ServerTlsFlags): TlsServerOptions {
  return {
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    ...(tls.clientCaFile === undefined ? {} : {
      clientCa: readPem(
        tls.clientCaFile,
        "--tls-client-ca",
        "client CA",
        PEM_CERTIFICATE,
      ),
    }),
    ...(tls.alpnProtocols.length > 0
      ? { alpnProtocols: tls.alpnProtocols }
      : {}),
  };
}

/**
 * The client options of `connect()` for the flags, with the files read.
 *
 * @param tls From {@linkcode clientTlsFlags}.
 * @returns The options.
 * @throws {Error} Naming the file and its flag, if one is unusable.
 */
export function clientTlsOptions(tls: ClientTlsFlags): TlsClientOptions {
  return {
    ...(tls.caFile === undefined
      ? {}
      : { caCerts: [readPem(tls.caFile, "--tls-ca", "CA", PEM_CERTIFICATE)] }),
    ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }),
    ...(tls.certFile === undefined || tls.keyFile === undefined
      ? {}
      : clientCertificate(tls.certFile, tls.keyFile)),
    ...(tls.alpnProtocols.length > 0
      ? { alpnProtocols: tls.alpnProtocols }
      : {}),
    ...(tls.insecure ? { unsafelyDisableVerification: true } : {}),
  };
}

/**
 * Reads a client certificate and its key, and checks that they belong
 * together (with Deno's TLS library; no socket is opened), so that a
 * mismatch is reported at start-up, naming both files.
 */
function clientCertificate(
  certFile: string,
  keyFile: string,
): { cert: string; key: string } {
  const cert = readPem(certFile, "--tls-cert", "certificate", PEM_CERTIFICATE);
  const key = readPem(keyFile, "--tls-key", "key", PEM_KEY);
  try {
    Deno.createHttpClient({ cert, key }).close();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      /KeyMismatch|not be consistent/i.test(message)
        ? `Cannot use the TLS key file ${keyFile} (--tls-key FILE) as it does not match the certificate in ${certFile} (--tls-cert FILE)`
        : `Cannot use the TLS certificate ${certFile} (--tls-cert FILE) with the key ${keyFile} (--tls-key FILE): ${message}`,
      { cause: error },
    );
  }
  return { cert, key };
}

/**
 * The warning `--tls-insecure` prints on every use.
 *
 * @param tool The tool's name.
 * @returns The line for stderr.
 */
export function insecureWarning(tool: string): string {
  return `${tool}: warning: --tls-insecure: the server's certificate is not verified; anyone on the path can read and change this connection`;
}

/**
 * The `-v` line for a TLS connection: version, ALPN, verification and the
 * peer's certificate where the engine tells them.
 *
 * @param peer The peer's address.
 * @param info The connection's `tls`.
 * @param role Whether we are the client or the server.
 * @returns `TLS with 127.0.0.1:8443: TLSv1.3, ALPN h2, certificate verified, peer CN=localhost (issuer CN=my CA)`.
 */
export function describeTls(
  peer: string,
  info: TlsInfo,
  role: "client" | "server",
): string {
  const parts = [
    info.protocol ?? "version not reported (Deno's TLS engine)",
    `ALPN ${info.alpnProtocol ?? "none"}`,
    role === "client"
      ? (info.verified
        ? "certificate verified"
        : "certificate NOT verified (--tls-insecure)")
      : (info.verified
        ? "client certificate verified"
        : "no client certificate asked"),
  ];
  const cert = info.peerCertificate;
  if (cert !== null) {
    parts.push(
      `peer ${cert.subject || "(no subject)"}${
        cert.issuer ? ` (issuer ${cert.issuer})` : ""
      }`,
    );
  }
  return `TLS with ${peer}: ${parts.join(", ")}`;
}

/**
 * What a TLS server's `listening on ADDRESS` line adds after the address
 * (the prefix stays as it is: scripts and the bench harness read it).
 *
 * @param tls The server's TLS options, if it serves TLS.
 * @returns `" (TLS)"`, `" (TLS, client certificate required)"` or `""`.
 */
export function listeningNote(tls: TlsServerOptions | undefined): string {
  if (tls === undefined) return "";
  return tls.clientCa === undefined
    ? " (TLS)"
    : " (TLS, client certificate required)";
}
