/**
 * Bounded HTTP/1.1 head parsing and serialisation for the opening handshake.
 *
 * Theory of operation. A head parser receives the connection's first bytes
 * in chunks of any size. It looks for the blank line that ends the head
 * (CRLF CRLF) with a native `indexOf` of LF over each new chunk only, so a
 * head delivered one byte at a time is still scanned once. In the common
 * case the whole head arrives in one chunk and is decoded straight from it
 * without copying; otherwise the bytes are kept in a buffer that grows by
 * doubling, never beyond `maxHeadSize`: a peer that sends more than that
 * without ending the head gets a 431 as soon as the limit is crossed. The head
 * is then decoded as latin1 (one char per byte, so string offsets are byte
 * offsets) and split into lines with `indexOf("\r\n")`. Whatever followed
 * the head in the last chunk is `rest`: the peer's first WebSocket frames.
 *
 * Decisions where RFC 7230 leaves a choice:
 * - Lines must end with CRLF. A bare LF (§3.5 says a recipient MAY accept
 *   it) is refused with 400 the moment it is seen: a head the peer thinks
 *   has ended must not make us wait for more bytes, and accepting two
 *   line-ending conventions is how request smuggling starts.
 * - Obsolete line folding is refused with 400 (§3.2.4: a server "MUST
 *   either reject the message by sending a 400 (Bad Request)... or replace
 *   each received obs-fold with one or more SP"); responses are treated the
 *   same way since no WebSocket server folds headers.
 * - Leading empty lines before the request line are not skipped (§3.5 says
 *   SHOULD): WebSocket clients never send them.
 * - The request target must be visible ASCII (RFC 3986 characters).
 *
 * Only {@link InvalidHandshake} is ever thrown out of `push`.
 */

import { Buffer } from "node:buffer";
import { InvalidHandshake, argumentError } from "../errors.js";
import { isToken, isTokenRange } from "./headers.js";

/** An HTTP/1.1 request head. */
export interface HttpRequest {
  /** Request method, e.g. `GET` (case-sensitive, RFC 7230 §3.1.1). */
  method: string;
  /** Request target as sent, e.g. `/chat?room=1`. */
  path: string;
  /** HTTP version without the `HTTP/` prefix: `"1.1"`. */
  version: string;
  /**
   * The request's header fields by **lower-case** name, repeated fields
   * joined with ", " (RFC 7230 §3.2.2): `request.headers["origin"]`,
   * `request.headers["sec-websocket-protocol"]`.
   *
   * Typed so that a mixed-case name does not compile:
   * `request.headers["Origin"]` is a type error, because at run time it is
   * always `undefined`. A name held in a `string` variable must be lower-cased
   * first: `request.headers[name.toLowerCase() as Lowercase<string>]`. A field
   * that was not sent is `undefined` (the type says `string`, as for any
   * record, unless you compile with `noUncheckedIndexedAccess`). Read-only:
   * changing it would not change what the handshake sees.
   */
  headers: Readonly<Record<Lowercase<string>, string>>;
}

/** An HTTP/1.1 response head, with a body when there is one. Compatible with `HttpResponseLike`. */
export interface HttpResponse {
  /** Status code, e.g. 101. */
  status: number;
  /** Reason phrase, e.g. `Switching Protocols` (may be empty). */
  reason: string;
  /**
   * Header fields, repeated ones joined with ", ". In a response that was
   * received (a client's `ws.response`, `InvalidStatus.response`) every name
   * is lower case: `response.headers["sec-websocket-extensions"]`. In one you
   * build, names may be in any case; the handshake's own headers are
   * lower case, so add to them in lower case to replace one rather than send
   * it twice.
   */
  headers: Record<string, string>;
  /** The body, when one is sent or was read. */
  body?: Uint8Array;
}

/** Bounds on a head, so that a peer cannot make us buffer without limit. */
export interface HeadLimits {
  /** Largest head accepted, in bytes, including the final blank line. Default 16384. */
  maxHeadSize?: number;
  /** Most header lines accepted. Default 100. */
  maxHeaders?: number;
}

