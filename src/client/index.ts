/**
 * The client room: what a real client needs beyond one socket to one
 * server — reconnection with backoff (`reconnect.ts`), proxies (HTTP
 * CONNECT in `proxy.ts`, SOCKS5 in `socks.ts`, proxy URLs in
 * `proxy-url.ts`, the environment in `env.ts`), redirects of the opening
 * handshake (`redirect.ts`), `ws+unix:` URIs (`unix.ts`), and the public
 * `connect()` that composes them over the node adapter (`connect.ts`).
 *
 * It sits above `src/node/` and uses it through its surface: the
 * adapter's `connect` and its `transport`, `socketPath` and `signal`
 * options. Nothing below imports this folder.
 */
export { connect } from "./connect.js";
export type { Connecting } from "./connect.js";
export type { ClientOptions } from "./options.js";
export { DEFAULT_MAX_REDIRECTS } from "./options.js";
export { processException, DEFAULT_BACKOFF } from "./reconnect.js";
export type { BackoffOptions, ProcessException, RetryInfo } from "./reconnect.js";
export { ProxyError, RedirectError } from "./exceptions.js";
export type { RedirectRefusal } from "./exceptions.js";
