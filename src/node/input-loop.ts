/**
 * The connection's input loop: what happens each time input reaches the
 * core (a socket read, EOF, or room made by a reader), and so where the
 * rules of backpressure and closing are kept.
 *
 * One turn drains the core's events — messages to the inbox or the
 * listener, pieces to the stream being fed, pings and pongs to keepalive
 * and the listener, the peer's close frame — lets the core decode what it
 * holds as room frees up, writes what the core has to send, pauses or
 * resumes reading the socket, and ends the socket or starts the close timer
 * when the core says so.
 *
 * Backpressure and closing — the rule:
 * - Reading. At most `maxQueue` received messages wait for `recv()`; past
 *   that the core stops decoding (no reassembly, no inflation) and keeps the
 *   raw bytes, and the socket is still read until {@link READ_AHEAD} bytes
 *   are held that way; only then does it stop being read (TCP holds the peer
 *   back). Decoding resumes, in order, as `recv()` empties the queue to a
 *   quarter of `maxQueue`.
 * - A write buffer over `writeHighWaterMark`, whatever filled it (our sends,
 *   pongs to a ping flood), also stops reading, until it drains to
 *   `writeLowWaterMark`. While the write buffer is not draining, only the
 *   latest of the pings received is answered (RFC 6455 §5.5.3).
 * - A peer that leaves is noticed while messages wait: its close frame
 *   within the read-ahead bytes is found and answered at once, and EOF
 *   closes the connection at once. So are its pongs (keepalive holds while
 *   the application is slow to read).
 * - Once either side has sent its close frame, the socket is never paused
 *   for input: the close completes in about one round trip whatever is
 *   queued. Data frames that arrive then are still delivered while they fit
 *   (the queue, then READ_AHEAD bytes held); beyond that they are discarded
 *   undecoded (counted in `core.skippedFrames`, never delivered).
 * - Every message received before the close stays readable: `recv()` and
 *   `for await` return them in order, then raise `ConnectionClosed`. A
 *   message still incomplete when the connection closes is lost.
 * - When the server handler has returned nobody reads: the queue and the
 *   held bytes are dropped.
 * - Streaming (`recvStreaming`): the core streams the reserved message to
 *   its `MessageStream`, which takes at most STREAM_READ_AHEAD bytes ahead
 *   of its reader; past that the core holds input raw as above (even in the
 *   middle of a frame), so a reader that does not pull stops the socket.
 * - The close timer (a close in progress) keeps the event loop alive;
 *   keepalive timers of idle connections do not.
 *
 * Functions over the connection rather than an object of their own: this
 * is the hot path, run once per socket read, on the connection's fields.
 */
import type { ProtocolEvent } from "../connection/protocol.js";
import type { Connection } from "./connection.js";
import { publishPing, publishPong } from "./diagnostics.js";
import type { Message } from "./recv-options.js";
import { startStream, streamCut, streamed } from "./stream-feed.js";

/**
 * Raw bytes a connection keeps reading ahead while its message queue is full
 * (it may overshoot by one socket read: at most READ_BUFFER_SIZE, 256 KiB,
 * when reading into the shared buffer, 64 KiB otherwise): what lets a close
 * frame behind unread messages be seen, and what bounds a slow reader's
 * memory beyond the queue itself.
 */
export const READ_AHEAD = 128 * 1024;

/** Bytes from the socket (`borrowed`: valid only until this returns, the shared read buffer). @internal */
export function receive(conn: Connection, chunk: Uint8Array, borrowed: boolean): void {
  const p = conn.core;
  // The core decodes no more messages than the queue has room for now
  // (the application may have emptied it since the last chunk).
  if (conn.maxQueue !== null || conn.listening !== null) p.allowMessages(room(conn));
  if (conn.streamReader !== null) p.allowStreamBytes(conn.streamReader.room);
  // §5.5.3: while what we wrote is not draining, answer only the latest ping.
  p.coalescePongs = conn.io.bufferedAmount > 0;
  p.receiveData(chunk, borrowed);
  afterInput(conn);
}

