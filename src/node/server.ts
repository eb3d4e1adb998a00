/**
 * `serve(handler)` — a WebSocket server on `node:net` / `node:tls` — and
 * `attach(httpServer, handler)` for an existing `node:http(s)` server.
 *
 * Both run the same steps on each new TCP connection: read the request head
 * (bounded, with `openTimeout`), let `processRequest` answer it, validate and
 * negotiate with the sans-IO handshake, let `processResponse` see the 101,
 * then hand a {@link Connection} to the handler. A handler that returns closes
 * its connection with 1000; one that throws, with 1011 — the server goes on.
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import { ConnectionClosed, InvalidHandshake } from "../errors.js";
import { Protocol } from "../connection/protocol.js";
import type { ServerExtensionFactory } from "../extensions/types.js";
import {
  RequestHeadParser,
  requestFromNode,
  serializeResponse,
  type HeadLimits,
  type HttpRequest,
  type HttpResponse,
} from "../handshake/http.js";
import { acceptRequest, rejectResponse, responseForError, type ServerHandshakeOptions } from "../handshake/server.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { serverExtensions, type CompressionOption } from "./compression.js";

/** A connection handler: runs for as long as the connection should live. */
export type Handler = (connection: Connection) => unknown | Promise<unknown>;

/** What `processRequest` and `processResponse` see of a connection that is not open yet. */
export interface PendingConnection {
  /** The peer's address. */
  readonly remoteAddress: string | undefined;
  /** The peer's port. */
  readonly remotePort: number | undefined;
  /** The raw socket (read-only use: the server owns it). */
  readonly socket: net.Socket;
  /** Build a plain-text HTTP response, e.g. `respond(404, "Not Found\n")`. */
  respond(status: number, text: string, headers?: Record<string, string>): HttpResponse;
}

/** Options of {@link serve} and {@link attach}. */
export interface ServerOptions extends ConnectionOptions {
  /** Interface to listen on (serve only). Default: all interfaces, like `net.Server`. */
  host?: string;
  /** Port to listen on (serve only); 0 picks a free one. Default 0. */
  port?: number;
  /** TLS options (key/cert, or `secureContext`): the server speaks wss:// (serve only). */
  tls?: tls.TlsOptions | null;
  /**
   * Inspect the request before the handshake. Return an HTTP response to
   * answer with it instead of upgrading (404, 401, a health check, a page);
   * return nothing to go on with the WebSocket handshake.
   */
  processRequest?: (
    connection: PendingConnection,
    request: HttpRequest,
  ) => HttpResponse | null | undefined | void | Promise<HttpResponse | null | undefined | void>;
  /** Inspect or replace the response (the 101, or a rejection) before it is sent. */
  processResponse?: (
    connection: PendingConnection,
    request: HttpRequest,
    response: HttpResponse,
  ) => HttpResponse | null | undefined | void | Promise<HttpResponse | null | undefined | void>;
  /** Allowed `Origin` values (null allows requests without one); absent: any origin. Others get 403. */
  origins?: readonly (string | null)[] | null;
  /** Subprotocols the server supports, in order of preference. */
  subprotocols?: readonly string[] | null;
  /** Choose the subprotocol yourself (return one of `offered`, or null). */
  selectSubprotocol?: ServerHandshakeOptions["selectSubprotocol"];
  /** `"deflate"` (default) negotiates permessage-deflate; null turns compression off; an object tunes it. */
  compression?: CompressionOption;
  /** Extra extension factories, tried after compression. */
  extensions?: readonly ServerExtensionFactory[];
  /** Largest message accepted in bytes (after decompression); null: no limit. Default 1 MiB. */
  maxSize?: number | null;
  /** Milliseconds allowed for the opening handshake. Default 10 000. */
  openTimeout?: number;
  /** Most simultaneous connections (WebSocket or pending); more are answered 503. Default: unlimited. */
  maxConnections?: number | null;
  /** Value of the `Server` header; null for none. */
  serverHeader?: string | null;
  /** Limits of the request head parser (size, header count). */
  headLimits?: HeadLimits;
  /** Where handler failures are reported. Default `console`; null: nowhere. */
  logger?: Pick<Console, "error"> | null;
}

const DEFAULT_SERVER_HEADER = "wavesock/0.1";

/**
 * A running WebSocket server: from {@link serve} or {@link attach}.
 */
