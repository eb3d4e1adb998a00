/**
 * The receiving half of a connection: bytes → frames → messages (RFC 6455
 * §5.4, §5.6; RFC 7692 for compressed messages), and the read-side
 * backpressure that keeps memory bounded whatever the peer sends.
 *
 * Theory of operation
 * -------------------
 * The {@link Protocol} feeds every received chunk to `push`. Normally a
 * `FrameParser` (the *decoder*) reports frames to this object, which checks
 * the message rules (fragmentation order, size limit, UTF-8), reassembles
 * payloads (`MessageBuffer`), inflates compressed messages and hands whole
 * messages and control frames to the host (the Protocol).
 *
 * Backpressure is counted in messages and bounded in bytes. The host sets a
 * message *budget* (how many more messages the application is ready to
 * queue). When it runs out, the decoder stops at the end of that message —
 * even in the middle of a chunk — and the core *holds* input instead: the rest
 * of the chunk and every later one go raw (masked, compressed) into a
 * *backlog*, with no reassembly and no inflation. The adapter stops reading
 * the socket only once the backlog passes its read-ahead bound (in bytes).
 * Raising the budget (`allow`) decodes the backlog in order, as if it had
 * just arrived: held or not, the same messages come out in the same order.
 *
 * While input is held, a second parser (the *scanner*) walks the backlog's
 * frame headers without decoding or writing to it, so that a peer that leaves
 * is never hidden behind unread messages: a close frame is reported at once
 * (the host answers it and ends the closing handshake), and EOF is the
 * host's at once; so are pongs (a keepalive ping is answered while the
 * application is slow to read). The messages in front stay in the backlog,
 * decodable for an application that still reads. A header the scanner finds
 * invalid stops it (the decoder will fail the connection there, in order).
 *
 * While a close is under way, reading must never stop (the peer's answer is
 * what completes it): instead of pausing the socket at its read-ahead bound,
 * the adapter then *freezes* the backlog (`freeze`). What it holds stays
 * decodable; data frames that arrive afterwards are discarded undecoded —
 * counted in `skippedFrames`, never delivered — and control frames are still
 * acted on, so the close completes within a round trip whatever is queued.
 * A message cut by the freeze is dropped. `discard` (nobody will read)
 * drops the backlog and discards all data from then on.
 *
 * Streaming (`streamNext`): the next message — or the one being received,
 * if one is — is not reassembled but delivered piece by piece as
 * `fragment` events (`streamed-message.ts`). Its reader's appetite is a byte
 * budget (`allowStream`): once spent, the decoder stops where it is, even
 * inside a frame, and input is held exactly as for the message budget (the
 * scanner then starts by passing over the rest of that frame). A streamed
 * message counts against neither the message budget nor, unless the caller
 * says so, the size limit of whole messages.
 */
import { Buffer, constants as bufferConstants } from "node:buffer";
import { PayloadTooBig, ProtocolError } from "../errors.js";
import type { MessageExtension } from "../extensions/types.js";
import { Opcode, isControlOpcode } from "../frame/opcodes.js";
import { FrameParser, type FrameSink } from "../frame/parser.js";
import { Utf8Validator, isValidUtf8 } from "../frame/utf8.js";
import { MessageBuffer } from "./assembler.js";
import { Backlog, ControlScanner, type ScannedSink } from "./backlog.js";
import type { ProtocolEvent } from "./protocol.js";
import { StreamedMessage, invalidUtf8, type FragmentSink } from "./streamed-message.js";

/**
 * The largest message that can be held at all, with `maxSize: null`: a
 * Buffer's limit. Beyond it a message is "too big" (1009), like one over
 * `maxSize`, rather than an allocation failure.
 */
export const MAX_MESSAGE_SIZE = bufferConstants.MAX_LENGTH;