/** One turn of the loop, after any input to the core. @internal */
export function afterInput(conn: Connection): void {
  const p = conn.core;
  for (let allowed = false; ; ) {
    let progress = false;
    let ev: ProtocolEvent | undefined;
    while ((ev = p.nextEvent()) !== undefined) {
      progress = true;
      if (ev.type === "message") deliver(conn, ev);
      else if (ev.type === "fragment") streamed(conn, ev.data, ev.text, ev.fin);
      else if (ev.type === "pong") {
        publishPong(conn, "in", ev.data);
        conn.heartbeat?.onPong(ev.data);
        conn.listening?.listener.pong?.(ev.data);
      } else if (ev.type === "ping") {
        publishPing(conn, "in", ev.data);
        conn.listening?.listener.ping?.(ev.data);
      }
      else if (ev.type === "close") reachPeerClose(conn);
    }
    // (A violation waiting for its close frame is committed first: the stream's error then says 1009, 1007...)
    if (conn.streamReader !== null && !p.streamingMessage && !p.failurePending) streamCut(conn);
    if (startStream(conn)) continue;
    // What the core holds beyond the queue's (or the stream's) room is
    // decoded as room frees up (here when messages went to waiters
    // instead of the queue, or from recv()); until nothing more comes.
    if ((allowed && !progress) || !p.holding) break;
    const r = room(conn);
    const streamRoom = conn.streamReader?.room ?? 0;
    if (r <= 0 && streamRoom <= 0) break;
    p.coalescePongs = conn.io.bufferedAmount > 0;
    if (r > 0) p.allowMessages(r);
    if (streamRoom > 0) p.allowStreamBytes(streamRoom);
    allowed = true;
  }
  // Closed, nothing held, no stream: whoever still waits waits in vain.
  if (conn.finished && conn.inbox.waiting > 0 && conn.streamReader === null && !p.holding) conn.inbox.rejectWaiters(conn.closedError());
  if (p.hasDataToSend) conn.flushOutput();
  updateReading(conn);
  if (p.failurePending) {
    // Let the application answer the messages that came with the
    // violation (its microtasks run first), then fail the connection.
    setImmediate(() => {
      p.commitFailure();
      afterInput(conn);
    });
  }
  if (p.closeTransport) conn.io.endTransport();
  else if (p.closeExpected) conn.io.startCloseTimer();
  if (conn.finished) conn.disposeExtension();
}

/**
 * The socket closed: deliver what is still in the core's queue of events
 * (messages, stream pieces, the peer's close) before the books are closed.
 * @internal
 */
export function drainEvents(conn: Connection): void {
  let ev: ProtocolEvent | undefined;
  while ((ev = conn.core.nextEvent()) !== undefined) {
    if (ev.type === "message") deliver(conn, ev);
    else if (ev.type === "fragment") streamed(conn, ev.data, ev.text, ev.fin);
    else if (ev.type === "close") reachPeerClose(conn);
  }
}

/** How many more messages the queue takes (messages for waiters don't queue). */
function room(conn: Connection): number {
  if (conn.listening !== null) return conn.listening.paused ? 0 : Infinity;
  if (conn.maxQueue === null) return Infinity;
  return conn.maxQueue + conn.inbox.waiting - conn.inbox.queued;
}

/** Read the socket unless input is held past the read-ahead bound or the write buffer is over its high mark. */
function updateReading(conn: Connection): void {
  const p = conn.core;
  let inputFull = p.holding && p.backlogBytes > READ_AHEAD;
  if (inputFull && p.state !== "open") {
    // A close is under way: reading is what completes it, so it never
    // stops; held input takes no more, later data frames are discarded.
    p.freezeBacklog();
    inputFull = false;
  }
  conn.io.setInputPaused(inputFull);
}

function deliver(conn: Connection, message: Message): void {
  conn.messagesIn++;
  const l = conn.listening;
  if (l !== null && !l.paused && conn.inbox.queued === 0) l.toListener(message);
  else if (l === null && conn.streamReader !== null) conn.streamReader.take(message); // (not expected: the core streams the reserved message)
  else conn.inbox.put(message);
}

/** The peer's close frame was drained from the core: the listener's `closing` is due, in order. */
function reachPeerClose(conn: Connection): void {
  conn.peerCloseReached = true;
  conn.listening?.notifyClosing();
}
