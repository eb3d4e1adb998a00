/**
 * `connect(uri, { signal })`: an AbortSignal cancels the opening wherever
 * it is — before anything, during TLS, during the handshake, during a proxy
 * negotiation — rejecting with the signal's reason and destroying the
 * socket; `AbortSignal.timeout()` works; once connected, the signal no
 * longer matters.
 */
import { once } from "node:events";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connect, serve, type Server } from "../../src/index.js";

/** A TCP server that accepts and never answers; tells when each socket closes. */
async function silentServer() {
  const closed: Promise<unknown>[] = [];
  const received: Buffer[] = [];
  const server = net.createServer((s) => {
    s.on("error", () => undefined).on("data", (d: Buffer) => received.push(d));
    closed.push(once(s, "close"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    closed,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("connect(uri, { signal })", () => {
  it("an already aborted signal rejects with its reason, and no connection is made", async () => {
    const silent = await silentServer();
    const controller = new AbortController();
    controller.abort();
    const err = await connect(`ws://127.0.0.1:${silent.port}/`, { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe("AbortError");
    await new Promise((r) => setTimeout(r, 50));
    expect(silent.closed).toHaveLength(0);
    await silent.close();
  });

  it("aborts while waiting for the handshake response: rejects with the reason given, closes the socket", async () => {
    const silent = await silentServer();
    const controller = new AbortController();
    const reason = new Error("not any more");
    const pending = connect(`ws://127.0.0.1:${silent.port}/`, { signal: controller.signal });
    await expect.poll(() => silent.received.length).toBeGreaterThan(0);
    expect(Buffer.concat(silent.received).toString("latin1")).toMatch(/^GET \/ HTTP\/1\.1\r\n/);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await silent.closed[0];
    await silent.close();
  });

  it("aborts during TLS (a server that never answers the ClientHello)", async () => {
    const silent = await silentServer();
    const controller = new AbortController();
    const pending = connect(`wss://127.0.0.1:${silent.port}/`, { signal: controller.signal });
    // The ClientHello arrives: TLS has started.
    await expect.poll(() => silent.received.length).toBeGreaterThan(0);
    expect(silent.received[0]![0]).toBe(0x16); // TLS handshake record
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await silent.closed[0];
    await silent.close();
  });

  it("AbortSignal.timeout(ms) rejects with a TimeoutError", async () => {
    const silent = await silentServer();
    const err = await connect(`ws://127.0.0.1:${silent.port}/`, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe("TimeoutError");
    await silent.closed[0];
    await silent.close();
  });

  it("aborts a SOCKS negotiation with a proxy that never answers", async () => {
    const silent = await silentServer();
    const controller = new AbortController();
    const pending = connect("ws://127.0.0.1:1/", { proxy: `socks5://127.0.0.1:${silent.port}`, signal: controller.signal });
    await expect.poll(() => silent.received.length).toBeGreaterThan(0);
    expect([...silent.received[0]!]).toEqual([5, 1, 0]);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await silent.closed[0];
    await silent.close();
  });

  it("once connected, aborting changes nothing: the connection stays open", async () => {
    const server = await serve(async (ws) => {
      for await (const m of ws) await ws.send(m);
    }, { host: "127.0.0.1", port: 0 });
    servers.push(server);
    const controller = new AbortController();
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { signal: controller.signal });
    controller.abort();
    await ws.send("still here");
    expect(await ws.recv()).toBe("still here");
    expect(ws.state).toBe("open");
    await ws.close();
  });
});
