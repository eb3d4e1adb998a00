// @ts-check
/**
 * Not a WebSocket library: the least a Node server can hold per open
 * connection. A `net` server that answers the opening handshake with a
 * fixed 101 (accept key computed, nothing checked) and keeps the socket
 * with a 'data' listener — what any Node WebSocket server pays before its
 * own objects (the `net.Socket`, its stream states, the TCP handle). It runs
 * on the idle row only, as the floor beside the libraries.
 *
 *   node bench/servers/net-floor.js --mode echo [--port 0]
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { parseArgs, ready } from "./control.js";

const args = parseArgs();
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** @type {Set<net.Socket>} */
const open = new Set();

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  let head = "";
  /** @param {Buffer} chunk */
  const onHead = (chunk) => {
    head += chunk.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    const key = (/sec-websocket-key: *([^\r]*)\r\n/i.exec(head)?.[1] ?? "").trim();
    const accept = createHash("sha1").update(key + GUID).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.off("data", onHead);
    socket.on("data", () => undefined);
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  };
  socket.on("data", onHead);
});

server.listen(args.port, args.host, () => {
  const address = server.address();
  ready(typeof address === "object" && address !== null ? address.port : 0, { impl: "Node floor", mode: args.mode });
});
