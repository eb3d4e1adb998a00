/**
 * The types a {@link Connection}'s API speaks: what is received (`Data`),
 * what may be sent (`Sendable`, `BinaryData`, `Fragment`), the options of a
 * connection, what the handshake hands over, and the listener through which
 * the event-style facades receive.
 */
import type { HttpRequest, HttpResponse } from "../handshake/http.js";
import type { Connection } from "./connection.js";

/** A received message: a string for text, bytes for binary. */
export type Data = string | Uint8Array;

/** Bytes as `send`, `ping` and `pong` take them: any view's bytes (a `Buffer`, any typed array, a `DataView`) or a buffer's. */
export type BinaryData = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

/** One fragment of a message sent in fragments. */
export type Fragment = string | BinaryData | Blob;

/**
 * What `send` accepts: a string (text), bytes (binary), a `Blob` (binary,
 * read first), or an (async) iterable of fragments sent as one fragmented
 * message (text if the first fragment is a string).
 */
export type Sendable = string | BinaryData | Blob | Iterable<Fragment> | AsyncIterable<Fragment>;

/** Options shared by server and client connections. */
export interface ConnectionOptions {
  /**
   * Received messages decoded and queued for `recv()` at most (backpressure):
   * beyond, input is kept undecoded, up to READ_AHEAD (128 KiB) bytes (plus
   * the one socket read that crossed it, at most 256 KiB), then the socket
   * stops being read. Default 16; null: unbounded.
   */
  maxQueue?: number | null;
  /** `send` waits while more than this many bytes wait to be written. Default 64 KiB. */
  writeHighWaterMark?: number;
  /** ...until the write buffer drops to this many bytes. Default a quarter of the high mark. */
  writeLowWaterMark?: number;
  /** Milliseconds between keepalive pings; null turns keepalive off. Default 20 000. */
  pingInterval?: number | null;
  /** Milliseconds to wait for the pong before failing with 1011; null: wait forever. Default 20 000. */
  pingTimeout?: number | null;
  /** Milliseconds to wait for the closing handshake and the TCP close before dropping the socket. Default 10 000. */
  closeTimeout?: number;
}

/** What the handshake learnt, handed to a new {@link Connection}. */
export interface HandshakeInfo {
  /** The opening handshake request (the client's). */
  request: HttpRequest;
  /** The opening handshake response (the server's 101). */
  response: HttpResponse;
  /** The negotiated subprotocol, or null. */
  subprotocol: string | null;
}

/**
 * What an event-style facade (the `ws`-compatible class, the standard
 * `WebSocket`) receives in place of `recv()`: each event as the core decodes
 * it, in order. See {@link Connection.listen}.
 * @internal
 */
export interface ConnectionListener {
  /**
   * A message: a string for text, bytes for binary — or, listening with
   * `textAsBytes`, a text message's UTF-8 bytes. `text` says which.
   */
  message(data: Data, text: boolean): void;
  /** A ping arrived (the core has answered it). */
  ping?(data: Uint8Array): void;
  /** A pong arrived. */
  pong?(data: Uint8Array): void;
  /**
   * The peer's close frame was reached, after every message sent before it
   * was handed over: the closing handshake has started (read
   * `closeFrames.rcvd`). Not called when the connection ends without one.
   */
  closing?(): void;
  /** The connection is closed and every message was handed over: read `closeCode`, `closeFrames`... */
  closed?(): void;
}

/**
 * Options of {@link Connection.listen}.
 * @internal
 */
export interface ListenOptions {
  /** Text messages as their validated UTF-8 bytes (`text` true) rather than strings: no string made only to be encoded back. */
  textAsBytes?: boolean;
}
