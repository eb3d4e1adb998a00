/**
 * Browser code, run unchanged by headless Chromium's native `WebSocket` /
 * `WebSocketStream` and by wavesock's, against the same server: every
 * scenario of scenarios.js must give the same log in both — events in the
 * same order with the same states, codes, reasons and data; the same
 * exceptions for the same arguments. A difference is a failing row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChromiumEngine, haveChromium, runOurs, type Log, type ScenarioContext } from "./engines.js";
import { STREAM_SCENARIOS, WEBSOCKET_SCENARIOS } from "./scenarios.js";
import { closedPort, startScenarioServer, type ScenarioServer } from "./server.js";

/**
 * Where wavesock deliberately differs from Chromium: what Chromium's log
 * would have to be for the two to match, and why (docs/standard-websocket.md
 * lists them). Each patch must change Chromium's log, or it is stale.
 */
const DIFFERENCES: Record<string, { why: string; patch: (browser: Log) => Log }> = {
  "URLs: http(s) become ws(s); fragments and other schemes are SyntaxErrors": {
    why: "a page resolves a relative URL against its own; Node has no base URL, so the standard's parse fails: SyntaxError",
    patch: (log) => log.map((entry) => (Array.isArray(entry) && entry[0] === "not a url" ? ["not a url", SYNTAX_ERROR] : entry)),
  },
  "WebSocketStream: URLs and protocols": {
    why: "no base URL in Node (as above)",
    patch: (log) => log.map((entry) => (Array.isArray(entry) && entry[0] === "relative" ? ["relative", SYNTAX_ERROR] : entry)),
  },
  "close with a reason and no code: 1000": {
    why: "Chromium reads close(undefined, reason) as close(0, reason) and throws InvalidAccessError; Web IDL makes an undefined optional argument missing, and the standard then closes with 1000",
    patch: () => OURS_CLOSE_WITH_REASON,
  },
};

const SYNTAX_ERROR = { name: "SyntaxError", dom: true };

/** The standard's outcome of "close with a reason and no code", which Chromium does not reach (it throws). */
const OURS_CLOSE_WITH_REASON: Log = [
  ["open", 1, ""],
  ["close", 3, 1000, "only a reason", true],
  ["open", 1, ""],
  ["close", 3, 1005, "", true],
];

let server: ScenarioServer;
let chromium: ChromiumEngine;
let ctx: ScenarioContext;

beforeAll(async () => {
  if (!haveChromium) return;
  server = await startScenarioServer();
  ctx = { base: server.base, closedUrl: `ws://127.0.0.1:${await closedPort()}/` };
  chromium = await ChromiumEngine.start(server.http);
}, 60_000);

afterAll(async () => {
  await chromium?.stop();
  await server?.close();
});

describe.skipIf(!haveChromium)("the same scenario in Chromium and in wavesock gives the same log", () => {
  for (const name of [...Object.keys(WEBSOCKET_SCENARIOS), ...Object.keys(STREAM_SCENARIOS)]) {
    const difference = DIFFERENCES[name];
    it(difference === undefined ? name : `${name} — except: ${difference.why}`, async () => {
      const browser = await chromium.run(name, ctx).catch((err: Error) => [`Chromium threw: ${err.message.split("\n")[0]}`]);
      const ours = await runOurs(name, ctx);
      if (difference === undefined) {
        expect(ours).toEqual(browser);
      } else {
        const patched = difference.patch(browser);
        expect(patched, "the patch no longer changes Chromium's log: remove it").not.toEqual(browser);
        expect(ours).toEqual(patched);
      }
    });
  }
});
