/**
 * The sans-IO core of wavesock: no sockets, no timers. Bytes in, events and
 * bytes out — reusable by any runtime's adapter, and testable byte by byte.
 * @packageDocumentation
 * @module wavesock/core
 */
export { Protocol } from "./connection/protocol.js";
export type { Role, ConnectionState, ProtocolEvent, ProtocolOptions, SendOptions } from "./connection/protocol.js";
// The base class of Protocol (where the state and the closing handshake are documented).
export type { ClosingHandshake } from "./connection/closing.js";
export { FrameParser } from "./frame/parser.js";
export type { FrameSink, FrameParserOptions } from "./frame/parser.js";
export { serializeFrame, writeFrameHeader, frameHeaderSize } from "./frame/serializer.js";
export type { SerializeOptions } from "./frame/serializer.js";
export { Opcode, isControlOpcode, isKnownOpcode } from "./frame/opcodes.js";
export { mask, maskInto, randomMask } from "./frame/mask.js";
export type { MaskSource } from "./frame/mask.js";
export { isValidUtf8, Utf8Validator } from "./frame/utf8.js";
export { isValidCloseCode, parseClosePayload, serializeClosePayload } from "./frame/close.js";
export * from "./handshake/index.js";
// The base class of RequestHeadParser and ResponseHeadParser (where push() and rest are documented).
export type { HeadParser } from "./handshake/http.js";
export * from "./extensions/index.js";
export * from "./errors.js";
