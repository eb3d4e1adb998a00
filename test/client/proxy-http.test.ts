/**
 * connect() through a real HTTP proxy, tinyproxy, with HTTP CONNECT:
 * ws:// and wss:// (TLS inside the tunnel, SNI = the server's name), Basic
 * proxy authentication from the proxy URL, a refused authentication, an
 * unreachable server, an unreachable proxy, a proxy that never answers.
 */
import { once } from "node:events";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidStatus, ProxyError, connect, processException, serve, type Server } from "../../src/index.js";
import { freePort, missing, startTinyproxy, TINYPROXY, type ProxyProcess } from "./helpers.js";
import { selfSignedCert } from "../node/helpers.js";

const SKIPPED = missing(TINYPROXY);
const suite = SKIPPED ? describe.skip : describe;
// tinyproxy takes only [-_.a-zA-Z0-9] in BasicAuth; the URL spells the "s" as %73 to show it is decoded.
const AUTH = { user: "alice", password: "s3cr-t_x.9" };
const USERINFO = "alice:%733cr-t_x.9";

suite(`through tinyproxy (HTTP CONNECT)${SKIPPED}`, () => {
  let open: ProxyProcess;
  let authed: ProxyProcess;
  let echo: Server;
  let tlsEcho: Server;
  const snis: (string | undefined)[] = [];
  let cert: string;

  beforeAll(async () => {
    [open, authed] = await Promise.all([startTinyproxy(), startTinyproxy(AUTH)]);
    echo = await serve(async (ws) => {
      for await (const m of ws) await ws.send(m);
    }, { host: "127.0.0.1", port: 0 });
    const pair = selfSignedCert();
    cert = pair.cert;
    tlsEcho = await serve(
      async (ws) => {
        for await (const m of ws) await ws.send(m);
      },
      {
        host: "127.0.0.1",
        port: 0,
        tls: {
          key: pair.key,
          cert: pair.cert,
          SNICallback: (name, cb) => {
            snis.push(name);
            cb(null, undefined);
          },
        },
      },
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all([open?.stop(), authed?.stop(), echo?.close(), tlsEcho?.close()]);
  });

  it("tunnels ws:// (the proxy logs the CONNECT)", async () => {
    const ws = await connect(`ws://127.0.0.1:${echo.port}/chat`, { proxy: open.url() });
    await ws.send("through the proxy");
    expect(await ws.recv()).toBe("through the proxy");
    // The connection is to the proxy; the server is behind it.
    expect(ws.remotePort).toBe(open.port);
    await ws.close();
    await expect.poll(() => open.output()).toContain(`CONNECT 127.0.0.1:${echo.port}`);
  });

  it("tunnels wss:// with TLS inside the tunnel, verifying the certificate, SNI = the server's host name", async () => {
    snis.length = 0;
    const ws = await connect(`wss://localhost:${tlsEcho.port}/`, { proxy: open.url(), tls: { ca: cert } });
    await ws.send("secret");
    expect(await ws.recv()).toBe("secret");
    await ws.close();
    expect(snis).toEqual(["localhost"]);
    await expect.poll(() => open.output()).toContain(`CONNECT localhost:${tlsEcho.port}`);
    // The certificate is checked through the tunnel too.
    await expect(connect(`wss://localhost:${tlsEcho.port}/`, { proxy: open.url() })).rejects.toMatchObject({
      code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    });
  });

  it("sends Basic proxy credentials from the proxy URL (percent-decoded)", async () => {
    const ws = await connect(`ws://127.0.0.1:${echo.port}/`, { proxy: authed.url("http", USERINFO) });
    await ws.send("authorized");
    expect(await ws.recv()).toBe("authorized");
    await ws.close();
  });

  it("a proxy that wants credentials: ProxyError WS_ERR_PROXY_AUTH with the 407, not retried", async () => {
    const err = (await connect(`ws://127.0.0.1:${echo.port}/`, { proxy: authed.url() }).catch((e: unknown) => e)) as ProxyError;
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.code).toBe("WS_ERR_PROXY_AUTH");
    expect(err.response?.status).toBe(407);
    expect(err.response?.headers["proxy-authenticate"]).toMatch(/^Basic /);
    expect(err.proxy).toBe(`http://127.0.0.1:${authed.port}`);
    expect(err.target).toBe(`127.0.0.1:${echo.port}`);
    expect(err.message).toContain("requires authentication");
    expect(err.message).toContain("407");
    expect(processException(err)).toBe(err);
    // Wrong credentials: tinyproxy answers 401; the same error, saying the credentials were refused.
    const wrong = (await connect(`ws://127.0.0.1:${echo.port}/`, { proxy: authed.url("http", "alice:nope") }).catch((e: unknown) => e)) as ProxyError;
    expect(wrong.code).toBe("WS_ERR_PROXY_AUTH");
    expect(wrong.message).toContain("refused the credentials");
    expect(wrong.message).not.toContain("nope");
    expect(wrong.proxy).not.toContain("nope");
  });

  it("a server the proxy cannot reach: ProxyError WS_ERR_PROXY_TARGET with the proxy's answer, retried by the loop", async () => {
    const port = await freePort();
    const err = (await connect(`ws://127.0.0.1:${port}/`, { proxy: open.url() }).catch((e: unknown) => e)) as ProxyError;
    expect(err).toBeInstanceOf(ProxyError);
    expect(err).not.toBeInstanceOf(InvalidStatus);
    expect(err.code).toBe("WS_ERR_PROXY_TARGET");
    expect(err.response?.status).toBe(500);
    expect(err.message).toBe(`HTTP proxy http://127.0.0.1:${open.port} could not connect to 127.0.0.1:${port} (HTTP 500 Unable to connect)`);
    expect(processException(err)).toBeUndefined();
  });

  it("a proxy nobody listens on: the socket's ECONNREFUSED", async () => {
    const port = await freePort();
    await expect(connect(`ws://127.0.0.1:${echo.port}/`, { proxy: `http://127.0.0.1:${port}` })).rejects.toMatchObject({
      code: "ECONNREFUSED",
      port,
    });
  });

  it("a proxy that never answers: the open timeout, or the signal, ends the wait and the socket", async () => {
    const silent = net.createServer();
    const sockets: Promise<unknown>[] = [];
    // resume(): read, so that the end of the stream is seen.
    silent.on("connection", (s) => sockets.push(once(s.on("error", () => undefined).resume(), "close")));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const proxy = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    await expect(connect(`ws://127.0.0.1:${echo.port}/`, { proxy, openTimeout: 200 })).rejects.toMatchObject({ code: "WS_ERR_OPEN_TIMEOUT" });
    await sockets[0];
    const reason = new Error("user gave up");
    const controller = new AbortController();
    const pending = connect(`ws://127.0.0.1:${echo.port}/`, { proxy, signal: controller.signal });
    await expect.poll(() => sockets.length).toBe(2);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await sockets[1];
    await new Promise<void>((r) => silent.close(() => r()));
  });
});
