/**
 * A connection's pings: the pings waiting for their pong (`ping()` resolves
 * with the round-trip time), and keepalive — a ping every `pingInterval`,
 * failing the connection with 1011 when its pong does not come within
 * `pingTimeout`. One object per connection; the keepalive timer is unref()ed
 * (an idle connection does not keep the process alive).
 */
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import { InvalidState } from "../errors.js";
import type { Connection } from "./connection.js";
import { publishError, publishPing } from "./diagnostics.js";

type PingWaiter = { resolve: (rtt: number) => void; reject: (err: unknown) => void; sentAt: number };

/**
 * The pings of one {@link Connection}; see the module comment.
 * @internal
 */
export class Heartbeat {
  /** Round-trip time of the last ping answered, in milliseconds (0 before any). */
  latency = 0;
  private readonly conn: Connection;
  private readonly interval: number | null;
  private readonly timeout: number | null;
  /** Pings waiting for their pong, by payload (latin1), in the order sent; made on first use. */
  private waiters: Map<string, PingWaiter> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(conn: Connection, interval: number | null, timeout: number | null) {
    this.conn = conn;
    this.interval = interval;
    this.timeout = timeout;
  }

  /** Pings waiting for their pong. */
  get waiting(): number {
    return this.waiters?.size ?? 0;
  }

  /** Send a ping with `payload` (checked by the caller); resolves with the RTT when its pong arrives. */
  ping(payload: Uint8Array): Promise<number> {
    const key = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString("latin1");
    const waiters = (this.waiters ??= new Map());
    if (waiters.has(key)) return Promise.reject(new InvalidState("already waiting for a pong with the same data"));
    const conn = this.conn;
    try {
      conn.core.sendPing(payload);
    } catch (err) {
      return Promise.reject(conn.sendError(err));
    }
    publishPing(conn, "out", payload);
    conn.flushOutput();
    return new Promise((resolve, reject) => waiters.set(key, { resolve, reject, sentAt: performance.now() }));
  }

  /** A pong arrived: settle its ping and every earlier one (pings are answered in order). */
  onPong(data: Uint8Array): void {
    const waiters = this.waiters;
    if (waiters === null) return;
    const key = Buffer.from(data.buffer, data.byteOffset, data.length).toString("latin1");
    if (!waiters.has(key)) return; // unsolicited pong: ignored (§5.5.3)
    const now = performance.now();
    for (const [k, w] of waiters) {
      waiters.delete(k);
      const rtt = now - w.sentAt;
      w.resolve(rtt);
      if (k === key) {
        this.latency = rtt;
        break;
      }
    }
  }

  /** Arm the keepalive timer (no-op when keepalive is off or the connection ended). */
  schedule(): void {
    if (this.interval === null || this.stopped) return;
    this.timer = setTimeout(() => void this.keepalive(), this.interval);
    this.timer.unref();
  }

  /** The connection ended: no more keepalive; every waiting ping fails with `err`. */
  stop(err: () => unknown): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const waiters = this.waiters;
    if (waiters !== null && waiters.size > 0) {
      const error = err();
      for (const w of waiters.values()) w.reject(error);
      waiters.clear();
    }
  }

  private async keepalive(): Promise<void> {
    const conn = this.conn;
    if (conn.core.state !== "open") return;
    const pong = this.ping(crypto.getRandomValues(Buffer.allocUnsafe(4))).then(
      () => true,
      () => false,
    );
    if (this.timeout !== null) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.timeout!);
        timer.unref();
      });
      const ok = await Promise.race([pong, timeout]);
      clearTimeout(timer);
      if (!ok) {
        if (conn.core.state === "open") {
          conn.fail(1011, "keepalive ping timeout");
          publishError(conn, "keepalive", conn.core.failure);
        }
        return;
      }
    } else if (!(await pong)) {
      return;
    }
    this.schedule();
  }
}
