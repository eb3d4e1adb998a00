/**
 * The I/O side of a {@link Connection}: the socket's reading (and when it
 * stops), writing (one flush per turn of the event loop, backpressure), and
 * the end of the TCP connection (the close timer). What the bytes mean is
 * the connection's business: it owns a {@link SocketIO} and hears of the
 * socket through the {@link SocketHost} interface.
 *
 * - Reading stops for two reasons, each its own flag: input held past the
 *   read-ahead bound (`setInputPaused`, decided by the connection) and a
 *   write buffer over the high water mark (decided here, until it drains to
 *   the low water mark). The socket is touched only when the pair changes.
 * - Writing: everything written in one turn of the event loop goes out in
 *   one `writev` (the socket is corked on the first write of a turn and
 *   uncorked on the next tick). Senders held by the high water mark are
 *   woken by the callbacks of the writes that filled the buffer — no
 *   'drain' listener.
 * - The close timer (a close in progress) keeps the event loop alive: a
 *   peer that never closes its side is dropped after `closeTimeout`.
 */
import type { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import type { ConnectionOptions } from "./connection-types.js";

/** What a {@link SocketIO} tells its connection. */
export interface SocketHost {
  /** Bytes from the socket. */
  receive(chunk: Uint8Array): void;
  /** The peer ended its side. */
  receiveEof(): void;
  /** The socket closed: settle everything that waits. */
  socketClosed(): void;
  /** The error a writer waiting on a closed connection gets. */
  closedError(): unknown;
}

type Waiter = { resolve: () => void; reject: (err: unknown) => void };

const RESOLVED: Promise<void> = Promise.resolve();

/** A socket's reading, writing and closing, for the connection that gives the bytes a meaning (see the module comment). */
export class SocketIO {
  /** The underlying socket. */
  readonly socket: Socket;
  /** `write` callers wait while more bytes than this wait to be written. */
  readonly writeHigh: number;
  /** ...until the buffer drains to this many. */
  readonly writeLow: number;
  private readonly host: SocketHost;
  private readonly closeTimeoutMs: number;
  private drainWaiters: Waiter[] = [];
  /** The socket stopped being read: input held past the read-ahead bound. */
  private pausedForInput = false;
  /** The socket stopped being read: the write buffer is over the high water mark. */
  private pausedForWrite = false;
  private corked = false;
  private closeTimer: NodeJS.Timeout | null = null;
  /** The socket's first error (the cause of a 1006). */
  socketError: Error | null = null;
  /** The socket is closed (set by the host once it settled what waits). */
  finished = false;

  constructor(socket: Socket, host: SocketHost, options: ConnectionOptions) {
    this.socket = socket;
    this.host = host;
    this.writeHigh = options.writeHighWaterMark ?? 64 * 1024;
    this.writeLow = options.writeLowWaterMark ?? Math.floor(this.writeHigh / 4);
    this.closeTimeoutMs = options.closeTimeout ?? 10_000;
    this.onWritten = this.onWritten.bind(this);

    socket.on("data", (chunk: Buffer) => host.receive(chunk));
    socket.on("end", () => host.receiveEof());
    socket.on("error", (err) => {
      this.socketError ??= err;
    });
    socket.on("close", () => host.socketClosed());
  }

  /** Bytes waiting to be written. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  // ----------------------------------------------------------------- reading

  /**
   * Stop (true) or restart reading because of held input; with the write
   * buffer's state (re-read here), the socket is paused while either says so.
   */
  setInputPaused(inputFull: boolean): void {
    const buffered = this.socket.writableLength;
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

  /** Write `bufs` in order; what is written in one turn goes out in one `writev`. */
  write(bufs: Uint8Array[]): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    if (!this.corked && bufs.length > 0) {
      this.corked = true;
      s.cork();
      process.nextTick(uncork, this);
    }
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      if (s.writableLength + b.length > this.writeLow) s.write(b, this.onWritten);
      else s.write(b);
    }
  }

  /** Ends the cork started by `write`. */
  uncorkNow(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** A promise that resolves once the write buffer is under the high water mark. */
  writable(): Promise<void> {
    if (this.socket.writableLength <= this.writeHigh) return RESOLVED;
    if (this.finished) return Promise.reject(this.host.closedError());
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  private onWritten(): void {
    if (this.socket.writableLength > this.writeLow) return;
    if (this.drainWaiters.length !== 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w.resolve();
    }
    if (this.pausedForWrite) {
      this.pausedForWrite = false;
      this.applyReading();
    }
  }

  /** Writers still waiting for the buffer to drain. */
  get drainWaiting(): number {
    return this.drainWaiters.length;
  }

  /** The connection closed: every waiting writer fails with `err`. */
  rejectDrainWaiters(err: unknown): void {
    for (const w of this.drainWaiters.splice(0)) w.reject(err);
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
      if (this.corked) this.uncorkNow();
      s.end();
    }
    // The peer should now close its side; if it doesn't, drop the connection.
    this.startCloseTimer();
  }
}

function uncork(io: SocketIO): void {
  io.uncorkNow();
}
