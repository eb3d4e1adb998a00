/**
 * The errors of the `ws` API as `ws` shapes them: a peer's protocol
 * violation, found by wavesock's core (a {@link ProtocolError} with the
 * RFC's close code), becomes the `Error` / `RangeError` `ws` would emit, with
 * `ws`'s message ("Invalid WebSocket frame: invalid UTF-8 sequence") and its
 * `code` (`WS_ERR_INVALID_UTF8`), plus `closeCode` (the code sent) and the
 * core's error as `cause`. Also the `ws`-worded errors for misuse (send
 * before open, a bad close code) and for client handshakes that fail.
 */
import { Buffer } from "node:buffer";
import type { ProtocolError } from "../errors.js";

/** An error as `ws` emits it: `code` one of `ws`'s `WS_ERR_*` strings where `ws` gives one. */
export type WsError = Error & { code?: string; closeCode?: number };

/** One core error code → what `ws` would say: constructor, message (after "Invalid WebSocket frame: " when `frame`), code. */
interface Wording {
  range: boolean;
  frame: boolean;
  message: (err: ProtocolError) => string;
  code: string | undefined;
}

const WORDING: Record<string, Wording> = {
  WS_ERR_INVALID_OPCODE: { range: true, frame: true, message: (e) => `invalid opcode ${opcodeOf(e)}`, code: "WS_ERR_INVALID_OPCODE" },
  WS_ERR_UNEXPECTED_CONTINUATION: { range: true, frame: true, message: () => "invalid opcode 0", code: "WS_ERR_INVALID_OPCODE" },
  WS_ERR_EXPECTED_CONTINUATION: { range: true, frame: true, message: () => "invalid opcode (a new message inside a fragmented one)", code: "WS_ERR_INVALID_OPCODE" },
  WS_ERR_EXPECTED_MASK: { range: true, frame: true, message: () => "MASK must be set", code: "WS_ERR_EXPECTED_MASK" },
  WS_ERR_UNEXPECTED_MASK: { range: true, frame: true, message: () => "MASK must be clear", code: "WS_ERR_UNEXPECTED_MASK" },
  WS_ERR_FRAGMENTED_CONTROL: { range: true, frame: true, message: () => "FIN must be set", code: "WS_ERR_EXPECTED_FIN" },
  WS_ERR_CONTROL_TOO_LONG: { range: true, frame: true, message: () => "invalid payload length", code: "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH" },
  WS_ERR_INVALID_CLOSE_PAYLOAD: { range: true, frame: true, message: () => "invalid payload length 1", code: "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH" },
  WS_ERR_INVALID_CLOSE_CODE: { range: true, frame: true, message: (e) => e.message.replace("invalid close code", "invalid status code"), code: "WS_ERR_INVALID_CLOSE_CODE" },
  WS_ERR_INVALID_UTF8: { range: false, frame: true, message: () => "invalid UTF-8 sequence", code: "WS_ERR_INVALID_UTF8" },
  WS_ERR_PAYLOAD_TOO_BIG: { range: true, frame: false, message: () => "Max payload size exceeded", code: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" },
  WS_ERR_INVALID_LENGTH: {
    range: true,
    frame: false,
    message: () => "Unsupported WebSocket frame: payload length > 2^53 - 1",
    code: "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
  },
  WS_ERR_INVALID_COMPRESSED_DATA: { range: false, frame: false, message: (e) => e.message, code: undefined },
};

function opcodeOf(err: ProtocolError): number {
  const m = /0x([0-9a-f]+)/i.exec(err.message);
  return m === null ? -1 : parseInt(m[1]!, 16);
}

/**
 * The error `ws` would emit for the violation the core found. RSV bits: the
 * core's message says which bits (RSV1 alone: `WS_ERR_UNEXPECTED_RSV_1`).
 */
export function wsErrorFor(failure: ProtocolError): WsError {
  let err: WsError;
  if (failure.code === "WS_ERR_UNEXPECTED_RSV") {
    const rsv1 = failure.message.includes("RSV1") || failure.message.includes("continuation") || failure.message.includes("control");
    err = new RangeError(`Invalid WebSocket frame: ${rsv1 ? "RSV1 must be clear" : "RSV2 and RSV3 must be clear"}`) as WsError;
    err.code = rsv1 ? "WS_ERR_UNEXPECTED_RSV_1" : "WS_ERR_UNEXPECTED_RSV_2_3";
  } else {
    const w = WORDING[failure.code];
    if (w === undefined) {
      // Nothing `ws` has a word for (an internal error: 1011): our message.
      err = new Error(failure.message) as WsError;
    } else {
      const text = w.message(failure);
      err = (w.range ? new RangeError(w.frame ? `Invalid WebSocket frame: ${text}` : text) : new Error(w.frame ? `Invalid WebSocket frame: ${text}` : text)) as WsError;
      if (w.code !== undefined) err.code = w.code;
    }
  }
  err.closeCode = failure.closeCode;
  Object.defineProperty(err, "cause", { value: failure, enumerable: false, configurable: true, writable: true });
  return err;
}

const READY_STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];

/** `ws`'s "WebSocket is not open: readyState 0 (CONNECTING)". */
export function notOpen(readyState: number): Error {
  return new Error(`WebSocket is not open: readyState ${readyState} (${READY_STATES[readyState]})`);
}

/**
 * A close code `ws` lets `close()` send: 1000–1014 but 1004–1006, and
 * 3000–4999 (RFC 6455 §7.4; what wavesock's `close()` allows too).
 */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Check `close(code, reason)` as `ws` does; returns the reason as a string. */
export function checkClose(code: unknown, reason: unknown): string {
  if (code === undefined) return "";
  if (typeof code !== "number" || !isSendableCloseCode(code)) throw new TypeError("First argument must be a valid error code number");
  const text = reason === undefined ? "" : typeof reason === "string" ? reason : Buffer.isBuffer(reason) ? reason.toString() : String(reason);
  if (Buffer.byteLength(text) > 123) throw new RangeError("The message must not be greater than 123 bytes");
  return text;
}

/** The plain classes `ws` raises. */
type WsErrorClass = "Error" | "TypeError" | "RangeError" | "SyntaxError";
const CLASSES: Record<WsErrorClass, new (message: string) => Error> = { Error, TypeError, RangeError, SyntaxError };

/**
 * An error of the class `ws` raises in the same case, with `ws`'s message.
 * Under the `ws` API these are deliberately not wavesock's typed errors: code
 * written for `ws` tests `instanceof SyntaxError` and matches the messages.
 * (Every such error of this room is made here.)
 */
export function wsError(kind: WsErrorClass, message: string): Error {
  return new CLASSES[kind](message);
}
