/**
 * A tunnel through an HTTP proxy: `CONNECT host:port` (RFC 9110 §9.3.6).
 *
 * "A client sending a CONNECT request MUST send the authority form of
 * request-target (Section 7.1 of [HTTP/1.1]); i.e., the request-target
 * consists of only the host name and port number of the tunnel
 * destination, separated by a colon." Any 2xx answer opens the tunnel:
 * "A server MUST NOT send any Transfer-Encoding or Content-Length header
 * fields in a 2xx (Successful) response to CONNECT", so everything after
 * its head belongs to the tunnel. Any other answer ends it; 407 asks for
 * proxy credentials (RFC 9110 §15.5.8), sent here as Basic
 * `Proxy-Authorization` (RFC 7617) from the proxy URL's user info.
 *
 * Proxies answer in HTTP/1.0 as often as in 1.1 (tinyproxy does), so the
 * answer is read by a small parser of its own rather than the WebSocket
 * handshake's strict HTTP/1.1 one.
 */
import { Buffer } from "node:buffer";
import type * as net from "node:net";
import type { HttpResponseLike } from "../errors.js";
import type { TransportTarget } from "../node/client.js";
import { ProxyError } from "./exceptions.js";
import { authority, type ProxySpec } from "./proxy-url.js";
import { StreamReader, dial } from "./stream.js";

/** Largest proxy answer head read before giving up. */
const MAX_HEAD = 16 * 1024;

/** Open a `CONNECT` tunnel to `target` through the HTTP proxy `proxy`. */
export async function httpTunnel(proxy: ProxySpec, target: TransportTarget, signal: AbortSignal): Promise<net.Socket> {
  const to = authority(target.host, target.port);
  const details = { proxy: proxy.display, target: to };
  const socket = await dial(dialOptions(proxy, target), signal);
  const reader = new StreamReader(
    socket,
    signal,
    () => new ProxyError(`HTTP proxy ${proxy.display} closed the connection before answering CONNECT ${to}`, "WS_ERR_PROXY", details),
  );
  try {
    socket.write(connectRequest(proxy, to));
    const head = await reader.readHead(
      MAX_HEAD,
      () => new ProxyError(`HTTP proxy ${proxy.display} sent an answer head over ${MAX_HEAD} bytes`, "WS_ERR_PROXY", details),
    );
    const response = parseResponseHead(head);
    if (response === null) {
      throw new ProxyError(`HTTP proxy ${proxy.display} did not answer CONNECT ${to} in HTTP`, "WS_ERR_PROXY", details);
    }
    if (response.status < 200 || response.status > 299) throw refusal(proxy, to, response);
    reader.release();
    return socket;
  } catch (err) {
    reader.release(false);
    socket.destroy();
    throw err;
  }
}

function dialOptions(proxy: ProxySpec, target: TransportTarget) {
  const options: { host: string; port: number; localAddress?: string; family?: number } = { host: proxy.host, port: proxy.port };
  if (target.localAddress !== undefined) options.localAddress = target.localAddress;
  if (target.family !== undefined) options.family = target.family;
  return options;
}

/** The `CONNECT` request: authority form, `Host` the same, Basic credentials when the URL has some. */
function connectRequest(proxy: ProxySpec, to: string): Buffer {
  let head = `CONNECT ${to} HTTP/1.1\r\nHost: ${to}\r\n`;
  if (proxy.username !== undefined) {
    // RFC 7617 §2: base64 of user-id ":" password, in UTF-8.
    const credentials = Buffer.from(`${proxy.username}:${proxy.password ?? ""}`, "utf8").toString("base64");
    head += `Proxy-Authorization: Basic ${credentials}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, "latin1");
}

/** The error for a non-2xx answer, with a code that says whose problem it is. */
function refusal(proxy: ProxySpec, to: string, response: HttpResponseLike): ProxyError {
  const details = { proxy: proxy.display, target: to, response };
  const answer = `HTTP ${response.status}${response.reason ? ` ${response.reason}` : ""}`;
  // tinyproxy answers 401 (not 407) to wrong credentials; both mean "not with these".
  if (response.status === 407 || response.status === 401) {
    const why = proxy.username === undefined ? "requires authentication: put user:password in the proxy URL" : "refused the credentials in the proxy URL";
    return new ProxyError(`HTTP proxy ${proxy.display} ${why} (${answer})`, "WS_ERR_PROXY_AUTH", details);
  }
  if (response.status >= 500) {
    return new ProxyError(`HTTP proxy ${proxy.display} could not connect to ${to} (${answer})`, "WS_ERR_PROXY_TARGET", details);
  }
  return new ProxyError(`HTTP proxy ${proxy.display} refused CONNECT ${to} (${answer})`, "WS_ERR_PROXY", details);
}

/**
 * `HTTP/1.x SP status [SP reason]` then `name: value` lines, names lower
 * cased, repeated ones joined with ", ". Null when it is not HTTP.
 */
export function parseResponseHead(head: Buffer): HttpResponseLike | null {
  const lines = head.toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: ([^\r\n]*))?$/.exec(lines[0] ?? "");
  if (status === null) return null;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(status[1]), reason: status[2] ?? "", headers };
}
