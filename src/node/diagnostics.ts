/**
 * Observability: `node:diagnostics_channel` events, and the server's
 * counters (`server.stats()`).
 *
 * Channels (names in {@link diagnosticChannels}; payloads below):
 *
 * | channel                      | when                                                        |
 * |------------------------------|-------------------------------------------------------------|
 * | `wavesock:server:handshake`  | a server's opening handshake ended: answered (101 or a refusal) or not (timeout, reset) |
 * | `wavesock:connection:open`   | a connection opened (server and client side)                |
 * | `wavesock:connection:close`  | a connection's TCP connection closed: codes both ways, who started, duration |
 * | `wavesock:connection:ping`   | a ping sent or received                                     |
 * | `wavesock:connection:pong`   | a pong received, or sent with `pong()`                      |
 * | `wavesock:connection:error`  | a handler threw, a peer broke the protocol, a keepalive timed out, a hook failed |
 *
 * Publishing costs one `hasSubscribers` check when nobody listens, and
 * nothing is published per message. Counters are plain integers: messages
 * are counted on the connection (one increment each way), bytes are the
 * socket's own `bytesRead` / `bytesWritten`; `stats()` sums them when it is
 * called, so nothing on the hot path allocates.
 */
import * as dc from "node:diagnostics_channel";
import type * as net from "node:net";
import type { CloseInfo, ProtocolError } from "../errors.js";
import type { HttpRequest, HttpResponse } from "../handshake/http.js";
import type { Connection } from "./connection.js";
import type { Server } from "./server.js";

/** The names of wavesock's diagnostics channels: `diagnostics_channel.subscribe(diagnosticChannels.open, fn)`. */
export const diagnosticChannels = {
  /** {@link HandshakeDiagnostic}: a server's opening handshake ended. */
  handshake: "wavesock:server:handshake",
  /** {@link OpenDiagnostic}: a connection opened. */
  open: "wavesock:connection:open",
  /** {@link CloseDiagnostic}: a connection closed. */
  close: "wavesock:connection:close",
  /** {@link PingDiagnostic}: a ping went or came. */
  ping: "wavesock:connection:ping",
  /** {@link PingDiagnostic}: a pong came, or was sent with `pong()`. */
  pong: "wavesock:connection:pong",
  /** {@link ErrorDiagnostic}: something failed. */
  error: "wavesock:connection:error",
} as const;

/** Published on `wavesock:server:handshake` when a server's opening handshake ends. */
export interface HandshakeDiagnostic {
  /** The server. */
  readonly server: Server;
  /** The TCP (or TLS, or Unix) socket. */
  readonly socket: net.Socket;
  /** The request; null when none was read whole (malformed, too large, timeout, reset). */
  readonly request: HttpRequest | null;
  /** The answer sent (the 101, or a refusal); null when none was (timeout, reset, the client left). */
  readonly response: HttpResponse | null;
  /** `response.status`, or null. */
  readonly status: number | null;
  /** Milliseconds from the socket's arrival (the `'upgrade'` event with `attach`) to the answer. */
  readonly duration: number;
  /** The new connection after a 101; null otherwise. */
  readonly connection: Connection | null;
}

/** Published on `wavesock:connection:open`. */
export interface OpenDiagnostic {
  /** The connection (its `id`, `request`, `remoteAddress`...). */
  readonly connection: Connection;
  /** Which side this process is. */
  readonly role: "server" | "client";
}

/** Published on `wavesock:connection:close` once the TCP connection is closed. */
export interface CloseDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /** Which side this process is. */
  readonly role: "server" | "client";
  /** `connection.closeCode`: the code that says why (1006 when no close frame came). */
  readonly code: number;
  /** `connection.closeReason`. */
  readonly reason: string;
  /** The close frame this side sent, or null. */
  readonly sent: CloseInfo | null;
  /** The close frame the peer sent, or null. */
  readonly received: CloseInfo | null;
  /** Who started the closing handshake: this side (`"local"`), the peer (`"remote"`), or nobody (`null`: the TCP connection just ended). */
  readonly initiator: "local" | "remote" | null;
  /** Milliseconds the connection was open. */
  readonly duration: number;
  /** The failure that closed it (a peer's protocol violation, a keepalive timeout, a handler's 1011), or null. */
  readonly error: ProtocolError | null;
}

/** Published on `wavesock:connection:ping` and `wavesock:connection:pong`. */
export interface PingDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /** `"out"`: sent by this side; `"in"`: received. */
  readonly direction: "in" | "out";
  /** The payload (a view: copy it to keep it). */
  readonly data: Uint8Array;
}

/** What failed, on `wavesock:connection:error`. */
export type ErrorSource = "handler" | "protocol" | "keepalive" | "processRequest" | "processResponse" | "handshake";

/** Published on `wavesock:connection:error`. */
export interface ErrorDiagnostic {
  /** The connection; null for a failure before it opened (`processRequest`...). */
  readonly connection: Connection | null;
  /** What failed: the handler threw, the peer broke the protocol (close code on the error), a keepalive ping went unanswered, a hook threw. */
  readonly source: ErrorSource;
  /** What was thrown, or the `ProtocolError` the connection failed with. */
  readonly error: unknown;
}

const handshakeChannel = dc.channel(diagnosticChannels.handshake);
const openChannel = dc.channel(diagnosticChannels.open);
const closeChannel = dc.channel(diagnosticChannels.close);
const pingChannel = dc.channel(diagnosticChannels.ping);
const pongChannel = dc.channel(diagnosticChannels.pong);
const errorChannel = dc.channel(diagnosticChannels.error);

