// @ts-check
/**
 * Scenarios for the standard clients, written once as browser code and run
 * unchanged by every engine: Chromium's page (which imports this file from
 * the scenario server), wavesock's `WebSocket` / `WebSocketStream` in the
 * test process, and Node's built-in client (undici) in a child process.
 * Each scenario gets the engine's classes and the server's base URL and
 * returns a log of what it saw — events in order, with the state and the
 * values a program would read — that the tests compare across engines.
 * Nothing in a log depends on timing or on the engine's port: a scenario
 * waits for events, never for a delay, to decide what happened.
 */

/**
 * @typedef {{
 *   WebSocket: any,
 *   WebSocketStream?: any,
 *   WebSocketError?: any,
 *   base: string,
 *   closedUrl: string,
 * }} Ctx
 * @typedef {unknown[]} Log
 */

const STEP_MS = 6000;

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {unknown} data */
function describeData(data) {
  if (typeof data === "string") return ["text", data];
  if (data instanceof ArrayBuffer) return ["ArrayBuffer", Array.from(new Uint8Array(data))];
  if (typeof Blob === "function" && data instanceof Blob) return ["Blob", data.size];
  if (ArrayBuffer.isView(data)) return ["view", Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))];
  return ["other", typeof data];
}

/** @param {unknown} e */
function errorOf(e) {
  const err = /** @type {any} */ (e);
  if (err === null || typeof err !== "object") return { thrown: typeof err, value: String(err) };
  const out = /** @type {Record<string, unknown>} */ ({ name: err.name, dom: err instanceof DOMException });
  if ("closeCode" in err) out.closeCode = err.closeCode;
  if ("reason" in err && typeof err.reason === "string") out.reason = err.reason;
  return out;
}

/**
 * Log every event of `ws` as [type, readyState, details...].
 * @param {any} ws @param {Log} log
 */
function record(ws, log) {
  ws.addEventListener("open", () => log.push(["open", ws.readyState, ws.protocol]));
  ws.addEventListener("message", (/** @type {any} */ e) => log.push(["message", ws.readyState, ...describeData(e.data)]));
  ws.addEventListener("error", (/** @type {any} */ e) => log.push(["error", ws.readyState, e.type]));
  ws.addEventListener("close", (/** @type {any} */ e) => log.push(["close", ws.readyState, e.code, e.reason, e.wasClean]));
}

/**
 * Resolves once `ws` fired close (or after STEP_MS, logged as a timeout).
 * @param {any} ws @param {Log} log
 */
