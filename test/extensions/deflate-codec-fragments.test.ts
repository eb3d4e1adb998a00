/**
 * The PerMessageDeflate codec (RFC 7692) on fragmented messages
 * (encodeFragment) and through its streaming decoder, against itself and
 * against persistent zlib streams. Whole messages are in deflate-codec.test.ts.
 */
import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PerMessageDeflate } from "../../src/extensions/deflate-codec.js";
import { StreamDeflater, StreamInflater, TAIL, message, messages, params, peerOf, utf8, windowBits } from "./deflate-fixtures.js";

/** A message split into fragments at `cuts` (positions), each at least empty. */
function splitAt(m: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, m.length)))].sort((a, b) => a - b);
  const bounds = [0, ...points, m.length];
  return bounds.slice(1).map((end, i) => m.subarray(bounds[i]!, end));
}

/** Decode one message with the streaming decoder, its payload pushed in pieces of `piece` bytes, read in steps of `step`. */
function streamDecode(codec: PerMessageDeflate, payload: Uint8Array, piece: number, step: number): Buffer {
  const decoder = codec.streamDecoder();
  const out: Uint8Array[] = [];
  const readAll = () => {
    for (let o = decoder.read(step); o.length > 0; o = decoder.read(step)) {
      expect(o.length).toBeLessThanOrEqual(step);
      out.push(o);
    }
  };
  for (let at = 0; at < payload.length; at += piece) {
    decoder.push(payload.subarray(at, at + piece));
    readAll();
  }
  decoder.end();
  readAll();
  expect(decoder.drained).toBe(true);
  return Buffer.concat(out);
}

describe("PerMessageDeflate codec: fragmented and streamed messages", () => {
  const cuts = fc.array(fc.nat(80_000), { maxLength: 6 });
  const sequence = fc.array(fc.record({ m: message, cuts, fragmented: fc.boolean(), streamed: fc.boolean() }), { maxLength: 10 });

  it("fragments sent with encodeFragment decode as one message, whole or streamed, and the history stays right after them — every parameter set", () => {
    fc.assert(
      fc.property(
        sequence,
        windowBits,
        fc.boolean(),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 70_000 }),
        (msgs, bits, noTakeover, level, piece, step) => {
          const p = params({ localNoContextTakeover: noTakeover, localMaxWindowBits: bits, level });
          const sender = new PerMessageDeflate(p);
          const receiver = new PerMessageDeflate(peerOf(p));
          for (const { m, cuts: at, fragmented, streamed } of msgs) {
            let payload: Uint8Array;
            if (fragmented) {
              const parts = splitAt(m, at);
              payload = Buffer.concat(parts.map((part, i) => sender.encodeFragment(part, i === parts.length - 1)));
            } else {
              payload = sender.encode(m);
            }
            const got = streamed ? streamDecode(receiver, payload, piece, step) : receiver.decode(payload, m.length);
            expect(Buffer.from(got)).toEqual(Buffer.from(m));
          }
        },
      ),
      { numRuns: 80 },
    );
  }, 120_000);

  it("fragments compressed with encodeFragment inflate through one persistent zlib stream (ws, browsers)", async () => {
    await fc.assert(
      fc.asyncProperty(sequence, windowBits, async (msgs, bits) => {
        const sender = new PerMessageDeflate(params({ localMaxWindowBits: bits }));
        const inflater = new StreamInflater(Math.max(9, bits));
        try {
          for (const { m, cuts: at } of msgs) {
            const parts = splitAt(m, at);
            const payload = Buffer.concat(parts.map((part, i) => sender.encodeFragment(part, i === parts.length - 1)));
            expect(await inflater.decompress(payload)).toEqual(Buffer.from(m));
          }
        } finally {
          inflater.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it("the streaming decoder reads what a persistent zlib deflater sends, cut anywhere", async () => {
    await fc.assert(
      fc.asyncProperty(messages, fc.integer({ min: 9, max: 15 }), fc.integer({ min: 1, max: 500 }), async (msgs, bits, piece) => {
        const deflater = new StreamDeflater(bits);
        const receiver = new PerMessageDeflate(params({ remoteMaxWindowBits: bits }));
        try {
          for (const m of msgs) expect(streamDecode(receiver, await deflater.compress(m), piece, 4096)).toEqual(Buffer.from(m));
        } finally {
          deflater.close();
        }
      }),
      { numRuns: 30 },
    );
  }, 120_000);

  it("intermediate fragments keep the sync-flush tail, the last loses it; a fragment can be empty", () => {
    const codec = new PerMessageDeflate(params());
    const first = codec.encodeFragment(utf8("Hello, "), false);
    expect(Buffer.from(first.subarray(-4))).toEqual(TAIL);
    const empty = codec.encodeFragment(new Uint8Array(0), false);
    expect(Buffer.from(empty)).toEqual(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    const last = codec.encodeFragment(utf8("world"), true);
    const whole = zlib.inflateRawSync(Buffer.concat([first, empty, last, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(whole.toString()).toBe("Hello, world");
  });
});
