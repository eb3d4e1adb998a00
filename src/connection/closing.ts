/**
 * The connection's state and every transition of it: the closing handshake
 * (RFC 6455 §5.5.1, §7.1.2), _Fail the WebSocket Connection_ (§7.1.7) and the
 * end of the TCP stream — the base of {@link Protocol}.
 *
 * A connection leaves OPEN only by closing, so the state machine and the
 * close bookkeeping are one thing (h11's rule: every transition is in this
 * file):
 *
 *   OPEN    --sendClose()------------------------> CLOSING  (closeSent)
 *   OPEN    --close frame received---------------> CLOSING  (closeRcvd, echo sent)
 *   OPEN    --peer violates the protocol / fail()-> CLOSING  (close frame with the error's code sent)
 *   CLOSING --close frame received---------------> CLOSING  (handshake complete: closeTransport)
 *   any     --receiveEof()-----------------------> CLOSED
 *
 * `Protocol` (protocol.ts) is the rest: the inputs, the event queue, the
 * output and the sending side. It extends this class rather than holding it,
 * as `Receiver` extends `MessageDecoding`: both halves share the state, and
 * the hot paths (`receiveData`, the sends) keep reading it as a field of one
 * object, with no call in between. This half is the cold one: it runs once
 * per connection, when it ends.
 *
 * No internal error text goes on the wire: an unexpected error while reading
 * fails the connection with 1011 and the fixed reason "internal error"; the
 * details stay on `failure` for the application.
 */
import { Buffer } from "node:buffer";
import { InvalidState, ProtocolError, type CloseInfo } from "../errors.js";
import { parseClosePayload, serializeClosePayload } from "../frame/close.js";
import { Opcode } from "../frame/opcodes.js";
import type { ConnectionState, ProtocolEvent, Role } from "./protocol.js";
import type { Receiver } from "./receiver.js";

/**
 * The state and the closing handshake of a {@link Protocol}, which extends
 * it (where the rest of the connection is documented).
 */
export abstract class ClosingHandshake {
  /** @internal The current state (a field: the send paths read it). */
  protected _state: ConnectionState = "open";
  /** @internal True once `receiveEof` was called (a field: `receiveData` reads it). */
  protected _eofReceived = false;
  private _closeRcvd: CloseInfo | null = null;
  private _closeSent: CloseInfo | null = null;
  private _closeRcvdThenSent: boolean | null = null;
  private _failure: ProtocolError | null = null;
  private _closeTransport = false;
  private pendingFailure: ProtocolError | null = null;
  /** The close event, when the peer's close was found ahead of messages still to decode. */
  private deferredClose: ProtocolEvent | null = null;

  // What the closing handshake needs of the rest of the connection (Protocol).

  /** @internal Which end this is. */
  abstract readonly role: Role;
  /** @internal The receiving half: stopped when the connection fails or the stream ends. */
  protected abstract readonly receiver: Receiver;
  /** @internal Queue one frame to send (a close frame goes after a pending pong). */
  protected abstract writeFrame(opcode: number, payload: Uint8Array, fin: boolean, rsv: number): void;
  /** @internal Queue one event for `nextEvent()`. */
  protected abstract pushEvent(event: ProtocolEvent): void;

  /** The current state. */
  get state(): ConnectionState {
    return this._state;
  }
  /** The close frame received from the peer, if any. */
  get closeRcvd(): CloseInfo | null {
    return this._closeRcvd;
  }
  /** The close frame sent to the peer, if any. */
  get closeSent(): CloseInfo | null {
    return this._closeSent;
  }
  /** When both close frames went: true if the peer's came first. Null otherwise. */
  get closeRcvdThenSent(): boolean | null {
    return this._closeRcvdThenSent;
  }
  /** The peer's protocol violation (or local `fail`) that failed the connection, if any. */
  get failure(): ProtocolError | null {
    return this._failure;
  }
  /** True once the adapter should end the TCP connection (after writing `dataToSend()`). */
  get closeTransport(): boolean {
    return this._closeTransport;
  }
  /** True while a close is under way: the adapter should run its close timer. */
  get closeExpected(): boolean {
    return this._state === "closing";
  }
  /** True once `receiveEof` was called. */
  get eofReceived(): boolean {
    return this._eofReceived;
  }

  /**
   * True when a peer violation was found after messages that arrived in the
   * same chunk: the connection fails once the adapter calls
   * {@link commitFailure} (after letting the application answer them).
   */
  get failurePending(): boolean {
    return this.pendingFailure !== null;
  }

  /** Fail the connection for a pending violation (see {@link failurePending}). */
  commitFailure(): void {
    const err = this.pendingFailure;
    if (err === null) return;
    this.pendingFailure = null;
    this.failWith(err, false);
  }

  /** The peer closed its side of the TCP connection (or it was reset). */
  receiveEof(): void {
    if (this._eofReceived) return;
    this.commitFailure();
    this._eofReceived = true;
    // What is held stays decodable; nothing more arrives.
    this.receiver.abandon();
    // §7.1.5: with no close frame received, "_The WebSocket Connection Close
    // Code_ is considered to be 1006". The adapter reports it from closeRcvd.
    this._state = "closed";
    this._closeTransport = true;
  }

