/**
 * Code written for Node 22's global WebSocket — `new WebSocket(url)`,
 * `onopen`, `onmessage`, `binaryType`, `onclose` — run with wavesock's class
 * against Python `websockets` 10.4 servers (test/interop/python/server.py),
 * over loopback: what Python saw is checked too.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, type CloseEvent } from "../../src/index.js";
import { JsonLinesChild, multiByteText, patternBytes, patternText, runs, withTimeout } from "../interop/collect.js";

const PYTHON = "/usr/bin/python3";
const SERVERS = join(dirname(fileURLToPath(import.meta.url)), "../interop/python/server.py");
const hasWebsockets = runs(PYTHON, ["-c", "import websockets"]);
const SKIPPED = hasWebsockets ? "" : " — SKIPPED: `/usr/bin/python3 -c 'import websockets'` failed (install python3-websockets)";

type Line = Record<string, unknown>;

let py: JsonLinesChild;
let ports: Record<string, number>;
let seq = 0;

beforeAll(async () => {
  if (!hasWebsockets) return;
  py = JsonLinesChild.spawn(PYTHON, [SERVERS], { PYTHONDONTWRITEBYTECODE: "1" });
  const listening = await py.waitFor((l) => l.event === "listening", "the Python servers to listen", 15_000);
  ports = listening.ports as Record<string, number>;
});
afterAll(() => py?.stop());

/** A fresh path per connection (Python's open/closed lines are keyed by it). */
const path = (query = "") => `/w${++seq}${query ? `?${query}` : ""}`;
const url = (server: string, p: string) => `ws://127.0.0.1:${ports[server]}${p}`;
const closedOn = (p: string) => py.waitFor((l) => l.event === "closed" && l.path === p, `Python to see ${p} closed`);
const openedOn = (p: string) => py.waitFor((l) => l.event === "open" && l.path === p, `Python to see ${p} open`);

/** What the typical browser-style client below collects. */
interface Session {
  ws: WebSocket;
  received: unknown[];
  events: string[];
  /** The next `n` messages. */
  next(n?: number): Promise<unknown[]>;
  closed: Promise<CloseEvent>;
}

/** The client as Node 22 code writes it: handlers, no promises. */
function session(address: string, protocols?: string | string[]): Session {
  const ws = new WebSocket(address, protocols, { pingInterval: null });
  ws.binaryType = "arraybuffer";
  const received: unknown[] = [];
  const events: string[] = [];
  let wake: (() => void) | null = null;
  ws.onopen = () => events.push("open");
  ws.onmessage = (event) => {
    received.push(event.data);
    wake?.();
  };
  ws.onerror = (event) => events.push(`error: ${event.message}`);
  const closed = new Promise<CloseEvent>((resolve) => {
    ws.onclose = (event) => {
      events.push(`close ${event.code}`);
      resolve(event);
    };
  });
  let taken = 0;
  const next = async (n = 1) => {
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => {
          if (received.length >= taken + n) {
            wake = null;
            resolve();
          }
        };
        wake = check;
        check();
      }),
      `${n} message(s)`,
    );
    const out = received.slice(taken, taken + n);
    taken += n;
    return out;
  };
  return { ws, received, events, next, closed: withTimeout(closed, "the close event") };
}

function bytesOf(data: unknown): Buffer {
  expect(data).toBeInstanceOf(ArrayBuffer);
  return Buffer.from(data as ArrayBuffer);
}

const opened = (s: Session) => withTimeout(new Promise((r) => s.ws.addEventListener("open", r, { once: true })), "open");

