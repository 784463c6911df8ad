/**
 * A restricted remote-command server and its client, the Python tutorials'
 * "remote command server" made safe: {@linkcode serveCommands} runs the
 * programs of an allow-list ({@linkcode CommandAllowList}) that clients name,
 * one request per line, and answers with framed output and the exit status;
 * {@linkcode runRemoteCommand} and {@linkcode CommandClient} are the client
 * side.
 *
 * What the server guarantees:
 *
 * - Only programs on the allow-list run, each started directly by its
 *   absolute path with its arguments — never through a shell, so `;`,
 *   `$(…)`, backticks, `|`, `&&`, `>`, globs and quotes are plain argument
 *   text. A request's first word must equal an allowed name exactly: never a
 *   path, and never looked up in `PATH` again after startup.
 * - Each command gets a minimal environment (nothing of the server's is
 *   inherited), stdin from `/dev/null`, a time limit (then SIGKILL) and an
 *   output limit (then SIGKILL, and the reply says the output was cut).
 * - No command outlives its client: each runs in a process group of its
 *   own, and the whole group — the program and whatever it started that
 *   stayed in the group — is killed with SIGKILL at either limit, as soon
 *   as the client goes away, when a graceful shutdown's grace period ends,
 *   and when the process exits (`Deno.exit()`, the end of the program, or
 *   an uncaught exception or unhandled rejection, which still ends it);
 *   what a program leaves running in its group when it exits is killed
 *   then. (A process that leaves the group, with
 *   `setsid`, escapes: only the kernel's cgroups could follow it.)
 * - At most `maxCommands` (16) commands run at once, across all clients; a
 *   request beyond it is refused at once with `Busy`.
 * - A bad request gets an error reply naming the error, and the connection
 *   keeps serving the next request.
 * - A host other than loopback needs a shared-secret token and TLS (`tls`),
 *   so that the token never crosses a network in clear text (or an explicit
 *   `insecure: true`); the token is compared in constant time. A client
 *   sends a token to a host other than loopback only over TLS that verifies
 *   the server (over `unsafelyDisableVerification` only with
 *   `insecure: true`).
 *
 * ## The protocol (version 1)
 *
 * **Requests** go client → server, one per line: UTF-8 text ended by `\n`
 * (`\r\n` also works), at most `maxLineBytes` bytes (8192) without the line
 * end. A line becomes argv like this, and in no other way:
 *
 * 1. Spaces and tabs at the start of the line are skipped.
 * 2. If the line then starts with `[`, it must be a JSON array of strings
 *    (`["echo","a b"]`): its elements are argv, exactly. Use this form for
 *    arguments with spaces or tabs, empty arguments, or a first word
 *    starting with `[`.
 * 3. Otherwise the line is split at runs of spaces and tabs (ASCII 0x20 and
 *    0x09 only); the pieces are argv. Nothing else is special: no quotes, no
 *    escapes, no variables, no globs, no `~`, no comments.
 *
 * A request is refused (an `error` reply; the connection stays open) when it
 * is not valid UTF-8 (`InvalidUtf8`), longer than `maxLineBytes`
 * (`LineTooLong`, sent as soon as the line passes the limit; the rest of
 * that line is read and dropped, never held), empty or a bad JSON
 * array (`BadRequest`), has more than `maxArgs` arguments (256), a NUL byte
 * or a lone surrogate in an argument (`BadArguments`), or names a program
 * that is not allowed, or any path (`NotAllowed`). If the program cannot be
 * started, the reply is `SpawnFailed`; if `maxCommands` (16) commands of
 * any clients are running already, it is `Busy`, at once (requests are not
 * queued: try again later). Requests are served one at a time, in
 * order; a client may send several before reading the replies.
 *
 * With a token, the first line must be `AUTH <token>` (the token is the rest
 * of the line), sent within `tokenTimeout` (5 s): the server answers
 * `ready`, or `Unauthorized` / `TokenTimeout` and closes the connection.
 * Without a token, an `AUTH` first line is answered `ready` too. A client
 * that sends no complete request for `idleTimeout` (60 s) gets `IdleTimeout`
 * and is disconnected.
 *
 * **Replies** go server → client as frames: a 32-bit big-endian length
 * (`struct.pack("!I", n)`), then `n` bytes of body. The body's first byte is
 * its kind:
 *
 * | kind | name | body (`struct` format, then the rest) |
 * | ---: | --- | --- |
 * | 1 | `stdout` | `!B`, then output bytes (at most 64 KiB a frame) |
 * | 2 | `stderr` | `!B`, then output bytes (at most 64 KiB a frame) |
 * | 3 | `exit` | `!BBi`: kind, flags (1 = timed out and killed, 2 = output truncated), exit code (128 + n after signal n); then the signal's name in ASCII (`SIGKILL`), or nothing |
 * | 4 | `error` | `!BB`: kind, length of the name; then the error's name in ASCII (`NotAllowed`), then a message in UTF-8 |
 * | 5 | `ready` | `!BB`: kind, protocol version (1) |
 *
 * Every request gets zero or more `stdout`/`stderr` frames (in the order the
 * output arrived) and then exactly one `exit` or `error` frame. A `stdout`
 * frame may be empty: while a command runs silently after the client sent
 * EOF (or its next requests), the server writes one every 250 ms to learn
 * whether the client is still there, and kills the command when a write
 * fails. A client may half-close after its requests and read the replies;
 * a client that closes the connection has its command killed.
 *
 * A Python client:
 *
 * ```python
 * import socket, struct
 * s = socket.create_connection(("127.0.0.1", port))
 * s.sendall(b"echo hello; rm -rf /\n")
 * f = s.makefile("rb")
 * while True:
 *     (n,) = struct.unpack("!I", f.read(4))
 *     body = f.read(n)
 *     if body[0] in (1, 2): print(body[1:])            # b'hello; rm -rf /\n'
 *     elif body[0] == 3: print(struct.unpack("!BBi", body[:6])[2]); break
 *     elif body[0] == 4: print(body[2:2 + body[1]], body[2 + body[1]:]); break
 * ```
 *
 * @example Serve `echo` and run it remotely
 * ```ts
 * import { runRemoteCommand, serveCommands } from "@sockit/sockit/rexec";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveCommands({ port: 0 }, { allow: ["echo"] });
 * const result = await runRemoteCommand(server.addr, ["echo", "a;b", "$(id)"]);
 * assertEquals(new TextDecoder().decode(result.stdout), "a;b $(id)\n");
 * assertEquals(result.code, 0);
 * ```
 *
 * @module
 */
export * from "./allow_list.ts";
export * from "./client.ts";
export * from "./errors.ts";
export * from "./server.ts";
