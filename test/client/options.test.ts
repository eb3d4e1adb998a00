/**
 * The client options checked at run time (what a plain-JavaScript user
 * would get wrong), and the adapter's `transport` hook used directly.
 */
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, serve, type ClientOptions, type Server, type TransportTarget } from "../../src/index.js";

const reject = async (options: unknown, uri = "ws://127.0.0.1:1/") => {
  const err = (await connect(uri, options as ClientOptions).catch((e: unknown) => e)) as Error & { code?: string };
  expect(err.code, String(err)).toBe("WS_ERR_INVALID_OPTION");
  return err.message;
};

describe("connect() options", () => {
  it("proxy: a URL it can use, or null", async () => {
    expect(await reject({ proxy: 3128 })).toBe(
      'connect(): options.proxy must be a proxy URL ("http://host:3128", "socks5://user:pass@host:1080", "socks5h://..."), or null for no proxy; got 3128',
    );
    expect(await reject({ proxy: "https://p:443" })).toMatch(/^connect\(\): options\.proxy: https:\/\/ proxies .* not supported/);
    expect(await reject({ proxy: "socks4://p" })).toMatch(/SOCKS4 is not supported/);
    expect(await reject({ proxy: "http://p:1/x" })).toMatch(/no path/);
  });

  it("maxRedirects, backoff, processException", async () => {
    expect(await reject({ maxRedirects: -1 })).toBe("connect(): options.maxRedirects must be an integer ≥ 0; got -1");
    expect(await reject({ maxRedirects: "10" })).toMatch(/options\.maxRedirects must be an integer ≥ 0; got the string "10"/);
    expect(await reject({ backoff: 5 })).toMatch(/options\.backoff must be backoff delays \{ initialDelay, minDelay, factor, maxDelay, resetAfter \}/);
    expect(await reject({ backoff: { factor: 0.5 } })).toBe("connect(): options.backoff.factor must be a number ≥ 1; got 0.5");
    expect(await reject({ backoff: { maxDelay: -1 } })).toMatch(/options\.backoff\.maxDelay must be a number of milliseconds ≥ 0/);
    expect(await reject({ backoff: { initialdelay: 1 } })).toMatch(/unknown option backoff\.initialdelay \(did you mean initialDelay\?\)/);
    expect(await reject({ backoff: { minDelay: 10, maxDelay: 5 } })).toBe("connect(): options.backoff.minDelay (10) must not be above options.backoff.maxDelay (5)");
    expect(await reject({ processException: true })).toMatch(/options\.processException must be a function \(error, \{ attempt, delay \}\)/);
  });

  it("signal, socketPath, transport; and only one way to reach the server", async () => {
    expect(await reject({ signal: { aborted: false } })).toMatch(/options\.signal must be an AbortSignal/);
    expect(await reject({ socketPath: "" })).toMatch(/options\.socketPath must be a Unix socket path/);
    expect(await reject({ transport: "tcp" })).toMatch(/options\.transport must be a function/);
    expect(await reject({ socketPath: "/x.sock", transport: async () => new net.Socket() })).toMatch(
      /options\.socketPath and options\.transport cannot be used together/,
    );
    expect(await reject({ proxy: "http://p:1", transport: async () => new net.Socket() })).toMatch(/options\.proxy and options\.transport cannot be used together/);
  });

  it("names other libraries use point to ours", async () => {
    expect(await reject({ followRedirects: true })).toMatch(/unknown option followRedirects \(did you mean maxRedirects\?\)/);
    expect(await reject({ max_redirects: 3 })).toMatch(/\(did you mean maxRedirects\?\)/);
    expect(await reject({ agent: {} })).toMatch(/unknown option agent \(proxy \(a proxy URL\) or transport/);
    expect(await reject({ path: "/run/app.sock" })).toMatch(/for a Unix socket, use socketPath or a ws\+unix/);
    expect(await reject({ createConnection: () => null })).toMatch(/did you mean transport\?/);
  });
});

describe("the transport hook", () => {
  let server: Server;
  beforeAll(async () => {
    server = await serve(async (ws) => ws.send(ws.request.headers["host"] ?? ""), { host: "127.0.0.1", port: 0 });
  });
  afterAll(() => server.close());

  it("is called with the target and a signal, and its socket carries the handshake", async () => {
    const calls: TransportTarget[] = [];
    const ws = await connect("ws://app.example:8080/", {
      transport: async (target, signal) => {
        calls.push(target);
        expect(signal).toBeInstanceOf(AbortSignal);
        const socket = net.connect({ host: "127.0.0.1", port: server.port });
        await new Promise((r) => socket.once("connect", r));
        return socket;
      },
    });
    expect(await ws.recv()).toBe("app.example:8080");
    await ws.close();
    expect(calls).toEqual([{ host: "app.example", port: 8080, secure: false }]);
  });

  it("a transport that resolves something else than a socket, or rejects, fails the connect clearly", async () => {
    const odd = (await connect("ws://x/", { transport: async () => ({}) as net.Socket }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(odd.code).toBe("WS_ERR_INVALID_OPTION");
    expect(odd.message).toBe("connect(): options.transport must resolve with a connected net.Socket; got an empty object {}");
    const failure = new Error("no route");
    await expect(connect("ws://x/", { transport: async () => Promise.reject(failure) })).rejects.toBe(failure);
    await expect(
      connect("ws://x/", {
        transport: () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
  });
});
