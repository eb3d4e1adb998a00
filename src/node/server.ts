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
 * (see `./answers.ts`), gets the client a 500 and is logged through
 * `logger` — a bad response once per distinct mistake, so that a mistake on
 * every request does not flood the log. Only the handshake answers 101:
 * `processRequest` may not, and `processResponse` may edit the 101 but not
 * the headers the handshake negotiated.
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type * as net from "node:net";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { ConnectionClosed, InvalidHandshake, InvalidState } from "../errors.js";
import { Protocol } from "../connection/protocol.js";
import { requestFromNode, serializeResponse, type HttpRequest, type HttpResponse } from "../handshake/http.js";
import {
  acceptRequest,
  rejectResponse,
  responseForError,
  type ServerHandshakeOptions,
  type ServerHandshakeResult,
} from "../handshake/server.js";
import { HookAnswers, negotiatedHeaders } from "./answers.js";
import { Connection } from "./connection.js";
import { runHandlers, type ConnectionHandlers } from "./handlers.js";
import { serverExtensions } from "./compression.js";
import { TopicHub, type TopicStats } from "./topics.js";
import { socketAnswered } from "./upgrades.js";
import { ServerCounters, publishError, publishHandshake, publishOpen, watchingHandshakes, type ServerStats } from "./diagnostics.js";
import { logConnectionLine, logLine, resolveLogger, type Logger } from "./logging.js";
import { PendingHandshake } from "./pending.js";
import { closeOnSignals, type ServeForeverOptions } from "./serve-forever.js";
import type { Handler, RequestRouting, ServerOptions } from "./server-options.js";

export type { PendingConnection } from "./pending.js";
export type { Handler, ServerOptions, RequestRouting, ProcessRequestResult } from "./server-options.js";
export type { ConnectionHandlers } from "./handlers.js";

const DEFAULT_SERVER_HEADER = "wavesock/0.1";

/** Sent when even a 500 could not be serialised (it always can: belt and braces). */
const INTERNAL_ERROR = serializeResponse(rejectResponse(500, "Internal Server Error\n"));

/**
 * A running WebSocket server: from {@link serve} or {@link attach}.
 */
export class Server {
  /** The open WebSocket connections. */
  readonly connections = new Set<Connection>();
  /**
   * The `net.Server` / `tls.Server` / `http.Server` this server runs on;
   * null for a server made by `attach(null, handler)`, which only gets the
   * upgrades passed to {@link handleUpgrade}.
   */
  readonly server: net.Server | null;
  private readonly handler: Handler | ConnectionHandlers;
  /** The router's side of the handler (`route()`): which paths it takes, its 404s. */
  private get routing(): RequestRouting | undefined {
    return typeof this.handler === "function" ? this.handler.routing : undefined;
  }
  private readonly options: ServerOptions;
  private readonly handshakeOptions: ServerHandshakeOptions;
  private activeHandlers = 0;
  private handlersIdle: (() => void) | null = null;
  /** @internal Sockets still in their opening handshake. */
  readonly pendingSockets = new Set<net.Socket>();
  private closing: Promise<void> | null = null;
  private readonly ownsServer: boolean;
  private readonly logger: Logger | null;
  /** Checks on processRequest / processResponse answers (./answers.ts). */
  private readonly answers: HookAnswers;
  private readonly counters = new ServerCounters();
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  private isClosed = false;

  /** @internal Use {@link serve} or {@link attach}. */
  constructor(server: net.Server | null, handler: Handler | ConnectionHandlers, options: ServerOptions, ownsServer: boolean) {
    this.server = server;
    this.ownsServer = ownsServer;
    this.handler = handler;
    this.options = options;
    this.logger = resolveLogger(options.logger);
    this.answers = new HookAnswers(this.logger);
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

  /**
   * The bound address (still known after `close()`). Throws `InvalidState`
   * before the server listens, and for a server on a Unix socket (see
   * {@link socketPath}).
   */
  get address(): net.AddressInfo {
    const live = this.server?.address();
    if (live != null && typeof live === "object") this.boundAddress = live;
    if (this.boundAddress === null) {
      throw new InvalidState(
        this.server === null
          ? "server made by attach(null, ...) does not listen"
          : this.socketPath !== null
            ? `server listens on the Unix socket ${this.socketPath}, which has no address or port: see server.socketPath`
            : "server is not listening",
      );
    }
    return this.boundAddress;
  }

  /** The Unix socket path a server from `serve(handler, { socketPath })` listens on; null otherwise. */
  get socketPath(): string | null {
    return this.ownsServer ? (this.options.socketPath ?? null) : null;
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
    // Node caches the address once read: read it now if a debug line may need it after the socket closed.
    if (this.logs("debug")) void socket.remoteAddress;
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
    const routing = this.routing;
    if (routing !== undefined && !routing.takes(request.url ?? "")) return false;
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
   * that {@link shouldHandle} refuses is answered 404. `socket` is typed
   * as Node's `'upgrade'` event types it (a `Duplex`); it is the request's
   * `net.Socket` (or `tls.TLSSocket`).
   *
   * ```ts
   * const chat = attach(null, chatHandler);
   * httpServer.on("upgrade", (req, socket, head) => {
   *   if (new URL(req.url!, "http://x").pathname === "/chat") chat.handleUpgrade(req, socket, head);
   * });
   * ```
   */
  handleUpgrade(req: IncomingMessage, duplex: Duplex, head: Buffer): void {
    const socket = duplex as net.Socket;
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
      this.rejectHandshake(pending, err);
      return;
    }
    pending.request = request;
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
    const response = rejectResponse(503, this.closing ? "Server is shutting down.\n" : "Too many connections.\n");
    socket.end(serializeResponse(response));
    // Read (and drop) what comes, so that the client's FIN is seen and the socket closes; a client
    // that never closes is dropped after openTimeout (without this, it held the socket, and close(), forever).
    socket.resume();
    const drop = setTimeout(() => socket.destroy(), this.unclaimedTimeout);
    drop.unref();
    socket.once("close", () => clearTimeout(drop));
    this.counters.answered(503);
    if (watchingHandshakes()) {
      publishHandshake({ server: this, socket, request: null, response, status: 503, duration: 0, connection: null });
    }
    return true;
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
      if (pending.settle()) this.handshakeDropped(pending);
    }
  }

