/**
 * basicAuth() over real sockets: the 401 and its WWW-Authenticate header
 * read as raw bytes, good and bad credentials from a wavesock client, from
 * a `ws` client and from a Python `websockets` client (which sends the URI's
 * user:password as Basic credentials), an async check, a check that throws
 * (500), the user on `ws.data.user`, per route with route(); the header
 * parser's edge cases; the options refused.
 */
import { execFile } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { InvalidStatus, basicAuth, connect, route, serve, type Connection, type Server } from "../../src/index.js";
import { parseBasic } from "../../src/auth/basic.js";
import { RawPeer } from "../node/helpers.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;

/** Greets with the authenticated user. */
async function whoami(ws: Connection): Promise<void> {
  await ws.send(`hello ${ws.data.user}`);
  await ws.closed;
}

async function rawAnswer(port: number, extra = ""): Promise<string> {
  const peer = await RawPeer.connect(port);
  peer.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  return (await peer.readToEnd()).toString("latin1");
}

async function statusOf(port: number, headers?: Record<string, string>): Promise<number> {
  try {
    const ws = await connect(`ws://127.0.0.1:${port}/`, headers ? { headers } : {});
    const greeting = await ws.recv();
    await ws.close();
    expect(greeting).toMatch(/^hello /);
    return 101;
  } catch (err) {
    if (err instanceof InvalidStatus) return err.response.status;
    throw err;
  }
}

