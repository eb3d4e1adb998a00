/**
 * The options of `serve()` and `attach()`, and the shape of a handler —
 * including the {@link RequestRouting} a router (`route()`) gives the
 * server. (Checked at run time by `options/entry-points.ts`: every option
 * here has a check there.)
 */
import type { IncomingMessage } from "node:http";
import type * as tls from "node:tls";
import type { ServerExtensionFactory } from "../extensions/types.js";
import type { HeadLimits, HttpRequest, HttpResponse } from "../handshake/http.js";
import type { HttpResponseInit } from "../handshake/response.js";
import type { OriginPolicy, ServerHandshakeOptions } from "../handshake/server.js";
import type { CompressionOption } from "./compression.js";
import type { Connection, ConnectionOptions } from "./connection.js";
import type { Logger } from "./logging.js";
import type { PendingConnection } from "./pending.js";
import type { PubSubBackplane, TopicOptions } from "./topics.js";

/**
 * A connection handler: runs for as long as the connection should live.
 * A handler may carry {@link RequestRouting} (what `route()` returns does).
 */
export type Handler = ((connection: Connection) => unknown | Promise<unknown>) & { readonly routing?: RequestRouting | undefined };

/** What `processRequest` may return: a response to answer with instead of upgrading, or nothing to go on. */
export type ProcessRequestResult = HttpResponseInit | null | undefined | void;

/**
 * What `serve` / `attach` ask of a handler that routes requests by path
 * (the router from `route()`), as `handler.routing`: which requests it
 * takes, and a hook that runs before the handshake, after the
 * `processRequest` option. With `attach`, a request no route takes is left
 * to the HTTP server's other `'upgrade'` listeners (or answered 404); with
 * `serve`, the hook answers it (404).
 */
export interface RequestRouting {
  /** Whether a route takes this request target (`/rooms/1?x=y`). */
  takes(target: string): boolean;
  /** Answer the request (404, 400, a route's own refusal) or return nothing to go on with the handshake. */
  processRequest(connection: PendingConnection, request: HttpRequest): ProcessRequestResult | Promise<ProcessRequestResult>;
}

/** Options of {@link serve} and {@link attach}. */
export interface ServerOptions extends ConnectionOptions {
  /** Interface to listen on (serve only). Default: all interfaces, like `net.Server`. */
  host?: string;
  /**
   * Listen on this Unix domain socket instead of TCP (serve only; not with
   * `host` / `port`), as Python's `unix_serve`. A stale socket file left by
   * a server that died is removed first — only a socket file, and only when
   * nobody accepts on it; anything else fails with `EADDRINUSE`. Node
   * removes the file when the server closes. (Not `path`: that is the
   * request path a server takes.)
   */
  socketPath?: string;
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
  processRequest?: (connection: PendingConnection, request: HttpRequest) => ProcessRequestResult | Promise<ProcessRequestResult>;
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
  /**
   * Where the server logs: `console`, or a pino-style logger (one with
   * `child()`: a child per connection with `{ id, remoteAddress, path }`).
   * error: a handler that threw, a hook that failed; info: each connection
   * opened, refused and closed, with its codes; debug: handshakes that got
   * no answer. Default: console's warnings and errors; null: nowhere. Each
   * connection's `connection.logger` writes here with its context.
   */
  logger?: Logger | null;
  /** The backplane that carries topic publishes between server instances: `redisPubSub({...})`; default in-process (`localPubSub()`). */
  pubsub?: PubSubBackplane | null;
  /** How topic messages are framed (`envelope`: message ids for resume) and the slow-subscriber policy. */
  topics?: TopicOptions | null;
}
