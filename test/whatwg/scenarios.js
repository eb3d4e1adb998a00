// @ts-check
/**
 * Scenarios for the standard clients, written once as browser code and run
 * unchanged by every engine: Chromium's page (which imports this file from
 * the scenario server), wavesock's `WebSocket` / `WebSocketStream` in the
 * test process, and Node's built-in client (undici) in a child process.
 * Each scenario gets the engine's classes and the server's base URL and
 * returns a log of what it saw — events in order, with the state and the
 * values a program would read — that the tests compare across engines.
 * Nothing in a log depends on timing or on the engine's port: a scenario
 * waits for events, never for a delay, to decide what happened.
 */
import { STREAM_SCENARIOS } from "./stream-scenarios.js";
import { WEBSOCKET_SCENARIOS } from "./websocket-scenarios.js";

export { STREAM_SCENARIOS, WEBSOCKET_SCENARIOS };

/**
 * Run the scenario `name` with an engine's classes.
 * @param {string} name @param {import("./scenario-helpers.js").Ctx} ctx
 * @returns {Promise<import("./scenario-helpers.js").Log>}
 */
export function run(name, ctx) {
  const scenario = WEBSOCKET_SCENARIOS[name] ?? STREAM_SCENARIOS[name];
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  return scenario(ctx);
}
