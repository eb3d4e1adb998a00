// @ts-check
/**
 * A monitoring dashboard pushing to many clients.
 *
 * One timer samples the server process (memory, load average, event-loop
 * delay, number of subscribers) every SAMPLE_MS milliseconds and hands the
 * sample to `broadcast()`, which frames it once and writes it to every
 * subscriber without waiting for any of them. A subscriber that stops
 * reading fills its write buffer; once that is over the high water mark
 * (16 KiB here) `broadcast()` skips it, and counts it in its return value,
 * instead of buffering without bound. The sample after a skip reports it.
 *
 * Open http://127.0.0.1:8771/ in a browser for a live view, or connect a
 * WebSocket client to ws://127.0.0.1:8771/.
 *
 *   node examples/dashboard.js                  # samples every second
 *   SAMPLE_MS=250 node examples/dashboard.js
 */
import * as os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { broadcast, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8771);
const sampleMs = Number(process.env.SAMPLE_MS || 1000);

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const MiB = 1024 * 1024;
/** @param {number} x */
const round = (x) => Math.round(x * 100) / 100;

let seq = 0;
let subscribers = 0;
let skippedLastTime = 0;
/** The latest sample as sent, for subscribers who just arrived. */
let latest = "";

function takeSample() {
  const memory = process.memoryUsage();
  const sample = {
    type: "sample",
    seq: ++seq,
    time: new Date().toISOString(),
    uptimeSeconds: round(process.uptime()),
    subscribers,
    skipped: skippedLastTime,
    memoryMiB: { rss: round(memory.rss / MiB), heapUsed: round(memory.heapUsed / MiB), heapTotal: round(memory.heapTotal / MiB) },
    loadAverage: os.loadavg().map(round),
    eventLoopDelayMs: round(loopDelay.percentile(99) / 1e6),
  };
  loopDelay.reset();
  return sample;
}

function publish() {
  latest = JSON.stringify(takeSample());
  skippedLastTime = broadcast(server.connections, latest);
  if (skippedLastTime > 0) console.log(`sample ${seq}: skipped ${skippedLastTime} slow subscriber(s)`);
}

/** @param {import("wavesock").Connection} ws */
async function subscriber(ws) {
  subscribers++;
  console.log(`subscriber connected (${subscribers} in all)`);
  try {
    // Send the latest numbers at once, instead of leaving the new subscriber
    // with an empty screen until the next sample.
    if (latest) await ws.send(latest);
    // Subscribers have nothing to say: read (and drop) until they leave.
    for await (const _ of ws);
  } finally {
    subscribers--;
    console.log(`subscriber left (${subscribers} remaining)`);
  }
}

/**
 * `GET /` without an upgrade gets the HTML page; a WebSocket upgrade on `/`
 * subscribes; anything else is a 404.
 * @param {import("wavesock").PendingConnection} connection
 * @param {import("wavesock").HttpRequest} request
 * @returns {import("wavesock").HttpResponse | undefined}
 */
function processRequest(connection, request) {
  const path = request.path.split("?", 1)[0];
  if (path !== "/") return connection.respond(404, "Not Found\n");
  if (/\bwebsocket\b/i.test(request.headers["upgrade"] ?? "")) return undefined;
  return {
    status: 200,
    reason: "OK",
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
    body: Buffer.from(PAGE, "utf8"),
  };
}

const server = await serve(subscriber, {
  host,
  port,
  processRequest,
  // Broadcast skips a subscriber once this many bytes wait for it.
  writeHighWaterMark: 16 * 1024,
});
const timer = setInterval(publish, sampleMs);

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing the server`);
  clearInterval(timer);
  loopDelay.disable();
  await server.close();
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
const address = `${host.includes(":") ? `[${host}]` : host}:${server.port}`;
console.log(`listening on ws://${address} (page at http://${address}/, a sample every ${sampleMs} ms)`);

// The browser view: a table of the latest sample, reconnecting if the server goes away.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wavesock dashboard</title>
<link rel="icon" href="data:,">
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 32rem; padding: 0 1rem; color: #1d2330; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d5d9e2; }
  td { font-variant-numeric: tabular-nums; }
  #status { color: #4a5468; }
</style>
</head>
<body>
<h1>Server dashboard</h1>
<p id="status" role="status">Connecting…</p>
<table>
  <tbody>
    <tr><th scope="row">Subscribers</th><td id="subscribers">–</td></tr>
    <tr><th scope="row">Skipped (slow)</th><td id="skipped">–</td></tr>
    <tr><th scope="row">Memory (RSS)</th><td id="rss">–</td></tr>
    <tr><th scope="row">Heap used / total</th><td id="heap">–</td></tr>
    <tr><th scope="row">Load average</th><td id="load">–</td></tr>
    <tr><th scope="row">Event-loop delay (p99)</th><td id="delay">–</td></tr>
    <tr><th scope="row">Uptime</th><td id="uptime">–</td></tr>
  </tbody>
</table>
<script>
  const show = (id, text) => { document.getElementById(id).textContent = text; };
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/");
    ws.onopen = () => show("status", "Live");
    ws.onmessage = (event) => {
      const s = JSON.parse(event.data);
      show("subscribers", s.subscribers);
      show("skipped", s.skipped);
      show("rss", s.memoryMiB.rss + " MiB");
      show("heap", s.memoryMiB.heapUsed + " / " + s.memoryMiB.heapTotal + " MiB");
      show("load", s.loadAverage.join("  "));
      show("delay", s.eventLoopDelayMs + " ms");
      show("uptime", Math.round(s.uptimeSeconds) + " s");
    };
    ws.onclose = () => {
      show("status", "Disconnected, retrying…");
      setTimeout(connect, 2000);
    };
  }
  connect();
</script>
</body>
</html>
`;
