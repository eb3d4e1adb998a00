/**
 * `wavesock/ws` — the API of the `ws` package on wavesock: change one
 * import and keep the code.
 *
 * ```ts
 * import WebSocket, { WebSocketServer, createWebSocketStream } from "wavesock/ws";
 * // CommonJS: const WebSocket = require("wavesock/ws"); const { WebSocketServer } = WebSocket;
 * ```
 *
 * The shape is `ws`'s `index.js`: the default export (`module.exports` in
 * CommonJS) is the `WebSocket` class, with `WebSocket`, `WebSocketServer`,
 * `Server` and `createWebSocketStream` attached to it. Behaviour follows
 * `ws`'s documentation (`doc/ws.md`) event for event; the protocol
 * underneath is wavesock's, with its strictness and limits. Every
 * difference from `ws`, and why, is in docs/migrating-from-ws.md. For
 * dependencies that `require("ws")` themselves, the `wavesock-ws` package
 * (packages/ws) is this module under the name npm `overrides` can alias.
 *
 * This room owns the translation only; it uses `src/node`'s `Connection`
 * (its listener mode) and the sans-IO handshake, and nothing below imports it.
 * @packageDocumentation
 * @module wavesock/ws
 */
import { WebSocket } from "./websocket.js";
import { WebSocketServer } from "./server.js";
import { createWebSocketStream } from "./stream.js";

export { WebSocket, WebSocketServer, createWebSocketStream };
/** `ws`'s older name of {@link WebSocketServer}. */
export const Server = WebSocketServer;
export type { BinaryType, RawData, SendOptions, SendCallback, SocketOptions, WsSendable } from "./websocket.js";
export type { ServerOptions, VerifyClient, VerifyClientInfo } from "./server.js";
export type { ClientOptions } from "./client.js";
export type { PerMessageDeflateOptions } from "./deflate.js";
export { Event, CloseEvent, ErrorEvent, MessageEvent } from "./events.js";
export type { WsError } from "./errors.js";

/** The members `ws`'s `index.js` attaches to the `WebSocket` class. */
interface Attached {
  WebSocket: typeof WebSocket;
  WebSocketServer: typeof WebSocketServer;
  Server: typeof WebSocketServer;
  createWebSocketStream: typeof createWebSocketStream;
}
Object.assign(WebSocket as unknown as Attached, { WebSocket, WebSocketServer, Server: WebSocketServer, createWebSocketStream });

export default WebSocket;

// In the CommonJS build, `require("wavesock/ws")` is the class itself, as
// `require("ws")` is (the named members are attached above): TypeScript's
// CommonJS output marks its `exports` with `__esModule`. In the ES module
// build there is no `module`; a loader's stand-in (vitest's) is left alone.
if (typeof module === "object" && module !== null && typeof exports === "object" && module.exports === exports && (exports as { __esModule?: unknown }).__esModule === true) {
  try {
    module.exports = WebSocket;
  } catch {
    // a read-only stand-in
  }
}
