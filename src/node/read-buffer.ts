/**
 * Reading sockets into one buffer shared by every connection of the
 * process, instead of a fresh Buffer per read.
 *
 * A `net.Socket` normally gets each read as a new Buffer: Node allocates a
 * 64 KiB backing store, shrinks it to what was read, wraps it in an
 * ArrayBuffer and a Buffer, and pushes it through the socket's Readable
 * stream to its 'data' listeners — per read, per connection, work and
 * garbage that a WebSocket server with many small messages pays on every
 * message. Node also knows a cheaper mode, the one `net.Socket`'s `onread:
 * { buffer, callback }` option selects: libuv reads straight into a given
 * buffer and a callback gets the byte count, no allocation, no stream.
 * Reads are handled one at a time on the event loop, so one buffer serves
 * every socket: nothing of a read outlives its callback here (the core is
 * told the chunk is borrowed and copies what it keeps: message payloads,
 * fused with unmasking, and held input).
 *
 * `onread` is a constructor option, and the sockets a `net.Server` accepts
 * are made by Node. This module switches an existing socket to that mode
 * the way the constructor does: the socket's handle is given the buffer
 * (`useUserBuffer`) and the socket the callback, in the properties Node's
 * own read path (`onStreamRead`) looks at. Those are Node internals, found
 * by name at run time; where they are not found (another Node, another
 * runtime), for TLS sockets (whose reads are decrypted by a stream of their
 * own), or when turned off ({@link useSharedReadBuffer}), nothing changes
 * and the connection reads 'data' events as before. Reading stops and
 * starts as usual (`pause()` / `resume()` stop and start the handle in this
 * mode), and 'end' / 'close' are emitted as usual.
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { unmaskingArena } from "../frame/mask.js";

/**
 * Bytes per read: what the shared buffer holds. Larger than the 64 KiB Node
 * reads by default: one buffer for the process costs nothing per
 * connection, and large messages come in fewer reads (echo of 64 KiB
 * messages: −10 % CPU per message with 256 KiB against 64 KiB, 1 MiB
 * messages −13 %; 1 MiB reads gained nothing more).
 */
export const READ_BUFFER_SIZE = 256 * 1024;

/** The Node internals the switch uses, found on the first socket (undefined: not looked for yet). */
interface ReadSymbols {
  buffer: symbol;
  callback: symbol;
}
let symbols: ReadSymbols | null | undefined;
let enabled = true;
let shared: Uint8Array | null = null;

/** The socket's native handle, as far as this module uses it. */
interface StreamHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/**
 * Allow (the default) or forbid reading into the shared buffer, for sockets
 * set up from now on. Forbidden, connections read 'data' events (what a
 * runtime without the internals gets): tests use it to exercise that path.
 */
export function useSharedReadBuffer(on: boolean): void {
  enabled = on;
}

/** A read callback: `this` is the socket. */
export type SharedReadCallback = (this: Socket, chunk: Uint8Array) => void;

/** The function Node calls for each read (`socket[kBufferCb](nread, buffer)`), one per callback: no closure per socket. */
const readers = new Map<SharedReadCallback, (this: Socket, nread: number, buf: Uint8Array) => void>();

/**
 * Switch `socket`'s reads to the shared buffer: `onRead` is called on the
 * socket with each read as a view of it, valid until `onRead` returns.
 * Returns false, changing nothing, where this is not possible (see the
 * module comment). Data the socket's stream already holds stays there and
 * comes as 'data' events when the socket is resumed: a caller that may find
 * some must listen for them.
 */
export function readIntoSharedBuffer(socket: Socket, onRead: SharedReadCallback): boolean {
  if (!enabled || (socket as { encrypted?: boolean }).encrypted === true) return false;
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (handle == null || typeof handle.useUserBuffer !== "function") return false;
  if (symbols === undefined) symbols = findSymbols(socket);
  if (symbols === null) return false;
  const s = socket as unknown as Record<symbol, unknown>;
  const buffer = (shared ??= sharedBuffer());
  // Already reading into it (since the handshake): only the callback changes.
  const already = s[symbols.buffer] === buffer;
  // A socket made with its own `onread` keeps it.
  if (!already && s[symbols.buffer] !== null) return false;
  s[symbols.buffer] = buffer;
  let reader = readers.get(onRead);
  if (reader === undefined) {
    reader = function (this: Socket, nread: number, buf: Uint8Array): void {
      onRead.call(this, buf.subarray(0, nread));
    };
    readers.set(onRead, reader);
  }
  s[symbols.callback] = reader;
  if (!already) handle.useUserBuffer(buffer);
  return true;
}

/**
 * The shared buffer: in the WASM masker's memory where there is one, so a
 * server unmasks payloads straight out of what it read (no copy into wasm
 * memory first; src/frame/mask.ts), else an ordinary one.
 */
function sharedBuffer(): Buffer {
  const arena = unmaskingArena(READ_BUFFER_SIZE);
  return arena !== null ? Buffer.from(arena.buffer, arena.byteOffset, arena.length) : Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
}

/**
 * The properties a `net.Socket` keeps for its `onread` option: own symbol
 * properties every socket has (null until set), named `kBuffer`,
 * `kBufferCb` and `kBufferGen` in Node 12 to 24. Null when not all three
 * are there, or when one is already set to something unexpected.
 */
function findSymbols(socket: Socket): ReadSymbols | null {
  const own = Object.getOwnPropertySymbols(socket);
  const named = (name: string) => own.find((sym) => sym.description === name);
  const buffer = named("kBuffer");
  const callback = named("kBufferCb");
  const generator = named("kBufferGen");
  if (buffer === undefined || callback === undefined || generator === undefined) return null;
  const s = socket as unknown as Record<symbol, unknown>;
  if (s[buffer] !== null || s[callback] !== null || s[generator] !== null) return null;
  return { buffer, callback };
}

/** True when `socket` reads into the shared buffer (for tests and diagnostics). */
export function readsIntoSharedBuffer(socket: Socket): boolean {
  if (symbols == null || shared === null) return false;
  return (socket as unknown as Record<symbol, unknown>)[symbols.buffer] === shared;
}

/** The shared buffer, once a socket reads into it (for tests and diagnostics). */
export function sharedReadBuffer(): Uint8Array | null {
  return shared;
}
