// @ts-check
/**
 * The Autobahn|Testsuite testee for wavesock's server: an echo server for
 * `wstest -m fuzzingclient` (see fuzzingclient.json).
 *
 *   node autobahn/server.js [--port 9001] [--host 127.0.0.1]
 *
 * Text is echoed as text and binary as binary, exactly as received;
 * permessage-deflate is on (wavesock's default offer handling); messages up
 * to 16 MiB (Autobahn's largest, category 9); no keepalive pings (they would
 * show up in the test cases' traffic). Runs until killed (SIGINT/SIGTERM:
 * graceful close).
 *
 * Uses the built package (`npm run build`): `wavesock` resolves to dist/.
 */
import { serve } from "wavesock";
import { parseArgs } from "./args.js";

const args = parseArgs(process.argv.slice(2), { port: "9001", host: "127.0.0.1" });
const port = Number(args["port"]);
const host = String(args["host"]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port: ${String(args["port"])}`);
  process.exit(2);
}

const server = await serve(
  async (ws) => {
    for await (const message of ws) await ws.send(message);
  },
  {
    host,
    port,
    compression: "deflate",
    maxSize: 16 * 1024 * 1024,
    pingInterval: null,
    logger: console,
  },
);

console.log(`wavesock echo server for Autobahn|Testsuite listening on ws://${host}:${server.port}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
  // Don't hang on a peer that never closes.
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