/** What a {@link Receiver} reports to. */
export interface ReceiverHost {
  /** A whole message, or a fragment in streaming mode. */
  emit(event: ProtocolEvent): void;
  /**
   * A control frame: PING, PONG or CLOSE with its unmasked payload (a copy).
   * `ahead` is true when the scanner found it ahead of the decoder (messages
   * received before it may still be decoded): a close frame found ahead
   * while open comes again, not ahead, if the decoder reaches it.
   */
  control(opcode: number, payload: Uint8Array, ahead: boolean): void;
  /** The decoder finished: it will report nothing more (EOF, close, or the end of a frozen backlog). */
  decoderFinished(): void;
}

/** Options of a {@link Receiver}. */
export interface ReceiverOptions {
  /** Which end this is: a server expects masked frames. */
  role: "client" | "server";
  /** Message size limit in bytes (after decompression); null: {@link MAX_MESSAGE_SIZE}. */
  maxSize: number | null;
  /** The negotiated per-message extension (permessage-deflate), or null. */
  extension: MessageExtension | null;
  /** Stream every message (as if `streamNext` were called before each), within `maxSize`. */
  streaming: boolean;
}

const NO_MESSAGE = -1;
const EMPTY = new Uint8Array(0);

/** Where received bytes go. */
const enum Front {
  /** Straight to the decoder. */
  DECODER,
  /** Into the backlog (unless frozen) and through the scanner. */
  HELD,
  /** Nowhere: nothing more is read. */
  NONE,
}

/** The receiving half of a Protocol; see the module comment. */
export class Receiver implements FrameSink, FragmentSink, ScannedSink {
  private readonly host: ReceiverHost;
  private readonly limit: number;
  private readonly extension: MessageExtension | null;
  private readonly streaming: boolean;
  private readonly expectMasked: boolean;
  private readonly decoder: FrameParser;

  /** Messages that may still be emitted before input is held. */
  private budget = Infinity;
  /** Bytes of a streamed message that may still be emitted before input is held. */
  private streamBudget = Infinity;
  /** `streamNext` was called: the next message to begin is streamed, with this limit. */
  private streamArmed = false;
  private streamLimit = Infinity;
  /** The message being received is streamed. */
  private stream: StreamedMessage | null = null;
  /** The current frame belongs to a streamed message. */
  private frameStreamed = false;
  /** Payload bytes of the current frame received so far. */
  private framePos = 0;
  private front = Front.DECODER;
  private readonly backlog = new Backlog();
  /** The backlog takes no more bytes (frozen during a close, the peer's close or EOF arrived, we failed). */
  private frozen = false;
  private scanner: FrameParser | null = null;
  /** Data frames received from now on are discarded (after freeze, discard, EOF or a local failure). */
  private discarding = false;
  private decoderDone = false;
  /** Data frames the scanner passed over before discarding began (they are in the backlog, not discarded). */
  private scannedBeforeStop = 0;
  /** Pongs the scanner reported ahead of the decoder: the decoder passes over that many. */
  private pongsAhead = 0;

  // The frame being decoded.
  private frameOpcode = 0;
  private frameFin = false;
  private frameLength = 0;
  /** The most the message can grow to with this frame (for the buffer's growth). */
  private frameUpper = 0;
  /** Payload of the control frame being received; allocated on the first one. */
  private control: Uint8Array | null = null;
  private controlLength = 0;
  /** The chunk being pushed is borrowed (see `push`). */
  private borrowed = false;
  /** The current piece was written into the message buffer by the parser (payloadTarget). */
  private inPlace = false;
  // The message being decoded.
  private msgOpcode = NO_MESSAGE;
  private msgCompressed = false;
  private msgSize = 0;
  private msgIncremental = false;
  private readonly payload = new MessageBuffer();
  private readonly validator = new Utf8Validator();
  /**
   * Deliver text messages as their (validated) UTF-8 bytes, flagged `text`,
   * instead of decoding them to strings: for facades whose users get bytes
   * (the `ws` API's `Buffer`), so no string is made only to be encoded back.
   */
  textAsBytes = false;

