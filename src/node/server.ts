/**
 * `serve(handler)` — a WebSocket server on `node:net` / `node:tls` — and
 * `attach(httpServer, handler)` for an existing `node:http(s)` server (or
 * `attach(null, handler)`, whose upgrades the caller routes to
 * `server.handleUpgrade()`).
 *
 * Both run the same steps on each new TCP connection: read the request head
 * (bounded, with `openTimeout`), let `processRequest` answer it, validate and
 * negotiate with the sans-IO handshake, let `processResponse` see the 101,
 * then hand a {@link Connection} to the handler. A handler that returns closes
 * its connection with 1000; one that throws, with 1011 — the server goes on.
 *
 * Application code never crashes the server: a `processRequest` /
 * `processResponse` that throws, or returns a response that cannot be sent
 * (see `handshake/response.ts`), gets the client a 500 and is logged through
 * `logger` — a bad response once per distinct mistake, so that a mistake on
 * every request does not flood the log. Only the handshake answers 101:
 * `processRequest` may not, and `processResponse` may edit the 101 but not
 * the headers the handshake negotiated.
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import { ConnectionClosed, InvalidHandshake, InvalidState, isArgumentError } from "../errors.js";
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
import { checkResponse, isResponseProblem, type HttpResponseInit } from "../handshake/response.js";
import {
  acceptRequest,
  rejectResponse,
  responseForError,
  type OriginPolicy,
  type ServerHandshakeOptions,
  type ServerHandshakeResult,
} from "../handshake/server.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { runHandlers, type ConnectionHandlers, type HandlersHost } from "./handlers.js";
import { serverExtensions, type CompressionOption } from "./compression.js";
import { TopicHub, type PubSubBackplane, type TopicOptions, type TopicStats } from "./topics.js";
import { readIntoSharedBuffer } from "./read-buffer.js";
import { socketAnswered } from "./upgrades.js";

/** A connection handler: runs for as long as the connection should live. */
export type Handler = (connection: Connection) => unknown | Promise<unknown>;

export type { ConnectionHandlers } from "./handlers.js";

/** What `processRequest` and `processResponse` see of a connection that is not open yet. */
export interface PendingConnection {
  /** The peer's address. */
  readonly remoteAddress: string | undefined;
  /** The peer's port. */
  readonly remotePort: number | undefined;
  /** The raw socket (read-only use: the server owns it). */
  readonly socket: net.Socket;
  /**
   * Build a plain-text HTTP response, e.g. `respond(404, "Not Found\n")`.
   * Throws `RangeError` for a status outside 200–599 and `TypeError` for a
   * header that cannot be sent (inside `processRequest`, that is a 500).
   */
  respond(status: number, text?: string, headers?: Record<string, string | number>): HttpResponse;
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
   * The one path this server takes, matched exactly against the request's
   * pathname: the query string is ignored, nothing else is (`/chat` takes
   * `/chat` and `/chat?room=1`, not `/chat/` nor `/Chat`). With `attach`,
   * other requests are left to the HTTP server's other `'upgrade'`
   * listeners; with `serve`, they are answered 404 (after `processRequest`,
   * which may answer them first).
   */
  path?: string;
  /**
   * (attach only) Whether this server takes an upgrade request, after
   * `path`: return false to leave it to the other `'upgrade'` listeners
   * (several endpoints on one HTTP server). Default: take every request.
   */
  shouldHandle?: (request: IncomingMessage) => boolean;
  /**
   * Inspect the request before the handshake. Return an HTTP response to
   * answer with it instead of upgrading (404, 401, a health check, a page):
   * `connection.respond(status, text)`, or `{ status, reason?, headers?,
   * body? }` (the reason defaults to the standard phrase, a string body is
   * sent as UTF-8, `Content-Length` is computed); return nothing to go on
   * with the WebSocket handshake. A status outside 200–599, or a header
   * that cannot be sent, answers 500 and is logged.
   */
  processRequest?: (
    connection: PendingConnection,
    request: HttpRequest,
  ) => HttpResponseInit | null | undefined | void | Promise<HttpResponseInit | null | undefined | void>;
  /**
   * Inspect or replace the response (the 101, or a refusal) before it is
   * sent: edit it in place or return a new one. A 101 may get headers but
   * may not change the ones the handshake negotiated; returning a refusal
   * instead of the 101 refuses the connection.
   */
  processResponse?: (
    connection: PendingConnection,
    request: HttpRequest,
    response: HttpResponse,
  ) => HttpResponseInit | null | undefined | void | Promise<HttpResponseInit | null | undefined | void>;
  /**
   * Which origins may connect: exact origins (`"https://example.com"`),
   * RegExps and `null` (no `Origin` header) in an array, or a predicate
   * `(origin, request) => boolean`. Others get 403. Absent or null: any origin.
   */
  origins?: OriginPolicy | null;
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
  /** The backplane that carries topic publishes between server instances: `redisPubSub({...})`; default in-process (`localPubSub()`). */
  pubsub?: PubSubBackplane | null;
  /** How topic messages are framed (`envelope`: message ids for resume) and the slow-subscriber policy. */
  topics?: TopicOptions | null;
}

