/**
 * The sans-IO WebSocket connection state machine (RFC 6455 §5–§7).
 *
 * Theory of operation
 * -------------------
 * A `Protocol` starts once the opening handshake is done, in the OPEN state.
 * The adapter that owns the socket drives it with three kinds of call:
 *
 *   inputs   receiveData(chunk), receiveEof()                 network → core
 *            sendText/sendBinary/sendContinuation, sendPing,
 *            sendPong, sendClose, fail                         user → core
 *            allowMessages(n), discardReceived()               reader → core
 *            streamMessage(limit), allowStreamBytes(n)
 *   outputs  nextEvent()        what the peer said (messages, pings, close)
 *            dataToSend()       the bytes to write, in order
 *            closeTransport     true once the TCP connection should be ended
 *            closeExpected      true while a close is under way (start a timer)
 *            backlogBytes       raw input held for backpressure
 *
 * The core never performs I/O and has no notion of time: timers (keepalive,
 * close timeout) belong to the adapter, which knows the clock — the core only
 * says, through `closeExpected`, when one should be running. This keeps every
 * test of this file deterministic and byte-exact.
 *
 * The states (open, closing, closed) and every transition between them —
 * the closing handshake, failing the connection, EOF — are the base class's,
 * in closing.ts: `Protocol` extends `ClosingHandshake`.
 *
 * Received data is checked as it arrives: frame rules in `FrameParser`,
 * message rules (fragmentation order, size limit, UTF-8, extensions) in the
 * `Receiver`. A violation fails the connection with the RFC's close code;
 * every message completed before the violation is still in the event queue.
 * `receiveData` never throws on peer input.
 *
 * Backpressure and closing (the rule the adapter documents; details in
 * receiver.ts). `allowMessages(n)` says how many more messages the
 * application will take; past that the core stops decoding and holds input
 * raw (`backlogBytes`, bounded by the adapter, which stops reading past its
 * read-ahead bound). A close frame or EOF is never hidden by held messages:
 * a scanner finds the close frame behind them and it is answered at once.
 * Every message received before the close stays decodable, in order, for a
 * reader that still wants it. While a close is under way the adapter never
 * stops reading: at its bound it calls `freezeBacklog()`, after which data
 * frames are discarded undecoded (`skippedFrames`) and only control frames
 * acted on, so the peer's close is seen within a round trip;
 * `discardReceived()` (nobody will read) drops what is held too.
 *
 * Answers to pings may be coalesced (§5.5.3: "If an endpoint receives a Ping
 * frame and has not yet sent Pong frame(s) in response to previous Ping
 * frame(s), the endpoint MAY elect to send a Pong frame for only the most
 * recently processed Ping frame."). With `coalescePongs` — which the adapter
 * sets while its write buffer is not draining — at most one pong waits
 * unsent, the latest; otherwise every ping gets its pong (Autobahn 2.10).
 *
 * No internal error text goes on the wire (closing.ts says how).
 */
import { Buffer } from "node:buffer";
import { InvalidState } from "../errors.js";
import type { MessageExtension } from "../extensions/types.js";
import { randomMask, type MaskSource } from "../frame/mask.js";
import { Opcode, isControlOpcode } from "../frame/opcodes.js";
import { serializeFrame } from "../frame/serializer.js";
import { ClosingHandshake } from "./closing.js";
import { OutputQueue } from "./output.js";
import { Receiver } from "./receiver.js";

/** Which end of the connection this is. */
export type Role = "client" | "server";

/** The connection's state, as in RFC 6455 §4–§7 (CONNECTING is the handshake's business). */
export type ConnectionState = "open" | "closing" | "closed";

/** What the peer did, in order. */
export type ProtocolEvent =
  /**
   * A whole message: a string for a text message, bytes for a binary one —
   * or, with {@link Protocol.textAsBytes}, a text message as its (validated)
   * UTF-8 bytes, marked `text: true`.
   */
  | { type: "message"; data: string | Uint8Array; text?: true }
  /**
   * A piece of a streamed message (see {@link Protocol.streamMessage}), as it
   * arrives: uncompressed, a view of the received bytes; text pieces are
   * valid UTF-8 by themselves (cut on code point boundaries); `fin` on the last.
   */
  | { type: "fragment"; data: Uint8Array; text: boolean; fin: boolean }
  /** A ping (already answered with a pong by the core). */
  | { type: "ping"; data: Uint8Array }
  /** A pong. */
  | { type: "pong"; data: Uint8Array }
  /** The peer's close frame (code 1005 when it had none). */
  | { type: "close"; code: number; reason: string };

