/**
 * WebSocket URIs (RFC 6455 §3), parsed with the WHATWG `URL` parser so that
 * hosts, ports and percent-encoding are normalised the way browsers do it.
 */

import { InvalidURI } from "../errors.js";

/** The parts of a `ws://` or `wss://` URI that opening a connection needs. */
export interface WebSocketURI {
  /** True for `wss://` (TLS). */
  secure: boolean;
  /** Host name or address to connect to; an IPv6 address without brackets. */
  host: string;
  /** TCP port: the one given, else 80 for `ws` and 443 for `wss` (RFC 6455 §3). */
  port: number;
  /** Path and query sent in the request line: `/` when empty, never a fragment. */
  resourceName: string;
  /** Value of the `Host` header: brackets around IPv6, port only when not the default (RFC 6455 §4.1). */
  hostHeader: string;
  /** User name from the URI's user info, percent-decoded, for `Authorization: Basic`. */
  user?: string;
  /** Password from the URI's user info, percent-decoded (empty when only a user is given). */
  password?: string;
}

/**
 * Parse a WebSocket URI. Only `ws:` and `wss:` are accepted, as in Python
 * `websockets`: an `http:` URI usually means the caller has the wrong
 * endpoint, and guessing would hide it. RFC 6455 §3: "Fragment identifiers
 * are meaningless in the context of WebSocket URIs and MUST NOT be used on
 * these URIs", so a URI with a `#`, even an empty fragment, is refused.
 * Throws {@link InvalidURI}.
 */
export function parseURI(uri: string): WebSocketURI {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidURI(uri, "not a valid URI");
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new InvalidURI(uri, "scheme isn't ws or wss");
  }
  // `url.hash` is "" for both no fragment and an empty one; the WHATWG
  // parser ends the authority, path and query at the first "#", so its
  // presence anywhere in the input means a fragment.
  if (uri.includes("#")) throw new InvalidURI(uri, "WebSocket URIs must not have a fragment");
  const secure = url.protocol === "wss:";
  let host = url.hostname;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "") throw new InvalidURI(uri, "missing host");
  const result: WebSocketURI = {
    secure,
    host,
    // The parser drops a port equal to the scheme's default, so "" means default.
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    resourceName: url.pathname + url.search || "/",
    hostHeader: url.host,
  };
  if (url.username !== "" || url.password !== "") {
    try {
      result.user = decodeURIComponent(url.username);
      result.password = decodeURIComponent(url.password);
    } catch {
      throw new InvalidURI(uri, "invalid percent-encoding in user info");
    }
  }
  return result;
}
