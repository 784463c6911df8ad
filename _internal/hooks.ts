// Package-private access to a tcp/ `Connection`, for poll/: when the poller
// gives up a read it started, what that read got goes back into the
// connection, so that every way of reading it — read(), readInto(),
// readExactly(), iteration, readable — sees it first. Set by
// tcp/connection.ts when it loads; not exported by any entry point.

/**
 * What a read the poller gave up got: bytes (or `null`, EOF), an error, or
 * `null` when the poller stopped it before it got anything (the connection
 * kept the data itself).
 */
export type HandedBack =
  | { value: Uint8Array | null }
  | { error: unknown }
  | null;

/** Hooks into `Connection` internals. */
export const connectionHooks: {
  /**
   * Hands `outcome` back to `conn`: its reads wait for `outcome`, then see
   * its bytes or error before anything else.
   */
  handBack: (conn: object, outcome: Promise<HandedBack>) => void;
} = {
  handBack: () => {
    throw new Error("tcp/connection.ts is not loaded");
  },
};
