import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  UTF8_NATIVE_THRESHOLD,
  UTF8_STREAM_NATIVE_THRESHOLD,
  Utf8Validator,
  isValidUtf8,
} from "../../src/frame/utf8.js";

const fatal = new TextDecoder("utf-8", { fatal: true });

/** The oracle: WHATWG's fatal UTF-8 decoder, which implements the same Table 3-7. */
function decoderAccepts(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

// Every boundary of every continuation-byte range in Table 3-7. Any byte a
// valid sequence could continue with lies in a range whose ends are among
// these, so if no completion built from them decodes, none does.
const CONTINUATION_PROBES = [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf];

/**
 * Reference prefix check, built on the oracle only: `bytes` is a prefix of
 * valid UTF-8 iff appending some 0–3 continuation bytes makes it decode.
 */
function isValidPrefix(bytes: Uint8Array): boolean {
  if (decoderAccepts(bytes)) return true;
  const extended = new Uint8Array(bytes.length + 3);
  extended.set(bytes);
  const n = bytes.length;
  for (const a of CONTINUATION_PROBES) {
    extended[n] = a;
    if (decoderAccepts(extended.subarray(0, n + 1))) return true;
    for (const b of CONTINUATION_PROBES) {
      extended[n + 1] = b;
      if (decoderAccepts(extended.subarray(0, n + 2))) return true;
      for (const c of CONTINUATION_PROBES) {
        extended[n + 2] = c;
        if (decoderAccepts(extended.subarray(0, n + 3))) return true;
      }
    }
  }
  return false;
}

/** Index of the first byte after which `bytes` is no longer a valid prefix; -1 if it always is. */
function firstBadByte(bytes: Uint8Array): number {
  // Prefix validity is monotone: once lost, it never comes back.
  for (let i = 0; i < bytes.length; i++) if (!isValidPrefix(bytes.subarray(0, i + 1))) return i;
  return -1;
}

/**
 * Encode `value` in `length` bytes with the UTF-8 bit layout, whether or not
 * that is legal: it produces overlongs, surrogates and values past U+10FFFF.
 */
function looseEncode(value: number, length: number): number[] {
  if (length === 1) return [value & 0x7f];
  const lead = [0, 0, 0xc0, 0xe0, 0xf0][length]!;
  const bytes = [];
  for (let i = length - 1; i > 0; i--) bytes[i] = 0x80 | ((value >>> (6 * (length - 1 - i))) & 0x3f);
  bytes[0] = lead | (value >>> (6 * (length - 1)));
  return bytes.map((b) => b & 0xff);
}

/** One code unit of interesting UTF-8: mostly valid, sometimes just across a line of Table 3-7. */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 0x7f }).map((v) => [v]) },
  { weight: 4, arbitrary: fc.integer({ min: 0x80, max: 0x7ff }).map((v) => looseEncode(v, 2)) },
  { weight: 4, arbitrary: fc.integer({ min: 0x800, max: 0xffff }).map((v) => looseEncode(v, 3)) },
  { weight: 4, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((v) => looseEncode(v, 4)) },
  // Lone surrogates as WTF-8/CESU-8 would write them: ED A0..BF xx.
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((v) => looseEncode(v, 3)) },
  // Past U+10FFFF in four bytes (F4 90.. to F7 BF..).
  { weight: 1, arbitrary: fc.integer({ min: 0x110000, max: 0x1fffff }).map((v) => looseEncode(v, 4)) },
  // Overlong forms of small values.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 2, max: 4 }))
      .map(([v, len]) => looseEncode(v & ((1 << (len === 2 ? 7 : len === 3 ? 11 : 16)) - 1), len)),
  },
  // A stray byte of any value.
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xff }).map((v) => [v]) },
);

/** Near-valid UTF-8 byte strings, sometimes cut short in the middle of a code point. */
const nearUtf8 = fc
  .tuple(fc.array(unit, { maxLength: 120 }), fc.nat(3))
  .map(([units, chop]) => {
    const bytes = Uint8Array.from(units.flat());
    return bytes.subarray(0, Math.max(0, bytes.length - (chop === 3 ? 1 : 0)));
  });

