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
import { Buffer } from "node:buffer";
import type * as net from "node:net";
import { performance } from "node:perf_hooks";
import { RequestHeadParser, type HeadLimits, type HttpRequest, type HttpResponse } from "../handshake/http.js";
import { rejectResponse } from "../handshake/server.js";
import type { ConnectionData } from "./connection-context.js";
import { readIntoSharedBuffer } from "./read-buffer.js";

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
    this.timer = setTimeout(destroySocket.bind(socket), openTimeout);
    this.timer.unref();
    owner.pendingSockets.add(socket);
    // Listeners shared by every socket, finding this object on the socket.
    (socket as PendingSocket)[kPending] = this;
    // The request is read like the messages later: into the shared read
    // buffer where Node allows it (./read-buffer.ts), else as 'data' events.
    if (read && !readIntoSharedBuffer(socket, onHandshakeRead)) socket.on("data", onHandshakeData);
    socket.on("error", destroySocket);
    socket.on("close", onHandshakeClose);
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

  /** @internal Bytes of the request; `borrowed`: a view of the shared read buffer, valid during the call. */
  onBytes(chunk: Uint8Array, borrowed: boolean): void {
    const parser = this.parser;
    if (parser === null) return; // answered already: what follows is not read
    let request: HttpRequest | null;
    try {
      request = parser.push(chunk);
    } catch (err) {
      this.stopReading();
      this.owner.rejectHandshake(this, err);
      return;
    }
    if (request === null) return;
    let rest = parser.rest;
    if (borrowed && rest.length > 0) rest = Buffer.from(rest);
    this.stopReading();
    this.socket.pause();
    this.request = request;
    void this.owner.upgrade(this, request, rest);
  }

  /** @internal The socket closed. */
  onClose(): void {
    this.detach();
    if (this.settle()) this.owner.handshakeDropped(this);
  }

  private stopReading(): void {
    this.parser = null;
    this.socket.off("data", onHandshakeData);
  }

  /** Stop handling the socket as a pending handshake (it is open, refused or closed). */
  detach(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.parser = null;
    const socket = this.socket;
    (socket as PendingSocket)[kPending] = null;
    this.owner.pendingSockets.delete(socket);
    socket.off("data", onHandshakeData);
    socket.off("error", destroySocket);
    socket.off("close", onHandshakeClose);
  }
}

const kPending = Symbol("wavesock.pending");
type PendingSocket = net.Socket & { [kPending]: PendingHandshake | null };

function onHandshakeRead(this: net.Socket, chunk: Uint8Array): void {
  (this as PendingSocket)[kPending]?.onBytes(chunk, true);
}
function onHandshakeData(this: net.Socket, chunk: Buffer): void {
  (this as PendingSocket)[kPending]?.onBytes(chunk, false);
}
function onHandshakeClose(this: net.Socket): void {
  (this as PendingSocket)[kPending]?.onClose();
}

function destroySocket(this: net.Socket): void {
  this.destroy();
}
