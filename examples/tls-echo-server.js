// @ts-check
/**
 * Echo server over TLS (wss://).
 *
 * It reads its private key and certificate (PEM files) from the paths in
 * TLS_KEY and TLS_CERT. For a local test, make a self-signed pair:
 *
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
 *     -keyout key.pem -out cert.pem -days 30 -subj /CN=localhost \
 *     -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
 *   TLS_KEY=key.pem TLS_CERT=cert.pem node examples/tls-echo-server.js
 *
 * A client must trust that certificate, e.g. with wavesock:
 *   connect("wss://localhost:8767", { tls: { ca: readFileSync("cert.pem") } })
 */
import { readFileSync } from "node:fs";
import { serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8767);
const keyFile = process.env.TLS_KEY;
const certFile = process.env.TLS_CERT;

if (!keyFile || !certFile) {
  console.error("TLS_KEY and TLS_CERT must name a PEM private key and certificate, e.g.");
  console.error("  TLS_KEY=key.pem TLS_CERT=cert.pem node examples/tls-echo-server.js");
  console.error("(the comment at the top of this file shows how to make a self-signed pair with openssl)");
  process.exit(1);
}

/** @param {import("wavesock").Connection} ws */
async function echo(ws) {
  const peer = `${ws.remoteAddress}:${ws.remotePort}`;
  console.log(`${peer} connected`);
  try {
    for await (const message of ws) await ws.send(message);
  } finally {
    console.log(`${peer} disconnected (code ${ws.closeCode})`);
  }
}

const server = await serve(echo, {
  host,
  port,
  tls: { key: readFileSync(keyFile), cert: readFileSync(certFile) },
});

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing the server`);
  await server.close();
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
console.log(`listening on wss://${host.includes(":") ? `[${host}]` : host}:${server.port}`);
