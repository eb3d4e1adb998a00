/**
 * The connection's side of `recvStreaming()`: which {@link MessageStream}
 * the core streams a message to, and how it starts, is fed, and ends.
 *
 * A stream waits in the inbox's line of readers like a `recv()` call. When
 * it is first in line and nothing is queued, the connection reserves the
 * next message for it ({@link startStream}): the core then hands that
 * message over piece by piece (`fragment` events, {@link streamed}) instead
 * of reassembling it, no more bytes ahead than the stream's room — past
 * that the core holds input raw, so a reader that does not pull stops the
 * socket (STREAM_READ_AHEAD). The stream's reader pulling or giving up
 * comes back here through the connection ({@link streamPulled},
 * {@link streamCancelled}); a connection that ends before the message does
 * cuts the stream ({@link streamCut}).
 *
 * Functions over the connection rather than an object of their own: the
 * stream being fed is one field of the connection, read on the hot path.
 */
import type { Connection } from "./connection.js";
import type { StreamEnd } from "./message-stream.js";

/** A streamed piece from the core: to the stream it is for. @internal */
export function streamed(conn: Connection, data: Uint8Array, text: boolean, fin: boolean): void {
  const stream = conn.streamReader;
  if (stream === null) return;
  if (fin) conn.streamReader = null;
  stream.piece(data, text, fin);
}

/** The first reader in line is a stream and nothing is queued: the core streams the next message to it. @internal */
export function startStream(conn: Connection): boolean {
  const inbox = conn.inbox;
  const next = inbox.next;
  if (conn.streamReader !== null || next === undefined || !next.streams || inbox.queued !== 0) return false;
  const stream = inbox.shift() as StreamEnd;
  conn.streamReader = stream;
  conn.core.allowStreamBytes(stream.room);
  conn.core.streamMessage(stream.maxSize === undefined ? conn.core.maxSize : stream.maxSize);
  return true;
}

/** The core will not finish the streamed message (the connection is ending): its stream fails. @internal */
export function streamCut(conn: Connection): void {
  const stream = conn.streamReader!;
  conn.streamReader = null;
  stream.fail(conn.closedError());
}

/** StreamOwner, for the connection: the stream's reader took pieces. @internal */
export function streamPulled(conn: Connection, stream: StreamEnd): void {
  if (stream !== conn.streamReader) return;
  conn.core.allowStreamBytes(stream.room);
  conn.afterInput();
}

/** StreamOwner, for the connection: the stream's reader gave up. @internal */
export function streamCancelled(conn: Connection, stream: StreamEnd): void {
  if (conn.inbox.leave(stream)) return; // not started: the message goes to the next reader
  if (stream !== conn.streamReader) return;
  // Nothing of it went out yet: it comes whole to the next reader.
  // Otherwise the stream drops the rest (its room is unlimited).
  if (conn.core.cancelStreamMessage()) conn.streamReader = null;
  else conn.core.allowStreamBytes(stream.room);
  conn.afterInput();
}
