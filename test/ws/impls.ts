/**
 * The two implementations of the `ws` API every file in test/ws runs
 * against (`describe.each(IMPLS)`): the `ws` package itself and
 * `wavesock/ws`. A behaviour that differs shows as a failing row, unless
 * the row says it is a documented difference ({@link documented}), with
 * what each side does and the section of docs/migrating-from-ws.md that says why.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as realWs from "ws";
import * as ours from "../../src/ws/index.js";

/** What a test needs of an implementation: the module's named exports. */
export interface Impl {
  name: "ws" | "wavesock/ws";
  WebSocket: typeof ours.WebSocket;
  WebSocketServer: typeof ours.WebSocketServer;
  createWebSocketStream: typeof ours.createWebSocketStream;
  module: unknown;
}

export const IMPLS: Impl[] = [
  { name: "ws", ...(realWs as unknown as Omit<Impl, "name" | "module">), module: realWs },
  { name: "wavesock/ws", WebSocket: ours.WebSocket, WebSocketServer: ours.WebSocketServer, createWebSocketStream: ours.createWebSocketStream, module: ours },
];

/** The peer that stays the same across rows: the real `ws`. */
export const PEER = realWs as unknown as { WebSocket: typeof ours.WebSocket; WebSocketServer: typeof ours.WebSocketServer };

/**
 * The expected value of a row where wavesock/ws differs from ws on purpose:
 * `anchor` names the section of docs/migrating-from-ws.md that says why.
 */
export function documented<T>(impl: Impl, anchor: string, values: { ws: T; wavesock: T }): T {
  void anchor;
  return impl.name === "ws" ? values.ws : values.wavesock;
}

/** Things to close after each test. */
export const cleanup: (() => unknown)[] = [];

export async function runCleanup(): Promise<void> {
  for (const f of cleanup.splice(0).reverse()) {
    try {
      await f();
    } catch {
      // already closed
    }
  }
}

/** A listening server of `S`'s kind on 127.0.0.1, closed after the test. */
export async function listen<T extends ours.WebSocketServer>(S: new (o: ours.ServerOptions) => T, options: ours.ServerOptions = {}): Promise<{ wss: T; port: number; url: string }> {
  const wss = new S({ port: 0, host: "127.0.0.1", ...options });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", () => resolve());
    wss.once("error", reject);
  });
  cleanup.push(() => {
    for (const c of wss.clients ?? []) c.terminate();
    return new Promise<void>((r) => wss.close(() => r()));
  });
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** An HTTP server on 127.0.0.1, closed after the test. */
export async function httpServer(handler?: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Resolves with the arguments of the next `event` of `emitter`. */
export function next<A extends unknown[] = unknown[]>(emitter: { once(e: string, l: (...a: any[]) => void): unknown }, event: string): Promise<A> {
  return new Promise((resolve) => emitter.once(event, ((...args: A) => resolve(args)) as (...a: any[]) => void));
}

/** Records a WebSocket's events in order, as short strings. */
export function record(ws: ours.WebSocket): string[] {
  const log: string[] = [];
  ws.on("open", () => log.push("open"));
  ws.on("message", (data, isBinary) => log.push(`message:${isBinary ? "binary" : "text"}:${Buffer.isBuffer(data) ? data.toString() : String(data)}`));
  ws.on("ping", (d) => log.push(`ping:${d.toString()}`));
  ws.on("pong", (d) => log.push(`pong:${d.toString()}`));
  ws.on("error", (e) => log.push(`error:${(e as { code?: string }).code ?? e.message}`));
  ws.on("close", (code, reason) => log.push(`close:${code}:${reason.toString()}`));
  return log;
}

/** Resolves once `ws` emitted `'close'`, with (code, reason). */
export function closed(ws: ours.WebSocket): Promise<[number, Buffer]> {
  return ws.readyState === 3 ? Promise.resolve([-1, Buffer.alloc(0)]) : next<[number, Buffer]>(ws, "close");
}

export const tick = () => new Promise((r) => setImmediate(r));
