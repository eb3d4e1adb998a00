import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Example, killAll } from "./helpers.js";
import { MICROSOCKS, TINYPROXY, missing, startMicrosocks, startTinyproxy, type ProxyProcess } from "../client/helpers.js";

afterEach(killAll);

const SKIPPED = missing(TINYPROXY, MICROSOCKS);
const suite = SKIPPED ? describe.skip : describe;

suite(`examples/proxy-client.js${SKIPPED}`, () => {
  let http: ProxyProcess;
  let socks: ProxyProcess;
  beforeAll(async () => {
    [http, socks] = await Promise.all([startTinyproxy({ user: "demo", password: "pw" }), startMicrosocks()]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([http?.stop(), socks?.stop()]);
  });

  it("reaches the echo server through an HTTP proxy with credentials, and through SOCKS5", async () => {
    const { example: server, port } = await Example.server("echo-server.js");
    for (const proxy of [http.url("http", "demo:pw"), socks.url("socks5h")]) {
      const client = Example.start("proxy-client.js", { URL: `ws://127.0.0.1:${port}`, PROXY: proxy });
      expect(await client.exited).toEqual({ code: 0, signal: null });
      const kind = proxy.startsWith("http") ? "http" : "socks5h";
      expect(client.stdout).toBe(`connected to ws://127.0.0.1:${port} through ${kind} proxy 127.0.0.1:${kind === "http" ? http.port : socks.port}\n< Hello through the proxy!\n`);
    }
    // From the environment.
    const viaEnv = Example.start("proxy-client.js", { URL: `ws://127.0.0.1:${port}`, http_proxy: socks.url() });
    expect((await viaEnv.exited).code).toBe(0);
    await server.stop();
  });

  it("says what the proxy refused: no credentials (407)", async () => {
    const client = Example.start("proxy-client.js", { URL: "ws://127.0.0.1:1", PROXY: http.url() });
    expect((await client.exited).code).toBe(1);
    expect(client.stderr).toMatch(/^proxy error \(WS_ERR_PROXY_AUTH\): HTTP proxy http:\/\/127\.0\.0\.1:\d+ requires authentication: .*\(HTTP 407 /);
  });
});
