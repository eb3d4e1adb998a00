/**
 * `wavesock serve`: a test server in one command — echo (every message back
 * to its sender) or broadcast (every message to every client) — that prints
 * its URL, logs connections and shuts down cleanly on Ctrl-C.
 */
import { ConnectionClosed, broadcast, serve, type Connection, type Server, type ServerOptions } from "../index.js";
import type { ServeCommand } from "./args.js";
import type { Stdio } from "./client.js";
import { ExitCode } from "./exit-codes.js";
import { describeCloseFrame } from "./format.js";

/** `ws://127.0.0.1:8765`, `ws://[::1]:8765`. */
function serverURL(host: string, port: number): string {
  return `ws://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Serve until SIGINT or SIGTERM, then close every connection with 1001
 * (going away), wait for them, and resolve with 0. Resolves with 1 when the
 * server cannot listen. A second signal exits at once with 130.
 */
export async function runServe(command: ServeCommand, stdio: Stdio): Promise<number> {
  const log = (line: string) => stdio.stdout.write(`${line}\n`);
  let server: Server | null = null;
  const handler = async (ws: Connection) => {
    const peer = `${ws.remoteAddress}:${ws.remotePort}`;
    log(`${peer} connected ${ws.request.path}${ws.subprotocol !== null ? ` (subprotocol ${ws.subprotocol})` : ""}`);
    try {
      for await (const message of ws) {
        if (command.mode === "echo") await ws.send(message);
        else broadcast(server!.connections, message);
      }
    } catch (err) {
      // A client that went away abnormally ends its own connection, not the server.
      if (!(err instanceof ConnectionClosed)) throw err;
    } finally {
      await ws.closed;
      log(`${peer} disconnected (${describeCloseFrame(ws.closeCode ?? 1006, ws.closeReason ?? "")})`);
    }
  };
  const options: ServerOptions = { host: command.host, port: command.port };
  if (command.subprotocols.length > 0) options.subprotocols = command.subprotocols;
  if (!command.compression) options.compression = null;
  try {
    server = await serve(handler, options);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === "EADDRINUSE" ? "the address is in use" : code === "EACCES" ? "permission denied" : err instanceof Error ? err.message : String(err);
    stdio.stderr.write(`wavesock: cannot listen on ${command.host}:${command.port}: ${why}\n`);
    return ExitCode.CONNECT_FAILED;
  }
  const running = server;
  const stopped = new Promise<string>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.once(signal, () => process.exit(ExitCode.SIGINT));
      resolve(signal);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  // Printed last: whoever waits for this line may now connect, or signal us.
  log(`listening on ${serverURL(command.host, running.port)} (${command.mode}; Ctrl-C stops)`);
  const signal = await stopped;
  log(`${signal}: closing every connection with 1001 (going away)`);
  await running.close();
  log("server closed");
  return ExitCode.OK;
}
