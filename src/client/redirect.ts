/**
 * Following redirects of the opening handshake. A server (or a load
 * balancer in front of it) may answer the upgrade request with 301, 302,
 * 303, 307 or 308 and a `Location` (RFC 9110 §15.4); RFC 6455 §4.1 leaves
 * it to the client: "the client MAY ... redirect". Rules here:
 *
 * - `Location` is resolved against the URI that was requested (RFC 9110
 *   §10.2.2: "If the Location value provided in a 3xx (Redirection)
 *   response does not have a fragment component, a user agent MUST process
 *   the redirection as if the value inherits the fragment component" — no
 *   fragment in WebSocket URIs, so only the relative-reference resolution
 *   matters). `http:` and `https:` locations become `ws:` and `wss:` (a
 *   server that sends every plain request to HTTPS does that to upgrades
 *   too); other schemes are refused.
 * - From wss:// to ws:// is refused: the next request, and everything
 *   after it, would travel in clear text.
 * - Credentials go to the same origin only (scheme, host and port): user
 *   info of the original URI, and the `Authorization` and `Cookie` headers
 *   given in `headers`, are dropped on a redirect to another origin, as
 *   curl does without `--location-trusted`.
 */
import type { HttpResponseLike } from "../errors.js";
import { RedirectError } from "./exceptions.js";

/** The statuses that are followed. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** True for a response `connect` follows: a redirect status with a `Location`. */
export function isRedirect(response: HttpResponseLike): boolean {
  return REDIRECT_STATUSES.has(response.status) && response.headers["location"] !== undefined;
}

/** Where one hop of a handshake goes: the URI, and the parts that are not in it. */
export interface Hop {
  /** The URI to request, as given (the first hop) or resolved (later ones). */
  uri: string;
  /** The same, parsed. */
  url: URL;
  /** Extra request headers for this hop, when given. */
  headers: [string, string][] | undefined;
  /** Unix socket path, when connecting through one. */
  socketPath: string | undefined;
}

/** Headers that carry credentials: dropped on a cross-origin redirect. */
const CREDENTIAL_HEADERS = new Set(["authorization", "cookie"]);

/**
 * The hop a redirect `response` to a request for `from` leads to. Throws
 * {@link RedirectError} when it must not be followed. `sockGiven`: the
 * caller passed an already-connected socket, which cannot be used twice.
 */
export function followRedirect(from: Hop, response: HttpResponseLike, sockGiven: boolean): Hop {
  const location = response.headers["location"]!;
  let url: URL;
  try {
    url = new URL(location, from.url);
  } catch {
    throw new RedirectError(`server redirected to a Location that is not a URI: ${JSON.stringify(location)}`, "unsupported", response, null);
  }
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  // `URL.protocol` cannot switch between a special scheme (http) and a
  // non-special one, but ws/wss/http/https are all special, so this works.
  url.hash = "";
  const target = strip(url);
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new RedirectError(`server redirected to ${target}, which is not a WebSocket URI`, "unsupported", response, target);
  }
  if (from.url.protocol === "wss:" && url.protocol === "ws:") {
    throw new RedirectError(`refusing to follow a redirect from ${strip(from.url)} to ${target}: it would leave TLS`, "insecure", response, target);
  }
  if (sockGiven) {
    throw new RedirectError(`cannot follow the redirect to ${target}: the socket given in options.sock is used up`, "unsupported", response, target);
  }
  const sameOrigin = url.origin === from.url.origin;
  if (!sameOrigin && from.socketPath !== undefined) {
    throw new RedirectError(`cannot follow the redirect to ${target} to another origin over the Unix socket ${from.socketPath}`, "unsupported", response, target);
  }
  if (sameOrigin) {
    // Same server: the credentials given for it still apply.
    if (url.username === "" && url.password === "") {
      url.username = from.url.username;
      url.password = from.url.password;
    }
    return { uri: url.href, url, headers: from.headers, socketPath: from.socketPath };
  }
  const headers = from.headers?.filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase()));
  return { uri: url.href, url, headers, socketPath: undefined };
}

/** A URL for messages: without user info. */
export function strip(url: URL): string {
  if (url.username === "" && url.password === "") return url.href;
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}
