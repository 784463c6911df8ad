/**
 * A Python driver that runs a tool with its stderr on a pseudo-terminal
 * (Python's `pty` module), so that the tool's live progress line can be
 * watched as a user's terminal would show it.
 *
 * @module
 */

/**
 * The Python script (for `Python.spawn`, whose prelude imports `os`,
 * `socket`, `sys` and `time`) that starts `sys.argv[2:]` in directory
 * `sys.argv[1]` with stderr on a pty as `child`, and then runs `body`. The
 * body may call `read_until(pattern, seconds)`, which collects what the pty
 * shows into `seen` until `pattern` (bytes) appears or the time is up, and
 * returns whether it did.
 *
 * @param body Python statements, not indented.
 * @param stdin The child's stdin: a pipe the body writes (`child.stdin`), or
 * nothing.
 * @returns The script.
 */
export function ptyScript(body: string, stdin: "pipe" | "null"): string {
  return `
import json, pty, select, subprocess
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[2:],
    stdin=subprocess.${stdin === "pipe" ? "PIPE" : "DEVNULL"},
    stdout=subprocess.DEVNULL, stderr=slave, cwd=sys.argv[1])
os.close(slave)
seen = b''
def read_until(pattern, seconds):
    global seen
    deadline = time.time() + seconds
    while pattern not in seen and time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    return pattern in seen
${body}`;
}
