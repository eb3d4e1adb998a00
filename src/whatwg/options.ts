/**
 * The Node extras of the standard classes — what a browser decides for its
 * page and a Node program must say: headers, TLS, compression, limits,
 * timeouts — their table (the `connect()` options that make sense here,
 * taken from `CONNECT_OPTIONS`) and the `connect()` options the classes
 * open their connection with.
 */
import type { ConnectOptions } from "../node/client.js";
import { CONNECT_OPTIONS } from "../node/options/entry-points.js";
import { integer, validateOptions, type Schema } from "../node/options/schema.js";

/**
 * The Node extras of `new WebSocket(url, protocols, options)` and
 * `new WebSocketStream(url, options)`: the {@link connect} options a
 * standard client can use. Defaults are wavesock's: permessage-deflate
 * offered, messages up to 1 MiB (`maxSize: null` for no limit), a
 * keepalive ping every 20 s, 10 s to open and to close.
 */
export interface WebSocketOptions
  extends Pick<
    ConnectOptions,
    | "origin"
    | "headers"
    | "userAgent"
    | "compression"
    | "extensions"
    | "maxSize"
    | "openTimeout"
    | "closeTimeout"
    | "pingInterval"
    | "pingTimeout"
    | "tls"
    | "sock"
    | "localAddress"
    | "family"
    | "headLimits"
  > {}

/** The option table of {@link WebSocketOptions}: the `connect()` checks. */
const WEBSOCKET_OPTIONS: Schema<WebSocketOptions> = {
  origin: CONNECT_OPTIONS.origin,
  headers: CONNECT_OPTIONS.headers,
  userAgent: CONNECT_OPTIONS.userAgent,
  compression: CONNECT_OPTIONS.compression,
  extensions: CONNECT_OPTIONS.extensions,
  maxSize: CONNECT_OPTIONS.maxSize,
  openTimeout: CONNECT_OPTIONS.openTimeout,
  closeTimeout: CONNECT_OPTIONS.closeTimeout,
  pingInterval: CONNECT_OPTIONS.pingInterval,
  pingTimeout: CONNECT_OPTIONS.pingTimeout,
  tls: CONNECT_OPTIONS.tls,
  sock: CONNECT_OPTIONS.sock,
  localAddress: CONNECT_OPTIONS.localAddress,
  family: CONNECT_OPTIONS.family,
  headLimits: CONNECT_OPTIONS.headLimits,
};

/** The second argument of `new WebSocket()` in the dictionary form of Node's built-in client: `{ protocols, headers... }`. */
export interface WebSocketInit extends WebSocketOptions {
  /** The subprotocols to offer: a string or a list of strings. */
  protocols?: string | Iterable<string>;
}

/** What `new WebSocketStream(url, options)` takes: the standard members and the Node extras. */
export interface WebSocketStreamOptions extends WebSocketOptions {
  /** The subprotocols to offer, in order of preference. */
  protocols?: Iterable<string>;
  /** Aborts the opening handshake (`opened` and `closed` reject with an `AbortError`); no effect once open. */
  signal?: AbortSignal;
  /**
   * Messages the readable stream holds before the connection stops reading
   * (its high water mark): beyond, input waits undecoded, then TCP holds the
   * peer back. Default 16.
   */
  maxQueue?: number;
}

/** Names found elsewhere, with what to write here. */
const ALIASES: Record<string, string> = {
  subprotocols: "pass them as the protocols argument",
  maxPayload: "maxSize",
  perMessageDeflate: "compression",
  handshakeTimeout: "openTimeout",
  dispatcher: "undici's dispatcher has no equivalent; use tls, localAddress, family or sock",
  writeHighWaterMark: "send() never waits: watch bufferedAmount",
  writeLowWaterMark: "send() never waits: watch bufferedAmount",
  logger: "errors come as error events",
};

/** Check the Node extras of `new WebSocket(url, protocols, options)`. */
export function validateWebSocketOptions(options: unknown): void {
  validateOptions("new WebSocket()", options, WEBSOCKET_OPTIONS, {
    aliases: { ...ALIASES, maxQueue: "a WebSocket hands every message over as an event", signal: "close() aborts the opening" },
  });
}

/** Check the dictionary form of the second argument (`{ protocols, ...options }`); `protocols` is checked by the caller. */
export function validateWebSocketInit(init: unknown): void {
  validateOptions("new WebSocket()", init, { ...WEBSOCKET_OPTIONS, protocols: () => undefined }, { aliases: ALIASES });
}

const STREAM_OPTIONS: Schema<WebSocketStreamOptions> = {
  ...WEBSOCKET_OPTIONS,
  // Checked by the constructor as the standard reads them.
  protocols: () => undefined,
  signal: CONNECT_OPTIONS.signal,
  maxQueue: integer(1),
};

/** Check the options of `new WebSocketStream(url, options)` (`protocols` is checked by the caller). */
export function validateStreamOptions(options: unknown): void {
  validateOptions("new WebSocketStream()", options, STREAM_OPTIONS, { aliases: ALIASES });
}

/**
 * The `connect()` options of a standard client's connection. Reading never
 * stops because of what the application sent (`writeHighWaterMark` out of
 * reach): a browser's client always reads, and two peers that both stopped
 * reading while their writes wait would wait for ever.
 */
export function connectOptionsFor(extras: WebSocketOptions, protocols: string[], signal: AbortSignal): ConnectOptions {
  const options: ConnectOptions = {};
  for (const name of Object.keys(WEBSOCKET_OPTIONS) as (keyof WebSocketOptions)[]) {
    if (extras[name] !== undefined) (options as Record<string, unknown>)[name] = extras[name];
  }
  options.subprotocols = protocols.length > 0 ? protocols : null;
  options.signal = signal;
  options.writeHighWaterMark = Number.MAX_SAFE_INTEGER;
  return options;
}
