/**
 * Server side of the opening handshake (RFC 6455 §4.2): validate a client's
 * request, negotiate the subprotocol and the extensions, build the 101
 * response, or say which HTTP error to answer with.
 *
 * Sans-IO: the request comes from {@link RequestHeadParser} (bytes read by
 * the adapter) or from {@link requestFromNode} (a request `node:http`
 * already parsed); the response goes out through {@link serializeResponse}.
 *
 * Every refusal is an {@link InvalidHandshake} whose `status` is the HTTP
 * status to answer with and whose `code` is stable:
 *
 * | code | status | cause |
 * |---|---|---|
 * | `WS_ERR_INVALID_METHOD` | 405 | method other than GET (with `Allow: GET`) |
 * | `WS_ERR_UNSUPPORTED_HTTP_VERSION` | 505 | HTTP version other than 1.1 |
 * | `WS_ERR_INVALID_HOST` | 400 | missing or repeated `Host` |
 * | `WS_ERR_INVALID_UPGRADE` | 400 | `Upgrade` without `websocket` |
 * | `WS_ERR_INVALID_CONNECTION` | 400 | `Connection` without `upgrade` |
 * | `WS_ERR_UNSUPPORTED_VERSION` | 426 | `Sec-WebSocket-Version` not 13 (with `Sec-WebSocket-Version: 13`) |
 * | `WS_ERR_INVALID_KEY` | 400 | `Sec-WebSocket-Key` missing or not 16 bytes in base64 |
 * | `WS_ERR_INVALID_ORIGIN` | 400 | repeated `Origin` |
 * | `WS_ERR_ORIGIN_FORBIDDEN` | 403 | `Origin` not in `origins` |
 * | `WS_ERR_INVALID_SUBPROTOCOL` | 400 | malformed `Sec-WebSocket-Protocol` |
 * | `WS_ERR_INVALID_EXTENSION` | 400 | malformed `Sec-WebSocket-Extensions` |
 * | `WS_ERR_SUBPROTOCOL_SELECTION` | 500 | `selectSubprotocol` returned one the client did not offer |
 */

import * as crypto from "node:crypto";
import { InvalidHandshake, argumentError, type WebSocketErrorCode } from "../errors.js";
import type { MessageExtension, ServerExtensionFactory, ExtensionOffer } from "../extensions/types.js";
import { parseExtensionHeader, parseSubprotocolHeader, serializeExtensionHeader, tokenListIncludes } from "./headers.js";
import type { HttpRequest, HttpResponse } from "./http.js";
import { normalizeResponse } from "./response.js";

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`. RFC 6455
 * §4.2.2: "concatenate this with the Globally Unique Identifier ... take the
 * SHA-1 hash of this concatenated value ... base64-encode ... this 20-byte hash".
 */
export function acceptKey(key: string): string {
  // The one-shot `crypto.hash` (Node 20.12+) is several times faster than a
  // Hash object, and this runs once per connection; older 20.x fall back.
  if (typeof crypto.hash === "function") return crypto.hash("sha1", key + WEBSOCKET_GUID, "base64");
  return crypto.createHash("sha1").update(key).update(WEBSOCKET_GUID).digest("base64");
}

/** How the server negotiates; every field is optional. */
export interface ServerHandshakeOptions {
  /** Subprotocols the server supports, most preferred first. */
  subprotocols?: readonly string[] | null;
  /**
   * Choose the subprotocol instead of the default rule (the first of
   * `subprotocols` that the client offered). Called even when the client
   * offered none. Must return one of `offered` or null; may throw
   * {@link InvalidHandshake} to refuse the connection.
   */
  selectSubprotocol?: (offered: string[], request: HttpRequest) => string | null;
  /** Which `Origin`s may connect (see {@link OriginPolicy}); others get 403. Null or absent: any origin. */
  origins?: OriginPolicy | null;
  /** Extensions the server supports, tried in the order the client offers them. */
  extensions?: readonly ServerExtensionFactory[];
  /** Extra headers for the 101 response (e.g. `Server`); they cannot replace the WebSocket ones. */
  headers?: Record<string, string>;
}

/**
 * Which origins may open a connection:
 * - an array of exact origins (`"https://example.com"`, `"http://localhost:3000"`),
 *   RegExps tested against the `Origin` header as sent (anchor them:
 *   `/^https:\/\/[a-z]+\.example\.com$/`), and `null` to allow requests
 *   without an `Origin` header (non-browser clients);
 * - or a predicate `(origin, request) => boolean`, called with the header
 *   (undefined when absent); it must return `true` or `false`, synchronously.
 *
 * Strings match exactly, with RFC 6454's rules: scheme and host are
 * case-insensitive and a default port is the same as none
 * (`https://Example.com:443` is `https://example.com`). A string that is not
 * an origin (`scheme://host[:port]`, or `"null"`) is refused when the
 * policy is compiled: a path or a trailing slash would never match. An
 * array is read once, when first used (the server reads it when it
 * starts): for a list that changes at runtime, pass a predicate.
 */
