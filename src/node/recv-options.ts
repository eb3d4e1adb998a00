/**
 * What `recv()` and `recvStreaming()` take, and the types they return: the
 * options choosing how a text message comes (a string, or its UTF-8 bytes)
 * and what kind of bytes a binary one comes as (`Uint8Array`, `Buffer`,
 * `ArrayBuffer`) — Python's `recv(decode=...)` — with the result type
 * following the options; the runtime checks of those options; and the
 * conversion of a received message, which copies only where a view cannot
 * do (an `ArrayBuffer` that would otherwise expose more than the message).
 */
import { Buffer, constants as bufferConstants } from "node:buffer";
import { PayloadTooBig, argumentError } from "../errors.js";
import { describeValue } from "./options/schema.js";

/** How a text message comes: a `string` (default), or its UTF-8 `bytes` (of the `binary` type). */
export type TextAs = "string" | "bytes";
/** What bytes come as: `uint8array` (default), `buffer` (a Node `Buffer`), `arraybuffer`. */
export type BinaryAs = "uint8array" | "buffer" | "arraybuffer";

/** The JavaScript type of {@link BinaryAs} `B`. */
export type BinaryOf<B> = B extends "buffer" ? Buffer : B extends "arraybuffer" ? ArrayBuffer : Uint8Array;
/** The type a text message comes as, given {@link TextAs} `T` and {@link BinaryAs} `B`. */
export type TextOf<T, B> = T extends "bytes" ? BinaryOf<B> : string;

/** Options of `recv()`. */
export interface RecvOptions {
  /** A text message as a `string` (default) or as its UTF-8 `bytes` (validated; of the `binary` type). */
  text?: TextAs;
  /** Bytes as `uint8array` (default), `buffer` or `arraybuffer`. */
  binary?: BinaryAs;
  /**
   * Give up waiting when this signal aborts: the promise rejects with
   * `signal.reason` (an `AbortError`, or a `TimeoutError` from
   * `AbortSignal.timeout(ms)`) and the message that arrives later is kept
   * for the next `recv()` — cancelling loses no message. An already
   * aborted signal rejects at once, taking nothing.
   */
  signal?: AbortSignal;
}

/** What `recv(options)` resolves with, given its options `O`. */
export type Received<O extends RecvOptions> = TextOf<O["text"], O["binary"]> | BinaryOf<O["binary"]>;

/** Options of `recvStreaming()`: those of `recv()`, and the size limit for this message. */
export interface StreamOptions extends RecvOptions {
  /**
   * The most bytes this message may have (decompressed), over which the
   * connection fails with 1009; null: no limit. Default: the connection's
   * `maxSize`. The point of streaming is that a message need not fit in
   * memory: lift the limit for a message you expect to be large.
   */
  maxSize?: number | null;
  /**
   * Give up when this signal aborts: before the message began, it is kept
   * for the next reader (nothing is lost); once pieces of it were read, the
   * iteration throws `signal.reason` and the rest of the message is read
   * and dropped.
   */
  signal?: AbortSignal;
}

/** A message as the connection keeps it until read: text as its UTF-8 bytes (`text: true`) or, from older paths, as a string. */
export interface Message {
  data: string | Uint8Array;
  text?: true;
}

const TEXT_AS: readonly string[] = ["string", "bytes"];
const BINARY_AS: readonly string[] = ["uint8array", "buffer", "arraybuffer"];

/** Check the options of `recv` / `recvStreaming` (`what` names the call in errors). */
export function validateRecvOptions(options: unknown, what: "recv" | "recvStreaming"): asserts options is StreamOptions {
  if (typeof options !== "object" || options === null) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${what}(options): options must be an object; got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!["text", "binary", "signal", ...(what === "recvStreaming" ? ["maxSize"] : [])].includes(key)) {
      const allowed = what === "recvStreaming" ? "text, binary, signal, maxSize" : "text, binary, signal";
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `${what}(options): unknown option ${JSON.stringify(key)}; allowed: ${allowed}`);
    }
  }
  if (o.text !== undefined && !TEXT_AS.includes(o.text as string)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${what}(options): text must be "string" or "bytes"; got ${describeValue(o.text)}`, true);
  }
  if (o.binary !== undefined && !BINARY_AS.includes(o.binary as string)) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `${what}(options): binary must be "uint8array", "buffer" or "arraybuffer"; got ${describeValue(o.binary)}`,
      true,
    );
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${what}(options): signal must be an AbortSignal; got ${describeValue(o.signal)}`);
  }
  const max = o.maxSize;
  if (max !== undefined && max !== null && !(typeof max === "number" && Number.isInteger(max) && max >= 0)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${what}(options): maxSize must be a non-negative integer or null; got ${describeValue(max)}`, true);
  }
}

/**
 * A received message (or a streamed piece: `text` says which kind) as the
 * options ask. Text is decoded here, when it is read. Throws PayloadTooBig
 * for a text too long for a JavaScript string (read it as bytes instead).
 */
export function convertMessage(data: string | Uint8Array, text: boolean, options: RecvOptions | undefined): unknown {
  if (typeof data === "string") return options?.text === "bytes" ? asBinary(Buffer.from(data, "utf8"), options.binary) : data;
  if (text && options?.text !== "bytes") return decodeText(data);
  return asBinary(data, options?.binary);
}

/** Bytes as `binary` asks: a view where one will do. */
export function asBinary(data: Uint8Array, binary: BinaryAs | undefined): Uint8Array | Buffer | ArrayBuffer {
  if (binary === undefined || binary === "uint8array") return data;
  if (binary === "buffer") return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // An ArrayBuffer is all of its bytes: the message's own buffer only when it is exactly the message.
  const buf = data.buffer;
  if (buf instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buf.byteLength) return buf;
  // A copy (Buffer#slice would be a view: new Uint8Array(view) copies).
  return new Uint8Array(data).buffer;
}

/** UTF-8 already validated, as a string; "too big" (1009's error, not a connection failure) past a string's limit. */
export function decodeText(data: Uint8Array): string {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length > bufferConstants.MAX_STRING_LENGTH) {
    try {
      return buf.toString("utf8");
    } catch {
      throw new PayloadTooBig(
        `text message over the ${bufferConstants.MAX_STRING_LENGTH}-character limit of a string: read it with recv({ text: "bytes" })`,
        { size: buf.length },
      );
    }
  }
  return buf.toString("utf8");
}
