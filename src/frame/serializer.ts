/**
 * A pure RFC 6455 §5.2 frame serializer.
 *
 * `serializeFrame` returns the bytes of one frame as a list of buffers to be
 * written in order (header and payload kept apart, so a large payload is
 * written without a copy). Small frames are returned as one buffer: for them a
 * 100-byte copy is cheaper than a second iovec, and one `write` beats two.
 *
 * Masking (client role) never modifies the caller's payload: the masked bytes
 * are written into a fresh buffer, which is also where the header goes.
 */
import { Buffer } from "node:buffer";
import { InvalidState } from "../errors.js";
import { maskInto, type MaskSource } from "./mask.js";
import { isControlOpcode } from "./opcodes.js";

/** Payloads up to this size are copied next to their header into one buffer. */
export const MERGE_THRESHOLD = 1024;

/** Options of {@link serializeFrame}. */
export interface SerializeOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV bits in place (0x40 = RSV1); default 0. */
  rsv?: number;
  /** Mask source for the client role; absent or null for the server role (unmasked). */
  mask?: MaskSource | null;
}

/** Length of the header for a payload of `length` bytes (§5.2). */
export function frameHeaderSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Write a frame header into `target` at `offset`; returns the offset where the
 * payload starts. `key` is the 4-byte masking key or null.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  length: number,
  key: Uint8Array | null,
): number {
  let p = offset;
  target[p++] = (fin ? 0x80 : 0) | rsv | opcode;
  const maskBit = key !== null ? 0x80 : 0;
  // §5.2: "the minimal number of bytes MUST be used to encode the length".
  if (length < 126) {
    target[p++] = maskBit | length;
  } else if (length < 0x10000) {
    target[p++] = maskBit | 126;
    target[p++] = length >>> 8;
    target[p++] = length & 0xff;
  } else {
    target[p++] = maskBit | 127;
    const hi = Math.floor(length / 0x100000000);
    target[p++] = hi >>> 24;
    target[p++] = (hi >>> 16) & 0xff;
    target[p++] = (hi >>> 8) & 0xff;
    target[p++] = hi & 0xff;
    target[p++] = length >>> 24;
    target[p++] = (length >>> 16) & 0xff;
    target[p++] = (length >>> 8) & 0xff;
    target[p++] = length & 0xff;
  }
  if (key !== null) {
    target[p++] = key[0]!;
    target[p++] = key[1]!;
    target[p++] = key[2]!;
    target[p++] = key[3]!;
  }
  return p;
}

/**
 * Serialize one frame. Returns one buffer (small or masked frames) or two
 * (header, then the caller's payload itself, unmasked large frames).
 * Throws `InvalidState` for a control frame that breaks §5.5 (a local error).
 */
export function serializeFrame(opcode: number, payload: Uint8Array, options: SerializeOptions = {}): Uint8Array[] {
  const fin = options.fin ?? true;
  const rsv = options.rsv ?? 0;
  const length = payload.length;
  if (isControlOpcode(opcode) && (length > 125 || !fin)) {
    throw new InvalidState("control frames must be unfragmented with at most 125 bytes of payload");
  }
  const key = options.mask ? options.mask() : null;
  const headerSize = frameHeaderSize(length, key !== null);
  if (key === null && length > MERGE_THRESHOLD) {
    const header = Buffer.allocUnsafe(headerSize);
    writeFrameHeader(header, 0, fin, rsv, opcode, length, null);
    return [header, payload];
  }
  const frame = Buffer.allocUnsafe(headerSize + length);
  const start = writeFrameHeader(frame, 0, fin, rsv, opcode, length, key);
  if (key !== null) maskInto(payload, key, frame, start);
  else frame.set(payload, start);
  return [frame];
}
