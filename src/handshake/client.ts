/**
 * Client side of the opening handshake (RFC 6455 §4.1): build the request
 * with a fresh `Sec-WebSocket-Key`, then read and check the server's response.
 *
 * Sans-IO: the adapter writes `request()` to the socket, feeds every chunk
 * it reads to `receive()` until that returns a result, then hands `rest` (the
 * server's first frames, if any arrived with the head) to the connection.
 *
 * Failures, all {@link InvalidHandshake} with a stable `code`:
 * `WS_ERR_INVALID_STATUS` ({@link InvalidStatus}, any status but 101, with
 * the response), `WS_ERR_INVALID_UPGRADE`, `WS_ERR_INVALID_CONNECTION`,
 * `WS_ERR_INVALID_ACCEPT`, `WS_ERR_INVALID_SUBPROTOCOL`,
 * `WS_ERR_INVALID_EXTENSION`, and the head parser's `WS_ERR_INVALID_HTTP`,
 * `WS_ERR_HEAD_TOO_LARGE`, `WS_ERR_TOO_MANY_HEADERS`,
 * `WS_ERR_UNSUPPORTED_HTTP_VERSION`.
 */

import { Buffer } from "node:buffer";
import { getRandomValues } from "node:crypto";
import { InvalidHandshake, InvalidStatus, argumentError, type WebSocketErrorCode } from "../errors.js";
import type { ClientExtensionFactory, ExtensionOffer, MessageExtension } from "../extensions/types.js";
import { isToken, parseExtensionHeader, parseSubprotocolHeader, parseTokenList, serializeExtensionHeader, tokenListIncludes } from "./headers.js";
import { ResponseHeadParser, serializeRequest } from "./http.js";
import type { HeadLimits, HttpResponse } from "./http.js";
import { acceptKey } from "./server.js";
import type { WebSocketURI } from "./uri.js";

/** The `User-Agent` sent when {@link ClientHandshakeOptions.userAgent} is not given. */
export const DEFAULT_USER_AGENT = "wavesock/0.1 (Node.js)";

/** What the client asks for. Only `uri` is required. */
export interface ClientHandshakeOptions {
  /** Where to connect: gives the request target, `Host` and credentials. */
  uri: WebSocketURI;
  /** `Origin` header to send; none when null or absent. */
  origin?: string | null;
  /** Subprotocols to offer, most preferred first (each must be a token). */
  subprotocols?: readonly string[] | null;
  /** Extensions to offer; each factory's offers are sent in order. */
  extensions?: readonly ClientExtensionFactory[];
  /**
   * Extra request headers. They may replace `Host`, `Origin`, `User-Agent`
   * and `Authorization`; naming a header the handshake itself controls
   * (`Upgrade`, `Connection`, `Sec-WebSocket-*`) throws `TypeError`.
   */
  headers?: Record<string, string> | Iterable<[string, string]>;
  /** `User-Agent` header; {@link DEFAULT_USER_AGENT} when absent, none when null. */
  userAgent?: string | null;
  /** Source of the 16 random key bytes; default `crypto.getRandomValues`. Tests pass fixed keys. */
  keySource?: () => Uint8Array;
  /** Bounds on the response head. */
  limits?: HeadLimits;
}

/** A successful handshake. */
export interface ClientHandshakeResult {
  /** The server's 101 response. */
  response: HttpResponse;
  /** The subprotocol the server selected, or null. */
  subprotocol: string | null;
  /** The negotiated extensions, in the order the server listed them. */
  extensions: MessageExtension[];
}

/** Headers the handshake owns: an extra header may not set them. */
const RESERVED = new Set([
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "sec-websocket-accept",
]);

/** One client opening handshake: build the request, then check the response. */
export class ClientHandshake {
  /** The `Sec-WebSocket-Key` sent: base64 of 16 random bytes (§4.1). */
  readonly key: string;
  readonly #options: ClientHandshakeOptions;
  readonly #parser: ResponseHeadParser;
  /** The extension offers, taken once so that `request()` and the response check agree. */
  readonly #offers: ExtensionOffer[];
  #result: ClientHandshakeResult | null = null;
  #error: unknown = null;