export type OriginPolicy = readonly (string | RegExp | null)[] | ((origin: string | undefined, request: HttpRequest) => boolean);

/** Compiled origin policies, so that a policy given on every call is compiled once. */
const compiledPolicies = new WeakMap<object, (origin: string | undefined, request: HttpRequest) => boolean>();

/**
 * The serialisation of an origin that string entries are compared in
 * (RFC 6454 §6.2): lower-case scheme and host, no default port; `"null"`
 * as is. Null when `value` is not an origin (a path, a query, user info...).
 */
export function canonicalOrigin(value: string): string | null {
  if (value === "null") return value;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[0-9A-Fa-f:.]+\]|[^/?#@:[\]\s\\]+)(?::([0-9]{1,5}))?$/.exec(value);
  if (m === null) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === "http" || scheme === "https" || scheme === "ws" || scheme === "wss") {
    // The WHATWG parser gives the host as browsers serialise it (IDN to
    // punycode, IPv6 compressed) and drops a default port.
    try {
      const url = new URL(value);
      return `${url.protocol}//${url.host}`;
    } catch {
      return null;
    }
  }
  return `${scheme}://${m[2]!.toLowerCase()}${m[3] === undefined ? "" : `:${Number(m[3])}`}`;
}

/**
 * Turn an {@link OriginPolicy} into a predicate. Throws `TypeError` /
 * `RangeError` (code `WS_ERR_INVALID_OPTION`) for an entry that is not an
 * origin, a RegExp with the stateful `g` or `y` flag, or anything else.
 */
export function compileOrigins(policy: OriginPolicy): (origin: string | undefined, request: HttpRequest) => boolean {
  const cached = compiledPolicies.get(policy);
  if (cached !== undefined) return cached;
  let compiled: (origin: string | undefined, request: HttpRequest) => boolean;
  if (typeof policy === "function") {
    compiled = (origin, request) => {
      const verdict: unknown = policy(origin, request);
      if (typeof verdict !== "boolean") {
        throw argumentError(
          "WS_ERR_INVALID_OPTION",
          `the origins predicate must return true or false synchronously; it returned ${verdict instanceof Promise ? "a Promise (check asynchronously in processRequest)" : String(verdict)}`,
        );
      }
      return verdict;
    };
  } else if (Array.isArray(policy)) {
    const exact = new Set<string>();
    const patterns: RegExp[] = [];
    let allowMissing = false;
    policy.forEach((entry: unknown, i: number) => {
      if (entry === null) allowMissing = true;
      else if (entry instanceof RegExp) {
        if (entry.global || entry.sticky) {
          throw argumentError("WS_ERR_INVALID_OPTION", `origins[${i}] ${String(entry)} has the g or y flag, which makes test() stateful`, true);
        }
        patterns.push(entry);
      } else if (typeof entry === "string") {
        const canonical = canonicalOrigin(entry);
        if (canonical === null) {
          const hint = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]+\/$/.test(entry) ? ` (did you mean ${JSON.stringify(entry.slice(0, -1))}?)` : "";
          throw argumentError(
            "WS_ERR_INVALID_OPTION",
            `origins[${i}] must be an origin, scheme://host[:port] with no path, or "null"; got ${JSON.stringify(entry)}${hint}`,
            true,
          );
        }
        exact.add(canonical);
      } else {
        throw argumentError("WS_ERR_INVALID_OPTION", `origins[${i}] must be a string, a RegExp or null; got ${typeof entry}`);
      }
    });
    compiled = (origin) => {
      if (origin === undefined) return allowMissing;
      if (exact.size > 0) {
        const canonical = canonicalOrigin(origin);
        if (canonical !== null && exact.has(canonical)) return true;
      }
      for (const re of patterns) if (re.test(origin)) return true;
      return false;
    };
  } else {
    throw argumentError("WS_ERR_INVALID_OPTION", "origins must be an array of origins (strings, RegExps, null) or a function (origin, request) => boolean");
  }
  compiledPolicies.set(policy, compiled);
  return compiled;
}

