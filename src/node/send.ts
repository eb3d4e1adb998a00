/**
 * The sends of a {@link Connection} that take more than one turn of the
 * event loop: a `Blob` (read first) and a fragmented message from an
 * (async) iterable. Both hold the connection's send lock, so later sends
 * wait and messages keep their order.
 */
import type { Connection } from "./connection.js";
import { fragmentData, isBlob } from "./payload.js";

/** Read `blob`, then send it as one binary message. */
export function sendBlob(conn: Connection, blob: Blob, options?: { compress?: boolean }): Promise<void> {
  return conn.withSendLock(async () => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    try {
      conn.core.sendBinary(bytes, true, options);
    } catch (err) {
      throw conn.sendError(err);
    }
    conn.messagesOut++;
    conn.flushOutput();
    await conn.writable();
  });
}

/**
 * Send `fragments` as one fragmented message (text if the first fragment is
 * a string): an iterable, an async iterable — a Node `Readable`, a web
 * `ReadableStream` — of strings or bytes. The next fragment is read from the
 * source only once the write buffer is under the high water mark, so a
 * source is never read faster than the socket drains. With compression
 * negotiated the message is compressed as it goes (RFC 7692 §6.1), unless
 * `compress: false`. A source that fails mid-way fails the connection with
 * 1011: a message cut off can't be finished. Breaking off the source's
 * iteration (a failed send) cancels a web stream and destroys a Node one.
 */
export function sendFragments(
  conn: Connection,
  fragments: Iterable<unknown> | AsyncIterable<unknown>,
  options?: { compress?: boolean },
): Promise<void> {
  return conn.withSendLock(async () => {
    const core = conn.core;
    let started = false;
    let index = 0;
    const put = async (chunk: unknown) => {
      let data = fragmentData(chunk, index++);
      if (isBlob(data)) data = new Uint8Array(await data.arrayBuffer());
      if (!started) {
        if (typeof data === "string") core.sendText(data, false, options);
        else core.sendBinary(data, false, options);
        started = true;
      } else {
        core.sendContinuation(data, false);
      }
      conn.flushOutput();
    };
    try {
      if (Symbol.asyncIterator in fragments) {
        for await (const chunk of fragments) {
          await put(chunk);
          await conn.writable();
        }
      } else {
        for (const chunk of fragments) await put(chunk);
      }
      if (started) {
        core.sendContinuation(new Uint8Array(0), true);
        conn.messagesOut++;
        conn.flushOutput();
      }
    } catch (err) {
      if (started && core.state === "open") conn.fail(1011, "error while sending a fragmented message");
      throw conn.sendError(err);
    }
    await conn.writable();
  });
}