  constructor(host: ReceiverHost, options: ReceiverOptions) {
    this.host = host;
    this.limit = options.maxSize ?? MAX_MESSAGE_SIZE;
    this.extension = options.extension;
    this.streaming = options.streaming;
    this.expectMasked = options.role === "server";
    this.decoder = new FrameParser(this, { expectMasked: this.expectMasked, allowedRsv: this.extension?.rsvBits ?? 0 });
  }

  // ------------------------------------------------------------- state ----

  /** Raw bytes received and not decoded yet (held for backpressure). */
  get backlogBytes(): number {
    return this.backlog.bytes;
  }

  /** True while input is held: the budget ran out and the decoder waits for `allow`. */
  get holding(): boolean {
    return this.front === Front.HELD && !this.decoderDone;
  }

  /** True once the decoder will report nothing more (what is held was decoded or dropped). */
  get decodingDone(): boolean {
    return this.decoderDone;
  }

  /** True from `streamNext` until that message's last fragment is emitted (or it is dropped). */
  get streamingMessage(): boolean {
    return this.streamArmed || this.stream !== null;
  }

  /** True once nothing more will be read or decoded. */
  get finished(): boolean {
    return this.decoderDone && this.front !== Front.HELD;
  }

  /** Data frames discarded undecoded (after `freeze` or `discard`; see the module comment). */
  get skippedFrames(): number {
    return this.decoder.skippedFrames + (this.scanner !== null && this.discarding ? this.scanner.skippedFrames - this.scannedBeforeStop : 0);
  }

  // ------------------------------------------------------------- input ----

  /**
   * Feed a received chunk (owned by the core from now on; only until this
   * call returns when `borrowed`: what must outlive it is copied — message
   * payloads, fused with unmasking, streamed pieces and held input). Throws
   * ProtocolError on a violation; reading stops there.
   */
  push(chunk: Uint8Array, borrowed = false): void {
    this.borrowed = borrowed;
    try {
      this.pushChunk(chunk);
    } finally {
      this.borrowed = false;
    }
  }

  private pushChunk(chunk: Uint8Array): void {
    if (this.front === Front.HELD) this.hold(chunk);
    if (this.front !== Front.DECODER) return;
    if (this.stream !== null && this.stream.pending && this.streamBudget > 0) this.pumpStream();
    // The decoder pauses where a budget may have run out; it goes on where
    // none has (the end of a streamed message, whose reader had enough,
    // with messages allowed after it).
    let rest = chunk;
    for (;;) {
      if (this.blocked()) {
        this.startHolding(rest);
        return;
      }
      let used: number;
      try {
        used = this.decoder.push(rest, this.borrowed);
      } catch (err) {
        this.stop();
        throw err;
      }
      if (this.front !== Front.DECODER) return;
      if (used === rest.length) {
        if (this.blocked()) this.startHolding(EMPTY);
        return;
      }
      rest = rest.subarray(used);
    }
  }

  /**
   * The decoder must not go on: out of message budget between messages, or
   * a streamed message's reader has enough (never inside a frame header:
   * the scanner can't start there; the decoder finishes the header first).
   */
  private blocked(): boolean {
    if (this.decoderDone) return false;
    const stream = this.stream;
    if (stream !== null) return (this.streamBudget <= 0 || stream.pending) && !this.decoder.inHeader;
    return this.budget <= 0 && this.atMessageBoundary();
  }

