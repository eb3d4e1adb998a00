/**
 * What identifies a connection and travels with it, apart from the
 * protocol: its id, its addresses, the application's `data`, its logger
 * (with the connection's context), the message counts `server.stats()`
 * sums, and — on a server's connections — its topic subscriptions (the
 * logic is in ./topics.ts). {@link Connection} extends it; it lives apart so
 * that the I/O loop in `connection.ts` stays about I/O.
 *
 * The id, `data` and the logger are made on first use: an idle connection
 * nobody asks about holds none of them. The counts are two integers bumped
 * once per message, nothing more on the hot path.
 */
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { HttpRequest } from "../handshake/http.js";
import type { Connection, Data } from "./connection.js";
import { DEFAULT_LOGGER, connectionLogger, logContext, type ConnectionLogger, type Logger } from "./logging.js";
import { hubOf, type ResumeResult, type TopicHub } from "./topics.js";

/**
 * Application state of one connection (`connection.data`), set where it is
 * learnt — typically in `processRequest`, before the handshake (`basicAuth`
 * puts the authenticated `user` here) — and read by the handler. Add your
 * own keys; to type them, augment this interface:
 *
 * ```ts
 * declare module "wavesock" {
 *   interface ConnectionData { account?: { id: number; name: string } }
 * }
 * ```
 */
export interface ConnectionData {
  /** The authenticated user, as `basicAuth` (or your own `processRequest`) sets it. */
  user?: string;
  [key: string]: unknown;
}

/**
 * The identity and context of a connection: {@link Connection} extends it
 * (see there); `PendingConnection.data` becomes its {@link data}.
 */
export abstract class ConnectionContext {
  /** The underlying socket. */
  abstract readonly socket: Socket;
  /** The opening handshake request. */
  abstract readonly request: HttpRequest;

  private idValue: string | null = null;
  private dataValue: ConnectionData | null = null;
  private loggerValue: ConnectionLogger | null = null;
  /** @internal The `logger` option this connection's logger derives from (set by the server; console's warnings and errors by default). */
  loggerBase: Logger | null = DEFAULT_LOGGER;
  /** @internal When the connection opened (`performance.now()`), for the close's duration. */
  readonly openedAt: number = performance.now();
  /** @internal Messages received: one increment each, summed by `server.stats()`. */
  messagesIn = 0;
  /** @internal Messages sent (`send`, `broadcast`, `publish`). */
  messagesOut = 0;

  /** A random UUID naming this connection in logs and diagnostics (made on first use). */
  get id(): string {
    return (this.idValue ??= crypto.randomUUID());
  }

  /** The local address of the socket (for a server connection, the address the client reached); undefined on a Unix socket. */
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  /** The local port; undefined on a Unix socket. */
  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /**
   * Application state for this connection: what `processRequest` put on
   * `connection.data` before the handshake (`basicAuth` sets `user`), and
   * whatever the handler adds. An empty object until then.
   */
  get data(): ConnectionData {
    return (this.dataValue ??= {});
  }

  /** @internal Take the `data` that `processRequest` filled. */
  adoptData(data: ConnectionData | null): void {
    if (data !== null) this.dataValue = data;
  }

  /**
   * A logger with this connection's context — `{ id, remoteAddress, path }`
   * (the pathname: no query string) — on every line: `child(context)` of a
   * pino-style `logger` option, or lines prefixed for a console-style one.
   * It logs where the server's `logger` option logs (nowhere for null).
   */
  get logger(): ConnectionLogger {
    return (this.loggerValue ??= connectionLogger(this.loggerBase, logContext(this)));
  }

  // ------------------------------------------------------------------ topics
  // Server connections only; the logic lives in ./topics.ts.

  /** @internal The server's topics (set by the server; null on client connections). */
  topicHub: TopicHub | null = null;

  /** Subscribe to `topic`: `server.publish(topic, ...)` reaches this connection. False if already subscribed. */
  subscribe(topic: string): boolean {
    return hubOf(this).subscribe(self(this), topic);
  }

  /** Stop receiving `topic`. False if not subscribed. */
  unsubscribe(topic: string): boolean {
    return hubOf(this).unsubscribe(self(this), topic);
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return hubOf(this).isSubscribed(self(this), topic);
  }

  /** The topics this connection is subscribed to (a copy). */
  get topics(): string[] {
    return this.topicHub === null ? [] : this.topicHub.topicsOf(self(this));
  }

  /** Publish to every subscriber of `topic`, on every server instance, except this connection. */
  publish(topic: string, message: Data | ArrayBuffer, options?: { compress?: boolean }): void {
    hubOf(this).publish(topic, message, options, self(this));
  }

  /**
   * Subscribe to `topic` (if not yet) and first receive what was published
   * after `lastId` (an id the `topics.envelope` put in a message this client
   * saw; null: the whole history kept), then the live messages — each once,
   * in order. Needs a backplane with history.
   */
  resume(topic: string, lastId: string | null): Promise<ResumeResult> {
    try {
      return hubOf(this).resume(self(this), topic, lastId);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** A context as the connection it is (only {@link Connection} extends it): what the topic hub keeps. */
function self(context: ConnectionContext): Connection {
  return context as unknown as Connection;
}
