/**
 * Redirects of the opening handshake, against real servers that answer
 * 301/302/303/307/308: relative and absolute `Location`s, the limit, the
 * refused wss → ws downgrade, credentials kept for the same origin only.
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidStatus, RedirectError, connect, serve, type HttpRequest, type Server, type ServerOptions } from "../../src/index.js";
import { selfSignedCert } from "../node/helpers.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server that records requests and answers per path: a redirect, or the upgrade. */
type Answer = [status: number, location: string | null];
async function redirector(routes: Record<string, Answer | ((req: HttpRequest) => Answer | undefined)>, options: ServerOptions = {}) {
  const seen: HttpRequest[] = [];
  const server = await serve(async (ws) => ws.send(`at ${ws.request.path}`), {
    host: "127.0.0.1",
    port: 0,
    ...options,
    processRequest: (conn, request) => {
      seen.push(request);
      const route = routes[request.path.split("?")[0]!];
      const answer = typeof route === "function" ? route(request) : route;
      if (answer === undefined) return undefined;
      return conn.respond(answer[0], "", answer[1] === null ? {} : { location: answer[1] });
    },
  });
  servers.push(server);
  return { server, seen };
}

describe("redirects", () => {
  it("follows 301, 302, 303, 307 and 308, relative and absolute, to another server", async () => {
    const b = await redirector({ "/5": [308, "/final"] });
    const a = await redirector({
      "/1": [301, "/2"],
      "/2": [302, "3?x=1"],
      "/3": () => [303, `//127.0.0.1:${a.server.port}/4`],
      "/4": [307, `ws://127.0.0.1:${b.server.port}/5`],
    });
    const ws = await connect(`ws://127.0.0.1:${a.server.port}/1`);
    expect(await ws.recv()).toBe("at /final");
    expect(ws.request.path).toBe("/final");
    await ws.close();
    expect(a.seen.map((r) => r.path)).toEqual(["/1", "/2", "/3?x=1", "/4"]);
    expect(b.seen.map((r) => r.path)).toEqual(["/5", "/final"]);
  });

  it("maps http: and https: locations to ws: and wss:", async () => {
    const target = await redirector({});
    const a = await redirector({ "/": [301, `http://127.0.0.1:${target.server.port}/from-http`] });
    const ws = await connect(`ws://127.0.0.1:${a.server.port}/`);
    expect(await ws.recv()).toBe("at /from-http");
    await ws.close();
  });

  it("stops after maxRedirects with a RedirectError, an InvalidStatus carrying the last redirect", async () => {
    const loop = await redirector({ "/loop": [302, "/loop"] });
    const err = (await connect(`ws://127.0.0.1:${loop.server.port}/loop`, { maxRedirects: 3 }).catch((e: unknown) => e)) as RedirectError;
    expect(err).toBeInstanceOf(RedirectError);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect(err.code).toBe("WS_ERR_REDIRECT");
    expect(err.refusal).toBe("too-many");
    expect(err.status).toBe(302);
    expect(err.response.headers["location"]).toBe("/loop");
    expect(err.message).toMatch(/^too many redirects: more than 3 in a row/);
    expect(loop.seen).toHaveLength(4);
    // The default limit is 10.
    loop.seen.length = 0;
    await expect(connect(`ws://127.0.0.1:${loop.server.port}/loop`)).rejects.toBeInstanceOf(RedirectError);
    expect(loop.seen).toHaveLength(11);
  });

  it("maxRedirects: 0 follows none: the 3xx is a plain InvalidStatus", async () => {
    const a = await redirector({ "/": [302, "/elsewhere"] });
    const err = await connect(`ws://127.0.0.1:${a.server.port}/`, { maxRedirects: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect(err).not.toBeInstanceOf(RedirectError);
    expect((err as InvalidStatus).code).toBe("WS_ERR_INVALID_STATUS");
    expect(a.seen).toHaveLength(1);
  });

  it("refuses a redirect from wss:// to ws:// (the plain server gets no request)", async () => {
    const plain = await redirector({});
    const { key, cert } = selfSignedCert();
    const secure = await redirector({ "/": [301, `ws://127.0.0.1:${plain.server.port}/`] }, { tls: { key, cert } });
    const err = (await connect(`wss://127.0.0.1:${secure.server.port}/`, { tls: { ca: cert } }).catch((e: unknown) => e)) as RedirectError;
    expect(err).toBeInstanceOf(RedirectError);
    expect(err.refusal).toBe("insecure");
    expect(err.location).toBe(`ws://127.0.0.1:${plain.server.port}/`);
    expect(plain.seen).toEqual([]);
    // wss → wss is fine.
    const secure2 = await redirector({ "/": [302, "/ok"] }, { tls: { key, cert } });
    const ws = await connect(`wss://127.0.0.1:${secure2.server.port}/`, { tls: { ca: cert } });
    expect(await ws.recv()).toBe("at /ok");
    await ws.close();
  });

  it("refuses a Location that is not a WebSocket URI; a 3xx without Location is an InvalidStatus", async () => {
    const a = await redirector({ "/ftp": [302, "ftp://127.0.0.1/x"], "/none": [302, null] });
    const ftp = (await connect(`ws://127.0.0.1:${a.server.port}/ftp`).catch((e: unknown) => e)) as RedirectError;
    expect(ftp.refusal).toBe("unsupported");
    const noLocation = await connect(`ws://127.0.0.1:${a.server.port}/none`).catch((e: unknown) => e);
    expect(noLocation).toBeInstanceOf(InvalidStatus);
  });

  it("keeps credentials for the same origin and drops them for another: user info, Authorization, Cookie", async () => {
    const other = await redirector({});
    const first = await redirector({ "/a": [302, "/b"], "/b": [307, `ws://127.0.0.1:${other.server.port}/c`] });
    const ws = await connect(`ws://user:pa%24s@127.0.0.1:${first.server.port}/a`, {
      headers: { Cookie: "session=1", "X-Trace": "t1", Authorization: "Bearer overrides-basic" },
    });
    expect(await ws.recv()).toBe("at /c");
    await ws.close();
    const [a, b] = first.seen;
    expect(a!.headers["authorization"]).toBe("Bearer overrides-basic");
    expect(b!.headers["authorization"]).toBe("Bearer overrides-basic");
    expect(b!.headers["cookie"]).toBe("session=1");
    const [c] = other.seen;
    expect(c!.headers["authorization"]).toBeUndefined();
    expect(c!.headers["cookie"]).toBeUndefined();
    expect(c!.headers["x-trace"]).toBe("t1");
    // Basic credentials from the user info: the same origin keeps them.
    first.seen.length = 0;
    other.seen.length = 0;
    const basic = await connect(`ws://user:pa%24s@127.0.0.1:${first.server.port}/a`);
    await basic.close();
    const expected = `Basic ${Buffer.from("user:pa$s").toString("base64")}`;
    expect(first.seen.map((r) => r.headers["authorization"])).toEqual([expected, expected]);
    expect(other.seen[0]!.headers["authorization"]).toBeUndefined();
  });
});
