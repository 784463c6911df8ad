/**
 * `cat -4`/`-6` with a host name: the name's address of that family, as
 * the system resolves it (`/etc/hosts` first, as nc does), since
 * `Deno.connect` would take either.
 *
 * @module
 */

/**
 * Resolves `hostname` to one address of `family`.
 *
 * @param hostname A host name (an IP address comes back as it is).
 * @param family 4 or 6.
 * @returns The address.
 * @throws {Error} "Cannot resolve NAME as IPv4: …" when it has none.
 */
export async function resolveFamily(
  hostname: string,
  family: 4 | 6,
): Promise<string> {
  const dns = process.getBuiltinModule("node:dns");
  try {
    const { address } = await dns.promises.lookup(hostname, { family });
    return address;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(
      `Cannot resolve ${hostname} as IPv${family}: ${
        code === "ENOTFOUND" || code === "ENODATA"
          ? `it has no IPv${family} address`
          : error instanceof Error
          ? error.message
          : String(error)
      }`,
      { cause: error },
    );
  }
}
