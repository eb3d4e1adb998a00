/**
 * `connect(uri)` — a WebSocket client on `node:net` / `node:tls`.
 */
import type { Buffer } from "node:buffer";
import * as net from "node:net";
import * as tls from "node:tls";
import { InvalidHandshake, argumentError } from "../errors.js";
import { Protocol } from "../connection/protocol.js";
import type { ClientExtensionFactory } from "../extensions/types.js";
import { ClientHandshake, type ClientHandshakeOptions } from "../handshake/client.js";
import { RequestHeadParser, type HeadLimits, type HttpRequest } from "../handshake/http.js";
import { parseURI, type WebSocketURI } from "../handshake/uri.js";
import { clientExtensions, type CompressionOption } from "./compression.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { validateConnectOptions } from "./options/entry-points.js";
import { describeValue } from "./options/schema.js";

/** Options of {@link connect}. */
export interface ConnectOptions extends ConnectionOptions {
  /** Value of the `Origin` header. */
  origin?: string | null;
  /** Subprotocols to offer, in order of preference. */
  subprotocols?: readonly string[] | null;
  /** Extra request headers (`Authorization`, `Cookie`...). */
  headers?: Record<string, string> | Iterable<[string, string]>;
  /** `User-Agent` header; null for none. */
  userAgent?: string | null;
  /** `"deflate"` (default) offers permessage-deflate; null turns compression off; an object tunes it. */
  compression?: CompressionOption;
  /** Extra extension factories, offered after compression. */
  extensions?: readonly ClientExtensionFactory[];
  /** Largest message accepted in bytes (after decompression); null: no limit. Default 1 MiB. */
  maxSize?: number | null;
  /** Milliseconds allowed for TCP connect + TLS + the opening handshake. Default 10 000. */
  openTimeout?: number;
  /** TLS options for wss:// (`ca`, `rejectUnauthorized`, `servername`...). */
  tls?: tls.ConnectionOptions | null;
  /** Connect over this already-connected socket instead of opening one (e.g. a Unix socket). */
  sock?: net.Socket;
  /** Local address to connect from, and address family (4 or 6) to resolve to. */
  localAddress?: string;
  family?: number;
  /** Limits of the response head parser. */
  headLimits?: HeadLimits;
  /**
   * Abort the opening: `connect` rejects with `signal.reason` (an
   * `AbortError` `DOMException` unless you gave another) and the socket is
   * destroyed. No effect once connected.
   */
  signal?: AbortSignal | null;
  /**
   * Where the client reports what it cannot raise to you. The connection
   * itself reports everything through its errors, so nothing is logged
   * today; accepted so that one options object can serve `serve()` and
   * `connect()` (as Python's `connect(logger=...)`), and for client
   * features built on `connect`.
   */
  logger?: Pick<Console, "error"> | null;
}

/**
 * Open a WebSocket connection to a `ws://` or `wss://` URI (a string or a
 * `URL`). Resolves once the opening handshake succeeded; rejects with
 * `InvalidURI`, `InvalidStatus` (the server answered something else than
 * 101, the response is attached), `InvalidHandshake` (`WS_ERR_OPEN_TIMEOUT`,
 * `WS_ERR_HANDSHAKE_EOF`...), the socket's own error as Node raises it
 * (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, TLS errors such as
 * `DEPTH_ZERO_SELF_SIGNED_CERT`: see `err.code`), `signal.reason` once
 * `options.signal` aborts, or a `TypeError` /
 * `RangeError` (code `WS_ERR_INVALID_ARGUMENT` / `WS_ERR_INVALID_OPTION`)
 * for an argument or option that is not allowed.
 *
 * ```ts
 * const ws = await connect("ws://127.0.0.1:8765");
 * await ws.send("Hello");
 * console.log(await ws.recv());
 * await ws.close();
 * ```
 */