const DEFAULT_SERVER_HEADER = "wavesock/0.1";

/** Distinct bad responses logged per server; beyond, they are answered 500 silently (the log stays bounded). */
const MAX_LOGGED_MISTAKES = 64;

/** The headers of a 101 that the handshake negotiated: `processResponse` may not change them. */
const HANDSHAKE_HEADERS = ["upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions"];

/** Sent when even a 500 could not be serialised (it always can: belt and braces). */
const INTERNAL_ERROR = serializeResponse(rejectResponse(500, "Internal Server Error\n"));

/**
 * A running WebSocket server: from {@link serve} or {@link attach}.
 */
export class Server implements HandlersHost {
  /** The open WebSocket connections. */
  readonly connections = new Set<Connection>();
  /**
   * The `net.Server` / `tls.Server` / `http.Server` this server runs on;
   * null for a server made by `attach(null, handler)`, which only gets the
   * upgrades passed to {@link handleUpgrade}.
   */
  readonly server: net.Server | null;
  private readonly handler: Handler | ConnectionHandlers;
  private readonly options: ServerOptions;
  private readonly handshakeOptions: ServerHandshakeOptions;
  private activeHandlers = 0;
  private handlersIdle: (() => void) | null = null;
  /** @internal Sockets still in their opening handshake. */
  readonly pendingSockets = new Set<net.Socket>();
  private closing: Promise<void> | null = null;
  private readonly ownsServer: boolean;
  private readonly mistakes = new Set<string>();

  /** @internal Use {@link serve} or {@link attach}. */
  constructor(server: net.Server | null, handler: Handler | ConnectionHandlers, options: ServerOptions, ownsServer: boolean) {
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
    this.topicHub = new TopicHub(options.pubsub, options.topics ?? undefined);
  }

  private boundAddress: net.AddressInfo | null = null;

