/**
 * The refusals of a command server: {@linkcode CommandRefusedError} and the
 * names an `error` reply carries, {@linkcode CommandErrorReason}.
 *
 * @module
 */

/**
 * Why a server refused a request: the name in an `error` reply.
 *
 * - `BadRequest`: an empty line, or a `[` line that is not a JSON array of
 *   strings
 * - `BadArguments`: too many arguments, a NUL byte or a lone surrogate
 * - `LineTooLong`: more than `maxLineBytes` bytes before the line end
 * - `InvalidUtf8`: the line is not UTF-8
 * - `NotAllowed`: the program is not on the allow-list (or is a path)
 * - `SpawnFailed`: the program could not be started
 * - `Busy`: `maxCommands` commands are running already; try again later
 * - `Unauthorized`: no token, or a wrong one (the connection is closed)
 * - `TokenTimeout`: no token line in time (the connection is closed)
 * - `IdleTimeout`: no request in time (the connection is closed)
 *
 * @example Only the last three end the connection
 * ```ts
 * import type { CommandErrorReason } from "@sockit/sockit/rexec";
 * import { assertEquals } from "@std/assert";
 *
 * const closes = (reason: CommandErrorReason): boolean =>
 *   reason === "Unauthorized" || reason === "TokenTimeout" ||
 *   reason === "IdleTimeout";
 * assertEquals(closes("NotAllowed"), false);
 * ```
 */
export type CommandErrorReason =
  | "BadRequest"
  | "BadArguments"
  | "LineTooLong"
  | "InvalidUtf8"
  | "NotAllowed"
  | "SpawnFailed"
  | "Busy"
  | "Unauthorized"
  | "TokenTimeout"
  | "IdleTimeout";

/**
 * A server refused a request (or the client's token): the client throws it
 * when an `error` reply answers. `reason` is the error's name (a
 * {@linkcode CommandErrorReason} from a sockit server; any text from
 * another), `detail` the server's message. The message is `reason: detail`.
 *
 * @example Telling refusals apart
 * ```ts
 * import {
 *   CommandRefusedError,
 *   runRemoteCommand,
 *   serveCommands,
 * } from "@sockit/sockit/rexec";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = serveCommands({ port: 0 }, { allow: ["echo"] });
 * const error = await assertRejects(
 *   () => runRemoteCommand(server.addr, ["rm", "-rf", "/"]),
 *   CommandRefusedError,
 * );
 * assertEquals(error.reason, "NotAllowed");
 * ```
 */
export class CommandRefusedError extends Error {
  /** The error's name: `NotAllowed`, `BadRequest`, … */
  readonly reason: string;
  /** What was refused and why: the message without the reason. */
  readonly detail: string;

  /**
   * Creates a `CommandRefusedError`; its message is `reason: detail`.
   *
   * @param reason The error's name.
   * @param detail What was refused and why.
   */
  constructor(reason: string, detail: string) {
    super(`${reason}: ${detail}`);
    this.name = "CommandRefusedError";
    this.reason = reason;
    this.detail = detail;
  }
}