export class Server {
  /** The open WebSocket connections. */
  readonly connections = new Set<Connection>();
  /** The `net.Server` / `tls.Server` / `http.Server` this server runs on. */
  readonly server: net.Server;
  private readonly handler: Handler;
  private readonly options: ServerOptions;
  private readonly handshakeOptions: ServerHandshakeOptions;
  private activeHandlers = 0;
  private handlersIdle: (() => void) | null = null;
  /** @internal Sockets still in their opening handshake. */
  readonly pendingSockets = new Set<net.Socket>();
  private closing: Promise<void> | null = null;
  private readonly ownsServer: boolean;

  /** @internal Use {@link serve} or {@link attach}. */
  constructor(server: net.Server, handler: Handler, options: ServerOptions, ownsServer: boolean) {
    this.server = server;
    this.ownsServer = ownsServer;
    this.handler = handler;
    this.options = options;
    const serverHeader = options.serverHeader === undefined ? DEFAULT_SERVER_HEADER : options.serverHeader;
    this.handshakeOptions = {
      subprotocols: options.subprotocols ?? null,
      origins: options.origins ?? null,
      extensions: [...serverExtensions(options.compression), ...(options.extensions ?? [])],
      headers: serverHeader === null ? {} : { server: serverHeader },
    };
    if (options.selectSubprotocol) this.handshakeOptions.selectSubprotocol = options.selectSubprotocol;
  }

  private boundAddress: net.AddressInfo | null = null;

  /** The bound address (still known after `close()`). */
  get address(): net.AddressInfo {
    const live = this.server.address();
    if (live !== null && typeof live === "object") this.boundAddress = live;
    if (this.boundAddress === null) throw new Error("server is not listening");
    return this.boundAddress;
  }

  /** The bound port. */
  get port(): number {
    return this.address.port;
  }

  /**
   * Take a TCP connection (plain or TLS) that has not sent anything yet and
   * run the WebSocket server on it.
   */
  handleSocket(socket: net.Socket): void {
    if (this.refuseIfFull(socket)) return;
    socket.setNoDelay(true);
    new PendingHandshake(this, socket, this.options.headLimits, this.options.openTimeout ?? 10_000);
  }

  /**
   * Take an HTTP upgrade request that `node:http` has already parsed (its
   * `'upgrade'` event) and run the same validation as `serve`.
   */
  handleUpgrade(req: IncomingMessage, socket: net.Socket, head: Buffer): void {
    if (this.refuseIfFull(socket)) return;
    socket.setNoDelay(true);
    const pending = new PendingHandshake(this, socket, undefined, this.options.openTimeout ?? 10_000, false);
    let request: HttpRequest;
    try {
      request = requestFromNode(req);
    } catch (err) {
      pending.detach();
      this.reject(socket, err);
      return;
    }
    void this.upgrade(pending, request, head);
  }

  private refuseIfFull(socket: net.Socket): boolean {
    const max = this.options.maxConnections;
    if (this.closing === null && (max === undefined || max === null || this.connections.size + this.pendingSockets.size < max)) {
      return false;
    }
    socket.on("error", () => socket.destroy());
    socket.end(serializeResponse(rejectResponse(503, this.closing ? "Server is shutting down.\n" : "Too many connections.\n")));
    return true;
  }

  private pendingConnection(socket: net.Socket): PendingConnection {
    return {
      // Getters: reading the peer's address is a system call, made only if asked.
      get remoteAddress() {
        return socket.remoteAddress;
      },
      get remotePort() {
        return socket.remotePort;
      },
      socket,
      respond: rejectResponse,
    };
  }

