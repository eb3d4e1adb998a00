/**
 * Canonical Huffman codes (RFC 1951 §3.2.2) for the streaming inflater
 * (`inflate.ts`): building a code from its code lengths — with zlib's rules
 * for over-subscribed, incomplete and empty codes — and decoding a symbol
 * from the low bits of a bit buffer, by one table lookup for codes of up to
 * FAST_BITS bits and canonically for longer ones (rare symbols).
 */
import { ProtocolError } from "../errors.js";

/** Codes up to this many bits are decoded by one table lookup; longer ones canonically. */
export const FAST_BITS = 10;
/** The mask of the lookup table's index bits. */
export const FAST_MASK = (1 << FAST_BITS) - 1;
/** `decode`: the bits so far are a prefix of a code (more input needed). */
export const SHORT = -1;
/** `decode`: the bits so far are no code's. */
export const INVALID = -2;

/** What a Huffman code is for: zlib allows an incomplete code only for lengths/distances with one code. */
export const CodeKind = { CODE_LENGTHS: 0, LENGTHS: 1, DISTANCES: 2 } as const;
/** One of {@link CodeKind}. */
export type CodeKind = (typeof CodeKind)[keyof typeof CodeKind];

/** A canonical Huffman code (RFC 1951 §3.2.2): a lookup table for short codes, counts and symbols for the rest. */
export class Huffman {
  /** Codes of each length, 0..15. */
  readonly count = new Uint16Array(16);
  /** The symbols, in code order. */
  readonly symbol: Uint16Array;
  /** Indexed by the next FAST_BITS input bits: (length << 16) | symbol, or 0 for a longer (or no) code. */
  readonly fast = new Int32Array(1 << FAST_BITS);
  /** The longest code (at least 1): past that many bits, no code matches. */
  maxLength = 1;
  private readonly offs = new Uint16Array(16);

  /** A code for at most `maxSymbols` symbols (built by {@link build}). */
  constructor(maxSymbols: number) {
    this.symbol = new Uint16Array(maxSymbols);
  }

  /** Build the code from `n` code lengths; throws on a set zlib refuses. */
  build(lengths: Uint8Array, n: number, kind: CodeKind): void {
    const count = this.count;
    count.fill(0);
    for (let i = 0; i < n; i++) count[lengths[i]!]!++;
    count[0] = 0;
    let max = 15;
    while (max > 0 && count[max] === 0) max--;
    let left = 1;
    for (let len = 1; len <= 15; len++) {
      left = (left << 1) - count[len]!;
      if (left < 0) throw invalidCode("over-subscribed Huffman code");
    }
    // An incomplete code is allowed only as a single one-bit code (zlib's
    // rule); the missing code is invalid after one bit. An empty code is
    // allowed too, as zlib allows it: distances then fail when one is read;
    // code lengths read one bit each as length 0 (zlib's table does that),
    // which ends in "missing end-of-block".
    if (left > 0 && (kind === CodeKind.CODE_LENGTHS || max !== 1) && max !== 0) throw invalidCode("incomplete Huffman code");
    this.maxLength = Math.max(1, max);
    const offs = this.offs;
    offs[1] = 0;
    for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + count[len]!;
    for (let sym = 0; sym < n; sym++) {
      const len = lengths[sym]!;
      if (len !== 0) this.symbol[offs[len]!++] = sym;
    }
    // Fill the lookup table: a code of `len` bits, read LSB first, owns every
    // index whose low `len` bits are its bit-reversed value.
    const fast = this.fast;
    fast.fill(0);
    let code = 0;
    let index = 0;
    for (let len = 1; len <= FAST_BITS; len++) {
      for (let k = 0; k < count[len]!; k++) {
        const entry = (len << 16) | this.symbol[index++]!;
        for (let i = reverse(code, len); i <= FAST_MASK; i += 1 << len) fast[i] = entry;
        code++;
      }
      code <<= 1;
    }
    if (max === 0 && kind === CodeKind.CODE_LENGTHS) fast.fill((1 << 16) | 0);
  }
}

/** The low `len` bits of `code`, reversed. */
function reverse(code: number, len: number): number {
  let r = 0;
  for (let i = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>>= 1;
  }
  return r;
}

/**
 * The next symbol of `h` in the `bits` low bits of `hold`: (length << 16) |
 * symbol, SHORT when those bits are a prefix of a code, INVALID when they
 * are no code's.
 */
export function decode(h: Huffman, hold: number, bits: number): number {
  const e = h.fast[hold & FAST_MASK]!;
  if (e !== 0 && e >>> 16 <= bits) return e;
  // Canonical decoding, one bit at a time (RFC 1951 §3.2.2, as zlib's puff).
  const count = h.count;
  let code = 0;
  let first = 0;
  let index = 0;
  const most = bits < h.maxLength ? bits : h.maxLength;
  for (let len = 1; len <= most; len++) {
    code |= (hold >>> (len - 1)) & 1;
    const c = count[len]!;
    if (code - first < c) return (len << 16) | h.symbol[index + code - first]!;
    index += c;
    first = (first + c) << 1;
    code <<= 1;
  }
  return most < h.maxLength ? SHORT : INVALID;
}

let fixedTables: { lit: Huffman; dist: Huffman } | null = null;

/** RFC 1951 §3.2.6: the fixed Huffman codes. */
export function fixed(): { lit: Huffman; dist: Huffman } {
  if (fixedTables === null) {
    const lengths = new Uint8Array(288);
    lengths.fill(8, 0, 144);
    lengths.fill(9, 144, 256);
    lengths.fill(7, 256, 280);
    lengths.fill(8, 280, 288);
    const lit = new Huffman(288);
    lit.build(lengths, 288, CodeKind.LENGTHS);
    const dist = new Huffman(32);
    dist.build(new Uint8Array(32).fill(5), 32, CodeKind.DISTANCES);
    fixedTables = { lit, dist };
  }
  return fixedTables;
}

function invalidCode(what: string): ProtocolError {
  return new ProtocolError(`invalid compressed data: ${what}`, "WS_ERR_INVALID_COMPRESSED_DATA", 1007);
}