describe("basicAuth()", () => {
  it("answers 401 with the RFC 7617 challenge, without upgrading, when credentials are missing or wrong", async () => {
    const server = await serve(whoami, { host: "127.0.0.1", logger: null, processRequest: basicAuth({ realm: "chat room", credentials: { alice: "s3cret" } }) });
    servers.push(server);
    for (const extra of ["", `Authorization: ${basic("alice", "wrong")}\r\n`, `Authorization: ${basic("bob", "s3cret")}\r\n`, "Authorization: Bearer abc\r\n"]) {
      const raw = await rawAnswer(server.port, extra);
      expect(raw.slice(0, raw.indexOf("\r\n")), extra).toBe("HTTP/1.1 401 Unauthorized");
      expect(raw).toMatch(/\r\nwww-authenticate: Basic realm="chat room", charset="UTF-8"\r\n/i);
      expect(raw).not.toMatch(/sec-websocket-accept/i);
    }
    expect(server.connections.size).toBe(0);
  });

  it("lets good credentials in and puts the user on ws.data.user (wavesock, ws and Python clients)", async () => {
    const server = await serve(whoami, {
      host: "127.0.0.1",
      logger: null,
      processRequest: basicAuth({ credentials: [["alice", "s3cret"], ["zoë", "pâté:with:colons"]] }),
    });
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { headers: { authorization: basic("alice", "s3cret") } });
    expect(await ws.recv()).toBe("hello alice");
    await ws.close();
    // UTF-8 user and a password with colons (only the first colon separates).
    expect(await statusOf(server.port, { authorization: basic("zoë", "pâté:with:colons") })).toBe(101);
    expect(await statusOf(server.port, { authorization: basic("zoë", "pâté") })).toBe(401);

    const viaWs = new WsClient(`ws://127.0.0.1:${server.port}/`, { headers: { authorization: basic("alice", "s3cret") } });
    expect(await new Promise((resolve, reject) => viaWs.once("message", (d) => resolve(String(d))).once("error", reject))).toBe("hello alice");
    viaWs.close();

    const script = [
      "import asyncio, sys, websockets",
      "async def main():",
      "    for uri in sys.argv[1:]:",
      "        try:",
      "            async with websockets.connect(uri) as ws:",
      "                print(await ws.recv())",
      "        except websockets.InvalidStatusCode as e:",
      "            print('status', e.status_code)",
      "asyncio.run(main())",
    ].join("\n");
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "/usr/bin/python3",
        ["-c", script, `ws://alice:s3cret@127.0.0.1:${server.port}/`, `ws://alice:nope@127.0.0.1:${server.port}/`],
        { timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    expect(out.trim().split("\n")).toEqual(["hello alice", "status 401"]);
  });

  it("an async check decides, gets the request, and a check that throws answers 500 (logged), not 401", async () => {
    const seen: string[] = [];
    const lines: string[] = [];
    const server = await serve(whoami, {
      host: "127.0.0.1",
      logger: { error: (...a: unknown[]) => void lines.push(a.map(String).join(" ")) },
      processRequest: basicAuth({
        check: async (user, password, request) => {
          seen.push(`${user}/${password}/${request.headers["x-tenant"]}`);
          await new Promise((r) => setTimeout(r, 5));
          if (user === "crash") throw new Error("user store unreachable");
          return user === "carol" && password === "pw";
        },
      }),
    });
    servers.push(server);
    expect(await statusOf(server.port, { authorization: basic("carol", "pw"), "x-tenant": "t1" })).toBe(101);
    expect(await statusOf(server.port, { authorization: basic("carol", "nope"), "x-tenant": "t2" })).toBe(401);
    expect(await statusOf(server.port, { authorization: basic("crash", "x") })).toBe(500);
    expect(seen).toEqual(["carol/pw/t1", "carol/nope/t2", "crash/x/undefined"]);
    expect(lines.join("\n")).toContain("user store unreachable");
  });

  it("protects one route of a router; the others stay open", async () => {
    const router = route({
      "/public": whoami,
      "/admin": { handler: whoami, processRequest: basicAuth({ realm: "admin", credentials: { root: "toor" } }) },
    });
    const server = await serve(router, { host: "127.0.0.1", logger: null });
    servers.push(server);
    const pub = await connect(`ws://127.0.0.1:${server.port}/public`);
    expect(await pub.recv()).toBe("hello undefined");
    await pub.close();
    const refused = await connect(`ws://127.0.0.1:${server.port}/admin`).catch((e: unknown) => e);
    expect((refused as InvalidStatus).response.status).toBe(401);
    expect((refused as InvalidStatus).response.headers["www-authenticate"]).toBe('Basic realm="admin", charset="UTF-8"');
    const admin = await connect(`ws://127.0.0.1:${server.port}/admin`, { headers: { authorization: basic("root", "toor") } });
    expect(await admin.recv()).toBe("hello root");
    await admin.close();
  });

  it("parses Basic credentials strictly: scheme case-insensitive, base64 and UTF-8 checked, a colon required", () => {
    expect(parseBasic(basic("a", "b"))).toEqual(["a", "b"]);
    expect(parseBasic(`bAsIc ${Buffer.from("a:b").toString("base64")}`)).toEqual(["a", "b"]);
    expect(parseBasic(`Basic ${Buffer.from("a:").toString("base64")}`)).toEqual(["a", ""]);
    expect(parseBasic(`Basic ${Buffer.from("nocolon").toString("base64")}`)).toBeNull();
    expect(parseBasic("Basic !!!!")).toBeNull();
    expect(parseBasic("Basic YWJj")).toBeNull(); // "abc": no colon
    expect(parseBasic("Basic YQ")).toBeNull(); // not padded
    expect(parseBasic(`Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString("base64")}`)).toBeNull(); // not UTF-8
    expect(parseBasic("Bearer YTpi")).toBeNull();
    expect(parseBasic("Basic")).toBeNull();
  });

  it("refuses options that cannot work, naming them", () => {
    const cases: [unknown, RegExp][] = [
      [{}, /exactly one of options.credentials and options.check/],
      [{ credentials: { a: "b" }, check: () => true }, /exactly one of/],
      [{ credentials: { "a:b": "c" } }, /contains a colon/],
      [{ credentials: {} }, /credentials is empty/],
      [{ credentials: [["a"]] }, /entry 0 must be a \[user, password\] pair/],
      [{ credentials: { a: 1 } }, /entry 0 must be a \[user, password\] pair/],
      [{ realm: 'a"b', credentials: { a: "b" } }, /options.realm must be a string without double quotes/],
      [{ check: "yes" }, /options.check must be a function/],
      [{ credentials: { a: "b" }, relm: "x" }, /unknown option relm \(did you mean realm\?\)/],
      [undefined, /must give credentials or check/],
    ];
    for (const [options, message] of cases) expect(() => basicAuth(options as never), JSON.stringify(options)).toThrow(message);
  });
});
