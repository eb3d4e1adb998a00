/**
 * The sans-IO opening handshake (RFC 6455 §4), client and server roles:
 * bounded HTTP/1.1 head parsing, header grammars, WebSocket URIs.
 */

export {
  DEFAULT_MAX_HEAD_SIZE,
  DEFAULT_MAX_HEADERS,
  RequestHeadParser,
  ResponseHeadParser,
  reasonPhrase,
  requestFromNode,
  serializeRequest,
  serializeResponse,
} from "./http.js";
export type { HeadLimits, HttpRequest, HttpResponse, NodeRequestLike } from "./http.js";
export {
  isToken,
  parseExtensionHeader,
  parseSubprotocolHeader,
  parseTokenList,
  serializeExtensionHeader,
  tokenListIncludes,
} from "./headers.js";
export { parseURI } from "./uri.js";
export type { WebSocketURI } from "./uri.js";
export { WEBSOCKET_GUID, acceptKey, acceptRequest, canonicalOrigin, compileOrigins, rejectResponse, responseForError } from "./server.js";
export type { OriginPolicy, ServerHandshakeOptions, ServerHandshakeResult } from "./server.js";
export { checkResponse, isResponseProblem, normalizeResponse } from "./response.js";
export type { HttpResponseInit, ResponseProblem } from "./response.js";
export { ClientHandshake, DEFAULT_USER_AGENT } from "./client.js";
export type { ClientHandshakeOptions, ClientHandshakeResult } from "./client.js";