export function connect(uri: string | URL, options: ConnectOptions = {}): Promise<Connection> {
  let u: WebSocketURI;
  let handshake: ClientHandshake;
  let requestBytes: Uint8Array;
  let request: HttpRequest;
  // Bad arguments reject, as every other failure of connect does.
  try {
    if (typeof uri !== "string" && !(uri instanceof URL)) {
      throw argumentError(
        "WS_ERR_INVALID_ARGUMENT",
        `connect(uri, options?): uri must be a string or a URL, such as "ws://127.0.0.1:8765/"; got ${describeValue(uri)}`,
      );
    }
    validateConnectOptions(options);
    options ??= {};
    u = parseURI(typeof uri === "string" ? uri : uri.href);
    const hsOptions: ClientHandshakeOptions = {
      uri: u,
      origin: options.origin ?? null,
      subprotocols: options.subprotocols ?? null,
      extensions: [...clientExtensions(options.compression), ...(options.extensions ?? [])],
    };
    if (options.headers !== undefined) hsOptions.headers = options.headers;
    if (options.userAgent !== undefined) hsOptions.userAgent = options.userAgent;
    if (options.headLimits !== undefined) hsOptions.limits = options.headLimits;
    handshake = new ClientHandshake(hsOptions);
    requestBytes = handshake.request();
    // The request as the server will see it, for `connection.request`.
    request = new RequestHeadParser().push(requestBytes)!;
  } catch (err) {
    return Promise.reject(err);
  }

  const signal = options.signal ?? null;
  if (signal?.aborted) return Promise.reject(signal.reason);

  return new Promise<Connection>((resolve, reject) => {
    let socket: net.Socket;
    if (options.sock) {
      socket = options.sock;
    } else if (u.secure) {
      const tlsOptions: tls.ConnectionOptions & { localAddress?: string; family?: number } = {
        host: u.host,
        port: u.port,
        ...options.tls,
      };
      // SNI takes host names only (RFC 6066 §3).
      if (tlsOptions.servername === undefined && net.isIP(u.host) === 0) tlsOptions.servername = u.host;
      if (options.localAddress !== undefined) tlsOptions.localAddress = options.localAddress;
      if (options.family !== undefined) tlsOptions.family = options.family;
      socket = tls.connect(tlsOptions);
    } else {
      const netOptions: net.TcpNetConnectOpts = { host: u.host, port: u.port };
      if (options.localAddress !== undefined) netOptions.localAddress = options.localAddress;
      if (options.family !== undefined) netOptions.family = options.family;
      socket = net.connect(netOptions);
    }
    socket.setNoDelay(true);
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal!.reason);
    signal?.addEventListener("abort", onAbort);
    const timer = setTimeout(
      () => fail(new InvalidHandshake("timed out during the opening handshake", { code: "WS_ERR_OPEN_TIMEOUT", status: 0 })),
      options.openTimeout ?? 10_000,
    );
    const onData = (chunk: Buffer) => {
      let result;
      try {
        result = handshake.receive(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      if (result === null) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("data", onData);
      socket.off("error", fail);
      socket.off("close", onClose);
      socket.pause();
      const protocol = new Protocol("client", {
        maxSize: options.maxSize === undefined ? 1024 * 1024 : options.maxSize,
        extensions: result.extensions,
      });
      const conn = new Connection(socket, protocol, { request, response: result.response, subprotocol: result.subprotocol }, options);
      const rest = handshake.rest;
      // Resume first: what came with the 101 may pause the socket again (backpressure).
      socket.resume();
      if (rest.length > 0) conn.receive(rest);
      resolve(conn);
    };
    const onClose = () => fail(new InvalidHandshake("connection closed during the opening handshake", { code: "WS_ERR_HANDSHAKE_EOF", status: 0 }));
    socket.on("error", fail);
    socket.on("close", onClose);
    socket.on("data", onData);
    const start = () => socket.write(requestBytes);
    if (options.sock) start();
    else socket.once(u.secure ? "secureConnect" : "connect", start);
  });
}
