// @ts-check
/**
 * The pub/sub rows of `npm run bench`, on their own: a thin wrapper that runs
 * bench/run.js with `--only topics,topics-4k,fanout` (build first: `npm run
 * build`). Every other option is passed on as it is:
 *
 *   node bench/pubsub/pubsub.js                        # the three rows, 3 repeats
 *   node bench/pubsub/pubsub.js --quick
 *   node bench/pubsub/pubsub.js --only fanout --repeats 1
 *
 * The rows (bench/lib/rows.js; bench/README.md says what they measure):
 * - topics / topics-4k: one process, 500 subscribers × 64 B and 100 × 4 KiB,
 *   wavesock's topics (bench/servers/wavesock-topics.js) beside uWS's and
 *   Bun's and wavesock's broadcast();
 * - fanout: two processes sharing the room through a real redis-server,
 *   wavesock's redisPubSub against socket.io + @socket.io/redis-adapter
 *   (bench/lib/fanout.js, bench/servers/socketio.js).
 *
 * (This file used to be a bench of its own, from before bench/run.js had a
 * registry; its rows now live there, measured by the same C load generator.)
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const runner = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), "run.js");
const args = process.argv.slice(2);
const only = args.some((a) => a === "--only" || a.startsWith("--only=")) ? [] : ["--only", "topics,topics-4k,fanout"];
const r = spawnSync(process.execPath, [runner, ...only, ...args], { stdio: "inherit" });
process.exit(r.status ?? 1);
