/**
 * The option tables of wavesock's entry points — `serve`, `attach`,
 * `connect`, `broadcast`, `send` — and the functions that check a call's
 * options against them (see `schema.ts` for the checks and the messages).
 *
 * Rooms above `src/node` (ws compatibility, pub/sub, client features) build
 * their own tables from these: spread a table and add or refuse names.
 */
import * as net from "node:net";
import { argumentError } from "../../errors.js";
import type { DeflateOptions } from "../../extensions/permessage-deflate.js";
import { isToken } from "../../handshake/headers.js";
import type { HeadLimits } from "../../handshake/http.js";
import { isFieldValue } from "../../handshake/http.js";
import { compileOrigins, type OriginPolicy } from "../../handshake/server.js";
import type { BroadcastOptions } from "../broadcast.js";
import type { ConnectOptions } from "../client.js";
import type { ConnectionOptions } from "../connection.js";
import type { ServeForeverOptions } from "../serve-forever.js";
import type { ServerOptions } from "../server-options.js";
import {
  boolean,
  describeValue,
  either,
  func,
  integer,
  invalid,
  isPlainObject,
  milliseconds,
  nested,
  notHere,
  object,
  string,
  validateOptions,
  type Check,
  type CheckContext,
  type Schema,
  type ValidateExtras,
} from "./schema.js";

/** Default `writeHighWaterMark`, for the cross-check with `writeLowWaterMark`. */
const DEFAULT_WRITE_HIGH = 64 * 1024;

/** Options of every connection, server or client side. */
export const CONNECTION_OPTIONS: Schema<ConnectionOptions> = {
  maxQueue: integer(1, Number.MAX_SAFE_INTEGER, "no limit"),
  writeHighWaterMark: integer(0),
  writeLowWaterMark: integer(0),
  pingInterval: milliseconds(true, "no keepalive"),
  pingTimeout: milliseconds(true, "waiting forever"),
  closeTimeout: milliseconds(false),
};

/** permessage-deflate parameters: the object form of `compression`. */
export const DEFLATE_OPTIONS: Schema<DeflateOptions> = {
  serverNoContextTakeover: boolean,
  clientNoContextTakeover: boolean,
  serverMaxWindowBits: integer(8, 15),
  clientMaxWindowBits: either([boolean, integer(8, 15)], (value, path, ctx) =>
    invalid(ctx, path, "an integer from 8 to 15, or true/false", value, typeof value === "number"),
  ),
  memLevel: integer(1, 9),
  level: integer(-1, 9),
  threshold: integer(0),
  compressionWindowBits: integer(8, 15),
};

const HEAD_LIMITS: Schema<HeadLimits> = {
  maxHeadSize: integer(256),
  maxHeaders: integer(1),
};

const deflateObject = nested("permessage-deflate parameters", DEFLATE_OPTIONS);

/** `"deflate"`, null, or permessage-deflate parameters. */
const compression: Check = (value, path, ctx) => {
  const expected = '"deflate" (the default), null for no compression, or an object of permessage-deflate parameters';
  if (value === null || value === "deflate") return;
  if (typeof value === "string") invalid(ctx, path, expected, value, true);
  if (value === false) invalid(ctx, path, `${expected} (use null to turn compression off)`, value);
  if (value === true) invalid(ctx, path, `${expected} (compression is on by default)`, value);
  if (!isPlainObject(value)) invalid(ctx, path, expected, value);
  deflateObject(value, path, ctx);
};

/** The largest message: bytes, or null for no limit. */
const maxSize = integer(0, Number.MAX_SAFE_INTEGER, "no limit");

/** Subprotocols: an array of tokens, in order of preference. */
const subprotocols: Check = (value, path, ctx) => {
  const expected = 'an array of subprotocol names (e.g. ["chat.v1"]), or null';
  if (value === null) return;
  if (typeof value === "string") invalid(ctx, path, `${expected} (did you mean [${JSON.stringify(value)}]?)`, value);
  if (!Array.isArray(value)) invalid(ctx, path, expected, value);
  value.forEach((p: unknown, i) => {
    if (typeof p !== "string") invalid(ctx, `${path}[${i}]`, "a string", p);
    if (!isToken(p)) invalid(ctx, `${path}[${i}]`, "an HTTP token (letters, digits and !#$%&'*+-.^_`|~, no spaces or commas)", p, true);
  });
};

