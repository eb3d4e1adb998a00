/**
 * The proxy from the environment, as curl reads it: which variable for
 * which scheme, lower case first, `http_proxy` in lower case only,
 * `no_proxy` rules (suffixes, `*`, IPs, CIDR, ports) — as a table, then
 * over real sockets through tinyproxy and microsocks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ProxyError, connect, serve, type Server } from "../../src/index.js";
import { bypasses, proxyFromEnvironment } from "../../src/client/env.js";
import { parseProxy } from "../../src/client/proxy-url.js";
import { MICROSOCKS, TINYPROXY, missing, startMicrosocks, startTinyproxy, type ProxyProcess } from "./helpers.js";
import { selfSignedCert } from "../node/helpers.js";

describe("proxyFromEnvironment", () => {
  const pick = (env: Record<string, string>, secure: boolean, host = "example.com", port = secure ? 443 : 80) =>
    proxyFromEnvironment(env, secure, host, port)?.variable ?? null;

  it("wss:// reads wss_proxy, then https_proxy, then all_proxy; ws:// reads ws_proxy, then http_proxy, then all_proxy", () => {
    const all = { wss_proxy: "a", https_proxy: "b", all_proxy: "c", ws_proxy: "d", http_proxy: "e" };
    expect(pick(all, true)).toBe("wss_proxy");
    expect(pick({ https_proxy: "b", all_proxy: "c", http_proxy: "e" }, true)).toBe("https_proxy");
    expect(pick({ all_proxy: "c", http_proxy: "e" }, true)).toBe("all_proxy");
    expect(pick(all, false)).toBe("ws_proxy");
    expect(pick({ http_proxy: "e", https_proxy: "b", all_proxy: "c" }, false)).toBe("http_proxy");
    expect(pick({ https_proxy: "b", all_proxy: "c" }, false)).toBe("all_proxy");
    expect(pick({ https_proxy: "b" }, false)).toBeNull();
  });

  it("lower case wins over upper case; HTTP_PROXY is never read (httpoxy); empty counts as unset", () => {
    expect(pick({ https_proxy: "lower", HTTPS_PROXY: "upper" }, true)).toBe("https_proxy");
    expect(pick({ HTTPS_PROXY: "upper" }, true)).toBe("HTTPS_PROXY");
    expect(pick({ ALL_PROXY: "upper" }, false)).toBe("ALL_PROXY");
    expect(pick({ WS_PROXY: "upper" }, false)).toBe("WS_PROXY");
    expect(pick({ HTTP_PROXY: "from a CGI request header" }, false)).toBeNull();
    expect(pick({ HTTP_PROXY: "x", ALL_PROXY: "y" }, false)).toBe("ALL_PROXY");
    expect(pick({ https_proxy: "", HTTPS_PROXY: "upper" }, true)).toBe("HTTPS_PROXY");
    expect(pick({ https_proxy: "  " }, true)).toBeNull();
  });

  it("no_proxy (lower case first) turns the proxy off for the hosts it lists", () => {
    expect(pick({ https_proxy: "p", no_proxy: "example.com" }, true)).toBeNull();
    expect(pick({ https_proxy: "p", NO_PROXY: "example.com" }, true)).toBeNull();
    expect(pick({ https_proxy: "p", no_proxy: "other.org", NO_PROXY: "example.com" }, true)).toBe("https_proxy");
    expect(pick({ https_proxy: "p", no_proxy: "" }, true)).toBe("https_proxy");
  });
});

describe("no_proxy matching (bypasses)", () => {
  const cases: [string, string, number, boolean][] = [
    ["*", "anything.example", 80, true],
    ["a.org, *", "x.example", 80, true],
    ["example.com", "example.com", 443, true],
    ["example.com", "www.example.com", 443, true],
    ["example.com", "a.b.example.com", 443, true],
    ["example.com", "notexample.com", 443, false],
    ["example.com", "example.com.org", 443, false],
    [".example.com", "example.com", 443, true],
    [".example.com", "www.example.com", 443, true],
    ["*.example.com", "www.example.com", 443, true],
    ["EXAMPLE.com", "www.Example.COM", 443, true],
    ["example.com.", "www.example.com", 443, true],
    ["example.com", "www.example.com.", 443, true],
    [" a.org ,  example.com ", "example.com", 443, true],
    ["a.org,,b.org", "example.com", 443, false],
    ["localhost", "localhost", 8080, true],
    ["127.0.0.1", "127.0.0.1", 8080, true],
    ["127.0.0.1", "127.0.0.2", 8080, false],
    ["127.0.0.0/8", "127.1.2.3", 8080, true],
    ["10.0.0.0/8", "127.0.0.1", 8080, false],
    ["192.168.0.0/16", "192.168.4.5", 80, true],
    ["::1", "::1", 80, true],
    ["::1", "[::1]", 80, true],
    ["[::1]", "::1", 80, true],
    ["fd00::/8", "fd12:3456::1", 80, true],
    ["fd00::/8", "fe80::1", 80, false],
    // An address entry does not match a name, nor a name entry an address.
    ["127.0.0.1", "localhost", 80, false],
    ["0.1", "127.0.0.1", 80, false],
    // Ports (beyond curl): only that port.
    ["example.com:8080", "example.com", 8080, true],
    ["example.com:8080", "example.com", 443, false],
    ["127.0.0.1:8765", "127.0.0.1", 8765, true],
    ["127.0.0.1:8765", "127.0.0.1", 8766, false],
    ["[::1]:8765", "::1", 8765, true],
    ["[::1]:8765", "::1", 80, false],
    ["10.0.0.0/99", "10.0.0.1", 80, false],
  ];
  it.each(cases)("no_proxy=%j, host %s port %i → bypass %s", (list, host, port, expected) => {
    expect(bypasses(list, host, port)).toBe(expected);
  });
});

describe("parseProxy", () => {
  it("reads http, socks5 and socks5h URLs with their default ports and decoded credentials", () => {
    expect(parseProxy("http://p.example:3128")).toEqual({ protocol: "http", host: "p.example", port: 3128, display: "http://p.example:3128" });
    expect(parseProxy("p.example:3128").protocol).toBe("http");
    expect(parseProxy("http://p.example").port).toBe(80);
    expect(parseProxy("socks5://[::1]").port).toBe(1080);
    expect(parseProxy("socks5://[::1]").display).toBe("socks5://[::1]:1080");
    expect(parseProxy("SOCKS5H://u%40x:p%3Aw@h:9")).toEqual({
      protocol: "socks5h",
      host: "h",
      port: 9,
      username: "u@x",
      password: "p:w",
      display: "socks5h://h:9",
    });
    expect(parseProxy(new URL("http://h:1/")).port).toBe(1);
  });

  it("refuses what it cannot speak, saying so", () => {
    expect(() => parseProxy("https://p:443")).toThrow(/https:\/\/ proxies .* not supported/);
    expect(() => parseProxy("socks4://p:1080")).toThrow(/SOCKS4 is not supported/);
    expect(() => parseProxy("ftp://p")).toThrow(/http:\/\/, socks5:\/\/ or socks5h:\/\//);
    expect(() => parseProxy("http://p:1/path")).toThrow(/no path/);
    expect(() => parseProxy("http://")).toThrow(/not a valid proxy URL|no host/);
  });
});

const SKIPPED = missing(TINYPROXY, MICROSOCKS);
const suite = SKIPPED ? describe.skip : describe;

suite(`proxies from the environment, over real sockets${SKIPPED}`, () => {
  let http: ProxyProcess;
  let socks: ProxyProcess;
  let echo: Server;
  let tlsEcho: Server;
  let cert: string;
  const saved = { ...process.env };
  const NAMES = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "ws_proxy", "WS_PROXY", "wss_proxy", "WSS_PROXY"];

  beforeAll(async () => {
    [http, socks] = await Promise.all([startTinyproxy(), startMicrosocks()]);
    echo = await serve(async (ws) => ws.send("hello"), { host: "127.0.0.1", port: 0 });
    const pair = selfSignedCert();
    cert = pair.cert;
    tlsEcho = await serve(async (ws) => ws.send("hello"), { host: "127.0.0.1", port: 0, tls: pair });
  }, 30_000);
  afterEach(() => {
    for (const name of NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  afterAll(async () => {
    await Promise.all([http?.stop(), socks?.stop(), echo?.close(), tlsEcho?.close()]);
  });

  const set = (vars: Record<string, string>) => {
    for (const name of NAMES) delete process.env[name];
    Object.assign(process.env, vars);
  };
  const via = async (uri: string, options: Parameters<typeof connect>[1] = {}) => {
    const ws = await connect(uri, options);
    expect(await ws.recv()).toBe("hello");
    const port = ws.remotePort;
    await ws.close();
    return port === http.port ? "http proxy" : port === socks.port ? "socks proxy" : "direct";
  };

  it("ws:// uses http_proxy; the tinyproxy log shows the CONNECT", async () => {
    set({ http_proxy: http.url() });
    expect(await via(`ws://127.0.0.1:${echo.port}/`)).toBe("http proxy");
    await expect.poll(() => http.output()).toContain(`CONNECT 127.0.0.1:${echo.port}`);
  });

  it("ws:// ignores HTTP_PROXY in upper case, and takes ALL_PROXY (a SOCKS one)", async () => {
    set({ HTTP_PROXY: http.url() });
    expect(await via(`ws://127.0.0.1:${echo.port}/`)).toBe("direct");
    set({ HTTP_PROXY: http.url(), ALL_PROXY: socks.url("socks5h") });
    expect(await via(`ws://127.0.0.1:${echo.port}/`)).toBe("socks proxy");
  });

  it("wss:// uses HTTPS_PROXY (not http_proxy), with TLS inside the tunnel", async () => {
    set({ http_proxy: socks.url(), HTTPS_PROXY: http.url() });
    expect(await via(`wss://localhost:${tlsEcho.port}/`, { tls: { ca: cert } })).toBe("http proxy");
  });

  it("NO_PROXY bypasses the proxy for the hosts (and ports) it lists", async () => {
    set({ http_proxy: http.url(), NO_PROXY: "example.com, 127.0.0.1" });
    expect(await via(`ws://127.0.0.1:${echo.port}/`)).toBe("direct");
    set({ http_proxy: http.url(), no_proxy: `127.0.0.1:${echo.port}` });
    expect(await via(`ws://127.0.0.1:${echo.port}/`)).toBe("direct");
    set({ http_proxy: http.url(), no_proxy: "127.0.0.1:1" });
    expect(await via(`ws://127.0.0.1:${echo.port}/`)).toBe("http proxy");
    set({ http_proxy: http.url(), no_proxy: "*" });
    expect(await via(`ws://127.0.0.1:${echo.port}/`)).toBe("direct");
  });

  it("proxy: null ignores the environment; an explicit proxy is used even for a host no_proxy lists", async () => {
    set({ http_proxy: http.url(), no_proxy: "127.0.0.1" });
    expect(await via(`ws://127.0.0.1:${echo.port}/`, { proxy: socks.url() })).toBe("socks proxy");
    set({ http_proxy: http.url() });
    expect(await via(`ws://127.0.0.1:${echo.port}/`, { proxy: null })).toBe("direct");
  });

  it("a variable that is not a usable proxy URL: ProxyError naming the variable, not its value", async () => {
    set({ https_proxy: "https://user:secret@proxy.example:443" });
    const err = (await connect(`wss://127.0.0.1:${tlsEcho.port}/`).catch((e: unknown) => e)) as ProxyError;
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.code).toBe("WS_ERR_PROXY");
    expect(err.message).toMatch(/^the https_proxy environment variable is not a usable proxy: https:\/\/ proxies/);
    expect(err.message).not.toContain("secret");
  });
});
