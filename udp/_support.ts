/**
 * Private helper for `udp/`: finding `Deno.listenDatagram`.
 *
 * @module
 */

/** `Deno.listenDatagram`, or a clear error when `--unstable-net` is missing. */
export function listenDatagramApi(): typeof Deno.listenDatagram {
  const api = (Deno as { listenDatagram?: unknown }).listenDatagram;
  if (typeof api !== "function") {
    throw new Deno.errors.NotSupported(
      'Cannot open a datagram socket as Deno.listenDatagram is unstable and not enabled: run Deno with --unstable-net (or put "unstable": ["net"] in deno.json)',
    );
  }
  return api as typeof Deno.listenDatagram;
}
