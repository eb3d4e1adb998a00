/**
 * `basicAuth()`: HTTP Basic authentication (RFC 7617) of the opening
 * handshake, as a `processRequest` — Python `websockets`' `basic_auth`.
 *
 * ```ts
 * await serve(handler, { processRequest: basicAuth({ realm: "chat", credentials: { alice: "s3cret" } }) });
 * // in the handler: ws.data.user === "alice"
 * ```
 *
 * What it owns: parsing `Authorization: Basic …`, the 401 with
 * `WWW-Authenticate: Basic realm="…", charset="UTF-8"`, comparing
 * credentials without leaking through timing, and putting the user name on
 * `connection.data.user` (which becomes `ws.data.user` once open).
 *
 * Timing: the user name and password received are HMAC-ed (SHA-256, with a
 * key drawn when `basicAuth()` is called) and compared with
 * `crypto.timingSafeEqual` to the digests of every configured pair, all of
 * them, without stopping at the first match — so neither the length of a
 * password, nor how much of it was right, nor whether the user exists,
 * shows in how long the answer takes. A `check` function does its own
 * comparison: use `timingSafeEqual` there too.
 *
 * Browsers cannot set an `Authorization` header on a WebSocket; this is for
 * other clients (`connect(uri, { headers })`, curl, scripts), or behind a
 * page that was itself served with Basic auth. See `docs/authentication.md` for
 * tokens in the query string, a header, a cookie or the first message.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { argumentError } from "../errors.js";
import type { HttpRequest, HttpResponse } from "../handshake/http.js";
import { rejectResponse } from "../handshake/server.js";
import { describeValue, func, invalid, validateOptions, type Check, type Schema } from "../node/options/schema.js";
import type { PendingConnection } from "../node/pending.js";

/** Options of {@link basicAuth}: a realm, and either `credentials` or `check`. */
export interface BasicAuthOptions {
  /** The protection space named in `WWW-Authenticate` (browsers show it). Default `"wavesock"`. */
  realm?: string;
  /** Allowed user names and passwords: `{ alice: "s3cret" }`, or `[["alice", "s3cret"], ...]`. */
  credentials?: Readonly<Record<string, string>> | Iterable<readonly [string, string]>;
  /**
   * Decide yourself (a database, a hash): resolve true to let the user in.
   * Throwing answers 500 (and is logged by the server), not 401.
   */
  check?: (user: string, password: string, request: HttpRequest) => boolean | Promise<boolean>;
}

/** A `processRequest` hook: nothing for a good `Authorization`, a 401 otherwise. */
export type AuthProcessRequest = (connection: PendingConnection, request: HttpRequest) => Promise<HttpResponse | undefined>;

const REALM: Check = (value, path, ctx) => {
  const expected = "a string without double quotes, backslashes or control characters";
  if (typeof value !== "string") invalid(ctx, path, expected, value);
  // A quoted-string could escape them; refusing them keeps the header obvious.
  if (/["\\\u0000-\u001f\u007f]/.test(value)) invalid(ctx, path, expected, value, true);
};

const CREDENTIALS: Check = (value, path, ctx) => {
  const expected = 'an object { user: "password" } or an iterable of [user, password] pairs';
  if (typeof value !== "object" || value === null) invalid(ctx, path, expected, value);
};

const BASIC_AUTH_OPTIONS: Schema<BasicAuthOptions> = {
  realm: REALM,
  credentials: CREDENTIALS,
  check: func("(user, password, request) => boolean | Promise<boolean>"),
};

/**
 * A `processRequest` that lets in the requests with a good
 * `Authorization: Basic` header and sets `connection.data.user`; the
 * others get 401 with `WWW-Authenticate: Basic realm="…", charset="UTF-8"`.
 * Give either `credentials` or `check`.
 *
 * Throws a `TypeError` / `RangeError` (code `WS_ERR_INVALID_OPTION`) for
 * options that are not allowed: both or neither of `credentials` and
 * `check`, a user name with a colon (RFC 7617 §2 forbids it), a realm with
 * a quote.
 */
export function basicAuth(options: BasicAuthOptions): AuthProcessRequest {
  validateOptions("basicAuth()", options, BASIC_AUTH_OPTIONS);
  if (options === undefined || options === null) {
    throw argumentError("WS_ERR_INVALID_OPTION", "basicAuth(options): options must give credentials or check");
  }
  const { credentials, check } = options;
  if ((credentials === undefined) === (check === undefined)) {
    throw argumentError("WS_ERR_INVALID_OPTION", "basicAuth(): give exactly one of options.credentials and options.check", true);
  }
  const realm = options.realm ?? "wavesock";
  const challenge = `Basic realm="${realm}", charset="UTF-8"`;
  const refuse = (why: string) => rejectResponse(401, `Unauthorized: ${why}.\n`, { "www-authenticate": challenge });
  const verify = check ?? credentialsChecker(credentials!);

  return async (connection, request) => {
    const header = request.headers["authorization"];
    if (header === undefined) return refuse("credentials required");
    const pair = parseBasic(header);
    if (pair === null) return refuse("unsupported credentials");
    const [user, password] = pair;
    if (!(await verify(user, password, request))) return refuse("invalid credentials");
    connection.data.user = user;
    return undefined;
  };
}

/** The check for a fixed table of credentials: every pair compared, in constant time per pair. */
function credentialsChecker(credentials: NonNullable<BasicAuthOptions["credentials"]>): (user: string, password: string) => boolean {
  const key = randomBytes(32);
  const digest = (s: string) => createHmac("sha256", key).update(s, "utf8").digest();
  const pairs = isIterable(credentials) ? Array.from(credentials) : Object.entries(credentials);
  const table = pairs.map((pair, i): [Buffer, Buffer] => {
    const [user, password] = Array.isArray(pair) ? pair : [undefined, undefined];
    if (typeof user !== "string" || typeof password !== "string" || (pair as readonly unknown[]).length !== 2) {
      throw argumentError("WS_ERR_INVALID_OPTION", `basicAuth(): options.credentials entry ${i} must be a [user, password] pair of strings; got ${describeValue(pair)}`);
    }
    if (user.includes(":")) {
      throw argumentError("WS_ERR_INVALID_OPTION", `basicAuth(): the user name ${JSON.stringify(user)} contains a colon, which Basic authentication cannot carry (RFC 7617 §2)`, true);
    }
    return [digest(user), digest(password)];
  });
  if (table.length === 0) throw argumentError("WS_ERR_INVALID_OPTION", "basicAuth(): options.credentials is empty: nobody could log in", true);
  return (user, password) => {
    const u = digest(user);
    const p = digest(password);
    let ok = false;
    for (const [tu, tp] of table) {
      // Both comparisons every time, and no early exit: the time does not depend on which part matched.
      const userOk = timingSafeEqual(u, tu);
      const passwordOk = timingSafeEqual(p, tp);
      ok = (userOk && passwordOk) || ok;
    }
    return ok;
  };
}

function isIterable(value: object): value is Iterable<readonly [string, string]> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * `Basic <base64(user:password)>` → [user, password]; null when it is another
 * scheme or malformed. RFC 7235 §2.1: the scheme is case-insensitive.
 * RFC 7617 §2.1: with charset="UTF-8" the credentials are UTF-8.
 */
export function parseBasic(header: string): [string, string] | null {
  const match = /^basic +([^ ]+) *$/i.exec(header);
  if (match === null) return null;
  const token = match[1]!;
  if (token.length % 4 !== 0 || !BASE64.test(token)) return null;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(token, "base64"));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) return null;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}
