/**
 * Responses written by application code — what a server's `processRequest`
 * or `processResponse` returns, what `respond()` builds — checked and
 * completed before they are serialised.
 *
 * Application code is trusted to mean well, not to be right: it may forget
 * the reason phrase or the headers, pass a string body, or copy request data
 * into a header. Everything sensible is accepted and completed (the standard
 * reason phrase, no headers, a string body encoded as UTF-8, `Content-Length`
 * computed); anything that cannot be sent as it is — above all a CR, LF or
 * NUL in a header name or value, which would let request data inject header
 * lines — is refused with a {@link ResponseProblem} that says what is wrong
 * and is never written. The server answers 500 instead and logs the problem.
 *
 * Sans-IO: no sockets, no logging here.
 */
import { Buffer } from "node:buffer";
import { argumentError } from "../errors.js";
import { isToken } from "./headers.js";
import { isFieldValue, reasonPhrase, type HttpResponse } from "./http.js";

/**
 * A response as application code may write it: only `status` is required.
 * The reason defaults to the standard phrase, headers to none, and the body
 * may be a string (sent as UTF-8) or bytes; `Content-Length` is computed.
 */
export interface HttpResponseInit {
  /** Status code, 200–599 for an answer instead of the handshake. */
  status: number;
  /** Reason phrase; default the standard one for `status` (`Not Found`). */
  reason?: string;
  /** Header names in any case (sent in lower case); values strings or numbers. */
  headers?: Record<string, string | number>;
  /** The body: a string (UTF-8) or bytes. */
  body?: string | Uint8Array | ArrayBuffer | ArrayBufferView;
}

/**
 * What is wrong with a response: `problem` says it without the values
 * involved (a stable key, to log each distinct mistake once), `detail` shows
 * the value (bounded in length).
 */
export interface ResponseProblem {
  /** What is wrong, e.g. `header "x-user" has a value with CR, LF or NUL (header injection)`. */
  problem: string;
  /** The offending value, for the log, e.g. `got "a\r\nSet-Cookie: x"`. */
  detail: string;
}

/** Statuses whose responses never have a body (RFC 9110 §6.4.1): 1xx, 204, 304. */
function bodyless(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/**
 * Check a response given by application code and complete it: lower-case
 * header names, string header values (numbers are converted), the standard
 * reason phrase when none is given, the body as bytes (a string is encoded
 * as UTF-8; a `Uint8Array`, any other `ArrayBufferView` or an `ArrayBuffer`
 * is taken as bytes), and an empty body on a response that may have one but
 * has none and no `Content-Length` (so that `Content-Length: 0` goes out).
 * A given `Content-Length` is replaced by the body's length, or kept when
 * there is no body (a HEAD answer). Returns the completed response, or what
 * is wrong with it.
 */
export function checkResponse(value: unknown): HttpResponse | ResponseProblem {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { problem: "is not a response object { status, reason?, headers?, body? }", detail: `got ${preview(value)}` };
  }
  const r = value as { status?: unknown; reason?: unknown; headers?: unknown; body?: unknown };
  const status = r.status;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
    return { problem: "has a status that is not an integer from 100 to 599", detail: `got ${preview(status)}` };
  }
  let reason: string;
  if (r.reason === undefined || r.reason === null) reason = reasonPhrase(status);
  else if (typeof r.reason !== "string") return { problem: "has a reason that is not a string", detail: `got ${preview(r.reason)}` };
  else if (!isFieldValue(r.reason)) {
    return { problem: "has a reason phrase with CR, LF, NUL or another control character", detail: `got ${preview(r.reason)}` };
  } else reason = r.reason;

  const headers: Record<string, string> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== "object" || Array.isArray(r.headers)) {
      return { problem: "has headers that are not an object of name: value", detail: `got ${preview(r.headers)}` };
    }
    for (const name of Object.keys(r.headers)) {
      if (!isToken(name)) {
        return { problem: "has a header name that is not an HTTP token (space, colon, CR, LF...)", detail: `got ${preview(name)}` };
      }
      const lower = name.toLowerCase();
      if (Object.hasOwn(headers, lower)) return { problem: `names header "${lower}" twice (header names are case-insensitive)`, detail: "" };
      let v = (r.headers as Record<string, unknown>)[name];
      if (typeof v === "number" && Number.isFinite(v)) v = String(v);
      if (typeof v !== "string") {
        return { problem: `has a value for header "${lower}" that is not a string`, detail: `got ${preview(v)}` };
      }
      if (!isFieldValue(v)) {
        return { problem: `has a value for header "${lower}" with CR, LF, NUL or another control character (header injection)`, detail: `got ${preview(v)}` };
      }
      if (lower === "transfer-encoding") {
        return { problem: 'sets "transfer-encoding": the body is sent whole, with Content-Length', detail: "" };
      }
      if (lower === "content-length" && !/^[0-9]{1,15}$/.test(v)) {
        return { problem: 'has a "content-length" that is not a number of bytes', detail: `got ${preview(v)}` };
      }
      headers[lower] = v;
    }
  }

  let body: Uint8Array | undefined;
  const b = r.body;
  if (b === undefined || b === null) body = undefined;
  else if (typeof b === "string") body = Buffer.from(b, "utf8");
  else if (b instanceof Uint8Array) body = b;
  else if (ArrayBuffer.isView(b)) body = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  else if (b instanceof ArrayBuffer) body = new Uint8Array(b);
  else return { problem: "has a body that is not a string or bytes (Uint8Array, Buffer, ArrayBuffer)", detail: `got ${preview(b)}` };
  if (bodyless(status)) {
    if (body !== undefined && body.length > 0) return { problem: `has a body, which a ${status} response cannot have`, detail: "" };
    body = undefined;
  } else if (body !== undefined || headers["content-length"] === undefined) {
    // Content-Length is computed from the body, replacing a given one that
    // could only disagree. Without a body, a given one stays: the answer to
    // a HEAD request says how long the GET's body is.
    delete headers["content-length"];
    body ??= new Uint8Array(0);
  }
  const out: HttpResponse = { status, reason, headers };
  if (body !== undefined) out.body = body;
  return out;
}

/** True when {@link checkResponse} found a problem. */
export function isResponseProblem(value: HttpResponse | ResponseProblem): value is ResponseProblem {
  return "problem" in value;
}

/**
 * {@link checkResponse}, throwing a `TypeError` (code
 * `WS_ERR_INVALID_ARGUMENT`) that says what is wrong instead of returning it.
 */
export function normalizeResponse(value: unknown): HttpResponse {
  const checked = checkResponse(value);
  if (isResponseProblem(checked)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `invalid HTTP response: the response ${checked.problem}${checked.detail ? `; ${checked.detail}` : ""}`);
  }
  return checked;
}

/** A bounded description of a value, for messages. */
function preview(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `${value.constructor?.name === "Object" ? "an object" : `a ${value.constructor?.name ?? "object"}`}`;
  if (typeof value === "function") return "a function";
  return String(value);
}
