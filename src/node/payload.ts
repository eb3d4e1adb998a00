/**
 * What `send`, `ping`, `pong` and `close` accept, turned into what the core
 * takes — or a `TypeError` / `RangeError` (code `WS_ERR_INVALID_ARGUMENT`)
 * that names what was given and what is allowed.
 *
 * Bytes are taken as they lie in memory, as `ws` does: any `ArrayBufferView`
 * (a `Buffer`, a `Uint8Array`, any other typed array, a `DataView`) is sent
 * as the bytes of its view (`byteOffset`, `byteLength`: an `Int16Array` of 2
 * elements is 4 bytes), an `ArrayBuffer` or `SharedArrayBuffer` as its
 * bytes, without copying: bytes changed before they are written go out
 * changed, as with `ws`.
 */
import { Buffer } from "node:buffer";
import { argumentError } from "../errors.js";
import { isValidCloseCode } from "../frame/close.js";
import { describeValue } from "./options/schema.js";

/** The bytes of a view or buffer, or null when `value` is neither. Never copies. */
export function toBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer) return new Uint8Array(value);
  return null;
}

/** True for a `Blob` (a `File` too): its bytes are read asynchronously. */
export function isBlob(value: unknown): value is Blob {
  return typeof Blob === "function" && value instanceof Blob;
}

/** True for an iterable or async iterable object (the fragments of one message). */
export function isFragments(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const v = value as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof v[Symbol.iterator] === "function" || typeof v[Symbol.asyncIterator] === "function";
}

const ACCEPTED =
  "a string (text), bytes (a Buffer, Uint8Array or other TypedArray, DataView, ArrayBuffer), a Blob, " +
  "or an iterable / async iterable of strings or bytes (sent as one fragmented message)";

/** The error for a message `send` cannot send. */
export function sendTypeError(message: unknown): TypeError {
  return argumentError("WS_ERR_INVALID_ARGUMENT", `send(message): message must be ${ACCEPTED}; got ${describeValue(message)}`);
}

/** A fragment as the core takes it: a string, bytes, or a Blob still to be read; throws for anything else. */
export function fragmentData(chunk: unknown, index: number): string | Uint8Array | Blob {
  if (typeof chunk === "string") return chunk;
  const bytes = toBytes(chunk);
  if (bytes !== null) return bytes;
  if (isBlob(chunk)) return chunk;
  const hint = typeof chunk === "number" ? " (to send bytes, pass a Uint8Array: new Uint8Array([...]))" : "";
  throw argumentError(
    "WS_ERR_INVALID_ARGUMENT",
    `send(fragments): fragment ${index} must be a string, bytes or a Blob; got ${describeValue(chunk)}${hint}`,
  );
}

/**
 * The payload of a ping or pong: a string (UTF-8) or bytes, at most 125
 * bytes (RFC 6455 §5.5: "All control frames MUST have a payload length of
 * 125 bytes or less").
 */
export function controlPayload(what: "ping" | "pong", data: unknown): Uint8Array {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : toBytes(data);
  if (bytes === null) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `${what}(data): data must be a string or bytes (Buffer, TypedArray, DataView, ArrayBuffer); got ${describeValue(data)}`,
    );
  }
  if (bytes.length > 125) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `${what}(data): data is ${bytes.length} bytes; a ${what} carries at most 125 (RFC 6455 §5.5)`,
      true,
    );
  }
  return bytes;
}

/**
 * Check the arguments of `close(code, reason)`. A code is a number (a
 * numeric string is refused: `"1000"` is a slip, and accepting it would hide
 * others); it must be one a close frame may carry.
 */
export function checkCloseArguments(code: unknown, reason: unknown): void {
  if (typeof code !== "number") {
    const hint = typeof code === "string" && /^\d+$/.test(code) ? ` (write ${code}, a number)` : "";
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `close(code, reason): code must be a number; got ${describeValue(code)}${hint}`);
  }
  if (!isValidCloseCode(code)) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `close(code, reason): close code ${code} may not be sent; use 1000–1003, 1007–1014 (RFC 6455 §7.4, IANA registry) or 3000–4999 (1004–1006 and 1015 are reserved, 1016–2999 unassigned)`,
      true,
    );
  }
  if (typeof reason !== "string") {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `close(code, reason): reason must be a string; got ${describeValue(reason)}`);
  }
  const length = Buffer.byteLength(reason, "utf8");
  if (length > 123) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `close(code, reason): reason is ${length} bytes of UTF-8; at most 123 fit in a close frame (RFC 6455 §5.5)`,
      true,
    );
  }
}
