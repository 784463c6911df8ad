/**
 * Throwaway certificates for the TLS tests, made with the real `openssl`
 * command at test time in a temporary folder (no private key is committed):
 * a CA, a server certificate for `localhost` and `127.0.0.1` signed by it, a
 * client certificate signed by it, a second CA with its own client
 * certificate (the "wrong CA" cases), and an expired server certificate.
 *
 * The folder (`sockit_tls_<pid>_…` in the temporary directory) goes when
 * the test process unloads. A process that never unloads (killed, or ended
 * by a crash) leaves it behind: the next process that makes certificates
 * removes such folders, those of processes no longer running (`ps`) and
 * any older than a day.
 *
 * Without `openssl` every test that needs certificates fails, under CI and
 * elsewhere, saying so: there is nothing left to run without them.
 *
 * @module
 */

/** A certificate and its key, as PEM text and as files. */
export interface KeyPair {
  /** The certificate, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /** The certificate's file. */
  certFile: string;
  /** The key's file. */
  keyFile: string;
}

/** Everything the TLS tests use. */
export interface TestCertificates {
  /** The folder holding every file. */
  dir: string;
  /** The CA's certificate, PEM. */
  ca: string;
  /** The CA's certificate file. */
  caFile: string;
  /** Signed by the CA for `localhost` and `127.0.0.1` (serverAuth). */
  server: KeyPair;
  /** Signed by the CA, CN "sockit test client" (clientAuth). */
  client: KeyPair;
  /** Another CA, which the servers do not trust. */
  otherCa: string;
  /** Its certificate file. */
  otherCaFile: string;
  /** A client certificate signed by the other CA. */
  otherClient: KeyPair;
  /** The server's key with a certificate that expired on 2020-01-02. */
  expired: KeyPair;
}

let made: Promise<TestCertificates> | undefined;

/**
 * Makes the certificates once per test process (later calls share them).
 *
 * @returns The certificates.
 */
export function testCertificates(): Promise<TestCertificates> {
  return made ??= make();
}

async function openssl(dir: string, args: string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      "Cannot make the TLS test certificates as openssl is not installed: the TLS tests need it (.ci/run installs it; apt-get install openssl)",
      { cause: error },
    );
  }
  const { code, stderr } = output;
  if (code !== 0) {
    throw new Error(
      `openssl ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

const PREFIX = "sockit_tls_";

/** A day, in milliseconds: no test process lasts that long. */
const STALE_AFTER = 24 * 60 * 60 * 1000;

/**
 * Removes the certificate folders in `parent` that earlier test processes
 * left behind: those whose process (the PID in the name) is no longer
 * running, and any older than a day (an older name without a PID: after an
 * hour).
 */
async function sweep(parent: string): Promise<void> {
  const found: { path: string; pid: number | undefined }[] = [];
  for await (const entry of Deno.readDir(parent)) {
    const match = /^sockit_tls_(?:(\d+)_)?[0-9a-f]+$/.exec(entry.name);
    if (match === null || !entry.isDirectory) continue;
    const pid = match[1] === undefined ? undefined : Number(match[1]);
    if (pid === Deno.pid) continue;
    found.push({ path: `${parent}/${entry.name}`, pid });
  }
  if (found.length === 0) return;
  const running = await runningPids(
    found.flatMap(({ pid }) => pid === undefined ? [] : [pid]),
  );
  const now = Date.now();
  for (const { path, pid } of found) {
    let age: number;
    try {
      age = now - ((await Deno.stat(path)).mtime?.getTime() ?? now);
    } catch {
      continue; // another process removed it
    }
    const gone = pid === undefined
      ? age > STALE_AFTER / 24
      : age > STALE_AFTER || (running !== undefined && !running.has(pid));
    if (!gone) continue;
    await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}

/** Which of `pids` are running (`ps`), or `undefined` if `ps` cannot say. */
async function runningPids(pids: number[]): Promise<Set<number> | undefined> {
  if (pids.length === 0) return new Set();
  try {
    const { stdout } = await new Deno.Command("ps", {
      args: ["-o", "pid=", "-p", pids.join(",")],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output(); // exit 1 when none runs
    return new Set(
      new TextDecoder().decode(stdout).split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return undefined;
  }
}

async function make(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: `${PREFIX}${Deno.pid}_` });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  await sweep(dir.slice(0, dir.lastIndexOf("/")));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const ca = async (name: string, subject: string) => {
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=${subject}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
  };
  const request = (name: string, subject: string) =>
    openssl(dir, [
      "req",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${subject}`,
    ]);
  const sign = async (name: string, by: string, ext: string, out = name) => {
    await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${by}.crt`,
      "-CAkey",
      `${by}.key`,
      "-CAcreateserial",
      "-out",
      `${out}.crt`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    ]);
  };
  const serverExt =
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
  const clientExt = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";

  await ca("ca", "sockit test CA");
  await ca("other-ca", "sockit other CA");
  await request("server", "localhost");
  await sign("server", "ca", serverExt);
  await request("client", "sockit test client");
  await sign("client", "ca", clientExt);
  await request("other-client", "sockit other client");
  await sign("other-client", "other-ca", clientExt);

  // An expired certificate: `openssl x509` of OpenSSL 3.0 cannot set the
  // dates, `openssl ca` can.
  await Deno.mkdir(`${dir}/ca-db`);
  await Deno.writeTextFile(`${dir}/ca-db/index.txt`, "");
  await Deno.writeTextFile(`${dir}/ca-db/serial`, "01\n");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      "database = ./ca-db/index.txt",
      "new_certs_dir = ./ca-db",
      "serial = ./ca-db/serial",
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "[any]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  await openssl(dir, [
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.crt",
    "-keyfile",
    "ca.key",
    "-in",
    "server.csr",
    "-out",
    "expired.crt",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-extfile",
    "server.ext",
  ]);

  const pair = async (cert: string, key: string): Promise<KeyPair> => ({
    cert: await Deno.readTextFile(`${dir}/${cert}`),
    key: await Deno.readTextFile(`${dir}/${key}`),
    certFile: `${dir}/${cert}`,
    keyFile: `${dir}/${key}`,
  });
  return {
    dir,
    ca: await Deno.readTextFile(`${dir}/ca.crt`),
    caFile: `${dir}/ca.crt`,
    server: await pair("server.crt", "server.key"),
    client: await pair("client.crt", "client.key"),
    otherCa: await Deno.readTextFile(`${dir}/other-ca.crt`),
    otherCaFile: `${dir}/other-ca.crt`,
    otherClient: await pair("other-client.crt", "other-client.key"),
    expired: await pair("expired.crt", "server.key"),
  };
}
