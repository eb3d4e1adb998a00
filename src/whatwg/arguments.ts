/**
 * The arguments of the standard classes as the WHATWG WebSockets Standard
 * and Web IDL read them: the URL (`http:` → `ws:`, no fragment, absolute),
 * the subprotocol list (tokens, no duplicates), close codes and reasons, and
 * the few Web IDL conversions they go through (`[Clamp] unsigned short`,
 * `[EnforceRange] unsigned short`, `USVString`). Errors are the
 * `DOMException`s the standard names (`SyntaxError`, `InvalidAccessError`)
 * and the `TypeError`s Web IDL throws (with wavesock's `code`,
 * `WS_ERR_INVALID_ARGUMENT`), as browsers raise them.
 */
import { Buffer } from "node:buffer";
import { argumentError } from "../errors.js";
import { isToken } from "../handshake/headers.js";
import { describeValue } from "../node/options/schema.js";

/** The longest close reason, in bytes of UTF-8: a close frame's payload is at most 125 bytes, 2 of them the code. */
export const MAX_REASON_BYTES = 123;

/** A `DOMException` named `name` ("SyntaxError", "InvalidStateError"...). */
export function domException(name: string, message: string): DOMException {
  return new DOMException(message, name);
}

/** A string for messages: quoted, cut at 80 characters. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

/** Web IDL `USVString`: `String(value)` with lone surrogates replaced by U+FFFD (a Symbol throws a TypeError). */
export function toUSVString(value: unknown): string {
  // String.prototype.toWellFormed is in Node 20 (V8 11.3), not yet in the ES2023 lib.
  return (String(value) as unknown as { toWellFormed(): string }).toWellFormed();
}

/**
 * The URL of a WebSocket (the standard's constructor steps): parsed without
 * a base URL (Node has no document to resolve a relative URL against),
 * `http:` / `https:` turned into `ws:` / `wss:`; anything else than those
 * four schemes, and any fragment (even an empty one: `ws://host/#`), is a
 * `SyntaxError`.
 */
export function parseWebSocketURL(where: string, url: unknown): URL {
  const text = toUSVString(url);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw domException(
      "SyntaxError",
      `${where}: ${quote(text)} is not an absolute URL (Node has no base URL to resolve a relative one against); write it as "ws://host:port/path"`,
    );
  }
  // Both special schemes: the setter keeps host and port ("http://h:80" is ws on 80).
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  else if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw domException("SyntaxError", `${where}: the URL's scheme must be ws, wss, http or https; got ${quote(parsed.protocol.slice(0, -1))} in ${quote(text)}`);
  }
  // `hash` is "" for an empty fragment too; a "#" in the serialization can only start one.
  if (parsed.href.includes("#")) {
    throw domException("SyntaxError", `${where}: a WebSocket URL may not have a fragment (${quote(parsed.hash || "#")}); got ${quote(text)}`);
  }
  return parsed;
}

/** True for an object that Web IDL reads as a sequence (it has a callable `Symbol.iterator`). */
export function isIterableObject(value: unknown): value is Iterable<unknown> {
  return (
    ((typeof value === "object" && value !== null) || typeof value === "function") &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
  );
}

/**
 * The subprotocols of `(DOMString or sequence<DOMString>) protocols`: a
 * string is a list of one; each must be a token (RFC 6455 §4.1: characters
 * U+0021–U+007E without separators — no spaces, commas, non-ASCII) and
 * appear once, else `SyntaxError`.
 */
export function protocolList(where: string, protocols: unknown): string[] {
  if (protocols === undefined) return [];
  const list = isIterableObject(protocols) ? Array.from(protocols, (p) => String(p)) : [String(protocols)];
  const seen = new Set<string>();
  for (const p of list) {
    if (!isToken(p)) {
      throw domException(
        "SyntaxError",
        `${where}: subprotocol ${quote(p)} is not allowed: a subprotocol is a non-empty token (ASCII letters, digits and !#$%&'*+-.^_\`|~; no spaces, commas or quotes)`,
      );
    }
    if (seen.has(p)) throw domException("SyntaxError", `${where}: subprotocol ${quote(p)} is offered twice`);
    seen.add(p);
  }
  return list;
}

