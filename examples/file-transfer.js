// @ts-check
/**
 * Streaming a large file up and down: a file server and its client, in
 * constant memory whatever the file's size. Nothing is ever held whole:
 *
 * - An upload is one binary message the server reads as it arrives
 *   (`ws.recvStreaming()`) and pipes to disk; while the disk is slow, the
 *   pipe stops pulling, the connection stops reading its socket, and TCP
 *   stops the client.
 * - A download is one message sent from a file stream (`ws.send(readable)`):
 *   a fragment per chunk read, the next chunk read only once the socket has
 *   drained, each fragment compressed (RFC 7692) when the client agreed.
 *
 *   node examples/file-transfer.js                          # server on ws://127.0.0.1:8776, files in ./uploads
 *   DIR=/tmp/files node examples/file-transfer.js
 *   node examples/file-transfer.js upload big.iso           # client: URL env, default ws://127.0.0.1:8776
 *   node examples/file-transfer.js download big.iso copy.iso
 *
 * The protocol: the client sends {"op":"upload","name"} then the file as one
 * binary message, or {"op":"download","name"}; the server answers
 * {"ok":true,"name","bytes","sha256"} (after an upload; before a download's
 * file, which then follows as one message) or {"ok":false,"error"}.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { connect, serve } from "wavesock";

/** The largest upload accepted (bytes): over it, the connection fails with 1009. */
const MAX_UPLOAD = Number(process.env.MAX_UPLOAD || 16 * 1024 ** 3);

/**
 * Pass pieces through, counting and hashing them.
 * @param {{ bytes: number, hash: import("node:crypto").Hash }} tally
 */
function counted(tally) {
  /** @param {AsyncIterable<Uint8Array>} source */
  return async function* (source) {
    for await (const piece of source) {
      tally.bytes += piece.length;
      tally.hash.update(piece);
      yield piece;
    }
  };
}

/** A file name the server will use: no directories, nothing hidden. @param {unknown} name */
function safeName(name) {
  if (typeof name !== "string" || !/^[\w][\w.-]{0,200}$/.test(name)) throw new Error("bad file name");
  return name;
}

async function server() {
  const host = process.env.HOST || "127.0.0.1";
  const port = Number(process.env.PORT || 8776);
  const dir = path.resolve(process.env.DIR || "uploads");
  await mkdir(dir, { recursive: true });

  const srv = await serve(
    async (ws) => {
      for await (const command of ws) {
        let request;
        try {
          request = JSON.parse(String(command));
          const name = safeName(request.name);
          const file = path.join(dir, name);
          if (request.op === "upload") {
            // The next message is the file: read it as it arrives, to disk.
            const tally = { bytes: 0, hash: createHash("sha256") };
            const partial = `${file}.part`;
            await pipeline(ws.recvStreaming({ maxSize: MAX_UPLOAD, text: "bytes", binary: "buffer" }), counted(tally), createWriteStream(partial));
            await rename(partial, file);
            await ws.send(JSON.stringify({ ok: true, name, bytes: tally.bytes, sha256: tally.hash.digest("hex") }));
          } else if (request.op === "download") {
            const { size } = await stat(file);
            await ws.send(JSON.stringify({ ok: true, name, bytes: size }));
            await ws.send(createReadStream(file, { highWaterMark: 256 * 1024 }));
          } else {
            throw new Error(`unknown op ${JSON.stringify(request.op)}`);
          }
        } catch (err) {
          if (ws.state !== "open") return;
          await ws.send(JSON.stringify({ ok: false, error: /** @type {Error} */ (err).message }));
        }
      }
    },
    { host, port, compression: "deflate" },
  );
  console.log(`listening on ws://${host}:${srv.port}, files in ${dir}`);
  const stop = () => void srv.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** @param {string} op @param {string} name @param {string | undefined} out */
async function client(op, name, out) {
  const url = process.env.URL || "ws://127.0.0.1:8776";
  const ws = await connect(url, { maxSize: null });
  const started = performance.now();
  try {
    if (op === "upload") {
      await ws.send(JSON.stringify({ op, name: path.basename(name) }));
      await ws.send(createReadStream(name, { highWaterMark: 256 * 1024 }));
      const answer = JSON.parse(/** @type {string} */ (await ws.recv()));
      if (!answer.ok) throw new Error(answer.error);
      console.log(`uploaded ${answer.bytes} bytes in ${((performance.now() - started) / 1000).toFixed(1)} s, sha256 ${answer.sha256}`);
    } else {
      await ws.send(JSON.stringify({ op, name }));
      const answer = JSON.parse(/** @type {string} */ (await ws.recv()));
      if (!answer.ok) throw new Error(answer.error);
      const tally = { bytes: 0, hash: createHash("sha256") };
      await pipeline(ws.recvStreaming({ maxSize: null, text: "bytes", binary: "buffer" }), counted(tally), createWriteStream(out ?? name));
      console.log(`downloaded ${tally.bytes} bytes in ${((performance.now() - started) / 1000).toFixed(1)} s, sha256 ${tally.hash.digest("hex")}`);
    }
  } finally {
    await ws.close();
  }
}

const [op, name, out] = process.argv.slice(2);
if (op === undefined) await server();
else if ((op === "upload" || op === "download") && name !== undefined) {
  await client(op, name, out).catch((err) => {
    console.error(`${op} failed: ${err.message}`);
    process.exitCode = 1;
  });
} else {
  console.error("usage: node examples/file-transfer.js [upload <file> | download <name> [<out>]]");
  process.exitCode = 2;
}
