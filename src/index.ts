/**
 * wavesock — WebSocket (RFC 6455, permessage-deflate RFC 7692) for Node.js.
 *
 * ```ts
 * import { serve, connect, broadcast, ConnectionClosed } from "wavesock";
 * ```
 *
 * The sans-IO core (frames, handshake, connection state machine, extensions)
 * is exported separately from `wavesock/core`.
 * @packageDocumentation
 * @module wavesock
 */
export { serve, attach } from "./node/serve.js";
export { Server } from "./node/server.js";
export type { Handler, ConnectionHandlers, ServerOptions, PendingConnection, RequestRouting, ProcessRequestResult } from "./node/server.js";
export type { ServeForeverOptions } from "./node/serve-forever.js";
export type { Logger, ConnectionLogger } from "./node/logging.js";
export { diagnosticChannels } from "./node/diagnostics.js";
export type {
  ServerStats,
  HandshakeDiagnostic,
  OpenDiagnostic,
  CloseDiagnostic,
  PingDiagnostic,
  ErrorDiagnostic,
  ErrorSource,
} from "./node/diagnostics.js";
export {
  connect,
  processException,
  DEFAULT_BACKOFF,
  DEFAULT_MAX_REDIRECTS,
  ProxyError,
  RedirectError,
} from "./client/index.js";
export type {
  Connecting,
  ClientOptions,
  BackoffOptions,
  ProcessException,
  RetryInfo,
  RedirectRefusal,
} from "./client/index.js";
export type { ConnectOptions, ClientTransport, TransportTarget } from "./node/client.js";
export { Connection } from "./node/connection.js";
export { ConnectionContext } from "./node/connection-context.js";
export type { ConnectionData } from "./node/connection-context.js";
export type { ConnectionOptions, Data, Sendable, HandshakeInfo, BinaryData, Fragment } from "./node/connection.js";
export { MessageStream, STREAM_READ_AHEAD } from "./node/message-stream.js";
export type { BinaryAs, BinaryOf, Received, RecvOptions, StreamOptions, TextAs, TextOf } from "./node/recv-options.js";
// The standard clients (WHATWG WebSocket, Chromium's WebSocketStream): src/whatwg/.
export { WebSocket, WebSocketStream, WebSocketStreamError, CloseEvent, ErrorEvent } from "./whatwg/index.js";
export type {
  BinaryType,
  WebSocketData,
  CloseEventInit,
  ErrorEventInit,
  WebSocketOptions,
  WebSocketInit,
  WebSocketStreamOptions,
  WebSocketOpenInfo,
  WebSocketCloseInfo,
  WebSocketCloseInit,
} from "./whatwg/index.js";
export { broadcast } from "./node/broadcast.js";
export type { BroadcastOptions } from "./node/broadcast.js";
export { localPubSub } from "./node/local-pubsub.js";
export type { LocalPubSubOptions, HistoryOptions } from "./node/local-pubsub.js";
export type {
  PubSubBackplane,
  BackplaneSink,
  PublishMeta,
  HistoryEntry,
  HistoryReply,
  TopicOptions,
  TopicStats,
  ResumeResult,
} from "./node/topics.js";
export { route } from "./router/route.js";
export type { Router, RouteMatch, RouteHandler, RouteProcessRequest, RouteEntry, Routes, RouteOptions } from "./router/route.js";
export type { PathParams, PathParamNames } from "./router/pattern.js";
export { basicAuth } from "./auth/basic.js";
export type { BasicAuthOptions, AuthProcessRequest } from "./auth/basic.js";
export { redisPubSub } from "./pubsub/redis.js";
export type { RedisPubSubOptions, RedisPubSub, RedisPubSubEvents, RedisPubSubStats, RedisClientLike } from "./pubsub/redis.js";
export type { CompressionOption } from "./node/compression.js";
export type { DeflateOptions } from "./extensions/permessage-deflate.js";
// The types the options above name, so that a user can name them too.
export type {
  ClientExtensionFactory,
  ServerExtensionFactory,
  ExtensionParam,
  MessageDecoder,
  MessageExtension,
} from "./extensions/types.js";
export type { HttpRequest, HttpResponse, HeadLimits } from "./handshake/http.js";
export type { ServerHandshakeOptions, OriginPolicy } from "./handshake/server.js";
export type { HttpResponseInit } from "./handshake/response.js";
export { rejectResponse as respond } from "./handshake/server.js";
export {
  WebSocketError,
  BackplaneError,
  ProtocolError,
  PayloadTooBig,
  InvalidState,
  InvalidURI,
  InvalidHandshake,
  InvalidStatus,
  ConnectionClosed,
  ConnectionClosedOK,
  ConnectionClosedError,
} from "./errors.js";
export type { CloseInfo, CloseDetails, HttpResponseLike, WebSocketErrorCode, ArgumentError, ArgumentErrorCode } from "./errors.js";
