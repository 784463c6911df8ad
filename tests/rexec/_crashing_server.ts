/**
 * A command server that dies the way a program does by mistake, run as its
 * own process: it serves the program given as its first argument on
 * `127.0.0.1`, port 0, prints `port N`, and on a line on stdin dies of an
 * uncaught exception (`throw`) or an unhandled rejection (`reject`), with
 * the commands it started still running.
 *
 * @module
 */
import { serveCommands } from "../../rexec/mod.ts";
import { portOf } from "../tcp/_helpers.ts";

const [program] = Deno.args;
if (program === undefined) throw new Error("give the program to allow");

const server = serveCommands({ port: 0 }, {
  allow: [program],
  requireScopedRun: true,
  timeout: 60_000,
});
console.log(`port ${portOf(server)}`);
const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  const line = decoder.decode(chunk).trim();
  if (line === "throw") {
    setTimeout(() => {
      throw new Error("boom from a timer");
    }, 0);
  } else if (line === "reject") {
    Promise.reject(new Error("boom from a promise"));
  }
}