/** Extension factories: objects with a `name`. */
function extensions(role: "server" | "client"): Check {
  const members = role === "server" ? ["accept"] : ["offers", "accept"];
  const expected = `an array of ${role} extension factories ({ name, ${members.join(", ")} })`;
  return (value, path, ctx) => {
    if (!Array.isArray(value)) invalid(ctx, path, expected, value);
    value.forEach((f: unknown, i) => {
      const ok =
        typeof f === "object" &&
        f !== null &&
        typeof (f as { name?: unknown }).name === "string" &&
        members.every((m) => typeof (f as Record<string, unknown>)[m] === "function");
      if (!ok) invalid(ctx, `${path}[${i}]`, `a ${role} extension factory ({ name, ${members.join(", ")} })`, f);
    });
  };
}

/** `origins`: an array of origins / RegExps / null, or a predicate; compiled once here to refuse bad entries early. */
const origins: Check = (value, path, ctx) => {
  const expected = 'an array of allowed origins (strings like "https://example.com", RegExps, null), a function (origin, request) => boolean, or null for any origin';
  if (value === null) return;
  if (typeof value === "string") invalid(ctx, path, `${expected} (did you mean [${JSON.stringify(value)}]?)`, value);
  if (typeof value !== "function" && !Array.isArray(value)) invalid(ctx, path, expected, value);
  try {
    compileOrigins(value as OriginPolicy);
  } catch (err) {
    throw argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: ${path}${(err as Error).message.replace(/^origins/, "")}`, err instanceof RangeError);
  }
};

/** Where failures are reported: null, or an object with an `error` method (console, pino...); the other levels, if there, must be methods. */
const logger: Check = (value, path, ctx) => {
  const expected = "a logger with an error(...) method (console, or a pino-style logger with child()), or null to log nothing";
  if (value === null) return;
  if (typeof value !== "object" || typeof (value as { error?: unknown }).error !== "function") invalid(ctx, path, expected, value);
  for (const level of ["warn", "info", "debug", "child"]) {
    const method = (value as Record<string, unknown>)[level];
    if (method !== undefined && typeof method !== "function") invalid(ctx, `${path}.${level}`, "a function (or absent)", method);
  }
};

const port = integer(0, 65535);

/** `socketPath`: a Unix socket path (Linux: at most 107 bytes; "\0..." for an abstract socket). */
const socketPath: Check = (value, path, ctx) => {
  const expected = 'a Unix socket path such as "/run/app.sock" (at most 107 bytes)';
  if (typeof value !== "string") invalid(ctx, path, expected, value);
  if (value === "" || value.includes("\0", 1) || Buffer.byteLength(value) > 107) invalid(ctx, path, expected, value, true);
};

/** `path`: the pathname an attached server takes, exactly. */
const pathOption: Check = (value, path, ctx) => {
  const expected = 'a pathname starting with "/", without "?" or "#" (e.g. "/chat")';
  if (typeof value !== "string") invalid(ctx, path, expected, value);
  if (!value.startsWith("/") || /[?#\s]/.test(value)) invalid(ctx, path, expected, value, true);
};

/** A header value we write ourselves (`serverHeader`, `userAgent`, `origin`). */
function headerValue(orNull: string): Check {
  const expected = `a string without CR, LF or other control characters, or null for ${orNull}`;
  return (value, path, ctx) => {
    if (value === null) return;
    if (typeof value !== "string") invalid(ctx, path, expected, value);
    if (!isFieldValue(value)) invalid(ctx, path, expected, value, true);
  };
}

/** The handshake's own headers: `headers` may not set them. */
const RESERVED_HEADERS: Record<string, string> = {
  upgrade: "the handshake sets it",
  connection: "the handshake sets it",
  "sec-websocket-key": "the handshake sets it",
  "sec-websocket-version": "the handshake sets it",
  "sec-websocket-accept": "the handshake sets it",
  "sec-websocket-protocol": "use the subprotocols option",
  "sec-websocket-extensions": "use the compression or extensions option",
};

/** Extra request headers: an object of name: value, or an iterable of [name, value] pairs. */
const requestHeaders: Check = (value, path, ctx) => {
  const expected = "an object of name: value strings, or an iterable of [name, value] pairs (a Map, a Headers...)";
  if (typeof value !== "object" || value === null) invalid(ctx, path, expected, value);
  const iterable = typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
  const pairs: unknown[] = iterable ? Array.from(value as Iterable<unknown>) : Object.entries(value);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) invalid(ctx, `${path} entry`, "a [name, value] pair", pair);
    const [name, v] = pair as [unknown, unknown];
    if (typeof name !== "string" || !isToken(name)) {
      invalid(ctx, `${path} name`, "an HTTP token (no spaces, colons, CR or LF)", name, typeof name === "string");
    }
    const reserved = RESERVED_HEADERS[name.toLowerCase()];
    if (reserved !== undefined) {
      throw argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: ${path} may not set ${name}: ${reserved}`);
    }
    if (typeof v !== "string") invalid(ctx, `${path}[${JSON.stringify(name)}]`, "a string", v);
    if (!isFieldValue(v)) invalid(ctx, `${path}[${JSON.stringify(name)}]`, "a string without CR, LF or other control characters", v, true);
  }
};