  private async answer(pending: PendingHandshake, request: HttpRequest, rest: Uint8Array): Promise<void> {
    const socket = pending.socket;
    const { processRequest, processResponse, path } = this.options;
    const routing = this.routing;
    const pc = processRequest || processResponse || routing ? pending.connection() : undefined;
    let response: HttpResponse | null = null;
    let result: ServerHandshakeResult | null = null;
    if (processRequest) response = await this.answers.processRequest(processRequest, pc!, request);
    if (response === null && path !== undefined && !pathMatches(request.path, path)) {
      response = rejectResponse(404, "Not Found\n");
    }
    // The router's own hook (404 for a path no route takes, a route's processRequest) after the option's.
    if (response === null && routing !== undefined) response = await this.answers.processRequest(routing.processRequest.bind(routing), pc!, request);
    if (response === null) {
      try {
        result = acceptRequest(request, this.handshakeOptions);
        response = result.response;
      } catch (err) {
        response =
          err instanceof InvalidHandshake
            ? responseForError(err)
            : this.answers.failed("the handshake (origins, selectSubprotocol or an extension)", err, "handshake");
      }
    }
    if (processResponse) {
      const negotiated = result === null ? null : negotiatedHeaders(response);
      try {
        const replaced: unknown = await processResponse(pc!, request, response);
        // Edited in place or replaced: checked either way.
        response = this.answers.check("processResponse", replaced ?? response, negotiated);
      } catch (err) {
        response = this.answers.failed("processResponse", err, "processResponse");
      }
    }
    if (result === null || response.status !== 101) {
      result?.extensions.forEach((e) => e.dispose?.());
      this.refuse(pending, request, response);
      return;
    }
    if (socket.destroyed) {
      result.extensions.forEach((e) => e.dispose?.());
      return; // dropped: reported when the socket's 'close' reaches the pending handshake
    }
    const head = serializeResponse(response);
    // The connection is open: drop everything the handshake needed.
    pending.detach();
    const protocol = new Protocol("server", {
      maxSize: this.options.maxSize === undefined ? 1024 * 1024 : this.options.maxSize,
      extensions: result.extensions,
    });
    const conn = new Connection(socket, protocol, { request, response, subprotocol: result.subprotocol }, this.options);
    conn.loggerBase = this.logger;
    conn.adoptData(pending.data);
    // The 101 goes out corked with whatever the handler sends in this turn.
    conn.writeRaw(head);
    this.connections.add(conn);
    conn.topicHub = this.topicHub;
    conn.onClosed = this.forget;
    this.handshakeAnswered(pending, request, response, conn);
    publishOpen(conn); // after the handshake event (a client connection publishes its own in its constructor)
    if (this.logs("info")) logConnectionLine(conn.logger, this.logger, "info", "connection open", conn.subprotocol === null ? undefined : { subprotocol: conn.subprotocol });
    // Resume first: bytes that came with the request may fill the queue and
    // pause the socket again (backpressure), which must stand.
    socket.resume();
    if (rest.length > 0) conn.receive(rest);
    this.runHandler(conn);
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
    // Read (and drop) the rest, so that the client's FIN is seen at once rather than at openTimeout.
    socket.resume();
  }

