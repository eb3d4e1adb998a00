/**
 * Sharing one HTTP server's `'upgrade'` event between WebSocket endpoints:
 * several `attach()`ed wavesock servers (each with its `path` or
 * `shouldHandle`), and other libraries' listeners (a `ws` `noServer`
 * endpoint for hot reload, a proxy...).
 *
 * Every `attach()` on one HTTP server registers its endpoint with a single
 * dispatcher, the only `'upgrade'` listener wavesock installs there. For
 * each upgrade request the dispatcher:
 *
 * 1. leaves the socket alone if an earlier listener has already answered it
 *    (it was written to, ended or destroyed);
 * 2. hands it to the first endpoint, in `attach()` order, whose `path` and
 *    `shouldHandle` accept the request;
 * 3. otherwise, when no other `'upgrade'` listener exists, refuses it at once
 *    with 404 — what Node itself does with an upgrade nobody listens for is
 *    to destroy the socket, and a 404 says why;
 * 4. otherwise leaves it to the other listeners, and refuses it with 404
 *    only if none of them has touched it (written to it, ended, destroyed
 *    it, or added a listener to it) once the endpoints' longest
 *    `openTimeout` has passed — the same bound as for our own handshakes, and
 *    long enough for a listener that decides asynchronously (an auth check).
 *
 * A request is thus refused at most once, and never after another endpoint
 * answered it.
 */
import type { Buffer } from "node:buffer";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type * as net from "node:net";
import { rejectResponse } from "../handshake/server.js";
import { serializeResponse } from "../handshake/http.js";

/** What the dispatcher needs of an attached server. */
export interface UpgradeEndpoint {
  /** True when this endpoint takes the request (its `path` and `shouldHandle`). */
  shouldHandle(request: IncomingMessage): boolean;
  /** Take the request (already matched). */
  takeUpgrade(request: IncomingMessage, socket: net.Socket, head: Buffer): void;
  /** How long an unclaimed request may wait for another listener. */
  readonly unclaimedTimeout: number;
}

/** Socket events whose listeners show that somebody took the socket. */
const WATCHED = ["data", "readable", "error", "close", "end", "finish", "timeout"] as const;

const dispatchers = new WeakMap<HttpServer, UpgradeDispatcher>();

/** Register `endpoint` for the upgrade requests of `httpServer`. */
export function addUpgradeEndpoint(httpServer: HttpServer, endpoint: UpgradeEndpoint): void {
  let d = dispatchers.get(httpServer);
  if (d === undefined) {
    d = new UpgradeDispatcher(httpServer);
    dispatchers.set(httpServer, d);
  }
  d.endpoints.push(endpoint);
}

/** True when somebody answered the socket already: nothing else may write to it. */
export function socketAnswered(socket: net.Socket): boolean {
  return socket.destroyed || socket.writableEnded || socket.bytesWritten > 0 || socket.writableLength > 0;
}

class UpgradeDispatcher {
  readonly endpoints: UpgradeEndpoint[] = [];
  private readonly httpServer: HttpServer;

  constructor(httpServer: HttpServer) {
    this.httpServer = httpServer;
    httpServer.on("upgrade", (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
      try {
        this.onUpgrade(req, socket, head);
      } catch {
        // Never out of an event listener of the HTTP server: that would crash the process.
        socket.destroy();
      }
    });
  }

  private onUpgrade(req: IncomingMessage, socket: net.Socket, head: Buffer): void {
    // An 'upgrade' listener registered before ours answered it.
    if (socketAnswered(socket)) return;
    for (const endpoint of this.endpoints) {
      if (endpoint.shouldHandle(req)) {
        endpoint.takeUpgrade(req, socket, head);
        return;
      }
    }
    if (this.httpServer.listenerCount("upgrade") <= 1) {
      refuseUnclaimed(socket);
      return;
    }
    const timeout = Math.max(...this.endpoints.map((e) => e.unclaimedTimeout));
    new UnclaimedSocket(socket, timeout);
  }
}

/**
 * A socket no wavesock endpoint takes, left to the other `'upgrade'`
 * listeners: refused if still untouched when `timeout` passes. Meanwhile an
 * `'error'` listener keeps a reset from crashing the process (Node removes
 * its own before emitting `'upgrade'`).
 */
class UnclaimedSocket {
  private readonly socket: net.Socket;
  private readonly counts: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(socket: net.Socket, timeout: number) {
    this.socket = socket;
    this.onError = this.onError.bind(this);
    this.onClose = this.onClose.bind(this);
    socket.on("error", this.onError);
    socket.once("close", this.onClose);
    this.counts = WATCHED.map((e) => socket.listenerCount(e));
    this.timer = setTimeout(() => this.decide(), timeout);
    this.timer.unref();
    // Most listeners take their sockets synchronously: let go of those early.
    setImmediate(() => {
      if (this.touched()) this.release();
    });
  }

  private onError(): void {
    // Nothing to do: the socket closes itself after an error (autoDestroy).
  }

  private onClose(): void {
    this.release();
  }

  private touched(): boolean {
    const s = this.socket;
    return socketAnswered(s) || WATCHED.some((e, i) => s.listenerCount(e) > this.counts[i]!);
  }

  private decide(): void {
    const untouched = !this.touched();
    this.release();
    if (untouched) refuseUnclaimed(this.socket);
  }

  private release(): void {
    clearTimeout(this.timer);
    this.socket.off("error", this.onError);
    this.socket.off("close", this.onClose);
  }
}

const NOT_FOUND = serializeResponse(rejectResponse(404, "Not Found: no WebSocket endpoint for this request.\n"));

/** Answer an upgrade request that no endpoint takes: 404 and close. */
function refuseUnclaimed(socket: net.Socket): void {
  if (socketAnswered(socket)) return;
  socket.on("error", () => socket.destroy());
  socket.end(NOT_FOUND);
}