/** Default {@link HeadLimits.maxHeadSize}. */
export const DEFAULT_MAX_HEAD_SIZE = 16384;
/** Default {@link HeadLimits.maxHeaders}. */
export const DEFAULT_MAX_HEADERS = 100;

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);

function malformed(message: string): InvalidHandshake {
  return new InvalidHandshake(message, { code: "WS_ERR_INVALID_HTTP", status: 400 });
}

/**
 * The scanning and buffering shared by both head parsers; subclasses turn
 * the decoded head text into a request or a response.
 */
export abstract class HeadParser<T> {
  readonly #maxHeadSize: number;
  /** Header count limit, for `parseHead`. */
  protected readonly maxHeaders: number;
  /** Bytes of an unfinished head; `null` until a chunk ends without the head. */
  #buf: Uint8Array | null = null;
  /** How many bytes of `#buf` are used. */
  #len = 0;
  #head: T | null = null;
  #error: InvalidHandshake | null = null;
  #rest: Uint8Array = EMPTY;

  constructor(limits: HeadLimits = {}) {
    this.#maxHeadSize = limits.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE;
    this.maxHeaders = limits.maxHeaders ?? DEFAULT_MAX_HEADERS;
  }

  /**
   * Turn the head (latin1 text ending with CRLF CRLF) into a value, or
   * throw. `bytes` holds the same head from offset 0 (see `piece`).
   */
  protected abstract parseHead(text: string, bytes: Uint8Array): T;

