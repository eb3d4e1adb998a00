import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  MASK_WASM_THRESHOLD,
  MASK_WORD_THRESHOLD,
  mask,
  maskBytewise,
  maskCopy,
  maskInto,
  maskSlice,
  maskStrategy,
  randomMask,
  unmaskingArena,
  useWasmMasking,
} from "../../src/frame/mask.js";

const key4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
// Offsets into a frame payload: small ones, and ones past 2^32 (a frame
// payload length is 63 bits), where only the value modulo 4 may matter. Kept
// below 2^52 so the reference loop's `offset + i` stays an exact integer.
const payloadOffset = fc.oneof(fc.nat(16), fc.integer({ min: 2 ** 32 - 8, max: 2 ** 52 }));

/**
 * Lengths that reach every strategy: the byte loop, the word / SIMD paths
 * around their thresholds, and several 64 KiB wasm chunks plus a tail.
 */
const length = fc.oneof(
  { weight: 4, arbitrary: fc.nat(MASK_WORD_THRESHOLD + 8) },
  { weight: 4, arbitrary: fc.integer({ min: MASK_WORD_THRESHOLD - 8, max: 4096 }) },
  { weight: 1, arbitrary: fc.constantFrom(65535, 65536, 65537, 65536 * 2 + 7, 200_003) },
);

