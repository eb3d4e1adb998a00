/**
 * Grammars of the header values the opening handshake reads and writes:
 * comma-separated token lists (RFC 7230 §7), `Sec-WebSocket-Protocol`
 * (RFC 6455 §4.1, §11.3.4) and `Sec-WebSocket-Extensions` (RFC 6455 §9.1).
 *
 * Every parser here is a hand-written scanner over the string: no regular
 * expressions, no allocation beyond the values it returns. Malformed input
 * from the peer throws {@link InvalidHandshake} with status 400; misuse by the
 * caller (serialising a name that is not a token) throws `TypeError`.
 */

import { InvalidHandshake, argumentError } from "../errors.js";
import type { ExtensionOffer, ExtensionParam } from "../extensions/types.js";

/**
 * `TCHAR[c] === 1` when the ASCII code `c` may appear in a token.
 * RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-"
 * / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when the character code `c` is a tchar (RFC 7230 §3.2.6). */
export function isTokenChar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** True when `s.slice(start, end)` is a non-empty token; checks in place, without slicing. */
export function isTokenRange(s: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** True when `s` is an RFC 7230 §3.2.6 token: one or more tchars. */
export function isToken(s: string): boolean {
  return isTokenRange(s, 0, s.length);
}

function isOWS(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * Split a comma-separated list (RFC 7230 §7, the `#rule`) into its elements,
 * with optional whitespace around each trimmed. "a recipient MUST accept
 * empty list elements" (§7): they are skipped. Elements are not checked
 * against any grammar: `Upgrade` elements may be `name/version`, which is
 * not a token, and callers only look for the element they need.
 */
export function parseTokenList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isOWS(value.charCodeAt(a))) a++;
    while (b > a && isOWS(value.charCodeAt(b - 1))) b--;
    if (a < b) out.push(value.slice(a, b));
    start = end + 1;
  }
  return out;
}

/**
 * True when the comma-separated list `value` has an element equal to
 * `token` in ASCII case-insensitive comparison. `token` must be lower case.
 * Allocation-free equivalent of `parseTokenList(value).some(...)`, for the
 * `Upgrade` and `Connection` checks that run on every handshake.
 */
export function tokenListIncludes(value: string, token: string): boolean {
  const n = token.length;
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isOWS(value.charCodeAt(a))) a++;
    while (b > a && isOWS(value.charCodeAt(b - 1))) b--;
    if (b - a === n && equalsLowerAt(value, a, token)) return true;
    start = end + 1;
  }
  return false;
}

