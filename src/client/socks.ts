/**
 * A tunnel through a SOCKS5 proxy: RFC 1928 (the protocol) with RFC 1929
 * (username/password authentication).
 *
 * Three exchanges, each answered before the next is sent:
 *
 * 1. method selection (§3): "VER | NMETHODS | METHODS"; the proxy picks one
 *    ("X'00' NO AUTHENTICATION REQUIRED", "X'02' USERNAME/PASSWORD") or
 *    answers "X'FF' NO ACCEPTABLE METHODS";
 * 2. for X'02', RFC 1929 §2: "VER | ULEN | UNAME | PLEN | PASSWD", answered
 *    "VER | STATUS" where "A STATUS field of X'00' indicates success";
 * 3. the request (§4): "VER | CMD | RSV | ATYP | DST.ADDR | DST.PORT" with
 *    CMD X'01' CONNECT, answered (§6) "VER | REP | RSV | ATYP | BND.ADDR |
 *    BND.PORT"; REP X'00' means the tunnel is open.
 *
 * `socks5://` resolves the server's host name here and sends an address
 * (ATYP X'01' / X'04'); `socks5h://` sends the name (ATYP X'03') and lets
 * the proxy resolve it — the only way to reach names that resolve on the
 * proxy's side of the network alone.
 */
import { Buffer } from "node:buffer";
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import type { TransportTarget } from "../node/client.js";
import { ProxyError } from "./exceptions.js";
import { authority, type ProxySpec } from "./proxy-url.js";
import { StreamReader, dial } from "./stream.js";

const VERSION = 0x05;
const NO_AUTH = 0x00;
const USER_PASS = 0x02;
const NO_ACCEPTABLE = 0xff;
const CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** RFC 1928 §6 reply codes, for messages. */
const REPLIES: Record<number, string> = {
  1: "general SOCKS server failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

/**
 * Replies that say the server could not be reached from the proxy (worth
 * trying again later), as opposed to the proxy refusing the request.
 * microsocks answers 1 when the name does not resolve or the connect fails
 * in a way it does not map, so 1 counts as unreachable too.
 */
const UNREACHABLE = new Set([1, 3, 4, 5, 6]);

/** Open a SOCKS5 `CONNECT` tunnel to `target` through `proxy`. */
export async function socksTunnel(proxy: ProxySpec, target: TransportTarget, signal: AbortSignal): Promise<net.Socket> {
  const to = authority(target.host, target.port);
  const details = { proxy: proxy.display, target: to };
  const fail = (message: string, code: "WS_ERR_PROXY" | "WS_ERR_PROXY_AUTH" | "WS_ERR_PROXY_TARGET", reply?: number) =>
    new ProxyError(`SOCKS5 proxy ${proxy.display}: ${message}`, code, reply === undefined ? details : { ...details, reply });

  // socks5://: the name is resolved here, before the proxy is contacted.
  const address = proxy.protocol === "socks5" ? await resolve(target, signal) : target.host;
  const dialOptions: { host: string; port: number; localAddress?: string; family?: number } = { host: proxy.host, port: proxy.port };
  if (target.localAddress !== undefined) dialOptions.localAddress = target.localAddress;
  if (target.family !== undefined) dialOptions.family = target.family;
  const socket = await dial(dialOptions, signal);
  const reader = new StreamReader(socket, signal, () => fail(`closed the connection before the tunnel to ${to} was open`, "WS_ERR_PROXY"));
  try {
    const credentials = proxy.username !== undefined;
    socket.write(Buffer.from(credentials ? [VERSION, 2, NO_AUTH, USER_PASS] : [VERSION, 1, NO_AUTH]));
    const [version, method] = await reader.read(2);
    if (version !== VERSION) throw fail(`does not speak SOCKS5 (version byte ${version})`, "WS_ERR_PROXY");
    if (method === NO_ACCEPTABLE) {
      throw fail(
        credentials ? "accepts none of the authentication methods offered" : "requires authentication: put user:password in the proxy URL",
        "WS_ERR_PROXY_AUTH",
      );
    }
    if (method === USER_PASS && credentials) {
      socket.write(userPassRequest(proxy.username!, proxy.password ?? "", fail));
      const [, status] = await reader.read(2);
      if (status !== 0x00) throw fail("refused the user name and password in the proxy URL", "WS_ERR_PROXY_AUTH", status);
    } else if (method !== NO_AUTH) {
      throw fail(`chose authentication method ${method}, which was not offered`, "WS_ERR_PROXY");
    }

    socket.write(connectRequest(address, target.port, fail));
    const [replyVersion, reply, , atyp] = await reader.read(4);
    if (replyVersion !== VERSION) throw fail(`answered CONNECT with version byte ${replyVersion}`, "WS_ERR_PROXY");
    if (reply !== 0x00) {
      const text = REPLIES[reply!] ?? "unassigned reply code";
      throw fail(`could not connect to ${to}: ${text} (reply ${reply})`, UNREACHABLE.has(reply!) ? "WS_ERR_PROXY_TARGET" : "WS_ERR_PROXY", reply);
    }
    // BND.ADDR and BND.PORT: read and dropped, so that the tunnel starts clean.
    if (atyp === ATYP_IPV4) await reader.read(4 + 2);
    else if (atyp === ATYP_IPV6) await reader.read(16 + 2);
    else if (atyp === ATYP_DOMAIN) await reader.read((await reader.read(1))[0]! + 2);
    else throw fail(`answered with address type ${atyp}`, "WS_ERR_PROXY");
    reader.release();
    return socket;
  } catch (err) {
    reader.release(false);
    socket.destroy();
    throw err;
  }
}

/** socks5://: the host's address, resolved here (an IP literal as it is). */
async function resolve(target: TransportTarget, signal: AbortSignal): Promise<string> {
  if (net.isIP(target.host) !== 0) return target.host;
  const family = target.family === 4 || target.family === 6 ? target.family : 0;
  const found = lookup(target.host, { family });
  // dns.lookup cannot be cancelled; stop waiting for it instead.
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  const { address } = await Promise.race([found, aborted]);
  return address;
}

type Fail = (message: string, code: "WS_ERR_PROXY" | "WS_ERR_PROXY_AUTH" | "WS_ERR_PROXY_TARGET") => ProxyError;

/** RFC 1929 §2: each field 1 to 255 bytes. */
function userPassRequest(username: string, password: string, fail: Fail): Buffer {
  const user = Buffer.from(username, "utf8");
  const pass = Buffer.from(password, "utf8");
  if (user.length < 1 || user.length > 255 || pass.length < 1 || pass.length > 255) {
    throw fail("SOCKS5 user names and passwords must be 1 to 255 bytes each (RFC 1929)", "WS_ERR_PROXY_AUTH");
  }
  return Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]);
}

