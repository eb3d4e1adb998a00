// @ts-check
/**
 * Client through a proxy: connects to URL through PROXY — an HTTP proxy
 * (`http://[user:pass@]host:port`, HTTP CONNECT) or a SOCKS5 one
 * (`socks5://...`, names resolved here; `socks5h://...`, names resolved by
 * the proxy) — sends a message and prints the reply. Without PROXY, the
 * proxy comes from the environment as curl reads it (`https_proxy` for
 * wss://, `http_proxy` for ws://, `all_proxy`, `no_proxy`).
 *
 *   PROXY=http://127.0.0.1:3128 node examples/proxy-client.js
 *   PROXY=socks5h://user:secret@127.0.0.1:1080 URL=wss://example.test/echo node examples/proxy-client.js
 *   https_proxy=http://proxy.internal:3128 URL=wss://example.test/echo node examples/proxy-client.js
 */
import { ProxyError, connect } from "wavesock";

const url = process.env.URL || "ws://127.0.0.1:8765";
const proxy = process.env.PROXY;

try {
  const ws = await connect(url, proxy ? { proxy } : {});
  console.log(`connected to ${url} ${proxy ? `through ${new URL(proxy).protocol.slice(0, -1)} proxy ${new URL(proxy).host}` : "(proxy from the environment, if any)"}`);
  await ws.send("Hello through the proxy!");
  const reply = await ws.recv();
  console.log(`< ${typeof reply === "string" ? reply : `(${reply.length} bytes of binary data)`}`);
  await ws.close();
} catch (err) {
  if (err instanceof ProxyError) {
    // WS_ERR_PROXY_AUTH: credentials; WS_ERR_PROXY_TARGET: the proxy cannot reach the server.
    console.error(`proxy error (${err.code}): ${err.message}`);
  } else {
    console.error(`error: ${err instanceof Error ? err.message : err}`);
  }
  process.exitCode = 1;
}
