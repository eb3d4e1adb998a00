/**
 * The event-style side of a {@link Connection}: how the facades built on it
 * (callback handlers, the WHATWG `WebSocket` and `WebSocketStream`, the
 * `ws`-compatible class) receive and send. `conn.listen(listener)` makes a
 * {@link Listening}, which owns the listener mode:
 *
 * - Every message goes to the listener as it is decoded instead of queueing
 *   for `recv()`; messages already queued are handed over first.
 * - Backpressure is the listener's (`pauseMessages`): while paused, the core
 *   decodes no further than the queue takes, then holds input raw, exactly
 *   as for a slow `recv()` reader (the connection's rule applies).
 * - `closing` comes when the peer's close frame is reached, in order with
 *   the messages; `closed` once the connection is closed and every message
 *   was handed over.
 *
 * Sending without a promise ({@link sendNow}) and the marker that says what
 * was sent has left the write buffer ({@link whenWritten}) are the other half.
 * The connection keeps the adapter loop; this file only says where messages
 * go once a listener takes them.
 */
import { Buffer } from "node:buffer";
import type { Connection } from "./connection.js";
import type { ConnectionListener, Data } from "./connection-types.js";
import type { Inbox } from "./inbox.js";
import { convertMessage, type Message, type RecvOptions } from "./recv-options.js";

/** What a `textAsBytes` listener gets a text message kept as a string as. */
const TEXT_BYTES: RecvOptions = { text: "bytes", binary: "buffer" };
/** A Buffer, not a Uint8Array: the socket would convert the latter on every write. */
const EMPTY = Buffer.alloc(0);

/** A connection's listener mode (see the module comment); made by `conn.listen`. @internal */
export class Listening {
  /** The event-style receiver a facade gave. */
  readonly listener: ConnectionListener;
  /** The listener asked for no messages for now (its backpressure). */
  paused = false;
  /** The listener's `closed` is due once the held messages are handed over. */
  closePending = false;
  /** The listener's `closing` was called. */
  private closingCalled = false;
  /** The listener takes text messages as their UTF-8 bytes (`listen({ textAsBytes })`). */
  private readonly textBytes: boolean;
  private readonly conn: Connection;
  private readonly inbox: Inbox;

  constructor(conn: Connection, inbox: Inbox, listener: ConnectionListener, textBytes: boolean) {
    this.conn = conn;
    this.inbox = inbox;
    this.listener = listener;
    this.textBytes = textBytes;
  }

  /** One message to the listener: text decoded, or as its bytes with `listen({ textAsBytes })`. */
  toListener(message: Message): void {
    const text = message.text === true || typeof message.data === "string";
    const data = this.textBytes && typeof message.data !== "string" ? message.data : (convertMessage(message.data, text, this.textBytes ? TEXT_BYTES : undefined) as Data);
    this.listener.message(data, text);
  }

  /** Stop (true) or restart (false) handing messages over. */
  pause(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    if (!paused) this.handOver();
  }

  /** The connection is closed: `closed` is due once what waits is handed over. */
  connectionClosed(): void {
    this.closePending = true;
    if (!this.paused) this.handOver();
  }

  /** Give the listener what waits (queued, then held by the core), and its `closed` when due. */
  handOver(): void {
    const l = this.listener;
    let message: Message | undefined;
    while (!this.paused && (message = this.inbox.take()) !== undefined) this.toListener(message);
    if (this.paused) return;
    this.conn.afterInput();
    this.notifyClosing();
    if (this.closePending && !this.paused && this.inbox.queued === 0 && !this.conn.core.holding) {
      this.closePending = false;
      l.closed?.();
    }
  }

  /** Call the listener's `closing` once every message before the peer's close frame was handed over. */
  notifyClosing(): void {
    if (!this.conn.peerCloseReached || this.closingCalled || this.paused || this.inbox.queued > 0) return;
    this.closingCalled = true;
    this.listener.closing?.();
  }
}

/** `conn.sendNow`: a whole message to the core now, written on the next tick. @internal */
export function sendNow(conn: Connection, message: string | Uint8Array): void {
  if (typeof message === "string") conn.core.sendText(message, true);
  else conn.core.sendBinary(message, true);
  conn.flushOutput();
}

/** `conn.whenWritten`: `written` once what was written so far left the write buffer. @internal */
export function whenWritten(conn: Connection, written: (err: Error | null) => void): void {
  // What the core queued goes to the socket first (it would go on the next tick), so the marker comes after it.
  conn.uncorkNow();
  const s = conn.socket;
  if (s.destroyed || s.writableEnded) {
    process.nextTick(written, conn.closedError());
    return;
  }
  // A zero-length write: writes complete in order, so its callback says
  // what came before has been handed to the OS. Node calls back without an
  // error for writes still under way when the socket is destroyed: a
  // callback that finds the socket destroyed cannot vouch for the bytes.
  s.write(EMPTY, (err?: Error | null) => written(err ?? (s.destroyed ? conn.closedError() : null)));
}