describe.skipIf(!hasWebsockets)(`Node 22-style WebSocket code against Python websockets servers${SKIPPED}`, () => {
  it("negotiates the subprotocol and permessage-deflate, echoes text and binary of every size up to 1 MiB, closes cleanly", async () => {
    const p = path();
    const s = session(url("deflate", p), ["chat.v1"]);
    await opened(s);
    const open = (await openedOn(p)) as Line;
    expect(s.ws.protocol).toBe("chat.v1");
    expect(open.subprotocol).toBe("chat.v1");
    expect(s.ws.extensions).toMatch(/^permessage-deflate/);
    expect((open.extensions as Line[]).map((e) => e.name)).toEqual(["permessage-deflate"]);
    for (const n of [0, 1, 125, 126, 65535, 65536, 1024 * 1024]) {
      const text = patternText(n);
      s.ws.send(text);
      expect((await s.next())[0]).toBe(text);
      const bytes = patternBytes(n);
      s.ws.send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n));
      expect(bytesOf((await s.next())[0]).equals(bytes)).toBe(true);
    }
    s.ws.send(new Blob(["a ", "blob"]));
    s.ws.send(new Uint16Array([1, 2]));
    const [blob, view] = await s.next(2);
    expect(Buffer.from(blob as ArrayBuffer).toString()).toBe("a blob");
    expect([...Buffer.from(view as ArrayBuffer)]).toEqual([1, 0, 2, 0]);
    s.ws.close(1000, "bye");
    const event = await s.closed;
    expect([event.code, event.reason, event.wasClean]).toEqual([1000, "bye", true]);
    expect(s.events).toEqual(["open", "close 1000"]);
    expect(await closedOn(p)).toMatchObject({ code: 1000, reason: "bye" });
  });

  it("no compression when the server has none: extensions is empty", async () => {
    const p = path();
    const s = session(url("plain", p));
    await opened(s);
    expect(s.ws.extensions).toBe("");
    expect(s.ws.protocol).toBe("");
    s.ws.send("x");
    expect(await s.next()).toEqual(["x"]);
    s.ws.close();
    // An empty close frame: Python sees no code (1005).
    expect((await s.closed).code).toBe(1005);
    expect((await closedOn(p)).code).toBe(1005);
  });

  it("fragmented messages from Python arrive whole; multi-byte text crosses both ways", async () => {
    const p = path("fragments=1");
    const s = session(url("deflate", p));
    const [a, b, c, d] = await s.next(4);
    expect(a).toBe("fragment");
    expect([...bytesOf(b)]).toEqual([1, 2, 3]);
    expect(c).toBe("é€𝄞");
    expect(d).toBe(patternText(300_000));
    for (const text of ["😀 héllo wörld ∑ 日本語", multiByteText(70_000)]) {
      s.ws.send(text);
      expect((await s.next())[0]).toBe(text);
    }
    s.ws.close();
    await s.closed;
  });

  it("the server's close code and reason reach onclose, wasClean", async () => {
    const p = path("close=4001&reason=going%20now");
    const s = session(url("plain", p));
    const event = await s.closed;
    expect([event.code, event.reason, event.wasClean]).toEqual([4001, "going now", true]);
    expect(s.events).toEqual(["open", "close 4001"]);
    expect(s.ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("a ping from Python is answered (no event): Python then sends its message", async () => {
    const p = path("ping=are-you-there");
    const s = session(url("plain", p));
    expect(await s.next()).toEqual(["pong:are-you-there"]);
    s.ws.close();
    await s.closed;
    expect(s.events).toEqual(["open", "close 1005"]);
  });

  it("a message over Python's max_size: Python closes with 1009 and our close event comes", async () => {
    const p = path();
    const s = session(url("small", p));
    await opened(s);
    s.ws.send("x".repeat(2000));
    const event = await s.closed;
    // Python fails the connection (it sends 1009 and closes TCP without
    // waiting for ours: its close_code is 1006).
    expect((await closedOn(p)).code).toBe(1006);
    // It closes TCP with most of our frame unread: its kernel answers with
    // a reset, which may discard its close frame before we read it.
    if (event.code === 1009) expect([event.reason, event.wasClean]).toEqual(["", true]);
    else expect([event.code, event.wasClean]).toEqual([1006, false]);
    expect(s.events.at(-1)).toBe(`close ${event.code}`);
  });

  it("binaryType blob, the default: a Blob per binary message", async () => {
    const p = path("send=300");
    const ws = new WebSocket(url("plain", p), undefined, { pingInterval: null });
    const event = await withTimeout(new Promise<MessageEvent>((resolve) => (ws.onmessage = resolve)), "the message");
    expect(event.data).toBeInstanceOf(Blob);
    const blob = event.data as Blob;
    expect(blob.size).toBe(300);
    expect(Buffer.from(await blob.arrayBuffer()).equals(patternBytes(300))).toBe(true);
    ws.close();
    await withTimeout(new Promise((r) => (ws.onclose = r)), "close");
  });
});
