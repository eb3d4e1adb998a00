/**
 * Shared by the PerMessageDeflate codec tests (deflate-codec.test.ts and
 * deflate-codec-fragments.test.ts): parameter sets, message generators for
 * fast-check, and persistent zlib streams as `ws` and browsers use them.
 */
import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import fc from "fast-check";
import { expect } from "vitest";
import type { DeflateParameters } from "../../src/extensions/deflate-codec.js";

/** RFC 7692 §7.2.1: the 4 octets (00 00 ff ff) a sync flush ends with, removed from the end of a compressed message. */
export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** UTF-8 bytes of `s`. */
export const utf8 = (s: string) => Buffer.from(s, "utf8");

/** Codec parameters: zlib's defaults, context takeover both ways, no threshold, unless overridden. */
export function params(overrides: Partial<DeflateParameters> = {}): DeflateParameters {
  return {
    localNoContextTakeover: false,
    remoteNoContextTakeover: false,
    localMaxWindowBits: 15,
    remoteMaxWindowBits: 15,
    memLevel: 8,
    level: 6,
    threshold: 0,
    ...overrides,
  };
}

/** The receiving end of `sender`: its remote direction is the sender's local one. */
export function peerOf(p: DeflateParameters): DeflateParameters {
  return {
    ...p,
    localNoContextTakeover: p.remoteNoContextTakeover,
    remoteNoContextTakeover: p.localNoContextTakeover,
    localMaxWindowBits: p.remoteMaxWindowBits,
    remoteMaxWindowBits: p.localMaxWindowBits,
  };
}

// ---------------------------------------------------------------------------
// Persistent zlib streams, as `ws` and browsers use them.

/** One persistent raw deflater: each message ends with a sync flush, its tail removed. */
export class StreamDeflater {
  private readonly stream: zlib.DeflateRaw;
  private chunks: Buffer[] = [];
  constructor(windowBits: number) {
    this.stream = zlib.createDeflateRaw({ windowBits });
    this.stream.on("data", (c: Buffer) => this.chunks.push(c));
  }
  async compress(message: Uint8Array): Promise<Buffer> {
    this.stream.write(message);
    await new Promise<void>((resolve) => this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    expect(out.subarray(-4)).toEqual(TAIL);
    return out.subarray(0, out.length - 4);
  }
  close(): void {
    this.stream.close();
  }
}

/** One persistent raw inflater: decodes one direction's messages in order (context takeover). */
export class StreamInflater {
  private readonly stream: zlib.InflateRaw;
  private chunks: Buffer[] = [];
  constructor(windowBits: number) {
    this.stream = zlib.createInflateRaw({ windowBits });
    this.stream.on("data", (c: Buffer) => this.chunks.push(c));
  }
  async decompress(payload: Uint8Array): Promise<Buffer> {
    this.stream.write(payload);
    this.stream.write(TAIL);
    await new Promise<void>((resolve) => this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    return out;
  }
  close(): void {
    this.stream.close();
  }
}

// ---------------------------------------------------------------------------
// Message generators: words from a small vocabulary, so that messages refer
// back to earlier ones; raw bytes; text; sometimes larger than a window.

const WORDS = ["alpha", "beta", "gamma", '{"type":"chat",', '"user":', "42", "\u00e9t\u00e9 ", "\u{1f600}", " ", "\n", "zzzzzzzz"];
const wordsMessage = fc
  .tuple(fc.array(fc.constantFrom(...WORDS), { maxLength: 300 }), fc.integer({ min: 1, max: 4 }))
  .map(([words, times]) => utf8(words.join("").repeat(times)));
// Slices of one random pool: incompressible alone, so the only matches are
// repeats of earlier slices, at every distance (that is what catches a
// dictionary of the wrong size).
const POOL = (() => {
  let seed = 7;
  return Uint8Array.from({ length: 12 * 1024 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
})();
const poolSlice = fc
  .tuple(fc.integer({ min: 0, max: POOL.length }), fc.integer({ min: 0, max: 5000 }))
  .map(([start, length]) => POOL.slice(start, start + length));
/** One message: words, pool slices, random bytes, text, empty, or larger than any window. */
export const message = fc.oneof(
  { weight: 4, arbitrary: wordsMessage },
  { weight: 4, arbitrary: poolSlice },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 3000 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }).map(utf8) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.integer({ min: 30_000, max: 70_000 }).map((n) => utf8("0123456789abcdef".repeat(n / 16 + 1)).subarray(0, n)) },
);
/** A sequence of messages, as one connection direction sees them. */
export const messages = fc.array(message, { maxLength: 12 });
/** Negotiable window sizes (RFC 7692 §7.1.2: 8 to 15). */
export const windowBits = fc.integer({ min: 8, max: 15 });