  /** @internal The request head is in: answer it, and upgrade if all is well. */
  async upgrade(pending: PendingHandshake, request: HttpRequest, rest: Uint8Array): Promise<void> {
    const socket = pending.socket;
    const { processRequest, processResponse } = this.options;
    const pc = processRequest || processResponse ? this.pendingConnection(socket) : undefined;
    let response: HttpResponse;
    let result: ReturnType<typeof acceptRequest> | null = null;
    try {
      const early = processRequest ? await processRequest(pc!, request) : undefined;
      if (early) {
        response = early;
      } else {
        result = acceptRequest(request, this.handshakeOptions);
        response = result.response;
      }
    } catch (err) {
      if (!(err instanceof InvalidHandshake)) this.logError("processRequest failed", err);
      response = err instanceof InvalidHandshake ? responseForError(err) : rejectResponse(500, "Internal Server Error\n");
      result = null;
    }
    try {
      if (processResponse) response = (await processResponse(pc!, request, response)) || response;
    } catch (err) {
      this.logError("processResponse failed", err);
      response = rejectResponse(500, "Internal Server Error\n");
      result = null;
    }
    if (socket.destroyed) return;
    if (result === null || response.status !== 101) {
      result?.extensions.forEach((e) => e.dispose?.());
      socket.end(serializeResponse(withClose(response)));
      return;
    }
    // The connection is open: drop everything the handshake needed.
    pending.detach();
    const protocol = new Protocol("server", {
      maxSize: this.options.maxSize === undefined ? 1024 * 1024 : this.options.maxSize,
      extensions: result.extensions,
    });
    const conn = new Connection(socket, protocol, { request, response, subprotocol: result.subprotocol }, this.options);
    // The 101 goes out corked with whatever the handler sends in this turn.
    conn.writeRaw(serializeResponse(response));
    this.connections.add(conn);
    conn.onClosed = this.forget;
    // Resume first: bytes that came with the request may fill the queue and
    // pause the socket again (backpressure), which must stand.
    socket.resume();
    if (rest.length > 0) conn.receive(rest);
    this.runHandler(conn);
  }

  private readonly forget = (conn: Connection) => {
    this.connections.delete(conn);
    // An unexpected error while reading failed the connection with 1011 and
    // a fixed reason on the wire (no internal text goes out): the details go
    // to the log, and stay on the error the handler caught.
    const failure = conn.core.failure;
    if (failure !== null && failure.code === "WS_ERR_INTERNAL") this.logError("internal error on a connection", failure);
  };

  /**
   * Run the handler; close with 1000 when it returns, 1011 when it throws.
   * Promise callbacks rather than an async function: an async function
   * suspended for the whole life of every connection keeps its frame.
   */
  private runHandler(conn: Connection): void {
    this.activeHandlers++;
    let result: unknown;
    try {
      result = this.handler(conn);
    } catch (err) {
      this.handlerFailed(conn, err);
      return;
    }
    Promise.resolve(result).then(
      () => this.handlerDone(conn),
      (err: unknown) => this.handlerFailed(conn, err),
    );
  }

  /** `await using server = await serve(handler)`: the server is closed when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private handlerDone(conn: Connection): void {
    if (conn.state === "open") conn.close(1000).catch(noop);
    // Nobody reads any more: drop what waits, read only to complete the close.
    conn.discardReceived();
    void conn.closed.then(() => this.handlerEnded());
  }

  private handlerFailed(conn: Connection, err: unknown): void {
    if (!(err instanceof ConnectionClosed)) {
      this.logError("connection handler failed", err);
      // §7.4.1: 1011 "encountered an unexpected condition".
      if (conn.state === "open") conn.fail(1011, "internal error");
    }
    this.handlerDone(conn);
  }

  private handlerEnded(): void {
    if (--this.activeHandlers === 0 && this.handlersIdle !== null) this.handlersIdle();
  }

  /** @internal Answer a broken handshake with its HTTP status and close. */
  rejectHandshake(socket: net.Socket, err: unknown): void {
    this.reject(socket, err);
  }

  private reject(socket: net.Socket, err: unknown): void {
    const response = err instanceof InvalidHandshake ? responseForError(err) : rejectResponse(400, "Bad Request\n");
    if (!socket.destroyed) socket.end(serializeResponse(withClose(response)));
  }

  private logError(what: string, err: unknown): void {
    const logger = this.options.logger === undefined ? console : this.options.logger;
    logger?.error(`wavesock: ${what}:`, err);
  }

