/**
 * Typed errors, shared by the sans-IO core and the Node adapters.
 *
 * Two families, after h11/wsproto:
 * - *remote* errors: the peer broke the protocol. They carry the close code
 *   (RFC 6455 §7.4.1) or the HTTP status the connection must be failed with.
 *   The core never throws them out of `receiveData`; it fails the connection
 *   and reports them.
 * - *local* errors ({@link InvalidState}): the caller misused the API. These
 *   are thrown straight at the caller.
 *
 * Every error has a stable string `code` (e.g. `WS_ERR_INVALID_OPCODE`) so
 * callers can branch without matching messages.
 */

/**
 * Every `code` string wavesock uses, on {@link WebSocketError}s and on the
 * `TypeError`/`RangeError`s of {@link ArgumentErrorCode}. Stable: branch on
 * these, not on messages.
 */
export type WebSocketErrorCode =
  // ConnectionClosed
  | "WS_ERR_CONNECTION_CLOSED"
  // ProtocolError / PayloadTooBig: the peer broke RFC 6455 / 7692 (the connection is failed)
  | "WS_ERR_PROTOCOL"
  | "WS_ERR_PAYLOAD_TOO_BIG"
  | "WS_ERR_INVALID_OPCODE"
  | "WS_ERR_EXPECTED_MASK"
  | "WS_ERR_UNEXPECTED_MASK"
  | "WS_ERR_INVALID_LENGTH"
  | "WS_ERR_FRAGMENTED_CONTROL"
  | "WS_ERR_CONTROL_TOO_LONG"
  | "WS_ERR_UNEXPECTED_RSV"
  | "WS_ERR_UNEXPECTED_CONTINUATION"
  | "WS_ERR_EXPECTED_CONTINUATION"
  | "WS_ERR_INVALID_UTF8"
  | "WS_ERR_INVALID_CLOSE_PAYLOAD"
  | "WS_ERR_INVALID_CLOSE_CODE"
  | "WS_ERR_INVALID_COMPRESSED_DATA"
  // ProtocolError raised on our side: fail() by the application or the adapter, our own bug
  | "WS_ERR_FAILED"
  | "WS_ERR_INTERNAL"
  // InvalidHandshake / InvalidStatus
  | "WS_ERR_INVALID_HANDSHAKE"
  | "WS_ERR_INVALID_STATUS"
  | "WS_ERR_INVALID_HTTP"
  | "WS_ERR_HEAD_TOO_LARGE"
  | "WS_ERR_TOO_MANY_HEADERS"
  | "WS_ERR_UNSUPPORTED_HTTP_VERSION"
  | "WS_ERR_INVALID_METHOD"
  | "WS_ERR_INVALID_HOST"
  | "WS_ERR_INVALID_UPGRADE"
  | "WS_ERR_INVALID_CONNECTION"
  | "WS_ERR_UNSUPPORTED_VERSION"
  | "WS_ERR_INVALID_KEY"
  | "WS_ERR_INVALID_ORIGIN"
  | "WS_ERR_ORIGIN_FORBIDDEN"
  | "WS_ERR_INVALID_SUBPROTOCOL"
  | "WS_ERR_INVALID_EXTENSION"
  | "WS_ERR_SUBPROTOCOL_SELECTION"
  | "WS_ERR_INVALID_ACCEPT"
  | "WS_ERR_EXTENSION_NEGOTIATION"
  | "WS_ERR_OPEN_TIMEOUT"
  | "WS_ERR_HANDSHAKE_EOF"
  // InvalidURI, InvalidState
  | "WS_ERR_INVALID_URI"
  | "WS_ERR_INVALID_STATE"
  // BackplaneError: the pub/sub backplane (Redis) cannot be used right now
  | "WS_ERR_BACKPLANE"
  // ProxyError: the proxy refused (WS_ERR_PROXY), wants other credentials
  // (WS_ERR_PROXY_AUTH) or could not reach the server (WS_ERR_PROXY_TARGET)
  | "WS_ERR_PROXY"
  | "WS_ERR_PROXY_AUTH"
  | "WS_ERR_PROXY_TARGET"
  // RedirectError: a redirect of the opening handshake that is not followed
  | "WS_ERR_REDIRECT"
  // TypeError / RangeError (see ArgumentErrorCode)
  | ArgumentErrorCode;

