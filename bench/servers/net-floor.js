// @ts-check
/**
 * Not a WebSocket library: the least a Node server can do per connection.
 * A `net` server that answers the opening handshake with a fixed 101
 * (accept key computed, nothing checked), keeps the socket with a 'data'
 * listener, and answers any frame after it with a close frame and the end of
 * the connection — what any Node WebSocket server pays before its own work
 * (the `net.Socket`, its stream states, the TCP handle, accept and close).
 * It runs on the idle and connect rows only, as the floor beside the
 * libraries.
 *
 *   node bench/servers/net-floor.js --mode echo [--port 0]
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { parseArgs, ready } from "./control.js";

const args = parseArgs();
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const CLOSE = Buffer.from([0x88, 0x02, 0x03, 0xe8]);
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
    // The generator's close frame (or anything): close 1000 and end.
    socket.on("data", () => socket.end(CLOSE));
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  };
  socket.on("data", onHead);
});

server.listen(args.port, args.host, () => {
  const address = server.address();
  ready(typeof address === "object" && address !== null ? address.port : 0, { impl: "Node floor", mode: args.mode });
});
