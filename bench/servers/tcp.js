// @ts-check
/**
 * The physical limit: a plain TCP echo server (bytes back as they come, no
 * WebSocket at all), measured with the same load generator in --raw mode.
 *
 *   node bench/servers/tcp.js [--port 0]
 */
import * as net from "node:net";
import { parseArgs, ready } from "./control.js";

const args = parseArgs();
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("error", () => socket.destroy());
});
server.listen(args.port, args.host, () => {
  const address = server.address();
  ready(typeof address === "object" && address !== null ? address.port : 0, { impl: "tcp" });
});
