/**
 * The options of the public `connect()`: those of the node adapter's
 * connect ({@link ConnectOptions}) and the client features' own — proxy,
 * redirects, reconnection — with their runtime checks, built on the
 * adapter's option table as `src/node/options` intends.
 */
import type { ConnectOptions } from "../node/client.js";
import { CONNECT_ALIASES, CONNECT_OPTIONS, crossConnect } from "../node/options/entry-points.js";
import { func, integer, invalid, milliseconds, nested, validateOptions, type Check, type Schema } from "../node/options/schema.js";
import { argumentError } from "../errors.js";
import { parseProxy } from "./proxy-url.js";
import type { BackoffOptions, ProcessException } from "./reconnect.js";

/** Options of {@link connect}: the connection's, and the client features'. */
export interface ClientOptions extends ConnectOptions {
  /**
   * The proxy to connect through: `http://[user:pass@]host:port` (HTTP
   * CONNECT, Basic proxy authorization), `socks5://...` (SOCKS5, host
   * names resolved here) or `socks5h://...` (SOCKS5, host names resolved
   * by the proxy). `null`: no proxy, whatever the environment says.
   * Absent: from the environment as curl reads it (`wss_proxy` /
   * `https_proxy` for wss://, `ws_proxy` / `http_proxy` for ws://,
   * `all_proxy`, `no_proxy`; see docs/client.md). Not with `sock`,
   * `socketPath` or `transport`, which say how to reach the server
   * themselves (and turn the environment off).
   */
  proxy?: string | URL | null;
  /** Redirects (301, 302, 303, 307, 308) followed in a row before failing with `RedirectError`; 0 follows none (the 3xx is an `InvalidStatus`). Default 10. */
  maxRedirects?: number;
  /** Delays of the reconnection loop (`for await ... of connect()`). */
  backoff?: BackoffOptions;
  /** Retry policy of the reconnection loop; default {@link processException}. */
  processException?: ProcessException;
}

/** Default {@link ClientOptions.maxRedirects}, as Python `websockets`' `MAX_REDIRECTS`. */
export const DEFAULT_MAX_REDIRECTS = 10;

/** `proxy`: a URL that {@link parseProxy} accepts, or null. */
const proxy: Check = (value, path, ctx) => {
  const expected = 'a proxy URL ("http://host:3128", "socks5://user:pass@host:1080", "socks5h://..."), or null for no proxy';
  if (value === null) return;
  if (typeof value !== "string" && !(value instanceof URL)) invalid(ctx, path, expected, value);
  try {
    parseProxy(value);
  } catch (err) {
    throw argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: ${path}: ${(err as Error).message}; got ${JSON.stringify(String(value))}`, true);
  }
};

/** A finite number ≥ 1. */
const factor: Check = (value, path, ctx) => {
  if (typeof value !== "number") invalid(ctx, path, "a number ≥ 1", value);
  if (!(value >= 1) || !Number.isFinite(value)) invalid(ctx, path, "a number ≥ 1", value, true);
};

const BACKOFF_OPTIONS: Schema<BackoffOptions> = {
  initialDelay: milliseconds(false),
  minDelay: milliseconds(false),
  factor,
  maxDelay: milliseconds(false),
  resetAfter: milliseconds(false),
};

const backoffShape = nested("backoff delays { initialDelay, minDelay, factor, maxDelay, resetAfter }", BACKOFF_OPTIONS);

/** `backoff`: its own names and values, and minDelay ≤ maxDelay. */
const backoff: Check = (value, path, ctx) => {
  backoffShape(value, path, ctx);
  const { minDelay, maxDelay } = value as BackoffOptions;
  if (minDelay !== undefined && maxDelay !== undefined && minDelay > maxDelay) {
    throw argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: ${path}.minDelay (${minDelay}) must not be above ${path}.maxDelay (${maxDelay})`, true);
  }
};

/** Every option of the public `connect()`. */
export const CLIENT_OPTIONS: Schema<ClientOptions> = {
  ...CONNECT_OPTIONS,
  proxy,
  maxRedirects: integer(0),
  backoff,
  processException: func("(error, { attempt, delay }) => undefined to retry, or an error to stop"),
};

/** Check the options of the public `connect()`. */
export function validateClientOptions(options: unknown): void {
  validateOptions("connect()", options, CLIENT_OPTIONS, {
    aliases: CONNECT_ALIASES,
    cross: (given, ctx) => {
      crossConnect(given, ctx);
      if (given["proxy"] === undefined || given["proxy"] === null) return;
      const route = ["sock", "socketPath", "transport"].find((name) => given[name] !== undefined);
      if (route !== undefined) {
        throw argumentError(
          "WS_ERR_INVALID_OPTION",
          `${ctx.where}: options.proxy and options.${route} cannot be used together: ${route} already says how to reach the server`,
        );
      }
    },
  });
}