/** Options of a {@link Protocol}. */
export interface ProtocolOptions {
  /** Largest message (after decompression) accepted, in bytes; null for no limit. Default 1 MiB. */
  maxSize?: number | null;
  /** Negotiated extensions (permessage-deflate), from the handshake. */
  extensions?: readonly MessageExtension[];
  /** Stream every message: `fragment` events as pieces arrive instead of whole `message` events (see {@link Protocol.streamMessage}). */
  streaming?: boolean;
  /** Masking keys for the client role (tests pass fixed keys). Default: random. */
  maskSource?: MaskSource;
}

/** Options of one outgoing data frame. */
export interface SendOptions {
  /** False to send this message uncompressed even when compression was negotiated. */
  compress?: boolean;
}

const NO_MESSAGE = -1;
const EMPTY = new Uint8Array(0);
/** The event list while empty; never pushed to (see `pushEvent`). */
const NO_EVENTS = Object.freeze([]) as unknown as ProtocolEvent[];

/** The connection state machine; see the module comment. */
export class Protocol extends ClosingHandshake {
  /** Which end this is. */
  readonly role: Role;
  /** The message size limit (null: none). */
  readonly maxSize: number | null;
  /** The negotiated per-message extension, if any. */
  readonly extension: MessageExtension | null;
  private readonly maskSource: MaskSource | null;
  /** @internal The receiving half: bytes → frames → messages, and read backpressure (receiver.ts). */
  protected readonly receiver: Receiver;

  /** Events not taken yet (NO_EVENTS, shared, while there are none: nothing per idle connection). */
  private events: ProtocolEvent[] = NO_EVENTS;
  private eventHead = 0;
  /** What to write, in order (small frames coalesced in a shared arena: ./output.ts). */
  private readonly output = new OutputQueue();
  /** The answer to the latest ping, not yet taken by dataToSend (§5.5.3: only the most recent needs one). */
  private pendingPong: Uint8Array[] | null = null;
  /**
   * Answer only the most recent of the pings not answered yet (§5.5.3; see
   * the module comment). The adapter sets it while the peer is not reading.
   */
  coalescePongs = false;
  /**
   * Answer pings with pongs (§5.5.2), the default. False leaves the answer to
   * the application (the `ws` API's `autoPong: false`): the ping event is
   * still emitted.
   */
  autoPong = true;
  // The message being sent in fragments (an opcode), or NO_MESSAGE.
  private sendingOpcode = NO_MESSAGE;
  // The message being sent in fragments is compressed (encodeFragment).
  private sendingCompressed = false;

  constructor(role: Role, options: ProtocolOptions = {}) {
    super();
    this.role = role;
    this.maxSize = options.maxSize === undefined ? 1024 * 1024 : options.maxSize;
    this.extension = options.extensions?.find((e) => e.rsvBits !== 0) ?? null;
    this.maskSource = role === "client" ? (options.maskSource ?? randomMask) : null;
    this.receiver = new Receiver(this, {
      role,
      maxSize: this.maxSize,
      extension: this.extension,
      streaming: options.streaming ?? false,
    });
  }

  /** True when a message may be written as pre-built frames now (OPEN, no fragmented send under way). */
  get canSendFrames(): boolean {
    return this._state === "open" && this.sendingOpcode === NO_MESSAGE;
  }
  /** Raw bytes received and held undecoded (backpressure): the adapter bounds them. */
  get backlogBytes(): number {
    return this.receiver.backlogBytes;
  }
  /** True while input is held because the message budget ran out (see {@link allowMessages}). */
  get holding(): boolean {
    return this.receiver.holding;
  }
  /**
   * Text messages come as their UTF-8 bytes (`{ type: "message", data, text:
   * true }`), validated but not decoded, so that a reader may take them as
   * bytes without a copy or decode them when it reads them. Default false.
   */
  get textAsBytes(): boolean {
    return this.receiver.textAsBytes;
  }
  /** See the getter. */
  set textAsBytes(on: boolean) {
    this.receiver.textAsBytes = on;
  }
  /** True from {@link streamMessage} until that message's last fragment (or until it is cut off by the end of the connection). */
  get streamingMessage(): boolean {
    return this.receiver.streamingMessage;
  }
  /** Data frames discarded undecoded: they arrived after `freezeBacklog()` or `discardReceived()`. */
  get skippedFrames(): number {
    return this.receiver.skippedFrames;
  }

  // ---------------------------------------------------------------- inputs --

