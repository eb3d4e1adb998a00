/**
 * A streaming raw DEFLATE decoder (RFC 1951): what lets a compressed message
 * be read piece by piece (streaming receive) with bounded output per step.
 *
 * Why not zlib: the core is synchronous and Node's zlib has no public
 * synchronous streaming API (`inflateRawSync` builds a zlib stream for one
 * buffer and closes it; see `deflate-codec.ts`). Whole messages still go to
 * zlib, which is faster; this decoder serves only messages read as a stream,
 * where the input arrives in pieces that may cut the DEFLATE data anywhere
 * (inside a block header, a Huffman code, a stored block) and where one small
 * piece may inflate to a thousand times its size.
 *
 * Theory of operation
 * -------------------
 * `push(piece)` queues compressed input (a view, never copied).
 * `read(max)` decodes until it has produced `max` bytes (at most
 * {@link INFLATE_STEP}) or needs more input; `starved` then says which.
 * The output goes into one buffer that also holds the LZ77 window — the last
 * 2^windowBits bytes, primed with the preset dictionary (RFC 7692 context
 * takeover) — and is copied out once per step; the window slides by one copy
 * of at most 2^windowBits bytes per step.
 *
 * Input may run out at any bit. Decoding proceeds in *atoms* — a symbol with
 * its extra bits and distance, a stored block's header, a whole dynamic
 * block header (at most ~300 bytes) — and an atom that runs out of input is
 * undone (the bit reader goes back to where the atom began; the pieces are
 * still queued) and redone when more input comes. Nothing is written before
 * an atom is complete, so undoing it is just resetting four numbers. A match
 * that does not fit in the step's output is finished at the next step.
 *
 * Errors follow zlib's rules (over-subscribed or incomplete codes, a
 * distance beyond the window or the data so far, a stored block whose
 * length check fails...) and are a ProtocolError with close code 1007, as
 * for a whole message zlib refuses. After a final block (BFINAL, allowed by
 * RFC 7692 §7.2.3.4) the rest of the input is ignored, as zlib does.
 */
import { ProtocolError } from "../errors.js";
import { CodeKind, FAST_MASK, Huffman, INVALID, SHORT, decode, fixed } from "./huffman.js";

/** The most output one `read` produces. */
export const INFLATE_STEP = 64 * 1024;

const LEN_BASE = Uint16Array.of(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258);
const LEN_EXTRA = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0);
const DIST_BASE = Uint16Array.of(
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
);
const DIST_EXTRA = Uint8Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13);
/** RFC 1951 §3.2.7: the order in which code length code lengths are sent. */
const CLEN_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);

/** Where the decoder is in the stream. */
const enum State {
  /** Before a block header (3 bits). */
  HEADER,
  /** A stored block's LEN and NLEN. */
  STORED_HEADER,
  /** Copying a stored block's bytes. */
  STORED,
  /** A dynamic block's code definitions. */
  DYNAMIC,
  /** Huffman-coded symbols. */
  CODES,
  /** After the final block: the rest of the input is ignored. */
  DONE,
}

/** A streaming raw DEFLATE decoder; see the module comment. */
export class Inflater {
  /** Size of the LZ77 window (2^windowBits). */
  private readonly wsize: number;
  /** The window, then the output of the current step. */
  private readonly buf: Uint8Array;
  /** End of the data in `buf`. */
  private pos = 0;
  /** Bytes of history a distance may reach back into (dictionary + output, at most wsize). */
  private have = 0;

  private pieces: Uint8Array[] = [];
  /** Current piece and position in it. */
  private pi = 0;
  private ip = 0;
  private hold = 0;
  private bits = 0;

  private state = State.HEADER;
  private last = false;
  private storedLeft = 0;
  /** A match cut off by the end of a step: what is left to copy. */
  private matchLeft = 0;
  private matchDist = 0;
  private lit: Huffman;
  private dist: Huffman;
  private dynLit: Huffman | null = null;
  private dynDist: Huffman | null = null;
  private starved_ = true;
  /** Where the current step's output begins in `buf`. */
  private stepBegin = 0;

