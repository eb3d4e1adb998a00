/**
 * `createWebSocketStream`, row by row against the `ws` package and
 * `wavesock/ws`: the stream over each implementation's client, a real `ws`
 * server as the fixed peer. Backpressure, objectMode, errors, half-close.
 */
import { afterEach, describe, expect, it } from "vitest";
import { IMPLS, PEER, cleanup, listen, next, runCleanup } from "./impls.js";

afterEach(runCleanup);

describe.each(IMPLS)("createWebSocketStream: $name", (impl) => {
  const { WebSocket, createWebSocketStream } = impl;

  function open(url: string) {
    const ws = new WebSocket(url);
    cleanup.push(() => ws.terminate());
    return ws;
  }

  it("writes go as messages (even before open), messages come out as chunks", async () => {
    const { wss, url } = await listen(PEER.WebSocketServer);
    wss.on("connection", (peer) => peer.on("message", (d, isBinary) => peer.send(`echo:${d.toString()}`, { binary: isBinary })));
    const ws = open(url);
    const duplex = createWebSocketStream(ws);
    const done = new Promise<(Error | null | undefined)[]>((resolve) => {
      const cbs: (Error | null | undefined)[] = [];
      duplex.write("one", (e) => cbs.push(e));
      duplex.write(Buffer.from("two"), (e) => {
        cbs.push(e);
        resolve(cbs);
      });
    });
    const chunks: string[] = [];
    await new Promise<void>((resolve) =>
      duplex.on("data", (chunk: Buffer) => {
        chunks.push(chunk.toString());
        if (chunks.length === 2) resolve();
      }),
    );
    expect(chunks).toEqual(["echo:one", "echo:two"]);
    expect((await done).every((e) => e == null)).toBe(true);
  });

  it("readableObjectMode gives text messages as strings, binary as Buffers", async () => {
    const { wss, url } = await listen(PEER.WebSocketServer);
    wss.on("connection", (peer) => {
      peer.send("text");
      peer.send(Buffer.from([1]));
    });
    const duplex = createWebSocketStream(open(url), { readableObjectMode: true });
    const got: unknown[] = [];
    for await (const chunk of duplex) {
      got.push(chunk);
      if (got.length === 2) break;
    }
    expect(got[0]).toBe("text");
    expect(Buffer.isBuffer(got[1])).toBe(true);
  });

  it("backpressure: a full readable buffer pauses the WebSocket; reading resumes it; nothing is lost", async () => {
    const { wss, url } = await listen(PEER.WebSocketServer);
    const N = 200;
    wss.on("connection", (peer) => {
      for (let i = 0; i < N; i++) peer.send(`m${i}`);
    });
    const ws = open(url);
    const duplex = createWebSocketStream(ws, { readableHighWaterMark: 16 });
    await next(ws, "open");
    while (!ws.isPaused) await new Promise((r) => setTimeout(r, 5));
    expect(ws.isPaused).toBe(true);
    const expected = Array.from({ length: N }, (_, i) => `m${i}`).join("");
    let got = "";
    // Reads may join messages (a byte stream): compare the bytes.
    for await (const chunk of duplex) {
      got += (chunk as Buffer).toString();
      if (got.length >= expected.length) break;
    }
    expect(got).toBe(expected);
  });

  it("end() closes the WebSocket (half-close): 'finish', then the peer's close ends the readable side", async () => {
    const { wss, url } = await listen(PEER.WebSocketServer);
    const peerClosed = new Promise<number>((r) => wss.on("connection", (peer) => peer.on("close", (code) => r(code))));
    const ws = open(url);
    const duplex = createWebSocketStream(ws);
    const events: string[] = [];
    duplex.on("finish", () => events.push("finish"));
    duplex.on("end", () => events.push("end"));
    duplex.resume();
    const closedStream = next(duplex, "close");
    await next(ws, "open");
    duplex.end();
    await closedStream;
    expect(await peerClosed).toBe(1005);
    expect(events).toEqual(["finish", "end"]);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("a WebSocket error destroys the stream with it; destroy() terminates the WebSocket", async () => {
    const { wss, url } = await listen(PEER.WebSocketServer);
    wss.on("connection", (peer) => peer.send(Buffer.alloc(100)));
    const ws = new WebSocket(url, { maxPayload: 10 });
    cleanup.push(() => ws.terminate());
    const duplex = createWebSocketStream(ws);
    duplex.resume();
    const errored = next<[Error & { code?: string }]>(duplex, "error");
    const streamClosed = next(duplex, "close");
    const [err] = await errored;
    expect(err.code).toBe("WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
    await streamClosed;

    const ws2 = open(url);
    const d2 = createWebSocketStream(ws2);
    await next(ws2, "open");
    const wsClosed = next<[number]>(ws2, "close");
    d2.destroy();
    expect((await wsClosed)[0]).toBe(1006);
  });
});
