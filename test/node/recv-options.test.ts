/**
 * `recv(options)` over real loopback sockets: the type a text and a binary
 * message come as (and the static type that follows the options), the
 * runtime checks of the options, and cancellation with an AbortSignal —
 * which loses no message, even under a race of many cancelled recvs while
 * messages stream in.
 */
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { connect, serve, type Connection, type Data, type RecvOptions } from "../../src/index.js";
import { asBinary, convertMessage } from "../../src/node/recv-options.js";
import { until } from "./helpers.js";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function pair(maxQueue?: number | null) {
  let serverSide: Connection | undefined;
  const server = await serve(
    async (ws) => {
      serverSide = ws;
      await ws.closed;
    },
    { host: "127.0.0.1", pingInterval: null, logger: null, ...(maxQueue === undefined ? {} : { maxQueue }) },
  );
  closers.push(() => server.close());
  const client = await connect(`ws://127.0.0.1:${server.port}/`, { pingInterval: null });
  closers.push(() => client.abort());
  await until(() => serverSide !== undefined);
  return { server: serverSide!, client };
}

describe("recv(options): what a message comes as", () => {
  it("text as a string (default) or as its UTF-8 bytes; binary as Uint8Array, Buffer or ArrayBuffer", async () => {
    const { server, client } = await pair();
    for (let i = 0; i < 7; i++) await client.send("héllo");
    for (let i = 0; i < 3; i++) await client.send(Uint8Array.of(1, 2, 3));

    expect(await server.recv()).toBe("héllo");
    const bytes = await server.recv({ text: "bytes" });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes).toString()).toBe("héllo");
    const buf = await server.recv({ text: "bytes", binary: "buffer" });
    expect(Buffer.isBuffer(buf)).toBe(true);
    expect(buf.toString()).toBe("héllo");
    const ab = await server.recv({ text: "bytes", binary: "arraybuffer" });
    expect(ab).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(ab).toString()).toBe("héllo");
    // binary options leave text a string.
    expect(await server.recv({ binary: "arraybuffer" })).toBe("héllo");
    expect(await server.recv({ text: "string" })).toBe("héllo");
    expect(await server.recv({})).toBe("héllo");

    expect([...(await server.recv({ binary: "uint8array" }))]).toEqual([1, 2, 3]);
    const b = await server.recv({ binary: "buffer" });
    expect(Buffer.isBuffer(b) && [...b]).toEqual([1, 2, 3]);
    const a = (await server.recv({ binary: "arraybuffer" })) as ArrayBuffer;
    expect(a).toBeInstanceOf(ArrayBuffer);
    expect(a.byteLength).toBe(3); // exactly the message, whatever buffer it was read into
  });

  it("no copy where a view will do: Buffer views the bytes, text as bytes is the received bytes; ArrayBuffer copies only a part of a larger buffer", () => {
    const chunk = new Uint8Array(64 * 1024);
    const view = chunk.subarray(100, 200);
    expect(convertMessage(view, true, { text: "bytes" })).toBe(view);
    const b = asBinary(view, "buffer") as Buffer;
    expect(Buffer.isBuffer(b) && b.buffer === chunk.buffer && b.byteOffset === 100).toBe(true);
    const own = new Uint8Array(50);
    expect(asBinary(own, "arraybuffer")).toBe(own.buffer);
    const part = asBinary(view, "arraybuffer") as ArrayBuffer;
    expect(part).not.toBe(chunk.buffer);
    expect(part.byteLength).toBe(100);
  });

  it("the result type follows the options", () => {
    const ws = null as unknown as Connection;
    const types = () => {
      expectTypeOf(ws.recv()).toEqualTypeOf<Promise<Data>>();
      expectTypeOf(ws.recv({})).toEqualTypeOf<Promise<string | Uint8Array>>();
      expectTypeOf(ws.recv({ text: "bytes" })).toEqualTypeOf<Promise<Uint8Array>>();
      expectTypeOf(ws.recv({ binary: "buffer" })).toEqualTypeOf<Promise<string | Buffer>>();
      expectTypeOf(ws.recv({ text: "bytes", binary: "buffer" })).toEqualTypeOf<Promise<Buffer>>();
      expectTypeOf(ws.recv({ text: "string", binary: "arraybuffer" })).toEqualTypeOf<Promise<string | ArrayBuffer>>();
      expectTypeOf(ws.recv({ text: "bytes", binary: "arraybuffer", signal: AbortSignal.timeout(1) })).toEqualTypeOf<Promise<ArrayBuffer>>();
      const chosen: RecvOptions = {};
      expectTypeOf(ws.recv(chosen)).toEqualTypeOf<Promise<string | Uint8Array | Buffer | ArrayBuffer>>();
      expectTypeOf(ws.recvStreaming({ text: "bytes", binary: "buffer" })).toMatchTypeOf<AsyncIterable<Buffer>>();
      expectTypeOf(ws.recvStreaming()).toMatchTypeOf<AsyncIterable<string | Uint8Array>>();
    };
    expect(types).toBeTypeOf("function"); // checked by the type checker (npm test), not run
  });

  it("bad options are refused with a TypeError/RangeError naming the option, what was given and what is allowed", async () => {
    const { server } = await pair();
    await expect(server.recv({ text: "utf8" } as never)).rejects.toThrow('recv(options): text must be "string" or "bytes"; got the string "utf8"');
    await expect(server.recv({ binary: "blob" } as never)).rejects.toThrow(/binary must be "uint8array", "buffer" or "arraybuffer"/);
    await expect(server.recv({ signal: {} } as never)).rejects.toThrow(/signal must be an AbortSignal/);
    await expect(server.recv({ decode: false } as never)).rejects.toThrow(/unknown option "decode"; allowed: text, binary, signal/);
    await expect(server.recv(null as never)).rejects.toMatchObject({ code: "WS_ERR_INVALID_ARGUMENT" });
  });
});