/** Deterministic bytes from a seed: big payloads without shrinking megabyte arrays. */
function filled(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * maskCopy of `source[start..start+n)` into a target at `targetOffset`
 * equals copy + byte loop, touches nothing else of the target and nothing
 * of the source; then maskSlice in place on the source changes only that
 * range, as the byte loop does.
 */
function expectCopyAndSlice(source: Uint8Array, start: number, n: number, key: Uint8Array, offset: number, targetOffset: number, seed: number): void {
  const sourceBefore = source.slice();
  const target = filled(targetOffset + n + 3, seed);
  const expected = target.slice();
  expected.set(sourceBefore.subarray(start, start + n), targetOffset);
  maskBytewise(expected.subarray(targetOffset, targetOffset + n), key, offset);
  maskCopy(source, start, start + n, key, offset, target, targetOffset);
  expect(Buffer.compare(target, expected)).toBe(0);
  expect(Buffer.compare(source, sourceBefore)).toBe(0);
  const reference = sourceBefore.slice();
  maskBytewise(reference.subarray(start, start + n), key, offset);
  maskSlice(source, start, start + n, key, offset);
  expect(Buffer.compare(source, reference)).toBe(0);
}

/** Run the properties with the SIMD path on and off, so the JS word loop (the fallback) is tested too. */
for (const wasm of [true, false]) {
  describe(`mask (wasm ${wasm ? "allowed" : "forbidden"})`, () => {
    afterAll(() => {
      useWasmMasking(true);
    });

    it("selects the expected strategy", () => {
      const active = useWasmMasking(wasm);
      // Node 20+ has WebAssembly SIMD, so the hand-assembled module must compile.
      expect(active).toBe(wasm);
      expect(maskStrategy(0)).toBe("bytes");
      expect(maskStrategy(MASK_WORD_THRESHOLD - 1)).toBe("bytes");
      expect(maskStrategy(1 << 20)).toBe(wasm ? "wasm" : "words");
      expect(maskStrategy(Math.max(MASK_WORD_THRESHOLD, MASK_WASM_THRESHOLD))).toBe(wasm ? "wasm" : "words");
    });

    it("RFC 6455 §5.7 example: 'Hello' with key 37 fa 21 3d", () => {
      useWasmMasking(wasm);
      const data = new TextEncoder().encode("Hello");
      mask(data, Uint8Array.of(0x37, 0xfa, 0x21, 0x3d));
      expect([...data]).toEqual([0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    });

    it("is an involution: masking twice gives the original", () => {
      useWasmMasking(wasm);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), key4, payloadOffset, (data, key, offset) => {
          const copy = data.slice();
          mask(copy, key, offset);
          mask(copy, key, offset);
          expect(copy).toEqual(data);
        }),
      );
    });

    it("equals the byte loop on arbitrary bytes, keys and offsets", () => {
      useWasmMasking(wasm);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), key4, payloadOffset, (data, key, offset) => {
          const fast = data.slice();
          const slow = data.slice();
          mask(fast, key, offset);
          maskBytewise(slow, key, offset);
          expect(fast).toEqual(slow);
        }),
      );
    });

    it("equals the byte loop on views at every byteOffset 0–7, touching nothing outside the view", () => {
      useWasmMasking(wasm);
      fc.assert(
        fc.property(
          length,
          fc.integer({ min: 0, max: 7 }),
          fc.nat(8),
          key4,
          payloadOffset,
          fc.integer(),
          (n, byteOffset, slack, key, offset, seed) => {
            const backing = filled(byteOffset + n + slack, seed);
            const expected = backing.slice();
            maskBytewise(expected.subarray(byteOffset, byteOffset + n), key, offset);
            const view = new Uint8Array(backing.buffer, byteOffset, n);
            mask(view, key, offset);
            // Comparing the whole backing buffer also checks the bytes around the view.
            expect(Buffer.compare(backing, expected)).toBe(0);
          },
        ),
        { numRuns: 200 },
      );
    });

    it("follows the key across a payload split into pieces (the offset argument)", () => {
      useWasmMasking(wasm);
      fc.assert(
        fc.property(length, fc.array(fc.nat(), { maxLength: 6 }), key4, fc.integer(), (n, cuts, key, seed) => {
          const whole = filled(n, seed);
          const pieces = whole.slice();
          const points = [...new Set(cuts.map((c) => (n === 0 ? 0 : c % n)))].sort((a, b) => a - b);
          let start = 0;
          for (const end of [...points, n]) {
            mask(pieces.subarray(start, end), key, start);
            start = end;
          }
          mask(whole, key);
          expect(Buffer.compare(pieces, whole)).toBe(0);
        }),
        { numRuns: 100 },
      );
    });

    it("maskInto equals copy + mask, leaves the source alone and touches only its target range", () => {
      useWasmMasking(wasm);
      fc.assert(
        fc.property(
          length,
          fc.integer({ min: 0, max: 7 }),
          fc.integer({ min: 0, max: 15 }),
          fc.nat(8),
          key4,
          fc.integer(),
          (n, sourceOffset, targetOffset, slack, key, seed) => {
            const sourceBacking = filled(sourceOffset + n, seed);
            const source = sourceBacking.subarray(sourceOffset);
            const sourceBefore = source.slice();
            const target = filled(targetOffset + n + slack, seed ^ 0x5a5a5a5a);
            const expected = target.slice();
            expected.set(source, targetOffset);
            maskBytewise(expected.subarray(targetOffset, targetOffset + n), key);
            maskInto(source, key, target, targetOffset);
            expect(Buffer.compare(target, expected)).toBe(0);
            expect(Buffer.compare(source, sourceBefore)).toBe(0);
          },
        ),
        { numRuns: 200 },
      );
    });

    it("maskCopy and maskSlice equal maskInto / mask on the subarray, at any key phase, touching nothing else", () => {
      useWasmMasking(wasm);
      fc.assert(
        fc.property(length, fc.nat(9), fc.nat(9), fc.nat(15), payloadOffset, key4, fc.integer(), (n, before, after, targetOffset, offset, key, seed) => {
          expectCopyAndSlice(filled(before + n + after, seed), before, n, key, offset, targetOffset, seed ^ 0x33);
        }),
        { numRuns: 200 },
      );
    });

    it("maskInto is right when source and target overlap in one buffer", () => {
      useWasmMasking(wasm);
      fc.assert(
        fc.property(length, fc.nat(40), fc.nat(40), key4, fc.integer(), (n, from, to, key, seed) => {
          const buffer = filled(Math.max(from, to) + n, seed);
          const expected = buffer.slice();
          expected.set(buffer.subarray(from, from + n), to);
          maskBytewise(expected.subarray(to, to + n), key);
          maskInto(buffer.subarray(from, from + n), key, buffer, to);
          expect(Buffer.compare(buffer, expected)).toBe(0);
        }),
        { numRuns: 100 },
      );
    });
  });
}

