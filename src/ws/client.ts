/**
 * The client's opening handshake of the `ws` API, as `ws` makes it: an
 * `http.request()` / `https.request()` GET with the upgrade headers (so that
 * `agent`, `createConnection`, TLS options, `finishRequest`, `auth` and the
 * `'upgrade'` / `'unexpected-response'` / `'redirect'` events work as they do
 * with `ws`), `ws+unix:` URLs over a Unix socket, redirects followed when
 * asked. The key, the permessage-deflate offer and the check of the 101 are
 * wavesock's sans-IO {@link ClientHandshake}; `ws`'s own checks (and its
 * error messages) run first, in `ws`'s order.
 */
import { Buffer } from "node:buffer";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import { unescape } from "node:querystring";
import { InvalidHandshake } from "../errors.js";
import { ClientHandshake } from "../handshake/client.js";
import type { HttpRequest } from "../handshake/http.js";
import { acceptKey } from "../handshake/server.js";
import { clientExtensions } from "../node/compression.js";
import { deflateOptions, type PerMessageDeflateOptions } from "./deflate.js";
import type { WebSocket, SocketOptions } from "./websocket.js";
import { kAttach, kStart } from "./websocket.js";
import { wsError } from "./errors.js";

/** Marks a request the client aborted (its late errors are ignored). */
const kAborted = Symbol("wavesock.ws.aborted");

/** Options of a client `WebSocket`: `ws`'s, and any option of `http.request()` / `https.request()`. */
export interface ClientOptions
  extends SocketOptions,
    Omit<https.RequestOptions, "host" | "port" | "path" | "protocol" | "timeout" | "headers" | "checkServerIdentity"> {
  /** TLS: check the server's certificate for `hostname` yourself (return an Error to refuse it). */
  checkServerIdentity?: (hostname: string, cert: tls.PeerCertificate) => Error | undefined;
  /** Subprotocols, when not given as the second argument. */
  protocols?: string | readonly string[];
  /** Extra request headers. */
  headers?: Record<string, string | number | readonly string[]>;
  /** The `Origin` header (`Sec-WebSocket-Origin` with `protocolVersion: 8`). */
  origin?: string;
  /** Milliseconds allowed for the opening handshake (reset on each redirect). */
  handshakeTimeout?: number;
  /** Offer permessage-deflate (default true) and how. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Follow 3xx redirects (default false). */
  followRedirects?: boolean;
  /** At most this many redirects (default 10). */
  maxRedirects?: number;
  /** The `Sec-WebSocket-Version` sent: 13 (default) or 8. */
  protocolVersion?: number;
  /** Called with each request before it is sent; it must call `request.end()`. */
  finishRequest?: (request: http.ClientRequest, websocket: WebSocket) => void;
  /** Fills the 4-byte masking key of each frame (default: random bytes). */
  generateMask?: (mask: Buffer) => void;
}

const SUBPROTOCOL = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;

type RequestOptions = Omit<https.RequestOptions, "headers"> &
  Omit<ClientOptions, "headers"> & { headers?: Record<string, unknown>; socketPath?: string; defaultPort?: number };

/**
 * Start the handshake of `ws` for `address` (see the module comment);
 * returns the options its connection will use. Throws what `ws` throws
 * (`SyntaxError`, `RangeError`) for a bad first URL; errors from a
 * redirect's URL are emitted.
 */
