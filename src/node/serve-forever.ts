/**
 * `server.serveForever()`: the shape of a script that serves until it is
 * told to stop, as Python's `await server.serve_forever()` with a signal
 * handler calling `server.close()`.
 *
 * The first signal closes the server gracefully (1001 going away to every
 * client, then wait for the handlers); a second one while that is under way
 * drops whatever is left (a client that never answers the close, a handler
 * that never returns), so that Ctrl-C twice always gets you out. The
 * listeners are removed once the server is closed: a signal after that has
 * Node's usual effect.
 */
import { validateServeForeverOptions } from "./options/entry-points.js";

/** Options of `server.serveForever()`. */
export interface ServeForeverOptions {
  /** Signals that close the server. Default `["SIGINT", "SIGTERM"]`; `[]` for none (only `close()` ends it). */
  signals?: readonly NodeJS.Signals[];
}

/** What closing needs of a server. */
interface Closable {
  close(): Promise<void>;
  readonly connections: ReadonlySet<{ abort(): void }>;
  readonly pendingSockets: ReadonlySet<{ destroy(): void }>;
}

/** Close `server` on the first of `signals`, drop its connections on the second; returns a function that removes the listeners. */
export function closeOnSignals(server: Closable, options: ServeForeverOptions | undefined): () => void {
  validateServeForeverOptions(options);
  const signals = options?.signals ?? ["SIGINT", "SIGTERM"];
  let received = 0;
  const onSignal = () => {
    if (received++ === 0) {
      void server.close();
      return;
    }
    for (const conn of server.connections) conn.abort();
    for (const socket of server.pendingSockets) socket.destroy();
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
