// @ts-check
/**
 * Runs scenarios (./scenarios.js) with Node's built-in WebSocket client
 * (undici). Node 20 exposes it only with --experimental-websocket, so the
 * tests start this file in a child process:
 *
 *   node --experimental-websocket test/whatwg/undici-runner.mjs
 *
 * Reads one JSON line per scenario on stdin, {"id", "name", "ctx"}, and
 * answers {"id", "log"} (or {"id", "error"}) on stdout.
 */
import { createInterface } from "node:readline";
import { run } from "./scenarios.js";

const G = /** @type {any} */ (globalThis);

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") continue;
  const { id, name, ctx } = JSON.parse(line);
  try {
    const log = await run(name, { ...ctx, WebSocket: G.WebSocket, WebSocketStream: G.WebSocketStream, WebSocketError: G.WebSocketError });
    process.stdout.write(`${JSON.stringify({ id, log })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ id, error: String(/** @type {Error} */ (err)?.stack ?? err) })}\n`);
  }
}
