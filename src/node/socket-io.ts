/**
 * The I/O side of a {@link Connection}: the socket's reading (and when it
 * stops), writing (one flush per turn of the event loop, backpressure), and
 * the end of the TCP connection (the close timer). What the bytes mean is
 * the connection's business: it owns a {@link SocketIO} and hears of the
 * socket through the {@link SocketHost} interface.
 *
 * - Reading: into one buffer shared by every connection (./read-buffer.ts),
 *   where Node allows it; the core copies out what it keeps.
 * - Reading stops for two reasons, each its own flag: input held past the
 *   read-ahead bound (`setInputPaused`, decided by the connection) and a
 *   write buffer over the high water mark (decided here, until it drains to
 *   the low water mark). The socket is touched only when the pair changes.
 * - Writing: what the core queues during one turn of the event loop is
 *   taken and written once, on the next tick — one tick for every
 *   connection that has something to write, not one per connection. Small
 *   frames already lie next to each other in the core's output arena, and
 *   whatever is left in pieces is copied into one buffer while small (one
 *   `write`, one syscall); large payloads go out with their headers in one
 *   `writev`. Bytes queued and not written yet count as buffered: `send`
 *   waits on them like on the socket's own buffer. Senders held by the high
 *   water mark are woken when a flush leaves the buffer under the low water
 *   mark, or by the callbacks of the writes that filled it — no 'drain'
 *   listener.
 * - The close timer (a close in progress) keeps the event loop alive: a
 *   peer that never closes its side is dropped after `closeTimeout`.
 */
import { Buffer } from "node:buffer";
import { Socket } from "node:net";
import type { Protocol } from "../connection/protocol.js";
import type { ConnectionOptions } from "./connection-types.js";
import { readIntoSharedBuffer } from "./read-buffer.js";

/** What a {@link SocketIO} tells its connection. */
export interface SocketHost {
  /** Bytes from the socket; `borrowed`: a view of the shared read buffer, valid until the call returns. */
  receive(chunk: Uint8Array, borrowed: boolean): void;
  /** The peer ended its side. */
  receiveEof(): void;
  /** The socket closed: settle everything that waits. */
  socketClosed(): void;
  /** The error a writer waiting on a closed connection gets. */
  closedError(): unknown;
}

type Waiter = { resolve: () => void; reject: (err: unknown) => void };

/** The socket's SocketIO: the socket's listeners are shared functions (no closures per connection) that find it here. */
const kIO = Symbol("wavesock.io");
type OwnedSocket = Socket & { [kIO]: SocketIO };

function onSharedRead(this: Socket, chunk: Uint8Array): void {
  (this as OwnedSocket)[kIO].host.receive(chunk, true);
}
function onData(this: Socket, chunk: Buffer): void {
  (this as OwnedSocket)[kIO].host.receive(chunk, false);
}
function onEnd(this: Socket): void {
  (this as OwnedSocket)[kIO].host.receiveEof();
}
function onError(this: Socket, err: Error): void {
  (this as OwnedSocket)[kIO].socketError ??= err;
}
function onClose(this: Socket): void {
  (this as OwnedSocket)[kIO].host.socketClosed();
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Pieces written in one flush are copied into one buffer while they add up
 * to less than this many bytes; beyond, they go out in one `writev` as they
 * are. Below it the buffer comes from Node's pool (`Buffer.allocUnsafe`
 * takes smaller sizes from a shared 8 KiB slab): one copy of a few small
 * frames costs less than a `writev` entry each. Above it each flush would
 * allocate a fresh ArrayBuffer, which measured slower than the `writev`
 * (broadcast of 4 KiB messages: +12 % CPU per delivery with a 16 KiB limit,
 * +56 % with 64 KiB).
 */
export const COALESCE_LIMIT = 4096;

// The connections with something to write this turn, flushed by one tick.
const dirty: SocketIO[] = [];
let tickScheduled = false;

function flushDirty(): void {
  tickScheduled = false;
  // Index loop: a flush may queue another connection (it is flushed here too).
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flushNow();
  dirty.length = 0;
}