describe("recv({ signal }): cancellation loses no message", () => {
  it("an aborted recv rejects with the signal's reason; the message that comes later goes to the next recv", async () => {
    const { server, client } = await pair();
    const ac = new AbortController();
    const cancelled = server.recv({ signal: ac.signal });
    ac.abort();
    await expect(cancelled).rejects.toMatchObject({ name: "AbortError" });
    await client.send("later");
    expect(await server.recv()).toBe("later");
  });

  it("an already aborted signal rejects at once and takes nothing, even with a message queued", async () => {
    const { server, client } = await pair();
    await client.send("queued");
    await client.ping(); // the server has read it
    await expect(server.recv({ signal: AbortSignal.abort("no") })).rejects.toBe("no");
    expect(await server.recv()).toBe("queued");
  });

  it("a timeout: AbortSignal.timeout(ms) rejects with a TimeoutError", async () => {
    const { server, client } = await pair();
    await expect(server.recv({ signal: AbortSignal.timeout(30) })).rejects.toMatchObject({ name: "TimeoutError" });
    await client.send("after the timeout");
    expect(await server.recv({ signal: AbortSignal.timeout(5000) })).toBe("after the timeout");
  });

  it("one signal for many recvs does not pile up listeners", async () => {
    const { server, client } = await pair();
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
    ac.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
    for (let i = 0; i < 50; i++) {
      const r = server.recv({ signal: ac.signal });
      await client.send(`m${i}`);
      expect(await r).toBe(`m${i}`);
    }
    expect(added).toBe(50);
    expect(removed).toBe(50);
  });

  for (const maxQueue of [16, 1, null]) {
    it(`race: recvs aborted at random moments while 3000 messages stream in — each received exactly once, in order (maxQueue ${maxQueue})`, async () => {
      const { server, client } = await pair(maxQueue);
      const N = 3000;
      const sending = (async () => {
        for (let i = 0; i < N; i++) {
          // Bursts and gaps: sometimes many in one chunk, sometimes one at a time.
          const s = client.send(`${i}`);
          if (i % 7 === 0) await s;
          if (i % 3 === 0 && i % 300 > 100) await new Promise((r) => setImmediate(r));
        }
      })();
      const got: number[] = [];
      let aborted = 0;
      let seed = 12345;
      const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
      while (got.length < N) {
        const ac = new AbortController();
        const p = server.recv({ signal: ac.signal });
        // Abort now, after a microtask, after a macrotask, or not at all.
        const r = rand();
        if (r < 0.2) ac.abort();
        else if (r < 0.45) queueMicrotask(() => ac.abort());
        else if (r < 0.7) setImmediate(() => ac.abort());
        try {
          got.push(Number(await p));
        } catch (err) {
          expect((err as Error).name).toBe("AbortError");
          aborted++;
        }
        // Streams too: aborted before their message began, they take nothing.
        if (got.length < N && rand() < 0.15) {
          const ac3 = new AbortController();
          const stream = server.recvStreaming({ signal: ac3.signal });
          if (rand() < 0.5) queueMicrotask(() => ac3.abort());
          else ac3.abort();
          try {
            got.push(Number(await stream.collect()));
          } catch (err) {
            expect((err as Error).name).toBe("AbortError");
            aborted++;
          }
        }
        // Some readers wait alongside: two recvs at once, the first aborted.
        if (got.length < N && rand() < 0.1) {
          const ac2 = new AbortController();
          const a = server.recv({ signal: ac2.signal });
          const b = server.recv();
          ac2.abort();
          try {
            got.push(Number(await a));
          } catch {
            aborted++;
          }
          if (got.length < N) got.push(Number(await b));
          else void b.catch(() => undefined);
        }
      }
      await sending;
      expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(aborted).toBeGreaterThan(100);
    });
  }
});
