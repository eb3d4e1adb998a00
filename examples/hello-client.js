// @ts-check
/**
 * Hello client: connects, sends "Hello, World!", prints the reply, closes.
 *
 *   node examples/echo-server.js &              # in another terminal
 *   node examples/hello-client.js               # talks to ws://127.0.0.1:8765
 *   URL=wss://example.test/echo node examples/hello-client.js
 */
import { connect } from "wavesock";

const url = process.env.URL || "ws://127.0.0.1:8765";

try {
  const ws = await connect(url);
  console.log(`connected to ${url}`);

  await ws.send("Hello, World!");
  console.log("> Hello, World!");

  const reply = await ws.recv();
  console.log(`< ${typeof reply === "string" ? reply : `(${reply.length} bytes of binary data)`}`);

  await ws.close();
  console.log(`closed (code ${ws.closeCode})`);
} catch (err) {
  console.error(`error: ${err instanceof Error ? err.message : err}`);
  if (/ECONNREFUSED/.test(String(err))) console.error("is the server running? try: node examples/echo-server.js");
  process.exitCode = 1;
}
