/**
 * The proxy for a URI from the environment, read the way curl reads it
 * (libcurl-env(3), CURLOPT_NOPROXY(3)):
 *
 * - wss:// uses `wss_proxy`, then `https_proxy`; ws:// uses `ws_proxy`,
 *   then `http_proxy` ("for the WebSocket ws and wss URL schemes, libcurl
 *   first checks ws_proxy or wss_proxy but if they are not set, it falls
 *   back and tries the http and https versions"); then `all_proxy`.
 * - Each name is looked up in lower case first, then in upper case —
 *   except `http_proxy`, which is read in lower case only: a CGI program
 *   finds the client's `Proxy:` request header in `HTTP_PROXY`, so the
 *   upper-case name can be set by whoever sends the request ("httpoxy").
 * - An empty value counts as unset.
 * - `no_proxy` / `NO_PROXY`: a comma-separated list of hosts to reach
 *   directly. `*` matches every host. A name matches itself and every name
 *   under it (`example.com` and `.example.com` both match `example.com`
 *   and `www.example.com`, not `notexample.com`); an IP address or a CIDR
 *   block (`10.0.0.0/8`, `::1`, `fd00::/8`, IPv6 without brackets) matches
 *   a URI whose host is an address in it — names are not resolved for
 *   this. Beyond curl, an entry may end in `:port` (`[::1]:8080` for IPv6)
 *   to bypass the proxy for that port only.
 */
import * as net from "node:net";

/** Environment variables, as `process.env`. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The proxy the environment gives for a URI, and the variable it came from. */
export interface EnvironmentProxy {
  /** The variable's value. */
  value: string;
  /** Its name as found (`https_proxy`, `ALL_PROXY`...). */
  variable: string;
}

/** The first set, non-empty variable among `names`, each tried in lower then upper case. */
function read(env: Environment, names: readonly string[]): EnvironmentProxy | null {
  for (const name of names) {
    const candidates = name === "http_proxy" ? [name] : [name, name.toUpperCase()];
    for (const variable of candidates) {
      const value = env[variable]?.trim();
      if (value) return { value, variable };
    }
  }
  return null;
}

/**
 * The proxy to use for a `ws://` (`secure` false) or `wss://` URI to
 * `host:port`, or null when none is set or `no_proxy` excludes it.
 */
export function proxyFromEnvironment(env: Environment, secure: boolean, host: string, port: number): EnvironmentProxy | null {
  const proxy = read(env, secure ? ["wss_proxy", "https_proxy", "all_proxy"] : ["ws_proxy", "http_proxy", "all_proxy"]);
  if (proxy === null) return null;
  const noProxy = read(env, ["no_proxy"]);
  if (noProxy !== null && bypasses(noProxy.value, host, port)) return null;
  return proxy;
}

/** True when the `no_proxy` list `list` says to reach `host:port` directly. */
export function bypasses(list: string, host: string, port: number): boolean {
  const target = normalise(host);
  const targetIP = net.isIP(target);
  for (const raw of list.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    const { pattern, entryPort } = splitPort(entry);
    if (entryPort !== null && entryPort !== port) continue;
    if (matchesAddress(pattern, target, targetIP) || matchesName(pattern, target, targetIP)) return true;
  }
  return false;
}

/** Lower case, without a trailing dot or IPv6 brackets. */
function normalise(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

/** `name:port`, `1.2.3.4:port`, `[v6]:port`; a bare IPv6 address (several colons) has no port. */
function splitPort(entry: string): { pattern: string; entryPort: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) return { pattern: bracketed[1]!, entryPort: bracketed[2] === undefined ? null : Number(bracketed[2]) };
  const colon = entry.lastIndexOf(":");
  if (colon !== -1 && entry.indexOf(":") === colon && /^\d+$/.test(entry.slice(colon + 1))) {
    return { pattern: entry.slice(0, colon), entryPort: Number(entry.slice(colon + 1)) };
  }
  return { pattern: entry, entryPort: null };
}

/** An IP address or CIDR block, against a host that is an address. */
function matchesAddress(pattern: string, target: string, targetIP: number): boolean {
  if (targetIP === 0) return false;
  const slash = pattern.indexOf("/");
  const address = slash === -1 ? pattern : pattern.slice(0, slash);
  const family = net.isIP(address);
  if (family === 0) return false;
  const type = family === 4 ? "ipv4" : "ipv6";
  const list = new net.BlockList();
  try {
    if (slash === -1) list.addAddress(address, type);
    else {
      const prefix = pattern.slice(slash + 1);
      if (!/^\d{1,3}$/.test(prefix)) return false;
      list.addSubnet(address, Number(prefix), type);
    }
    return list.check(target, targetIP === 4 ? "ipv4" : "ipv6");
  } catch {
    // A prefix out of range: an entry that matches nothing.
    return false;
  }
}

/** A host name and its subdomains; a leading `.` or `*.` is optional. */
function matchesName(pattern: string, target: string, targetIP: number): boolean {
  let name = pattern.replace(/^\*?\./, "");
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (name === "" || net.isIP(name) !== 0) return false;
  // An address is matched by address entries only.
  if (targetIP !== 0) return target === name;
  return target === name || target.endsWith(`.${name}`);
}