/** `sock`: an already-connected stream socket. */
const sock: Check = (value, path, ctx) => {
  const ok =
    typeof value === "object" &&
    value !== null &&
    typeof (value as { write?: unknown }).write === "function" &&
    typeof (value as { on?: unknown }).on === "function";
  if (!ok) invalid(ctx, path, "a connected net.Socket (or another Duplex stream)", value);
};

const localAddress: Check = (value, path, ctx) => {
  if (typeof value !== "string") invalid(ctx, path, "an IP address string", value);
  if (net.isIP(value) === 0) invalid(ctx, path, "an IP address string", value, true);
};

const family: Check = (value, path, ctx) => {
  if (typeof value !== "number") invalid(ctx, path, "4, 6 or 0 (either)", value);
  if (value !== 0 && value !== 4 && value !== 6) invalid(ctx, path, "4, 6 or 0 (either)", value, true);
};

/** `signal`: an AbortSignal. */
const signal: Check = (value, path, ctx) => {
  if (!(value instanceof AbortSignal)) invalid(ctx, path, "an AbortSignal (from an AbortController, or AbortSignal.timeout(ms))", value);
};

/** `writeLowWaterMark` must not be above the (given or default) `writeHighWaterMark`. */
function crossConnection(options: Record<string, unknown>, ctx: CheckContext): void {
  const low = options["writeLowWaterMark"];
  if (typeof low !== "number") return;
  const given = options["writeHighWaterMark"];
  const high = typeof given === "number" ? given : DEFAULT_WRITE_HIGH;
  if (low > high) {
    throw argumentError(
      "WS_ERR_INVALID_OPTION",
      `${ctx.where}: options.writeLowWaterMark (${low}) must not be above writeHighWaterMark (${high}${typeof given === "number" ? "" : ", the default"})`,
      true,
    );
  }
}

/** Names that `ws` and Python `websockets` use, with what to write instead. */
const COMMON_ALIASES: Record<string, string> = {
  maxPayload: "maxSize",
  max_size: "maxSize",
  perMessageDeflate: "compression",
  handshakeTimeout: "openTimeout",
  protocols: "subprotocols",
  protocol: "subprotocols",
  ssl: "tls",
  skipUTF8Validation: "wavesock always validates UTF-8",
  autoPong: "pings are always answered",
};

