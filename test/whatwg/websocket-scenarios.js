// @ts-check
/**
 * The WebSocket scenarios: browser code, run unchanged by Chromium, by
 * wavesock and by Node's built-in client (see scenarios.js).
 */
import { attempt, closed, describeData, messages, opened, record } from "./scenario-helpers.js";

/** @typedef {import("./scenario-helpers.js").Ctx} Ctx @typedef {import("./scenario-helpers.js").Log} Log */

/** @type {Record<string, (ctx: Ctx) => Promise<Log>>} */
export const WEBSOCKET_SCENARIOS = {
  async "echo: text, bytes of every kind, close with a code"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    ws.binaryType = "arraybuffer";
    record(ws, log);
    await opened(ws);
    ws.send("héllo 😀");
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send(new Uint16Array([0x0102, 0x0304]).buffer);
    ws.send(new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
    ws.send(new Float32Array(0));
    ws.send("");
    await messages(ws, 6);
    ws.close(1000, "done");
    log.push(["after close()", ws.readyState]);
    await closed(ws, log);
    return log;
  },

  async "binaryType blob (the default): a Blob per binary message, in order"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    log.push(["binaryType", ws.binaryType]);
    record(ws, log);
    await opened(ws);
    ws.send(new Uint8Array([65, 66]));
    ws.send("t");
    ws.send(new Uint8Array([]));
    const got = await messages(ws, 3);
    for (const d of got) {
      if (typeof Blob === "function" && d instanceof Blob) log.push(["blob", d.size, d.type, await d.text()]);
    }
    ws.close();
    await closed(ws, log);
    return log;
  },

  async "binaryType: only blob and arraybuffer are taken"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/hold`);
    for (const v of ["arraybuffer", "nodebuffer", "blob", "ARRAYBUFFER", "fragments"]) {
      ws.binaryType = v;
      log.push([v, ws.binaryType]);
    }
    ws.close();
    await closed(ws, log);
    return log;
  },

  async "send(Blob): messages keep the order of the calls while Blobs are read"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    ws.binaryType = "arraybuffer";
    await opened(ws);
    const big = new Uint8Array(200_000).fill(7);
    ws.send(new Blob([big]));
    ws.send("after the big blob");
    ws.send(new Blob(["small ", "blob"]));
    const bytes = new Uint8Array([1, 2, 3]);
    ws.send(bytes);
    bytes[0] = 99; // sent as it was at the call
    ws.send(new Blob([]));
    const got = await messages(ws, 5);
    for (const d of got) log.push(d instanceof ArrayBuffer && d.byteLength > 16 ? ["ArrayBuffer of", d.byteLength] : describeData(d));
    ws.close();
    await closed(ws, log);
    return log;
  },

  async "close() from a message handler: the messages behind it are dropped"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/burst`);
    record(ws, log);
    ws.onmessage = () => ws.close();
    await closed(ws, log);
    return log;
  },

  async "the server closes with a code and reason"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/close?code=4000&reason=${encodeURIComponent("bye ✓")}`);
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "the server closes with an empty close frame: 1005"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/close-empty`);
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "messages then the server's close: every message, then close"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/msgs-close`);
    ws.binaryType = "arraybuffer";
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "the server drops TCP without a close frame: close 1006, no error"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/drop`);
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "invalid UTF-8 from the server: the message before it, error, close 1006"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/bad-utf8`);
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "close() while CONNECTING: error, then close 1006"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    record(ws, log);
    ws.close(4000, "never mind");
    log.push(["after close()", ws.readyState]);
    attempt(log, "send while CLOSING", () => ws.send("x"));
    log.push(["bufferedAmount", ws.bufferedAmount]);
    await closed(ws, log);
    return log;
  },

  async "send() while CONNECTING throws InvalidStateError"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/hold`);
    attempt(log, "send", () => ws.send("too early"));
    log.push(["bufferedAmount", ws.bufferedAmount]);
    await opened(ws);
    ws.close();
    await closed(ws, log);
    return log;
  },

  async "a 403 answer: error, then close 1006"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/reject`);
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "connection refused: error, then close 1006"({ WebSocket, closedUrl }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(closedUrl);
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "subprotocols: the server's choice; none chosen fails the connection"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/hold`, ["chat.v1", "chat.v2"]);
    record(ws, log);
    await opened(ws);
    log.push(["protocol", ws.protocol]);
    ws.close();
    await closed(ws, log);
    const one = new WebSocket(`${base}/hold`, "chat.v1");
    await opened(one);
    log.push(["one protocol", one.protocol]);
    one.close();
    await closed(one, log);
    const none = new WebSocket(`${base}/hold`, ["nope"]);
    record(none, log);
    await closed(none, log);
    return log;
  },

  async "close(): the codes and reasons the API may send"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    await opened(ws);
    for (const code of [999, 1001, 1005, 1006, 2999, 5000, -1, NaN, 65536 + 1000]) attempt(log, `close(${code})`, () => ws.close(code));
    attempt(log, "close(1000, 124 bytes)", () => ws.close(1000, "x".repeat(124)));
    attempt(log, "close(1000, 62 two-byte characters)", () => ws.close(1000, "é".repeat(62)));
    attempt(log, "close(1001, too long): the code is checked first", () => ws.close(1001, "x".repeat(200)));
    log.push(["still", ws.readyState]);
    attempt(log, "close(4000.5, 123 bytes)", () => ws.close(4000.5, "é".repeat(61) + "x"));
    attempt(log, "close() again", () => ws.close(1001));
    record(ws, log);
    await closed(ws, log);
    return log;
  },

  async "close with a reason and no code: 1000"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    record(ws, log);
    await opened(ws);
    ws.close(undefined, "only a reason");
    await closed(ws, log);
    const bare = new WebSocket(`${base}/echo`);
    record(bare, log);
    await opened(bare);
    bare.close();
    await closed(bare, log);
    return log;
  },

  async "bufferedAmount: bytes of UTF-8 and binary, growing after close without sending"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    await opened(ws);
    log.push(["open", ws.bufferedAmount]);
    ws.send("héllo");
    log.push(["text", ws.bufferedAmount]);
    ws.send(new Uint8Array(10));
    ws.send(new ArrayBuffer(3));
    ws.send(new Blob(["abcd"]));
    log.push(["binary", ws.bufferedAmount]);
    await messages(ws, 4);
    log.push(["echoed", ws.bufferedAmount]);
    ws.close();
    ws.send("12345");
    ws.send(new Uint8Array(7));
    log.push(["after close()", ws.bufferedAmount, ws.readyState]);
    await closed(ws, log);
    log.push(["closed", ws.bufferedAmount]);
    ws.send("x");
    log.push(["send when CLOSED", ws.bufferedAmount, ws.readyState]);
    return log;
  },

  async "on… attributes: one handler each, replaced in place, removed by null"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    /** @type {any} */
    let self = null;
    ws.addEventListener("message", () => log.push("listener 1"));
    ws.onmessage = function () {
      self = this;
      log.push("handler A");
    };
    ws.addEventListener("message", () => log.push("listener 2"));
    await opened(ws);
    ws.send("1");
    await messages(ws, 1);
    // Replaced: same place in the order.
    ws.onmessage = () => log.push("handler B");
    ws.send("2");
    await messages(ws, 1);
    // Removed, then set again: registered last.
    ws.onmessage = null;
    log.push(["after null", ws.onmessage]);
    ws.onmessage = () => log.push("handler C");
    ws.send("3");
    await messages(ws, 1);
    log.push(["this is the socket", self === ws]);
    // Not an object: null. An object that cannot be called: kept, does nothing.
    ws.onmessage = /** @type {any} */ ("not a function");
    log.push(["string", ws.onmessage]);
    const obj = { handleEvent: () => log.push("handleEvent called") };
    ws.onmessage = /** @type {any} */ (obj);
    log.push(["object kept", ws.onmessage === obj]);
    ws.send("4");
    await messages(ws, 1);
    log.push(["defaults", ws.onopen, ws.onerror, ws.onclose]);
    ws.onclose = (/** @type {any} */ e) => log.push(["onclose", e.code]);
    ws.close(3001);
    await closed(ws, log);
    return log;
  },

  async "readyState, the constants and the attributes"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    log.push(["static", WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]);
    const ws = new WebSocket(`${base.replace("ws:", "http:")}/echo?x=1`);
    log.push(["instance", ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED]);
    log.push(["own constant", Object.prototype.hasOwnProperty.call(ws, "OPEN"), "OPEN" in WebSocket.prototype]);
    try {
      /** @type {any} */ (WebSocket).OPEN = 7;
    } catch {
      // strict mode: a read-only property throws
    }
    log.push(["still 1", WebSocket.OPEN]);
    log.push(["url", ws.url.replace(/:\d+\//, ":PORT/")]);
    log.push(["connecting", ws.readyState, ws.protocol, ws.extensions, ws.bufferedAmount, ws.binaryType]);
    log.push(["toString", Object.prototype.toString.call(ws)]);
    await opened(ws);
    log.push(["open", ws.readyState, ws.protocol, ws.extensions.startsWith("permessage-deflate")]);
    ws.close();
    log.push(["closing", ws.readyState]);
    await closed(ws, log);
    log.push(["closed", ws.readyState]);
    return log;
  },

  async "URLs: http(s) become ws(s); fragments and other schemes are SyntaxErrors"({ WebSocket }) {
    const log = /** @type {Log} */ ([]);
    for (const url of [
      "http://127.0.0.1:9/a?b=c",
      "https://127.0.0.1:9/",
      "HTTP://LocalHost:80/x",
      "wss://127.0.0.1:443/",
      "ws://127.0.0.1:9/#",
      "ws://127.0.0.1:9/#frag",
      "ftp://127.0.0.1/",
      "file:///tmp/x",
      "mailto:someone@127.0.0.1",
      "not a url",
      "ws://[::1]:9/ipv6",
      "ws://127.0.0.1:9/a b?c d",
    ]) {
      attempt(log, url, () => {
        const ws = new WebSocket(url);
        const u = ws.url;
        ws.close();
        return u;
      });
    }
    return log;
  },

  async "protocols: tokens only, each once"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    /** @type {unknown[]} */
    const cases = [["a", "a"], ["a", "A"], ["a b"], [""], ["é"], "x,y", ["{x}"], ['"q"'], ["ok"], "single", [], null, 42];
    for (const p of cases) {
      attempt(log, JSON.stringify(p), () => {
        const ws = new WebSocket(`${base}/hold`, p);
        ws.close();
      });
    }
    return log;
  },

  async "message events: data, origin and the rest of MessageEvent"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    await opened(ws);
    ws.send("x");
    const event = await new Promise((resolve) => ws.addEventListener("message", resolve, { once: true }));
    const e = /** @type {any} */ (event);
    log.push([e.type, e.data, e.origin.replace(/:\d+$/, ":PORT"), e.lastEventId, e.source, e.ports.length, e instanceof MessageEvent, e.bubbles, e.cancelable]);
    ws.close();
    await closed(ws, log);
    return log;
  },

  async "a ping from the server is answered without an event"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/ping`);
    record(ws, log);
    await messages(ws, 1);
    ws.close();
    await closed(ws, log);
    return log;
  },

  async "many messages, in order"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/count?n=300`);
    const got = await messages(ws, 300);
    log.push(["in order", got.every((d, i) => d === String(i)), got.length]);
    ws.close();
    await closed(ws, log);
    return log;
  },

  async "sends from close and error handlers do not throw"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/drop`);
    ws.onclose = () => attempt(log, "send in onclose", () => ws.send("late"));
    await closed(ws, log);
    attempt(log, "close after close", () => ws.close(1000, "again"));
    log.push(["state", ws.readyState]);
    return log;
  },

  async "send() converts other values to text, as Web IDL does"({ WebSocket, base }) {
    const log = /** @type {Log} */ ([]);
    const ws = new WebSocket(`${base}/echo`);
    await opened(ws);
    for (const v of [42, null, undefined, true, { toString: () => "custom" }, ["a", "b"]]) ws.send(/** @type {any} */ (v));
    const got = await messages(ws, 6);
    log.push(got);
    ws.close();
    await closed(ws, log);
    return log;
  },
};
