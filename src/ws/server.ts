/**
 * `WebSocketServer` of the `ws` API: one of `port` (it makes and listens on
 * an HTTP server), `server` (an existing one's `'upgrade'` events) or
 * `noServer` (the application calls {@link WebSocketServer.handleUpgrade}:
 * several servers on one HTTP server, dispatched by path).
 *
 * `handleUpgrade` follows `ws` step by step, with its status codes and
 * messages: `ws`'s request checks (then `wsClientError` or a 4xx),
 * `shouldHandle` (400), `verifyClient` (sync or with a callback: 401 or its
 * code), then the 101 — negotiated by wavesock's sans-IO handshake
 * (`acceptRequest`: the same validation and permessage-deflate as
 * `serve()`), its header lines shown to `'headers'` listeners, written, and
 * the `WebSocket` handed to the callback synchronously, as `ws` does.
 */
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import type * as net from "node:net";
import { InvalidHandshake } from "../errors.js";
import type { ServerExtensionFactory } from "../extensions/types.js";
import { requestFromNode } from "../handshake/http.js";
import { acceptRequest, type ServerHandshakeResult } from "../handshake/server.js";
import { serverExtensions } from "../node/compression.js";
import { deflateOptions, type PerMessageDeflateOptions } from "./deflate.js";
import { WebSocket, kAttach, kStart, type SocketOptions, DEFAULT_MAX_PAYLOAD } from "./websocket.js";
import { wsError } from "./errors.js";

/** What `verifyClient` is given. */
export interface VerifyClientInfo {
  /** The `Origin` header. */
  origin: string | undefined;
  /** True for a TLS connection. */
  secure: boolean;
  /** The upgrade request. */
  req: http.IncomingMessage;
}

/** `verifyClient`: return whether to accept, or call `callback(result, code?, name?, headers?)`. */
export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean)
  | ((info: VerifyClientInfo, callback: (result: boolean, code?: number, name?: string, headers?: http.OutgoingHttpHeaders) => void) => void);

/** Options of {@link WebSocketServer}: exactly one of `port`, `server`, `noServer`. */
export interface ServerOptions extends SocketOptions {
  /** Make an HTTP server and listen on this port (0: any free port). */
  port?: number;
  /** The interface to listen on (with `port`). */
  host?: string;
  /** The listen backlog (with `port`). */
  backlog?: number;
  /** Take the upgrades of this HTTP(S) server. */
  server?: http.Server | import("node:https").Server;
  /** No HTTP server: pass upgrades to {@link WebSocketServer.handleUpgrade}. */
  noServer?: boolean;
  /** Accept only this pathname (the query is ignored). */
  path?: string;
  /** Keep the open connections in `clients` (default true). */
  clientTracking?: boolean;
  /** Choose the subprotocol from the client's (a `Set`); false: none. Default: the client's first. */
  handleProtocols?: (protocols: Set<string>, request: http.IncomingMessage) => string | false;
  /** Accept or refuse each handshake (see {@link VerifyClient}). */
  verifyClient?: VerifyClient | null;
  /** Negotiate permessage-deflate (default false) and how. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** The class of the connections: `WebSocket` or a subclass of it. */
  WebSocket?: typeof WebSocket;
}

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

/** The `Sec-WebSocket-Key` shape: base64 of 16 bytes. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;
/** Sockets a server took already (`handleUpgrade` twice on one socket is a mistake `ws` reports). */
const taken = new WeakSet<object>();

type Resolved = Required<Pick<ServerOptions, "maxPayload" | "clientTracking" | "noServer">> & ServerOptions & { WebSocket: typeof WebSocket };

/**
 * A WebSocket server with the API of the `ws` package.
 *
 * ```ts
 * import { WebSocketServer } from "wavesock/ws";
 * const wss = new WebSocketServer({ port: 8080 });
 * wss.on("connection", (ws, req) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
 * ```
 */
export class WebSocketServer extends EventEmitter {
  /** The open connections (with `clientTracking`, the default). */
  clients: Set<WebSocket> | undefined;
  /** The options, defaults filled in (as `ws` keeps them). */
  readonly options: ServerOptions;
  #server: http.Server | import("node:https").Server | null = null;
  #removeListeners: (() => void) | null = null;
  #state = RUNNING;
  #shouldEmitClose = false;
  readonly #extensions: ServerExtensionFactory[];
  readonly #WebSocket: typeof WebSocket;