/** Every option of a server; {@link SERVE_OPTIONS} and {@link ATTACH_OPTIONS} refuse a few. */
export const SERVER_OPTIONS: Schema<ServerOptions> = {
  ...CONNECTION_OPTIONS,
  host: string(true),
  port,
  socketPath,
  tls: object("TLS options (key, cert... as for tls.createServer)", "a plain ws:// server"),
  path: pathOption,
  shouldHandle: func("(request: IncomingMessage) => boolean"),
  processRequest: func("(connection, request) => response | undefined"),
  processResponse: func("(connection, request, response) => response | undefined"),
  origins,
  subprotocols,
  selectSubprotocol: func("(offered: string[], request) => string | null"),
  compression,
  extensions: extensions("server"),
  maxSize,
  openTimeout: milliseconds(true),
  maxConnections: integer(1, Number.MAX_SAFE_INTEGER, "no limit"),
  serverHeader: headerValue("no Server header"),
  headLimits: nested("head limits { maxHeadSize, maxHeaders }", HEAD_LIMITS),
  logger,
  // Checked in depth by the topic hub (./topics.ts) when the server is made.
  pubsub: object("a pub/sub backplane (localPubSub(), redisPubSub({...}))", "the in-process default"),
  topics: object("topic options { envelope, maxBackpressure, closeOnBackpressureLimit, maxResumeBuffer }", "the defaults"),
};

const SERVER_ALIASES: Record<string, string> = {
  ...COMMON_ALIASES,
  verifyClient: "processRequest",
  handleProtocols: "selectSubprotocol",
  clientTracking: "server.connections always tracks them",
  noServer: "for the noServer pattern, call attach(null, handler, options) and route upgrades to server.handleUpgrade()",
  server: "to run on an HTTP server, call attach(httpServer, handler, options)",
  origin: "origins",
  process_request: "processRequest",
  extra_headers: "processResponse",
};

/** `serve()` options: it answers every request itself. */
export const SERVE_OPTIONS: Schema<ServerOptions> = {
  ...SERVER_OPTIONS,
  shouldHandle: notHere("serve() answers every request; answer the ones you don't want in processRequest"),
};