export function initAsClient(ws: WebSocket, address: string | URL, protocols: readonly string[], options: ClientOptions): SocketOptions {
  const opts: RequestOptions = {
    allowSynchronousEvents: true,
    autoPong: true,
    closeTimeout: 30_000,
    protocolVersion: 13,
    maxPayload: 100 * 1024 * 1024,
    skipUTF8Validation: false,
    perMessageDeflate: true,
    followRedirects: false,
    maxRedirects: 10,
    ...options,
    socketPath: undefined,
    hostname: undefined,
    protocol: undefined,
    timeout: undefined,
    method: "GET",
    host: undefined,
    path: undefined,
    port: undefined,
  } as RequestOptions;

  if (opts.protocolVersion !== 8 && opts.protocolVersion !== 13) {
    throw wsError("RangeError", `Unsupported protocol version: ${opts.protocolVersion} (supported versions: 8, 13)`);
  }
  let url: URL;
  if (address instanceof URL) url = address;
  else {
    try {
      url = new URL(address);
    } catch {
      throw wsError("SyntaxError", `Invalid URL: ${address}`);
    }
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    url = new URL(url);
    url.protocol = url.protocol === "http:" ? "ws:" : "wss:";
  }
  ws._url = url.href;
  const secure = url.protocol === "wss:";
  const ipc = url.protocol === "ws+unix:";
  let invalid: string | undefined;
  if (url.protocol !== "ws:" && !secure && !ipc) invalid = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';
  else if (ipc && !url.pathname) invalid = "The URL's pathname is empty";
  else if (url.hash) invalid = "The URL contains a fragment identifier";
  if (invalid !== undefined) {
    const err = wsError("SyntaxError", invalid);
    if (ws._redirects === 0) throw err;
    emitErrorAndClose(ws, err);
    return opts;
  }
  const seen = new Set<string>();
  for (const p of protocols) {
    if (typeof p !== "string" || !SUBPROTOCOL.test(p) || seen.has(p)) throw wsError("SyntaxError", "An invalid or duplicated subprotocol was specified");
    seen.add(p);
  }

  const deflate = deflateOptions(opts.perMessageDeflate, true);
  const defaultPort = secure ? 443 : 80;
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  // wavesock's sans-IO handshake draws the key, makes the extension offer and checks the 101.
  const handshake = new ClientHandshake({
    uri: { secure, host: hostname, port: Number(url.port) || defaultPort, resourceName: url.pathname + url.search || "/", hostHeader: url.host || "localhost" },
    subprotocols: protocols.length > 0 ? protocols : null,
    extensions: deflate === null ? [] : clientExtensions(deflate),
    userAgent: null,
  });
  const offer = offeredExtensions(handshake);

  opts.createConnection ??= (secure ? tlsConnect : netConnect) as unknown as https.RequestOptions["createConnection"];
  opts.defaultPort = opts.defaultPort ?? defaultPort;
  opts.port = url.port || defaultPort;
  opts.host = hostname;
  const headers: Record<string, unknown> = {
    ...opts.headers,
    "Sec-WebSocket-Version": opts.protocolVersion,
    "Sec-WebSocket-Key": handshake.key,
    Connection: "Upgrade",
    Upgrade: "websocket",
  };
  if (offer !== undefined) headers["Sec-WebSocket-Extensions"] = offer;
  if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(",");
  if (opts.origin) headers[opts.protocolVersion < 13 ? "Sec-WebSocket-Origin" : "Origin"] = opts.origin;
  opts.headers = headers;
  opts.path = url.pathname + url.search;
  opts.timeout = opts.handshakeTimeout;
  if (url.username || url.password) opts.auth = `${unescape(url.username)}:${unescape(url.password)}`;
  if (ipc) {
    const i = opts.path.indexOf(":");
    if (i === -1) {
      opts.socketPath = opts.path;
      opts.path = "";
    } else {
      opts.socketPath = opts.path.slice(0, i);
      opts.path = opts.path.slice(i + 1);
    }
  }

  if (opts.followRedirects) prepareRedirect(ws, opts, options, url, ipc, secure);
  const request = secure ? https.request : http.request;
  const req = request(opts as https.RequestOptions);
  ws._req = req;
  if (ws._redirects > 0) ws.emit("redirect", ws.url, req);

  if (opts.timeout) req.on("timeout", () => abortRequest(ws, req, "Opening handshake has timed out"));
  req.on("error", (err) => {
    if ((req as Aborted)[kAborted]) return;
    ws._req = null;
    emitErrorAndClose(ws, err);
  });
  req.on("response", (res) => {
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    if (location && opts.followRedirects && status >= 300 && status < 400) {
      if (++ws._redirects > (opts.maxRedirects ?? 10)) {
        abortRequest(ws, req, "Maximum redirects exceeded");
        return;
      }
      (req as Aborted)[kAborted] = true;
      req.destroy();
      let next: URL;
      try {
        next = new URL(location, address);
      } catch {
        emitErrorAndClose(ws, wsError("SyntaxError", `Invalid URL: ${location}`));
        return;
      }
      initAsClient(ws, next, protocols, options);
    } else if (!ws.emit("unexpected-response", req, res)) {
      abortRequest(ws, req, `Unexpected server response: ${res.statusCode}`);
    }
  });
  req.on("upgrade", (res: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    ws.emit("upgrade", res);
    // The user may have closed the connection from an 'upgrade' listener.
    if (ws.readyState !== 0) {
      socket.destroy();
      return;
    }
    ws._req = null;
    const problem = wsProblem(res, handshake.key, protocols, deflate !== null);
    if (problem !== null) {
      abortSocket(ws, socket, problem);
      return;
    }
    let result;
    try {
      result = handshake.receive(serializeHead(res));
    } catch (err) {
      abortSocket(ws, socket, handshakeMessage(err));
      return;
    }
    if (result === null) {
      abortSocket(ws, socket, "Invalid HTTP response");
      return;
    }
    const info = { request: sentRequest(req, opts.path ?? "/"), response: result.response, subprotocol: result.subprotocol };
    const socketOptions: SocketOptions & { generateMask?: ClientOptions["generateMask"] } = {
      maxPayload: opts.maxPayload ?? 100 * 1024 * 1024,
    };
    if (opts.generateMask !== undefined) socketOptions.generateMask = opts.generateMask;
    ws[kAttach](socket, info, result.extensions, socketOptions);
    ws[kStart](head);
  });

  if (opts.finishRequest) opts.finishRequest(req, ws);
  else req.end();
  return opts;
}

