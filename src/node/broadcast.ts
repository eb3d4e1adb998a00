/**
 * `broadcast(connections, message)`: one message to many connections, framed
 * once.
 */
import { Buffer } from "node:buffer";
import { Opcode } from "../frame/opcodes.js";
import { serializeFrame } from "../frame/serializer.js";
import type { Connection } from "./connection.js";

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
export function broadcast(connections: Iterable<Connection>, message: string | Uint8Array, options: BroadcastOptions = {}): number {
  const text = typeof message === "string";
  const bytes = text ? Buffer.from(message, "utf8") : message;
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