/** Web IDL `[Clamp] unsigned short`: a number clamped to 0–65535, rounded half to even (NaN → 0). */
export function clampUnsignedShort(value: unknown): number {
  const x = +(value as number); // ToNumber: a Symbol or a BigInt throws a TypeError, as in browsers
  if (Number.isNaN(x)) return 0;
  const c = Math.min(Math.max(x, 0), 65535);
  const f = Math.floor(c);
  const d = c - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

/** Web IDL `[EnforceRange] unsigned short`: a finite number in 0–65535, truncated; else a TypeError. */
export function enforceUnsignedShort(where: string, name: string, value: unknown): number {
  const x = +(value as number);
  if (!Number.isFinite(x) || Math.trunc(x) < 0 || Math.trunc(x) > 65535) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${where}: ${name} must be a number from 0 to 65535; got ${describeValue(value)}`);
  }
  return Math.trunc(x) || 0;
}

/** A close code the API may send: 1000, or 3000–4999 (the others belong to the user agent). */
export function checkCloseCode(where: string, code: number): void {
  if (code !== 1000 && (code < 3000 || code > 4999)) {
    throw domException(
      "InvalidAccessError",
      `${where}: close code ${code} may not be sent by the application; use 1000 (normal closure) or a code from 3000 to 4999`,
    );
  }
}

/** A close reason: at most 123 bytes once encoded as UTF-8, else `SyntaxError`. */
export function checkCloseReason(where: string, reason: string): void {
  const bytes = Buffer.byteLength(reason, "utf8");
  if (bytes > MAX_REASON_BYTES) {
    throw domException("SyntaxError", `${where}: the close reason is ${bytes} bytes of UTF-8, over the limit of ${MAX_REASON_BYTES}`);
  }
}

/** What to put in the close frame: no code and an empty reason send an empty close frame. */
export interface CloseRequest {
  code: number | undefined;
  reason: string;
}

/**
 * `close(code?, reason?)` of the `WebSocket` interface: `code` is a
 * `[Clamp] unsigned short` that must be 1000 or 3000–4999
 * (`InvalidAccessError`), `reason` a `USVString` of at most 123 bytes
 * (`SyntaxError`). A reason without a code closes with 1000.
 */
export function closeArguments(where: string, code: unknown, reason: unknown): CloseRequest {
  let c: number | undefined;
  if (code !== undefined) {
    c = clampUnsignedShort(code);
    checkCloseCode(where, c);
  }
  const r = reason === undefined ? "" : toUSVString(reason);
  checkCloseReason(where, r);
  return { code: c === undefined && r !== "" ? 1000 : c, reason: r };
}

/** The members of a `WebSocketCloseInfo` dictionary (`{ closeCode, reason }`). */
export interface WebSocketCloseInit {
  /** The close code: 1000 or 3000–4999. */
  closeCode?: number;
  /** The close reason: at most 123 bytes of UTF-8. */
  reason?: string;
}

/**
 * A `WebSocketCloseInfo` dictionary as `WebSocketStream.close()` and
 * `new WebSocketError()` read it: `undefined`/`null` is `{}`, another
 * non-object a `TypeError`; `closeCode` `[EnforceRange]`, then checked as
 * for `close()`; a reason without a code closes with 1000.
 */
export function closeInfoArguments(where: string, info: unknown): CloseRequest {
  if (info === undefined || info === null) return { code: undefined, reason: "" };
  if (typeof info !== "object" && typeof info !== "function") {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${where}: the close info must be an object { closeCode, reason }; got ${describeValue(info)}`);
  }
  const { closeCode, reason } = info as { closeCode?: unknown; reason?: unknown };
  let c: number | undefined;
  if (closeCode !== undefined) {
    c = enforceUnsignedShort(where, "closeCode", closeCode);
    checkCloseCode(where, c);
  }
  const r = reason === undefined ? "" : toUSVString(reason);
  checkCloseReason(where, r);
  return { code: c === undefined && r !== "" ? 1000 : c, reason: r };
}
