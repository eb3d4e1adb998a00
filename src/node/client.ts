/**
 * `connect(uri)` — a WebSocket client on `node:net` / `node:tls`: opens the
 * socket (TCP, a Unix socket, or whatever a {@link ClientTransport} hands
 * back), runs TLS for wss://, then the opening handshake, all under one open
 * timeout and the caller's `AbortSignal`.
 *
 * Client features that choose *how* to reach the server (proxies, redirects,
 * reconnection) live in `src/client/` above this adapter; it never imports
 * them. A proxy comes in through the `transport` option: a function that
 * returns a connected stream to the target host, which this adapter then
 * treats as it would its own TCP socket.
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
   * Where the client reports what it cannot raise to you. The connection
   * itself reports everything through its errors, so nothing is logged
   * today; accepted so that one options object can serve `serve()` and
   * `connect()` (as Python's `connect(logger=...)`), and for client
   * features built on `connect`.
   */
  logger?: Pick<Console, "error"> | null;
  /**
   * Cancels the opening: the TCP connect, the transport (proxy negotiation),
   * TLS and the handshake. When it aborts, `connect` rejects with
   * `signal.reason` (an `AbortError` `DOMException` unless another reason
   * was given; `AbortSignal.timeout(ms)` gives a `TimeoutError`) and the
   * socket is destroyed. Once connected, the signal is no longer watched.
   */
  signal?: AbortSignal;
  /**
   * Connect to a Unix domain socket at this path instead of the URI's host
   * and port. The URI still gives the request path and the `Host` header
   * (and, for wss://, the TLS server name).
   */
  socketPath?: string;
  /**
   * Open the stream the handshake runs over, instead of a TCP connection to
   * the URI's host and port: e.g. a tunnel through a proxy. The adapter
   * runs TLS over the stream for wss://, then the handshake. The returned
   * socket must be connected; `signal` aborts when the open timeout or the
   * caller's signal fires, and the function should then reject.
   */
  transport?: ClientTransport;
}

/** Where a {@link ClientTransport} must open a stream to. */
export interface TransportTarget {
  /** Host name or IP address of the WebSocket server (an IPv6 address without brackets). */
  host: string;
  /** Its TCP port. */
  port: number;
  /** True for wss://: the adapter will run TLS over the stream. */
  secure: boolean;
  /** The `localAddress` option, to bind the outgoing connection. */
  localAddress?: string;
  /** The `family` option (4 or 6), for name resolution. */
  family?: number;
}

/**
 * Opens a connected stream to `target` (through a proxy, over a custom
 * route...). Resolves with the socket once bytes can flow to the server;
 * rejects when it cannot, or with `signal.reason` when `signal` aborts.
 */
export type ClientTransport = (target: TransportTarget, signal: AbortSignal) => Promise<net.Socket>;

