/**
 * Extensions (RFC 6455 §9): the contract the handshake and the connection use,
 * and permessage-deflate (RFC 7692).
 */
export type {
  ClientExtensionFactory,
  ExtensionOffer,
  ExtensionParam,
  MessageDecoder,
  MessageExtension,
  ServerExtensionFactory,
} from "./types.js";
export {
  DEFAULT_CLIENT_OPTIONS,
  DEFAULT_SERVER_OPTIONS,
  HistoryWindow,
  PERMESSAGE_DEFLATE,
  PerMessageDeflate,
  clientDeflateFactory,
  serverDeflateFactory,
  type DeflateOptions,
  type DeflateParameters,
} from "./permessage-deflate.js";