  /**
   * Draws the key and takes the extension offers. Throws `TypeError` when
   * `keySource` does not return 16 bytes or a subprotocol is not a token.
   */
  constructor(options: ClientHandshakeOptions) {
    this.#options = options;
    const bytes = options.keySource ? options.keySource() : getRandomValues(new Uint8Array(16));
    if (bytes.length !== 16) throw argumentError("WS_ERR_INVALID_OPTION", `keySource must return 16 bytes, got ${bytes.length}`);
    // §4.1: "a nonce consisting of a randomly selected 16-byte value that
    // has been base64-encoded"
    this.key = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString("base64");
    for (const p of options.subprotocols ?? []) {
      if (!isToken(p)) throw argumentError("WS_ERR_INVALID_OPTION", `invalid subprotocol: ${JSON.stringify(p)}`);
    }
    this.#offers = extensionOffers(options.extensions);
    this.#parser = new ResponseHeadParser(options.limits);
  }

  /**
   * The serialised GET request (§4.1). Throws `TypeError` on extra headers
   * that are invalid or that name a header the handshake controls.
   */
  request(): Uint8Array {
    const { uri, origin, subprotocols, userAgent } = this.#options;
    const headers = new Map<string, [string, string]>();
    const set = (name: string, value: string) => headers.set(name.toLowerCase(), [name, value]);
    set("Host", uri.hostHeader);
    set("Upgrade", "websocket");
    set("Connection", "Upgrade");
    set("Sec-WebSocket-Key", this.key);
    set("Sec-WebSocket-Version", "13");
    if (origin != null) set("Origin", origin);
    if (this.#offers.length > 0) set("Sec-WebSocket-Extensions", serializeExtensionHeader(this.#offers));
    if (subprotocols != null && subprotocols.length > 0) set("Sec-WebSocket-Protocol", subprotocols.join(", "));
    if (uri.user !== undefined) {
      // RFC 7617 §2: user-pass = user-id ":" password, base64 of its UTF-8 bytes.
      const credentials = Buffer.from(`${uri.user}:${uri.password ?? ""}`, "utf8").toString("base64");
      set("Authorization", `Basic ${credentials}`);
    }
    const agent = userAgent === undefined ? DEFAULT_USER_AGENT : userAgent;
    if (agent !== null) set("User-Agent", agent);
    const extra = this.#options.headers;
    if (extra !== undefined) {
      const pairs = isIterable(extra) ? extra : Object.entries(extra);
      for (const [name, value] of pairs) {
        if (RESERVED.has(name.toLowerCase())) {
          throw argumentError("WS_ERR_INVALID_OPTION", `header ${name} is set by the WebSocket handshake; use the matching option`);
        }
        set(name, value);
      }
    }
    return serializeRequest("GET", uri.resourceName, headers.values());
  }

  /**
   * Feed bytes read from the server. Returns null until the response head is
   * complete, then the negotiated result (and the same result for any later
   * chunk, which is appended to `rest`). Throws {@link InvalidStatus} for a
   * status other than 101, carrying the response and whatever part of its
   * body has arrived, or {@link InvalidHandshake} when the response is
   * malformed or does not match the request; the same error on later calls.
   */
  receive(chunk: Uint8Array): ClientHandshakeResult | null {
    if (this.#error !== null) throw this.#error;
    if (this.#result !== null) {
      this.#parser.push(chunk);
      return this.#result;
    }
    try {
      const response = this.#parser.push(chunk);
      if (response === null) return null;
      this.#result = this.#check(response);
      return this.#result;
    } catch (err) {
      this.#error = err;
      throw err;
    }
  }

  /** Bytes that followed the response head: the server's first frames. Empty if none. */
  get rest(): Uint8Array {
    return this.#parser.rest;
  }

  #check(response: HttpResponse): ClientHandshakeResult {
    if (response.status !== 101) {
      const body = bodyPrefix(response, this.#parser.rest);
      throw new InvalidStatus(body === undefined ? response : { ...response, body });
    }
    const fail = (code: WebSocketErrorCode, message: string) => new InvalidHandshake(message, { code, status: 101 });
    const h = response.headers;
    // §4.1: "If the response lacks an |Upgrade| header field or the |Upgrade|
    // header field contains a value that is not an ASCII case-insensitive
    // match for the value "websocket", the client MUST _Fail the WebSocket Connection_."
    const upgrade = h["upgrade"] === undefined ? [] : parseTokenList(h["upgrade"]);
    if (upgrade.length !== 1 || upgrade[0]!.toLowerCase() !== "websocket") {
      throw fail("WS_ERR_INVALID_UPGRADE", "missing or invalid Upgrade header in response");
    }
    // "... lacks a |Connection| header field or the |Connection| header field
    // doesn't contain a token that is an ASCII case-insensitive match for the value "Upgrade""
    if (h["connection"] === undefined || !tokenListIncludes(h["connection"], "upgrade")) {
      throw fail("WS_ERR_INVALID_CONNECTION", "missing or invalid Connection header in response");
    }
    if (h["sec-websocket-accept"] !== acceptKey(this.key)) {
      throw fail("WS_ERR_INVALID_ACCEPT", "missing or wrong Sec-WebSocket-Accept header in response");
    }
    const extensions = this.#acceptExtensions(h["sec-websocket-extensions"], fail);
    const subprotocol = this.#acceptSubprotocol(h["sec-websocket-protocol"], fail);
    return { response, subprotocol, extensions };
  }

  /**
   * §4.1: "If the response includes a |Sec-WebSocket-Extensions| header
   * field and this header field indicates the use of an extension that was
   * not present in the client's handshake (the server has indicated an
   * extension not requested by the client), the client MUST _Fail the
   * WebSocket Connection_." Each extension may appear once.
   */
  #acceptExtensions(header: string | undefined, fail: (code: WebSocketErrorCode, message: string) => InvalidHandshake): MessageExtension[] {
    const extensions: MessageExtension[] = [];
    if (header === undefined) return extensions;
    const offered = (this.#options.extensions ?? []).filter((f) => this.#offers.some((o) => o.name === f.name));
    const seen = new Set<string>();
    for (const { name, params } of parseExtensionHeader(header)) {
      const factory = offered.find((f) => f.name === name);
      if (factory === undefined) throw fail("WS_ERR_INVALID_EXTENSION", `server accepted an extension that was not offered: ${name}`);
      if (seen.has(name)) throw fail("WS_ERR_INVALID_EXTENSION", `server accepted extension ${name} twice`);
      seen.add(name);
      extensions.push(factory.accept(params, extensions));
    }
    return extensions;
  }

  /**
   * §4.1: "If the response includes a |Sec-WebSocket-Protocol| header field
   * and this header field indicates the use of a subprotocol that was not
   * present in the client's handshake ..., the client MUST _Fail the WebSocket Connection_."
   */
  #acceptSubprotocol(header: string | undefined, fail: (code: WebSocketErrorCode, message: string) => InvalidHandshake): string | null {
    if (header === undefined) return null;
    const list = parseSubprotocolHeader(header);
    const offered = this.#options.subprotocols ?? [];
    if (list.length !== 1 || !offered.includes(list[0]!)) {
      throw fail("WS_ERR_INVALID_SUBPROTOCOL", `server selected a subprotocol that was not offered: ${header}`);
    }
    return list[0]!;
  }
}

/** Every factory's offers as header elements, factories in order, each factory's offers in its order. */
function extensionOffers(factories: readonly ClientExtensionFactory[] | undefined): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  for (const factory of factories ?? []) {
    for (const params of factory.offers()) offers.push({ name: factory.name, params });
  }
  return offers;
}

/**
 * The part of a refusal's body that came with the head: up to
 * `Content-Length` bytes when it is given, everything received otherwise,
 * nothing for a chunked body (its framing is not decoded here).
 */
function bodyPrefix(response: HttpResponse, rest: Uint8Array): Uint8Array | undefined {
  if (rest.length === 0 || response.headers["transfer-encoding"] !== undefined) return undefined;
  const declared = response.headers["content-length"];
  if (declared === undefined) return rest.slice();
  if (!/^[0-9]{1,15}$/.test(declared)) return undefined;
  const length = Number(declared);
  return rest.slice(0, Math.min(length, rest.length));
}

function isIterable(x: object): x is Iterable<[string, string]> {
  return typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}