/**
 * The codes of the two kinds of error that are *not* {@link WebSocketError}s:
 * a bad option (`WS_ERR_INVALID_OPTION`) or a bad argument
 * (`WS_ERR_INVALID_ARGUMENT`) is a plain `TypeError` (wrong type) or
 * `RangeError` (right type, value not allowed), thrown (or rejected) at the
 * call that got it — as Node's own `ERR_INVALID_ARG_TYPE` errors are. The
 * message names the option or argument, what was given and what is allowed.
 */
export type ArgumentErrorCode = "WS_ERR_INVALID_OPTION" | "WS_ERR_INVALID_ARGUMENT";

/** A `TypeError` or `RangeError` with an {@link ArgumentErrorCode}: what wavesock throws for a bad option or argument. */
export type ArgumentError = (TypeError | RangeError) & { readonly code: ArgumentErrorCode };

/**
 * Build an {@link ArgumentError}. `range` picks `RangeError` (the value has
 * the right type but is outside what is allowed) over `TypeError`.
 * @internal
 */
export function argumentError(code: ArgumentErrorCode, message: string, range = false): ArgumentError {
  const err = range ? new RangeError(message) : new TypeError(message);
  Object.defineProperty(err, "code", { value: code, enumerable: true, configurable: true, writable: true });
  return err as ArgumentError;
}

/** True for an argument or option error (a TypeError/RangeError with `WS_ERR_INVALID_OPTION` / `WS_ERR_INVALID_ARGUMENT`). */
export function isArgumentError(err: unknown): err is ArgumentError {
  const code = (err as { code?: unknown } | null)?.code;
  return (err instanceof TypeError || err instanceof RangeError) && (code === "WS_ERR_INVALID_OPTION" || code === "WS_ERR_INVALID_ARGUMENT");
}

/** Base class of every error wavesock raises itself (except {@link ArgumentError}s). */
export class WebSocketError extends Error {
  /** A stable machine-readable code, e.g. `WS_ERR_INVALID_OPCODE`. */
  readonly code: WebSocketErrorCode;