/** §4: CONNECT to an IPv4/IPv6 address or (socks5h) a domain name. */
function connectRequest(address: string, port: number, fail: Fail): Buffer {
  let dst: Buffer;
  if (net.isIPv4(address)) {
    dst = Buffer.from([ATYP_IPV4, ...address.split(".").map(Number)]);
  } else if (net.isIPv6(address)) {
    dst = Buffer.concat([Buffer.from([ATYP_IPV6]), ipv6Bytes(address)]);
  } else {
    // "the first octet of the address field contains the number of octets
    // of name that follow, there is no terminating NUL octet"
    const name = Buffer.from(address, "ascii");
    if (name.length > 255) throw fail(`host name too long for SOCKS5 (${name.length} bytes, at most 255)`, "WS_ERR_PROXY");
    dst = Buffer.concat([Buffer.from([ATYP_DOMAIN, name.length]), name]);
  }
  const portBytes = Buffer.from([port >> 8, port & 0xff]);
  return Buffer.concat([Buffer.from([VERSION, CONNECT, 0x00]), dst, portBytes]);
}

/** The 16 bytes of an IPv6 address (with `::` and an embedded IPv4 tail handled). */
export function ipv6Bytes(address: string): Buffer {
  let text = address;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4[1]!.split(".").map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, -v4[1]!.length) + "0:0";
  }
  const [left, right] = text.includes("::") ? text.split("::") : [text, undefined];
  const head = left ? left.split(":") : [];
  const rest = right === undefined ? [] : right ? right.split(":") : [];
  const groups = [...head, ...new Array<string>(8 - head.length - rest.length).fill("0"), ...rest].map((g) => parseInt(g, 16));
  if (tail.length === 2) groups.splice(6, 2, tail[0]!, tail[1]!);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