  /**
   * Make a server. Throws `TypeError` unless exactly one of `port`,
   * `server` and `noServer` is given. `callback` listens for `'listening'`
   * (with `port`).
   */
  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const o = {
      allowSynchronousEvents: true,
      autoPong: true,
      maxPayload: DEFAULT_MAX_PAYLOAD,
      skipUTF8Validation: false,
      perMessageDeflate: false,
      handleProtocols: undefined,
      clientTracking: true,
      closeTimeout: 30_000,
      verifyClient: null,
      noServer: false,
      backlog: undefined,
      server: undefined,
      host: undefined,
      path: undefined,
      port: undefined,
      WebSocket,
      ...options,
    } as Resolved;
    if ((o.port == null && !o.server && !o.noServer) || (o.port != null && (o.server || o.noServer)) || (o.server && o.noServer)) {
      throw wsError("TypeError", 'One and only one of the "port", "server", or "noServer" options must be specified');
    }
    const deflate = deflateOptions(o.perMessageDeflate, false);
    this.#extensions = deflate === null ? [] : serverExtensions(deflate);
    if (o.port != null) {
      const server = http.createServer((_req, res) => {
        const body = http.STATUS_CODES[426]!;
        res.writeHead(426, { "Content-Length": body.length, "Content-Type": "text/plain" });
        res.end(body);
      });
      this.#server = server;
      server.listen(o.port, o.host, o.backlog, callback);
    } else if (o.server) {
      this.#server = o.server;
    }
    const server = this.#server;
    if (server !== null) {
      const onListening = () => this.emit("listening");
      const onError = (err: Error) => this.emit("error", err);
      const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(req, socket, head, (ws, request) => this.emit("connection", ws, request));
      };
      server.on("listening", onListening);
      server.on("error", onError);
      server.on("upgrade", onUpgrade);
      this.#removeListeners = () => {
        server.off("listening", onListening);
        server.off("error", onError);
        server.off("upgrade", onUpgrade);
      };
    }
    if (o.perMessageDeflate === true) o.perMessageDeflate = {};
    if (o.clientTracking) this.clients = new Set();
    this.options = o;
    this.#WebSocket = o.WebSocket;
  }

  /** The bound address of the HTTP server; null without one. Throws in `noServer` mode. */
  address(): net.AddressInfo | string | null {
    if (this.options.noServer) throw wsError("Error", 'The server is operating in "noServer" mode');
    if (this.#server === null) return null;
    return this.#server.address();
  }

  /**
   * Stop accepting connections; close the HTTP server if this server made
   * it. Open connections are left open (as in `ws`). `'close'` is emitted
   * once they are all closed (or at once without client tracking);
   * `callback` is called then, with an `Error` if the server was closed already.
   */
  close(callback?: (err?: Error) => void): void {
    if (this.#state === CLOSED) {
      if (callback) this.once("close", () => callback(wsError("Error", "The server is not running")));
      process.nextTick(emitClose, this);
      return;
    }
    if (callback) this.once("close", callback);
    if (this.#state === CLOSING) return;
    this.#state = CLOSING;
    const server = this.#server;
    this.#removeListeners?.();
    this.#removeListeners = null;
    this.#server = null;
    if (this.options.noServer || this.options.server) {
      if (this.clients !== undefined && this.clients.size > 0) this.#shouldEmitClose = true;
      else process.nextTick(emitClose, this);
    } else {
      server!.close(() => emitClose(this));
    }
  }

  /** @internal */
  _setClosed(): void {
    this.#state = CLOSED;
  }

  /** Whether this server takes `request`: its pathname (query ignored) is the `path` option, when given. Override to route otherwise. */
  shouldHandle(request: http.IncomingMessage): boolean {
    const path = this.options.path;
    if (path) {
      const url = request.url ?? "";
      const q = url.indexOf("?");
      if ((q === -1 ? url : url.slice(0, q)) !== path) return false;
    }
    return true;
  }

  /**
   * Take an HTTP upgrade request (from an `'upgrade'` event). When the
   * handshake succeeds, `callback(ws, request)` is called with the
   * connection; otherwise the client gets the HTTP error (`'wsClientError'`
   * listeners answer it themselves for malformed requests).
   */
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: WebSocket, request: http.IncomingMessage) => void): void {
    socket.on("error", destroyOnError);
    const headers = request.headers;
    const key = headers["sec-websocket-key"];
    const upgrade = headers.upgrade;
    const version = Number(headers["sec-websocket-version"]);
    if (request.method !== "GET") return this.#clientError(request, socket, 405, "Invalid HTTP method");
    if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") return this.#clientError(request, socket, 400, "Invalid Upgrade header");
    if (key === undefined || !KEY.test(key)) return this.#clientError(request, socket, 400, "Missing or invalid Sec-WebSocket-Key header");
    // ws also takes version 8 (a 2011 draft); wavesock speaks RFC 6455's 13 only.
    if (version !== 13) {
      return this.#clientError(request, socket, 400, "Missing or invalid Sec-WebSocket-Version header", { "Sec-WebSocket-Version": "13" });
    }
    if (!this.shouldHandle(request)) return abortHandshake(socket, 400);
    const header = headers["sec-websocket-protocol"];
    let protocols = new Set<string>();
    if (header !== undefined) {
      const parsed = parseProtocols(header);
      if (parsed === null) return this.#clientError(request, socket, 400, "Invalid Sec-WebSocket-Protocol header");
      protocols = parsed;
    }
    const verify = this.options.verifyClient;
    if (verify) {
      const info: VerifyClientInfo = {
        origin: headers.origin,
        secure: Boolean((request.socket as { authorized?: boolean; encrypted?: boolean }).authorized || (request.socket as { encrypted?: boolean }).encrypted),
        req: request,
      };
      if (verify.length === 2) {
        (verify as (i: VerifyClientInfo, cb: (r: boolean, c?: number, n?: string, h?: http.OutgoingHttpHeaders) => void) => void)(
          info,
          (verified, code, name, extra) => {
            if (!verified) return abortHandshake(socket, code || 401, name, extra);
            this.#complete(protocols, request, socket, head, callback);
          },
        );
        return;
      }
      if (!(verify as (i: VerifyClientInfo) => boolean)(info)) return abortHandshake(socket, 401);
    }
    this.#complete(protocols, request, socket, head, callback);
  }

  #complete(protocols: Set<string>, request: http.IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: WebSocket, request: http.IncomingMessage) => void): void {
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    if (taken.has(socket)) {
      throw wsError("Error", "server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration");
    }
    if (this.#state > RUNNING) return abortHandshake(socket, 503);
    const handleProtocols = this.options.handleProtocols;
    const httpRequest = requestFromNode(request);
    let result: ServerHandshakeResult;
    try {
      result = acceptRequest(httpRequest, {
        extensions: this.#extensions,
        selectSubprotocol: () => {
          if (protocols.size === 0) return null;
          const chosen = handleProtocols ? handleProtocols(protocols, request) : protocols.values().next().value!;
          return chosen ? chosen : null;
        },
      });
    } catch (err) {
      if (err instanceof InvalidHandshake) return this.#clientError(request, socket, err.status, capitalize(err.message), err.headers);
      return abortHandshake(socket, 500);
    }
    const ws = new this.#WebSocket(null, undefined, this.options);
    const h = result.response.headers;
    const lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${h["sec-websocket-accept"]}`];
    if (h["sec-websocket-protocol"] !== undefined) lines.push(`Sec-WebSocket-Protocol: ${h["sec-websocket-protocol"]}`);
    if (h["sec-websocket-extensions"] !== undefined) lines.push(`Sec-WebSocket-Extensions: ${h["sec-websocket-extensions"]}`);
    this.emit("headers", lines, request);
    taken.add(socket);
    socket.off("error", destroyOnError);
    const preamble = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
    ws[kAttach](socket as net.Socket, { request: httpRequest, response: result.response, subprotocol: result.subprotocol }, result.extensions, this.options, preamble);
    const clients = this.clients;
    if (clients !== undefined) {
      clients.add(ws);
      ws.on("close", () => {
        clients.delete(ws);
        if (this.#shouldEmitClose && clients.size === 0) process.nextTick(emitClose, this);
      });
    }
    callback(ws, request);
    ws[kStart](head);
  }

  /** `ws`'s answer to a malformed request: a `'wsClientError'` for its listeners to answer, else the 4xx. */
  #clientError(request: http.IncomingMessage, socket: Duplex, code: number, message: string, headers?: http.OutgoingHttpHeaders): void {
    if (this.listenerCount("wsClientError") > 0) {
      this.emit("wsClientError", wsError("Error", message), socket, request);
      return;
    }
    abortHandshake(socket, code, message, headers);
  }
}

/**
 * The typed events of {@link WebSocketServer}.
 */
export interface WebSocketServer {
  /** A handshake succeeded. */
  on(event: "connection", listener: (this: WebSocketServer, ws: WebSocket, request: http.IncomingMessage) => void): this;
  /** The 101's header lines, before they are written: push to add headers. */
  on(event: "headers", listener: (this: WebSocketServer, headers: string[], request: http.IncomingMessage) => void): this;
  /** A malformed upgrade request: the listener answers the socket (and closes it). */
  on(event: "wsClientError", listener: (this: WebSocketServer, error: Error, socket: Duplex, request: http.IncomingMessage) => void): this;
  /** The HTTP server's error. */
  on(event: "error", listener: (this: WebSocketServer, error: Error) => void): this;
  /** The HTTP server listens; or the server closed. */
  on(event: "listening" | "close", listener: (this: WebSocketServer) => void): this;
  /** Any other event. */
  on(event: string | symbol, listener: (this: WebSocketServer, ...args: any[]) => void): this;
}

function emitClose(server: WebSocketServer): void {
  server._setClosed();
  server.emit("close");
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** The `Sec-WebSocket-Protocol` list as `ws` reads it: tokens, comma-separated, no duplicates; null when malformed. */
function parseProtocols(header: string): Set<string> | null {
  const out = new Set<string>();
  for (const part of header.split(",")) {
    const p = part.trim();
    if (!TOKEN.test(p) || out.has(p)) return null;
    out.add(p);
  }
  return out;
}

function capitalize(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}

/** Answer the upgrade with an HTTP error and close, as `ws` words it. */
function abortHandshake(socket: Duplex, code: number, message?: string, headers?: http.OutgoingHttpHeaders): void {
  const body = message || http.STATUS_CODES[code] || "";
  const all: http.OutgoingHttpHeaders = {
    Connection: "close",
    "Content-Type": "text/html",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  };
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\n${Object.keys(all)
      .map((h) => `${h}: ${String(all[h])}`)
      .join("\r\n")}\r\n\r\n${body}`,
  );
}
