/**
 * Reconnection: `for await (const ws of connect(uri))` yields a connection,
 * and when the loop asks for the next one (the body finished with the
 * previous connection, usually because it was lost) opens a new one —
 * retrying failed attempts with exponential backoff, as Python
 * `websockets`' `async for websocket in connect(...)` does.
 *
 * RFC 6455 §7.2.3 is the why of the delays: "When a client is to reconnect
 * ... the client SHOULD delay reconnection by a random amount of time ...
 * 0 to 5 seconds is a reasonable initial delay", then "subsequent
 * reconnection attempts SHOULD be delayed by increasingly longer amounts of
 * time, using a method such as truncated binary exponential backoff."
 * The first delay is the jitter: random in [0, initialDelay). The next ones
 * grow from `minDelay` by `factor` up to `maxDelay` — Python's defaults,
 * 5 s, 3.1 s, ×1.618, 90 s. Clients that lost one server together are
 * spread by the first draw and stay spread.
 *
 * The backoff resets when a connection stayed open `resetAfter` (10 s by
 * default): after that, a lost connection is reopened at once. A
 * connection that is lost sooner counts as a failed attempt, so a server
 * that accepts and drops every connection is not hammered in a tight loop
 * (Python resets on every successful handshake and reconnects at once).
 */
import { setTimeout as delayTimer, clearTimeout } from "node:timers";
import { InvalidHandshake, InvalidStatus, isArgumentError } from "../errors.js";
import type { Connection } from "../node/connection.js";
import { ProxyError } from "./exceptions.js";

/** Delays between reconnection attempts, in milliseconds. */
export interface BackoffOptions {
  /** The first retry waits a random time in [0, initialDelay). Default 5000 (RFC 6455 §7.2.3: "0 to 5 seconds"). */
  initialDelay?: number;
  /** The second retry waits this long. Default 3100. */
  minDelay?: number;
  /** Each later retry waits this many times longer than the one before (≥ 1). Default 1.618. */
  factor?: number;
  /** ... up to this. Default 90 000. */
  maxDelay?: number;
  /** A connection that stayed open this long resets the backoff: when it is lost, the next attempt is immediate. Default 10 000. */
  resetAfter?: number;
}

/** The defaults of {@link BackoffOptions}, Python `websockets`' (in milliseconds), and a reset after 10 s. */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialDelay: 5000,
  minDelay: 3100,
  factor: 1.618,
  maxDelay: 90_000,
  resetAfter: 10_000,
});

/** What {@link ProcessException} is told about the failed attempt. */
export interface RetryInfo {
  /** How many attempts in a row have failed, this one included (1 for the first failure). */
  attempt: number;
  /** How long the loop will wait before the next attempt if the error is retried, in milliseconds. */
  delay: number;
}

/**
 * Decides, in a reconnection loop, what a failed attempt to connect means:
 * return `undefined` (or `null`) to retry after `retry.delay`; return an
 * error — `error` itself or another one — or throw, to end the loop with
 * it. May return a promise (e.g. to refresh a token before retrying).
 */
export type ProcessException = (error: unknown, retry: RetryInfo) => unknown;

/**
 * Node's errors for a network that failed on the way: the server is down or
 * restarting, a route is missing for a moment, a name does not resolve (yet).
 * `ENOENT` is a Unix socket that is not there (yet).
 */
const NETWORK_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENETRESET",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENOENT",
]);

/**
 * The default retry policy of the reconnection loop, as Python's
 * `process_exception`: `undefined` (retry) for errors that may go away —
 * a refused or reset connection and other network errors (`ECONNREFUSED`,
 * `ECONNRESET`, `ETIMEDOUT`, `EHOSTUNREACH`, `ENOTFOUND`...), the open
 * timeout, a connection closed during the handshake, a 5xx answer other
 * than 501 and 505, a proxy that could not reach the server — and the
 * error itself (stop) for the others: 4xx and other statuses, an invalid
 * URI or option, a TLS certificate that does not verify, a handshake the
 * server got wrong, a proxy that refuses. Wrap it to change one case:
 *
 * ```ts
 * processException: (err) =>
 *   err instanceof InvalidStatus && err.status === 429 ? undefined : processException(err)
 * ```
 */
export function processException(error: unknown): unknown {
  if (isArgumentError(error)) return error;
  if (error instanceof ProxyError) return error.code === "WS_ERR_PROXY_TARGET" ? undefined : error;
  if (error instanceof InvalidStatus) {
    // 501 Not Implemented and 505 HTTP Version Not Supported describe the server, not a moment.
    const status = error.response.status;
    return status >= 500 && status <= 599 && status !== 501 && status !== 505 ? undefined : error;
  }
  if (error instanceof InvalidHandshake) {
    return error.code === "WS_ERR_OPEN_TIMEOUT" || error.code === "WS_ERR_HANDSHAKE_EOF" ? undefined : error;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && NETWORK_ERRORS.has(code)) return undefined;
  return error;
}

/**
 * The delays of one run of failures: a random first one, then growing.
 * `random` is for tests.
 */
export class Backoff {
  readonly #options: Readonly<Required<BackoffOptions>>;
  readonly #random: () => number;
  #next: number | null = null;

  constructor(options: Readonly<Required<BackoffOptions>>, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** The delay before the next attempt, in milliseconds. */
  next(): number {
    const { initialDelay, minDelay, factor, maxDelay } = this.#options;
    if (this.#next === null) {
      this.#next = Math.min(minDelay, maxDelay);
      return this.#random() * initialDelay;
    }
    const delay = this.#next;
    this.#next = Math.min(delay * factor, maxDelay);
    return delay;
  }
}

/** What the loop needs besides a way to open a connection. */
export interface LoopOptions {
  backoff: Readonly<Required<BackoffOptions>>;
  processException: ProcessException;
  signal: AbortSignal | undefined;
}

/**
 * The reconnection loop. `first` is an attempt already under way (the one
 * `connect()` started), `open` starts another. Ends by throwing: the error
 * `processException` chose, or the signal's reason. When the signal aborts
 * while a connection is out, that connection is closed with 1001 (going
 * away) and the loop's next step throws the reason.
 */
export async function* reconnect(
  first: Promise<Connection> | null,
  open: () => Promise<Connection>,
  options: LoopOptions,
): AsyncGenerator<Connection, void, undefined> {
  const { signal } = options;
  let delays: Backoff | null = null;
  let failures = 0;
  let pending = first;
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    let ws: Connection;
    try {
      ws = await (pending ?? open());
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      failures++;
      delays ??= new Backoff(options.backoff);
      const delay = delays.next();
      const verdict = await options.processException(err, { attempt: failures, delay });
      if (verdict !== undefined && verdict !== null) throw verdict;
      await sleep(delay, signal);
      continue;
    } finally {
      pending = null;
    }
    failures = 0;
    const openedAt = performance.now();
    let closedAt: number | null = null;
    void ws.closed.then(() => (closedAt ??= performance.now()));
    const onAbort = () => void ws.close(1001).catch(() => undefined);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      yield ws;
    } finally {
      // The body is done with it: on to the next one (or out of the loop).
      signal?.removeEventListener("abort", onAbort);
      if (ws.state !== "closed") await ws.close().catch(() => undefined);
    }
    const lived = (closedAt ?? performance.now()) - openedAt;
    if (lived >= options.backoff.resetAfter) {
      delays = null;
    } else {
      delays ??= new Backoff(options.backoff);
      await sleep(delays.next(), signal);
    }
  }
}

/** Wait `ms`; rejects with `signal.reason` when it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = delayTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