  /** The bound address (still known after `close()`). Throws `InvalidState` before the server listens. */
  get address(): net.AddressInfo {
    const live = this.server?.address();
    if (live != null && typeof live === "object") this.boundAddress = live;
    if (this.boundAddress === null) {
      throw new InvalidState(this.server === null ? "server made by attach(null, ...) does not listen" : "server is not listening");
    }
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
   * Whether this server takes an upgrade request: its `path` (exact
   * pathname, query ignored) and its `shouldHandle`. For routing upgrades
   * yourself: `if (wss.shouldHandle(req)) wss.handleUpgrade(req, socket, head)`.
   */
  shouldHandle(request: IncomingMessage): boolean {
    const { path, shouldHandle } = this.options;
    if (path !== undefined && !pathMatches(request.url ?? "", path)) return false;
    if (shouldHandle === undefined) return true;
    try {
      return Boolean(shouldHandle(request));
    } catch (err) {
      this.logError("shouldHandle failed", err);
      return false;
    }
  }

  /**
   * Take an HTTP upgrade request that `node:http` has already parsed (an
   * `'upgrade'` event) and run the same validation as `serve`: the
   * "noServer" pattern, with a server from `attach(null, handler)`. A request
   * that {@link shouldHandle} refuses is answered 404.
   *
   * ```ts
   * const chat = attach(null, chatHandler);
   * httpServer.on("upgrade", (req, socket, head) => {
   *   if (new URL(req.url!, "http://x").pathname === "/chat") chat.handleUpgrade(req, socket, head);
   * });
   * ```
   */
  handleUpgrade(req: IncomingMessage, socket: net.Socket, head: Buffer): void {
    if (!this.shouldHandle(req)) {
      if (!socketAnswered(socket)) {
        socket.on("error", () => socket.destroy());
        socket.end(serializeResponse(rejectResponse(404, "Not Found\n")));
      }
      return;
    }
    this.takeUpgrade(req, socket, head);
  }

  /** @internal An upgrade request this server takes (already matched). */
  takeUpgrade(req: IncomingMessage, socket: net.Socket, head: Buffer): void {
    if (this.refuseIfFull(socket)) return;
    socket.setNoDelay(true);
    const pending = new PendingHandshake(this, socket, undefined, this.options.openTimeout ?? 10_000, false);
    let request: HttpRequest;
    try {
      request = requestFromNode(req);
    } catch (err) {
      pending.detach();
      this.rejectHandshake(socket, err);
      return;
    }
    void this.upgrade(pending, request, head);
  }

  /** @internal How long a request no endpoint takes may wait for another `'upgrade'` listener. */
  get unclaimedTimeout(): number {
    return this.options.openTimeout ?? 10_000;
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

  /**
   * @internal The request head is in: answer it, and upgrade if all is
   * well. Never rejects: whatever goes wrong ends with a response or a
   * destroyed socket, and a log line.
   */
  async upgrade(pending: PendingHandshake, request: HttpRequest, rest: Uint8Array): Promise<void> {
    try {
      await this.answer(pending, request, rest);
    } catch (err) {
      this.logError("internal error while answering an opening handshake", err);
      pending.detach();
      pending.socket.destroy();
    }
  }

  private async answer(pending: PendingHandshake, request: HttpRequest, rest: Uint8Array): Promise<void> {
    const socket = pending.socket;
    const { processRequest, processResponse, path } = this.options;
    const pc = processRequest || processResponse ? this.pendingConnection(socket) : undefined;
    let response: HttpResponse | null = null;
    let result: ServerHandshakeResult | null = null;
    if (processRequest) {
      try {
        const early: unknown = await processRequest(pc!, request);
        if (early !== undefined && early !== null) response = this.checkAnswer("processRequest", early, null);
      } catch (err) {
        response = this.hookFailed("processRequest", err);
      }
    }
    if (response === null && path !== undefined && !pathMatches(request.path, path)) {
      response = rejectResponse(404, "Not Found\n");
    }
    if (response === null) {
      try {
        result = acceptRequest(request, this.handshakeOptions);
        response = result.response;
      } catch (err) {
        response =
          err instanceof InvalidHandshake ? responseForError(err) : this.hookFailed("the handshake (origins, selectSubprotocol or an extension)", err);
      }
    }
    if (processResponse) {
      const negotiated = result === null ? null : pick(response.headers, HANDSHAKE_HEADERS);
      try {
        const replaced: unknown = await processResponse(pc!, request, response);
        // Edited in place or replaced: checked either way.
        response = this.checkAnswer("processResponse", replaced ?? response, negotiated);
      } catch (err) {
        response = this.hookFailed("processResponse", err);
      }
    }
    if (result === null || response.status !== 101) {
      result?.extensions.forEach((e) => e.dispose?.());
      if (!socket.destroyed) this.endWith(socket, response);
      return;
    }
    if (socket.destroyed) {
      result.extensions.forEach((e) => e.dispose?.());
      return;
    }
    const head = serializeResponse(response);
    // The connection is open: drop everything the handshake needed.
    pending.detach();
    const protocol = new Protocol("server", {
      maxSize: this.options.maxSize === undefined ? 1024 * 1024 : this.options.maxSize,
      extensions: result.extensions,
    });
    const conn = new Connection(socket, protocol, { request, response, subprotocol: result.subprotocol }, this.options);
    // The 101 goes out corked with whatever the handler sends in this turn.
    conn.writeRaw(head);
    this.connections.add(conn);
    conn.topicHub = this.topicHub;
    conn.onClosed = this.forget;
    // Resume first: bytes that came with the request may fill the queue and
    // pause the socket again (backpressure), which must stand.
    socket.resume();
    if (rest.length > 0) conn.receive(rest);
    this.runHandler(conn);
  }

  /**
   * A response from `processRequest` / `processResponse`, checked and
   * completed; a 500 (logged) when it cannot be sent. `negotiated` holds the
   * 101's handshake headers when the handshake made one, null otherwise.
   */
  private checkAnswer(hook: string, value: unknown, negotiated: Record<string, string | undefined> | null): HttpResponse {
    const checked = checkResponse(value);
    if (isResponseProblem(checked)) return this.mistake(`${hook} returned a response that ${checked.problem}`, checked.detail);
    const status = checked.status;
    if (status === 101) {
      if (negotiated === null) {
        return this.mistake(
          hook === "processRequest"
            ? "processRequest returned a 101: only the WebSocket handshake answers 101 (return undefined to go on with it)"
            : "processResponse turned a refusal into a 101: only the WebSocket handshake answers 101",
          "",
        );
      }
      for (const name of HANDSHAKE_HEADERS) {
        if (checked.headers[name] !== negotiated[name]) {
          return this.mistake(`processResponse changed the "${name}" header of the 101, which the handshake negotiated`, "");
        }
      }
    } else if (status < 200) {
      return this.mistake(`${hook} returned status ${status}: a 1xx is not a final response`, "");
    }
    return checked;
  }

  /** `processRequest` / `processResponse` / a handshake callback threw: 500, logged. */
  private hookFailed(hook: string, err: unknown): HttpResponse {
    // respond(99) and the like: a mistake in the code, the same on every request.
    if (isArgumentError(err)) return this.mistake(`${hook} failed: ${err.message}`, "");
    this.logError(`${hook} failed`, err);
    return rejectResponse(500, "Internal Server Error\n");
  }

  /** Log a programming error once per distinct `message` (bounded), and answer 500. */
  private mistake(message: string, detail: string): HttpResponse {
    if (!this.mistakes.has(message) && this.mistakes.size < MAX_LOGGED_MISTAKES) {
      this.mistakes.add(message);
      const logger = this.options.logger === undefined ? console : this.options.logger;
      logger?.error(`wavesock: ${message}${detail ? ` (${detail})` : ""}; answered 500 Internal Server Error instead (logged once)`);
    }
    return rejectResponse(500, "Internal Server Error\n");
  }

  /** Answer with a response that is not a 101 and close: `Connection: close` always (we do close). */
  private endWith(socket: net.Socket, response: HttpResponse): void {
    let bytes: Uint8Array;
    try {
      bytes = serializeResponse({ ...response, headers: { ...response.headers, connection: "close" } });
    } catch (err) {
      this.logError("internal error while serialising a response", err);
      bytes = INTERNAL_ERROR;
    }
    socket.end(bytes);
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
    const handler = this.handler;
    if (typeof handler !== "function") {
      // { open, message, close }: ./handlers.ts; handlerEnded() comes after `close`.
      runHandlers(this, conn, handler);
      return;
    }
    let result: unknown;
    try {
      result = handler(conn);
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

  /** @internal HandlersHost: a connection's handler is done. */
  handlerEnded(): void {
    if (--this.activeHandlers === 0 && this.handlersIdle !== null) this.handlersIdle();
  }

  /** @internal Answer a broken handshake with its HTTP status and close. */
  rejectHandshake(socket: net.Socket, err: unknown): void {
    const response = err instanceof InvalidHandshake ? responseForError(err) : rejectResponse(400, "Bad Request\n");
    if (!socket.destroyed) this.endWith(socket, response);
  }

  /** @internal HandlersHost: a callback failed. */
  handlerError(what: string, err: unknown): void {
    this.logError(what, err);
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
        if (!this.ownsServer || !this.server?.listening) resolve();
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
        await this.topicHub.close();
        await listening;
      } finally {
        clearInterval(alive);
      }
    })();
    return this.closing;
  }

  // ------------------------------------------------------------------ topics
  // The logic lives in ./topics.ts; the backplane is the `pubsub` option.

  private readonly topicHub: TopicHub;

  /**
   * Publish `message` to every subscriber of `topic` on every server instance
   * sharing the backplane. Frames once, never waits for a slow subscriber.
   */
  publish(topic: string, message: string | Uint8Array | ArrayBuffer, options?: { compress?: boolean }): void {
    this.topicHub.publish(topic, message, options, null);
  }

  /** How many connections of this server are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.topicHub.subscriberCount(topic);
  }

  /** Deliveries skipped and subscribers closed by the slow-subscriber policy (`topics` option). */
  get topicStats(): Readonly<TopicStats> {
    return { ...this.topicHub.stats };
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
    this.timer = setTimeout(destroySocket.bind(socket), openTimeout);
    this.timer.unref();
    server.pendingSockets.add(socket);
    // Listeners shared by every socket, finding this object on the socket.
    (socket as PendingSocket)[kPending] = this;
    // The request is read like the messages later: into the shared read
    // buffer where Node allows it (./read-buffer.ts), else as 'data' events.
    if (read && !readIntoSharedBuffer(socket, onHandshakeRead)) socket.on("data", onHandshakeData);
    socket.on("error", destroySocket);
    socket.on("close", onHandshakeClose);
  }

  /** Bytes of the request; `borrowed`: a view of the shared read buffer, valid during the call. */
  onBytes(chunk: Uint8Array, borrowed: boolean): void {
    const parser = this.parser;
    if (parser === null) return; // answered already: what follows is not read
    let request: HttpRequest | null;
    try {
      request = parser.push(chunk);
    } catch (err) {
      this.stopReading();
      this.server.rejectHandshake(this.socket, err);
      return;
    }
    if (request === null) return;
    let rest = parser.rest;
    if (borrowed && rest.length > 0) rest = Buffer.from(rest);
    this.stopReading();
    this.socket.pause();
    void this.server.upgrade(this, request, rest);
  }

  private stopReading(): void {
    this.parser = null;
    this.socket.off("data", onHandshakeData);
  }

  /** Stop handling the socket as a pending handshake (it is open, refused or closed). */
  detach(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.parser = null;
    const socket = this.socket;
    (socket as PendingSocket)[kPending] = null;
    this.server.pendingSockets.delete(socket);
    socket.off("data", onHandshakeData);
    socket.off("error", destroySocket);
    socket.off("close", onHandshakeClose);
  }
}

const kPending = Symbol("wavesock.pending");
type PendingSocket = net.Socket & { [kPending]: PendingHandshake | null };

function onHandshakeRead(this: net.Socket, chunk: Uint8Array): void {
  (this as PendingSocket)[kPending]?.onBytes(chunk, true);
}
function onHandshakeData(this: net.Socket, chunk: Buffer): void {
  (this as PendingSocket)[kPending]?.onBytes(chunk, false);
}
function onHandshakeClose(this: net.Socket): void {
  (this as PendingSocket)[kPending]?.detach();
}

function noop(): void {}

function destroySocket(this: net.Socket): void {
  this.destroy();
}

/** True when the request target's pathname (before any `?`) is exactly `path`. */
function pathMatches(target: string, path: string): boolean {
  const q = target.indexOf("?");
  return (q === -1 ? target : target.slice(0, q)) === path;
}

function pick(headers: Record<string, string>, names: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of names) out[name] = headers[name];
  return out;
}
