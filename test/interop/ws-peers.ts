/**
 * The peers of the `ws` interop tests (ws-server, ws-client and ws-deflate):
 * a wavesock server and client, a `ws` server and client, each on loopback
 * and undone after the test by the test file's own `Cleanup`.
 */
import {
  connect,
  serve,
  type CompressionOption,
  type Connection,
  type ConnectOptions,
  type Handler,
  type Server,
  type ServerOptions,
} from "../../src/index.js";
import { Cleanup, Inbox, WsPeer, WsServer, withTimeout, wsEcho } from "./collect.js";
import type { ClientOptions as WsClientOptions, ServerOptions as WsServerOptions } from "ws";

export const MiB = 1024 * 1024;
/** Sizes around every frame-length boundary (7-bit, 16-bit, 64-bit lengths) and a large one. */
export const SIZES = [0, 1, 125, 126, 65535, 65536, MiB];

/** The two compression settings every echo test runs under: ours (`compression`) and ws's (`perMessageDeflate`). */
export const MODES: { name: string; ours: CompressionOption; ws: boolean }[] = [
  { name: "compression off", ours: null, ws: false },
  { name: "permessage-deflate", ours: "deflate", ws: true },
];

/** A wavesock handler that sends every message back. */
export const echo: Handler = async (ws) => {
  for await (const m of ws) await ws.send(m);
};

/** `conn.recv()` with a deadline naming what was awaited. */
export const recv = (conn: Connection, what = "a message") => withTimeout(conn.recv(), `wavesock to receive ${what}`);

/** The four peers, each registering its own teardown with `cleanup` (run it in `afterEach`). */
export interface WsInteropPeers {
  /** Start a wavesock server on loopback; server-side connections are pushed to `conns`. */
  ourServer(
    handler: Handler,
    options?: ServerOptions,
  ): Promise<{ server: Server; conns: Inbox<Connection>; url: (path?: string) => string }>;
  /** A wavesock client, closed (or dropped) after the test. */
  ourClient(url: string, options?: ConnectOptions): Promise<Connection>;
  /** A ws client to `url`, terminated after the test. */
  wsClient(url: string, protocols?: string[], options?: WsClientOptions): Promise<WsPeer>;
  /** A ws server on loopback (echo by default; `null` for none), closed after the test. */
  wsServer(options?: WsServerOptions, onConnection?: ((peer: WsPeer) => void) | null): Promise<WsServer>;
}

/** The peers of one test file, torn down by `cleanup`. */
export function wsInteropPeers(cleanup: Cleanup): WsInteropPeers {
  return {
    async ourServer(handler, options = {}) {
      const conns = new Inbox<Connection>("server-side connection");
      const server = await serve(
        async (ws) => {
          conns.push(ws);
          await handler(ws);
        },
        { host: "127.0.0.1", port: 0, logger: null, pingInterval: null, ...options },
      );
      cleanup.add(() => server.close());
      const host = server.address.address.includes(":") ? `[${server.address.address}]` : server.address.address;
      return { server, conns, url: (path = "/") => `ws://${host}:${server.port}${path}` };
    },

    async ourClient(url, options = {}) {
      const conn = await withTimeout(connect(url, { pingInterval: null, ...options }), `wavesock client to open ${url}`);
      cleanup.add(async () => {
        conn.abort();
        await conn.closed;
      });
      return conn;
    },

    async wsClient(url, protocols = [], options = {}) {
      const peer = await WsPeer.connect(url, protocols, options);
      cleanup.add(() => peer.terminate());
      return peer;
    },

    async wsServer(options = {}, onConnection = wsEcho) {
      const server = await WsServer.start(options, onConnection ?? undefined);
      cleanup.add(() => server.close());
      return server;
    },
  };
}