function closed(ws, log) {
  return new Promise((resolve) => {
    if (ws.readyState === 3) return resolve(undefined);
    const timer = setTimeout(() => {
      log.push("TIMEOUT waiting for close");
      resolve(undefined);
    }, STEP_MS);
    ws.addEventListener("close", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * Resolves with the next `count` message events' data.
 * @param {any} ws @param {number} count
 * @returns {Promise<unknown[]>}
 */
function messages(ws, count) {
  return new Promise((resolve) => {
    const got = /** @type {unknown[]} */ ([]);
    const timer = setTimeout(() => resolve([...got, "TIMEOUT"]), STEP_MS);
    const on = (/** @type {any} */ e) => {
      got.push(e.data);
      if (got.length === count) {
        clearTimeout(timer);
        ws.removeEventListener("message", on);
        resolve(got);
      }
    };
    ws.addEventListener("message", on);
  });
}

/**
 * Resolves once `ws` is open (or closed without opening).
 * @param {any} ws
 */
function opened(ws) {
  return new Promise((resolve) => {
    ws.addEventListener("open", () => resolve(true));
    ws.addEventListener("close", () => resolve(false));
  });
}

/**
 * Run `fn`, logging [label, "ok", result] or [label, error].
 * @param {Log} log @param {string} label @param {() => unknown} fn
 */
function attempt(log, label, fn) {
  try {
    const r = fn();
    log.push([label, "ok", r === undefined ? null : r]);
  } catch (e) {
    log.push([label, errorOf(e)]);
  }
}

/**
 * Settle `promise`, as ["resolved", value] or ["rejected", error].
 * @param {Promise<unknown>} promise
 */
async function settle(promise) {
  const timeout = new Promise((r) => setTimeout(() => r(["TIMEOUT"]), STEP_MS));
  return Promise.race([promise.then((v) => ["resolved", v], (e) => ["rejected", errorOf(e)]), timeout]);
}

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

/** @type {Record<string, (ctx: Ctx) => Promise<Log>>} */
export const STREAM_SCENARIOS = {
  async "WebSocketStream: echo, opened's members, close with a code"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const wss = new WebSocketStream(`${base}/echo`, { protocols: ["chat.v1"] });
    log.push(["url", wss.url.replace(/:\d+\//, ":PORT/")]);
    const info = await wss.opened;
    log.push(["opened", Object.keys(info).sort(), info.protocol, info.extensions.startsWith("permessage-deflate"), info.readable instanceof ReadableStream, info.writable instanceof WritableStream]);
    const writer = info.writable.getWriter();
    const reader = info.readable.getReader();
    log.push(["desiredSize", writer.desiredSize]);
    await writer.write("hi");
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.write(new Uint8Array([9, 8, 7, 6]).buffer);
    await writer.write(new DataView(new Uint8Array([5, 4, 3]).buffer, 1));
    await writer.write(/** @type {any} */ (42));
    for (let i = 0; i < 5; i++) {
      const { value } = await reader.read();
      log.push(describeData(value));
    }
    wss.close({ closeCode: 4000, reason: "bye" });
    log.push(["closed", await settle(wss.closed)]);
    log.push(["read after", await settle(reader.read())]);
    log.push(["write after", await settle(writer.write("x"))]);
    return log;
  },

  async "WebSocketStream: the server closes; messages, then done"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const wss = new WebSocketStream(`${base}/msgs-close`);
    const { readable, writable } = await wss.opened;
    const reader = readable.getReader();
    for (;;) {
      const r = await settle(reader.read());
      const v = /** @type {any} */ (r[1]);
      log.push(r[0] === "resolved" ? (v.done ? "done" : describeData(v.value)) : r);
      if (r[0] !== "resolved" || v.done) break;
    }
    log.push(["closed", await settle(wss.closed)]);
    log.push(["write after", await settle(writable.getWriter().write("x"))]);
    return log;
  },

  async "WebSocketStream: a dropped connection errors the streams and rejects closed"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const wss = new WebSocketStream(`${base}/drop`);
    const { readable, writable } = await wss.opened;
    log.push(["read", await settle(readable.getReader().read())]);
    log.push(["closed", await settle(wss.closed)]);
    log.push(["write", await settle(writable.getWriter().write("x"))]);
    return log;
  },

  async "WebSocketStream: invalid UTF-8 fails the connection"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const wss = new WebSocketStream(`${base}/bad-utf8`);
    const { readable } = await wss.opened;
    const reader = readable.getReader();
    log.push(["first", await settle(reader.read())]);
    log.push(["second", await settle(reader.read())]);
    log.push(["closed", await settle(wss.closed)]);
    return log;
  },

  async "WebSocketStream: a 403 rejects opened and closed"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const wss = new WebSocketStream(`${base}/reject`);
    log.push(["opened", await settle(wss.opened)]);
    log.push(["closed", await settle(wss.closed)]);
    return log;
  },

  async "WebSocketStream: close() while connecting"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const wss = new WebSocketStream(`${base}/echo`);
    wss.close({ closeCode: 4000 });
    log.push(["opened", await settle(wss.opened)]);
    log.push(["closed", await settle(wss.closed)]);
    return log;
  },

  async "WebSocketStream: signal aborts the handshake, not an open connection"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const ac = new AbortController();
    const wss = new WebSocketStream(`${base}/hold`, { signal: ac.signal });
    ac.abort();
    log.push(["opened", await settle(wss.opened)]);
    log.push(["closed", await settle(wss.closed)]);
    const pre = new WebSocketStream(`${base}/hold`, { signal: AbortSignal.abort("why") });
    log.push(["pre-aborted opened", await settle(pre.opened)]);
    log.push(["pre-aborted closed", await settle(pre.closed)]);
    const later = new AbortController();
    const open = new WebSocketStream(`${base}/echo`, { signal: later.signal });
    const { readable, writable } = await open.opened;
    later.abort();
    const writer = writable.getWriter();
    await writer.write("still open");
    log.push(["echo", await settle(readable.getReader().read())]);
    open.close();
    log.push(["closed", await settle(open.closed)]);
    return log;
  },

  async "WebSocketStream: cancel, abort and close of the streams close the connection"({ WebSocketStream, WebSocketError, base }) {
    const log = /** @type {Log} */ ([]);
    const a = new WebSocketStream(`${base}/echo`);
    const ai = await a.opened;
    await ai.readable.cancel(new WebSocketError("", { closeCode: 4321, reason: "cancelled" }));
    log.push(["cancel with a WebSocketError", await settle(a.closed)]);
    const b = new WebSocketStream(`${base}/echo`);
    const bi = await b.opened;
    await bi.writable.abort(new WebSocketError("", { closeCode: 4322, reason: "aborted" }));
    log.push(["abort with a WebSocketError", await settle(b.closed)]);
    const c = new WebSocketStream(`${base}/echo`);
    const ci = await c.opened;
    await ci.writable.close();
    log.push(["writer close", await settle(c.closed)]);
    log.push(["read after", await settle(ci.readable.getReader().read())]);
    const d = new WebSocketStream(`${base}/echo`);
    const di = await d.opened;
    await di.readable.cancel(/** @type {any} */ ({ closeCode: 3456, reason: "plain object" }));
    log.push(["cancel with another reason", await settle(d.closed)]);
    return log;
  },

  async "WebSocketStream: close() arguments"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    const wss = new WebSocketStream(`${base}/echo`);
    await wss.opened;
    for (const info of [{ closeCode: 1001 }, { closeCode: 999 }, { closeCode: 5000 }, { reason: "x".repeat(124) }, true, 7]) {
      attempt(log, JSON.stringify(info), () => wss.close(/** @type {any} */ (info)));
    }
    attempt(log, "{ reason } alone", () => wss.close({ reason: "only a reason" }));
    log.push(["closed", await settle(wss.closed)]);
    const empty = new WebSocketStream(`${base}/echo`);
    await empty.opened;
    empty.close({});
    log.push(["empty", await settle(empty.closed)]);
    return log;
  },

  async "WebSocketStream: URLs and protocols"({ WebSocketStream, base }) {
    const log = /** @type {Log} */ ([]);
    for (const url of ["ftp://x/", "ws://x/#f", "relative", "http://127.0.0.1:9/x"]) {
      attempt(log, url, () => {
        const wss = new WebSocketStream(url);
        wss.close();
        wss.opened.catch(() => undefined);
        wss.closed.catch(() => undefined);
        return wss.url;
      });
    }
    for (const protocols of [["a", "a"], ["a b"], ["ok", "fine"]]) {
      attempt(log, JSON.stringify(protocols), () => {
        const wss = new WebSocketStream(`${base}/hold`, { protocols });
        wss.close();
        wss.opened.catch(() => undefined);
        wss.closed.catch(() => undefined);
      });
    }
    return log;
  },

  async "WebSocketError: a DOMException with closeCode and reason"({ WebSocketError }) {
    const log = /** @type {Log} */ ([]);
    const e = new WebSocketError("message", { closeCode: 4000, reason: "r" });
    log.push([e.name, e.message, e.closeCode, e.reason, e.code, e instanceof DOMException, e instanceof Error]);
    for (const init of [undefined, {}, { reason: "x" }, { closeCode: 1000 }, { closeCode: 1001 }, { closeCode: 999 }, { reason: "x".repeat(124) }, { closeCode: 3000, reason: "" }]) {
      attempt(log, JSON.stringify(init) ?? "undefined", () => {
        const err = new WebSocketError(undefined, init);
        return [err.message, err.closeCode, err.reason];
      });
    }
    return log;
  },
};

/**
 * Run the scenario `name` with an engine's classes.
 * @param {string} name @param {Ctx} ctx
 * @returns {Promise<Log>}
 */
export function run(name, ctx) {
  const scenario = WEBSOCKET_SCENARIOS[name] ?? STREAM_SCENARIOS[name];
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  return scenario(ctx);
}

export { sleep };
