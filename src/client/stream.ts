/**
 * The two socket chores every proxy handshake has: open a TCP connection
 * to the proxy under an `AbortSignal`, then read its answers — a fixed
 * number of bytes (SOCKS) or a head up to a blank line (HTTP) — before
 * handing the socket on with any bytes read past the answer put back.
 */
import { Buffer } from "node:buffer";
import * as net from "node:net";

/** Where and how to open a TCP connection. */
export interface DialOptions {
  host: string;
  port: number;
  localAddress?: string;
  family?: number;
}

/**
 * Open a TCP connection; resolves once connected. Rejects with the socket's
 * error, or with `signal.reason` (destroying the socket) when it aborts.
 */
export function dial(options: DialOptions, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const netOptions: net.TcpNetConnectOpts = { host: options.host, port: options.port };
    if (options.localAddress !== undefined) netOptions.localAddress = options.localAddress;
    if (options.family !== undefined) netOptions.family = options.family;
    const socket = net.connect(netOptions);
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      socket.off("connect", onConnect);
    };
    const onAbort = () => {
      done();
      socket.destroy();
      reject(signal.reason);
    };
    const onError = (err: Error) => {
      done();
      socket.destroy();
      reject(err);
    };
    const onConnect = () => {
      done();
      socket.setNoDelay(true);
      resolve(socket);
    };
    signal.addEventListener("abort", onAbort);
    socket.once("error", onError);
    socket.once("connect", onConnect);
  });
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

/**
 * Reads a connected socket in steps. While it reads, a socket error, an
 * end of stream or the signal rejects the pending read (with `onEnd()` for
 * an end, so that the caller can say whose end it was); {@link release}
 * stops reading and puts unread bytes back into the socket for the next
 * reader (TLS, the WebSocket handshake).
 */
export class StreamReader {
  readonly #socket: net.Socket;
  readonly #signal: AbortSignal;
  readonly #onEnd: () => Error;
  #chunks: Buffer[] = [];
  #length = 0;
  #failure: unknown = null;
  #wake: (() => void) | null = null;

  constructor(socket: net.Socket, signal: AbortSignal, onEnd: () => Error) {
    this.#socket = socket;
    this.#signal = signal;
    this.#onEnd = onEnd;
    socket.on("data", this.#onData);
    socket.on("error", this.#onError);
    socket.on("end", this.#onEndEvent);
    socket.on("close", this.#onEndEvent);
    signal.addEventListener("abort", this.#onAbort);
  }

  readonly #onData = (chunk: Buffer) => {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    this.#notify();
  };
  readonly #onError = (err: Error) => this.#stop(err);
  readonly #onEndEvent = () => this.#stop(this.#onEnd());
  readonly #onAbort = () => this.#stop(this.#signal.reason);

  #stop(failure: unknown): void {
    if (this.#failure === null) this.#failure = failure;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** All buffered bytes as one buffer (kept buffered). */
  #joined(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** Take the first `n` buffered bytes. */
  #take(n: number): Buffer {
    const all = this.#joined();
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return out;
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.#failure !== null) throw this.#failure;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Exactly `n` bytes. */
  async read(n: number): Promise<Buffer> {
    await this.#until(() => this.#length >= n);
    return this.#take(n);
  }

  /**
   * Bytes up to and including the first CRLF CRLF (an HTTP head). Throws
   * what `tooLarge()` returns when `limit` bytes arrive without one.
   */
  async readHead(limit: number, tooLarge: () => Error): Promise<Buffer> {
    let end = -1;
    await this.#until(() => {
      end = this.#length >= 4 ? this.#joined().indexOf(CRLFCRLF) : -1;
      if (end === -1 && this.#length >= limit) throw tooLarge();
      return end !== -1;
    });
    return this.#take(end + 4);
  }

  /**
   * Stop reading; unread bytes go back to the front of the socket's stream
   * (unless `keep` is false: the socket is about to be destroyed).
   */
  release(keep = true): void {
    this.#socket.off("data", this.#onData);
    this.#socket.off("error", this.#onError);
    this.#socket.off("end", this.#onEndEvent);
    this.#socket.off("close", this.#onEndEvent);
    this.#signal.removeEventListener("abort", this.#onAbort);
    // Leave the socket paused, as a socket nobody reads yet is; whoever
    // takes it next resumes it by adding its own 'data' listener.
    this.#socket.pause();
    const rest = this.#length > 0 ? this.#joined() : null;
    this.#chunks = [];
    this.#length = 0;
    if (rest !== null && keep && !this.#socket.destroyed && !this.#socket.readableEnded) this.#socket.unshift(rest);
  }
}