  /** Deliver a streamed message's decoded output that waits, as far as the stream budget allows. */
  private pumpStream(): void {
    const stream = this.stream!;
    try {
      if (!stream.pump()) this.decoder.pause();
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /**
   * Let `n` more messages be emitted (the application's queue has room for
   * that many); held input is decoded at once, as far as that allows.
   * Throws ProtocolError on a violation found in the backlog.
   */
  allow(n: number): void {
    this.budget = n;
    if (n > 0) this.resume();
  }

  /**
   * Let `n` more bytes of a streamed message be emitted (the reader has room
   * for that many); what waits is delivered at once, as far as that allows.
   * Throws ProtocolError on a violation found on the way.
   */
  allowStream(n: number): void {
    this.streamBudget = n;
    if (n > 0) this.resume();
  }

  /** Decode what waits (a streamed message's output, then held input) as far as the budgets allow. */
  private resume(): void {
    if (this.decoderDone) return;
    if (this.stream !== null && this.stream.pending && this.streamBudget > 0) this.pumpStream();
    if (this.front !== Front.HELD || this.blocked()) return;
    try {
      this.backlog.drainInto(this.decoder, () => !this.blocked() && !this.decoderDone);
    } catch (err) {
      this.stop();
      throw err;
    }
    if (this.decoderDone) {
      this.backlog.clear();
      return;
    }
    if (!this.backlog.empty) return;
    if (this.frozen) this.finishDecoding();
    else if (!this.blocked()) {
      // Caught up: the decoder is at the end of the stream again.
      this.front = Front.DECODER;
      this.scanner = null;
    }
  }

  /**
   * Held input takes no more bytes (see the module comment: the adapter's
   * read-ahead bound, reached while a close is under way). What is held
   * stays decodable; data frames arriving from now on are discarded
   * undecoded, control frames still acted on.
   */
  freeze(): void {
    if (this.front !== Front.HELD || this.decoderDone) return;
    this.frozen = true;
    this.startDiscarding();
  }

  private startDiscarding(): void {
    if (this.discarding) return;
    this.discarding = true;
    // A streamed message's decoded output that waits for its reader is held
    // input too: it stays deliverable.
    if (this.front === Front.DECODER && !this.decoderDone && this.stream !== null && this.stream.pending) this.startHolding(EMPTY);
    if (this.front === Front.HELD) {
      // What the backlog holds was received before: it stays decodable.
      this.frozen = true;
      this.scannedBeforeStop = this.scanner?.skippedFrames ?? 0;
    } else if (!this.decoderDone) {
      this.decoder.skipData = true;
      this.dropMessage();
    }
  }

  /** Nobody will read: drop the backlog and the message in progress; data is discarded from now on. */
  discard(): void {
    this.startDiscarding();
    if (this.front === Front.HELD && !this.decoderDone) {
      this.backlog.clear();
      this.finishDecoding();
    }
  }

  /**
   * Read nothing more, but keep what is held decodable: the peer ended its
   * side (EOF), or we failed the connection (a local `fail`, or a violation
   * found after our close), which reads nothing after it either.
   */
  abandon(): void {
    this.startDiscarding();
    this.scanner?.stop();
    if (this.front === Front.HELD && (this.backlog.bytes > 0 || this.stream?.pending === true) && !this.decoderDone) return;
    this.front = Front.NONE;
    if (!this.decoderDone) this.finishDecoding();
  }

  /** Stop reading and decoding at once: the decoder failed, or it reached the peer's close frame (§5.5.1: nothing may follow it). */
  stop(): void {
    this.frozen = true;
    this.scanner?.stop();
    this.front = Front.NONE;
    this.backlog.clear();
    if (!this.decoderDone) this.finishDecoding();
  }

  /** Between frames and outside a message: where input may start being held. */
  private atMessageBoundary(): boolean {
    return this.msgOpcode === NO_MESSAGE && this.decoder.atFrameBoundary && !this.decoderDone;
  }

  private startHolding(rest: Uint8Array): void {
    this.front = Front.HELD;
    // The decoder stopped at the end of a message (a frame boundary), or
    // inside a streamed message's frame: the scanner passes over the rest of
    // that frame first.
    this.scanner = new FrameParser(new ControlScanner(this), {
      expectMasked: this.expectMasked,
      allowedRsv: this.decoder.allowedRsv,
      skipData: true,
      preserveInput: true,
    });
    this.scanner.skipPayload(this.decoder.payloadRemaining);
    if (this.discarding) this.frozen = true;
    if (rest.length > 0) this.hold(rest);
  }

  private hold(chunk: Uint8Array): void {
    // A borrowed chunk is copied to be kept; the scanner reads the original while it is valid.
    if (!this.frozen) this.backlog.add(this.borrowed ? copyOf(chunk) : chunk);
    const scanner = this.scanner;
    if (scanner === null || scanner.isStopped) return;
    if (!this.discarding) {
      try {
        scanner.push(chunk);
      } catch {
        // Invalid ahead: the decoder fails the connection when it gets there.
        scanner.stop();
      }
    } else {
      // Discarding: what the scanner finds is acted on (it reads alone).
      try {
        scanner.push(chunk);
      } catch (err) {
        this.abandon();
        throw err;
      }
    }
  }

  /** @internal A control frame found by the scanner. */
  scanned(opcode: number, payload: Uint8Array): void {
    if (!this.discarding) {
      // Ahead of the decoder, pongs are reported at once (a keepalive ping
      // is answered even while the application is slow to read) and close
      // frames acted on; pings are answered in order, when decoded.
      if (opcode === Opcode.PONG) {
        this.pongsAhead++;
        this.host.control(opcode, payload, true);
        return;
      }
      if (opcode !== Opcode.CLOSE) return;
      this.host.control(opcode, payload, true);
      // §5.5.1: nothing may follow the close frame. The backlog keeps the
      // chunk it is in: the decoder stops there.
      this.frozen = true;
      this.scanner?.stop();
      return;
    }
    this.host.control(opcode, payload, true);
    // The peer's close: what the backlog holds was received before it and
    // stays decodable; nothing more is read.
    if (opcode === Opcode.CLOSE) this.abandon();
  }

  private finishDecoding(): void {
    this.decoderDone = true;
    this.decoder.stop();
    this.dropMessage();
    this.host.decoderFinished();
  }

  private dropMessage(): void {
    this.payload.clear();
    this.msgOpcode = NO_MESSAGE;
    this.inPlace = false;
    // A streamed message cut off: its reader sees `streamingMessage` drop without a last fragment.
    this.stream = null;
    this.streamArmed = false;
    this.frameStreamed = false;
  }

  // -------------------------------------------------------- streaming ----

  /**
   * Stream the next message, or the one being received if one is (what was
   * received of it goes out as its first fragments): `fragment` events
   * instead of one `message` event, within `limit` bytes (Infinity: none).
   */
  streamNext(limit: number): void {
    if (this.decoderDone || this.stream !== null) return;
    if (this.msgOpcode === NO_MESSAGE) {
      this.streamArmed = true;
      this.streamLimit = limit;
      return;
    }
    // Switched mid-way: what was reassembled so far goes out first.
    const received = this.payload.take();
    const stream = this.beginStream(limit);
    this.frameStreamed = !this.decoder.atFrameBoundary;
    try {
      if (!stream.pushReceived(received)) this.decoder.pause();
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /**
   * Take back `streamNext` while nothing of the message went out (it will
   * then be received whole): true if it was taken back.
   */
  cancelStreamNext(): boolean {
    if (this.streamArmed) {
      this.streamArmed = false;
      return true;
    }
    const stream = this.stream;
    // Nothing received of it yet, and its frame fits the limit of whole messages.
    if (stream === null || stream.emitted || this.msgSize !== 0 || this.frameLength > this.limit) return false;
    this.stream = null;
    this.frameStreamed = false;
    return true;
  }

  private beginStream(limit: number): StreamedMessage {
    const text = this.msgOpcode === Opcode.TEXT;
    let decoder = null;
    if (this.msgCompressed) {
      if (this.extension?.streamDecoder === undefined) throw new ProtocolError("compressed message without a streaming decoder", "WS_ERR_INTERNAL", 1011);
      decoder = this.extension.streamDecoder();
    } else if (text && !this.msgIncremental) {
      // Nothing of it checked yet (a message that just began).
      this.msgIncremental = true;
      this.validator.reset();
    }
    if (decoder !== null) this.validator.reset();
    this.stream = new StreamedMessage(this, text, decoder, limit, this.validator);
    return this.stream;
  }

  /** @internal FragmentSink: a piece of the streamed message. */
  fragment(data: Uint8Array, text: boolean, fin: boolean): boolean {
    this.host.emit({ type: "fragment", data, text, fin });
    this.streamBudget -= data.length;
    if (fin) {
      this.stream = null;
      this.msgOpcode = NO_MESSAGE;
      // Back between messages: the message budget decides.
      return this.budget > 0;
    }
    return this.streamBudget > 0;
  }

  // ------------------------------------------------ FrameSink (decoder) ----

  /** @internal FrameSink: a frame header arrived. */
  onFrameStart(fin: boolean, rsv: number, opcode: number, length: number): void {
    this.frameOpcode = opcode;
    this.frameFin = fin;
    this.frameLength = length;
    if (isControlOpcode(opcode)) {
      // RFC 7692 §6.1: the "Per-Message Compressed" bit is never set on control frames.
      if (rsv !== 0) throw new ProtocolError("reserved bits set on a control frame", "WS_ERR_UNEXPECTED_RSV");
      this.controlLength = 0;
      return;
    }
    if (opcode === Opcode.CONTINUATION) {
      // §5.4: a continuation frame only continues a message that was started.
      if (this.msgOpcode === NO_MESSAGE) {
        throw new ProtocolError("continuation frame without a message to continue", "WS_ERR_UNEXPECTED_CONTINUATION");
      }
      // RFC 7692 §6.1: RSV1 is set only on the first frame of a message.
      if (rsv !== 0) throw new ProtocolError("reserved bits set on a continuation frame", "WS_ERR_UNEXPECTED_RSV");
    } else {
      // §5.4: "fragments of one message MUST NOT be interleaved between each
      // other unless an extension has been negotiated that can interpret the
      // interleaving."
      if (this.msgOpcode !== NO_MESSAGE) {
        throw new ProtocolError("new data frame inside a fragmented message", "WS_ERR_EXPECTED_CONTINUATION");
      }
      this.msgOpcode = opcode;
      this.msgCompressed = rsv !== 0;
      this.msgSize = 0;
      this.msgIncremental = false;
      if (this.streamArmed || this.streaming) {
        this.streamArmed = false;
        this.beginStream(this.streaming ? this.limit : this.streamLimit);
      }
    }
    this.framePos = 0;
    const stream = this.stream;
    this.frameStreamed = stream !== null;
    // Refuse from the header, before buffering a byte of the payload. With
    // no maxSize, the limit is what a Buffer can hold: a message over it is
    // as "too big" (1009) as one over maxSize. (Compressed, the limit
    // applies to the compressed bytes too, as for whole messages.)
    const limit = stream !== null ? stream.limit : this.limit;
    if (this.msgSize + length > limit) {
      throw PayloadTooBig.over(this.msgSize + length, limit, !fin || this.msgCompressed);
    }
    // A final frame tells the message's size.
    this.frameUpper = fin ? this.msgSize + length : this.limit;
  }

  /**
   * @internal FrameSink: a piece of a data frame's payload that did not
   * come with its header, or any piece of a borrowed chunk. It is unmasked
   * straight into the message buffer: one pass over the bytes, and memory
   * committed only as bytes arrive. Null (unmasked in place, not copied)
   * for control frames (copied when they end), for a streamed piece of an
   * owned chunk (it goes out as a view), and for a message that is all in
   * this piece and used up before the chunk's owner gets it back: a
   * compressed one (inflated at once) or, without `textAsBytes`, a text one
   * (decoded at once).
   */
  payloadTarget(length: number): Uint8Array | null {
    if (isControlOpcode(this.frameOpcode)) return null;
    // Streamed pieces are views of an owned chunk; of a borrowed one, copies.
    if (this.frameStreamed) return this.borrowed ? Buffer.allocUnsafe(length) : null;
    if (
      length === this.frameLength &&
      this.frameFin &&
      this.msgSize === 0 &&
      (this.msgCompressed || (this.msgOpcode === Opcode.TEXT && !this.textAsBytes))
    ) {
      return null;
    }
    this.inPlace = true;
    return this.payload.reserve(length, this.frameUpper);
  }

  /** @internal FrameSink: the next piece of the frame's payload. */
  onPayload(data: Uint8Array): void {
    if (isControlOpcode(this.frameOpcode)) {
      (this.control ??= new Uint8Array(125)).set(data, this.controlLength);
      this.controlLength += data.length;
      return;
    }
    this.framePos += data.length;
    if (this.frameStreamed) {
      this.msgSize += data.length;
      if (this.stream === null) return; // cut off (discarded) meanwhile
      const last = this.frameFin && this.framePos === this.frameLength;
      if (!this.stream.push(data, last)) this.decoder.pause();
      return;
    }
    if (this.inPlace) this.inPlace = false;
    else this.payload.append(data, this.frameUpper);
    const whole = this.msgSize === 0 && this.frameFin && data.length === this.frameLength;
    this.msgSize += data.length;
    if (this.msgOpcode === Opcode.TEXT && !this.msgCompressed) {
      // A one-frame message that arrived in one piece is checked whole, with
      // the native validator. Anything in pieces is checked as it arrives, so
      // invalid UTF-8 fails the connection at once (Autobahn 6.4.x).
      if (!whole) {
        if (!this.msgIncremental) {
          this.msgIncremental = true;
          this.validator.reset();
        }
        if (!this.validator.push(data)) throw invalidUtf8();
      }
    }
  }

  /** @internal FrameSink: the frame is complete. */
  onFrameEnd(): void {
    if (isControlOpcode(this.frameOpcode)) {
      const payload = this.controlLength === 0 ? EMPTY : this.control!.slice(0, this.controlLength);
      // A pong the scanner reported already (the decoder meets them in the same order).
      if (this.frameOpcode === Opcode.PONG && this.pongsAhead > 0) this.pongsAhead--;
      else this.host.control(this.frameOpcode, payload, false);
      if (this.frameOpcode === Opcode.CLOSE) this.stop();
      // Out of budget (lowered by the host mid-way), hold from here.
      else if (this.budget <= 0 && this.msgOpcode === NO_MESSAGE) this.decoder.pause();
      else if (this.stream !== null && (this.streamBudget <= 0 || this.stream.pending)) this.decoder.pause();
    } else if (this.frameStreamed) {
      // A final frame without payload (or whose payload went before the switch) ends the message here.
      if (this.frameFin && this.stream !== null && this.framePos === 0 && !this.stream.push(EMPTY, true)) this.decoder.pause();
    } else if (this.frameFin) {
      this.emitMessage();
    }
  }

  private emitMessage(): void {
    let data = this.payload.take();
    const text = this.msgOpcode === Opcode.TEXT;
    if (this.msgCompressed) {
      if (this.extension === null) throw new ProtocolError("compressed message without the extension", "WS_ERR_UNEXPECTED_RSV");
      data = this.extension.decode(data, this.limit);
      if (text && !isValidUtf8(data)) throw invalidUtf8();
    } else if (text) {
      if (this.msgIncremental ? !this.validator.end() : !isValidUtf8(data)) throw invalidUtf8();
    }
    this.msgOpcode = NO_MESSAGE;
    if (!text) this.host.emit({ type: "message", data });
    else if (this.textAsBytes) this.host.emit({ type: "message", data, text: true });
    else this.host.emit({ type: "message", data: decodeUtf8(data) });
    this.spend();
  }

  /** One message emitted: out of budget, the decoder stops here (a frame boundary). */
  private spend(): void {
    if (--this.budget <= 0) this.decoder.pause();
  }
}

/** A copy of `chunk` the core keeps (a borrowed chunk is reused by its owner). */
function copyOf(chunk: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafe(chunk.length);
  copy.set(chunk);
  return copy;
}

/** Decode bytes already validated as UTF-8; a text too long for a JS string is "too big" (1009). */
function decodeUtf8(data: Uint8Array): string {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
  if (buf.length > bufferConstants.MAX_STRING_LENGTH) {
    try {
      return buf.toString("utf8");
    } catch {
      throw new PayloadTooBig(`text message over the ${bufferConstants.MAX_STRING_LENGTH}-character limit of a string`);
    }
  }
  return buf.toString("utf8");
}