/** A successful negotiation. */
export interface ServerHandshakeResult {
  /** The 101 response to send. */
  response: HttpResponse;
  /** The negotiated subprotocol, or null. */
  subprotocol: string | null;
  /** The negotiated extensions, in the order they apply to outgoing data. */
  extensions: MessageExtension[];
}

function refuse(status: number, code: WebSocketErrorCode, message: string, headers?: Record<string, string>): InvalidHandshake {
  return new InvalidHandshake(message, headers === undefined ? { status, code } : { status, code, headers });
}

/**
 * Validate an opening handshake request (RFC 6455 §4.2.1) and negotiate.
 * Returns the 101 response and what was negotiated, or throws
 * {@link InvalidHandshake} with the status to answer with (see the table at
 * the top of this file). Exceptions thrown by the callbacks and extension
 * factories propagate unchanged.
 */
export function acceptRequest(request: HttpRequest, options: ServerHandshakeOptions = {}): ServerHandshakeResult {
  const headers = request.headers;
  // §4.2.1: "An HTTP/1.1 or higher GET request"
  if (request.method !== "GET") {
    throw refuse(405, "WS_ERR_INVALID_METHOD", `method ${request.method} not allowed; use GET`, { allow: "GET" });
  }
  if (request.version !== "1.1") {
    throw refuse(505, "WS_ERR_UNSUPPORTED_HTTP_VERSION", `unsupported HTTP version: ${request.version}; use 1.1`);
  }
  // §4.2.1: "A |Host| header field containing the server's authority."
  // RFC 7230 §5.4: "A server MUST respond with a 400 ... to any HTTP/1.1
  // request message that lacks a Host header field and to any request
  // message that contains more than one Host header field".
  const host = headers["host"];
  if (host === undefined) throw refuse(400, "WS_ERR_INVALID_HOST", "missing Host header");
  if (host.includes(",")) throw refuse(400, "WS_ERR_INVALID_HOST", "more than one Host header");
  const upgrade = headers["upgrade"];
  if (upgrade === undefined || !tokenListIncludes(upgrade, "websocket")) {
    throw refuse(400, "WS_ERR_INVALID_UPGRADE", "missing or invalid Upgrade header; expected websocket");
  }
  const connection = headers["connection"];
  if (connection === undefined || !tokenListIncludes(connection, "upgrade")) {
    throw refuse(400, "WS_ERR_INVALID_CONNECTION", "missing or invalid Connection header; expected Upgrade");
  }
  // Checked before the key: a client speaking another version should learn
  // which one we speak. §4.2.2: "send an appropriate HTTP error code (such
  // as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field
  // indicating the version(s) the server is capable of understanding."
  const version = headers["sec-websocket-version"];
  if (version !== "13") {
    const got = version === undefined ? "missing Sec-WebSocket-Version header" : `unsupported Sec-WebSocket-Version: ${version}`;
    throw refuse(426, "WS_ERR_UNSUPPORTED_VERSION", `${got}; expected 13`, { "sec-websocket-version": "13" });
  }
  const key = headers["sec-websocket-key"];
  if (key === undefined || !isValidKey(key)) {
    throw refuse(400, "WS_ERR_INVALID_KEY", key === undefined ? "missing Sec-WebSocket-Key header" : "invalid Sec-WebSocket-Key header");
  }
  if (options.origins != null) checkOrigin(headers["origin"], options.origins, request);
  const subprotocol = negotiateSubprotocol(request, options);
  const { extensions, header: extensionHeader } = negotiateExtensions(headers["sec-websocket-extensions"], options.extensions);
  const response: HttpResponse = {
    status: 101,
    reason: "Switching Protocols",
    headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-accept": acceptKey(key) },
  };
  const out = response.headers;
  if (extensionHeader !== null) out["sec-websocket-extensions"] = extensionHeader;
  if (subprotocol !== null) out["sec-websocket-protocol"] = subprotocol;
  if (options.headers !== undefined) {
    for (const name of Object.keys(options.headers)) {
      const lower = name.toLowerCase();
      if (out[lower] === undefined) out[lower] = options.headers[name]!;
    }
  }
  return { response, subprotocol, extensions };
}

/**
 * §4.2.1: "a base64-encoded value that, when decoded, is 16 bytes in
 * length". Sixteen bytes encode to exactly 22 base64 characters and "==".
 * The unused low bits of the last character are not checked, like most
 * servers: a client's encoder always zeroes them.
 */
function isValidKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return false;
  }
  return true;
}

/**
 * §4.2.2: "If the server does not wish to accept this connection, it MUST
 * return an appropriate HTTP error code (e.g., 403 Forbidden)". Origins are
 * serialised origins: a comma in one means the header was repeated.
 */