/** True when somebody listens for handshakes (the payload is then worth building). */
export function watchingHandshakes(): boolean {
  return handshakeChannel.hasSubscribers;
}

/** Publish a handshake's end (call only when {@link watchingHandshakes}). */
export function publishHandshake(event: HandshakeDiagnostic): void {
  handshakeChannel.publish(event);
}

/** Publish a connection's opening. */
export function publishOpen(connection: Connection): void {
  if (openChannel.hasSubscribers) openChannel.publish({ connection, role: connection.core.role } satisfies OpenDiagnostic);
}

/** Publish a connection's end (the connection is closed); a peer's protocol violation also as an error. */
export function publishClose(connection: Connection, now: number): void {
  const core = connection.core;
  const failure = core.failure;
  // WS_ERR_FAILED: failed on purpose by this side (keepalive, a handler's 1011), published where it happened.
  if (failure !== null && failure.code !== "WS_ERR_FAILED") publishError(connection, "protocol", failure);
  if (!closeChannel.hasSubscribers) return;
  const sent = core.closeSent;
  const received = core.closeRcvd;
  const initiator = sent === null && received === null ? null : core.closeRcvdThenSent === true || sent === null ? "remote" : "local";
  const event: CloseDiagnostic = {
    connection,
    role: core.role,
    code: connection.closeCode ?? 1006,
    reason: connection.closeReason ?? "",
    sent,
    received,
    initiator,
    duration: now - connection.openedAt,
    error: core.failure,
  };
  closeChannel.publish(event);
}

/** Publish a ping sent or received. */
export function publishPing(connection: Connection, direction: "in" | "out", data: Uint8Array): void {
  if (pingChannel.hasSubscribers) pingChannel.publish({ connection, direction, data } satisfies PingDiagnostic);
}

/** Publish a pong sent or received. */
export function publishPong(connection: Connection, direction: "in" | "out", data: Uint8Array): void {
  if (pongChannel.hasSubscribers) pongChannel.publish({ connection, direction, data } satisfies PingDiagnostic);
}

/** Publish a failure. */
export function publishError(connection: Connection | null, source: ErrorSource, error: unknown): void {
  if (errorChannel.hasSubscribers) errorChannel.publish({ connection, source, error } satisfies ErrorDiagnostic);
}

// ---------------------------------------------------------------- counters

/** A server's counters, as `server.stats()` returns them: one plain object, safe to serialise. */
export interface ServerStats {
  /** WebSocket connections open now. */
  connections: number;
  /** Connections opened since the server started (101 sent). */
  connectionsOpened: number;
  /** Opening handshakes: answered 101, refused (by HTTP status: `{ 404: 2, 401: 1 }`), and ended without an answer (timeout, reset). */
  handshakes: { accepted: number; refused: Record<number, number>; unanswered: number };
  /** Messages received, over every connection (open and closed). */
  messagesIn: number;
  /** Messages sent (with `send`, `broadcast`, `publish`), over every connection. */
  messagesOut: number;
  /** Bytes read from the sockets of WebSocket connections (frames, plus the handshake), as Node counts them. */
  bytesIn: number;
  /** Bytes written to those sockets. */
  bytesOut: number;
  /** Closed connections by close code (`connection.closeCode`: 1006 when no close frame came): `{ 1000: 5, 1001: 2 }`. */
  closes: Record<number, number>;
}

/** The counters behind `server.stats()`: integers bumped per handshake and per close; messages and bytes summed on read. */
export class ServerCounters {
  private opened = 0;
  private accepted = 0;
  private unanswered = 0;
  private readonly refused = new Map<number, number>();
  private readonly closes = new Map<number, number>();
  // Totals of the connections that closed.
  private messagesIn = 0;
  private messagesOut = 0;
  private bytesIn = 0;
  private bytesOut = 0;

  /** A handshake was answered with `status`. */
  answered(status: number): void {
    if (status === 101) {
      this.accepted++;
      this.opened++;
    } else {
      this.refused.set(status, (this.refused.get(status) ?? 0) + 1);
    }
  }

  /** A handshake ended without an answer. */
  dropped(): void {
    this.unanswered++;
  }

  /** A connection closed: fold its counts into the totals. */
  closed(conn: Connection): void {
    const code = conn.closeCode ?? 1006;
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
    this.messagesIn += conn.messagesIn;
    this.messagesOut += conn.messagesOut;
    this.bytesIn += conn.socket.bytesRead;
    this.bytesOut += conn.socket.bytesWritten;
  }

  /** The counters now, with the open connections' counts added. */
  snapshot(open: Iterable<Connection>): ServerStats {
    let n = 0;
    let messagesIn = this.messagesIn;
    let messagesOut = this.messagesOut;
    let bytesIn = this.bytesIn;
    let bytesOut = this.bytesOut;
    for (const conn of open) {
      n++;
      messagesIn += conn.messagesIn;
      messagesOut += conn.messagesOut;
      bytesIn += conn.socket.bytesRead;
      bytesOut += conn.socket.bytesWritten;
    }
    return {
      connections: n,
      connectionsOpened: this.opened,
      handshakes: { accepted: this.accepted, refused: Object.fromEntries(this.refused), unanswered: this.unanswered },
      messagesIn,
      messagesOut,
      bytesIn,
      bytesOut,
      closes: Object.fromEntries(this.closes),
    };
  }
}