/** `host` / `port` name a TCP endpoint: not with `socketPath`. */
function crossServe(options: Record<string, unknown>, ctx: CheckContext): void {
  crossConnection(options, ctx);
  if (options["socketPath"] === undefined) return;
  for (const name of ["host", "port"]) {
    if (options[name] !== undefined) {
      throw argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: options.socketPath and options.${name} do not go together: a server listens on a Unix socket or on TCP`);
    }
  }
}

/** `attach()` options: the HTTP server listens, so `host`, `port` and `tls` are its business. */
export const ATTACH_OPTIONS: Schema<ServerOptions> = {
  ...SERVER_OPTIONS,
  host: notHere("the HTTP server listens; pass the host to httpServer.listen()"),
  port: notHere("the HTTP server listens; pass the port to httpServer.listen()"),
  tls: notHere("attach to an https.Server for wss://"),
  socketPath: notHere("the HTTP server listens; pass the path to httpServer.listen(path)"),
};

/** `connect()` options. */
export const CONNECT_OPTIONS: Schema<ConnectOptions> = {
  ...CONNECTION_OPTIONS,
  origin: headerValue("no Origin header"),
  subprotocols,
  headers: requestHeaders,
  userAgent: headerValue("no User-Agent header"),
  compression,
  extensions: extensions("client"),
  maxSize,
  openTimeout: milliseconds(true),
  tls: object("TLS options (ca, rejectUnauthorized, servername... as for tls.connect)", "the defaults"),
  sock,
  localAddress,
  family,
  headLimits: nested("head limits { maxHeadSize, maxHeaders }", HEAD_LIMITS),
  logger,
  signal,
  socketPath,
  transport: func("(target: { host, port, secure }, signal: AbortSignal) => Promise<net.Socket>"),
};

/** Names that `ws`, Python `websockets` and Node's `http` use for `connect()` options, with what to write instead. */
export const CONNECT_ALIASES: Record<string, string> = {
  ...COMMON_ALIASES,
  origins: "origin",
  host: 'the host goes in the URI: connect("ws://host:port/path")',
  port: 'the port goes in the URI: connect("ws://host:port/path")',
  path: 'the request path goes in the URI: connect("ws://host:port/path"); for a Unix socket, use socketPath or a ws+unix:///path/to.sock:/request/path URI',
  unix: "socketPath",
  createConnection: "transport",
  agent: "proxy (a proxy URL) or transport (a function that opens the stream)",
  max_redirects: "maxRedirects",
  process_exception: "processException",
  extra_headers: "headers",
  additional_headers: "headers",
  user_agent_header: "userAgent",
  followRedirects: "maxRedirects",
};

/** `broadcast()` options and `send()` options. */
export const BROADCAST_OPTIONS: Schema<BroadcastOptions> = { compress: boolean };

const SERVER_EXTRAS: ValidateExtras = { aliases: SERVER_ALIASES, cross: crossConnection };
/** Checks across `connect()` options: the water marks, and at most one way to get the socket. */
export function crossConnect(options: Record<string, unknown>, ctx: CheckContext): void {
  crossConnection(options, ctx);
  const given = ["sock", "socketPath", "transport"].filter((name) => options[name] !== undefined);
  if (given.length > 1) {
    throw argumentError(
      "WS_ERR_INVALID_OPTION",
      `${ctx.where}: options.${given[0]} and options.${given[1]} cannot be used together: each one says how to reach the server`,
    );
  }
}

const SERVE_EXTRAS: ValidateExtras = { aliases: SERVER_ALIASES, cross: crossServe };
const CONNECT_EXTRAS: ValidateExtras = { aliases: CONNECT_ALIASES, cross: crossConnect };

/** Check the options of `serve()`. */
export function validateServeOptions(options: unknown): void {
  validateOptions("serve()", options, SERVE_OPTIONS, SERVE_EXTRAS);
}

/** Check the options of `attach()`. */
export function validateAttachOptions(options: unknown): void {
  validateOptions("attach()", options, ATTACH_OPTIONS, SERVER_EXTRAS);
}

/** Check the options of `connect()`. */
export function validateConnectOptions(options: unknown): void {
  validateOptions("connect()", options, CONNECT_OPTIONS, CONNECT_EXTRAS);
}

/** Check the options of `broadcast()` (only when some are given: it runs per message). */
export function validateBroadcastOptions(options: unknown): void {
  validateOptions("broadcast()", options, BROADCAST_OPTIONS);
}

/** Check the options of `send()` (only when some are given: it runs per message). */
export function validateSendOptions(options: unknown): void {
  validateOptions("send()", options, BROADCAST_OPTIONS);
}

const SIGNALS: Check = (value, path, ctx) => {
  const expected = 'an array of signal names such as ["SIGINT", "SIGTERM"] ([] for none)';
  if (!Array.isArray(value)) invalid(ctx, path, expected, value);
  value.forEach((s: unknown, i) => {
    if (typeof s !== "string" || !/^SIG[A-Z0-9]+$/.test(s)) invalid(ctx, `${path}[${i}]`, 'a signal name such as "SIGTERM"', s, typeof s === "string");
  });
};

/** `server.serveForever()` options. */
export const SERVE_FOREVER_OPTIONS: Schema<ServeForeverOptions> = { signals: SIGNALS };

/** Check the options of `server.serveForever()`. */
export function validateServeForeverOptions(options: unknown): void {
  validateOptions("server.serveForever()", options, SERVE_FOREVER_OPTIONS);
}

/** Check that a connection handler is a function, or callbacks `{ open?, message, close? }`. */
export function validateHandler(where: string, handler: unknown): void {
  if (typeof handler === "function") return;
  // An object that names none of the callbacks is a mistake of another kind (options passed first, say).
  if (typeof handler === "object" && handler !== null && ["open", "message", "close"].some((k) => k in handler)) {
    const h = handler as Record<string, unknown>;
    for (const name of ["open", "message", "close"]) {
      const f = h[name];
      if (f === undefined && name !== "message") continue;
      if (typeof f !== "function") {
        throw argumentError(
          "WS_ERR_INVALID_ARGUMENT",
          `${where}: handler.${name} must be a function (${name === "message" ? "connection, data" : name === "close" ? "connection, code, reason" : "connection"}) => ...; got ${describeValue(f)}`,
        );
      }
    }
    return;
  }
  throw argumentError(
    "WS_ERR_INVALID_ARGUMENT",
    `${where}: handler must be a function (connection) => ... called for each connection, or callbacks { open?, message, close? }; got ${describeValue(handler)}`,
  );
}