  /**
   * @param windowBits the peer's LZ77 window, 8..15 (8 is decoded as 9, as zlib does)
   * @param dictionary the history the peer's compressor may refer to (context takeover), or none
   */
  constructor(windowBits: number, dictionary?: Uint8Array) {
    this.wsize = 1 << Math.max(9, windowBits);
    this.buf = new Uint8Array(this.wsize + INFLATE_STEP);
    if (dictionary !== undefined && dictionary.length > 0) {
      const d = dictionary.length > this.wsize ? dictionary.subarray(dictionary.length - this.wsize) : dictionary;
      this.buf.set(d);
      this.pos = this.have = d.length;
    }
    const f = fixed();
    this.lit = f.lit;
    this.dist = f.dist;
  }

  /** True when the last `read` stopped for want of input (or at the end of the final block), not for room. */
  get starved(): boolean {
    return this.starved_;
  }

  /** True once the final block (BFINAL) ended. */
  get finished(): boolean {
    return this.state === State.DONE;
  }

  /** Queue compressed input; it is kept as a view until decoded (the caller must not reuse it). */
  push(input: Uint8Array): void {
    if (input.length === 0 || this.state === State.DONE) return;
    this.pieces.push(input);
    this.starved_ = false;
  }

  /**
   * Decode up to `max` bytes (at most {@link INFLATE_STEP}); returns them
   * (a copy the caller owns; empty when none could be produced). Throws
   * ProtocolError (1007) on invalid data.
   */
  read(max: number): Uint8Array {
    const room = Math.max(1, Math.min(max, INFLATE_STEP));
    if (this.pos + room > this.buf.length) {
      // Slide: keep the window, make room for a step.
      const keep = this.have;
      this.buf.copyWithin(0, this.pos - keep, this.pos);
      this.pos = keep;
    }
    const start = (this.stepBegin = this.pos);
    const end = start + room;
    this.run(end);
    // Pieces wholly decoded are dropped (views: nothing to free but the reference).
    if (this.pi > 0) {
      this.pieces.splice(0, this.pi);
      this.pi = 0;
    }
    const produced = this.pos - start;
    this.have = Math.min(this.wsize, this.have + produced);
    return produced === 0 ? EMPTY : this.buf.slice(start, this.pos);
  }

  /** The last bytes decoded (with the dictionary), at most 2^windowBits: the next message's dictionary. */
  window(): Uint8Array {
    return this.buf.subarray(this.pos - this.have, this.pos);
  }

  // ------------------------------------------------------------ decoding --

  /** Decode until `pos` reaches `end` or input runs out. */
  private run(end: number): void {
    this.starved_ = false;
    for (;;) {
      if (this.matchLeft > 0) {
        this.copyMatch(this.matchLeft, this.matchDist, end);
        if (this.matchLeft > 0) return;
      }
      if (this.pos >= end) return;
      let more: boolean;
      switch (this.state) {
        case State.HEADER:
          more = this.blockHeader();
          break;
        case State.STORED_HEADER:
          more = this.storedHeader();
          break;
        case State.STORED:
          more = this.stored(end);
          break;
        case State.DYNAMIC:
          more = this.dynamicHeader();
          break;
        case State.CODES:
          more = this.codes(end);
          break;
        default:
          more = false;
      }
      if (!more) {
        // Out of input (or done), unless the step is full.
        if (this.pos < end && this.matchLeft === 0) this.starved_ = true;
        return;
      }
    }
  }

  /** Make `n` (≤ 24) bits available in `hold`; false when the input runs out first. */
  private need(n: number): boolean {
    while (this.bits < n) {
      let piece = this.pieces[this.pi];
      while (piece !== undefined && this.ip >= piece.length) {
        piece = this.pieces[++this.pi];
        this.ip = 0;
      }
      if (piece === undefined) return false;
      this.hold |= piece[this.ip++]! << this.bits;
      this.bits += 8;
    }
    return true;
  }