/** Valid text: strings of arbitrary code points (4-byte ones included) encoded. */
const encodedText = fc.string({ unit: "binary", maxLength: 200 }).map((s) => new TextEncoder().encode(s));

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), nearUtf8, encodedText);

/** `bytes` cut at the given points (taken modulo the length). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort(
    (a, b) => a - b,
  );
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const end of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, end));
    start = end;
  }
  return pieces;
}

const hex = (s: string) => Uint8Array.from(s.split(" ").filter(Boolean).map((h) => parseInt(h, 16)));

// Each row: bytes, valid as a whole?, and the number of leading bytes that
// are still a valid prefix (the byte after them is where a fail-fast
// validator must say no).
const VECTORS: Array<[string, boolean, number]> = [
  ["", true, 0],
  ["41", true, 1],
  ["7f", true, 1],
  ["c2 80", true, 2], // U+0080, smallest 2-byte
  ["df bf", true, 2], // U+07FF
  ["e0 a0 80", true, 3], // U+0800, smallest 3-byte
  ["ed 9f bf", true, 3], // U+D7FF, last before the surrogates
  ["ee 80 80", true, 3], // U+E000, first after them
  ["ef bf bf", true, 3], // U+FFFF
  ["ef bb bf", true, 3], // U+FEFF (a BOM is valid text)
  ["f0 90 80 80", true, 4], // U+10000, smallest 4-byte
  ["f4 8f bf bf", true, 4], // U+10FFFF, the last code point
  ["e2 82 ac", true, 3], // "€"
  ["80", false, 0], // continuation byte first
  ["bf", false, 0],
  ["c0 80", false, 0], // overlong NUL: C0 never valid
  ["c1 bf", false, 0], // overlong: C1 never valid
  ["e0 80 80", false, 1], // overlong 3-byte: fails at the 2nd byte
  ["e0 9f bf", false, 1],
  ["ed a0 80", false, 1], // U+D800: fails at the 2nd byte
  ["ed bf bf", false, 1], // U+DFFF
  ["f0 80 80 80", false, 1], // overlong 4-byte
  ["f0 8f bf bf", false, 1],
  ["f4 90 80 80", false, 1], // U+110000: fails at the 2nd byte
  ["f5 80 80 80", false, 0], // F5 never valid
  ["ff", false, 0],
  ["fe", false, 0],
  ["c2", false, 1], // truncated at the end: a valid prefix, not valid text
  ["e2 82", false, 2],
  ["f0 9f 98", false, 3],
  ["c2 41", false, 1], // missing continuation
  ["e2 28 a1", false, 1],
  ["f0 9f 98 80 80", false, 4], // one continuation byte too many
  ["ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", false, 12], // Autobahn 6.4.1-like: "κόσμε" + surrogate
];

describe("vectors", () => {
  for (const [bytesHex, valid, validPrefix] of VECTORS) {
    const bytes = hex(bytesHex);
    it(`${bytesHex || "(empty)"}: ${valid ? "valid" : `invalid, prefix of ${validPrefix}`}`, () => {
      expect(decoderAccepts(bytes)).toBe(valid); // the vector itself is right
      expect(isValidUtf8(bytes)).toBe(valid);
      // Long enough for the native path too: pad in front with ASCII.
      const padded = new Uint8Array(100 + bytes.length);
      padded.fill(0x61, 0, 100);
      padded.set(bytes, 100);
      expect(isValidUtf8(padded)).toBe(valid);

      const v = new Utf8Validator();
      expect(v.push(bytes)).toBe(validPrefix === bytes.length);
      expect(v.end()).toBe(valid);

      const byByte = new Utf8Validator();
      bytes.forEach((b, i) => expect(byByte.push(Uint8Array.of(b))).toBe(i < validPrefix));
      expect(byByte.end()).toBe(valid);
    });
  }
});

describe("Utf8Validator fail-fast", () => {
  it.each([
    ["f4 90", "past U+10FFFF"],
    ["ed a0", "a surrogate"],
    ["e0 80", "overlong"],
    ["f0 8f", "overlong 4-byte"],
    ["f5", "never a lead byte"],
  ])("rejects %s (%s) before the code point is complete", (bytesHex) => {
    const v = new Utf8Validator();
    expect(v.push(hex(bytesHex))).toBe(false);
  });

  it("rejects a bad second byte arriving in the next piece", () => {
    const v = new Utf8Validator();
    expect(v.push(hex("61 62 f4"))).toBe(true);
    expect(v.push(hex("90"))).toBe(false);
  });

  it("stays false after a failure until reset, then starts afresh", () => {
    const v = new Utf8Validator();
    expect(v.push(hex("ed a0"))).toBe(false);
    expect(v.push(hex("41"))).toBe(false);
    expect(v.push(new Uint8Array(1000).fill(0x41))).toBe(false);
    expect(v.end()).toBe(false);
    v.reset();
    expect(v.push(hex("41"))).toBe(true);
    expect(v.end()).toBe(true);
  });

  it("reset drops a pending code point", () => {
    const v = new Utf8Validator();
    expect(v.push(hex("e2 82"))).toBe(true);
    expect(v.end()).toBe(false);
    v.reset();
    expect(v.end()).toBe(true);
    expect(v.push(hex("ac"))).toBe(false); // a lone continuation byte now
  });

  it("carries a code point split before a long run (the native path)", () => {
    const rest = new Uint8Array(UTF8_STREAM_NATIVE_THRESHOLD * 4).fill(0x61);
    rest[0] = 0xac; // completes "€"
    rest[rest.length - 2] = 0xf0; // and leaves "😀" incomplete at the end
    rest[rest.length - 1] = 0x9f;
    const v = new Utf8Validator();
    expect(v.push(hex("e2 82"))).toBe(true);
    expect(v.push(rest)).toBe(true);
    expect(v.end()).toBe(false);
    expect(v.push(hex("98 80"))).toBe(true);
    expect(v.end()).toBe(true);
  });

  it("finds an invalid byte in the middle of a long run", () => {
    const data = new Uint8Array(UTF8_STREAM_NATIVE_THRESHOLD * 8).fill(0x61);
    data[300] = 0xc0;
    expect(new Utf8Validator().push(data)).toBe(false);
  });

  it("rejects a long run ending in four continuation bytes", () => {
    const data = new Uint8Array(UTF8_STREAM_NATIVE_THRESHOLD * 2).fill(0x61);
    data.fill(0x80, data.length - 4);
    expect(new Utf8Validator().push(data)).toBe(false);
  });
});

describe("properties (oracle: TextDecoder with fatal: true)", () => {
  it("isValidUtf8 agrees with TextDecoder", () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        expect(isValidUtf8(bytes)).toBe(decoderAccepts(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("isValidUtf8 agrees on both sides of the native threshold", () => {
    fc.assert(
      fc.property(nearUtf8, fc.integer({ min: UTF8_NATIVE_THRESHOLD - 4, max: UTF8_NATIVE_THRESHOLD + 4 }), (b, n) => {
        const bytes = b.subarray(0, n);
        expect(isValidUtf8(bytes)).toBe(decoderAccepts(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("Utf8Validator agrees with TextDecoder under any chunking", () => {
    fc.assert(
      fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const v = new Utf8Validator();
        let ok = true;
        for (const piece of split(bytes, cuts)) ok = v.push(piece) && ok;
        expect(ok && v.end()).toBe(decoderAccepts(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("Utf8Validator agrees with TextDecoder fed one byte at a time", () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const v = new Utf8Validator();
        let ok = true;
        for (const b of bytes) ok = v.push(Uint8Array.of(b)) && ok;
        expect(ok && v.end()).toBe(decoderAccepts(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("fails fast, byte at a time: push is false exactly from the first byte that no valid text continues with", () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const bad = firstBadByte(bytes);
        const v = new Utf8Validator();
        for (let i = 0; i < bytes.length; i++) {
          // Never a false alarm while still a valid prefix; false at `bad` and after.
          expect(v.push(bytes.subarray(i, i + 1))).toBe(bad === -1 || i < bad);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("fails fast under any chunking: false from the chunk that holds the first bad byte", () => {
    fc.assert(
      fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const bad = firstBadByte(bytes);
        const v = new Utf8Validator();
        let start = 0;
        for (const piece of split(bytes, cuts)) {
          const end = start + piece.length;
          const expected = bad === -1 || end <= bad;
          expect(v.push(piece)).toBe(expected);
          start = end;
        }
      }),
      { numRuns: 300 },
    );
  });
});
