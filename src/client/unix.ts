/**
 * `ws+unix:` URIs, the form the `ws` package reads: a WebSocket server on a
 * Unix domain socket, with the socket's path and the request path in one
 * string, separated by the first `:` after the socket path:
 *
 *     ws+unix:///run/app.sock:/chat?room=1   socket /run/app.sock, request /chat?room=1
 *     ws+unix:./app.sock:/chat               a relative socket path
 *     ws+unix:///run/app.sock                request path /
 *     wss+unix:///run/app.sock:/chat         TLS over the Unix socket
 *
 * The socket path is percent-decoded (write a `:` in it as `%3A`). The
 * request goes out with `Host: localhost`, as Python's `unix_connect`
 * sends it.
 */
import { InvalidURI } from "../errors.js";

/** A `ws+unix:` URI taken apart. */
export interface UnixURI {
  /** The equivalent ws:// or wss:// URI on `localhost`, for the handshake. */
  uri: string;
  /** The file system path of the socket. */
  socketPath: string;
}

/** True when `uri` uses the `ws+unix:` or `wss+unix:` scheme. */
export function isUnixURI(uri: string): boolean {
  return /^wss?\+unix:/i.test(uri);
}

/** Split a `ws+unix:` URI. Throws {@link InvalidURI}. */
export function parseUnixURI(uri: string): UnixURI {
  const match = /^(wss?)\+unix:(.*)$/is.exec(uri);
  if (match === null) throw new InvalidURI(uri, "scheme isn't ws+unix or wss+unix");
  if (uri.includes("#")) throw new InvalidURI(uri, "WebSocket URIs must not have a fragment");
  let rest = match[2]!;
  if (rest.startsWith("//")) {
    // An authority, which must be empty: ws+unix:///path, not ws+unix://host/path.
    rest = rest.slice(2);
    if (!rest.startsWith("/")) throw new InvalidURI(uri, 'a ws+unix URI has no host: write ws+unix:///absolute/path.sock:/request/path');
  }
  const colon = rest.indexOf(":");
  const rawPath = colon === -1 ? rest : rest.slice(0, colon);
  let resource = colon === -1 ? "/" : rest.slice(colon + 1);
  if (resource === "") resource = "/";
  if (resource.startsWith("?")) resource = `/${resource}`;
  if (!resource.startsWith("/")) throw new InvalidURI(uri, 'the request path after the socket path must start with "/"');
  let socketPath: string;
  try {
    socketPath = decodeURIComponent(rawPath);
  } catch {
    throw new InvalidURI(uri, "invalid percent-encoding in the socket path");
  }
  if (socketPath === "") throw new InvalidURI(uri, "missing socket path");
  return { uri: `${match[1]!.toLowerCase()}://localhost${resource}`, socketPath };
}
