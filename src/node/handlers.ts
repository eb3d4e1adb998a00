/**
 * The callback-style server handler: `serve({ open, message, close })`, as
 * uWebSockets.js and Bun have it, next to the `async (ws) => { for await
 * ... }` handler.
 *
 * Why a second style: an async handler is a suspended function, a pending
 * `recv()` promise and an iterator per open connection — memory an idle
 * connection keeps — and a promise (with its `then` lookups and microtask
 * hops) per message. Callbacks are called as the core decodes each message,
 * from the read that brought it: nothing is allocated per message but the
 * message itself, and nothing waits per idle connection.
 *
 * The same guarantees hold: messages come in order; a `message` callback
 * that returns a promise holds the connection's next messages until it
 * settles (backpressure: meanwhile input is decoded no further than the
 * queue takes, then held raw, then the socket stops being read — as for a
 * slow `recv()` reader); a callback that throws (or a promise that rejects)
 * is logged and fails the connection with 1011, as an async handler that
 * throws. `close` comes once, after every message received before the close
 * was handed to `message` — so, like an async handler that never returns, a
 * `message` promise that never settles holds it (and `server.close()`).
 */
import { ConnectionClosed } from "../errors.js";
import type { Connection } from "./connection.js";
import type { ConnectionListener, Data } from "./connection-types.js";

/**
 * Callbacks run for each connection of a server, instead of one async
 * handler (see the module comment): `serve({ open, message, close }, options)`.
 *
 * ```ts
 * const server = await serve({
 *   message(ws, data) {
 *     void ws.send(data); // echo
 *   },
 * }, { port: 8765 });
 * ```
 */
export interface ConnectionHandlers {
  /** The connection is open; called before any `message`. */
  open?(connection: Connection): void;
  /**
   * A message: a string for text, bytes for binary. Return a promise to hold
   * the connection's next messages until it settles (backpressure).
   */
  message(connection: Connection, data: Data): unknown;
  /**
   * The connection is closed and every message was handed to `message`:
   * `code` and `reason` as on `connection.closeCode` / `closeReason` (1006
   * when it ended without a close frame).
   */
  close?(connection: Connection, code: number, reason: string): void;
}

/** What runs the callbacks needs from the server. @internal */
export interface HandlersHost {
  /** A callback failed: log it. */
  handlerError(what: string, err: unknown): void;
  /** The connection's handlers are done (its `close` ran). */
  handlerEnded(): void;
}

/**
 * Run `handlers` for `conn`: `open`, then every message as it is decoded
 * (the connection's listener mode), then `close`.
 * @internal
 */
export function runHandlers(host: HandlersHost, conn: Connection, handlers: ConnectionHandlers): void {
  const listener = new HandlerListener(host, conn, handlers);
  if (handlers.open !== undefined) {
    try {
      handlers.open(conn);
    } catch (err) {
      listener.failed(err);
    }
  }
  conn.listen(listener);
}

/** The connection's listener: hands each message to `handlers.message`. One small object per connection, no closures. */
class HandlerListener implements ConnectionListener {
  private readonly host: HandlersHost;
  private readonly conn: Connection;
  private readonly handlers: ConnectionHandlers;
  /** A callback failed: nothing more is delivered. */
  private dead = false;
  /** `then` callbacks for a `message` that returned a promise, made on first use. */
  private onSettled: (() => void) | null = null;
  private onFailed: ((err: unknown) => void) | null = null;

  constructor(host: HandlersHost, conn: Connection, handlers: ConnectionHandlers) {
    this.host = host;
    this.conn = conn;
    this.handlers = handlers;
  }

  message(data: Data): void {
    if (this.dead) return;
    let result: unknown;
    try {
      result = this.handlers.message(this.conn, data);
    } catch (err) {
      this.failed(err);
      return;
    }
    if (result !== undefined && result !== null && typeof (result as { then?: unknown }).then === "function") {
      // Held until it settles: the next messages wait (backpressure, order).
      this.conn.pauseMessages(true);
      (result as PromiseLike<unknown>).then(
        (this.onSettled ??= () => {
          if (!this.dead) this.conn.pauseMessages(false);
        }),
        (this.onFailed ??= (err: unknown) => this.failed(err)),
      );
    }
  }

  closed(): void {
    const conn = this.conn;
    try {
      this.handlers.close?.(conn, conn.closeCode ?? 1006, conn.closeReason ?? "");
    } catch (err) {
      this.host.handlerError("connection handler (close) failed", err);
    }
    this.host.handlerEnded();
  }

  /**
   * A callback threw: as for an async handler that throws, it is logged and
   * the connection failed with 1011 (§7.4.1 "encountered an unexpected
   * condition") — except for `ConnectionClosed` (a send on a closing
   * connection: the close is on its way). Either way nobody reads any more:
   * what waits is dropped, reading goes on only to complete the close.
   */
  failed(err: unknown): void {
    if (this.dead) return;
    this.dead = true;
    const conn = this.conn;
    if (!(err instanceof ConnectionClosed)) {
      this.host.handlerError("connection handler failed", err);
      if (conn.state === "open") conn.fail(1011, "internal error");
    }
    conn.pauseMessages(false);
    conn.discardReceived();
  }
}
