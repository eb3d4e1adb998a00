/**
 * permessage-deflate (RFC 7692) done by hand for the conformance suite's raw
 * peer, with node:zlib directly: one-shot and context-takeover deflaters, and
 * an inflater for what wavesock sends.
 */
import zlib from "node:zlib";
import { expect } from "vitest";

/** RFC 7692 §7.2.1: the 4 octets a sync flush ends with. */
export const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Compress one message with a fresh deflater (no context takeover), tail removed. */
export function deflateMessage(data: Uint8Array | string, windowBits = 15): Buffer {
  const input = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const out = zlib.deflateRawSync(input, { windowBits: Math.max(9, windowBits), finishFlush: zlib.constants.Z_SYNC_FLUSH });
  expect(out.subarray(-4).equals(SYNC_TAIL)).toBe(true);
  return out.subarray(0, out.length - 4);
}

/** A persistent deflater (context takeover): each message ends with a sync flush, tail removed. */
export class PeerDeflater {
  private readonly z: zlib.DeflateRaw;
  private out: Buffer[] = [];
  constructor(windowBits = 15) {
    this.z = zlib.createDeflateRaw({ windowBits: Math.max(9, windowBits) });
    this.z.on("data", (d: Buffer) => this.out.push(d));
  }
  compress(data: Uint8Array | string): Promise<Buffer> {
    const input = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    return new Promise((resolve, reject) => {
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const all = Buffer.concat(this.out);
        this.out = [];
        if (!all.subarray(-4).equals(SYNC_TAIL)) reject(new Error("no sync flush tail"));
        else resolve(all.subarray(0, all.length - 4));
      });
    });
  }
  close(): void {
    this.z.close();
  }
}

/** A persistent inflater: decodes the messages of one direction in order (context takeover). */
export class PeerInflater {
  private readonly z: zlib.InflateRaw;
  private out: Buffer[] = [];
  private error: Error | null = null;
  constructor(windowBits = 15) {
    this.z = zlib.createInflateRaw({ windowBits: Math.max(9, windowBits) });
    this.z.on("data", (d: Buffer) => this.out.push(d));
    this.z.on("error", (e) => (this.error = e));
  }
  decompress(payload: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.z.write(Buffer.concat([payload, SYNC_TAIL]));
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.error) return reject(this.error);
        const all = Buffer.concat(this.out);
        this.out = [];
        resolve(all);
      });
    });
  }
  close(): void {
    this.z.close();
  }
}