  /**
   * Start the closing handshake (§7.1.2). Without a code the close frame is
   * empty (the peer sees 1005). Throws `InvalidState` unless OPEN, or for a
   * code/reason not allowed on the wire.
   */
  sendClose(code?: number, reason = ""): void {
    this.checkOpen();
    const payload = serializeClosePayload(code, reason);
    this.writeFrame(Opcode.CLOSE, payload, true, 0);
    this._closeSent = { code: code ?? 1005, reason: code === undefined ? "" : reason };
    this._state = "closing";
  }

  /**
   * _Fail the WebSocket Connection_ (§7.1.7): send a close frame with `code`
   * if none was sent yet, stop reading, and ask the adapter to end the TCP
   * connection. Used for peer violations and by the adapter (1011 on a
   * keepalive timeout, 1001 when going away...).
   */
  fail(code: number, reason = ""): void {
    this.failWith(new ProtocolError(reason || `failed with ${code}`, "WS_ERR_FAILED", code), true);
  }

  /** @internal ReceiverHost: nothing more will be decoded. */
  decoderFinished(): void {
    if (this.deferredClose !== null) {
      this.pushEvent(this.deferredClose);
      this.deferredClose = null;
    }
  }

  /**
   * @internal Reading threw `err` (a peer violation, or our bug). With
   * `messagesFirst` — messages were completed in the same call — the failure
   * waits for {@link commitFailure}.
   */
  protected readFailed(err: unknown, messagesFirst: boolean): void {
    if (messagesFirst && this._state === "open") {
      // Messages completed in this same chunk come first: the application
      // gets a chance to answer them (an echo) before the close frame goes
      // out — what Autobahn grades "OK" rather than "NON-STRICT" (3.2, 4.1.3,
      // 5.15). Reading has stopped; the adapter calls commitFailure() once
      // the application has had its turn.
      this._failure ??= toProtocolError(err);
      this.pendingFailure = this._failure;
    } else {
      this.failWith(err, false);
    }
  }

  /** @internal The peer's close frame (the decoder's, or the scanner's when `ahead`). */
  protected handleClose(payload: Uint8Array, ahead: boolean): void {
    if (this._closeRcvd !== null) {
      // The decoder reached the close frame the scanner had found ahead of
      // it: everything before it was delivered, now its event.
      this.decoderFinished();
      return;
    }
    const info = parseClosePayload(payload);
    this._closeRcvd = info;
    if (this._closeSent === null) {
      // §5.5.1: "If an endpoint receives a Close frame and did not previously
      // send a Close frame, the endpoint MUST send a Close frame in response.
      // (When sending a Close frame in response, the endpoint typically echos
      // the status code it received.)" — we echo the payload as received.
      this.writeFrame(Opcode.CLOSE, payload, true, 0);
      this._closeSent = info;
      this._closeRcvdThenSent = true;
    } else {
      this._closeRcvdThenSent = false;
    }
    this._state = "closing";
    // §7.1.1: "the server SHOULD close [the TCP connection] first"; the client
    // waits for that, with a timeout (closeExpected).
    if (this.role === "server") this._closeTransport = true;
    const event: ProtocolEvent = { type: "close", code: info.code, reason: info.reason };
    // Found ahead of messages still to decode: its event comes after theirs.
    if (ahead && !this.receiver.decodingDone) this.deferredClose = event;
    else this.pushEvent(event);
  }

  /** @internal Throws `InvalidState` unless OPEN (nothing may be sent once a close frame went). */
  protected checkOpen(): void {
    if (this._state !== "open") throw new InvalidState(`connection is ${this._state}`);
  }

  /** Fail the connection (§7.1.7). `local`: our decision (fail()), not a violation found while reading. */
  private failWith(err: unknown, local: boolean): void {
    const error = toProtocolError(err);
    this._failure ??= error;
    // A violation stopped reading where it was found (the receiver did). A
    // local failure reads nothing more either, but what is held and was
    // received before stays decodable.
    if (local) this.receiver.abandon();
    if (this._state === "open") {
      // §7.1.7: the endpoint "MAY send a Close frame" before closing the TCP connection.
      const reason = reasonOnWire(error);
      this.writeFrame(Opcode.CLOSE, serializeClosePayload(error.closeCode, reason), true, 0);
      this._closeSent = { code: error.closeCode, reason };
      this._state = "closing";
    }
    if (this._state !== "closed") this._closeTransport = true;
  }
}

/** Peer violations are ProtocolErrors; anything else thrown while reading is our bug: 1011. */
function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError(`internal error: ${err instanceof Error ? err.message : String(err)}`, "WS_ERR_INTERNAL", 1011);
}

/**
 * The close reason sent for a failure: the error's own words when they are
 * ours (fixed texts), a fixed text when they may carry someone else's (an
 * internal error, zlib's message).
 */
function reasonOnWire(error: ProtocolError): string {
  if (error.code === "WS_ERR_INTERNAL" || (error.closeCode === 1011 && error.code !== "WS_ERR_FAILED")) return "internal error";
  if (error.code === "WS_ERR_INVALID_COMPRESSED_DATA") return "invalid compressed data";
  return truncateReason(error.message);
}

/** A close reason must fit in 123 bytes (§5.5); cut on a character boundary. */
function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let s = reason.slice(0, 123);
  while (Buffer.byteLength(s) > 120) s = s.slice(0, -1);
  return s + "...";
}
