// @ts-check
/**
 * The WebSocketStream scenarios: browser code, run unchanged by Chromium and
 * by wavesock (see scenarios.js).
 */
import { attempt, describeData, settle } from "./scenario-helpers.js";

/** @typedef {import("./scenario-helpers.js").Ctx} Ctx @typedef {import("./scenario-helpers.js").Log} Log */

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