  constructor(message: string, code: WebSocketErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The peer violated RFC 6455 (or RFC 7692), or the connection was failed on
 * our side (`WS_ERR_FAILED`: `fail()`, a keepalive timeout, a handler error;
 * `WS_ERR_INTERNAL`: a bug of ours). `closeCode` is the code the connection
 * is failed with: 1002 by default, 1007 for invalid UTF-8, 1009 for a
 * message over the size limit, 1011 for an internal error.
 */
export class ProtocolError extends WebSocketError {
  /** The close code (RFC 6455 §7.4.1) sent to the peer when failing. */
  readonly closeCode: number;

  constructor(message: string, code: WebSocketErrorCode = "WS_ERR_PROTOCOL", closeCode = 1002, options?: { cause?: unknown }) {
    super(message, code, options);
    this.closeCode = closeCode;
  }
}

/**
 * A message is larger than the configured `maxSize`: close code 1009.
 * `size` is how many bytes of it were known when it was refused — the whole
 * size when the frame header announced it, a lower bound otherwise (a
 * fragmented or compressed message is refused as soon as it crosses the
 * limit); null when unknown. `maxSize` is the limit.
 */
export class PayloadTooBig extends ProtocolError {
  /** Bytes of the message known when it was refused (a lower bound for fragmented or compressed messages); null if unknown. */
  readonly size: number | null;
  /** The limit that was crossed, in bytes; null if unknown. */
  readonly maxSize: number | null;

  constructor(message: string, details: { size?: number | null; maxSize?: number | null } = {}) {
    super(message, "WS_ERR_PAYLOAD_TOO_BIG", 1009);
    this.size = details.size ?? null;
    this.maxSize = details.maxSize ?? null;
  }

  /**
   * The error for a message of (at least) `size` bytes over `maxSize`, with
   * its message in words: "message too big: 2,097,152 bytes, over the limit
   * of 1,048,576 bytes". `atLeast` says that `size` is a lower bound.
   */
  static over(size: number, maxSize: number, atLeast = false): PayloadTooBig {
    const what = atLeast ? `at least ${formatBytes(size)}` : formatBytes(size);
    return new PayloadTooBig(`message too big: ${what}, over the limit of ${formatBytes(maxSize)}`, { size, maxSize });
  }
}

/** `2,097,152 bytes`: exact numbers, grouped so that a reader can count them. */
function formatBytes(n: number): string {
  return `${Number.isSafeInteger(n) ? n.toLocaleString("en-US") : String(n)} byte${n === 1 ? "" : "s"}`;
}

/** The API was used in a way the current state does not allow (a local error). */
export class InvalidState extends WebSocketError {
  constructor(message: string) {
    super(message, "WS_ERR_INVALID_STATE");
  }
}

/**
 * The pub/sub backplane cannot do what was asked: Redis is not connected (a
 * publish while it is down, a history read), the backplane was closed, or the
 * `redis` package is missing (`cause` says more).
 */
export class BackplaneError extends WebSocketError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "WS_ERR_BACKPLANE", options);
  }
}

/** A `ws://` / `wss://` URI that cannot be used. */
export class InvalidURI extends WebSocketError {
  /** The URI as given. */
  readonly uri: string;

  constructor(uri: string, message: string) {
    super(`${message}: ${uri}`, "WS_ERR_INVALID_URI");
    this.uri = uri;
  }
}

/** The parts of an HTTP response that a handshake error may carry. */
export interface HttpResponseLike {
  /** Status code, e.g. 101 or 404. */
  status: number;
  /** Reason phrase, e.g. "Switching Protocols". */
  reason: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body, when one was read. */
  body?: Uint8Array;
}

/**
 * The opening handshake failed. On the server side `status` is the HTTP
 * status to answer with (400, 403, 426, 431...); on the client side it is the
 * status the server answered (0 when it answered nothing: timeout, EOF).
 */
export class InvalidHandshake extends WebSocketError {
  /** HTTP status that goes with the failure. */
  readonly status: number;
  /** Extra response headers the server should send with `status` (e.g. `sec-websocket-version` with 426). */
  readonly headers: Record<string, string>;

  constructor(
    message: string,
    options: { code?: WebSocketErrorCode; status?: number; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.code ?? "WS_ERR_INVALID_HANDSHAKE", { cause: options.cause });
    this.status = options.status ?? 400;
    this.headers = options.headers ?? {};
  }
}

/** The server answered the opening handshake with a status other than 101. */
export class InvalidStatus extends InvalidHandshake {
  /** The server's whole response (headers and, when small, the body). */
  readonly response: HttpResponseLike;

  /** `options` is for subclasses (a redirect that is not followed): another message and code. */
  constructor(response: HttpResponseLike, options: { message?: string; code?: WebSocketErrorCode; cause?: unknown } = {}) {
    super(options.message ?? `server rejected WebSocket connection: HTTP ${response.status}`, {
      code: options.code ?? "WS_ERR_INVALID_STATUS",
      status: response.status,
      cause: options.cause,
    });
    this.response = response;
  }
}

/** A close frame as sent or received: code and reason. */
export interface CloseInfo {
  /** Close code (RFC 6455 §7.4). */
  code: number;
  /** Close reason, decoded UTF-8 (at most 123 bytes on the wire). */
  reason: string;
}

