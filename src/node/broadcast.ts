/**
 * `broadcast(connections, message)`: one message to many connections, framed
 * once. {@link SharedMessage} is the framing seam, shared with topics
 * (`./topics.ts`): a publish is one broadcast to a topic's subscribers.
 */
import { Buffer } from "node:buffer";
import { Opcode } from "../frame/opcodes.js";
import { frameHeaderSize, writeFrameHeader } from "../frame/serializer.js";
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

const COMPRESS = { compress: true };
const NO_COMPRESS = { compress: false };

/**
 * One message framed once for many connections: the plain frame is built on
 * first use and reused; with permessage-deflate, a compressed frame is built
 * once per set of compressor parameters for connections whose compressor
 * keeps no context between messages (`server_no_context_takeover`), and per
 * connection otherwise (context takeover makes each stream unique). Client
 * connections mask every frame, so they are framed one by one.
 * @internal
 */
export class SharedMessage {
  private readonly text: boolean;
  private readonly bytes: Uint8Array;
  private readonly compress: boolean;
  private plain: Uint8Array[] | null = null;
  private compressed: Map<string, Uint8Array[]> | null = null;

  constructor(message: string | Uint8Array, compress: boolean) {
    this.text = typeof message === "string";
    this.bytes = typeof message === "string" ? Buffer.from(message, "utf8") : message;
    this.compress = compress;
  }

  /**
   * Queue the message on `conn` and flush it, unless the connection cannot
   * take a message now (not open, or sending a fragmented message).
   * @returns false when the connection was skipped.
   */
  sendTo(conn: Connection): boolean {
    const p = conn.core;
    if (!p.canSendFrames) return false;
    const bytes = this.bytes;
    const ext = p.extension;
    const encode = this.compress && ext !== null && ext.shouldEncode(bytes.length);
    if (p.role === "client" || (encode && !ext.stateless)) {
      // Framed for this connection alone: masked, or compressed with context.
      const options = this.compress ? COMPRESS : NO_COMPRESS;
      if (this.text) p.sendText(bytes, true, options);
      else p.sendBinary(bytes, true, options);
    } else if (encode) {
      this.compressed ??= new Map();
      let frames = this.compressed.get(ext.sharingKey);
      if (frames === undefined) {
        frames = wholeFrame(this.text ? Opcode.TEXT : Opcode.BINARY, ext.encode(bytes), ext.rsvBits);
        this.compressed.set(ext.sharingKey, frames);
      }
      p.sendFrames(frames);
    } else {
      this.plain ??= wholeFrame(this.text ? Opcode.TEXT : Opcode.BINARY, bytes, 0);
      p.sendFrames(this.plain);
    }
    conn.messagesOut++;
    conn.flushOutput();
    return true;
  }
}

/**
 * One unmasked frame in one buffer, header and payload together: copied once
 * for every subscriber, it is one piece per message in each connection's
 * write (rather than two: header, payload), whatever its size.
 */
function wholeFrame(opcode: number, payload: Uint8Array, rsv: number): Uint8Array[] {
  const frame = Buffer.allocUnsafe(frameHeaderSize(payload.length, false) + payload.length);
  frame.set(payload, writeFrameHeader(frame, 0, true, rsv, opcode, payload.length, null));
  return [frame];
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
  const shared = new SharedMessage(checkBroadcast(connections, message, options), options.compress !== false);
  let skipped = 0;
  for (const conn of connections) {
    if (conn.bufferedAmount > conn.writeHighWaterMark || !shared.sendTo(conn)) skipped++;
  }
  return skipped;
}

/**
 * Check the arguments of `broadcast` — a few type tests, nothing per
 * connection — and return the message: a string as it is, bytes as a
 * Uint8Array view.
 */
function checkBroadcast(connections: unknown, message: unknown, options: unknown): string | Uint8Array {
  const bytes = typeof message === "string" ? message : toBytes(message);
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
