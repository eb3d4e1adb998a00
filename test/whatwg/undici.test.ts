/**
 * The WebSocket scenarios (scenarios.js) run by Node's own client — undici's,
 * `node --experimental-websocket` on Node 20 — and by wavesock's, against the
 * same server. Where Node's client and Chromium agree the logs must match
 * (chromium.test.ts holds ours to Chromium's); where Node's client differs
 * from the standard and from Chromium, the difference is listed below with
 * the reason and asserted, so that a change on either side shows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UndiciEngine, runOurs, undiciFlags, type Log, type ScenarioContext } from "./engines.js";
import { WEBSOCKET_SCENARIOS } from "./scenarios.js";
import { closedPort, startScenarioServer, type ScenarioServer } from "./server.js";

/**
 * Replace, in `log`, the first entry equal (as JSON) to `from` with the
 * entries `to` (none: removed); then the next replacement, and so on.
 */
type Patch = [from: unknown, to: Log][];

function apply(log: Log, patch: Patch): Log {
  let out = log;
  for (const [from, to] of patch) {
    const i = out.findIndex((entry) => JSON.stringify(entry) === JSON.stringify(from));
    if (i < 0) throw new Error(`patch entry not found in undici's log: ${JSON.stringify(from)}`);
    out = [...out.slice(0, i), ...to, ...out.slice(i + 1)];
  }
  return out;
}

const CLOSED_1006 = ["close", 3, 1006, "", false];
const TIMEOUT = "TIMEOUT waiting for close";

/**
 * Where Node 20's built-in client (undici 6.x) departs from the standard
 * and from Chromium (whose logs ours match, chromium.test.ts): the patch
 * that turns its log into ours, and why. Each patch must change undici's
 * log, or it is stale (undici was fixed: remove it).
 */
const DIFFERENCES: Record<string, { why: string; patch: Patch }> = {
  "binaryType: only blob and arraybuffer are taken": {
    why: "undici sets binaryType to blob for a value it does not know (the standard ignores it), and never fires close after close() while CONNECTING",
    patch: [
      [["nodebuffer", "blob"], [["nodebuffer", "arraybuffer"]]],
      [TIMEOUT, []],
    ],
  },
  "invalid UTF-8 from the server: the message before it, error, close 1006": {
    why: "undici fires error while readyState is still OPEN; the standard sets CLOSED first",
    patch: [[["error", 1, "error"], [["error", 3, "error"]]]],
  },
  "close() while CONNECTING: error, then close 1006": {
    why: "undici fires error synchronously inside close() (CONNECTING) and again later, never fires close, and does not count bytes sent while CLOSING",
    patch: [
      [["error", 0, "error"], []],
      [["bufferedAmount", 0], [["bufferedAmount", 1]]],
      [["error", 2, "error"], [["error", 3, "error"]]],
      [TIMEOUT, [CLOSED_1006]],
    ],
  },
  "a 403 answer: error, then close 1006": {
    why: "undici fires error while CONNECTING and never fires close when the opening fails",
    patch: [
      [["error", 0, "error"], [["error", 3, "error"]]],
      [TIMEOUT, [CLOSED_1006]],
    ],
  },
  "connection refused: error, then close 1006": {
    why: "as for a 403",
    patch: [
      [["error", 0, "error"], [["error", 3, "error"]]],
      [TIMEOUT, [CLOSED_1006]],
    ],
  },
  "subprotocols: the server's choice; none chosen fails the connection": {
    why: "as for a 403, when the server chose none of the subprotocols",
    patch: [
      [["error", 0, "error"], [["error", 3, "error"]]],
      [TIMEOUT, [CLOSED_1006]],
    ],
  },
  "close with a reason and no code: 1000": {
    why: "undici sends an empty close frame for close(undefined, reason); the standard closes with 1000 and the reason",
    patch: [[["close", 3, 1005, "", true], [["close", 3, 1000, "only a reason", true]]]],
  },
  "bufferedAmount: bytes of UTF-8 and binary, growing after close without sending": {
    why: "undici does not count what send() is given once the closing handshake started; the standard (and Chromium) do",
    patch: [
      [["after close()", 0, 2], [["after close()", 12, 2]]],
      [["closed", 0], [["closed", 12]]],
      [["send when CLOSED", 0, 3], [["send when CLOSED", 13, 3]]],
    ],
  },
  "on… attributes: one handler each, replaced in place, removed by null": {
    why: "undici moves a replaced on… handler to the end of the listeners (HTML keeps its place) and drops a handler object that is not callable (Web IDL keeps it)",
    patch: [],
  },
  "protocols: tokens only, each once": {
    why: 'undici refuses ["a", "A"] as a duplicate; the standard and Chromium compare subprotocols exactly',
    patch: [[['["a","A"]', { name: "SyntaxError", dom: true }], [['["a","A"]', "ok", null]]]],
  },
  "message events: data, origin and the rest of MessageEvent": {
    why: "undici's message events are its own MessageEvent class, not Node's global one: instanceof MessageEvent is false",
    patch: [],
  },
};

let server: ScenarioServer;
let undici: UndiciEngine;
let ctx: ScenarioContext;

beforeAll(async () => {
  if (undiciFlags === null) return;
  server = await startScenarioServer();
  ctx = { base: server.base, closedUrl: `ws://127.0.0.1:${await closedPort()}/` };
  undici = UndiciEngine.start();
}, 60_000);

afterAll(async () => {
  undici?.stop();
  await server?.close();
});

describe.skipIf(undiciFlags === null)(`the same scenario in Node's built-in WebSocket (undici ${process.versions["undici"] ?? ""}) and in wavesock`, () => {
  for (const name of Object.keys(WEBSOCKET_SCENARIOS)) {
    const difference = DIFFERENCES[name];
    it(difference === undefined ? name : `${name} — except: ${difference.why}`, async () => {
      const theirs = await undici.run(name, ctx);
      const ours = await runOurs(name, ctx);
      if (difference === undefined) {
        expect(ours).toEqual(theirs);
        return;
      }
      expect(theirs, "undici now gives our log: remove this difference").not.toEqual(ours);
      if (difference.patch.length > 0) expect(apply(theirs, difference.patch)).toEqual(ours);
    });
  }
});
