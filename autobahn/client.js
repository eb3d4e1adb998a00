// @ts-check
/**
 * The Autobahn|Testsuite testee for wavesock's client: runs every case of a
 * `wstest -m fuzzingserver` (see fuzzingserver.json) and asks it to write
 * its reports.
 *
 *   node autobahn/client.js [--url ws://127.0.0.1:9001] [--agent wavesock]
 *
 * 1. `/getCaseCount`: the fuzzing server sends one text message, the number
 *    of cases;
 * 2. `/runCase?case=N&agent=A` for N = 1..count: echo every message back
 *    (text as text, binary as binary) until the server closes;
 * 3. `/updateReports?agent=A`: the server writes reports/clients/.
 *
 * Uses the built package (`npm run build`): `wavesock` resolves to dist/.
 */
import { ConnectionClosed, connect } from "wavesock";
import { parseArgs } from "./args.js";

const args = parseArgs(process.argv.slice(2), { url: "ws://127.0.0.1:9001", agent: "wavesock" });
const base = String(args["url"]).replace(/\/+$/, "");
const agent = String(args["agent"]);
const MAX_SIZE = 16 * 1024 * 1024;
/** @type {import("wavesock").ConnectOptions} */
const options = { maxSize: MAX_SIZE, pingInterval: null };

/** @param {string} path */
async function caseCount(path) {
  const ws = await connect(`${base}${path}`, options);
  const message = await ws.recv();
  await ws.close().catch(() => undefined);
  const count = Number(typeof message === "string" ? message : new TextDecoder().decode(message));
  if (!Number.isInteger(count) || count < 0) throw new Error(`unexpected case count: ${String(message)}`);
  return count;
}

/**
 * Echo until the server closes. Protocol violations on the server's side are
 * the test: they end the connection with a ConnectionClosed, which is swallowed.
 * @param {string} path
 */
async function echo(path) {
  const ws = await connect(`${base}${path}`, options);
  try {
    for await (const message of ws) await ws.send(message);
  } catch (err) {
    if (!(err instanceof ConnectionClosed)) throw err;
  }
  await ws.closed;
}

const count = await caseCount("/getCaseCount");
console.log(`Autobahn|Testsuite fuzzing server at ${base}: ${count} cases, agent ${agent}`);
for (let i = 1; i <= count; i++) {
  try {
    await echo(`/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
  } catch (err) {
    // A refused handshake is a result too (the report shows it); go on with the next case.
    console.error(`case ${i}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (i % 50 === 0 || i === count) console.log(`  ${i}/${count}`);
}
await echo(`/updateReports?agent=${encodeURIComponent(agent)}`);
console.log("reports updated");