  /** Refuse: answer `response` (not a 101) and close; count and publish it. */
  private refuse(pending: PendingHandshake, request: HttpRequest | null, response: HttpResponse): void {
    if (pending.socket.destroyed) return; // dropped: reported by the pending handshake
    this.endWith(pending.socket, response);
    this.handshakeAnswered(pending, request, response, null);
    if (this.logs("info")) logLine(this.logger, "info", "connection refused", { status: response.status, path: pathOf(request), remoteAddress: pending.socket.remoteAddress });
  }

  /** A handshake got its answer: counted, and published when somebody listens. */
  private handshakeAnswered(pending: PendingHandshake, request: HttpRequest | null, response: HttpResponse, connection: Connection | null): void {
    if (!pending.settle()) return;
    this.counters.answered(response.status);
    if (watchingHandshakes()) {
      const duration = performance.now() - pending.startedAt;
      publishHandshake({ server: this, socket: pending.socket, request, response, status: response.status, duration, connection });
    }
  }

  /** @internal A handshake ended without an answer (timeout, reset, the client left). */
  handshakeDropped(pending: PendingHandshake): void {
    this.counters.dropped();
    const request = pending.request;
    if (watchingHandshakes()) {
      const duration = performance.now() - pending.startedAt;
      publishHandshake({ server: this, socket: pending.socket, request, response: null, status: null, duration, connection: null });
    }
    if (this.logs("debug")) logLine(this.logger, "debug", "opening handshake ended without an answer", { path: pathOf(request), remoteAddress: pending.socket.remoteAddress });
  }

  private readonly forget = (conn: Connection) => {
    this.connections.delete(conn);
    // An unexpected error while reading failed the connection with 1011 and
    // a fixed reason on the wire (no internal text goes out): the details go
    // to the log, and stay on the error the handler caught.
    const failure = conn.core.failure;
    if (failure !== null && failure.code === "WS_ERR_INTERNAL") this.logError("internal error on a connection", failure);
    this.counters.closed(conn);
    if (this.logs("info")) logConnectionLine(conn.logger, this.logger, "info", "connection closed", { code: conn.closeCode ?? 1006, reason: conn.closeReason ?? "" });
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
      publishError(conn, "handler", err);
      if (this.logger !== null) logConnectionLine(conn.logger, this.logger, "error", "connection handler failed", undefined, err);
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
  rejectHandshake(pending: PendingHandshake, err: unknown): void {
    const response = err instanceof InvalidHandshake ? responseForError(err) : rejectResponse(400, "Bad Request\n");
    this.refuse(pending, null, response);
  }

  /** Whether the logger has `level` (checked before touching `conn.logger`, which makes the connection's id). */
  private logs(level: "debug" | "info"): boolean {
    return typeof this.logger?.[level] === "function";
  }

  /** @internal HandlersHost: a callback failed. */
  handlerError(what: string, err: unknown): void {
    this.logError(what, err);
  }

  private logError(what: string, err: unknown): void {
    logLine(this.logger, "error", what, undefined, err);
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
        this.isClosed = true;
        this.resolveClosed?.();
      } finally {
        clearInterval(alive);
      }
    })();
    return this.closing;
  }

  // -------------------------------------------- lifetime and observability

  /**
   * Resolves once the server is closed: {@link close} has finished (every
   * connection closed, every handler returned). Never rejects. For scripts,
   * see {@link serveForever}.
   */
  get closed(): Promise<void> {
    this.closedPromise ??= this.isClosed ? Promise.resolve() : new Promise((resolve) => (this.resolveClosed = resolve));
    return this.closedPromise;
  }

  /**
   * Serve until the server is closed — by `close()`, or by a signal: the
   * first `SIGINT` / `SIGTERM` (by default) closes it gracefully (1001 to
   * every client, handlers waited for); a second one while closing drops the
   * connections left. The signal listeners are removed once closed, so the
   * process then exits as usual when nothing else keeps it alive.
   *
   * ```ts
   * const server = await serve(handler, { port: 8765 });
   * await server.serveForever(); // Ctrl-C: clients get 1001, then the script goes on
   * ```
   */
  async serveForever(options?: ServeForeverOptions): Promise<void> {
    const stop = closeOnSignals(this, options);
    try {
      await this.closed;
    } finally {
      stop();
    }
  }

  /**
   * The server's counters as one plain object: open connections, handshakes
   * accepted and refused (by status), messages and bytes in and out, closes
   * by code. Computed when called (a sum over the open connections).
   */
  stats(): ServerStats {
    return this.counters.snapshot(this.connections);
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

function noop(): void {}

/** The pathname of a request, for log lines (no query string: it may carry a token). */
function pathOf(request: HttpRequest | null): string | undefined {
  if (request === null) return undefined;
  const q = request.path.indexOf("?");
  return q === -1 ? request.path : request.path.slice(0, q);
}

/** True when the request target's pathname (before any `?`) is exactly `path`. */
function pathMatches(target: string, path: string): boolean {
  const q = target.indexOf("?");
  return (q === -1 ? target : target.slice(0, q)) === path;
}
