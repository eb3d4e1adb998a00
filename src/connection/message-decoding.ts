/**
 * What the decoder's frames become: the message rules of RFC 6455 (§5.4
 * fragmentation, §5.5 control frames, §5.6 and §8.1 UTF-8 text), the size
 * limit, reassembly into one buffer, inflation (RFC 7692), and — for a
 * streamed message — pieces handed to a {@link StreamedMessage} instead.
 *
 * {@link Receiver} extends this: it decides *when* the decoder runs (the
 * message and stream budgets, input held in the backlog, the scanner, the
 * freeze and the discard); this class says *what* each frame means. The two
 * share the state of the message being received, so they are one object —
 * a base class rather than a second object keeps the decoder's callbacks
 * (`onFrameStart`, `onPayload`, `onFrameEnd`) direct calls on one receiver,
 * exactly as before the split.
 */
import { Buffer, constants as bufferConstants } from "node:buffer";
import { PayloadTooBig, ProtocolError } from "../errors.js";
import type { MessageExtension } from "../extensions/types.js";
import { Opcode, isControlOpcode } from "../frame/opcodes.js";
import { FrameParser, type FrameSink } from "../frame/parser.js";
import { Utf8Validator, isValidUtf8 } from "../frame/utf8.js";
import { MessageBuffer } from "./assembler.js";
import type { ReceiverHost, ReceiverOptions } from "./receiver.js";
import { StreamedMessage, invalidUtf8, type FragmentSink } from "./streamed-message.js";

/**
 * The largest message that can be held at all, with `maxSize: null`: a
 * Buffer's limit. Beyond it a message is "too big" (1009), like one over
 * `maxSize`, rather than an allocation failure.
 */
export const MAX_MESSAGE_SIZE = bufferConstants.MAX_LENGTH;

/** `msgOpcode` between messages. @internal */
export const NO_MESSAGE = -1;
const EMPTY = new Uint8Array(0);

/** The frame-to-message half of a {@link Receiver}; see the module comment. @internal */
export abstract class MessageDecoding implements FrameSink, FragmentSink {
  protected readonly host: ReceiverHost;
  protected readonly limit: number;
  protected readonly extension: MessageExtension | null;
  protected readonly streaming: boolean;
  protected readonly expectMasked: boolean;
  protected readonly decoder: FrameParser;

  /** Messages that may still be emitted before input is held. */
  protected budget = Infinity;
  /** Bytes of a streamed message that may still be emitted before input is held. */
  protected streamBudget = Infinity;
  /** `streamNext` was called: the next message to begin is streamed, with this limit. */
  protected streamArmed = false;
  protected streamLimit = Infinity;
  /** The message being received is streamed. */
  protected stream: StreamedMessage | null = null;
  /** The current frame belongs to a streamed message. */
  protected frameStreamed = false;
  /** Payload bytes of the current frame received so far. */
  protected framePos = 0;
  /** Pongs the scanner reported ahead of the decoder: the decoder passes over that many. */
  protected pongsAhead = 0;
  /** The decoder will report nothing more (see `Receiver.finishDecoding`). */
  protected decoderDone = false;

  // The frame being decoded.
  protected frameOpcode = 0;
  protected frameFin = false;
  protected frameLength = 0;
  /** The most the message can grow to with this frame (for the buffer's growth). */
  protected frameUpper = 0;
  /** Payload of the control frame being received; allocated on the first one. */
  protected control: Uint8Array | null = null;
  protected controlLength = 0;
  /** The chunk being pushed is borrowed (see `push`). */
  protected borrowed = false;
  /** The current piece was written into the message buffer by the parser (payloadTarget). */
  protected inPlace = false;
  // The message being decoded.
  protected msgOpcode = NO_MESSAGE;
  protected msgCompressed = false;
  protected msgSize = 0;
  protected msgIncremental = false;
  protected readonly payload = new MessageBuffer();
  protected readonly validator = new Utf8Validator();
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

  /** Stop reading and decoding at once (the Receiver's; a violation or the peer's close frame). */
  abstract stop(): void;

  /** Forget the message being received (cut off: discarded, or the decoder finished). */
  protected dropMessage(): void {
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
