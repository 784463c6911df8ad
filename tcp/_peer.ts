// How tcp/ errors name the other end of a connection. Private to tcp/.
import { formatAddress, type SocketAddress } from "../net/mod.ts";

/** The peer's address, or for a Unix socket (whose peer has none) ours. */
export function peerOf(
  conn: {
    readonly localAddr: SocketAddress;
    readonly remoteAddr: SocketAddress;
  },
): string {
  return conn.remoteAddr.transport === "unix"
    ? formatAddress(conn.localAddr)
    : formatAddress(conn.remoteAddr);
}