/** ASCII case-insensitive comparison of `s.slice(at, at + lower.length)` with `lower`. */
function equalsLowerAt(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parse a `Sec-WebSocket-Protocol` value into the subprotocols it lists, in
 * order. RFC 6455 §4.1: the elements "MUST be non-empty strings with
 * characters in the range U+0021 to U+007E not including separator
 * characters", i.e. tokens. Throws {@link InvalidHandshake} (400) otherwise.
 */
export function parseSubprotocolHeader(value: string): string[] {
  const list = parseTokenList(value);
  for (const item of list) {
    if (!isToken(item)) {
      throw new InvalidHandshake(`invalid Sec-WebSocket-Protocol header: ${JSON.stringify(value)}`, {
        code: "WS_ERR_INVALID_SUBPROTOCOL",
      });
    }
  }
  return list;
}

/**
 * A cursor over one `Sec-WebSocket-Extensions` value. Each method consumes
 * one grammar element or throws; `fail` builds the error with the position.
 */
class ExtensionScanner {
  pos = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new InvalidHandshake(
      `invalid Sec-WebSocket-Extensions header: expected ${what} at position ${this.pos}`,
      { code: "WS_ERR_INVALID_EXTENSION" },
    );
  }

  /** Code of the current character, or -1 at the end. */
  peek(): number {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }

  skipOWS(): void {
    while (isOWS(this.peek())) this.pos++;
  }

  token(what: string): string {
    const start = this.pos;
    while (isTokenChar(this.peek())) this.pos++;
    if (this.pos === start) this.fail(what);
    return this.s.slice(start, this.pos);
  }

  /**
   * A parameter value: token or quoted-string. RFC 6455 §9.1: "When using
   * the quoted-string syntax variant, the value after quoted-string
   * unescaping MUST conform to the 'token' ABNF."
   */
  value(): string {
    if (this.peek() !== DQUOTE) return this.token("a parameter value");
    this.pos++;
    let out = "";
    for (;;) {
      let c = this.peek();
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        // RFC 7230 §3.2.6: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        this.pos++;
        c = this.peek();
      }
      // Anything outside a token would make the unescaped value invalid
      // anyway, so one check covers qdtext, quoted-pair and the §9.1 rule.
      if (!isTokenChar(c)) this.fail("a token character in a quoted-string");
      out += this.s[this.pos];
      this.pos++;
    }
    this.pos++;
    if (out.length === 0) this.fail("a non-empty quoted-string");
    return out;
  }

  /** extension = extension-token *( ";" extension-param ) */
  extension(): ExtensionOffer {
    const name = this.token("an extension name");
    const params: ExtensionParam[] = [];
    this.skipOWS();
    while (this.peek() === SEMICOLON) {
      this.pos++;
      this.skipOWS();
      const key = this.token("a parameter name");
      this.skipOWS();
      let value: string | null = null;
      if (this.peek() === EQUALS) {
        this.pos++;
        this.skipOWS();
        value = this.value();
        this.skipOWS();
      }
      params.push([key, value]);
    }
    return { name, params };
  }
}

/**
 * Parse a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1):
 *
 * ```
 * extension-list = 1#extension
 * extension = extension-token *( ";" extension-param )
 * extension-param = token [ "=" (token | quoted-string) ]
 * ```
 *
 * Optional whitespace is allowed around every separator and empty list
 * elements are skipped (RFC 7230 §7); at least one extension is required.
 * Parameter values given as quoted-strings are returned unescaped. Throws
 * {@link InvalidHandshake} (400) on anything else.
 */
export function parseExtensionHeader(value: string): ExtensionOffer[] {
  const scanner = new ExtensionScanner(value);
  const offers: ExtensionOffer[] = [];
  for (;;) {
    scanner.skipOWS();
    const c = scanner.peek();
    if (c === -1) break;
    if (c === COMMA) {
      scanner.pos++;
      continue;
    }
    offers.push(scanner.extension());
    const next = scanner.peek();
    if (next !== COMMA && next !== -1) scanner.fail('"," or ";"');
  }
  if (offers.length === 0) scanner.fail("an extension");
  return offers;
}

/**
 * Serialise extension offers (or a server's accepted extensions) as a
 * `Sec-WebSocket-Extensions` value: `name; p1; p2=v, other`. Names and
 * values must be tokens (values always are, per RFC 6455 §9.1, so they are
 * never quoted); anything else throws `TypeError`.
 */
export function serializeExtensionHeader(offers: readonly ExtensionOffer[]): string {
  let out = "";
  for (let i = 0; i < offers.length; i++) {
    const offer = offers[i]!;
    if (!isToken(offer.name)) throw argumentError("WS_ERR_INVALID_ARGUMENT", `invalid extension name: ${JSON.stringify(offer.name)}`);
    if (i > 0) out += ", ";
    out += offer.name;
    for (const [key, value] of offer.params) {
      if (!isToken(key)) throw argumentError("WS_ERR_INVALID_ARGUMENT", `invalid extension parameter name: ${JSON.stringify(key)}`);
      out += "; " + key;
      if (value !== null) {
        if (!isToken(value)) throw argumentError("WS_ERR_INVALID_ARGUMENT", `invalid extension parameter value: ${JSON.stringify(value)}`);
        out += "=" + value;
      }
    }
  }
  return out;
}
