/**
 * `broadcast(connections, message)`: one message to many connections, framed
 * once.
 */
import { Buffer } from "node:buffer";
import { Opcode } from "../frame/opcodes.js";
import { serializeFrame } from "../frame/serializer.js";
import { argumentError } from "../errors.js";
import type { BinaryData, Connection } from "./connection.js";
import { validateBroadcastOptions } from "./options/entry-points.js";
import { describeValue } from "./options/schema.js";
import { toBytes } from "./payload.js";

const EMPTY: BroadcastOptions = Object.freeze({});

/** Options of {@link broadcast}. */
export interface BroadcastOptions {
  /** False to send uncompressed even to connections that negotiated compression. */
  compress?: boolean;
}

/**
 * Send `message` to every open connection in `connections` without waiting
 * for any of them. The frame is built once and the same bytes are written to
 * every server-side connection; with permessage-deflate, the compressed frame
 * is shared by every connection whose compressor keeps no context between
 * messages (`server_no_context_takeover`) and whose parameters match, and is
 * built per connection otherwise (context takeover makes each stream unique).
 * Client-side connections mask every frame, so they are framed one by one.
 *
 * Skipped, and counted in the result: connections that are not open, that
 * are in the middle of sending a fragmented message, or whose write buffer is
 * over its high water mark (a slow peer never slows the others down).
 *
 * @returns how many connections were skipped.
 */
export function broadcast(connections: Iterable<Connection>, message: string | BinaryData, options: BroadcastOptions = EMPTY): number {
  const text = typeof message === "string";
  const bytes = checkBroadcast(connections, message, options);
  const opcode = text ? Opcode.TEXT : Opcode.BINARY;
  const compress = options.compress !== false;
  let plain: Uint8Array[] | null = null;
  let compressed: Map<string, Uint8Array[]> | null = null;
  let skipped = 0;
  for (const conn of connections) {
    const p = conn.core;
    if (!p.canSendFrames || conn.bufferedAmount > conn.writeHighWaterMark) {
      skipped++;
      continue;
    }
    const ext = p.extension;
    const encode = compress && ext !== null && ext.shouldEncode(bytes.length);
    if (p.role === "client" || (encode && !ext.stateless)) {
      // Framed for this connection alone: masked, or compressed with context.
      if (text) p.sendText(bytes, true, options);
      else p.sendBinary(bytes, true, options);
    } else if (encode) {
      compressed ??= new Map();
      let frames = compressed.get(ext.sharingKey);
      if (frames === undefined) {
        frames = serializeFrame(opcode, ext.encode(bytes), { rsv: ext.rsvBits });
        compressed.set(ext.sharingKey, frames);
      }
      p.sendFrames(frames);
    } else {
      plain ??= serializeFrame(opcode, bytes);
      p.sendFrames(plain);
    }
    conn.flushOutput();
  }
  return skipped;
}

/**
 * Check the arguments of `broadcast` — a few type tests, nothing per
 * connection — and return the message's bytes (a string's UTF-8).
 */
function checkBroadcast(connections: unknown, message: unknown, options: unknown): Uint8Array {
  const bytes = typeof message === "string" ? Buffer.from(message, "utf8") : toBytes(message);
  if (bytes === null) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `broadcast(connections, message): message must be a string or bytes (Buffer, TypedArray, DataView, ArrayBuffer); got ${describeValue(message)}`,
    );
  }
  if (typeof connections !== "object" || typeof (connections as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] !== "function") {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `broadcast(connections, message): connections must be an iterable of connections (server.connections); got ${describeValue(connections)}`,
    );
  }
  if (options !== EMPTY) validateBroadcastOptions(options);
  return bytes;
}