  private take(n: number): number {
    const v = this.hold & ((1 << n) - 1);
    this.hold >>>= n;
    this.bits -= n;
    return v;
  }

  private blockHeader(): boolean {
    if (this.last) {
      this.state = State.DONE;
      this.pieces = [];
      this.pi = this.ip = 0;
      return false;
    }
    if (!this.need(3)) return false;
    this.last = this.take(1) === 1;
    const type = this.take(2);
    if (type === 0) {
      // §3.2.4: "skip any remaining bits in current partially processed byte".
      this.take(this.bits & 7);
      this.state = State.STORED_HEADER;
    } else if (type === 1) {
      const f = fixed();
      this.lit = f.lit;
      this.dist = f.dist;
      this.state = State.CODES;
    } else if (type === 2) {
      this.state = State.DYNAMIC;
    } else {
      throw invalidData("invalid block type");
    }
    return true;
  }

  private storedHeader(): boolean {
    const pi = this.pi, ip = this.ip, hold = this.hold, bits = this.bits;
    if (!this.need(16)) return false;
    const len = this.take(16);
    if (!this.need(16)) {
      this.undo(pi, ip, hold, bits);
      return false;
    }
    const nlen = this.take(16);
    if ((len ^ 0xffff) !== nlen) throw invalidData("invalid stored block lengths");
    this.storedLeft = len;
    this.state = len === 0 ? State.HEADER : State.STORED;
    return true;
  }

  private stored(end: number): boolean {
    const buf = this.buf;
    // Whole bytes still in the bit buffer first (the header was byte-aligned).
    while (this.bits >= 8 && this.storedLeft > 0 && this.pos < end) {
      buf[this.pos++] = this.take(8);
      this.storedLeft--;
    }
    while (this.storedLeft > 0 && this.pos < end) {
      const piece = this.pieces[this.pi];
      if (piece === undefined) return false;
      if (this.ip >= piece.length) {
        this.pi++;
        this.ip = 0;
        continue;
      }
      const n = Math.min(this.storedLeft, end - this.pos, piece.length - this.ip);
      buf.set(piece.subarray(this.ip, this.ip + n), this.pos);
      this.ip += n;
      this.pos += n;
      this.storedLeft -= n;
    }
    if (this.storedLeft === 0) this.state = State.HEADER;
    return true;
  }

  /** §3.2.7: the code lengths of a dynamic block, decoded whole or not at all. */
  private dynamicHeader(): boolean {
    const pi = this.pi, ip = this.ip, hold = this.hold, bits = this.bits;
    const ok = this.readDynamic();
    if (!ok) this.undo(pi, ip, hold, bits);
    return ok;
  }

  private readDynamic(): boolean {
    if (!this.need(14)) return false;
    const nlen = this.take(5) + 257;
    const ndist = this.take(5) + 1;
    const ncode = this.take(4) + 4;
    if (nlen > 286 || ndist > 30) throw invalidData("too many length or distance symbols");
    const lengths = new Uint8Array(320);
    for (let i = 0; i < ncode; i++) {
      if (!this.need(3)) return false;
      lengths[CLEN_ORDER[i]!] = this.take(3);
    }
    const clen = new Huffman(19);
    clen.build(lengths, 19, CodeKind.CODE_LENGTHS);
    lengths.fill(0);
    let i = 0;
    while (i < nlen + ndist) {
      this.need(15);
      const e = decode(clen, this.hold, this.bits);
      if (e === SHORT) return false;
      if (e === INVALID) throw invalidData("invalid code lengths set");
      this.take(e >>> 16);
      const sym = e & 0xffff;
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let value = 0;
      let repeat: number;
      if (sym === 16) {
        // (Checked once its extra bits are in, as zlib does: a truncated header is no error.)
        if (!this.need(2)) return false;
        if (i === 0) throw invalidData("invalid bit length repeat");
        value = lengths[i - 1]!;
        repeat = 3 + this.take(2);
      } else if (sym === 17) {
        if (!this.need(3)) return false;
        repeat = 3 + this.take(3);
      } else {
        if (!this.need(7)) return false;
        repeat = 11 + this.take(7);
      }
      if (i + repeat > nlen + ndist) throw invalidData("invalid bit length repeat");
      while (repeat-- > 0) lengths[i++] = value;
    }
    // §3.2.5: the end-of-block code must be there.
    if (lengths[256] === 0) throw invalidData("invalid code -- missing end-of-block");
    const lit = (this.dynLit ??= new Huffman(288));
    lit.build(lengths, nlen, CodeKind.LENGTHS);
    const dist = (this.dynDist ??= new Huffman(32));
    dist.build(lengths.subarray(nlen), ndist, CodeKind.DISTANCES);
    this.lit = lit;
    this.dist = dist;
    this.state = State.CODES;
    return true;
  }