  /**
   * Feed bytes received from the peer. The core owns `chunk` afterwards
   * (payloads are unmasked in place and may be delivered as views of it).
   * With `borrowed`, the chunk is the core's only until this call returns
   * (a read buffer the adapter reuses): it may still be written to, but
   * what must be kept — message payloads, held input — is copied out of it.
   * Never throws on peer input: violations fail the connection.
   */
  receiveData(chunk: Uint8Array, borrowed = false): void {
    if (this._eofReceived || this.receiver.finished) return;
    const eventsBefore = this.events.length;
    try {
      this.receiver.push(chunk, borrowed);
    } catch (err) {
      this.readFailed(err, this.events.length > eventsBefore);
    }
  }

  /**
   * How many more messages the reader will take: once that many were
   * emitted, the core holds input undecoded (the adapter passes its queue's
   * free room; the default is no limit). Held input is decoded at once, as
   * far as `n` allows: its events are then in `nextEvent()`.
   */
  allowMessages(n: number): void {
    const eventsBefore = this.events.length;
    try {
      this.receiver.allow(n);
    } catch (err) {
      this.readFailed(err, this.events.length > eventsBefore);
    }
  }

  /**
   * Stream the next message — the one being received, if one is: what
   * arrived of it goes out first — as `fragment` events, not reassembled,
   * with `maxSize` as its size limit (null: none). Its events are emitted
   * only while the stream budget lasts ({@link allowStreamBytes}).
   */
  streamMessage(maxSize: number | null): void {
    const eventsBefore = this.events.length;
    try {
      this.receiver.streamNext(maxSize ?? Infinity);
    } catch (err) {
      this.readFailed(err, this.events.length > eventsBefore);
    }
  }

  /** Take back {@link streamMessage} while nothing of the message went out; true if taken back (it comes whole). */
  cancelStreamMessage(): boolean {
    return this.receiver.cancelStreamNext();
  }

  /**
   * How many more bytes of a streamed message the reader will take: once
   * that many were emitted, the core stops decoding — inside a frame if need
   * be — and holds input, as for {@link allowMessages}. Default: no limit.
   */
  allowStreamBytes(n: number): void {
    const eventsBefore = this.events.length;
    try {
      this.receiver.allowStream(n);
    } catch (err) {
      this.readFailed(err, this.events.length > eventsBefore);
    }
  }

  /** Nobody will read what was received: drop held input; data frames are discarded from now on. */
  discardReceived(): void {
    this.receiver.discard();
  }

  /**
   * Held input takes no more bytes, so that reading need not stop: what is
   * held stays decodable, data frames that arrive from now on are discarded
   * undecoded (`skippedFrames`), control frames still acted on. The adapter
   * calls this instead of pausing the socket once a close is under way.
   */
  freezeBacklog(): void {
    this.receiver.freeze();
  }

  /** The next event, or undefined when there is none (need more data). */
  nextEvent(): ProtocolEvent | undefined {
    if (this.eventHead >= this.events.length) {
      if (this.eventHead !== 0) {
        this.events = NO_EVENTS;
        this.eventHead = 0;
      }
      return undefined;
    }
    const ev = this.events[this.eventHead]!;
    this.events[this.eventHead++] = undefined as unknown as ProtocolEvent;
    return ev;
  }

  /** The bytes to write to the socket, in order; the list is emptied. */
  dataToSend(): Uint8Array[] {
    if (this.pendingPong !== null) this.takePong();
    return this.output.take();
  }

  /**
   * Optional, for adapters: everything the last `dataToSend()` returned is
   * written and no longer referenced (the socket keeps no view of it), so
   * its bytes in the shared output arena may be reused. Call it only right
   * after writing what `dataToSend()` returned; an adapter that cannot tell
   * never calls it (see `output.ts`).
   */
  outputReleased(): void {
    this.output.release();
  }

  /** True when `dataToSend()` would return something. */
  get hasDataToSend(): boolean {
    return !this.output.empty || this.pendingPong !== null;
  }

  /** How many bytes `dataToSend()` would return (what waits to be written, for the adapter's backpressure). */
  get bytesToSend(): number {
    return this.output.size;
  }

  // --------------------------------------------------------------- sending --

  /** Send a text message (or its first fragment when `fin` is false). A string is encoded as UTF-8; bytes must already be UTF-8. */
  sendText(data: string | Uint8Array, fin = true, options?: SendOptions): void {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    this.sendStart(Opcode.TEXT, bytes, fin, options);
  }

  /** Send a binary message (or its first fragment when `fin` is false). */
  sendBinary(data: Uint8Array, fin = true, options?: SendOptions): void {
    this.sendStart(Opcode.BINARY, data, fin, options);
  }

