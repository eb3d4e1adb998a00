// @ts-check
/**
 * Prometheus metrics on the same HTTP server as the WebSocket endpoint:
 * `attach()` takes the upgrades on /ws (an echo), the HTTP server answers
 * GET /metrics with `server.stats()` in the Prometheus text format, plus a
 * histogram of handshake durations fed by the `wavesock:server:handshake`
 * diagnostics channel.
 *
 *   node examples/metrics.js                       # http://127.0.0.1:8775/metrics, ws://127.0.0.1:8775/ws
 *   curl -s http://127.0.0.1:8775/metrics
 *
 * A Prometheus scrape config: `static_configs: [{ targets: ["127.0.0.1:8775"] }]`.
 */
import * as diagnostics from "node:diagnostics_channel";
import * as http from "node:http";
import { attach, diagnosticChannels } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8775);

// Handshake durations, in seconds, from the diagnostics channel.
const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const buckets = BUCKETS.map(() => 0);
let handshakeCount = 0;
let handshakeSum = 0;
diagnostics.subscribe(diagnosticChannels.handshake, (message) => {
  const { duration } = /** @type {import("wavesock").HandshakeDiagnostic} */ (message);
  const seconds = duration / 1000;
  handshakeCount++;
  handshakeSum += seconds;
  BUCKETS.forEach((le, i) => {
    if (seconds <= le) buckets[i]++;
  });
});

/**
 * The exposition format: https://prometheus.io/docs/instrumenting/exposition_formats/
 * @param {import("wavesock").ServerStats} s
 */
function render(s) {
  /** @type {string[]} */
  const out = [];
  /**
   * @param {string} name @param {"counter" | "gauge"} type @param {string} help
   * @param {[Record<string, string | number>, number][]} samples
   */
  const metric = (name, type, help, samples) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",");
      out.push(`${name}${l ? `{${l}}` : ""} ${value}`);
    }
  };
  metric("wavesock_connections", "gauge", "WebSocket connections open now.", [[{}, s.connections]]);
  metric("wavesock_connections_opened_total", "counter", "WebSocket connections opened.", [[{}, s.connectionsOpened]]);
  metric("wavesock_handshakes_total", "counter", "Opening handshakes by outcome and HTTP status.", [
    [{ outcome: "accepted", status: 101 }, s.handshakes.accepted],
    ...Object.entries(s.handshakes.refused).map(([status, n]) => /** @type {[Record<string, string>, number]} */ ([{ outcome: "refused", status }, n])),
    [{ outcome: "unanswered", status: "none" }, s.handshakes.unanswered],
  ]);
  metric("wavesock_messages_received_total", "counter", "Messages received.", [[{}, s.messagesIn]]);
  metric("wavesock_messages_sent_total", "counter", "Messages sent.", [[{}, s.messagesOut]]);
  metric("wavesock_received_bytes_total", "counter", "Bytes read from WebSocket sockets.", [[{}, s.bytesIn]]);
  metric("wavesock_sent_bytes_total", "counter", "Bytes written to WebSocket sockets.", [[{}, s.bytesOut]]);
  metric("wavesock_closes_total", "counter", "Closed connections by close code.", Object.entries(s.closes).map(([code, n]) => [{ code }, n]));
  out.push("# HELP wavesock_handshake_duration_seconds Opening handshake duration.", "# TYPE wavesock_handshake_duration_seconds histogram");
  BUCKETS.forEach((le, i) => out.push(`wavesock_handshake_duration_seconds_bucket{le="${le}"} ${buckets[i]}`));
  out.push(`wavesock_handshake_duration_seconds_bucket{le="+Inf"} ${handshakeCount}`);
  out.push(`wavesock_handshake_duration_seconds_sum ${handshakeSum}`, `wavesock_handshake_duration_seconds_count ${handshakeCount}`);
  return `${out.join("\n")}\n`;
}

const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(render(wss.stats()));
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" }).end("Not Found\n");
});

/** @param {import("wavesock").Connection} ws */
async function echo(ws) {
  for await (const message of ws) await ws.send(message);
}
const wss = attach(httpServer, echo, { path: "/ws" });

await new Promise((resolve) => httpServer.listen(port, host, () => resolve(undefined)));
const address = /** @type {import("node:net").AddressInfo} */ (httpServer.address());
console.log(`listening on http://${host.includes(":") ? `[${host}]` : host}:${address.port} (metrics at /metrics, WebSocket at /ws)`);

let stopping = false;
async function shutdown() {
  if (stopping) process.exit(1);
  stopping = true;
  await wss.close(); // 1001 to the clients; the HTTP server is ours to close
  await new Promise((resolve) => httpServer.close(resolve));
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
