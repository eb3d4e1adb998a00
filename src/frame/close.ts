/**
 * Close frame payloads (RFC 6455 §5.5.1) and close codes (§7.4).
 *
 * §5.5.1: "If there is a body, the first two bytes of the body MUST be a
 * 2-byte unsigned integer (in network byte order) representing a status code
 * with value /code/ defined in Section 7.4. Following the 2-byte integer, the
 * body MAY contain UTF-8-encoded data with value /reason/".
 *
 * Parsing is the remote side (a bad payload is the peer's fault: a
 * {@link ProtocolError} carrying the close code to fail with); serializing is
 * the local side (a bad argument is the caller's fault: {@link InvalidState}).
 */
import { InvalidState, ProtocolError, type CloseInfo } from "../errors.js";
import { isValidUtf8 } from "./utf8.js";

/** §5.5: "All control frames MUST have a payload length of 125 bytes or less". */
const MAX_CLOSE_PAYLOAD = 125;

/** What is left for the reason once the 2-byte code is in: 123 bytes. */
export const MAX_CLOSE_REASON_BYTES = MAX_CLOSE_PAYLOAD - 2;

/**
 * §7.1.5: 1005 is what an endpoint reports when "the Close control frame
 * contains no status code". Never on the wire.
 */
export const CLOSE_NO_STATUS = 1005;

// ignoreBOM: a reason may legitimately start with U+FEFF; the default
// decoder would silently drop it.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Whether `code` may appear in a close frame on the wire.
 *
 * - 1000–1003 and 1007–1011 are defined by §7.4.1; 1012–1014 were registered
 *   later in the IANA "WebSocket Close Code Number Registry" (§11.7): service
 *   restart, try again later, bad gateway.
 * - 1004 is reserved; 1005, 1006 and 1015 "MUST NOT be set as a status code
 *   in a Close control frame by an endpoint" (§7.4.1): they only describe a
 *   close locally (no code, abnormal closure, TLS failure).
 * - 1016–2999 are reserved for future revisions and extensions (§7.4.2);
 *   3000–3999 are for libraries and frameworks (IANA-registered), 4000–4999
 *   for private use; 0–999 are "not used" and ≥ 5000 do not exist.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

/**
 * Parse the payload of a received close frame.
 *
 * @returns `{ code: 1005, reason: "" }` for an empty payload (the peer gave
 *   no status code, §7.1.5); otherwise the code and the decoded reason.
 * @throws ProtocolError (close code 1002) for a 1-byte payload, a payload over
 *   125 bytes, or a code not allowed on the wire; ProtocolError with close
 *   code 1007 when the reason is not valid UTF-8.
 */
export function parseClosePayload(data: Uint8Array): CloseInfo {
  const length = data.length;
  if (length === 0) return { code: CLOSE_NO_STATUS, reason: "" };
  if (length === 1) {
    // A body must start with a 2-byte code: one byte cannot be one.
    throw new ProtocolError("close frame payload of 1 byte", "WS_ERR_INVALID_CLOSE_PAYLOAD");
  }
  if (length > MAX_CLOSE_PAYLOAD) {
    // The frame parser refuses such frames already; checked again so this
    // function is safe on its own.
    throw new ProtocolError(`close frame payload of ${length} bytes (max 125)`, "WS_ERR_INVALID_CLOSE_PAYLOAD");
  }
  const code = (data[0]! << 8) | data[1]!;
  if (!isValidCloseCode(code)) {
    throw new ProtocolError(`invalid close code ${code}`, "WS_ERR_INVALID_CLOSE_CODE");
  }
  const reasonBytes = data.subarray(2);
  // §8.1: text that is not UTF-8 fails the connection; §7.4.1: 1007 is for
  // "data within a message that was not consistent with the type of the
  // message (e.g., non-UTF-8 [RFC3629] data within a text message)".
  if (!isValidUtf8(reasonBytes)) {
    throw new ProtocolError("close reason is not valid UTF-8", "WS_ERR_INVALID_UTF8", 1007);
  }
  return { code, reason: decoder.decode(reasonBytes) };
}

/**
 * Build the payload of a close frame to send.
 *
 * @param code - the status code; `undefined` or 1005 (no status) give an
 *   empty payload, as §5.5.1 allows ("The Close frame MAY contain a body").
 * @param reason - the reason, encoded as UTF-8 (a lone surrogate in the
 *   string becomes U+FFFD, as with any `TextEncoder`); at most 123 bytes.
 * @throws InvalidState for a code not allowed on the wire (see
 *   {@link isValidCloseCode}), a reason over 123 bytes, or a non-empty reason
 *   without a code (a body must start with a code, so the reason could not be
 *   sent; dropping it silently would hide the mistake).
 */
export function serializeClosePayload(code?: number, reason = ""): Uint8Array {
  if (code === undefined || code === CLOSE_NO_STATUS) {
    if (reason !== "") throw new InvalidState("a close reason cannot be sent without a close code");
    return new Uint8Array(0);
  }
  if (!isValidCloseCode(code)) throw new InvalidState(`close code ${code} may not be sent`);
  // A UTF-8 reason is at most 3 bytes per UTF-16 code unit; encode into a
  // payload-sized buffer so an over-long reason never costs a big allocation.
  const payload = new Uint8Array(2 + Math.min(reason.length * 3, MAX_CLOSE_REASON_BYTES + 1));
  const { read, written } = encoder.encodeInto(reason, payload.subarray(2));
  if (read < reason.length || written > MAX_CLOSE_REASON_BYTES) {
    throw new InvalidState(`close reason is over ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8`);
  }
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  return payload.subarray(0, 2 + written);
}