/** What ended a connection, beyond the close frames: see {@link ConnectionClosed}. */
export interface CloseDetails {
  /** True when the peer's close frame came first and ours answered it; false when ours came first; null unless both went. */
  rcvdThenSent?: boolean | null;
  /**
   * Why the connection ended, when not by a closing handshake alone: the
   * {@link ProtocolError} (or {@link PayloadTooBig}) the connection was
   * failed with, or the socket's error (`ECONNRESET`...).
   */
  cause?: unknown;
}

/**
 * Raised by `send`, `recv`, iteration... once the connection is closed.
 *
 * | case | class | `closeCode` | `rcvd` | `sent` | `cause` |
 * |---|---|---|---|---|---|
 * | normal close, either side first (1000/1001/1005 both ways) | OK | the peer's code | peer's frame | ours | — |
 * | closing handshake with another code (4000...) | Error | the peer's code | peer's frame | ours | — |
 * | **we failed** the connection: peer violation, message over `maxSize`, keepalive timeout, `fail()` | Error | the code **we sent** (1002, 1007, 1009, 1011...) | null (usually) | ours | the `ProtocolError` / `PayloadTooBig` |
 * | the peer failed it (sent 1002, 1011...) | Error | the peer's code | peer's frame | our echo | — |
 * | TCP closed or reset without a close frame | Error | 1006 | null | null | the socket error, if any (`ECONNRESET`) |
 * | our close frame unanswered until `closeTimeout` | Error | 1006 | null | ours | — |
 *
 * The message says the same in words, e.g. "message too big: 2,097,152
 * bytes, over the limit of 1,048,576 bytes (sent 1009; no close frame received)".
 */
export class ConnectionClosed extends WebSocketError {
  /** The close frame the peer sent, if any. */
  readonly rcvd: CloseInfo | null;
  /** The close frame we sent, if any. */
  readonly sent: CloseInfo | null;
  /** Which close frame came first when both went: true when the peer's did. Null unless both went. */
  readonly rcvdThenSent: boolean | null;
  /**
   * The close code that says why the connection ended: the code we sent when
   * we failed the connection (1009 for a message over `maxSize`...), else
   * the peer's code (1005 for a close frame without one), else 1006 (no
   * close frame received).
   */
  readonly closeCode: number;
  /** The reason that goes with `closeCode` ("" for 1006). */
  readonly closeReason: string;

  constructor(rcvd: CloseInfo | null, sent: CloseInfo | null, details: CloseDetails | unknown = {}) {
    // A third argument that is not a CloseDetails is the cause (the signature before `details`).
    const d: CloseDetails = isCloseDetails(details) ? details : { cause: details };
    super(describeClose(rcvd, sent, d), "WS_ERR_CONNECTION_CLOSED", d.cause === undefined ? undefined : { cause: d.cause });
    const failed = failedBy(sent, d.cause);
    this.rcvd = rcvd;
    this.sent = sent;
    this.rcvdThenSent = rcvd !== null && sent !== null ? (d.rcvdThenSent ?? null) : null;
    this.closeCode = failed ? sent!.code : rcvd ? rcvd.code : 1006;
    this.closeReason = failed ? sent!.reason : rcvd ? rcvd.reason : "";
  }
}

function isCloseDetails(value: unknown): value is CloseDetails {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Error) &&
    Object.keys(value).every((k) => k === "cause" || k === "rcvdThenSent")
  );
}

/**
 * The connection closed normally: close frames with 1000 or 1001 (or with no
 * code, 1005, as Python `websockets` counts it) went both ways.
 */
export class ConnectionClosedOK extends ConnectionClosed {}

/** The connection closed abnormally: a protocol error, a timeout, a reset socket, a non-1000/1001 code. */
export class ConnectionClosedError extends ConnectionClosed {}