  /** Huffman-coded symbols until the end of the block, the end of the step or of the input. */
  private codes(end: number): boolean {
    const buf = this.buf;
    const lit = this.lit;
    const dist = this.dist;
    for (;;) {
      if (this.pos >= end) return true;
      if (end - this.pos >= 258) {
        const piece = this.pieces[this.pi];
        if (piece !== undefined && piece.length - this.ip >= 8 && this.fastCodes(piece, end)) return true;
        if (this.pos >= end) return true;
      }
      // An atom: undone whole if the input runs out inside it.
      const pi = this.pi, ip = this.ip, hold = this.hold, bits = this.bits;
      this.need(15);
      let e = decode(lit, this.hold, this.bits);
      if (e < 0) {
        if (e === SHORT) return this.undo(pi, ip, hold, bits);
        throw invalidData("invalid literal/length code");
      }
      this.take(e >>> 16);
      let sym = e & 0xffff;
      if (sym < 256) {
        buf[this.pos++] = sym;
        continue;
      }
      if (sym === 256) {
        this.state = State.HEADER;
        return true;
      }
      sym -= 257;
      if (sym >= 29) throw invalidData("invalid literal/length code");
      let extra = LEN_EXTRA[sym]!;
      if (!this.need(extra)) return this.undo(pi, ip, hold, bits);
      const length = LEN_BASE[sym]! + this.take(extra);
      this.need(15);
      e = decode(dist, this.hold, this.bits);
      if (e < 0) {
        if (e === SHORT) return this.undo(pi, ip, hold, bits);
        throw invalidData("invalid distance code");
      }
      this.take(e >>> 16);
      sym = e & 0xffff;
      if (sym >= 30) throw invalidData("invalid distance code");
      extra = DIST_EXTRA[sym]!;
      if (!this.need(extra)) return this.undo(pi, ip, hold, bits);
      const distance = DIST_BASE[sym]! + this.take(extra);
      // History: what preceded this step (`have`) and this step's output so far.
      if (distance > this.wsize || distance > this.have + (this.pos - this.stepBegin)) {
        throw invalidData("invalid distance too far back");
      }
      this.copyMatch(length, distance, end);
    }
  }