/**
 * Open a WebSocket connection to a `ws://` or `wss://` URI (a string or a
 * `URL`). Resolves once the opening handshake succeeded; rejects with
 * `InvalidURI`, `InvalidStatus` (the server answered something else than
 * 101, the response is attached), `InvalidHandshake` (`WS_ERR_OPEN_TIMEOUT`,
 * `WS_ERR_HANDSHAKE_EOF`...), the socket's own error as Node raises it
 * (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, TLS errors such as
 * `DEPTH_ZERO_SELF_SIGNED_CERT`: see `err.code`), or a `TypeError` /
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

  return new Promise<Connection>((resolve, reject) => {
    let socket: net.Socket | null = null;
    let settled = false;
    // One signal for everything that may cut the opening short: the open
    // timeout and the caller's signal. The transport is handed it too.
    const controller = new AbortController();
    const userSignal = options.signal;
    const onUserAbort = () => controller.abort(userSignal!.reason);
    const timer = setTimeout(
      () => controller.abort(new InvalidHandshake("timed out during the opening handshake", { code: "WS_ERR_OPEN_TIMEOUT", status: 0 })),
      options.openTimeout ?? 10_000,
    );
    const cleanup = () => {
      clearTimeout(timer);
      userSignal?.removeEventListener("abort", onUserAbort);
      controller.signal.removeEventListener("abort", onAbort);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      socket?.destroy();
      reject(err);
    };
    const onAbort = () => fail(controller.signal.reason);
    controller.signal.addEventListener("abort", onAbort);
    if (userSignal !== undefined) {
      if (userSignal.aborted) {
        onUserAbort();
        return;
      }
      userSignal.addEventListener("abort", onUserAbort);
    }

    const onData = (chunk: Buffer) => {
      let result;
      try {
        result = handshake.receive(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      if (result === null) return;
      const s = socket!;
      settled = true;
      cleanup();
      s.off("data", onData);
      s.off("error", fail);
      s.off("close", onClose);
      s.pause();
      const protocol = new Protocol("client", {
        maxSize: options.maxSize === undefined ? 1024 * 1024 : options.maxSize,
        extensions: result.extensions,
      });
      const conn = new Connection(s, protocol, { request, response: result.response, subprotocol: result.subprotocol }, options);
      const rest = handshake.rest;
      // Resume first: what came with the 101 may pause the socket again (backpressure).
      s.resume();
      if (rest.length > 0) conn.receive(rest);
      resolve(conn);
    };
    const onClose = () => fail(new InvalidHandshake("connection closed during the opening handshake", { code: "WS_ERR_HANDSHAKE_EOF", status: 0 }));
    /** Take `s` as the socket; write the request once it is `ready` (now when null). */
    const use = (s: net.Socket, ready: "connect" | "secureConnect" | null) => {
      socket = s;
      s.setNoDelay(true);
      s.on("error", fail);
      s.on("close", onClose);
      s.on("data", onData);
      const start = () => s.write(requestBytes);
      if (ready === null) {
        // A stream handed over (sock, a transport's tunnel) may have been
        // paused by whoever read it before: we are its reader now.
        s.resume();
        start();
      } else s.once(ready, start);
    };
    /** TLS over an already-connected stream (a tunnel, a Unix socket). */
    const tlsOver = (raw: net.Socket) => {
      // Until the TLS socket owns it, a failure of the raw stream fails the opening.
      raw.on("error", fail);
      return tls.connect({ ...tlsOptionsFor(u, options.tls), socket: raw });
    };

    if (options.sock) {
      use(options.sock, null);
    } else if (options.transport) {
      const target: TransportTarget = { host: u.host, port: u.port, secure: u.secure };
      if (options.localAddress !== undefined) target.localAddress = options.localAddress;
      if (options.family !== undefined) target.family = options.family;
      let opened: Promise<net.Socket>;
      try {
        opened = Promise.resolve(options.transport(target, controller.signal));
      } catch (err) {
        opened = Promise.reject(err);
      }
      opened.then(
        (raw) => {
          if (settled) {
            raw.destroy();
            return;
          }
          if (!(raw instanceof net.Socket)) {
            // Say so here rather than fail somewhere inside net or tls later.
            fail(
              argumentError(
                "WS_ERR_INVALID_OPTION",
                `connect(): options.transport must resolve with a connected net.Socket; got ${describeValue(raw)}`,
              ),
            );
            return;
          }
          if (u.secure) use(tlsOver(raw), "secureConnect");
          else use(raw, null);
        },
        (err: unknown) => fail(err),
      );
    } else if (options.socketPath !== undefined) {
      const raw = net.connect({ path: options.socketPath });
      if (u.secure) {
        socket = raw;
        raw.once("connect", () => {
          if (!settled) use(tlsOver(raw), "secureConnect");
        });
        raw.on("error", fail);
      } else {
        use(raw, "connect");
      }
    } else if (u.secure) {
      const tlsOptions: tls.ConnectionOptions & { localAddress?: string; family?: number } = {
        host: u.host,
        port: u.port,
        ...tlsOptionsFor(u, options.tls),
      };
      if (options.localAddress !== undefined) tlsOptions.localAddress = options.localAddress;
      if (options.family !== undefined) tlsOptions.family = options.family;
      use(tls.connect(tlsOptions), "secureConnect");
    } else {
      const netOptions: net.TcpNetConnectOpts = { host: u.host, port: u.port };
      if (options.localAddress !== undefined) netOptions.localAddress = options.localAddress;
      if (options.family !== undefined) netOptions.family = options.family;
      use(net.connect(netOptions), "connect");
    }
  });
}

/** The caller's TLS options, with the URI's host as SNI server name unless it is an IP address or one was given. */
function tlsOptionsFor(u: WebSocketURI, given: tls.ConnectionOptions | null | undefined): tls.ConnectionOptions {
  const tlsOptions: tls.ConnectionOptions = { ...given };
  // SNI takes host names only (RFC 6066 §3).
  if (tlsOptions.servername === undefined && net.isIP(u.host) === 0) tlsOptions.servername = u.host;
  return tlsOptions;
}
