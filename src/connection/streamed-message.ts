/**
 * One received message delivered as it arrives (streaming receive), without
 * being reassembled: the pieces the {@link Receiver} gets from the frame
 * parser go out as `fragment` events, checked on the way.
 *
 * - Uncompressed, a piece goes out as it came: a view of the received chunk
 *   (unmasked in place), no copy.
 * - Compressed (RFC 7692), pieces go to the extension's streaming decoder
 *   and come out in steps of at most {@link INFLATE_STEP} bytes, only as
 *   fast as the reader takes them: a small frame that inflates to gigabytes
 *   costs one step of memory at a time.
 * - Text is validated as it arrives (invalid UTF-8 fails the connection with
 *   1007 on the piece that has it) and cut on code point boundaries: every
 *   text fragment is valid UTF-8 by itself. A code point split between
 *   pieces goes out as a small fragment of its own (at most 4 bytes), so the
 *   big pieces stay views.
 * - The size limit counts the bytes delivered (decompressed); a message over
 *   it fails with 1009 when the byte past it arrives.
 *
 * The reader's appetite is a byte budget the sink keeps: `fragment` returns
 * false once it is spent, and this object stops decoding (its `pending`
 * output waits for {@link pump}); the receiver then stops feeding it and
 * holds input, as for the message budget.
 */
import { PayloadTooBig, ProtocolError } from "../errors.js";
import { INFLATE_STEP } from "../extensions/inflate.js";
import type { MessageDecoder } from "../extensions/types.js";
import type { Utf8Validator } from "../frame/utf8.js";

/** Where a streamed message's pieces go. */
export interface FragmentSink {
  /** The next piece (`fin` on the last). Returns false when the reader has enough for now. */
  fragment(data: Uint8Array, text: boolean, fin: boolean): boolean;
}

const EMPTY = new Uint8Array(0);

/** A message being streamed; see the module comment. */
export class StreamedMessage {
  /** A text message (fragments are whole code points of UTF-8). */
  readonly text: boolean;
  /** The most bytes the message may deliver. */
  readonly limit: number;
  /** True once a fragment went out (the message can no longer be received whole). */
  emitted = false;
  /** True once the last fragment went out. */
  finished = false;
  private readonly sink: FragmentSink;
  private readonly decoder: MessageDecoder | null;
  private readonly validator: Utf8Validator;
  /** Bytes delivered (decompressed). */
  private size = 0;
  /** The payload is complete (compressed: what the decoder still holds ends the message). */
  private ending = false;
  /** The start of a code point cut by the end of the last piece. */
  private readonly carry = new Uint8Array(4);
  private carryLength = 0;
  private carryNeed = 0;

  /**
   * @param validator reset by the caller for a new message; for a message
   *   converted to streaming mid-way, it has checked what `pushReceived` will hand over
   */
  constructor(sink: FragmentSink, text: boolean, decoder: MessageDecoder | null, limit: number, validator: Utf8Validator) {
    this.sink = sink;
    this.text = text;
    this.decoder = decoder;
    this.limit = limit;
    this.validator = validator;
  }

  /** True when decoded output waits for the reader (call {@link pump} once it has room). */
  get pending(): boolean {
    return this.decoder !== null && !this.finished && (!this.decoder.drained || this.ending);
  }

  /**
   * What had arrived before the message was switched to streaming: the
   * payload so far (uncompressed: already checked as UTF-8) or the
   * compressed bytes so far. Returns false when the reader has enough.
   */
  pushReceived(data: Uint8Array): boolean {
    if (data.length === 0) return true;
    if (this.decoder !== null) {
      this.decoder.push(data);
      return this.pump();
    }
    return this.deliver(data, false, false);
  }

  /**
   * The next piece of the payload; `last` when it ends the message's payload
   * (an empty one for a final frame without payload). Returns false when the
   * reader has enough: nothing more may be pushed until {@link pump} says so.
   */
  push(data: Uint8Array, last: boolean): boolean {
    if (this.decoder !== null) {
      this.decoder.push(data);
      if (last) {
        this.ending = true;
        this.decoder.end();
      }
      return this.pump();
    }
    return this.deliver(data, last, true);
  }

  /** Deliver decoded output while the reader takes it; false when it has enough (or output waits). */
  pump(): boolean {
    const decoder = this.decoder;
    if (decoder === null || this.finished) return true;
    for (;;) {
      // One byte past the limit is enough to know it is crossed.
      const room = this.limit - this.size + 1;
      const out = decoder.read(room < INFLATE_STEP ? room : INFLATE_STEP);
      const fin = this.ending && decoder.drained;
      if (out.length === 0 && !fin) return true;
      if (!this.deliver(out, fin, true)) return false;
      if (fin || decoder.drained) return true;
    }
  }

  /** Check and hand a piece to the sink (text: cut on code points). */
  private deliver(data: Uint8Array, fin: boolean, check: boolean): boolean {
    this.size += data.length;
    if (this.size > this.limit) {
      throw PayloadTooBig.over(this.size, this.limit, !fin || this.decoder !== null);
    }
    if (!this.text) return this.out(data, false, fin);
    if (check && !this.validator.push(data)) throw invalidUtf8();
    if (fin && !this.validator.end()) throw invalidUtf8();
    let more = true;
    let rest = data;
    if (this.carryLength > 0) {
      // Finish the code point the last piece cut.
      const k = Math.min(this.carryNeed - this.carryLength, rest.length);
      this.carry.set(rest.subarray(0, k), this.carryLength);
      this.carryLength += k;
      rest = rest.subarray(k);
      if (this.carryLength < this.carryNeed) return true;
      const whole = this.carry.slice(0, this.carryLength);
      this.carryLength = 0;
      more = this.out(whole, true, fin && rest.length === 0);
      if (rest.length === 0) return more;
    }
    const cut = completeEnd(rest);
    if (cut < rest.length) {
      this.carry.set(rest.subarray(cut));
      this.carryLength = rest.length - cut;
      this.carryNeed = sequenceLength(rest[cut]!);
      rest = rest.subarray(0, cut);
    }
    if (rest.length > 0 || (fin && !this.finished)) more = this.out(rest, true, fin) && more;
    return more;
  }

  private out(data: Uint8Array, text: boolean, fin: boolean): boolean {
    if (data.length === 0 && !fin) return true;
    this.emitted = true;
    if (fin) this.finished = true;
    return this.sink.fragment(data.length === 0 ? EMPTY : data, text, fin);
  }
}

/** Bytes in a UTF-8 sequence that starts with `lead` (a valid lead byte). */
function sequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/**
 * The end of the last whole code point in `data` (which starts on a code
 * point boundary and was validated): `data.length` unless its last code
 * point is cut, then where that code point begins.
 */
function completeEnd(data: Uint8Array): number {
  const n = data.length;
  let p = n - 1;
  const stop = n >= 4 ? n - 4 : 0;
  while (p >= stop && (data[p]! & 0xc0) === 0x80) p--;
  if (p < 0) return n;
  return p + sequenceLength(data[p]!) > n ? p : n;
}

/** The error for invalid UTF-8 in a text message (1007). */
export function invalidUtf8(): ProtocolError {
  return new ProtocolError("invalid UTF-8 in a text message", "WS_ERR_INVALID_UTF8", 1007);
}
