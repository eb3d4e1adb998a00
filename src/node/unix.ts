/**
 * Listening on a Unix domain socket (`serve(handler, { socketPath })`, as
 * Python's `unix_serve`), and the one case where a file is removed.
 *
 * A server that crashed, or was killed, leaves its socket file behind, and
 * the next `listen()` fails with `EADDRINUSE` although nobody listens. The
 * file is removed and the listen tried once more only when all of these
 * hold:
 *
 * 1. `listen()` failed with `EADDRINUSE`;
 * 2. the path is a socket (`lstat`: not a regular file, a directory or a
 *    symbolic link — those are never removed);
 * 3. connecting to it is refused (`ECONNREFUSED`): no process accepts on it.
 *
 * A socket another server listens on is left alone, and the `EADDRINUSE`
 * is raised. (Two servers starting on the same path at the same instant can
 * still race between the probe and the removal; start one per path.) Node
 * removes the file itself when the server closes. Linux abstract sockets
 * (a path starting with `"\0"`) have no file and are never probed.
 */
import { lstat, unlink } from "node:fs/promises";
import * as net from "node:net";

/** Listen on `path`; remove a stale socket file first if it is one (see the module comment). Resolves with whether a stale file was removed. */
export async function listenUnix(server: net.Server, path: string): Promise<boolean> {
  try {
    await listen(server, path);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || path.startsWith("\0")) throw err;
    if (!(await isStaleSocket(path))) throw err;
    try {
      await unlink(path);
    } catch (unlinkErr) {
      if ((unlinkErr as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    await listen(server, path);
    return true;
  }
}

function listen(server: net.Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** True when `path` is a socket file on which nobody accepts connections. */
async function isStaleSocket(path: string): Promise<boolean> {
  try {
    if (!(await lstat(path)).isSocket()) return false;
  } catch {
    return false;
  }
  return new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once("connect", () => {
      // A polite goodbye (FIN, reading what it says): a reset could hurt the server that lives there.
      probe.resume();
      probe.end();
      probe.setTimeout(1000, () => probe.destroy());
      resolve(false);
    });
    probe.on("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}
