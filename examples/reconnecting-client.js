// @ts-check
/**
 * Reconnecting client: stays connected to a server that restarts. Each turn
 * of `for await (const ws of connect(url))` is one connection; when it is
 * lost, the loop opens the next, waiting longer after each failed attempt
 * (exponential backoff with a random first delay). Ctrl+C (or SIGTERM)
 * stops the loop through an AbortController and exits with status 0.
 *
 *   node examples/echo-server.js &                 # in another terminal
 *   node examples/reconnecting-client.js           # then stop and restart the server
 *   URL=wss://example.test/feed INITIAL_DELAY_MS=1000 node examples/reconnecting-client.js
 */
import { ConnectionClosed, connect, processException } from "wavesock";

const url = process.env.URL || "ws://127.0.0.1:8765";
// The defaults are Python websockets': a first retry within 5 s, then 3.1 s growing to 90 s.
const initialDelay = Number(process.env.INITIAL_DELAY_MS || 5000);
const minDelay = Number(process.env.MIN_DELAY_MS || 3100);

const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());

let connections = 0;
try {
  for await (const ws of connect(url, {
    signal: stop.signal,
    backoff: { initialDelay, minDelay },
    // The default policy decides; this wrapper only says what it decided.
    processException(err, { attempt, delay }) {
      const verdict = processException(err);
      if (verdict === undefined) console.log(`attempt ${attempt} failed (${describe(err)}); retrying in ${Math.round(delay)} ms`);
      return verdict;
    },
  })) {
    connections++;
    console.log(`connected to ${url} (connection ${connections})`);
    try {
      await ws.send(`hello from connection ${connections}`);
      for await (const message of ws) {
        console.log(`< ${typeof message === "string" ? message : `(${message.length} bytes of binary data)`}`);
      }
      console.log(`connection ${connections} closed (code ${ws.closeCode}); reconnecting`);
    } catch (err) {
      if (!(err instanceof ConnectionClosed)) throw err;
      console.log(`connection ${connections} lost (code ${err.closeCode}); reconnecting`);
    }
  }
} catch (err) {
  if (stop.signal.aborted) {
    console.log("stopped");
  } else {
    console.error(`error: ${describe(err)}`);
    process.exitCode = 1;
  }
}

/** @param {unknown} err */
function describe(err) {
  const code = /** @type {{ code?: unknown }} */ (err).code;
  return err instanceof Error ? `${typeof code === "string" ? `${code}: ` : ""}${err.message}` : String(err);
}
