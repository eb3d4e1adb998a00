/**
 * A socket in its opening handshake, on the server side: reads the request
 * head (bounded), drops the socket when `openTimeout` passes first, gives
 * `processRequest` / `processResponse` their {@link PendingConnection}, and
 * knows whether the handshake was answered — a socket that closes before an
 * answer is reported to the server (counted, and published on the
 * diagnostics channel) exactly once.
 *
 * An object rather than closures, so that everything it holds is released
 * by {@link PendingHandshake.detach} once the connection is open.
 */
import type { Buffer } from "node:buffer";
import type * as net from "node:net";
import { performance } from "node:perf_hooks";
import { RequestHeadParser, type HeadLimits, type HttpRequest, type HttpResponse } from "../handshake/http.js";
import { rejectResponse } from "../handshake/server.js";
import type { ConnectionData } from "./connection-context.js";

/** What `processRequest` and `processResponse` see of a connection that is not open yet. */
export interface PendingConnection {
  /** The peer's address (undefined on a Unix socket). */
  readonly remoteAddress: string | undefined;
  /** The peer's port. */
  readonly remotePort: number | undefined;
  /** The raw socket (read-only use: the server owns it). */
  readonly socket: net.Socket;
  /**
   * Application state that becomes `connection.data` once the connection
   * opens: put what `processRequest` learnt here (`basicAuth` sets `user`).
   */
  readonly data: ConnectionData;
  /**
   * Build a plain-text HTTP response, e.g. `respond(404, "Not Found\n")`.
   * Throws `RangeError` for a status outside 200–599 and `TypeError` for a
   * header that cannot be sent (inside `processRequest`, that is a 500).
   */
  respond(status: number, text?: string, headers?: Record<string, string | number>): HttpResponse;
}

/** What a pending handshake needs of its server. */
export interface HandshakeOwner {
  /** Sockets still in their opening handshake. */
  readonly pendingSockets: Set<net.Socket>;
  /** The request head could not be read: answer with the error's status. */
  rejectHandshake(pending: PendingHandshake, err: unknown): void;
  /** The request head is in. */
  upgrade(pending: PendingHandshake, request: HttpRequest, rest: Uint8Array): Promise<void>;
  /** The socket closed before any answer (timeout, reset, the client left). */
  handshakeDropped(pending: PendingHandshake): void;
}

/** See the module comment. */
export class PendingHandshake {
  readonly socket: net.Socket;
  /** When the socket arrived (`performance.now()`). */
  readonly startedAt = performance.now();
  /** The request, once read. */
  request: HttpRequest | null = null;
  private readonly owner: HandshakeOwner;
  private parser: RequestHeadParser | null;
  private timer: NodeJS.Timeout | null;
  private answered = false;
  private view: PendingConnection | null = null;
  private dataValue: ConnectionData | null = null;

  constructor(owner: HandshakeOwner, socket: net.Socket, limits: HeadLimits | undefined, openTimeout: number, read = true) {
    this.owner = owner;
    this.socket = socket;
    this.parser = read ? new RequestHeadParser(limits) : null;
    this.onData = this.onData.bind(this);
    this.onClose = this.onClose.bind(this);
    this.timer = setTimeout(() => socket.destroy(), openTimeout);
    this.timer.unref();
    owner.pendingSockets.add(socket);
    if (read) socket.on("data", this.onData);
    socket.on("error", destroySocket);
    socket.once("close", this.onClose);
  }

  /** The `data` that `processRequest` filled, or null if it was never touched. */
  get data(): ConnectionData | null {
    return this.dataValue;
  }

  /** What `processRequest` / `processResponse` see (made once, on first use). */
  connection(): PendingConnection {
    if (this.view !== null) return this.view;
    const socket = this.socket;
    const self = this;
    this.view = {
      // Getters: reading the peer's address is a system call, made only if asked.
      get remoteAddress() {
        return socket.remoteAddress;
      },
      get remotePort() {
        return socket.remotePort;
      },
      get data() {
        return (self.dataValue ??= {});
      },
      socket,
      respond: rejectResponse,
    };
    return this.view;
  }

  /** Mark the handshake answered (101 or a refusal): true the first time. */
  settle(): boolean {
    if (this.answered) return false;
    this.answered = true;
    return true;
  }

  private onData(chunk: Buffer): void {
    let request: HttpRequest | null;
    try {
      request = this.parser!.push(chunk);
    } catch (err) {
      this.socket.off("data", this.onData);
      this.owner.rejectHandshake(this, err);
      return;
    }
    if (request === null) return;
    this.socket.off("data", this.onData);
    this.socket.pause();
    this.request = request;
    void this.owner.upgrade(this, request, this.parser!.rest);
  }

  private onClose(): void {
    this.detach();
    if (this.settle()) this.owner.handshakeDropped(this);
  }

  /** Stop handling the socket as a pending handshake (it is open, refused or closed). */
  detach(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.parser = null;
    this.owner.pendingSockets.delete(this.socket);
    this.socket.off("data", this.onData);
    this.socket.off("error", destroySocket);
    this.socket.off("close", this.onClose);
  }
}

function destroySocket(this: net.Socket): void {
  this.destroy();
}
