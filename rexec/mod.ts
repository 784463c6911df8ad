/**
 * A restricted remote-command server and its client, the Python tutorials'
 * "remote command server" made safe: only allow-listed programs run, never
 * through a shell, with a time limit and an output cap.
 *
 * @example Run an allowed command
 * ```ts
 * import { runRemoteCommand, serveCommands } from "@sockit/sockit/rexec";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveCommands({ port: 0 }, { allow: ["echo"] });
 * const result = await runRemoteCommand(server.addr, ["echo", "hi"]);
 * assertEquals(new TextDecoder().decode(result.stdout), "hi\n");
 * ```
 *
 * @module
 */
export * from "./rexec.ts";
