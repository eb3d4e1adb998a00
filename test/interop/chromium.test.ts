/**
 * Interop with headless Chromium's own WebSocket client, permessage-deflate
 * on: Chromium offers `permessage-deflate; client_max_window_bits` on every
 * connection. Large compressible messages cross both ways, with context
 * takeover on and off, and the bytes on the wire show both sides compressed.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { serve, type CompressionOption, type Connection, type Server } from "../../src/index.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);

let browser: Browser | undefined;
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all((browser?.contexts() ?? []).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await browser?.close();
});

const PAGE = `<!doctype html><meta charset="utf-8"><title>interop</title><script>
window.open_ = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  window.ws = ws;
  window.inbox = [];
  window.waiters = [];
  ws.onmessage = (e) => {
    const m = typeof e.data === "string" ? e.data : Array.from(new Uint8Array(e.data));
    const w = window.waiters.shift();
    if (w) w(m); else window.inbox.push(m);
  };
  ws.onopen = () => resolve(ws.extensions);
  ws.onerror = () => reject(new Error("websocket error"));
});
window.next = () => window.inbox.length ? Promise.resolve(window.inbox.shift()) : new Promise((r) => window.waiters.push(r));
window.closeAndWait = (code, reason) => new Promise((resolve) => { window.ws.onclose = (e) => resolve([e.code, e.reason, e.wasClean]); window.ws.close(code, reason); });
</script>`;

/** JSON-like text that compresses well and spans many frames of any size. */
function bigText(n: number, seed: number): string {
  const rows: string[] = [];
  for (let i = 0; rows.join(",").length < n; i++) rows.push(JSON.stringify({ id: i, seed, name: `sensor-${i % 97}`, value: (i * seed) % 1000, ok: i % 3 === 0 }));
  return `[${rows.join(",")}]`;
}

async function start(compression: CompressionOption | undefined): Promise<{ server: Server; conns: Connection[]; wire: { in: number; out: number } }> {
  const conns: Connection[] = [];
  const wire = { in: 0, out: 0 };
  const server = await serve(
    async (ws) => {
      conns.push(ws);
      for await (const m of ws) await ws.send(m);
      wire.in = ws.socket.bytesRead;
      wire.out = ws.socket.bytesWritten;
    },
    {
      host: "127.0.0.1",
      compression,
      maxSize: 16 * 1024 * 1024,
      logger: null,
      processRequest: (conn, req) => (req.headers["upgrade"] ? undefined : conn.respond(200, PAGE, { "content-type": "text/html; charset=utf-8" })),
    },
  );
  servers.push(server);
  return { server, conns, wire };
}

async function openPage(port: number): Promise<Page> {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await (await browser.newContext()).newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  return page;
}

describe.skipIf(!haveChromium)("Chromium's WebSocket client ↔ wavesock server, permessage-deflate", () => {
  const cases: [string, CompressionOption | undefined, RegExp][] = [
    ["defaults (context takeover, 12-bit windows)", undefined, /^permessage-deflate; server_max_window_bits=12; client_max_window_bits=12$/],
    ["no context takeover either way", { serverNoContextTakeover: true, clientNoContextTakeover: true }, /server_no_context_takeover/],
    ["15-bit windows", { serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, /^permessage-deflate$/],
  ];
  for (const [name, compression, expected] of cases) {
    it(`${name}: large messages both ways, compressed on the wire`, async () => {
      const { server, conns, wire } = await start(compression);
      const page = await openPage(server.port);
      const extensions = await page.evaluate((url) => (globalThis as unknown as { open_(u: string): Promise<string> }).open_(url), `ws://127.0.0.1:${server.port}/echo`);
      expect(extensions).toMatch(expected);
      // What Chromium offered, as the server saw it.
      expect(conns[0]!.request.headers["sec-websocket-extensions"]).toBe("permessage-deflate; client_max_window_bits");

      const texts = [bigText(120_000, 1), bigText(120_000, 1), bigText(5_000, 2), "", "é€😀".repeat(1000)];
      let sent = 0;
      for (const text of texts) {
        sent += text.length;
        const echoed = await page.evaluate(
          async (t) => {
            const w = globalThis as unknown as { ws: { send(data: unknown): void }; next(): Promise<unknown> };
            w.ws.send(t);
            return w.next();
          },
          text,
        );
        expect(echoed).toBe(text);
      }
      const binary = Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
      const echoedBinary = await page.evaluate(async (b) => {
        const w = globalThis as unknown as { ws: { send(data: unknown): void }; next(): Promise<unknown> };
        w.ws.send(new Uint8Array(b));
        return w.next();
      }, binary);
      expect(echoedBinary).toEqual(binary);
      sent += binary.length;

      const closed = await page.evaluate(() => (globalThis as unknown as { closeAndWait(c: number, r: string): Promise<unknown> }).closeAndWait(1000, "done"));
      expect(closed).toEqual([1000, "done", true]);
      await conns[0]!.closed;
      expect(conns[0]!.closeCode).toBe(1000);
      // Both directions went compressed: far fewer bytes than the payloads.
      expect(wire.in).toBeLessThan(sent / 3);
      expect(wire.out).toBeLessThan(sent / 3);
    });
  }
});
