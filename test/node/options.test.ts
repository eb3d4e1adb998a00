/**
 * Options are checked at runtime, once per call of an entry point: a bad
 * option is a TypeError (wrong type) or RangeError (value not allowed) with
 * code WS_ERR_INVALID_OPTION whose message names the option, what was given
 * and what is allowed. Most users write plain JavaScript: every value here
 * is one the types would refuse, hence the casts.
 */
import * as http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { attach, broadcast, connect, serve, type Server } from "../../src/index.js";
import { nearest } from "../../src/node/options/schema.js";
import { RawPeer } from "./helpers.js";

const servers: Server[] = [];
const httpServers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(httpServers.splice(0).map((h) => new Promise((r) => h.close(r))));
});

type ErrorClass = typeof TypeError | typeof RangeError;
const handler = () => undefined;

async function failure(run: () => unknown): Promise<Error & { code?: string }> {
  try {
    const server = await run();
    if (server && typeof (server as Server).close === "function") servers.push(server as Server);
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("accepted: the call should have been refused");
}

/** [options, error class, fragments the message must contain] */
type Row = [Record<string, unknown>, ErrorClass, ...string[]];

const SERVER_ROWS: Row[] = [
  [{ pingIntervall: 1000 }, TypeError, "unknown option pingIntervall", "did you mean pingInterval?"],
  [{ ping_interval: 1000 }, TypeError, "unknown option ping_interval", "did you mean pingInterval?"],
  [{ maxsize: 10 }, TypeError, "did you mean maxSize?"],
  [{ maxPayload: 10 }, TypeError, "did you mean maxSize?"],
  [{ perMessageDeflate: false }, TypeError, "did you mean compression?"],
  [{ verifyClient: () => true }, TypeError, "did you mean processRequest?"],
  [{ frobnicate: 1 }, TypeError, "unknown option frobnicate", "the options are:", "maxQueue"],
  [{ origins: "https://good.example" }, TypeError, "options.origins", "array", 'got the string "https://good.example"', '["https://good.example"]'],
  [{ origins: ["https://good.example/"] }, RangeError, "options.origins[0]", "no path", 'did you mean "https://good.example"?'],
  [{ origins: ["good.example"] }, RangeError, "options.origins[0]", "scheme://host[:port]"],
  [{ origins: [42] }, TypeError, "options.origins[0]", "a string, a RegExp or null"],
  [{ origins: [/good/g] }, RangeError, "options.origins[0]", "g or y flag"],
  [{ subprotocols: "chat" }, TypeError, "options.subprotocols", 'did you mean ["chat"]?', 'got the string "chat"'],
  [{ subprotocols: ["chat v1"] }, RangeError, "options.subprotocols[0]", "token"],
  [{ subprotocols: [1] }, TypeError, "options.subprotocols[0]", "a string", "got 1"],
  [{ maxQueue: -3 }, RangeError, "options.maxQueue", "integer ≥ 1", "or null", "got -3"],
  [{ maxQueue: 0 }, RangeError, "options.maxQueue", "got 0"],
  [{ maxQueue: 1.5 }, RangeError, "options.maxQueue", "got 1.5"],
  [{ maxSize: "big" }, TypeError, "options.maxSize", 'got the string "big"', "null for no limit"],
  [{ maxSize: -1 }, RangeError, "options.maxSize", "integer ≥ 0", "got -1"],
  [{ maxSize: Infinity }, RangeError, "options.maxSize", "got Infinity"],
  [{ compression: "gzip" }, RangeError, "options.compression", '"deflate"', 'got the string "gzip"'],
  [{ compression: false }, TypeError, "options.compression", "use null to turn compression off"],
  [{ compression: { level: 12 } }, RangeError, "options.compression.level", "from -1 to 9", "got 12"],
  [{ compression: { serverMaxWindowBits: "12" } }, TypeError, "options.compression.serverMaxWindowBits", "from 8 to 15"],
  [{ compression: { levle: 1 } }, TypeError, "unknown option compression.levle", "did you mean level?"],
  [{ writeHighWaterMark: 10, writeLowWaterMark: 100 }, RangeError, "writeLowWaterMark (100)", "writeHighWaterMark (10)"],
  [{ writeLowWaterMark: 100_000 }, RangeError, "writeLowWaterMark (100000)", "65536, the default"],
  [{ writeHighWaterMark: -1 }, RangeError, "options.writeHighWaterMark", "got -1"],
  [{ pingInterval: -5 }, RangeError, "options.pingInterval", "> 0", "got -5"],
  [{ pingInterval: 0 }, RangeError, "options.pingInterval", "null for no keepalive"],
  [{ pingTimeout: Number.NaN }, RangeError, "options.pingTimeout", "got NaN"],
  [{ closeTimeout: -1 }, RangeError, "options.closeTimeout", "≥ 0"],
  [{ closeTimeout: "10s" }, TypeError, "options.closeTimeout", 'got the string "10s"'],
  [{ openTimeout: 2 ** 32 }, RangeError, "options.openTimeout", "at most 2147483647"],
  [{ tls: "cert.pem" }, TypeError, "options.tls", "TLS options", 'got the string "cert.pem"'],
  [{ tls: true }, TypeError, "options.tls", "got true"],
  [{ logger: {} }, TypeError, "options.logger", "error(...) method", "got an empty object {}"],
  [{ logger: console.log }, TypeError, "options.logger", "got the function"],
  [{ port: "8765" }, TypeError, "options.port", "from 0 to 65535", 'got the string "8765"'],
  [{ port: 70000 }, RangeError, "options.port", "got 70000"],
  [{ host: "" }, RangeError, "options.host", "non-empty string"],
  [{ processRequest: "nope" }, TypeError, "options.processRequest", "a function"],
  [{ maxConnections: 0 }, RangeError, "options.maxConnections", "integer ≥ 1"],
  [{ serverHeader: "x\r\nSet-Cookie: a=b" }, RangeError, "options.serverHeader", "CR, LF"],
  [{ headLimits: { maxHeaders: 0 } }, RangeError, "options.headLimits.maxHeaders", "got 0"],
  [{ headLimits: 100 }, TypeError, "options.headLimits", "plain object"],
  [{ extensions: [{}] }, TypeError, "options.extensions[0]", "extension factory"],
  [{ path: "chat" }, RangeError, "options.path", 'starting with "/"'],
  [{ shouldHandle: () => true }, TypeError, "options.shouldHandle has no effect here", "processRequest"],
];

describe("serve() validates its options", () => {
  for (const [options, type, ...fragments] of SERVER_ROWS) {
    it(`refuses ${JSON.stringify(options, (_k, v) => (typeof v === "function" ? "<fn>" : v instanceof RegExp ? String(v) : v))}`, async () => {
      const err = await failure(() => serve(handler, { host: "127.0.0.1", ...options } as never));
      expect(err).toBeInstanceOf(type);
      expect(err.code).toBe("WS_ERR_INVALID_OPTION");
      expect(err.message).toMatch(/^serve\(\): /);
      for (const f of fragments) expect(err.message).toContain(f);
    });
  }

  it("accepts every documented option with a good value", async () => {
    const server = await serve(handler, {
      host: "127.0.0.1", port: 0, tls: null, path: "/ws", processRequest: () => undefined, processResponse: () => undefined,
      origins: ["https://a.example", /^https:\/\/[a-z]+\.b\.example$/, null], subprotocols: ["chat"], selectSubprotocol: () => null,
      compression: { serverMaxWindowBits: 10, clientMaxWindowBits: true, level: -1, threshold: 0 }, extensions: [],
      maxSize: null, openTimeout: 5000, maxConnections: null, serverHeader: null, headLimits: { maxHeadSize: 4096, maxHeaders: 20 },
      logger: null, maxQueue: null, writeHighWaterMark: 1024, writeLowWaterMark: 256, pingInterval: null, pingTimeout: null, closeTimeout: 0,
    });
    servers.push(server);
    expect(server.port).toBeGreaterThan(0);
  });

  it("refuses a handler that is not a function", async () => {
    const err = await failure(() => serve({ port: 0 } as never));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe("WS_ERR_INVALID_ARGUMENT");
    expect(err.message).toContain("handler must be a function");
  });

  it("takes Python's positional form serve(handler, host, port) and listens where it says", async () => {
    const probe = await serve(handler, { host: "127.0.0.1", port: 0 });
    const port = probe.port;
    await probe.close();
    const server = await serve(handler, "127.0.0.1", port, { logger: null });
    servers.push(server);
    expect(server.address).toMatchObject({ address: "127.0.0.1", port });
    const ws = await connect(`ws://127.0.0.1:${port}`);
    await ws.close();
  });

  it("refuses the positional forms that cannot mean anything", async () => {
    let err = await failure(() => (serve as (...a: unknown[]) => Promise<Server>)(handler, 8765));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain("serve(handler, { port: 8765 })");
    err = await failure(() => (serve as (...a: unknown[]) => Promise<Server>)(handler, "127.0.0.1", "8765"));
    expect(err.message).toContain("port, a number");
    err = await failure(() => serve(handler, "127.0.0.1", 0, { port: 1 }));
    expect(err.message).toContain("port is given twice");
    err = await failure(() => serve(handler, "127.0.0.1", -1));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toContain("options.port");
  });
});

describe("attach() validates its arguments and options", () => {
  const rows: Row[] = [
    [{ port: 8080 }, TypeError, "options.port has no effect here", "httpServer.listen()"],
    [{ host: "127.0.0.1" }, TypeError, "options.host has no effect here"],
    [{ tls: {} }, TypeError, "options.tls has no effect here", "https.Server"],
    [{ path: "/chat?x" }, RangeError, "options.path"],
    [{ shouldHandle: "/chat" }, TypeError, "options.shouldHandle", "a function"],
    [{ noServer: true }, TypeError, "unknown option noServer", "attach(null, handler, options)"],
    [{ maxQueue: -3 }, RangeError, "attach(): options.maxQueue"],
  ];
  for (const [options, type, ...fragments] of rows) {
    it(`refuses ${JSON.stringify(options)}`, () => {
      const httpServer = http.createServer();
      let err: (Error & { code?: string }) | undefined;
      try {
        attach(httpServer, handler, options as never);
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err).toBeInstanceOf(type);
      expect(err!.code).toBe("WS_ERR_INVALID_OPTION");
      for (const f of fragments) expect(err!.message).toContain(f);
      expect(httpServer.listenerCount("upgrade")).toBe(0);
    });
  }

  it("refuses swapped arguments", () => {
    expect(() => attach(handler as never, http.createServer() as never)).toThrow(/httpServer must be an http.Server/);
    expect(() => attach(http.createServer(), "handler" as never)).toThrow(/handler must be a function/);
  });
});

describe("connect() validates its arguments and options", () => {
  const rows: Row[] = [
    [{ host: "127.0.0.1" }, TypeError, "unknown option host", "the host goes in the URI"],
    [{ origins: ["x"] }, TypeError, "did you mean origin?"],
    [{ subprotocols: "chat" }, TypeError, "options.subprotocols", 'did you mean ["chat"]?'],
    [{ origin: "https://a\r\nX: y" }, RangeError, "options.origin", "CR, LF"],
    [{ headers: { "X Token": "a" } }, RangeError, "options.headers name", "token"],
    [{ headers: { "X-Token": "a\nb" } }, RangeError, 'options.headers["X-Token"]', "CR, LF"],
    [{ headers: { "X-Token": 5 } }, TypeError, 'options.headers["X-Token"]', "a string"],
    [{ headers: { "Sec-WebSocket-Protocol": "chat" } }, TypeError, "may not set Sec-WebSocket-Protocol", "subprotocols"],
    [{ headers: "X-Token: a" }, TypeError, "options.headers"],
    [{ compression: "gzip" }, RangeError, "options.compression"],
    [{ maxSize: "big" }, TypeError, "options.maxSize"],
    [{ openTimeout: -1 }, RangeError, "options.openTimeout"],
    [{ tls: "yes" }, TypeError, "options.tls"],
    [{ family: 5 }, RangeError, "options.family"],
    [{ localAddress: "localhost" }, RangeError, "options.localAddress", "IP address"],
    [{ sock: {} }, TypeError, "options.sock", "net.Socket"],
    [{ handshakeTimeout: 5 }, TypeError, "did you mean openTimeout?"],
  ];
  for (const [options, type, ...fragments] of rows) {
    it(`refuses ${JSON.stringify(options)}`, async () => {
      const err = await failure(() => connect("ws://127.0.0.1:9/", options as never));
      expect(err).toBeInstanceOf(type);
      expect(err.code).toBe("WS_ERR_INVALID_OPTION");
      expect(err.message).toMatch(/^connect\(\): /);
      for (const f of fragments) expect(err.message).toContain(f);
    });
  }

  it("rejects (does not throw) for a bad option, like every other failure of connect", () => {
    const promise = connect("ws://127.0.0.1:9/", { maxQueue: -1 });
    expect(promise).toBeInstanceOf(Promise);
    return expect(promise).rejects.toBeInstanceOf(RangeError);
  });
});

describe("broadcast() and send() validate their options", () => {
  it("broadcast refuses bad options and arguments", () => {
    expect(() => broadcast([], "x", { compres: false } as never)).toThrow(/unknown option compres \(did you mean compress\?\)/);
    expect(() => broadcast([], "x", { compress: "no" } as never)).toThrow(/options.compress must be true or false/);
    expect(() => broadcast("not connections" as never, "x")).toThrow(/connections must be an iterable of connections/);
    expect(() => broadcast([], { text: "x" } as never)).toThrow(/message must be a string or bytes/);
    expect(broadcast([], "fine", { compress: false })).toBe(0);
  });

  it("send refuses bad options, over a real connection", async () => {
    const server = await serve(async (ws) => void (await ws.closed), { host: "127.0.0.1", logger: null });
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    await expect(ws.send("x", { compres: false } as never)).rejects.toThrow(/send\(\): unknown option compres/);
    await ws.send("still open");
    await ws.close();
  });
});

describe("origins match exactly (RFC 6454), over real sockets", () => {
  async function status(server: Server, origin: string | null): Promise<number> {
    const peer = await RawPeer.connect(server.port);
    const head = await peer.handshake("/", origin === null ? "" : `Origin: ${origin}\r\n`);
    peer.destroy();
    return Number(head.split(" ")[1]);
  }

  it("an exact list: scheme and host case-insensitive, default port optional; no substring or prefix matches", async () => {
    const server = await serve(handler, { host: "127.0.0.1", logger: null, origins: ["https://good.example", "http://localhost:3000"] });
    servers.push(server);
    expect(await status(server, "https://good.example")).toBe(101);
    expect(await status(server, "HTTPS://Good.Example")).toBe(101);
    expect(await status(server, "https://good.example:443")).toBe(101);
    expect(await status(server, "http://localhost:3000")).toBe(101);
    // What the old substring match let through:
    expect(await status(server, "good")).toBe(403);
    expect(await status(server, "https://good.ex")).toBe(403);
    expect(await status(server, "https://good.example.evil.com")).toBe(403);
    expect(await status(server, "http://good.example")).toBe(403);
    expect(await status(server, "https://good.example:8443")).toBe(403);
    expect(await status(server, "http://localhost:3001")).toBe(403);
    expect(await status(server, null)).toBe(403);
  });

  it("RegExps, null (no Origin header) and predicates", async () => {
    const server = await serve(handler, { host: "127.0.0.1", logger: null, origins: [/^https:\/\/[a-z]+\.good\.example$/, null] });
    servers.push(server);
    expect(await status(server, "https://app.good.example")).toBe(101);
    expect(await status(server, "https://good.example")).toBe(403);
    expect(await status(server, null)).toBe(101);
    const seen: (string | undefined)[] = [];
    const byPredicate = await serve(handler, {
      host: "127.0.0.1",
      logger: null,
      origins: (origin, request) => {
        seen.push(origin);
        return origin === "https://ok.example" && request.path === "/";
      },
    });
    servers.push(byPredicate);
    expect(await status(byPredicate, "https://ok.example")).toBe(101);
    expect(await status(byPredicate, "https://no.example")).toBe(403);
    expect(await status(byPredicate, null)).toBe(403);
    expect(seen).toEqual(["https://ok.example", "https://no.example", undefined]);
  });

  it("a predicate that does not return a boolean answers 500 and is logged once", async () => {
    const logged: string[] = [];
    const server = await serve(handler, {
      host: "127.0.0.1",
      logger: { error: (...a: unknown[]) => void logged.push(a.map(String).join(" ")) },
      origins: (async () => true) as never,
    });
    servers.push(server);
    expect(await status(server, "https://x.example")).toBe(500);
    expect(await status(server, "https://y.example")).toBe(500);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("returned a Promise");
  });
});

describe("subprotocols are checked (a string used to negotiate its first letter)", () => {
  it('subprotocols: ["chat"] negotiates "chat"; "chat" is refused before listening', async () => {
    const err = await failure(() => serve(handler, { host: "127.0.0.1", subprotocols: "chat" as never }));
    expect(err).toBeInstanceOf(TypeError);
    const server = await serve(handler, { host: "127.0.0.1", logger: null, subprotocols: ["chat"] });
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}`, { subprotocols: ["c", "chat"] });
    expect(ws.subprotocol).toBe("chat");
    await ws.close();
  });
});

describe("did you mean", () => {
  it("finds slips and nothing else", () => {
    const known = ["pingInterval", "pingTimeout", "maxSize", "maxQueue", "origins", "subprotocols"];
    expect(nearest("pingIntervall", known)).toBe("pingInterval");
    expect(nearest("pingintervel", known)).toBe("pingInterval");
    expect(nearest("ping_timeout", known)).toBe("pingTimeout");
    expect(nearest("subprotocol", known)).toBe("subprotocols");
    expect(nearest("origin", known)).toBe("origins");
    expect(nearest("maxSzie", known)).toBe("maxSize");
    expect(nearest("timeout", known)).toBe(null);
    expect(nearest("frobnicate", known)).toBe(null);
  });
});
