import { afterEach, describe, expect, it, vi } from "vitest";
import { PerMessageDeflate } from "../../src/extensions/permessage-deflate.js";
import { broadcast, connect, serve, type CompressionOption, type Connection, type Server } from "../../src/index.js";
import { until } from "./helpers.js";

const servers: Server[] = [];
const clients: Connection[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function room(compression: CompressionOption | undefined, n: number) {
  const server = await serve(async (ws) => void (await ws.closed), { host: "127.0.0.1", compression, logger: null });
  servers.push(server);
  for (let i = 0; i < n; i++) clients.push(await connect(`ws://127.0.0.1:${server.port}`));
  await until(() => server.connections.size === n);
  return server;
}

const message = JSON.stringify({ type: "tick", values: Array.from({ length: 50 }, (_, i) => ({ i, name: `sensor-${i}` })) });

describe("broadcast with permessage-deflate", () => {
  it("compresses once and shares the frame when our side keeps no context (server_no_context_takeover)", async () => {
    const server = await room({ serverNoContextTakeover: true }, 5);
    const encode = vi.spyOn(PerMessageDeflate.prototype, "encode");
    expect(broadcast(server.connections, message)).toBe(0);
    for (const c of clients) expect(await c.recv()).toBe(message);
    expect(encode).toHaveBeenCalledTimes(1);
    expect(clients[0]!.response.headers["sec-websocket-extensions"]).toContain("server_no_context_takeover");
  });

  it("compresses per connection when each keeps its own context (the default)", async () => {
    const server = await room(undefined, 4);
    const encode = vi.spyOn(PerMessageDeflate.prototype, "encode");
    broadcast(server.connections, message);
    broadcast(server.connections, message);
    for (const c of clients) {
      expect(await c.recv()).toBe(message);
      expect(await c.recv()).toBe(message);
    }
    expect(encode).toHaveBeenCalledTimes(8);
  });

  it("sends uncompressed with { compress: false }, framed once", async () => {
    const server = await room({ serverNoContextTakeover: true }, 3);
    const encode = vi.spyOn(PerMessageDeflate.prototype, "encode");
    broadcast(server.connections, message, { compress: false });
    for (const c of clients) expect(await c.recv()).toBe(message);
    expect(encode).not.toHaveBeenCalled();
  });
});
