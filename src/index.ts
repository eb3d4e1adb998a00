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
export type { Handler, ConnectionHandlers, ServerOptions, PendingConnection } from "./node/server.js";
export { connect } from "./node/client.js";
export type { ConnectOptions } from "./node/client.js";
export { Connection } from "./node/connection.js";
export type { ConnectionOptions, Data, Sendable, HandshakeInfo, BinaryData, Fragment } from "./node/connection.js";
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
export { redisPubSub } from "./pubsub/redis.js";
export type { RedisPubSubOptions, RedisPubSub, RedisPubSubEvents, RedisPubSubStats, RedisClientLike } from "./pubsub/redis.js";
export type { CompressionOption } from "./node/compression.js";
export type { DeflateOptions } from "./extensions/permessage-deflate.js";
// The types the options above name, so that a user can name them too.
export type {
  ClientExtensionFactory,
  ServerExtensionFactory,
  ExtensionParam,
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