type Aborted = http.ClientRequest & { [kAborted]?: boolean };

/**
 * With `followRedirects`: the first request remembers where it went; a
 * later one to another host (or from wss to ws) drops `Authorization` and
 * `Cookie` (what curl does), unless a `'redirect'` listener decides.
 */
function prepareRedirect(ws: WebSocket, opts: RequestOptions, options: ClientOptions, url: URL, ipc: boolean, secure: boolean): void {
  const state = ws as WebSocket & { _originalIpc?: boolean; _originalSecure?: boolean; _originalHostOrSocketPath?: string };
  const headers = opts.headers as Record<string, unknown>;
  if (ws._redirects === 0) {
    state._originalIpc = ipc;
    state._originalSecure = secure;
    state._originalHostOrSocketPath = ipc ? opts.socketPath : url.host;
  } else if (ws.listenerCount("redirect") === 0) {
    const sameHost = ipc
      ? state._originalIpc === true && opts.socketPath === state._originalHostOrSocketPath
      : state._originalIpc !== true && url.host === state._originalHostOrSocketPath;
    if (!sameHost || (state._originalSecure === true && !secure)) {
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        if (lower === "authorization" || lower === "cookie" || (!sameHost && lower === "host")) delete headers[name];
      }
      opts.auth = undefined;
    }
  }
  // The first Authorization wins (curl 7.77): credentials from the URL only without one.
  const hasAuthorization = Object.keys(options.headers ?? {}).some((h) => h.toLowerCase() === "authorization");
  if (opts.auth && !hasAuthorization) {
    headers["authorization"] = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    opts.auth = undefined;
  }
}

/** `ws`'s checks of the 101, in its order, with its messages; null when they pass. */
function wsProblem(res: http.IncomingMessage, key: string, protocols: readonly string[], offeredDeflate: boolean): string | null {
  const upgrade = res.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") return "Invalid Upgrade header";
  if (res.headers["sec-websocket-accept"] !== acceptKey(key)) return "Invalid Sec-WebSocket-Accept header";
  const selected = res.headers["sec-websocket-protocol"];
  if (selected !== undefined) {
    if (protocols.length === 0) return "Server sent a subprotocol but none was requested";
    if (!protocols.includes(selected)) return "Server sent an invalid subprotocol";
  } else if (protocols.length > 0) {
    return "Server sent no subprotocol";
  }
  if (res.headers["sec-websocket-extensions"] !== undefined && !offeredDeflate) {
    return "Server sent a Sec-WebSocket-Extensions header but no extension was requested";
  }
  return null;
}