  /** Send the next fragment of a message started with `fin = false`. */
  sendContinuation(data: string | Uint8Array, fin: boolean): void {
    this.checkOpen();
    if (this.sendingOpcode === NO_MESSAGE) throw new InvalidState("no fragmented message is being sent");
    let bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    if (this.sendingCompressed) bytes = this.extension!.encodeFragment!(bytes, fin);
    this.writeFrame(Opcode.CONTINUATION, bytes, fin, 0);
    if (fin) {
      this.sendingOpcode = NO_MESSAGE;
      this.sendingCompressed = false;
    }
  }

  /** Queue frames built elsewhere (broadcast frames a message once for many connections). */
  sendFrames(frames: readonly Uint8Array[]): void {
    if (!this.canSendFrames) throw new InvalidState("cannot send a message now");
    for (let i = 0; i < frames.length; i++) this.output.push(frames[i]!);
  }

  /** Send a ping (payload ≤ 125 bytes). */
  sendPing(data: Uint8Array = EMPTY): void {
    this.checkOpen();
    this.writeFrame(Opcode.PING, data, true, 0);
  }

  /** Send a pong (payload ≤ 125 bytes); an unsolicited pong is a heartbeat (§5.5.3). */
  sendPong(data: Uint8Array = EMPTY): void {
    this.checkOpen();
    this.writeFrame(Opcode.PONG, data, true, 0);
  }

  // ------------------------------------------------ ReceiverHost (internal)

  /** @internal ReceiverHost: a whole message (or a streaming fragment). */
  emit(event: ProtocolEvent): void {
    this.pushEvent(event);
  }

  /** @internal ReceiverHost: a control frame arrived. */
  control(opcode: number, payload: Uint8Array, ahead: boolean): void {
    if (opcode === Opcode.PING) {
      // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong
      // frame in response, unless it already received a Close frame." and
      // §5.5.3: the Pong "MUST have identical 'Application data'". A ping
      // reaching here precedes the peer's close (nothing is read after it),
      // so it is answered even when we already sent ours. With
      // coalescePongs, only the latest unsent answer is kept (§5.5.3).
      // With autoPong off the application answers (or not) itself.
      if (!this.autoPong) {
        this.pushEvent({ type: "ping", data: payload });
        return;
      }
      if (this.coalescePongs) {
        this.pendingPong = serializeFrame(Opcode.PONG, payload, { fin: true, rsv: 0, mask: this.maskSource });
      } else {
        if (this.pendingPong !== null) this.takePong();
        this.writeFrame(Opcode.PONG, payload, true, 0);
      }
      this.pushEvent({ type: "ping", data: payload });
    } else if (opcode === Opcode.PONG) {
      this.pushEvent({ type: "pong", data: payload });
    } else {
      this.handleClose(payload, ahead);
    }
  }

  // ------------------------------------------------------------- internals --

  private sendStart(opcode: number, data: Uint8Array, fin: boolean, options?: SendOptions): void {
    this.checkOpen();
    if (this.sendingOpcode !== NO_MESSAGE) throw new InvalidState("a fragmented message is being sent");
    let rsv = 0;
    const ext = this.extension;
    if (ext !== null && options?.compress !== false) {
      if (fin) {
        if (ext.shouldEncode(data.length)) {
          data = ext.encode(data);
          rsv = ext.rsvBits;
        }
      } else if (ext.encodeFragment !== undefined) {
        // RFC 7692 §6.1: a compressed message may be fragmented — RSV1 on
        // the first frame, the compressed data split over the frames. Its
        // size is unknown, so the threshold of whole messages does not apply.
        data = ext.encodeFragment(data, false);
        rsv = ext.rsvBits;
        this.sendingCompressed = true;
      }
    }
    this.writeFrame(opcode, data, fin, rsv);
    if (!fin) this.sendingOpcode = opcode;
  }

  /** @internal Queue one frame (a pending pong first if it is a close frame). */
  protected writeFrame(opcode: number, payload: Uint8Array, fin: boolean, rsv: number): void {
    // A pending pong goes before our close frame, never after it.
    if (opcode === Opcode.CLOSE && this.pendingPong !== null) this.takePong();
    if (isControlOpcode(opcode) && (payload.length > 125 || !fin)) {
      throw new InvalidState("control frames must be unfragmented with at most 125 bytes of payload");
    }
    this.output.frame(fin, rsv, opcode, payload, this.maskSource === null ? null : this.maskSource());
  }

  /** @internal Queue one event for `nextEvent()`. */
  protected pushEvent(event: ProtocolEvent): void {
    if (this.events === NO_EVENTS) this.events = [event];
    else this.events.push(event);
  }

  private takePong(): void {
    const pong = this.pendingPong!;
    for (let i = 0; i < pong.length; i++) this.output.push(pong[i]!);
    this.pendingPong = null;
  }
}
