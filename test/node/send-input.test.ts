/**
 * What send / ping / pong / close / connect accept, checked at a real `ws`
 * peer: every kind of bytes arrives as the bytes of its view with the binary
 * opcode, strings as text, Blobs in order, iterables as one message; anything
 * else is a TypeError (or RangeError) naming what was given — and the
 * connection goes on.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket as WsSocket } from "ws";
import { InvalidURI, connect, type Connection } from "../../src/index.js";
import { until } from "./helpers.js";

interface Received {
  data: Buffer;
  binary: boolean;
}

let wss: WebSocketServer;
let port: number;
let peer: WsSocket;
let messages: Received[];
let pings: Buffer[];
let pongs: Buffer[];
let closes: { code: number; reason: string }[];
let ws: Connection;

beforeEach(async () => {
  // Locals: a previous test's peer may still report its close after this test began.
  const [m, pi, po, cl] = [[] as Received[], [] as Buffer[], [] as Buffer[], [] as { code: number; reason: string }[]];
  [messages, pings, pongs, closes] = [m, pi, po, cl];
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  port = (wss.address() as { port: number }).port;
  const connected = new Promise<WsSocket>((r) => wss.once("connection", r));
  ws = await connect(`ws://127.0.0.1:${port}`, { compression: null });
  peer = await connected;
  peer.on("message", (data, binary) => m.push({ data: Buffer.from(data as Buffer), binary }));
  peer.on("ping", (d) => pi.push(Buffer.from(d)));
  peer.on("pong", (d) => po.push(Buffer.from(d)));
  peer.on("close", (code, reason) => cl.push({ code, reason: reason.toString() }));
});

afterEach(async () => {
  await ws.close().catch(() => undefined);
  await new Promise((r) => wss.close(r));
});

const hex = (b: Buffer) => b.toString("hex");

describe("send(): every kind of bytes is its view's bytes, binary", () => {
  it("Buffer, Uint8Array views, other typed arrays, DataView, ArrayBuffer, SharedArrayBuffer", async () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const sab = new SharedArrayBuffer(3);
    new Uint8Array(sab).set([7, 8, 9]);
    const inputs: [unknown, string][] = [
      [Buffer.from([0xde, 0xad]), "dead"],
      [backing.subarray(2, 5), "010203"],
      [new Int16Array([1, -2]), "0100feff"],
      [new Uint16Array([0xbeef]), "efbe"],
      [new Float64Array([1]), "000000000000f03f"],
      [new BigInt64Array([-1n]), "ffffffffffffffff"],
      [new Int32Array(new Int32Array([1, 2, 3]).buffer, 4, 1), "02000000"],
      [new DataView(backing.buffer, 1, 3), "090102"],
      [backing.buffer.slice(0, 2), "0909"],
      [sab, "070809"],
      [new Uint8Array(0), ""],
    ];
    for (const [input] of inputs) await ws.send(input as never);
    await until(() => messages.length === inputs.length);
    expect(messages.map((m) => hex(m.data))).toEqual(inputs.map(([, h]) => h));
    expect(messages.every((m) => m.binary)).toBe(true);
  });

  it("strings are text (UTF-8)", async () => {
    await ws.send("héllo ✓");
    await until(() => messages.length === 1);
    expect(messages[0]!.binary).toBe(false);
    expect(messages[0]!.data.toString("utf8")).toBe("héllo ✓");
  });

  it("a Blob is sent as binary once read, in order with the sends around it", async () => {
    const blob = new Blob([new Uint8Array([1, 2]), "ab"]);
    const sends = [ws.send("before"), ws.send(blob), ws.send("after"), ws.send(new Blob(["text in a blob"]))];
    await Promise.all(sends);
    await until(() => messages.length === 4);
    expect(messages.map((m) => [m.binary, m.binary ? hex(m.data) : m.data.toString()])).toEqual([
      [false, "before"],
      [true, "01026162"],
      [false, "after"],
      [true, Buffer.from("text in a blob").toString("hex")],
    ]);
  });

  it("iterables and async iterables of strings, bytes and Blobs are one fragmented message", async () => {
    await ws.send(["fr", "ag", "ment"]);
    await ws.send(new Set([new Int16Array([1]), new DataView(new Uint8Array([5, 6]).buffer), new Blob([new Uint8Array([7])])]));
    async function* parts() {
      yield new Uint8Array([1]).buffer;
      yield new Uint16Array([0x0302]);
    }
    await ws.send(parts());
    await until(() => messages.length === 3);
    expect(messages[0]).toEqual({ data: Buffer.from("fragment"), binary: false });
    expect(hex(messages[1]!.data)).toBe("0100050607");
    expect(messages[1]!.binary).toBe(true);
    expect(hex(messages[2]!.data)).toBe("010203");
  });
});

describe("send(): anything else is a TypeError naming the type; the connection goes on", () => {
  const bad: [string, unknown, string][] = [
    ["undefined", undefined, "got undefined"],
    ["null", null, "got null"],
    ["{}", {}, "got an empty object {}"],
    ["an object", { data: "x" }, "got an object {data}"],
    ["a number", 42, "got 42"],
    ["a boolean", true, "got true"],
    ["a symbol", Symbol("s"), "got a symbol"],
    ["a bigint", 5n, "got the bigint 5n"],
    ["a function", () => 1, "a function"],
    ["a Date", new Date(0), "got a Date"],
    ["an array of numbers", [1, 2, 3], "fragment 0 must be a string, bytes or a Blob; got 1"],
    ["a Map", new Map([["a", "b"]]), "fragment 0"],
  ];
  for (const [what, value, fragment] of bad) {
    it(what, async () => {
      const err = await ws.send(value as never).catch((e: unknown) => e as Error & { code?: string });
      expect(err).toBeInstanceOf(TypeError);
      expect((err as { code?: string }).code).toBe("WS_ERR_INVALID_ARGUMENT");
      expect((err as Error).message).toContain(fragment);
      expect((err as Error).message).not.toMatch(/Cannot use 'in'|is not iterable|NaN/);
      await ws.send("still fine");
      await until(() => messages.length === 1);
      expect(messages[0]!.data.toString()).toBe("still fine");
      expect(ws.state).toBe("open");
    });
  }
});

describe("ping() and pong() payloads", () => {
  it("strings and any bytes arrive as sent", async () => {
    const rtt = await ws.ping(new Int16Array([1, 2]));
    expect(rtt).toBeGreaterThanOrEqual(0);
    await ws.ping("héllo");
    await ws.pong(new DataView(new Uint8Array([0, 0xab, 0xcd]).buffer, 1));
    await ws.pong(new Uint8Array(125).buffer);
    await until(() => pings.length === 2 && pongs.length === 2);
    expect(pings.map(hex)).toEqual(["01000200", Buffer.from("héllo").toString("hex")]);
    expect(hex(pongs[0]!)).toBe("abcd");
    expect(pongs[1]!.length).toBe(125);
  });

  it("over 125 bytes is a RangeError; other types a TypeError", async () => {
    await expect(ws.ping("x".repeat(126))).rejects.toThrow(RangeError);
    await expect(ws.ping(new Uint8Array(200))).rejects.toThrow(/200 bytes; a ping carries at most 125/);
    await expect(ws.pong("é".repeat(63))).rejects.toThrow(/126 bytes; a pong carries at most 125/);
    await expect(ws.ping({} as never)).rejects.toThrow(TypeError);
    await expect(ws.pong(7 as never)).rejects.toThrow(/pong\(data\): data must be a string or bytes/);
    expect(await ws.ping()).toBeGreaterThanOrEqual(0);
  });
});

describe("close(code, reason) arguments", () => {
  const bad: [unknown[], typeof TypeError | typeof RangeError, string][] = [
    [["1000"], TypeError, 'got the string "1000" (write 1000, a number)'],
    [[null], TypeError, "code must be a number"],
    [[1005], RangeError, "close code 1005 may not be sent; use 1000–1003, 1007–1014"],
    [[1006], RangeError, "3000–4999"],
    [[1004], RangeError, "1004"],
    [[1015], RangeError, "1015"],
    [[999], RangeError, "999"],
    [[2000], RangeError, "2000"],
    [[5000], RangeError, "5000"],
    [[1000.5], RangeError, "1000.5"],
    [[1000, 5], TypeError, "reason must be a string"],
    [[1000, "x".repeat(124)], RangeError, "reason is 124 bytes of UTF-8; at most 123"],
    [[1000, "é".repeat(62)], RangeError, "reason is 124 bytes"],
  ];
  for (const [args, type, fragment] of bad) {
    it(`close(${args.map((a) => JSON.stringify(a)).join(", ")})`, async () => {
      const err = await (ws.close as (...a: unknown[]) => Promise<void>)(...args).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toContain(fragment);
      expect(ws.state).toBe("open");
    });
  }

  it("allowed codes and a 123-byte reason go out as given", async () => {
    const reason = "é".repeat(61) + "x";
    await ws.close(4000, reason);
    await until(() => closes.length === 1);
    expect(closes[0]).toEqual({ code: 4000, reason });
  });
});

describe("connect() arguments", () => {
  it("takes a URL object", async () => {
    const url = new URL(`ws://127.0.0.1:${port}/from-url?q=1`);
    const other = await connect(url);
    expect(other.request.path).toBe("/from-url?q=1");
    await other.close();
  });

  it("refuses anything else than a string or a URL with a TypeError", async () => {
    for (const uri of [undefined, 42, {}, { href: "ws://x" }, null]) {
      const err = (await connect(uri as never).catch((e: unknown) => e)) as Error & { code?: string };
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code).toBe("WS_ERR_INVALID_ARGUMENT");
      expect(err.message).toContain("uri must be a string or a URL");
      expect(err.message).not.toContain("is not a function");
    }
    await expect(connect(new URL("http://127.0.0.1/"))).rejects.toBeInstanceOf(InvalidURI);
  });
});
