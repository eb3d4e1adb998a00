/**
 * The errors of the client features: a proxy that would not (or could not)
 * open the tunnel, and a redirect of the opening handshake that is not
 * followed. Both are {@link WebSocketError}s with a stable `code`; a
 * {@link RedirectError} is also an {@link InvalidStatus}, since the server
 * did answer the handshake with something else than 101.
 */
import { InvalidStatus, WebSocketError, type HttpResponseLike, type WebSocketErrorCode } from "../errors.js";

/** What {@link ProxyError} carries besides its message. */
export interface ProxyErrorDetails {
  /** The proxy, as a URL without its credentials (`http://127.0.0.1:3128`). */
  proxy: string;
  /** The server the tunnel was for, `host:port`. */
  target: string;
  /** The HTTP proxy's answer to `CONNECT`, when it answered something else than 2xx. */
  response?: HttpResponseLike;
  /** The SOCKS5 reply code (RFC 1928 §6) or authentication status (RFC 1929 §2), when that is what failed. */
  reply?: number;
  /** The error underneath, if any. */
  cause?: unknown;
}

/**
 * The proxy did not open the tunnel. `code` says why:
 *
 * | code | when | retried by the reconnection loop |
 * |---|---|---|
 * | `WS_ERR_PROXY_AUTH` | the proxy wants credentials (HTTP 407, SOCKS method 0xFF) or refused the ones in the proxy URL | no |
 * | `WS_ERR_PROXY_TARGET` | the proxy could not reach the server (HTTP 5xx; SOCKS replies 1, 3, 4, 5, 6) | yes |
 * | `WS_ERR_PROXY` | anything else: the proxy forbids it (HTTP 403, SOCKS 2), does not speak the protocol, closed the connection, sent garbage | no |
 *
 * A proxy that cannot be reached at all fails with the socket's own error
 * (`ECONNREFUSED`...), as a server that cannot be reached does.
 */
export class ProxyError extends WebSocketError {
  /** The proxy, without credentials. */
  readonly proxy: string;
  /** `host:port` of the server the tunnel was for. */
  readonly target: string;
  /** The HTTP proxy's response head (status, reason, lower-cased headers), when there was one. */
  readonly response: HttpResponseLike | null;
  /** The SOCKS reply or authentication status byte, when there was one. */
  readonly reply: number | null;

  /** @internal */
  constructor(message: string, code: Extract<WebSocketErrorCode, `WS_ERR_PROXY${string}`>, details: ProxyErrorDetails) {
    super(message, code, { cause: details.cause });
    this.proxy = details.proxy;
    this.target = details.target;
    this.response = details.response ?? null;
    this.reply = details.reply ?? null;
  }
}

/**
 * Why a redirect was not followed: `"too-many"`, more redirects in a row
 * than `maxRedirects`; `"insecure"`, from wss:// to ws://, where the rest of
 * the handshake would go out in clear text; `"unsupported"`, a `Location`
 * that is not a ws/wss/http/https URI, or that cannot be reached the way
 * this connection was (a given `sock`, a cross-origin redirect over a Unix
 * socket).
 */
export type RedirectRefusal = "too-many" | "insecure" | "unsupported";

/**
 * A redirect (301, 302, 303, 307, 308) of the opening handshake that
 * `connect` does not follow. It is an {@link InvalidStatus}: `response` is
 * the redirect response (with its `location` header), `status` its status.
 */
export class RedirectError extends InvalidStatus {
  /** Why it was not followed. */
  readonly refusal: RedirectRefusal;
  /** The URI the redirect pointed to, resolved against the request's URI; null when it could not be resolved. */
  readonly location: string | null;

  /** @internal */
  constructor(message: string, refusal: RedirectRefusal, response: HttpResponseLike, location: string | null) {
    super(response, { message, code: "WS_ERR_REDIRECT" });
    this.refusal = refusal;
    this.location = location;
  }
}
