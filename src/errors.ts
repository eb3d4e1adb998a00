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

/** Base class of every error wavesock throws. */
export class WebSocketError extends Error {
  /** A stable machine-readable code, e.g. `WS_ERR_INVALID_OPCODE`. */
  readonly code: string;

  constructor(message: string, code = "WS_ERR", options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The peer violated RFC 6455 (or RFC 7692). `closeCode` is the code the
 * connection is failed with: 1002 by default, 1007 for invalid UTF-8,
 * 1009 for a message over the size limit.
 */
export class ProtocolError extends WebSocketError {
  /** The close code (RFC 6455 §7.4.1) sent to the peer when failing. */
  readonly closeCode: number;

  constructor(message: string, code = "WS_ERR_PROTOCOL", closeCode = 1002) {
    super(message, code);
    this.closeCode = closeCode;
  }
}

/** A message (or a frame) is larger than the configured `maxSize`: close code 1009. */
export class PayloadTooBig extends ProtocolError {
  constructor(message: string) {
    super(message, "WS_ERR_PAYLOAD_TOO_BIG", 1009);
  }
}

/** The API was used in a way the current state does not allow (a local error). */
export class InvalidState extends WebSocketError {
  constructor(message: string) {
    super(message, "WS_ERR_INVALID_STATE");
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
 * status the server answered (when it answered at all).
 */
export class InvalidHandshake extends WebSocketError {
  /** HTTP status that goes with the failure. */
  readonly status: number;
  /** Extra response headers the server should send with `status` (e.g. `sec-websocket-version` with 426). */
  readonly headers: Record<string, string>;

  constructor(
    message: string,
    options: { code?: string; status?: number; headers?: Record<string, string>; cause?: unknown } = {},
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

  constructor(response: HttpResponseLike) {
    super(`server rejected WebSocket connection: HTTP ${response.status}`, {
      code: "WS_ERR_INVALID_STATUS",
      status: response.status,
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

/**
 * Raised by `send`, `recv`, iteration... once the connection is closed.
 * `rcvd` is the close frame received from the peer (absent if none),
 * `sent` the one we sent. `code`/`reason` summarise the close as the user
 * sees it (1006 if no close frame was received).
 */
export class ConnectionClosed extends WebSocketError {
  /** The close frame the peer sent, if any. */
  readonly rcvd: CloseInfo | null;
  /** The close frame we sent, if any. */
  readonly sent: CloseInfo | null;
  /** The close code as the user sees it: the peer's, or 1006 when there was none. */
  readonly closeCode: number;
  /** The close reason as the user sees it. */
  readonly closeReason: string;

  constructor(rcvd: CloseInfo | null, sent: CloseInfo | null, cause?: unknown) {
    const closeCode = rcvd ? rcvd.code : 1006;
    const closeReason = rcvd ? rcvd.reason : "";
    super(describeClose(rcvd, sent), "WS_ERR_CONNECTION_CLOSED", { cause });
    this.rcvd = rcvd;
    this.sent = sent;
    this.closeCode = closeCode;
    this.closeReason = closeReason;
  }
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
 * Build the right {@link ConnectionClosed} subclass for a finished close.
 * A `ConnectionClosedOK` is how iteration learns that a connection ended
 * normally — control flow, on every close — so it is built without a stack
 * trace, whose capture would cost more than the rest of the close.
 */
export function connectionClosed(rcvd: CloseInfo | null, sent: CloseInfo | null, cause?: unknown): ConnectionClosed {
  if (!isCloseOK(rcvd, sent)) return new ConnectionClosedError(rcvd, sent, cause);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new ConnectionClosedOK(rcvd, sent, cause);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function describeClose(rcvd: CloseInfo | null, sent: CloseInfo | null): string {
  const fmt = (c: CloseInfo) => `${c.code}${c.reason ? ` (${c.reason})` : ""}`;
  if (rcvd && sent) return `received ${fmt(rcvd)}; then sent ${fmt(sent)}`;
  if (rcvd) return `received ${fmt(rcvd)}; no close frame sent`;
  if (sent) return `sent ${fmt(sent)}; no close frame received`;
  return "no close frame received or sent (1006)";
}
