/**
 * What a `ws` {@link WebSocket} hears, as `ws` says it: the wavesock
 * {@link Connection} made under it once the handshake succeeded (from `ws`'s
 * options), and every event that connection then gives rise to — `'open'`,
 * `'message'` as `binaryType` asks, `'ping'` / `'pong'`, a peer's violation
 * as `'error'`, `'close'` — in `ws`'s order.
 *
 * websocket.ts is the class itself: its state, its getters and its verbs
 * (`send`, `ping`, `close`, `pause`...). These are functions of the
 * WebSocket rather than methods so that the class reads as its API; the
 * connection calls them through the same one listener closure as before, so
 * no call is added per message.
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { Protocol, type ProtocolOptions } from "../connection/protocol.js";
import type { MessageExtension } from "../extensions/types.js";
import { Connection, type HandshakeInfo } from "../node/connection.js";
import type { ConnectionListener, Data } from "../node/connection-types.js";
import { wsErrorFor } from "./errors.js";
import { CLOSING, DEFAULT_MAX_PAYLOAD, OPEN, type SocketOptions, type WebSocket } from "./websocket.js";

const EMPTY = Buffer.alloc(0);

/**
 * The handshake succeeded on `socket`: make `ws`'s connection (writing
 * `preamble`, the server's 101, first), go OPEN and emit `'open'`.
 * @internal
 */
export function attachConnection(
  ws: WebSocket,
  socket: Socket,
  info: HandshakeInfo,
  extensions: MessageExtension[],
  options: SocketOptions,
  preamble: Uint8Array | undefined,
): Connection {
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const protocolOptions: ProtocolOptions = { maxSize: maxPayload > 0 ? maxPayload : null, extensions };
  const generateMask = (options as { generateMask?: (mask: Buffer) => void }).generateMask;
  if (generateMask !== undefined) {
    protocolOptions.maskSource = () => {
      const key = Buffer.alloc(4);
      generateMask(key);
      return key;
    };
  }
  const core = new Protocol(ws._isServer ? "server" : "client", protocolOptions);
  core.autoPong = ws._autoPong;
  // ws never stops reading for its own writes (its send() buffers without
  // bound) and has no keepalive: no write water marks, no pings here.
  const conn = new Connection(socket, core, info, {
    maxQueue: null,
    writeHighWaterMark: Number.MAX_SAFE_INTEGER,
    pingInterval: null,
    closeTimeout: ws._closeTimeout,
  });
  if (preamble !== undefined) conn.writeRaw(preamble);
  ws._conn = conn;
  ws._protocol = info.subprotocol ?? "";
  ws._extensions = extensions.map((e) => e.name).join();
  if (socket.setTimeout) socket.setTimeout(0);
  socket.setNoDelay?.(true);
  ws._readyState = OPEN;
  ws.emit("open");
  return conn;
}

/** Start delivering `ws`'s events; `head`: bytes that came with the handshake. @internal */
export function startDelivery(ws: WebSocket, head: Uint8Array): void {
  const conn = ws._conn!;
  conn.listen(listenerFor(ws), { textAsBytes: true });
  conn.socket.resume();
  if (head.length > 0) conn.receive(head);
}

function listenerFor(ws: WebSocket): ConnectionListener {
  return {
    message: (data, text) => onMessage(ws, data, text),
    ping: (data) => emitSafely(ws, "ping", asBuffer(data)),
    pong: (data) => emitSafely(ws, "pong", asBuffer(data)),
    closed: () => onClosed(ws),
  };
}

function onMessage(ws: WebSocket, data: Data, text: boolean): void {
  const buf = typeof data === "string" ? Buffer.from(data) : asBuffer(data);
  let value: unknown = buf;
  if (!text) {
    const type = ws._binaryType;
    if (type === "arraybuffer") value = toArrayBuffer(buf);
    else if (type === "fragments") value = [buf];
    else if (type === "blob") value = new Blob([buf]);
  }
  emitSafely(ws, "message", value, !text);
  if (!ws._allowSynchronousEvents && !ws._deferred && ws._conn !== null) {
    // One message per tick (what the WHATWG standard does): the next waits.
    ws._deferred = true;
    ws._conn.pauseMessages(true);
    setImmediate(() => {
      ws._deferred = false;
      if (!ws._paused) ws._conn!.pauseMessages(false);
    });
  }
}

/**
 * Emit to the user's listeners. An exception from one is rethrown on the
 * next tick — an uncaught exception, as with `ws` — rather than unwinding
 * through the connection's read loop mid-way.
 */
function emitSafely(ws: WebSocket, event: string, a: unknown, b?: unknown): void {
  try {
    if (b === undefined) ws.emit(event, a);
    else ws.emit(event, a, b);
  } catch (err) {
    process.nextTick(rethrow, err);
  }
}

function onClosed(ws: WebSocket): void {
  const conn = ws._conn!;
  const { rcvd, sent } = conn.closeFrames;
  const failure = conn.core.failure;
  // ws: a violation of the peer's is an 'error' (with ws's code), then 'close'.
  if (failure !== null && failure.code !== "WS_ERR_FAILED" && !ws._errorEmitted) {
    ws._errorEmitted = true;
    ws._readyState = CLOSING;
    emitSafely(ws, "error", wsErrorFor(failure));
  }
  ws._closeFrameSent = sent !== null;
  if (rcvd !== null) {
    ws._closeFrameReceived = true;
    ws._closeCode = rcvd.code;
    ws._closeMessage = rcvd.reason === "" ? EMPTY : Buffer.from(rcvd.reason);
  }
  ws._emitClose();
}

function rethrow(err: unknown): never {
  throw err;
}

/** A received payload as a `Buffer` (a view: no copy). */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer as ArrayBuffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