/** True when a close with these frames counts as OK (1000/1001/1005 received and sent). */
export function isCloseOK(rcvd: CloseInfo | null, sent: CloseInfo | null): boolean {
  const ok = (c: CloseInfo | null) => c !== null && (c.code === 1000 || c.code === 1001 || c.code === 1005);
  return ok(rcvd) && ok(sent);
}

/**
 * True when the connection ended because we failed it: `cause` is the
 * {@link ProtocolError} whose close frame is the one we sent.
 */
function failedBy(sent: CloseInfo | null, cause: unknown): cause is ProtocolError {
  return sent !== null && cause instanceof ProtocolError && cause.closeCode === sent.code;
}

/**
 * The close code that says why a connection ended (see
 * {@link ConnectionClosed.closeCode}); `failure` is the error the connection
 * was failed with, if any.
 */
export function closeCodeOf(rcvd: CloseInfo | null, sent: CloseInfo | null, failure: unknown): number {
  return failedBy(sent, failure) ? sent!.code : rcvd ? rcvd.code : 1006;
}

/**
 * Build the right {@link ConnectionClosed} subclass for a finished close.
 * A `ConnectionClosedOK` is how iteration learns that a connection ended
 * normally — control flow, on every close — so it is built without a stack
 * trace, whose capture would cost more than the rest of the close.
 */
export function connectionClosed(rcvd: CloseInfo | null, sent: CloseInfo | null, details: CloseDetails | unknown = {}): ConnectionClosed {
  if (!isCloseOK(rcvd, sent)) return new ConnectionClosedError(rcvd, sent, details);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new ConnectionClosedOK(rcvd, sent, details);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Names of the close codes (RFC 6455 §7.4.1 and the IANA registry), for messages. */
const CLOSE_CODE_NAMES: Record<number, string> = {
  1000: "normal closure", 1001: "going away", 1002: "protocol error", 1003: "unsupported data",
  1005: "no status code", 1006: "abnormal closure", 1007: "invalid data", 1008: "policy violation",
  1009: "message too big", 1010: "mandatory extension", 1011: "internal error", 1012: "service restart",
  1013: "try again later", 1014: "bad gateway", 1015: "TLS failure",
};

/** `1009 (message too big)`, `4000 (private use)`. */
export function closeCodeName(code: number): string {
  const name =
    CLOSE_CODE_NAMES[code] ?? (code >= 3000 && code <= 3999 ? "registered" : code >= 4000 && code <= 4999 ? "private use" : "unknown");
  return `${code} (${name})`;
}

function describeClose(rcvd: CloseInfo | null, sent: CloseInfo | null, d: CloseDetails): string {
  const cause = d.cause;
  const frames = describeFrames(rcvd, sent, d.rcvdThenSent ?? null);
  if (failedBy(sent, cause)) return `${cause.message} (${frames})`;
  if (rcvd !== null) {
    const reason = rcvd.reason ? `: ${rcvd.reason}` : "";
    if (isCloseOK(rcvd, sent)) return `connection closed normally${reason} (${frames})`;
    const who = sent !== null && d.rcvdThenSent === false ? "closed" : "peer closed the connection";
    return `${who} with ${closeCodeName(rcvd.code)}${reason} (${frames})`;
  }
  if (sent !== null) return `closing handshake not completed (${frames}; 1006)`;
  const why = cause instanceof Error ? `: ${cause.message}` : "";
  return `connection lost without a closing handshake${why} (${frames}; 1006)`;
}

/** Python `websockets`' wording: "sent 1009; no close frame received". Reasons are in the headline. */
function describeFrames(rcvd: CloseInfo | null, sent: CloseInfo | null, rcvdThenSent: boolean | null): string {
  if (rcvd && sent) return rcvdThenSent === false ? `sent ${sent.code}; then received ${rcvd.code}` : `received ${rcvd.code}; then sent ${sent.code}`;
  if (rcvd) return `received ${rcvd.code}; no close frame sent`;
  if (sent) return `sent ${sent.code}; no close frame received`;
  return "no close frame received or sent";
}