describe("unmaskingArena", () => {
  const SIZE = 256 * 1024;
  it("is one buffer per process, in wasm memory: the same for the same size, null for another, an error for a bad size", () => {
    useWasmMasking(true);
    const arena = unmaskingArena(SIZE);
    expect(arena).not.toBeNull();
    expect(arena!.length).toBe(SIZE);
    expect(unmaskingArena(SIZE)).toBe(arena);
    expect(unmaskingArena(SIZE + 1)).toBeNull();
    for (const bad of [0, -1, 1.5, Number.NaN, "1024"]) {
      expect(() => unmaskingArena(bad as number)).toThrow(/unmaskingArena: size must be a positive integer/);
    }
  });

  it("maskCopy and maskSlice from the arena equal the byte loop, up to its last byte, into targets of any size", () => {
    useWasmMasking(true);
    const arena = unmaskingArena(SIZE)!;
    fc.assert(
      fc.property(
        fc.oneof(length, fc.constant(SIZE)),
        fc.nat(SIZE),
        fc.boolean(),
        fc.nat(15),
        payloadOffset,
        key4,
        fc.integer(),
        (n0, at0, atEnd, targetOffset, offset, key, seed) => {
          const n = Math.min(n0, SIZE);
          // Ranges ending at the arena's last byte: the XOR loop reads past it into the slack.
          const start = atEnd ? SIZE - n : Math.min(at0, SIZE - n);
          arena.set(filled(SIZE, seed));
          expectCopyAndSlice(arena, start, n, key, offset, targetOffset, seed ^ 0x55);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("maskCopy bounds", () => {
  it("throws RangeError when the range is outside the source or does not fit the target, and writes nothing", () => {
    const target = new Uint8Array(8);
    expect(() => maskCopy(new Uint8Array(10), 2, 11, new Uint8Array(4), 0, new Uint8Array(20), 0)).toThrow(RangeError);
    expect(() => maskCopy(new Uint8Array(10), 0, 9, new Uint8Array(4), 0, target, 0)).toThrow(RangeError);
    expect(Array.from(target)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("maskInto bounds", () => {
  it("throws RangeError when the source does not fit, and writes nothing", () => {
    const target = new Uint8Array(10);
    expect(() => maskInto(new Uint8Array(8), Uint8Array.of(1, 2, 3, 4), target, 3)).toThrow(RangeError);
    expect(() => maskInto(new Uint8Array(1), Uint8Array.of(1, 2, 3, 4), target, -1)).toThrow(RangeError);
    expect(() => maskInto(new Uint8Array(1000), Uint8Array.of(1, 2, 3, 4), target, 0)).toThrow(RangeError);
    expect([...target]).toEqual(new Array(10).fill(0));
  });

  it("accepts a source that exactly fills the target's end", () => {
    const target = new Uint8Array(6);
    maskInto(Uint8Array.of(0, 0, 0, 0), Uint8Array.of(1, 2, 3, 4), target, 2);
    expect([...target]).toEqual([0, 0, 1, 2, 3, 4]);
  });
});

describe("randomMask", () => {
  it("returns 4-byte keys that vary", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const key = randomMask();
      expect(key.length).toBe(4);
      seen.add(key.join(","));
    }
    // 3000 draws from 2^32 values: a collision is ~0.1 % likely, a handful
    // of them means the pool is not being refilled.
    expect(seen.size).toBeGreaterThan(2990);
  });

  it("keeps each key intact for at least the next 512 calls (the documented contract)", () => {
    // Each round advances the pool by 513 keys, which is coprime with the
    // pool's 1024: 1024 rounds start once at every pool position, including
    // the last key of each half, just before that half's neighbour is refilled.
    for (let round = 0; round < 1024; round++) {
      const key = randomMask();
      const copy = key.slice();
      for (let i = 0; i < 512; i++) randomMask();
      expect(key).toEqual(copy);
    }
  });

  it("is not all zeros after refills (getRandomValues is really called)", () => {
    let nonZero = 0;
    for (let i = 0; i < 2048; i++) if (randomMask().some((b) => b !== 0)) nonZero++;
    expect(nonZero).toBeGreaterThan(2000);
  });
});