/** What wavesock's check of the 101 found, in `ws`'s words where `ws` has them. */
function handshakeMessage(err: unknown): string {
  if (!(err instanceof InvalidHandshake)) return err instanceof Error ? err.message : String(err);
  switch (err.code) {
    case "WS_ERR_INVALID_EXTENSION":
      return "Server indicated an extension that was not requested";
    case "WS_ERR_EXTENSION_NEGOTIATION":
      return "Invalid Sec-WebSocket-Extensions header";
    case "WS_ERR_INVALID_CONNECTION":
      return "Invalid Connection header";
    default:
      return err.message;
  }
}

/** The 101 as bytes again, for the sans-IO check (node:http parsed it already). */
function serializeHead(res: http.IncomingMessage): Uint8Array {
  let head = `HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage ?? ""}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(`${head}\r\n`, "latin1");
}

/** The extension offer the handshake makes (from its request), if any. */
function offeredExtensions(handshake: ClientHandshake): string | undefined {
  const text = Buffer.from(handshake.request()).toString("latin1");
  const m = /\r\nSec-WebSocket-Extensions: ([^\r]*)\r\n/i.exec(text);
  return m === null ? undefined : m[1];
}

/** The request as sent, for the connection's `request`. */
function sentRequest(req: http.ClientRequest, path: string): HttpRequest {
  const headers: Record<string, string> = {};
  const given = req.getHeaders();
  for (const name of Object.keys(given)) {
    const v = given[name];
    if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return { method: "GET", path: path || "/", version: "1.1", headers } as unknown as HttpRequest;
}

/**
 * Abort a client's handshake (close/terminate while CONNECTING): `ws`
 * emits `'error'`, then `'close'` (1006), on the next tick.
 */
export function abortClient(ws: WebSocket, message: string): void {
  ws._readyState = 2; // CLOSING
  const err = wsError("Error", message);
  const req = ws._req;
  ws._req = null;
  if (req !== null) {
    (req as Aborted)[kAborted] = true;
    req.destroy();
    req.socket?.destroy();
  }
  process.nextTick(emitErrorAndClose, ws, err);
}

/** `'error'` then `'close'` (1006), for a client whose handshake failed. */
function emitErrorAndClose(ws: WebSocket, err: Error): void {
  ws._readyState = 2; // CLOSING
  ws._errorEmitted = true;
  ws.emit("error", err);
  ws._emitClose();
}

/** `ws`: a failed handshake on the request: `'error'`, then `'close'`, on the next tick. */
function abortRequest(ws: WebSocket, req: http.ClientRequest, message: string): void {
  ws._readyState = 2;
  const err = wsError("Error", message);
  (req as Aborted)[kAborted] = true;
  req.destroy();
  if (req.socket && !req.socket.destroyed) req.socket.destroy();
  process.nextTick(emitErrorAndClose, ws, err);
}

/** `ws`: a 101 that fails the checks: the socket is destroyed with the error: `'error'`, then `'close'`. */
function abortSocket(ws: WebSocket, socket: net.Socket, message: string): void {
  ws._readyState = 2;
  const err = wsError("Error", message);
  socket.destroy(err);
  socket.once("error", (e) => {
    ws._errorEmitted = true;
    ws.emit("error", e);
  });
  socket.once("close", () => ws._emitClose());
}

function netConnect(options: RequestOptions): net.Socket {
  return net.connect({ ...(options as net.NetConnectOpts), path: options.socketPath } as net.NetConnectOpts);
}

function tlsConnect(options: RequestOptions): tls.TLSSocket {
  const o = { ...(options as tls.ConnectionOptions), path: undefined } as tls.ConnectionOptions & { path?: string };
  if (!o.servername && o.servername !== "") o.servername = net.isIP(String(o.host)) ? "" : String(o.host);
  return tls.connect(o);
}
