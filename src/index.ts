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
 */
export { serve, attach } from "./node/serve.js";
export { Server } from "./node/server.js";
export type { Handler, ServerOptions, PendingConnection } from "./node/server.js";
export { connect } from "./node/client.js";
export type { ConnectOptions } from "./node/client.js";
export { Connection } from "./node/connection.js";
export type { ConnectionOptions, Data, Sendable, HandshakeInfo, BinaryData, Fragment } from "./node/connection.js";
export { broadcast } from "./node/broadcast.js";
export type { BroadcastOptions } from "./node/broadcast.js";
export type { CompressionOption } from "./node/compression.js";
export type { DeflateOptions } from "./extensions/permessage-deflate.js";
export type { HttpRequest, HttpResponse } from "./handshake/http.js";
export type { OriginPolicy } from "./handshake/server.js";
export type { HttpResponseInit } from "./handshake/response.js";
export { rejectResponse as respond } from "./handshake/server.js";
export {
  WebSocketError,
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
