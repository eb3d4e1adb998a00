/**
 * `require("ws")` inside a dependency gets wavesock: wavesock and the
 * wavesock-ws package (packages/ws) are packed with `npm pack`, installed
 * into a scratch project whose package.json says
 * `"overrides": { "ws": "file:…/wavesock-ws-….tgz" }` (what a user writes
 * as `"npm:wavesock-ws@…"`), with socket.io and socket.io-client — both of
 * which require `ws` themselves: engine.io's default `wsEngine` is
 * `require("ws").Server`, and engine.io-client's Node transport is
 * `require("ws")`. No `wsEngine` option is given: the switch is the
 * override alone. The script then runs a real exchange and reports what
 * it ran on.
 *
 * wavesock is packed from the repository's dist/ as `npm test` builds it
 * (`--ignore-scripts`: the shared dist/ is not rebuilt under other test
 * files). socket.io comes from npm's cache, or the registry.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const scratch = mkdtempSync(join(tmpdir(), "wavesock-overrides-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function sh(cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: "false" } });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${e.stdout ?? ""}\n${e.stderr ?? ""}\n${e.message}`);
  }
}

const versionOf = (name: string) => (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

const SCRIPT = `
const http = require("node:http");
const { Server } = require("socket.io");
const { io } = require("socket.io-client");
const wsPath = require.resolve("ws", { paths: [require.resolve("engine.io")] });
const clientWsPath = require.resolve("ws", { paths: [require.resolve("engine.io-client")] });
const server = http.createServer();
const ioServer = new Server(server, { transports: ["websocket"] });
let serverSocketClass = "";
ioServer.on("connection", (socket) => {
  serverSocketClass = socket.conn.transport.socket.constructor.name + ":" + (socket.conn.transport.socket instanceof require("wavesock/ws").WebSocket);
  socket.on("echo", (payload, ack) => ack({ text: payload.text.toUpperCase(), bytes: Buffer.from(payload.bytes).reverse() }));
});
server.listen(0, "127.0.0.1", () => {
  const client = io("http://127.0.0.1:" + server.address().port, { transports: ["websocket"], reconnection: false });
  client.on("connect", async () => {
    const reply = await client.emitWithAck("echo", { text: "hello", bytes: Buffer.from([1, 2, 3]) });
    const clientSocket = client.io.engine.transport.ws;
    console.log(JSON.stringify({
      wsPackage: require(require("node:path").join(require("node:path").dirname(wsPath), "package.json")).name,
      sameForClient: wsPath === clientWsPath,
      serverSocketClass,
      clientSocketIsWavesock: clientSocket instanceof require("wavesock/ws").WebSocket,
      reply: { text: reply.text, bytes: [...Buffer.from(reply.bytes)] },
    }));
    client.close();
    ioServer.close();
  });
  client.on("connect_error", (err) => { console.error(err); process.exit(1); });
});
`;

describe("npm overrides: ws → wavesock-ws, for dependencies that require('ws')", () => {
  it("socket.io and socket.io-client run on wavesock with no code change", async () => {
    expect(existsSync(join(ROOT, "dist/cjs/ws/index.js")), "run npm run build first").toBe(true);
    await sh("npm", ["pack", "--ignore-scripts", "--pack-destination", scratch], ROOT);
    await sh("npm", ["pack", "--pack-destination", scratch], join(ROOT, "packages/ws"));
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    const shimVersion = (JSON.parse(readFileSync(join(ROOT, "packages/ws/package.json"), "utf8")) as { version: string }).version;
    const app = join(scratch, "app");
    await sh("mkdir", ["-p", app], scratch);
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "scratch-overrides",
        private: true,
        dependencies: {
          "socket.io": versionOf("socket.io"),
          "socket.io-client": versionOf("socket.io-client"),
          wavesock: `file:../wavesock-${version}.tgz`,
        },
        overrides: { ws: `file:../wavesock-ws-${shimVersion}.tgz` },
      }),
    );
    await sh("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], app);
    writeFileSync(join(app, "run.cjs"), SCRIPT);
    const out = JSON.parse(await sh(process.execPath, ["run.cjs"], app)) as Record<string, unknown>;
    expect(out).toEqual({
      wsPackage: "wavesock-ws",
      sameForClient: true,
      serverSocketClass: "WebSocket:true",
      clientSocketIsWavesock: true,
      reply: { text: "HELLO", bytes: [3, 2, 1] },
    });
  }, 300_000);
});
