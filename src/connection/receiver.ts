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
 * messages and control frames to the host (the Protocol). That half — what
 * each frame means — is the base class, in `message-decoding.ts`; this file
 * is the other half: when the decoder runs, and where input waits when not.
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
import { Buffer } from "node:buffer";
import type { MessageExtension } from "../extensions/types.js";
import { Opcode } from "../frame/opcodes.js";
import { FrameParser } from "../frame/parser.js";
import { Backlog, ControlScanner, type ScannedSink } from "./backlog.js";
import { MAX_MESSAGE_SIZE, MessageDecoding, NO_MESSAGE } from "./message-decoding.js";
import type { ProtocolEvent } from "./protocol.js";

export { MAX_MESSAGE_SIZE };

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
export class Receiver extends MessageDecoding implements ScannedSink {
  private front = Front.DECODER;
  private readonly backlog = new Backlog();
  /** The backlog takes no more bytes (frozen during a close, the peer's close or EOF arrived, we failed). */
  private frozen = false;
  private scanner: FrameParser | null = null;
  /** Data frames received from now on are discarded (after freeze, discard, EOF or a local failure). */
  private discarding = false;
  /** Data frames the scanner passed over before discarding began (they are in the backlog, not discarded). */
  private scannedBeforeStop = 0;

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
}

/** A copy of `chunk` the core keeps (a borrowed chunk is reused by its owner). */
function copyOf(chunk: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafe(chunk.length);
  copy.set(chunk);
  return copy;
}