  /**
   * Feed the next bytes. Returns the head once complete, `null` while more
   * bytes are needed. Throws {@link InvalidHandshake} on a malformed or
   * oversized head, and the same error again on every later call. After the
   * head, further chunks are appended to `rest` and the same head returned.
   */
  push(chunk: Uint8Array): T | null {
    if (this.#error !== null) throw this.#error;
    if (this.#head !== null) {
      this.#rest = concat(this.#rest, chunk);
      return this.#head;
    }
    try {
      const end = this.#findEnd(chunk);
      if (end === -1) {
        this.#append(chunk);
        return null;
      }
      let text: string;
      let bytes: Uint8Array;
      if (this.#len === 0) {
        bytes = chunk;
        text = latin1(chunk, 0, end);
      } else {
        this.#append(chunk.subarray(0, end));
        bytes = this.#buf!;
        text = latin1(bytes, 0, this.#len);
      }
      this.#head = this.parseHead(text, bytes);
      this.#rest = end === chunk.length ? EMPTY : chunk.subarray(end);
      this.#buf = null;
      return this.#head;
    } catch (err) {
      this.#error = err as InvalidHandshake;
      throw err;
    }
  }

  /**
   * The bytes that followed the head: a view into the chunk that completed
   * the head (not a copy), plus any chunk pushed since. Empty if none or if
   * the head is not complete yet.
   */
  get rest(): Uint8Array {
    return this.#rest;
  }

  /**
   * Index just past CRLF CRLF in `chunk`, or -1 when the head goes on.
   * Only the bytes that can still belong to a head of `maxHeadSize` are
   * searched; every LF on the way must follow a CR.
   */
  #findEnd(chunk: Uint8Array): number {
    const limit = Math.min(chunk.length, this.#maxHeadSize - this.#len);
    let i = chunk.indexOf(LF);
    while (i !== -1 && i < limit) {
      if (this.#byteBefore(chunk, i - 1) !== CR) throw malformed("invalid HTTP head: bare LF");
      // An LF two bytes back was itself checked to follow a CR, so this
      // LF closes CR LF CR LF.
      if (this.#byteBefore(chunk, i - 2) === LF) return i + 1;
      i = chunk.indexOf(LF, i + 1);
    }
    if (this.#len + chunk.length >= this.#maxHeadSize) {
      throw new InvalidHandshake(`HTTP head larger than ${this.#maxHeadSize} bytes`, {
        code: "WS_ERR_HEAD_TOO_LARGE",
        status: 431,
      });
    }
    return -1;
  }

  /** Byte at index `i` of `chunk`, where negative indexes reach back into the buffer; -1 before the start. */
  #byteBefore(chunk: Uint8Array, i: number): number {
    if (i >= 0) return chunk[i]!;
    const j = this.#len + i;
    return j >= 0 ? this.#buf![j]! : -1;
  }

  /** Keep `bytes`; the caller has checked that the total stays within `maxHeadSize`. */
  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const need = this.#len + bytes.length;
    let buf = this.#buf;
    if (buf === null || need > buf.length) {
      const cap = Math.min(this.#maxHeadSize, Math.max(need, 2 * (buf?.length ?? 0), 512));
      const grown = new Uint8Array(cap);
      if (buf !== null) grown.set(buf.subarray(0, this.#len));
      buf = this.#buf = grown;
    }
    buf.set(bytes, this.#len);
    this.#len = need;
  }
}

/** Incremental parser of one HTTP/1.1 request head (the client's opening handshake). */
export class RequestHeadParser extends HeadParser<HttpRequest> {
  /** Decode the head: request line, then header lines. */
  protected parseHead(text: string, bytes: Uint8Array): HttpRequest {
    const eol = text.indexOf("\r\n");
    // request-line = method SP request-target SP HTTP-version CRLF (RFC 7230 §3.1.1)
    const sp1 = text.indexOf(" ");
    const sp2 = sp1 === -1 ? -1 : text.indexOf(" ", sp1 + 1);
    const sp3 = sp2 === -1 ? -1 : text.indexOf(" ", sp2 + 1);
    if (sp1 === -1 || sp2 === -1 || sp2 > eol || (sp3 !== -1 && sp3 < eol)) {
      throw malformed("invalid HTTP request line");
    }
    if (!isTokenRange(text, 0, sp1)) throw malformed("invalid HTTP method");
    if (!isVisibleAscii(text, sp1 + 1, sp2)) throw malformed("invalid HTTP request target");
    const version = parseVersion(text, sp2 + 1, eol);
    if (version !== "1.1") {
      throw new InvalidHandshake(`unsupported HTTP version: ${version}`, {
        code: "WS_ERR_UNSUPPORTED_HTTP_VERSION",
        status: 505,
      });
    }
    const headers = parseHeaderLines(text, bytes, eol + 2, this.maxHeaders);
    return { method: sp1 === 3 && text.startsWith("GET") ? "GET" : text.slice(0, sp1), path: piece(text, bytes, sp1 + 1, sp2), version, headers };
  }
}

/** Incremental parser of one HTTP/1.1 response head (the server's answer to the opening handshake). */
export class ResponseHeadParser extends HeadParser<HttpResponse> {
  /** Decode the head: status line, then header lines. */
  protected parseHead(text: string, bytes: Uint8Array): HttpResponse {
    const eol = text.indexOf("\r\n");
    // status-line = HTTP-version SP status-code SP reason-phrase CRLF (RFC 7230 §3.1.2).
    // A missing " reason-phrase" is tolerated: some servers omit it.
    const sp1 = text.indexOf(" ");
    if (sp1 === -1 || sp1 > eol) throw malformed("invalid HTTP status line");
    const version = parseVersion(text, 0, sp1);
    if (version !== "1.1") {
      throw new InvalidHandshake(`unsupported HTTP version: ${version}`, {
        code: "WS_ERR_UNSUPPORTED_HTTP_VERSION",
        status: 505,
      });
    }
    const status = parseStatusCode(text, sp1 + 1, eol);
    let reason = "";
    if (eol > sp1 + 4) {
      if (text.charCodeAt(sp1 + 4) !== 0x20) throw malformed("invalid HTTP status line");
      // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
      if (!isFieldText(text, sp1 + 5, eol)) throw malformed("invalid HTTP reason phrase");
      reason = text.slice(sp1 + 5, eol);
    }
    const headers = parseHeaderLines(text, bytes, eol + 2, this.maxHeaders);
    return { status, reason, headers };
  }
}

/**
 * `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 7230 §2.6); returns `"1.1"`
 * style. A well-formed other version is returned for the caller to refuse
 * with 505; anything else is a 400.
 */
function parseVersion(text: string, start: number, end: number): string {
  if (
    end - start !== 8 ||
    !text.startsWith("HTTP/", start) ||
    !isDigit(text.charCodeAt(start + 5)) ||
    text.charCodeAt(start + 6) !== 0x2e ||
    !isDigit(text.charCodeAt(start + 7))
  ) {
    throw malformed("invalid HTTP version");
  }
  return text.startsWith("1.1", start + 5) ? "1.1" : text.slice(start + 5, end);
}

/** `status-code = 3DIGIT` at `start`, followed by SP or the end of the line; 100–999. */
function parseStatusCode(text: string, start: number, eol: number): number {
  if (eol - start < 3) throw malformed("invalid HTTP status code");
  let status = 0;
  for (let i = start; i < start + 3; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) throw malformed("invalid HTTP status code");
    status = status * 10 + (c - 0x30);
  }
  if (status < 100) throw malformed("invalid HTTP status code");
  return status;
}

/**
 * Header lines from `pos` up to the empty line that ends the head.
 * `header-field = field-name ":" OWS field-value OWS` (RFC 7230 §3.2).
 */
function parseHeaderLines(text: string, bytes: Uint8Array, pos: number, maxHeaders: number): Record<string, string> {
  const headers = new HeaderRecord();
  // Names are read from a lower-cased copy: one call for the whole head
  // instead of one per name. Lower-casing maps latin1 to latin1 one char
  // for one char, so offsets agree.
  const lower = text.toLowerCase();
  let count = 0;
  for (;;) {
    const eol = text.indexOf("\r\n", pos);
    if (eol === pos) return headers;
    if (++count > maxHeaders) {
      throw new InvalidHandshake(`more than ${maxHeaders} HTTP headers`, {
        code: "WS_ERR_TOO_MANY_HEADERS",
        status: 431,
      });
    }
    const first = text.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) throw malformed("invalid HTTP header: obsolete line folding");
    const colon = text.indexOf(":", pos);
    // §3.2.4: "No whitespace is allowed between the header field-name and
    // colon" — the token check refuses it along with every other non-tchar.
    if (colon === -1 || colon > eol || !isTokenRange(text, pos, colon)) {
      throw malformed("invalid HTTP header line");
    }
    let a = colon + 1;
    let b = eol;
    while (a < b && isOWSCode(text.charCodeAt(a))) a++;
    while (b > a && isOWSCode(text.charCodeAt(b - 1))) b--;
    if (!isFieldText(text, a, b)) throw malformed("invalid HTTP header value");
    const name = headerName(lower, pos, colon);
    const value = headerValue(text, bytes, a, b);
    const previous = headers[name];
    // §3.2.2: repeated fields may be combined "by appending each subsequent
    // field value to the combined field value in order, separated by a comma".
    headers[name] = previous === undefined ? value : `${previous}, ${value}`;
    pos = eol + 2;
  }
}

/**
 * Constructor of header records: objects whose prototype has no prototype.
 * Unlike `{}`, a header named `constructor`, `toString` or `__proto__` is
 * just a header; unlike `Object.create(null)`, V8 keeps them in fast mode,
 * which matters at one record per handshake.
 */
const HeaderRecord = function HeaderRecord() {} as unknown as new () => Record<string, string>;
HeaderRecord.prototype = Object.create(null);

/** Header names that handshakes carry, by length, so their names are shared constants rather than new strings. */
const KNOWN_NAMES: string[][] = [];
for (const name of [
  "host", "upgrade", "connection", "origin", "user-agent", "authorization", "cookie", "pragma",
  "cache-control", "accept-encoding", "accept-language", "server", "date", "content-length",
  "content-type", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
  "sec-websocket-extensions", "sec-websocket-accept", "x-forwarded-for",
]) {
  (KNOWN_NAMES[name.length] ??= []).push(name);
}

/** Values handshakes carry often, by length: shared constants rather than new strings. */
const KNOWN_VALUES: string[][] = [];
for (const value of ["websocket", "Upgrade", "upgrade", "13", "keep-alive, Upgrade", "Keep-Alive, Upgrade", "no-cache", "permessage-deflate"]) {
  (KNOWN_VALUES[value.length] ??= []).push(value);
}

/** The value `text[a..b)`: a shared constant when it is a common one, else `piece`. */
function headerValue(text: string, bytes: Uint8Array, a: number, b: number): string {
  const known = KNOWN_VALUES[b - a];
  if (known !== undefined) {
    for (const k of known) if (text.startsWith(k, a)) return k;
  }
  return piece(text, bytes, a, b);
}

/**
 * `text.slice(a, b)`, but never a view of `text`: V8 makes a slice of 13
 * chars or more a pointer into its parent, so one header value kept on a
 * connection's `request` would keep the whole head alive as long as the
 * connection. Those are decoded afresh from the bytes instead.
 */
function piece(text: string, bytes: Uint8Array, a: number, b: number): string {
  return b - a < 13 ? text.slice(a, b) : latin1(bytes, a, b);
}

/** `lower.slice(start, end)`, as a shared constant when it is a common name. */
function headerName(lower: string, start: number, end: number): string {
  const candidates = KNOWN_NAMES[end - start];
  if (candidates !== undefined) {
    for (const name of candidates) if (lower.startsWith(name, start)) return name;
  }
  return lower.slice(start, end);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isOWSCode(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** No control characters other than HTAB: field-vchar, SP, HTAB and obs-text (RFC 7230 §3.2). */
function isFieldText(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** Non-empty and only 0x21–0x7E. */
function isVisibleAscii(text: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Bytes `start..end` of `bytes` as a string, one char per byte. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  // Sockets hand us Buffers: decode them in place rather than through a new view.
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.toString("latin1", start, end);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Reason phrases of the statuses a WebSocket server commonly answers with (RFC 7231 §6, RFC 6585). */
const REASONS: Record<number, string> = {
  101: "Switching Protocols", 200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 303: "See Other",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  413: "Content Too Large", 426: "Upgrade Required", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
  503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
};

/** The standard reason phrase for `status`, or `""` (a valid, empty reason-phrase) for unlisted ones. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "";
}

/**
 * How the lower-case names of the headers the handshake uses are spelt on
 * the wire. Names are case-insensitive (RFC 7230 §3.2), but some old clients
 * look for `Sec-WebSocket-Accept` byte for byte, so we write the RFC's spelling.
 */
const WIRE_NAMES: Record<string, string> = {
  upgrade: "Upgrade",
  connection: "Connection",
  "sec-websocket-accept": "Sec-WebSocket-Accept",
  "sec-websocket-protocol": "Sec-WebSocket-Protocol",
  "sec-websocket-extensions": "Sec-WebSocket-Extensions",
  "sec-websocket-version": "Sec-WebSocket-Version",
  "content-type": "Content-Type",
  "content-length": "Content-Length",
  allow: "Allow",
  server: "Server",
  date: "Date",
  "www-authenticate": "WWW-Authenticate",
};

/**
 * True when `value` may be sent as a header value or reason phrase: no CR,
 * LF, NUL or other control character but HTAB, nothing above U+00FF
 * (field-vchar, SP, HTAB and obs-text, RFC 7230 §3.2).
 */
export function isFieldValue(value: string): boolean {
  return isFieldText(value, 0, value.length);
}

/** Throws `TypeError` unless `name: value` is a header line that cannot inject other lines. */
function checkHeader(name: string, value: unknown): void {
  if (typeof name !== "string" || !isToken(name)) throw invalidArgument(`invalid HTTP header name: ${JSON.stringify(name)}`);
  if (typeof value !== "string" || !isFieldText(value, 0, value.length)) {
    throw invalidArgument(`invalid HTTP header value for ${name}: ${JSON.stringify(value)}`);
  }
}

function invalidArgument(message: string): TypeError {
  return argumentError("WS_ERR_INVALID_ARGUMENT", message);
}

/**
 * Serialise a request head: request line, the headers in order, blank line.
 * Names are written as given. Throws `TypeError` on a method that is not a
 * token, a target that is not visible ASCII, or a header line that is
 * invalid (CR, LF, NUL... in a value would let a caller's data inject headers).
 */
export function serializeRequest(method: string, path: string, headers: Iterable<[string, string]>): Uint8Array {
  if (!isToken(method)) throw invalidArgument(`invalid HTTP method: ${JSON.stringify(method)}`);
  if (!isVisibleAscii(path, 0, path.length)) throw invalidArgument(`invalid HTTP request target: ${JSON.stringify(path)}`);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    checkHeader(name, value);
    head += `${name}: ${value}\r\n`;
  }
  head += "\r\n";
  return Buffer.from(head, "latin1");
}

/**
 * Serialise a response: status line, headers (lower-case names of the
 * handshake headers are written in their RFC spelling), blank line, body.
 * When a body is given, `Content-Length` is set to its length, replacing
 * any given value. Throws `TypeError` on a status outside 100–999 or an
 * invalid reason or header line.
 */
export function serializeResponse(response: HttpResponse): Uint8Array {
  const { status, reason, headers, body } = response;
  if (!Number.isInteger(status) || status < 100 || status > 999) throw invalidArgument(`invalid HTTP status: ${status}`);
  if (typeof reason !== "string" || !isFieldText(reason, 0, reason.length)) {
    throw invalidArgument(`invalid HTTP reason phrase: ${JSON.stringify(reason)}`);
  }
  if (typeof headers !== "object" || headers === null) throw invalidArgument("invalid HTTP headers: not an object");
  if (body !== undefined && !(body instanceof Uint8Array)) throw invalidArgument("invalid HTTP body: not a Uint8Array");
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const name of Object.keys(headers)) {
    if (body !== undefined && name.toLowerCase() === "content-length") continue;
    const value = headers[name]!;
    checkHeader(name, value);
    head += `${WIRE_NAMES[name] ?? name}: ${value}\r\n`;
  }
  if (body !== undefined) head += `Content-Length: ${body.length}\r\n`;
  head += "\r\n";
  if (body === undefined || body.length === 0) return Buffer.from(head, "latin1");
  const headSize = Buffer.byteLength(head, "latin1");
  const out = Buffer.allocUnsafe(headSize + body.length);
  out.write(head, 0, "latin1");
  out.set(body, headSize);
  return out;
}

/** The parts of a `node:http` `IncomingMessage` that {@link requestFromNode} reads. */
export interface NodeRequestLike {
  method?: string;
  url?: string;
  httpVersion?: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
}

/**
 * Convert a request head already parsed by `node:http` (an `IncomingMessage`
 * in an `'upgrade'` listener) for {@link acceptRequest}. Headers are rebuilt
 * from `rawHeaders` when present, because Node's `headers` silently drops
 * repeats of some fields (a second `Host` among them) that our own rule
 * joins with ", " so validation can see them. Missing fields become empty
 * strings, which validation then refuses.
 */
export function requestFromNode(req: NodeRequestLike): HttpRequest {
  const headers = new HeaderRecord();
  const add = (name: string, value: string) => {
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  };
  const raw = req.rawHeaders;
  if (raw !== undefined) {
    for (let i = 0; i + 1 < raw.length; i += 2) add(raw[i]!.toLowerCase(), raw[i + 1]!);
  } else {
    for (const name of Object.keys(req.headers)) {
      const value = req.headers[name];
      if (value === undefined) continue;
      const key = name.toLowerCase();
      if (typeof value === "string") add(key, value);
      else for (const v of value) add(key, v);
    }
  }
  return { method: req.method ?? "", path: req.url ?? "", version: req.httpVersion ?? "", headers };
}
