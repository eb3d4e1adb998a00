/**
 * The public `connect()`: the node adapter's connect with the client
 * features composed around it — `ws+unix:` URIs, the proxy for each URI
 * (from the `proxy` option or the environment) handed to the adapter as its
 * `transport`, redirects followed hop by hop, and, when the result is
 * iterated, the reconnection loop.
 */
import { InvalidStatus, argumentError } from "../errors.js";
import { connect as connectSocket, type ClientTransport, type ConnectOptions } from "../node/client.js";
import type { Connection } from "../node/connection.js";
import { describeValue } from "../node/options/schema.js";
import { parseURI } from "../handshake/uri.js";
import { proxyFromEnvironment } from "./env.js";
import { ProxyError, RedirectError } from "./exceptions.js";
import { DEFAULT_MAX_REDIRECTS, validateClientOptions, type ClientOptions } from "./options.js";
import { httpTunnel } from "./proxy.js";
import { authority, parseProxy, type ProxySpec } from "./proxy-url.js";
import { DEFAULT_BACKOFF, processException, reconnect, type BackoffOptions } from "./reconnect.js";
import { followRedirect, isRedirect, strip, type Hop } from "./redirect.js";
import { socksTunnel } from "./socks.js";
import { isUnixURI, parseUnixURI } from "./unix.js";

/**
 * What {@link connect} returns: a promise of one connection, and an async
 * iterable of connections that reconnects.
 *
 * - `await connect(uri)` — one connection, or the error that prevented it.
 * - `for await (const ws of connect(uri)) { ... }` — a connection per turn
 *   of the loop: when the body is done with one (it was lost, usually), the
 *   loop closes it if needed and opens the next, retrying failed attempts
 *   with backoff. The loop ends by throwing: the first error that
 *   `processException` does not retry, or the `signal`'s reason.
 */
export interface Connecting extends Promise<Connection>, AsyncIterable<Connection> {
  /**
   * The reconnection loop. The first connection is the one this call
   * started; `break` (or an exception in the body) closes the current one.
   */
  [Symbol.asyncIterator](): AsyncIterator<Connection>;
}

/**
 * Open a WebSocket connection to a `ws://`, `wss://` or `ws+unix://` URI
 * (a string or a `URL`), through a proxy when one applies, following
 * redirects. Await it for one connection; iterate it to reconnect whenever
 * the connection is lost (see {@link Connecting}).
 *
 * Rejects with `InvalidURI`, `InvalidStatus` (a status other than 101,
 * the response attached; {@link RedirectError} for a redirect not
 * followed), `InvalidHandshake` (`WS_ERR_OPEN_TIMEOUT`...), a
 * {@link ProxyError}, the socket's own error as Node raises it
 * (`ECONNREFUSED`, `ENOTFOUND`, TLS errors such as
 * `DEPTH_ZERO_SELF_SIGNED_CERT`: see `err.code`), `signal.reason` when
 * `options.signal` aborts, or a `TypeError` / `RangeError` (code
 * `WS_ERR_INVALID_ARGUMENT` / `WS_ERR_INVALID_OPTION`) for an argument or
 * option that is not allowed.
 *
 * ```ts
 * const ws = await connect("ws://127.0.0.1:8765");
 * await ws.send("Hello");
 * console.log(await ws.recv());
 * await ws.close();
 *
 * for await (const ws of connect("wss://example.com/feed")) {
 *   try {
 *     for await (const message of ws) handle(message);
 *   } catch (err) {
 *     if (!(err instanceof ConnectionClosed)) throw err;
 *   }
 * }
 * ```
 */
export function connect(uri: string | URL, options: ClientOptions = {}): Connecting {
  const first = open(uri, options);
  let iterated = false;
  Object.defineProperty(first, Symbol.asyncIterator, {
    value(): AsyncIterator<Connection> {
      // The attempt connect() started is the loop's first; a second loop starts afresh.
      const start = iterated ? null : first;
      iterated = true;
      return reconnect(start, () => open(uri, options), {
        backoff: withDefaults(options?.backoff),
        processException: options?.processException ?? processException,
        signal: options?.signal,
      });
    },
  });
  return first as Connecting;
}

