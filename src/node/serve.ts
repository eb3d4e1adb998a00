/**
 * The entry points of the Node server: `serve(handler, options)` listens on
 * `node:net` / `node:tls`; `attach(httpServer, handler, options)` shares an
 * existing `node:http(s)` server. Both check their arguments and options up
 * front, then run a {@link Server}.
 */
import type { Server as HttpServer } from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import { argumentError } from "../errors.js";
import { validateAttachOptions, validateHandler, validateServeOptions } from "./options/entry-points.js";
import type { ConnectionHandlers } from "./handlers.js";
import { Server, type Handler, type ServerOptions } from "./server.js";
import { logLine, resolveLogger } from "./logging.js";
import { listenUnix } from "./unix.js";
import { addUpgradeEndpoint } from "./upgrades.js";

/**
 * Start a WebSocket server. Resolves once it listens.
 *
 * ```ts
 * const server = await serve(async (ws) => {
 *   for await (const message of ws) await ws.send(message);
 * }, { host: "127.0.0.1", port: 8765 });
 * ```
 *
 * The handler is an async function run for each connection, or callbacks
 * `{ open, message, close }` (see {@link ConnectionHandlers}): no function
 * waits per connection and no promise is made per message — the lighter
 * choice for many mostly idle connections or many small messages.
 *
 * On a Unix domain socket (Python's `unix_serve`):
 * `serve(handler, { socketPath: "/run/app.sock" })`.
 *
 * Python's positional form works too: `serve(handler, "127.0.0.1", 8765)`,
 * with options as a fourth argument. Rejects with a `TypeError` /
 * `RangeError` (code `WS_ERR_INVALID_OPTION`) naming any option that is
 * not allowed, and with the listen error (`EADDRINUSE`...) if it cannot listen.
 */
export async function serve(handler: Handler | ConnectionHandlers, host: string | null, port: number, options?: ServerOptions): Promise<Server>;
export async function serve(handler: Handler | ConnectionHandlers, options?: ServerOptions): Promise<Server>;
export async function serve(handler: Handler | ConnectionHandlers, ...args: unknown[]): Promise<Server> {
  validateHandler("serve()", handler);
  const options = serveArguments(args);
  validateServeOptions(options);
  // noDelay: set on each accepted handle by Node itself (handleSocket's setNoDelay is then a no-op).
  const netServer = options.tls ? tls.createServer(options.tls) : net.createServer({ noDelay: true });
  const server = new Server(netServer, handler, options, true);
  if (options.tls) {
    netServer.on("secureConnection", (socket: tls.TLSSocket) => server.handleSocket(socket));
    netServer.on("tlsClientError", (_err, socket) => socket.destroy());
  } else {
    netServer.on("connection", (socket: net.Socket) => server.handleSocket(socket));
  }
  if (options.socketPath !== undefined) {
    // See unix.ts for when a file left at the path is removed.
    if (await listenUnix(netServer, options.socketPath)) {
      logLine(resolveLogger(options.logger), "info", "removed a stale socket file nobody listened on", { socketPath: options.socketPath });
    }
    return server;
  }
  await new Promise<void>((resolve, reject) => {
    netServer.once("error", reject);
    netServer.listen(options.port ?? 0, options.host, () => {
      netServer.off("error", reject);
      void server.address; // remember the bound address
      resolve();
    });
  });
  return server;
}

/** The options of `serve(handler, options?)` or of `serve(handler, host, port, options?)`. */
function serveArguments(args: unknown[]): ServerOptions {
  const usage = "serve() takes (handler, options?) or (handler, host, port, options?)";
  const [first, second, third] = args;
  if (typeof first === "string" || (first === null && args.length >= 2)) {
    if (typeof second !== "number") {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `${usage}: after the host ${JSON.stringify(first)} comes the port, a number; got ${typeof second}`);
    }
    if (args.length > 3) throw argumentError("WS_ERR_INVALID_ARGUMENT", `${usage}; got ${args.length + 1} arguments`);
    if (third !== undefined && (typeof third !== "object" || third === null)) {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `${usage}: options must be an object; got ${typeof third}`);
    }
    const more = (third ?? {}) as ServerOptions;
    for (const name of ["host", "port"] as const) {
      if (more[name] !== undefined) {
        throw argumentError("WS_ERR_INVALID_ARGUMENT", `${usage}: the ${name} is given twice, as an argument and in options`);
      }
    }
    const options: ServerOptions = { ...more, port: second };
    if (first !== null) options.host = first;
    return options;
  }
  if (typeof first === "number") {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `${usage}: got the port ${first} where the options go; write serve(handler, { port: ${first} }) or serve(handler, host, ${first})`,
    );
  }
  if (args.length > 1) throw argumentError("WS_ERR_INVALID_ARGUMENT", `${usage}; got ${args.length + 1} arguments`);
  return (first ?? {}) as ServerOptions;
}

/**
 * Run a WebSocket server on an existing `node:http` / `node:https` server
 * (Express, Fastify, Koa...): it takes the `'upgrade'` requests that its
 * `path` and `shouldHandle` accept — all of them by default — and leaves the
 * others to the HTTP server's other `'upgrade'` listeners (several
 * endpoints, `ws` ones included, can share one HTTP server); plain HTTP
 * requests stay with the HTTP server. A request that no listener takes is
 * answered 404 (see `upgrades.ts` for the exact rule).
 *
 * `attach(null, handler, options)` makes a server that listens to nothing:
 * pass it the upgrades yourself with {@link Server.handleUpgrade}.
 *
 * ```ts
 * attach(httpServer, chatHandler, { path: "/chat" });
 * attach(httpServer, feedHandler, { path: "/feed" });
 * ```
 *
 * Throws a `TypeError` / `RangeError` (code `WS_ERR_INVALID_OPTION`) naming
 * any option that is not allowed (`host`, `port` and `tls` belong to the
 * HTTP server).
 */
export function attach(httpServer: HttpServer | null, handler: Handler | ConnectionHandlers, options: ServerOptions = {}): Server {
  if (
    httpServer !== null &&
    (typeof httpServer !== "object" ||
      typeof (httpServer as { on?: unknown }).on !== "function" ||
      typeof (httpServer as { listenerCount?: unknown }).listenerCount !== "function")
  ) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `attach(httpServer, handler, options?): httpServer must be an http.Server / https.Server, or null to route upgrades yourself; got ${httpServer === undefined ? "undefined" : typeof httpServer}`,
    );
  }
  validateHandler("attach()", handler);
  validateAttachOptions(options);
  const server = new Server(httpServer, handler, options ?? {}, false);
  if (httpServer !== null) addUpgradeEndpoint(httpServer, server);
  return server;
}
