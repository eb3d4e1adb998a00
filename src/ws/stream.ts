/**
 * `createWebSocketStream(ws, options)`: a `Duplex` over a `ws`-API
 * `WebSocket`, with `ws`'s semantics. Readable: each message is a chunk (a
 * `Buffer`; a string for text in `readableObjectMode`), and a full readable
 * buffer pauses the WebSocket (backpressure) until `read()` asks again;
 * the end is the WebSocket's `'close'`. Writable: each chunk is a message,
 * the callback comes once it is written (waiting for `'open'` while
 * connecting); `end()` starts the closing handshake and finishes once our
 * side of the TCP connection is ended (half-close). A WebSocket error
 * destroys the stream with it; destroying the stream terminates the
 * WebSocket.
 */
import { Duplex, type DuplexOptions } from "node:stream";
import type { WebSocket } from "./websocket.js";

/**
 * A `Duplex` stream over `ws` (see the module comment). `options` go to the
 * `Duplex` constructor; `objectMode` / `writableObjectMode` are forced off
 * (the writable side takes bytes and strings), `readableObjectMode` makes
 * text messages strings.
 */
export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;
  const duplex = new Duplex({ ...options, autoDestroy: false, emitClose: false, objectMode: false, writableObjectMode: false });

  ws.on("message", (message: Buffer, isBinary: boolean) => {
    const chunk = !isBinary && duplex.readableObjectMode ? message.toString() : message;
    if (!duplex.push(chunk)) ws.pause();
  });
  ws.once("error", (err: Error) => {
    if (duplex.destroyed) return;
    // The WebSocket is failing already: no terminate() on top.
    terminateOnDestroy = false;
    duplex.destroy(err);
  });
  ws.once("close", () => {
    if (duplex.destroyed) return;
    duplex.push(null);
  });

  duplex._destroy = (err, callback) => {
    if (ws.readyState === ws.CLOSED) {
      callback(err);
      process.nextTick(emitClose, duplex);
      return;
    }
    let called = false;
    ws.once("error", (e: Error) => {
      called = true;
      callback(e);
    });
    ws.once("close", () => {
      if (!called) callback(err);
      process.nextTick(emitClose, duplex);
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once("open", () => duplex._final(callback));
      return;
    }
    const socket = ws._socket;
    // The handshake failed: 'error' destroys the stream.
    if (socket === null) return;
    if (socket.writableFinished) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
    } else {
      socket.once("finish", () => callback());
      ws.close();
    }
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk: Buffer | string, _encoding, callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once("open", () => duplex._write(chunk, _encoding, callback));
      return;
    }
    ws.send(chunk, callback);
  };

  duplex.on("end", function onEnd(this: Duplex) {
    if (!this.destroyed && this.writableFinished) this.destroy();
  });
  duplex.on("error", function onError(this: Duplex, err: Error) {
    this.removeListener("error", onError);
    this.destroy();
    // Re-emitted only when nobody else listens: the default, an uncaught error.
    if (this.listenerCount("error") === 0) this.emit("error", err);
  });
  return duplex;
}

function emitClose(stream: Duplex): void {
  stream.emit("close");
}
