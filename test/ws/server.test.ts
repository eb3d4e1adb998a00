/**
 * `WebSocketServer` and the server side of `WebSocket`, row by row against
 * the `ws` package and `wavesock/ws` (describe.each), over real loopback
 * sockets. The peer is the same for both rows: a real `ws` client, or a
 * raw TCP peer sending hand-built frames for the protocol violations.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RawPeer, clientFrame } from "../node/helpers.js";
import { IMPLS, PEER, cleanup, closed, documented, httpServer, listen, next, record, runCleanup } from "./impls.js";

afterEach(runCleanup);

function peer(url: string, protocols?: any, options?: any) {
  const ws = new PEER.WebSocket(url, protocols, options);
  ws.on("error", () => undefined);
  cleanup.push(() => ws.terminate());
  return ws;
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

describe.each(IMPLS)("WebSocketServer: $name", (impl) => {
  const { WebSocketServer, WebSocket } = impl;

  it("port + host: 'listening', address(), callback; 'connection' (ws, request); echo; clients tracks the open ones", async () => {
    let called = false;
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backlog: 16 }, () => (called = true));
    cleanup.push(() => new Promise((r) => wss.close(() => r(undefined))));
    await next(wss, "listening");
    expect(called).toBe(true);
    const address = wss.address() as AddressInfo;
    expect(address.address).toBe("127.0.0.1");
    const conn = next<[InstanceType<typeof WebSocket>, http.IncomingMessage]>(wss, "connection");
    const c = peer(`ws://127.0.0.1:${address.port}/room?x=1`);
    const [ws, req] = await conn;
    expect(ws).toBeInstanceOf(WebSocket);
    expect(req.url).toBe("/room?x=1");
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(ws.url).toBeUndefined();
    expect(wss.clients!.has(ws)).toBe(true);
    ws.on("message", (d, isBinary) => ws.send(d as Buffer, { binary: isBinary }));
    await next(c, "open");
    c.send("echo me");
    const [data, isBinary] = await next<[Buffer, boolean]>(c, "message");
    expect([data.toString(), isBinary]).toEqual(["echo me", false]);
    const wsClosed = closed(ws);
    c.close(1001, "away");
    const [code, reason] = await wsClosed;
    expect([code, reason.toString()]).toEqual([1001, "away"]);
    expect(wss.clients!.size).toBe(0);
  });

  it("a plain HTTP request to the port server gets 426", async () => {
    const { port } = await listen(WebSocketServer);
    const res = await new Promise<http.IncomingMessage>((r) => http.get(`http://127.0.0.1:${port}/`, r));
    expect(res.statusCode).toBe(426);
    res.resume();
  });

  it("exactly one of port, server, noServer, or a TypeError", () => {
    expect(() => new WebSocketServer({})).toThrow(TypeError);
    expect(() => new WebSocketServer({ port: 0, noServer: true })).toThrow(/One and only one/);
    const noServer = new WebSocketServer({ noServer: true });
    expect(() => noServer.address()).toThrow('The server is operating in "noServer" mode');
  });

  it("server: takes the HTTP server's upgrades; path refuses others with 400; shouldHandle", async () => {
    const { server, port } = await httpServer();
    const wss = new WebSocketServer({ server, path: "/ws" });
    cleanup.push(() => new Promise((r) => wss.close(() => r(undefined))));
    expect(wss.shouldHandle({ url: "/ws?a=1" } as http.IncomingMessage)).toBe(true);
    expect(wss.shouldHandle({ url: "/other" } as http.IncomingMessage)).toBe(false);
    const ok = peer(`ws://127.0.0.1:${port}/ws`);
    await next(ok, "open");
    const refused = peer(`ws://127.0.0.1:${port}/nope`);
    const [, res] = await next<[unknown, http.IncomingMessage]>(refused, "unexpected-response");
    expect(res.statusCode).toBe(400);
  });

  it("noServer: several servers on one HTTP server, dispatched by path through handleUpgrade(cb)", async () => {
    const { server, port } = await httpServer();
    const chat = new WebSocketServer({ noServer: true });
    const feed = new WebSocketServer({ noServer: true });
    chat.on("connection", (ws) => ws.send("chat"));
    feed.on("connection", (ws) => ws.send("feed"));
    server.on("upgrade", (req, socket, head) => {
      const target = req.url === "/chat" ? chat : req.url === "/feed" ? feed : null;
      if (target === null) return socket.destroy();
      target.handleUpgrade(req, socket, head, (ws, request) => {
        expect(request).toBe(req);
        target.emit("connection", ws, request);
      });
    });
    cleanup.push(() => [...chat.clients!, ...feed.clients!].forEach((c) => c.terminate()));
    const a = peer(`ws://127.0.0.1:${port}/chat`);
    const b = peer(`ws://127.0.0.1:${port}/feed`);
    const [[da], [db]] = await Promise.all([next<[Buffer]>(a, "message"), next<[Buffer]>(b, "message")]);
    expect([da.toString(), db.toString()]).toEqual(["chat", "feed"]);
    expect([chat.clients!.size, feed.clients!.size]).toEqual([1, 1]);
  });

  it("clientTracking: false leaves clients undefined", async () => {
    const { wss } = await listen(WebSocketServer, { clientTracking: false });
    expect(wss.clients).toBeUndefined();
  });

  it("handleProtocols picks the subprotocol (default: the client's first)", async () => {
    const { url } = await listen(WebSocketServer, { handleProtocols: (set: Set<string>) => (set.has("two") ? "two" : false) });
    const a = peer(url, ["one", "two"]);
    await next(a, "open");
    expect(a.protocol).toBe("two");
    const plain = await listen(WebSocketServer);
    const b = peer(plain.url, ["one", "two"]);
    await next(b, "open");
    expect(b.protocol).toBe("one");
  });

  it("verifyClient: sync false → 401; async callback(false, 403, name, headers); info has origin, secure, req", async () => {
    const infos: { origin: string | undefined; secure: boolean; url: string | undefined }[] = [];
    const sync = await listen(WebSocketServer, {
      verifyClient: (info: any) => {
        infos.push({ origin: info.origin, secure: info.secure, url: info.req.url });
        return info.req.url === "/ok";
      },
    });
    const refused = peer(`${sync.url}/no`, { origin: "https://a.example" });
    const [, res] = await next<[unknown, http.IncomingMessage]>(refused, "unexpected-response");
    expect(res.statusCode).toBe(401);
    const ok = peer(`${sync.url}/ok`);
    await next(ok, "open");
    expect(infos[0]).toEqual({ origin: "https://a.example", secure: false, url: "/no" });
    const async = await listen(WebSocketServer, {
      verifyClient: (_info: any, cb: (r: boolean, c?: number, n?: string, h?: http.OutgoingHttpHeaders) => void): void => void setTimeout(() => cb(false, 403, "Go away", { "X-Reason": "banned" }), 10),
    });
    const banned = peer(async.url);
    const [, res2] = await next<[unknown, http.IncomingMessage]>(banned, "unexpected-response");
    expect(res2.statusCode).toBe(403);
    expect(res2.headers["x-reason"]).toBe("banned");
  });

  it("'headers' shows the 101's lines before they are written: a pushed header reaches the client", async () => {
    const { wss, url } = await listen(WebSocketServer);
    let lines: string[] = [];
    wss.on("headers", (headers: string[], req: http.IncomingMessage) => {
      expect(req).toBeInstanceOf(http.IncomingMessage);
      lines = [...headers];
      headers.push("X-Extra: yes");
    });
    const c = peer(url);
    const [res] = await next<[http.IncomingMessage]>(c, "upgrade");
    expect(lines.slice(0, 3)).toEqual(["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"]);
    expect(lines[3]).toMatch(/^Sec-WebSocket-Accept: /);
    expect(res.headers["x-extra"]).toBe("yes");
  });

  it("a malformed upgrade: 'wsClientError' (error, socket, request) when listened for, else a 400 with ws's message", async () => {
    const { wss, port } = await listen(WebSocketServer);
    const raw = await RawPeer.connect(port);
    cleanup.push(() => raw.destroy());
    raw.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: bad\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const head = await raw.readHead();
    expect(head).toMatch(/^HTTP\/1.1 400 Bad Request/);
    const body = (await raw.readToEnd()).toString();
    expect(body).toBe("Missing or invalid Sec-WebSocket-Key header");
    const seen = new Promise<string>((resolve) =>
      wss.on("wsClientError", (err: Error, socket: import("node:net").Socket, req: http.IncomingMessage) => {
        socket.end("HTTP/1.1 418 I'm a teapot\r\n\r\n");
        resolve(`${err.message} ${req.url}`);
      }),
    );
    const raw2 = await RawPeer.connect(port);
    cleanup.push(() => raw2.destroy());
    raw2.write(`GET /t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 99\r\n\r\n`);
    expect(await seen).toBe("Missing or invalid Sec-WebSocket-Version header /t");
    expect(await raw2.readHead()).toMatch(/^HTTP\/1.1 418/);
  });

  it("protocolVersion 8: ws accepts it, wavesock refuses it (400; documented)", async () => {
    const { port } = await listen(WebSocketServer);
    const raw = await RawPeer.connect(port);
    cleanup.push(() => raw.destroy());
    raw.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n`);
    const head = await raw.readHead();
    expect(head.split("\r\n")[0]).toBe(documented(impl, "protocol-version-8", { ws: "HTTP/1.1 101 Switching Protocols", wavesock: "HTTP/1.1 400 Bad Request" }));
  });

  it("the WebSocket option makes connections of a subclass", async () => {
    class Tagged extends WebSocket {
      readonly tag = "mine";
    }
    const { wss, url } = await listen(WebSocketServer, { WebSocket: Tagged as any });
    const conn = next<[Tagged]>(wss, "connection");
    peer(url);
    const [ws] = await conn;
    expect(ws).toBeInstanceOf(Tagged);
    expect(ws.tag).toBe("mine");
  });

  it("perMessageDeflate: negotiated when on (extensions), compressed messages round-trip", async () => {
    const { wss, url } = await listen(WebSocketServer, { perMessageDeflate: { threshold: 0 } });
    const conn = next<[InstanceType<typeof WebSocket>]>(wss, "connection");
    const c = peer(url);
    const [ws] = await conn;
    expect(ws.extensions).toBe("permessage-deflate");
    ws.send("z".repeat(5000));
    const [data] = await next<[Buffer]>(c, "message");
    expect(data.toString()).toBe("z".repeat(5000));
    const off = await listen(WebSocketServer);
    const c2 = peer(off.url);
    await next(c2, "open");
    expect(c2.extensions).toBe("");
  });

  it("maxPayload: a bigger message from the client is an error (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH) then close 1006; the client sees 1009", async () => {
    const { wss, url } = await listen(WebSocketServer, { maxPayload: 100 });
    const conn = next<[InstanceType<typeof WebSocket>]>(wss, "connection");
    const c = peer(url);
    const [ws] = await conn;
    const log = record(ws);
    await next(c, "open");
    c.send("fits");
    c.send(Buffer.alloc(200));
    const [clientCode] = await closed(c as never);
    await closed(ws);
    expect(log).toEqual(["message:text:fits", "error:WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", "close:1006:"]);
    expect(clientCode).toBe(1009);
  });

  it("autoPong: false on the server: the client's ping gets no pong", async () => {
    const { wss, url } = await listen(WebSocketServer, { autoPong: false });
    wss.on("connection", (ws) => ws.on("message", () => ws.send("done")));
    const c = peer(url);
    await next(c, "open");
    const seen: string[] = [];
    c.on("pong", () => seen.push("pong"));
    c.ping("p");
    c.send("m");
    await next(c, "message");
    seen.push("done");
    expect(seen).toEqual(["done"]);
  });

  it("close(cb): the HTTP server it made closes once the clients are gone, then 'close'; again: an Error", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await next(wss, "listening");
    const port = (wss.address() as AddressInfo).port;
    const c = peer(`ws://127.0.0.1:${port}/`);
    await next(c, "open");
    const events: string[] = [];
    wss.on("close", () => events.push("close"));
    const done = new Promise<void>((r) => wss.close(() => r()));
    // Existing connections are left open (ws), and the HTTP server's close waits for them.
    await new Promise((r) => setTimeout(r, 50));
    expect(c.readyState).toBe(1);
    expect(events).toEqual([]);
    c.terminate();
    await done;
    expect(events).toEqual(["close"]);
    const again = await new Promise<Error | undefined>((r) => wss.close((err) => r(err)));
    expect(again?.message).toBe("The server is not running");
  });

  it("noServer close(): 'close' waits for the tracked clients to close", async () => {
    const { server, port } = await httpServer();
    const wss = new WebSocketServer({ noServer: true });
    server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
    const c = peer(`ws://127.0.0.1:${port}/`);
    await next(c, "open");
    const order: string[] = [];
    const done = new Promise<void>((r) => wss.close(() => r()));
    wss.on("close", () => order.push("server close"));
    c.on("close", () => order.push("client close"));
    for (const ws of wss.clients!) ws.close();
    await done;
    expect(order[order.length - 1]).toBe("server close");
  });

  describe("a client that breaks the protocol: 'error' with ws's code, then 'close' 1006; messages before it delivered", () => {
    const cases: { name: string; frame: () => Buffer; code: string; error: "Error" | "RangeError"; message: string }[] = [
      { name: "invalid UTF-8", frame: () => clientFrame(1, Buffer.from([0xc3, 0x28])), code: "WS_ERR_INVALID_UTF8", error: "Error", message: "Invalid WebSocket frame: invalid UTF-8 sequence" },
      { name: "unknown opcode 3", frame: () => clientFrame(3, ""), code: "WS_ERR_INVALID_OPCODE", error: "RangeError", message: "Invalid WebSocket frame: invalid opcode 3" },
      { name: "continuation first", frame: () => clientFrame(0, "x"), code: "WS_ERR_INVALID_OPCODE", error: "RangeError", message: "Invalid WebSocket frame: invalid opcode 0" },
      { name: "unmasked frame", frame: () => Buffer.from([0x81, 1, 0x61]), code: "WS_ERR_EXPECTED_MASK", error: "RangeError", message: "Invalid WebSocket frame: MASK must be set" },
      { name: "RSV1 without deflate", frame: () => clientFrame(1, "x", { rsv: 0x40 }), code: "WS_ERR_UNEXPECTED_RSV_1", error: "RangeError", message: "Invalid WebSocket frame: RSV1 must be clear" },
      { name: "RSV2", frame: () => clientFrame(1, "x", { rsv: 0x20 }), code: "WS_ERR_UNEXPECTED_RSV_2_3", error: "RangeError", message: "Invalid WebSocket frame: RSV2 and RSV3 must be clear" },
      { name: "fragmented ping", frame: () => clientFrame(9, "x", { fin: false }), code: "WS_ERR_EXPECTED_FIN", error: "RangeError", message: "Invalid WebSocket frame: FIN must be set" },
      { name: "close code 1005 on the wire", frame: () => clientFrame(8, Buffer.from([0x03, 0xed])), code: "WS_ERR_INVALID_CLOSE_CODE", error: "RangeError", message: "Invalid WebSocket frame: invalid status code 1005" },
      { name: "ping of 126 bytes", frame: () => clientFrame(9, Buffer.alloc(126)), code: "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", error: "RangeError", message: "" },
    ];
    it.each(cases)("$name → $code", async ({ frame, code, error, message }) => {
      const { wss, port } = await listen(WebSocketServer);
      const conn = next<[InstanceType<typeof WebSocket>]>(wss, "connection");
      const raw = await RawPeer.connect(port);
      cleanup.push(() => raw.destroy());
      await raw.handshake("/");
      const [ws] = await conn;
      const log = record(ws);
      let err: (Error & { code?: string }) | undefined;
      ws.on("error", (e) => (err = e));
      raw.write(Buffer.concat([clientFrame(1, "before"), frame()]));
      await closed(ws);
      expect(log).toEqual(["message:text:before", `error:${code}`, "close:1006:"]);
      expect(err!.constructor.name).toBe(error);
      if (message !== "") expect(err!.message).toBe(message);
      else {
        // ws says "invalid payload length 126"; wavesock's parser refuses the header without the number (documented).
        expect(err!.message).toBe(documented(impl, "error-messages", { ws: "Invalid WebSocket frame: invalid payload length 126", wavesock: "Invalid WebSocket frame: invalid payload length" }));
      }
      // The close frame the peer got carries the RFC's code.
      const reply = await raw.readFrame();
      expect(reply.opcode).toBe(8);
      expect(reply.payload.readUInt16BE(0)).toBe(code === "WS_ERR_INVALID_UTF8" ? 1007 : 1002);
    });
  });

  it("a server WebSocket's send/ping/close work as on the client; terminate() gives 1006", async () => {
    const { wss, url } = await listen(WebSocketServer);
    const conn = next<[InstanceType<typeof WebSocket>]>(wss, "connection");
    const c = peer(url);
    const [ws] = await conn;
    const clientLog: string[] = [];
    c.on("message", (d, isBinary) => clientLog.push(`${isBinary ? "b" : "t"}:${d.toString()}`));
    c.on("ping", (d) => clientLog.push(`ping:${d.toString()}`));
    await next(c, "open");
    ws.send("t");
    ws.send(new Uint8Array([65]));
    ws.ping("x");
    ws.send(new ArrayBuffer(1));
    await new Promise<void>((resolve) => {
      const check = () => (clientLog.length >= 4 ? resolve() : c.once("message", check));
      check();
    });
    expect(clientLog).toEqual(["t:t", "b:A", "ping:x", "b:\u0000"]);
    const wsClosed = closed(ws);
    ws.terminate();
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const [code] = await wsClosed;
    expect(code).toBe(1006);
  });
});