  /**
   * The hot loop (zlib's inflate_fast): symbols while the current piece has
   * 8 bytes left — more than one symbol with its extra bits and distance can
   * take — and the step has room for the longest match, so no atom can run
   * short and nothing needs undoing. Returns true at the end of the block.
   */
  private fastCodes(piece: Uint8Array, end: number): boolean {
    const buf = this.buf;
    const litFast = this.lit.fast;
    const distFast = this.dist.fast;
    const lit = this.lit;
    const dist = this.dist;
    const ilast = piece.length - 8;
    const limit = end - 258;
    // A distance may reach back over the history before this step and this step's output.
    const base = this.stepBegin - this.have;
    const wsize = this.wsize;
    let hold = this.hold;
    let bits = this.bits;
    let ip = this.ip;
    let pos = this.pos;
    let blockEnd = false;
    while (ip <= ilast && pos <= limit) {
      if (bits < 15) {
        hold |= piece[ip++]! << bits;
        bits += 8;
        hold |= piece[ip++]! << bits;
        bits += 8;
      }
      let e = litFast[hold & FAST_MASK]!;
      if (e === 0) {
        e = decode(lit, hold, bits);
        if (e < 0) throw invalidData("invalid literal/length code");
      }
      hold >>>= e >>> 16;
      bits -= e >>> 16;
      let sym = e & 0xffff;
      if (sym < 256) {
        buf[pos++] = sym;
        continue;
      }
      if (sym === 256) {
        blockEnd = true;
        break;
      }
      sym -= 257;
      if (sym >= 29) throw invalidData("invalid literal/length code");
      let extra = LEN_EXTRA[sym]!;
      if (bits < extra) {
        hold |= piece[ip++]! << bits;
        bits += 8;
      }
      const length = LEN_BASE[sym]! + (hold & ((1 << extra) - 1));
      hold >>>= extra;
      bits -= extra;
      if (bits < 15) {
        hold |= piece[ip++]! << bits;
        bits += 8;
        hold |= piece[ip++]! << bits;
        bits += 8;
      }
      e = distFast[hold & FAST_MASK]!;
      if (e === 0) {
        e = decode(dist, hold, bits);
        if (e < 0) throw invalidData("invalid distance code");
      }
      hold >>>= e >>> 16;
      bits -= e >>> 16;
      sym = e & 0xffff;
      if (sym >= 30) throw invalidData("invalid distance code");
      extra = DIST_EXTRA[sym]!;
      if (bits < extra) {
        hold |= piece[ip++]! << bits;
        bits += 8;
        if (bits < extra) {
          hold |= piece[ip++]! << bits;
          bits += 8;
        }
      }
      const distance = DIST_BASE[sym]! + (hold & ((1 << extra) - 1));
      hold >>>= extra;
      bits -= extra;
      if (distance > wsize || distance > pos - base) throw invalidData("invalid distance too far back");
      let from = pos - distance;
      if (length < 32 || distance < length) {
        const stop = pos + length;
        while (pos < stop) buf[pos++] = buf[from++]!;
      } else {
        buf.copyWithin(pos, from, from + length);
        pos += length;
      }
    }
    this.hold = hold;
    this.bits = bits;
    this.ip = ip;
    this.pos = pos;
    if (blockEnd) this.state = State.HEADER;
    return blockEnd;
  }

  /** Copy `length` bytes from `distance` back, as far as `end` allows; the rest waits in matchLeft. */
  private copyMatch(length: number, distance: number, end: number): void {
    const buf = this.buf;
    let pos = this.pos;
    const n = Math.min(length, end - pos);
    let from = pos - distance;
    if (distance >= n) {
      buf.copyWithin(pos, from, from + n);
      pos += n;
    } else {
      // Overlapping (a run): byte by byte, as §3.2.3 describes.
      const stop = pos + n;
      while (pos < stop) buf[pos++] = buf[from++]!;
    }
    this.pos = pos;
    this.matchLeft = length - n;
    this.matchDist = distance;
  }

  /** Go back to the start of an atom that ran out of input; returns false (stop: need input). */
  private undo(pi: number, ip: number, hold: number, bits: number): false {
    this.pi = pi;
    this.ip = ip;
    this.hold = hold;
    this.bits = bits;
    return false;
  }
}

const EMPTY = new Uint8Array(0);

/** The error for data that is not DEFLATE (1007, as for a whole message zlib refuses). */
function invalidData(what: string): ProtocolError {
  return new ProtocolError(`invalid compressed data: ${what}`, "WS_ERR_INVALID_COMPRESSED_DATA", 1007);
}
