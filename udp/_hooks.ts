// Package-private access between udp/ modules, set by socket.ts when it
// loads: lets serve.ts stop a waiting receive without passing an
// AbortSignal (and its listener) to every receive. Not exported by mod.ts.
import type { DatagramSocket } from "./socket.ts";

/** Hooks into `DatagramSocket` internals. */
export const hooks: {
  /** Fails the socket's waiting `receive()` with `reason`, if one waits. */
  interruptReceive: (socket: DatagramSocket, reason: unknown) => void;
} = {
  interruptReceive: () => {
    throw new Error("udp/socket.ts is not loaded");
  },
};