/** A socket's reading, writing and closing, for the connection that gives the bytes a meaning (see the module comment). */
export class SocketIO {
  /** The underlying socket. */
  readonly socket: Socket;
  /** `write` callers wait while more bytes than this wait to be written. */
  readonly writeHigh: number;
  /** ...until the buffer drains to this many. */
  readonly writeLow: number;
  /** @internal The connection (read by the socket's shared listeners). */
  readonly host: SocketHost;
  private readonly core: Protocol;
  private readonly closeTimeoutMs: number;
  /** Senders waiting for the buffer to drain (made on first use). */
  private drainWaiters: Waiter[] | null = null;
  /** The socket stopped being read: input held past the read-ahead bound. */
  private pausedForInput = false;
  /** The socket stopped being read: the write buffer is over the high water mark. */
  private pausedForWrite = false;
  /** Bytes written before the core's output (the 101 response), not flushed yet. */
  private raw: Uint8Array[] | null = null;
  private rawBytes = 0;
  /** The callback of writes that may leave the buffer over the low mark (made on first use). */
  private onWritten: (() => void) | null = null;
  /** This connection is on the `dirty` list. */
  private flushQueued = false;
  /**
   * A plain TCP (or Unix) socket, whose writes either complete at once or
   * stay counted in `writableLength`: when that is 0 after a flush, nothing
   * holds the bytes written and the core may reuse them (output.ts). Not
   * for TLS, or another Duplex, which may keep a view of what was written.
   */
  private readonly releasesOutput: boolean;
  private closeTimer: NodeJS.Timeout | null = null;
  /** The socket's first error (the cause of a 1006). */
  socketError: Error | null = null;
  /** The socket is closed (set by the host once it settled what waits). */
  finished = false;

  constructor(socket: Socket, host: SocketHost, core: Protocol, options: ConnectionOptions) {
    this.socket = socket;
    this.host = host;
    this.core = core;
    this.writeHigh = options.writeHighWaterMark ?? 64 * 1024;
    this.writeLow = options.writeLowWaterMark ?? Math.floor(this.writeHigh / 4);
    this.closeTimeoutMs = options.closeTimeout ?? 10_000;
    (socket as OwnedSocket)[kIO] = this;
    this.releasesOutput = socket instanceof Socket && (socket as { encrypted?: boolean }).encrypted !== true;
    // Reads go into the buffer shared by every connection where Node allows
    // it (./read-buffer.ts), as 'data' events otherwise — and for what the
    // socket's stream holds already (read during the handshake).
    if (!readIntoSharedBuffer(socket, onSharedRead) || socket.readableLength > 0) socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
  }