function checkOrigin(origin: string | undefined, policy: OriginPolicy, request: HttpRequest): void {
  if (origin !== undefined && origin.includes(",")) throw refuse(400, "WS_ERR_INVALID_ORIGIN", "more than one Origin header");
  if (!compileOrigins(policy)(origin, request)) {
    throw refuse(403, "WS_ERR_ORIGIN_FORBIDDEN", origin === undefined ? "missing Origin header" : `origin not allowed: ${origin}`);
  }
}

/** The subprotocol to answer with, or null for none (§4.2.2 /subprotocol/). */
function negotiateSubprotocol(request: HttpRequest, options: ServerHandshakeOptions): string | null {
  const header = request.headers["sec-websocket-protocol"];
  const offered = header === undefined ? [] : parseSubprotocolHeader(header);
  if (options.selectSubprotocol !== undefined) {
    const selected = options.selectSubprotocol(offered, request);
    if (selected !== null && !offered.includes(selected)) {
      throw refuse(500, "WS_ERR_SUBPROTOCOL_SELECTION", `selectSubprotocol returned ${JSON.stringify(selected)}, which the client did not offer`);
    }
    return selected;
  }
  const supported = options.subprotocols;
  if (supported == null || offered.length === 0) return null;
  // The server's order of preference decides, not the client's.
  for (const candidate of supported) if (offered.includes(candidate)) return candidate;
  return null;
}

/**
 * Try each offer in the client's order (§9.1: "the order of the elements is
 * significant as it specifies the order of preference"); the first offer a
 * factory accepts for its extension wins and later offers of the same
 * extension are skipped. Unknown extensions are ignored.
 */
function negotiateExtensions(
  header: string | undefined,
  factories: readonly ServerExtensionFactory[] | undefined,
): { extensions: MessageExtension[]; header: string | null } {
  const extensions: MessageExtension[] = [];
  if (header === undefined || factories === undefined || factories.length === 0) return { extensions, header: null };
  const accepted: ExtensionOffer[] = [];
  for (const offer of parseExtensionHeader(header)) {
    const factory = factories.find((f) => f.name === offer.name);
    if (factory === undefined || accepted.some((a) => a.name === offer.name)) continue;
    const result = factory.accept(offer.params, extensions);
    if (result === null) continue;
    extensions.push(result.extension);
    accepted.push({ name: offer.name, params: result.response });
  }
  return { extensions, header: accepted.length === 0 ? null : serializeExtensionHeader(accepted) };
}

/**
 * An HTTP response that answers the request instead of upgrading it (the
 * `respond()` of `processRequest`): `status` with its standard reason
 * phrase, `text` as a short UTF-8 plain-text body, `Connection: close` (the
 * connection is not reused after a refused handshake), plus `headers`
 * (names in any case; values strings or numbers).
 *
 * Throws `RangeError` (code `WS_ERR_INVALID_ARGUMENT`) for a status outside
 * 200–599 — a 1xx is not a final answer, and only the handshake sends a
 * 101 — and `TypeError` for a text that is not a string or a header that
 * could not be sent (a name that is not a token; CR, LF or NUL in a value).
 */
export function rejectResponse(status: number, text: string = "", headers: Record<string, string | number> = {}): HttpResponse {
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    throw argumentError(
      "WS_ERR_INVALID_ARGUMENT",
      `respond(status, text, headers): status must be an integer from 200 to 599 (only the handshake sends a 101); got ${JSON.stringify(status) ?? String(status)}`,
      typeof status === "number",
    );
  }
  if (typeof text !== "string") {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `respond(status, text, headers): text must be a string; got ${text === null ? "null" : typeof text}`);
  }
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", "respond(status, text, headers): headers must be an object of name: value");
  }
  const response = normalizeResponse({ status, headers, body: text });
  const out = response.headers;
  out["content-type"] ??= "text/plain; charset=utf-8";
  out["connection"] ??= "close";
  return response;
}

/**
 * The response for a refused handshake: `rejectResponse(err.status,
 * err.message, err.headers)`. A status that is not an error status (an
 * extension factory's mistake) answers 500.
 */
export function responseForError(err: InvalidHandshake): HttpResponse {
  const status = Number.isInteger(err.status) && err.status >= 400 && err.status <= 599 ? err.status : 500;
  try {
    return rejectResponse(status, `${err.message}\n`, err.headers);
  } catch {
    // Headers that cannot be sent (an extension factory's mistake): without them.
    return rejectResponse(status, `${err.message}\n`);
  }
}
