/**
 * The client `WebSocket` of the `ws` API, row by row against the `ws`
 * package and `wavesock/ws` (describe.each), over real loopback sockets.
 * The peer is the same for both rows: a real `ws` server (or a raw TCP
 * peer for what no well-behaved server sends).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { selfSignedCert } from "../node/helpers.js";
import { IMPLS, PEER, cleanup, closed, documented, httpServer, listen, next, record, runCleanup, tick } from "./impls.js";

afterEach(runCleanup);

/** A ws echo server (the fixed peer), with what it saw of each request. */
async function echoServer(options: Record<string, unknown> = {}) {
  const s = await listen(PEER.WebSocketServer, options);
  const requests: http.IncomingMessage[] = [];
  s.wss.on("connection", (ws, req) => {
    requests.push(req);
    ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  return { ...s, requests };
}

describe.each(IMPLS)("client WebSocket: $name", (impl) => {
  const { WebSocket } = impl;

  function client(url: string | URL, protocols?: any, options?: any) {
    const ws = new WebSocket(url, protocols, options);
    ws.on("error", () => undefined);
    cleanup.push(() => ws.terminate());
    return ws;
  }

  it("open, messages (text as a Buffer with isBinary false, binary true), close(code, reason Buffer), in order", async () => {
    const { url } = await echoServer();
    const ws = client(url);
    const log = record(ws);
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    const got: [unknown, boolean][] = [];
    ws.on("message", (data, isBinary) => got.push([data, isBinary]));
    await next(ws, "open");
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.send("héllo");
    ws.send(Buffer.from([1, 2, 3]));
    while (got.length < 2) await next(ws, "message");
    expect(Buffer.isBuffer(got[0]![0])).toBe(true);
    expect((got[0]![0] as Buffer).toString()).toBe("héllo");
    expect(got[0]![1]).toBe(false);
    expect([...(got[1]![0] as Buffer)]).toEqual([1, 2, 3]);
    expect(got[1]![1]).toBe(true);
    ws.close(4000, "bye");
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const [code, reason] = await closed(ws);
    expect(code).toBe(4000);
    expect(Buffer.isBuffer(reason)).toBe(true);
    expect(reason.toString()).toBe("bye");
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    expect(log).toEqual(["open", "message:text:héllo", "message:binary:\u0001\u0002\u0003", "close:4000:bye"]);
  });

  it("the readyState constants, on the class and on instances", () => {
    expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    const ws = new WebSocket("ws://127.0.0.1:1");
    ws.on("error", () => undefined);
    expect([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED]).toEqual([0, 1, 2, 3]);
    ws.terminate();
  });

  it("takes a URL object, http:// (as ws://), and gives url", async () => {
    const { port } = await echoServer();
    const a = client(new URL(`ws://127.0.0.1:${port}/a?x=1`));
    const b = client(`http://127.0.0.1:${port}/b`);
    await Promise.all([next(a, "open"), next(b, "open")]);
    expect(a.url).toBe(`ws://127.0.0.1:${port}/a?x=1`);
    expect(b.url).toBe(`ws://127.0.0.1:${port}/b`);
  });

  it("connects to ws+unix:/path:/resource over a Unix socket", async () => {
    const path = join(fs.mkdtempSync(join(tmpdir(), "wscompat-")), "s.sock");
    const server = http.createServer();
    const wss = new PEER.WebSocketServer({ server });
    const seen: string[] = [];
    wss.on("connection", (ws, req) => {
      seen.push(req.url ?? "");
      ws.send("over unix");
    });
    await new Promise<void>((r) => server.listen(path, () => r()));
    cleanup.push(() => new Promise((r) => server.close(r)));
    cleanup.push(() => wss.clients!.forEach((c) => c.terminate()));
    const ws = client(`ws+unix:${path}:/chat?room=1`);
    const [data] = await next<[Buffer]>(ws, "message");
    expect(data.toString()).toBe("over unix");
    expect(seen).toEqual(["/chat?room=1"]);
  });

  it("throws what ws throws for a bad address, subprotocol or protocolVersion", () => {
    expect(() => new WebSocket("not a url")).toThrow(SyntaxError);
    expect(() => new WebSocket("ftp://127.0.0.1/")).toThrow(/The URL's protocol must be one of/);
    expect(() => new WebSocket("ws://127.0.0.1/#frag")).toThrow(/fragment identifier/);
    expect(() => new WebSocket("ws://127.0.0.1/", ["a", "a"])).toThrow(/invalid or duplicated subprotocol/);
    expect(() => new WebSocket("ws://127.0.0.1/", "bad proto")).toThrow(SyntaxError);
    expect(() => new WebSocket("ws://127.0.0.1/", { protocolVersion: 7 })).toThrow(RangeError);
  });

  it("offers subprotocols (a string, an array, options.protocols) and gives protocol; 'Server sent no subprotocol' when none is chosen", async () => {
    const { url } = await echoServer({ handleProtocols: (set: Set<string>) => (set.has("b") ? "b" : false) });
    const a = client(url, ["a", "b"]);
    const b = client(url, { protocols: "b" });
    await Promise.all([next(a, "open"), next(b, "open")]);
    expect(a.protocol).toBe("b");
    expect(b.protocol).toBe("b");
    const c = client(url, "a");
    const log = record(c);
    await closed(c);
    expect(log).toEqual(["error:Server sent no subprotocol", "close:1006:"]);
  });

  it("sends headers and origin; 'upgrade' gives the 101 response", async () => {
    const s = await echoServer();
    s.wss.on("headers", (headers: string[]) => headers.push("Set-Cookie: k=v"));
    const ws = client(s.url, { headers: { "X-Token": "abc" }, origin: "https://example.com" });
    const upgraded = next<[http.IncomingMessage]>(ws, "upgrade");
    const opened = next(ws, "open");
    const [res] = await upgraded;
    expect(res.statusCode).toBe(101);
    expect(res.headers["set-cookie"]).toEqual(["k=v"]);
    await opened;
    expect(s.requests[0]!.headers["x-token"]).toBe("abc");
    expect(s.requests[0]!.headers.origin).toBe("https://example.com");
  });

  it("'unexpected-response' (request, response) for a refusal; without a listener: error, then close 1006", async () => {
    const refuse = await httpServer();
    refuse.server.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 401 Unauthorized\r\nX-Why: token\r\nContent-Length: 0\r\n\r\n"));
    const a = client(`ws://127.0.0.1:${refuse.port}/`);
    const [req, res] = await next<[http.ClientRequest, http.IncomingMessage]>(a, "unexpected-response");
    expect(req).toBeInstanceOf(http.ClientRequest);
    expect(res.statusCode).toBe(401);
    expect(res.headers["x-why"]).toBe("token");
    req.destroy();
    const b = client(`ws://127.0.0.1:${refuse.port}/`);
    const log = record(b);
    await closed(b);
    expect(log).toEqual(["error:Unexpected server response: 401", "close:1006:"]);
  });

  it("follows redirects with followRedirects ('redirect' event), and stops at maxRedirects", async () => {
    const { url } = await echoServer();
    const hops = await httpServer((req, res) => {
      const n = Number(req.url!.slice(1));
      res.writeHead(302, { Location: n > 0 ? `/${n - 1}` : url }).end();
    });
    const ws = client(`ws://127.0.0.1:${hops.port}/2`, { followRedirects: true });
    const redirects: string[] = [];
    ws.on("redirect", (u: string, req: http.ClientRequest) => {
      expect(req).toBeInstanceOf(http.ClientRequest);
      redirects.push(u);
    });
    await next(ws, "open");
    expect(redirects).toEqual([`ws://127.0.0.1:${hops.port}/1`, `ws://127.0.0.1:${hops.port}/0`, `${url}/`]);
    const capped = client(`ws://127.0.0.1:${hops.port}/5`, { followRedirects: true, maxRedirects: 2 });
    const log = record(capped);
    await closed(capped);
    expect(log).toEqual(["error:Maximum redirects exceeded", "close:1006:"]);
  });

  it("handshakeTimeout: a server that never answers gives 'Opening handshake has timed out', then close 1006", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise((r) => silent.close(r)));
    const sockets: net.Socket[] = [];
    silent.on("connection", (s) => sockets.push(s));
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    const ws = client(`ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`, { handshakeTimeout: 200 });
    const log = record(ws);
    await closed(ws);
    expect(log).toEqual(["error:Opening handshake has timed out", "close:1006:"]);
  });

  it("close() and terminate() while CONNECTING: error, then close 1006", async () => {
    const { url } = await echoServer();
    for (const how of ["close", "terminate"] as const) {
      const ws = client(url);
      const log = record(ws);
      ws[how]();
      expect(ws.readyState).toBe(WebSocket.CLOSING);
      await closed(ws);
      expect(log).toEqual(["error:WebSocket was closed before the connection was established", "close:1006:"]);
    }
  });

  it("send/ping/pong throw while CONNECTING; after close, send calls back with an error and counts in bufferedAmount", async () => {
    const { url } = await echoServer();
    const ws = client(url);
    expect(() => ws.send("x")).toThrow("WebSocket is not open: readyState 0 (CONNECTING)");
    expect(() => ws.ping()).toThrow("WebSocket is not open: readyState 0 (CONNECTING)");
    expect(() => ws.pong()).toThrow("WebSocket is not open: readyState 0 (CONNECTING)");
    await next(ws, "open");
    expect(ws.bufferedAmount).toBe(0);
    ws.close();
    const err = await new Promise<Error | null | undefined>((r) => ws.send("abcd", (e) => r(e)));
    expect(err?.message).toBe("WebSocket is not open: readyState 2 (CLOSING)");
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual(4);
    await closed(ws);
  });

  it("send options: binary false sends bytes as text, fin false sends fragments of one message, numbers go as strings; callbacks once written", async () => {
    const { url } = await echoServer();
    const ws = client(url);
    await next(ws, "open");
    const got: string[] = [];
    ws.on("message", (d, isBinary) => got.push(`${isBinary ? "b" : "t"}:${d.toString()}`));
    const done: (Error | null | undefined)[] = [];
    ws.send(Buffer.from("as text"), { binary: false }, (e) => done.push(e));
    ws.send("par", { fin: false });
    ws.send("ts", { fin: true, compress: false });
    ws.send(42, (e) => done.push(e));
    ws.send("abc", { binary: true, mask: true });
    while (got.length < 4) await next(ws, "message");
    expect(got).toEqual(["t:as text", "t:parts", "t:42", "b:abc"]);
    expect(done.length).toBe(2);
    expect(done.every((e) => e == null)).toBe(true);
  });

  it("ping and pong with data and callbacks; 'pong' and 'ping' events; more than 125 bytes throws", async () => {
    const s = await listen(PEER.WebSocketServer);
    s.wss.on("connection", (ws) => {
      ws.on("pong", (d) => ws.ping(Buffer.concat([Buffer.from("re:"), d])));
    });
    const ws = client(s.url);
    await next(ws, "open");
    const cbs: (Error | null | undefined)[] = [];
    const pong = next<[Buffer]>(ws, "pong");
    const ping = next<[Buffer]>(ws, "ping");
    ws.ping("hi", undefined, (e) => cbs.push(e));
    ws.pong("hb", (e) => cbs.push(e));
    expect((await pong)[0].toString()).toBe("hi");
    expect((await ping)[0].toString()).toBe("re:hb");
    expect(cbs.length).toBe(2);
    expect(cbs.every((e) => e == null)).toBe(true);
    expect(() => ws.ping(Buffer.alloc(126))).toThrow(RangeError);
  });

  it("autoPong: false leaves pings unanswered (the 'ping' event still comes)", async () => {
    for (const autoPong of [true, false]) {
      const s = await listen(PEER.WebSocketServer);
      const seen: string[] = [];
      const finished = new Promise<void>((resolve) => {
        s.wss.on("connection", (ws) => {
          ws.on("pong", () => seen.push("pong"));
          ws.on("message", (d) => {
            seen.push(d.toString());
            resolve();
          });
          ws.ping("p");
          ws.send("m");
        });
      });
      const ws = client(s.url, { autoPong });
      ws.on("message", () => ws.send("done"));
      await finished;
      // TCP keeps the order: a pong sent on the ping arrives before "done".
      expect(seen).toEqual(autoPong ? ["pong", "done"] : ["done"]);
    }
  });

  it("binaryType: nodebuffer (default), arraybuffer, fragments, blob; others ignored", async () => {
    const { url } = await echoServer();
    const ws = client(url);
    await next(ws, "open");
    expect(ws.binaryType).toBe("nodebuffer");
    const types: unknown[] = [];
    for (const t of ["arraybuffer", "fragments", "blob", "nodebuffer"] as const) {
      ws.binaryType = t;
      ws.send(Buffer.from([7, 8]));
      const [data] = await next<[unknown]>(ws, "message");
      types.push(data);
    }
    ws.binaryType = "bogus" as never;
    expect(ws.binaryType).toBe("nodebuffer");
    expect(types[0]).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(types[0] as ArrayBuffer)]).toEqual([7, 8]);
    expect(Array.isArray(types[1])).toBe(true);
    expect([...Buffer.concat(types[1] as Buffer[])]).toEqual([7, 8]);
    expect(types[2]).toBeInstanceOf(Blob);
    expect([...new Uint8Array(await (types[2] as Blob).arrayBuffer())]).toEqual([7, 8]);
    expect(Buffer.isBuffer(types[3])).toBe(true);
  });

  it("fragments: ws gives each frame, wavesock the message in one piece (documented)", async () => {
    const s = await listen(PEER.WebSocketServer);
    s.wss.on("connection", (peer) => {
      peer.send(Buffer.from("ab"), { fin: false });
      peer.send(Buffer.from("cd"), { fin: true });
    });
    const ws = client(s.url);
    ws.binaryType = "fragments";
    const [data] = await next<[Buffer[]]>(ws, "message");
    expect(Buffer.concat(data).toString()).toBe("abcd");
    expect(data.length).toBe(documented(impl, "fragments", { ws: 2, wavesock: 1 }));
  });

  it("echoing what a message handler got (RawData): a fragments array goes back as its bytes on wavesock (documented)", async () => {
    const s = await listen(PEER.WebSocketServer);
    s.wss.on("connection", (peer) => peer.on("message", (data, isBinary) => peer.send(data, { binary: isBinary })));
    const ws = client(s.url);
    ws.binaryType = "fragments";
    await next(ws, "open");
    ws.send(Buffer.from("abcd"));
    const [first] = await next<[Buffer[]]>(ws, "message");
    ws.send(first); // the RawData a handler got, straight back (types allow it in both)
    const [echoed] = await next<[Buffer[]]>(ws, "message");
    // ws turns each Buffer of the array into one byte (Buffer.from(array)); wavesock sends their concatenation.
    expect(Buffer.concat(echoed).toString("latin1")).toBe(documented(impl, "send-array", { ws: "\0", wavesock: "abcd" }));
  });

  it("pause() stops messages until resume(); isPaused", async () => {
    const s = await listen(PEER.WebSocketServer);
    let peer!: import("ws").WebSocket;
    s.wss.on("connection", (p) => (peer = p as never));
    const ws = client(s.url);
    await next(ws, "open");
    const got: string[] = [];
    ws.on("message", (d) => got.push(d.toString()));
    ws.pause();
    expect(ws.isPaused).toBe(true);
    while (peer === undefined) await tick();
    peer.send("1");
    peer.send("2");
    peer.send("3");
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([]);
    ws.resume();
    expect(ws.isPaused).toBe(false);
    while (got.length < 3) await next(ws, "message");
    expect(got).toEqual(["1", "2", "3"]);
  });

  it("allowSynchronousEvents: false emits one message per turn of the event loop", async () => {
    const raw = net.createServer((socket) => {
      socket.once("data", (req) => {
        const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(req.toString())![1]!;
        const accept = require("node:crypto").createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        // The 101 and two messages in one write.
        socket.write(
          Buffer.concat([
            Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`),
            Buffer.from([0x81, 1, 0x61, 0x81, 1, 0x62]),
          ]),
        );
      });
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise((r) => raw.close(r)));
    const port = (raw.address() as net.AddressInfo).port;
    for (const allowSynchronousEvents of [true, false]) {
      const ws = client(`ws://127.0.0.1:${port}/`, { allowSynchronousEvents, perMessageDeflate: false });
      let turned = false;
      const seen: boolean[] = [];
      await new Promise<void>((resolve) => {
        ws.on("message", () => {
          seen.push(turned);
          if (seen.length === 1) setImmediate(() => (turned = true));
          else resolve();
        });
      });
      expect(seen).toEqual([false, !allowSynchronousEvents]);
      ws.terminate();
    }
  });

  it("maxPayload: a bigger message is an error (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH), close 1006; the server sees 1009", async () => {
    const s = await listen(PEER.WebSocketServer);
    const serverClose = new Promise<number>((resolve) =>
      s.wss.on("connection", (peer) => {
        peer.on("close", (code) => resolve(code));
        peer.send("small");
        peer.send(Buffer.alloc(2000));
      }),
    );
    const ws = client(s.url, { maxPayload: 1000 });
    const log = record(ws);
    let error: (Error & { code?: string }) | undefined;
    ws.on("error", (e) => (error = e));
    await closed(ws);
    expect(log).toEqual(["open", "message:text:small", "error:WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", "close:1006:"]);
    expect(error).toBeInstanceOf(RangeError);
    expect(error!.message).toBe("Max payload size exceeded");
    expect(await serverClose).toBe(1009);
  });

  it("perMessageDeflate: on by default (extensions), off with false; compressed messages round-trip", async () => {
    const { url } = await echoServer({ perMessageDeflate: { threshold: 0 } });
    const on = client(url);
    const off = client(url, { perMessageDeflate: false });
    await Promise.all([next(on, "open"), next(off, "open")]);
    expect(on.extensions).toBe("permessage-deflate");
    expect(off.extensions).toBe("");
    const big = "x".repeat(10_000);
    on.send(big);
    const [data] = await next<[Buffer]>(on, "message");
    expect(data.toString()).toBe(big);
  });

  it("wss:// with TLS options (ca), and rejectUnauthorized errors without", async () => {
    const { key, cert } = selfSignedCert();
    const server = https.createServer({ key, cert });
    const wss = new PEER.WebSocketServer({ server });
    wss.on("connection", (peer) => peer.send("secure"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise((r) => server.close(r)));
    cleanup.push(() => wss.clients!.forEach((c) => c.terminate()));
    const port = (server.address() as net.AddressInfo).port;
    const ws = client(`wss://localhost:${port}/`, { ca: cert });
    const [data] = await next<[Buffer]>(ws, "message");
    expect(data.toString()).toBe("secure");
    const untrusted = client(`wss://localhost:${port}/`);
    const [err] = await next<[Error & { code?: string }]>(untrusted, "error");
    expect(err.code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
  });

  it("agent, createConnection and finishRequest are used as ws uses them", async () => {
    const s = await echoServer();
    const agent = new http.Agent();
    let created = 0;
    const a = client(s.url, { agent });
    const b = client(s.url, {
      createConnection: (o: net.NetConnectOpts) => {
        created++;
        return net.connect(o);
      },
    });
    let given: unknown;
    const c = client(s.url, {
      finishRequest: (req: http.ClientRequest, ws: unknown) => {
        given = ws;
        req.setHeader("X-Late", "yes");
        req.end();
      },
    });
    await Promise.all([next(a, "open"), next(b, "open"), next(c, "open")]);
    expect(given).toBe(c);
    expect(created).toBe(1);
    expect(s.requests.map((r) => r.headers["x-late"]).filter(Boolean)).toEqual(["yes"]);
    agent.destroy();
  });

  it("EventTarget: addEventListener / on… attributes with ws's event objects", async () => {
    const { url } = await echoServer();
    const ws = client(url);
    const seen: string[] = [];
    ws.onopen = (e: any) => {
      seen.push(`open:${e.type}:${e.target === ws}`);
      ws.send("text");
      ws.send(Buffer.from([1]));
    };
    expect(typeof ws.onopen).toBe("function");
    const handler = { handleEvent: (e: any) => seen.push(`handle:${typeof e.data}`) };
    ws.addEventListener("message", handler, { once: true });
    ws.addEventListener("message", (e: any) => seen.push(`message:${typeof e.data === "string" ? e.data : "bytes"}`));
    const removed = () => seen.push("removed");
    ws.addEventListener("message", removed);
    ws.removeEventListener("message", removed);
    ws.onclose = (e: any) => seen.push(`close:${e.code}:${e.reason}:${e.wasClean}`);
    ws.onerror = () => seen.push("error");
    ws.onmessage = (e: any) => {
      if (typeof e.data !== "string") ws.close(1000, "done");
    };
    await closed(ws);
    expect(seen).toEqual(["open:open:true", "handle:string", "message:text", "message:bytes", "close:1000:done:true"]);
    ws.onopen = null;
    expect(ws.onopen).toBe(null);
  });

  it("skipUTF8Validation: true — ws delivers invalid UTF-8, wavesock still fails with 1007 (documented)", async () => {
    const raw = net.createServer((socket) => {
      socket.once("data", (req) => {
        const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(req.toString())![1]!;
        const accept = require("node:crypto").createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        socket.write(
          Buffer.concat([
            Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`),
            Buffer.from([0x81, 2, 0xc3, 0x28]),
          ]),
        );
        setTimeout(() => socket.destroy(), 200);
      });
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise((r) => raw.close(r)));
    const ws = client(`ws://127.0.0.1:${(raw.address() as net.AddressInfo).port}/`, { skipUTF8Validation: true, perMessageDeflate: false });
    const log = record(ws);
    await closed(ws);
    expect(log.slice(0, 2)).toEqual(
      documented(impl, "skiputf8validation", { ws: ["open", "message:text:\ufffd("], wavesock: ["open", "error:WS_ERR_INVALID_UTF8"] }),
    );
  });
});
