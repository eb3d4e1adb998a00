/**
 * Frames built and parsed by hand for the conformance suite's raw peer
 * (raw-peer.ts): opcodes, RSV bits, masking, any length encoding (or a lying
 * one), close payloads — valid or not, exactly as told.
 *
 * Nothing here imports wavesock's core: frames are built and parsed by the
 * conformance files alone, so a bug shared by our parser and serializer
 * cannot hide itself.
 */
import { randomBytes } from "node:crypto";

// ------------------------------------------------------------------ opcodes --

/** RFC 6455 §5.2 opcodes. */
export const OP = {
  CONT: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** RSV1 in place in the first header byte (permessage-deflate's "compressed" bit, RFC 7692 §6). */
export const RSV1 = 0x40;
/** RSV2 in place in the first header byte (no extension defines it). */
export const RSV2 = 0x20;
/** RSV3 in place in the first header byte (no extension defines it). */
export const RSV3 = 0x10;

/** A frame as read off the wire. */
export interface Frame {
  fin: boolean;
  /** The RSV bits in place (0x40 = RSV1). */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
}

// ------------------------------------------------------------ frame building --

/** XOR `data` with `key` (a fresh buffer); word at a time for large payloads. */
export function maskBytes(data: Uint8Array, key: Uint8Array): Buffer {
  const n = data.length;
  if (n < 256) {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = data[i]! ^ key[i & 3]!;
    return out;
  }
  // A buffer of its own (offset 0): its words are aligned for a Uint32Array view.
  const out = Buffer.allocUnsafeSlow(n);
  out.set(data);
  const k = new Uint32Array(Uint8Array.from(key).buffer)[0]!;
  const words = new Uint32Array(out.buffer, out.byteOffset, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i]! ^= k;
  for (let i = n & ~3; i < n; i++) out[i] = out[i]! ^ key[i & 3]!;
  return out;
}

let keyPool = Buffer.alloc(0);
let keyPos = 0;
/** Random masking keys, drawn from a pool (one `randomBytes` call per 4096 keys). */
export function randomMaskKey(): Buffer {
  if (keyPos + 4 > keyPool.length) {
    keyPool = randomBytes(16384);
    keyPos = 0;
  }
  keyPos += 4;
  return keyPool.subarray(keyPos - 4, keyPos);
}

/** How to build a frame: anything a conformant sender would not do, on request. */
export interface FrameOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV bits in place (RSV1 = 0x40...). */
  rsv?: number;
  /** Masking key, or null for an unmasked frame. */
  mask?: Uint8Array | null;
  /** Lie about the payload length: the length field says this instead. */
  declaredLength?: number;
  /** Force a length encoding: 7-bit, 16-bit or 64-bit (non-minimal encodings are legal). */
  lengthForm?: 7 | 16 | 64;
}

/** Serialize one frame exactly as told, valid or not. */
export function encodeFrame(opcode: number, payload: Uint8Array | string, opts: FrameOptions = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const length = opts.declaredLength ?? data.length;
  const form = opts.lengthForm ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const mask = opts.mask ?? null;
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | (opts.rsv ?? 0) | (opcode & 0x0f)];
  const m = mask === null ? 0 : 0x80;
  if (form === 7) {
    head.push(m | length);
  } else if (form === 16) {
    head.push(m | 126, (length >> 8) & 0xff, length & 0xff);
  } else {
    head.push(m | 127);
    const hi = Math.floor(length / 0x100000000);
    const lo = length >>> 0;
    head.push((hi >>> 24) & 0xff, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    head.push((lo >>> 24) & 0xff, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
  }
  if (mask !== null) head.push(mask[0]!, mask[1]!, mask[2]!, mask[3]!);
  const body = mask === null ? Buffer.from(data.buffer, data.byteOffset, data.length) : maskBytes(data, mask);
  return Buffer.concat([Buffer.from(head), body]);
}

/** A close frame payload: 2-byte code + UTF-8 reason (or raw reason bytes). */
export function closePayload(code: number, reason: string | Uint8Array = ""): Buffer {
  const r = typeof reason === "string" ? Buffer.from(reason, "utf8") : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code & 0xffff, 0);
  r.copy(b, 2);
  return b;
}

/** Decode a received close payload. */
export function parseClose(payload: Buffer): { code: number | null; reason: Buffer } {
  if (payload.length < 2) return { code: null, reason: payload };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2) };
}