  /**
   * Stop accepting connections, close every open one with 1001 (going away),
   * wait for the handlers to return, then resolve. A server made by
   * {@link attach} leaves the HTTP server listening. With
   * `{ closeConnections: false }`, open connections are left to finish.
   */
  close(options: { closeConnections?: boolean; code?: number; reason?: string } = {}): Promise<void> {
    this.closing ??= (async () => {
      // Keep the event loop alive until the close is done: a script whose
      // last step is `await server.close()` must get past it (without this,
      // once the sockets go quiet Node exits mid-way, code 13 with
      // top-level await). Each connection's close is bounded by closeTimeout.
      const alive = setInterval(noop, 1 << 30);
      const listening = new Promise<void>((resolve) => {
        // An attached server belongs to its owner: only our connections close.
        if (!this.ownsServer || !this.server.listening) resolve();
        else this.server.close(() => resolve());
      });
      for (const s of this.pendingSockets) s.destroy();
      if (options.closeConnections !== false) {
        for (const conn of this.connections) {
          // §7.4.1: 1001 "indicates that an endpoint is "going away", such as a server going down".
          void conn.close(options.code ?? 1001, options.reason ?? "").catch(() => undefined);
        }
      }
      try {
        if (this.activeHandlers > 0) await new Promise<void>((resolve) => (this.handlersIdle = resolve));
        await Promise.all(Array.from(this.connections, (c) => c.closed));
        await listening;
      } finally {
        clearInterval(alive);
      }
    })();
    return this.closing;
  }
}

/**
 * A socket in its opening handshake: reads the request head (bounded), and
 * drops the socket when `openTimeout` passes first. An object rather than
 * closures, so that everything it holds is released by {@link detach} once
 * the connection is open.
 */
class PendingHandshake {
  readonly socket: net.Socket;
  private readonly server: Server;
  private parser: RequestHeadParser | null;
  private timer: NodeJS.Timeout | null;

  constructor(server: Server, socket: net.Socket, limits: HeadLimits | undefined, openTimeout: number, read = true) {
    this.server = server;
    this.socket = socket;
    this.parser = read ? new RequestHeadParser(limits) : null;
    this.onData = this.onData.bind(this);
    this.onClose = this.onClose.bind(this);
    this.timer = setTimeout(() => socket.destroy(), openTimeout);
    this.timer.unref();
    server.pendingSockets.add(socket);
    if (read) socket.on("data", this.onData);
    socket.on("error", destroySocket);
    socket.once("close", this.onClose);
  }

  private onData(chunk: Buffer): void {
    let request: HttpRequest | null;
    try {
      request = this.parser!.push(chunk);
    } catch (err) {
      this.socket.off("data", this.onData);
      this.server.rejectHandshake(this.socket, err);
      return;
    }
    if (request === null) return;
    this.socket.off("data", this.onData);
    this.socket.pause();
    void this.server.upgrade(this, request, this.parser!.rest);
  }

  private onClose(): void {
    this.detach();
  }

  /** Stop handling the socket as a pending handshake (it is open, refused or closed). */
  detach(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.parser = null;
    this.server.pendingSockets.delete(this.socket);
    this.socket.off("data", this.onData);
    this.socket.off("error", destroySocket);
    this.socket.off("close", this.onClose);
  }
}

function noop(): void {}

function destroySocket(this: net.Socket): void {
  this.destroy();
}

function withClose(response: HttpResponse): HttpResponse {
  const headers = { ...response.headers };
  if (!("connection" in headers)) headers["connection"] = "close";
  return { ...response, headers };
}

/**
 * Start a WebSocket server. Resolves once it listens.
 *
 * ```ts
 * const server = await serve(async (ws) => {
 *   for await (const message of ws) await ws.send(message);
 * }, { host: "127.0.0.1", port: 8765 });
 * ```
 */
export async function serve(handler: Handler, options: ServerOptions = {}): Promise<Server> {
  const netServer = options.tls ? tls.createServer(options.tls) : net.createServer();
  const server = new Server(netServer, handler, options, true);
  if (options.tls) {
    netServer.on("secureConnection", (socket: tls.TLSSocket) => server.handleSocket(socket));
    netServer.on("tlsClientError", (_err, socket) => socket.destroy());
  } else {
    netServer.on("connection", (socket: net.Socket) => server.handleSocket(socket));
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

/**
 * Run a WebSocket server on an existing `node:http` / `node:https` server
 * (Express, Fastify, Koa...): it takes the `'upgrade'` requests, plain HTTP
 * requests stay with the HTTP server. `host`, `port` and `tls` are ignored.
 */
export function attach(httpServer: HttpServer, handler: Handler, options: ServerOptions = {}): Server {
  const server = new Server(httpServer, handler, options, false);
  httpServer.on("upgrade", (req: IncomingMessage, socket: net.Socket, head: Buffer) => server.handleUpgrade(req, socket, head));
  return server;
}
