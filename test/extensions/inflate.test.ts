import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.js";
import { INFLATE_STEP, Inflater } from "../../src/extensions/inflate.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const TAIL = hex("0000ffff");

/** Inflate `compressed` fed in pieces of `piece` bytes, reading steps of `step`; every step checked against its bound. */
function inflate(compressed: Uint8Array, windowBits = 15, dictionary?: Uint8Array, piece = 1 << 30, step = INFLATE_STEP): { out: Buffer; inflater: Inflater } {
  const inflater = new Inflater(windowBits, dictionary);
  const out: Uint8Array[] = [];
  for (let at = 0; at < compressed.length; at += piece) {
    inflater.push(compressed.subarray(at, at + piece));
    do {
      const o = inflater.read(step);
      expect(o.length).toBeLessThanOrEqual(step);
      out.push(o);
    } while (!inflater.starved);
  }
  return { out: Buffer.concat(out), inflater };
}

/** Data that compresses like real data: runs, repeats at random distances, noise. */
const dataArb = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.record({ byte: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 3000 }) }).map(({ byte, n }) => new Uint8Array(n).fill(byte)),
      fc.string({ maxLength: 100 }).map((s) => Buffer.from(s.repeat(20))),
    ),
    { maxLength: 30 },
  )
  .map((parts) => Buffer.concat(parts));

describe("Inflater: decodes what zlib encodes", () => {
  it("any data, window, level, strategy, dictionary, cut of the input and step size", () => {
    fc.assert(
      fc.property(
        dataArb,
        fc.integer({ min: 8, max: 15 }),
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom(zlib.constants.Z_DEFAULT_STRATEGY, zlib.constants.Z_FILTERED, zlib.constants.Z_HUFFMAN_ONLY, zlib.constants.Z_RLE, zlib.constants.Z_FIXED),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 40_000 }), { nil: undefined }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 70_000 }),
        (data, bits, level, strategy, dict, piece, step) => {
          const options: zlib.ZlibOptions = { windowBits: Math.max(9, bits), level, strategy, finishFlush: zlib.constants.Z_SYNC_FLUSH };
          // What a peer with an 8-bit window may refer to: 256 bytes of history.
          const history = dict === undefined ? undefined : dict.subarray(Math.max(0, dict.length - (1 << bits)));
          if (history !== undefined) options.dictionary = history;
          const compressed = zlib.deflateRawSync(data, options);
          const { out, inflater } = inflate(compressed, bits, history, piece, step);
          expect(out.equals(data)).toBe(true);
          // The window is the last 2^bits (at least 512) bytes of everything, with the dictionary.
          const all = Buffer.concat([history ?? Buffer.alloc(0), data]);
          const w = 1 << Math.max(9, bits);
          expect(Buffer.from(inflater.window()).equals(all.subarray(Math.max(0, all.length - w)))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("agrees with zlib on arbitrary bytes: same output when zlib accepts them, a 1007 ProtocolError when it refuses", () => {
    fc.assert(
      fc.property(fc.option(dataArb, { nil: undefined }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (prefix, garbage, piece) => {
        const valid = prefix === undefined ? Buffer.alloc(0) : zlib.deflateRawSync(prefix, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        const input = Buffer.concat([valid, garbage, TAIL]);
        let expected: Buffer | null = null;
        try {
          expected = zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        } catch {
          expected = null;
        }
        let got: Buffer | null = null;
        try {
          got = inflate(input, 15, undefined, piece).out;
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
          expect((err as ProtocolError).closeCode).toBe(1007);
          expect((err as ProtocolError).code).toBe("WS_ERR_INVALID_COMPRESSED_DATA");
        }
        if (expected === null) expect(got).toBe(null);
        else expect(got?.equals(expected)).toBe(true);
      }),
      { numRuns: Number(process.env.RUNS ?? 2000) },
    );
  });
});

describe("Inflater: RFC 7692 §7.2.3 examples", () => {
  const hello = Buffer.from("Hello");
  it("a message in one block, cut anywhere", () => {
    const msg = hex("f2 48 cd c9 c9 07 00");
    for (let piece = 1; piece <= 11; piece++) expect(inflate(Buffer.concat([msg, TAIL]), 15, undefined, piece).out).toEqual(hello);
  });

  it("sharing the LZ77 window: the second message refers to the first through the dictionary", () => {
    const first = inflate(Buffer.concat([hex("f2 48 cd c9 c9 07 00"), TAIL]));
    const second = inflate(Buffer.concat([hex("f2 00 11 00 00"), TAIL]), 15, first.inflater.window());
    expect(second.out).toEqual(hello);
    // Without the history the reference points before the start: refused, as zlib does.
    expect(() => inflate(Buffer.concat([hex("f2 00 11 00 00"), TAIL]))).toThrow(/too far back/);
  });

  it("a stored block, a message in two blocks, and one ending with BFINAL (what follows is ignored)", () => {
    expect(inflate(Buffer.concat([hex("00 05 00 fa ff 48 65 6c 6c 6f 00"), TAIL]), 15, undefined, 3).out).toEqual(hello);
    expect(inflate(Buffer.concat([hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"), TAIL]), 15, undefined, 2).out).toEqual(hello);
    const final = inflate(Buffer.concat([hex("f3 48 cd c9 c9 07 00 00"), TAIL, hex("ff ff ff")]));
    expect(final.out).toEqual(hello);
    expect(final.inflater.finished).toBe(true);
  });

  it("refuses what zlib refuses: block type 3, stored lengths that disagree, an incomplete code", () => {
    expect(() => inflate(hex("07 00"))).toThrow(/invalid block type/);
    expect(() => inflate(hex("00 05 00 fa fe 48 65 6c 6c 6f"))).toThrow(/stored block lengths/);
    expect(() => inflate(hex("ff ff ff ff ff ff"))).toThrow(ProtocolError);
  });
});

describe("Inflater: a header cut short is no error, as with zlib", () => {
  it("a repeat code (16) with nothing to repeat, its extra bits not yet arrived: wait; once they come: invalid", () => {
    // A dynamic block whose first code length symbol is 16 and ends the input (zlib gives no error here).
    const cut = hex("04 00 a6 65");
    expect(zlib.inflateRawSync(cut, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).length).toBe(0);
    expect(inflate(cut, 15, undefined, 1).out.length).toBe(0);
    expect(() => inflate(Buffer.concat([cut, hex("00")]))).toThrow(/invalid bit length repeat/);
  });
});

describe("Inflater: bounded output", () => {
  it("a bomb (64 MiB of zeros in ~64 KiB) never yields more than a step, fed whole or a byte at a time", () => {
    const bomb = zlib.deflateRawSync(new Uint8Array(64 * 1024 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const inflater = new Inflater(15);
    inflater.push(bomb);
    let total = 0;
    let steps = 0;
    for (let o = inflater.read(1000); o.length > 0; o = inflater.read(1000)) {
      expect(o.length).toBeLessThanOrEqual(1000);
      total += o.length;
      if (++steps === 2000) break; // enough to know: 2 MB out of 64 MiB, and it was not all decoded
    }
    expect(total).toBe(2_000_000);
    expect(inflater.starved).toBe(false);

    const byByte = inflate(bomb.subarray(0, 2000), 15, undefined, 1, 4096);
    expect(byByte.out.length).toBeGreaterThan(1_000_000);
  });
});