  /** Bytes waiting to be written: in the socket's buffer, and queued for the next flush. */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.core.bytesToSend + this.rawBytes;
  }

  // ----------------------------------------------------------------- reading

  /**
   * Stop (true) or restart reading because of held input; with the write
   * buffer's state (re-read here), the socket is paused while either says so.
   */
  setInputPaused(inputFull: boolean): void {
    const buffered = this.bufferedAmount;
    const writeFull = buffered > this.writeHigh || (this.pausedForWrite && buffered > this.writeLow);
    if (inputFull === this.pausedForInput && writeFull === this.pausedForWrite) return;
    this.pausedForInput = inputFull;
    this.pausedForWrite = writeFull;
    this.applyReading();
  }

  /** The socket closed: nothing pauses it any more, no timer runs. */
  clearPauses(): void {
    this.pausedForInput = this.pausedForWrite = false;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
  }

  private applyReading(): void {
    const s = this.socket;
    if (this.pausedForInput || this.pausedForWrite) {
      if (!s.isPaused()) s.pause();
    } else if (s.isPaused() && !this.finished) {
      s.resume();
    }
  }

  // ----------------------------------------------------------------- writing

  /** The core has output: it is written on the next tick, with everything else queued in this turn. */
  scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    dirty.push(this);
    if (!tickScheduled) {
      tickScheduled = true;
      process.nextTick(flushDirty);
    }
  }

  /** Bytes that are not frames (the server's 101 response): written at once, before any frame queued after them. */
  writeRaw(bytes: Uint8Array): void {
    const queued = this.core.dataToSend();
    const raw = (this.raw ??= []);
    for (let i = 0; i < queued.length; i++) raw.push(queued[i]!);
    raw.push(bytes);
    this.rawBytes += bytes.length;
    // Now, not on the next tick: the handler that runs next owns the socket,
    // and bytes it writes there itself must not overtake the 101.
    this.flushNow();
  }

  /** Write what is queued now (the tick does it for every connection; ending the socket does it first). */
  flushNow(): void {
    this.flushQueued = false;
    let bufs = this.core.dataToSend();
    if (this.raw !== null) {
      const raw = this.raw;
      for (let i = 0; i < bufs.length; i++) raw.push(bufs[i]!);
      bufs = raw;
      this.raw = null;
      this.rawBytes = 0;
    }
    const n = bufs.length;
    if (n === 0) return;
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    if (n === 1) {
      this.writeOne(bufs[0]!);
    } else {
      let total = 0;
      for (let i = 0; i < n; i++) total += bufs[i]!.length;
      if (total < COALESCE_LIMIT) {
        const one = Buffer.allocUnsafe(total);
        let at = 0;
        for (let i = 0; i < n; i++) {
          const b = bufs[i]!;
          one.set(b, at);
          at += b.length;
        }
        this.writeOne(one);
      } else {
        s.cork();
        for (let i = 0; i < n; i++) this.writeOne(bufs[i]!);
        s.uncork();
      }
    }
    // Written at once, nothing left in the socket's buffer: no view of our bytes is kept.
    if (this.releasesOutput && s.writableLength === 0) this.core.outputReleased();
    this.checkDrained();
  }

  private writeOne(b: Uint8Array): void {
    const s = this.socket;
    // A callback only for the writes that may leave the buffer over the low mark: they wake the waiting senders.
    if (s.writableLength + b.length > this.writeLow) s.write(b, (this.onWritten ??= () => this.checkDrained()));
    else s.write(b);
  }

  /** A promise that resolves once the write buffer is under the high water mark. */
  writable(): Promise<void> {
    if (this.bufferedAmount <= this.writeHigh) return RESOLVED;
    if (this.finished) return Promise.reject(this.host.closedError());
    return new Promise((resolve, reject) => (this.drainWaiters ??= []).push({ resolve, reject }));
  }

  /** After a flush and after the writes that had a callback: wake senders and reading once under the low mark. */
  private checkDrained(): void {
    if (this.drainWaiters === null && !this.pausedForWrite) return;
    if (this.bufferedAmount > this.writeLow) return;
    const waiters = this.drainWaiters;
    if (waiters !== null) {
      this.drainWaiters = null;
      for (const w of waiters) w.resolve();
    }
    if (this.pausedForWrite) {
      this.pausedForWrite = false;
      this.applyReading();
    }
  }

  /** Writers still waiting for the buffer to drain. */
  get drainWaiting(): number {
    return this.drainWaiters?.length ?? 0;
  }

  /** The connection closed: every waiting writer fails with `err`. */
  rejectDrainWaiters(err: unknown): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = null;
    if (waiters !== null) for (const w of waiters) w.reject(err);
  }

  // ----------------------------------------------------------------- closing

  /** A close is under way: drop the socket if it is not closed within `closeTimeout`. */
  startCloseTimer(): void {
    if (this.closeTimer !== null || this.finished) return;
    // Not unref()ed: a close in progress keeps the process alive until it
    // ends (`await ws.close()` / `await server.close()` at the top level).
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.closeTimeoutMs);
  }

  /** End our side of the TCP connection (after what was written), then wait for the peer's. */
  endTransport(): void {
    const s = this.socket;
    if (!s.writableEnded && !s.destroyed) {
      this.flushNow();
      s.end();
    }
    // The peer should now close its side; if it doesn't, drop the connection.
    this.startCloseTimer();
  }
}
