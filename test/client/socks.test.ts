/**
 * connect() through real SOCKS5 proxies: microsocks (with and without
 * username/password authentication) and Dante (danted). ws:// and wss://
 * (TLS inside the tunnel, SNI = the server's name), `socks5://` resolving
 * names here and `socks5h://` leaving them to the proxy (what went to the
 * proxy is recorded by a relay in front of it), refused authentication, a
 * server the proxy cannot reach.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProxyError, connect, processException, serve, type Server } from "../../src/index.js";
import { ipv6Bytes } from "../../src/client/socks.js";
import { DANTED, MICROSOCKS, freePort, missing, recordingRelay, startDanted, startMicrosocks, type ProxyProcess } from "./helpers.js";
import { selfSignedCert } from "../node/helpers.js";

const SKIPPED = missing(MICROSOCKS, DANTED);
const suite = SKIPPED ? describe.skip : describe;
// microsocks takes any bytes: a password that must be percent-encoded in a URL.
const AUTH = { user: "bob", password: "p@ss:w/rd é" };
const USERINFO = `bob:${encodeURIComponent(AUTH.password)}`;

describe("ipv6Bytes", () => {
  it("expands :: and an IPv4 tail", () => {
    expect(ipv6Bytes("::1").toString("hex")).toBe("00000000000000000000000000000001");
    expect(ipv6Bytes("fe80::1:2").toString("hex")).toBe("fe800000000000000000000000010002");
    expect(ipv6Bytes("::ffff:127.0.0.1").toString("hex")).toBe("00000000000000000000ffff7f000001");
    expect(ipv6Bytes("1:2:3:4:5:6:7:8").toString("hex")).toBe("00010002000300040005000600070008");
  });
});

suite(`through SOCKS5 proxies (microsocks, danted)${SKIPPED}`, () => {
  let dante: ProxyProcess;
  let micro: ProxyProcess;
  let microAuth: ProxyProcess;
  let echo: Server;
  let tlsEcho: Server;
  let cert: string;
  const snis: string[] = [];

  beforeAll(async () => {
    [dante, micro, microAuth] = await Promise.all([startDanted(), startMicrosocks(), startMicrosocks(AUTH)]);
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
        tls: { key: pair.key, cert: pair.cert, SNICallback: (name, cb) => (snis.push(name), cb(null, undefined)) },
      },
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all([dante?.stop(), micro?.stop(), microAuth?.stop(), echo?.close(), tlsEcho?.close()]);
  });

  const roundTrip = async (uri: string, options: Parameters<typeof connect>[1]) => {
    const ws = await connect(uri, options);
    await ws.send("through socks");
    const reply = await ws.recv();
    const remotePort = ws.remotePort;
    await ws.close();
    return { reply, remotePort };
  };

  for (const name of ["danted", "microsocks"] as const) {
    const proxyOf = () => (name === "danted" ? dante : micro);

    it(`${name}: ws:// with socks5:// and socks5h://`, async () => {
      for (const scheme of ["socks5", "socks5h"]) {
        const { reply, remotePort } = await roundTrip(`ws://localhost:${echo.port}/`, { proxy: proxyOf().url(scheme) });
        expect(reply).toBe("through socks");
        expect(remotePort).toBe(proxyOf().port);
      }
    });

    it(`${name}: wss:// with TLS inside the tunnel, SNI = the server's host name`, async () => {
      snis.length = 0;
      const { reply } = await roundTrip(`wss://localhost:${tlsEcho.port}/`, { proxy: proxyOf().url("socks5h"), tls: { ca: cert } });
      expect(reply).toBe("through socks");
      expect(snis).toEqual(["localhost"]);
    });

    it(`${name}: a server it cannot reach: ProxyError WS_ERR_PROXY_TARGET with the reply code, retried by the loop`, async () => {
      const port = await freePort();
      const err = (await connect(`ws://127.0.0.1:${port}/`, { proxy: proxyOf().url() }).catch((e: unknown) => e)) as ProxyError;
      expect(err).toBeInstanceOf(ProxyError);
      expect(err.code).toBe("WS_ERR_PROXY_TARGET");
      expect(err.reply).toBe(5);
      expect(err.message).toBe(`SOCKS5 proxy socks5://127.0.0.1:${proxyOf().port}: could not connect to 127.0.0.1:${port}: connection refused (reply 5)`);
      expect(processException(err)).toBeUndefined();
    });
  }

  it("socks5:// sends the address it resolved; socks5h:// sends the name (remote DNS) — seen on the wire", async () => {
    const relay = await recordingRelay(dante.port);
    try {
      await roundTrip(`ws://localhost:${echo.port}/`, { proxy: `socks5://127.0.0.1:${relay.port}` });
      await roundTrip(`ws://localhost:${echo.port}/`, { proxy: `socks5h://127.0.0.1:${relay.port}` });
      const port = Buffer.from([echo.port >> 8, echo.port & 0xff]).toString("hex");
      // Greeting 05 01 00, then CONNECT: 05 01 00 + ATYP/address + port.
      expect(relay.sent[0]!.subarray(0, 13).toString("hex")).toBe(`050100` + `050100017f000001` + port);
      expect(relay.sent[1]!.subarray(0, 19).toString("hex")).toBe(`050100` + `0501000309` + Buffer.from("localhost").toString("hex") + port);
    } finally {
      await relay.close();
    }
  });

  it("a name only the proxy could resolve: socks5h:// asks the proxy (which answers host unreachable), socks5:// fails here", async () => {
    const relay = await recordingRelay(dante.port);
    try {
      const remote = (await connect("ws://no-such-host.invalid/", { proxy: `socks5h://127.0.0.1:${relay.port}` }).catch((e: unknown) => e)) as ProxyError;
      expect(remote).toBeInstanceOf(ProxyError);
      expect(remote.code).toBe("WS_ERR_PROXY_TARGET");
      expect(remote.reply).toBe(4);
      expect(relay.sent).toHaveLength(1);
      expect(relay.sent[0]!.includes(Buffer.from("no-such-host.invalid"))).toBe(true);
      const local = await connect("ws://no-such-host.invalid/", { proxy: `socks5://127.0.0.1:${relay.port}` }).catch((e: { code?: string }) => e.code);
      expect(local).toBe("ENOTFOUND");
      // The lookup failed before the proxy was contacted.
      expect(relay.sent).toHaveLength(1);
    } finally {
      await relay.close();
    }
  });

  it("username/password authentication (RFC 1929) from the percent-decoded proxy URL", async () => {
    const { reply } = await roundTrip(`ws://127.0.0.1:${echo.port}/`, { proxy: microAuth.url("socks5", USERINFO) });
    expect(reply).toBe("through socks");
    const { reply: secure } = await roundTrip(`wss://localhost:${tlsEcho.port}/`, { proxy: microAuth.url("socks5h", USERINFO), tls: { ca: cert } });
    expect(secure).toBe("through socks");
  });

  it("refused authentication: ProxyError WS_ERR_PROXY_AUTH, without credentials and with wrong ones, not retried", async () => {
    const none = (await connect(`ws://127.0.0.1:${echo.port}/`, { proxy: microAuth.url() }).catch((e: unknown) => e)) as ProxyError;
    expect(none).toBeInstanceOf(ProxyError);
    expect(none.code).toBe("WS_ERR_PROXY_AUTH");
    expect(none.message).toBe(`SOCKS5 proxy socks5://127.0.0.1:${microAuth.port}: requires authentication: put user:password in the proxy URL`);
    expect(processException(none)).toBe(none);
    const wrong = (await connect(`ws://127.0.0.1:${echo.port}/`, { proxy: microAuth.url("socks5", "bob:wrong") }).catch((e: unknown) => e)) as ProxyError;
    expect(wrong.code).toBe("WS_ERR_PROXY_AUTH");
    expect(wrong.reply).not.toBe(0);
    expect(wrong.message).toContain("refused the user name and password");
    expect(wrong.message).not.toContain("wrong");
  });

  it("an HTTP proxy URL pointed at a SOCKS proxy fails with a clear ProxyError, not a hang", async () => {
    const err = (await connect(`ws://127.0.0.1:${echo.port}/`, { proxy: `http://127.0.0.1:${micro.port}`, openTimeout: 5000 }).catch((e: unknown) => e)) as ProxyError;
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.code).toBe("WS_ERR_PROXY");
  });
});
