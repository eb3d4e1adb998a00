/**
 * The standard clients: the WHATWG `WebSocket` class and Chromium's
 * `WebSocketStream`, as browsers implement them, over wavesock's client
 * connection in event mode (`Connection.listen`). This room owns the Web
 * API surface — argument checks and errors as the standard names them,
 * the events and `on…` attributes, `bufferedAmount`, the streams and their
 * backpressure — and nothing below it: the protocol, limits and timeouts
 * are the connection's. Node extras (headers, TLS, compression, limits) are
 * `connect()`'s options, checked against their own table.
 * @module
 */
export { WebSocket } from "./websocket.js";
export type { BinaryType, WebSocketData } from "./websocket.js";
export { WebSocketStream, WebSocketError as WebSocketStreamError } from "./stream.js";
export type { WebSocketOpenInfo, WebSocketCloseInfo } from "./stream.js";
export type { WebSocketCloseInit } from "./arguments.js";
export { CloseEvent, ErrorEvent } from "./events.js";
export type { CloseEventInit, ErrorEventInit } from "./events.js";
export type { WebSocketOptions, WebSocketInit, WebSocketStreamOptions } from "./options.js";
