/**
 * Proxy URLs, as curl and most tools write them:
 *
 * - `http://[user:password@]host[:port]` — HTTP `CONNECT` (RFC 9110 §9.3.6),
 *   with Basic proxy authorization from the user info; port 80 by default.
 * - `socks5://[user:password@]host[:port]` — SOCKS5 (RFC 1928), the client
 *   resolves the server's host name and sends the address.
 * - `socks5h://...` — SOCKS5 with the host name sent to the proxy, which
 *   resolves it ("remote DNS"). Port 1080 by default for both.
 *
 * A value without a scheme (`proxy.example:3128`) is an HTTP proxy, as in
 * curl. HTTPS proxies (TLS to the proxy itself) and SOCKS4 are refused
 * with a message saying so; wss:// through an `http://` proxy is still
 * encrypted end to end, inside the tunnel.
 */
import * as net from "node:net";
import { argumentError } from "../errors.js";

/** A proxy URL that cannot be used: the caller says where it came from. */
const bad = (why: string) => argumentError("WS_ERR_INVALID_OPTION", why);

/** The proxy protocols `connect` speaks. */
export type ProxyProtocol = "http" | "socks5" | "socks5h";

/** A parsed proxy URL. */
export interface ProxySpec {
  /** How to talk to the proxy. */
  protocol: ProxyProtocol;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
  /** Percent-decoded user name from the URL, if any. */
  username?: string;
  /** Percent-decoded password (empty when only a user name is given). */
  password?: string;
  /** The URL without credentials, for messages. */
  display: string;
}

const DEFAULT_PORTS: Record<ProxyProtocol, number> = { http: 80, socks5: 1080, socks5h: 1080 };

/**
 * Parse a proxy URL. Throws a `TypeError` (`WS_ERR_INVALID_OPTION`) whose
 * message says what is wrong; the caller adds where the value came from.
 */
export function parseProxy(value: string | URL): ProxySpec {
  let text = typeof value === "string" ? value.trim() : value.href;
  // curl: "If the proxy string has no protocol, http:// is assumed".
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad("not a valid proxy URL");
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme === "https") {
    throw bad("https:// proxies (TLS to the proxy) are not supported; use an http:// proxy: wss:// stays encrypted inside its tunnel");
  }
  if (scheme === "socks" || scheme === "socks4" || scheme === "socks4a") {
    throw bad("SOCKS4 is not supported; use socks5:// or socks5h://");
  }
  if (scheme !== "http" && scheme !== "socks5" && scheme !== "socks5h") {
    throw bad("the scheme must be http://, socks5:// or socks5h://");
  }
  const protocol: ProxyProtocol = scheme;
  let host = url.hostname;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "") throw bad("the proxy URL has no host");
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    throw bad("a proxy URL has no path, query or fragment");
  }
  // For http: the WHATWG parser drops ":80", so "" is the default either way.
  const port = url.port === "" ? DEFAULT_PORTS[protocol] : Number(url.port);
  const spec: ProxySpec = { protocol, host, port, display: `${protocol}://${net.isIPv6(host) ? `[${host}]` : host}:${port}` };
  if (url.username !== "" || url.password !== "") {
    try {
      spec.username = decodeURIComponent(url.username);
      spec.password = decodeURIComponent(url.password);
    } catch {
      throw bad("invalid percent-encoding in the proxy URL's user info");
    }
  }
  return spec;
}

/** `host:port` as a request target or a message shows it: brackets around IPv6. */
export function authority(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