/** The backoff options given, the defaults for the others (an option set to undefined included). */
function withDefaults(given: BackoffOptions | undefined): Required<BackoffOptions> {
  const out: Required<BackoffOptions> = { ...DEFAULT_BACKOFF };
  for (const [name, value] of Object.entries(given ?? {}) as [keyof BackoffOptions, number | undefined][]) {
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** One connection: the URI taken apart, then a hop per redirect. */
async function open(uri: string | URL, options: ClientOptions | null | undefined): Promise<Connection> {
  if (typeof uri !== "string" && !(uri instanceof URL)) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `connect(uri, options?): uri must be a string or a URL, such as "ws://127.0.0.1:8765/"; got ${describeValue(uri)}`,
    );
  }
  validateClientOptions(options);
  const { proxy, maxRedirects = DEFAULT_MAX_REDIRECTS, backoff: _backoff, processException: _policy, headers, socketPath, ...rest } = options ?? {};
  let hop = firstHop(typeof uri === "string" ? uri : uri.href, headers, socketPath);
  for (let redirects = 0; ; redirects++) {
    if (rest.signal?.aborted) throw rest.signal.reason;
    const hopOptions: ConnectOptions = { ...rest };
    if (hop.headers !== undefined) hopOptions.headers = hop.headers;
    if (hop.socketPath !== undefined) hopOptions.socketPath = hop.socketPath;
    const transport = proxyTransport(hop, proxy, rest);
    if (transport !== undefined) hopOptions.transport = transport;
    try {
      return await connectSocket(hop.uri, hopOptions);
    } catch (err) {
      if (!(err instanceof InvalidStatus) || maxRedirects === 0 || !isRedirect(err.response)) throw err;
      if (redirects >= maxRedirects) {
        const location = err.response.headers["location"] ?? null;
        throw new RedirectError(
          `too many redirects: more than ${maxRedirects} in a row (the last, HTTP ${err.response.status} from ${strip(hop.url)}, to ${location})`,
          "too-many",
          err.response,
          location,
        );
      }
      hop = followRedirect(hop, err.response, rest.sock !== undefined);
    }
  }
}

/** The first hop: a `ws+unix:` URI split into a socket path and a ws:// URI; headers as pairs. */
function firstHop(uri: string, headers: ClientOptions["headers"], socketPath: string | undefined): Hop {
  let target = uri;
  let path = socketPath;
  if (isUnixURI(uri)) {
    const unix = parseUnixURI(uri);
    if (socketPath !== undefined) {
      throw argumentError("WS_ERR_INVALID_OPTION", `connect(): options.socketPath is given and so is a socket path in the ws+unix URI ${uri}; give one`);
    }
    target = unix.uri;
    path = unix.socketPath;
  }
  parseURI(target); // InvalidURI, naming the URI as given.
  const pairs =
    headers === undefined
      ? undefined
      : typeof (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
        ? Array.from(headers as Iterable<[string, string]>)
        : Object.entries(headers);
  return { uri: target, url: new URL(target), headers: pairs, socketPath: path };
}

/** The transport through the proxy that applies to `hop`, or undefined to connect directly. */
function proxyTransport(hop: Hop, proxy: ClientOptions["proxy"], rest: ConnectOptions): ClientTransport | undefined {
  // A socket, a Unix socket or a transport of the caller's says how to reach the server already.
  if (rest.sock !== undefined || rest.transport !== undefined || hop.socketPath !== undefined || proxy === null) return undefined;
  const secure = hop.url.protocol === "wss:";
  let spec: ProxySpec;
  if (proxy !== undefined) {
    spec = parseProxy(proxy); // checked with the options
  } else {
    const host = hop.url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = hop.url.port === "" ? (secure ? 443 : 80) : Number(hop.url.port);
    const found = proxyFromEnvironment(process.env, secure, host, port);
    if (found === null) return undefined;
    try {
      spec = parseProxy(found.value);
    } catch (err) {
      throw new ProxyError(`the ${found.variable} environment variable is not a usable proxy: ${(err as Error).message}`, "WS_ERR_PROXY", {
        proxy: found.variable,
        target: authority(host, port),
      });
    }
  }
  return spec.protocol === "http" ? (target, signal) => httpTunnel(spec, target, signal) : (target, signal) => socksTunnel(spec, target, signal);
}
