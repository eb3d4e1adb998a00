import { Protocol, type ProtocolEvent, type ProtocolOptions } from "../../src/connection/protocol.js";

/** Copies every buffer: the receiving core takes ownership of what it is fed. */
export function transmit(from: Protocol, to: Protocol, split?: (bytes: Uint8Array) => Uint8Array[]): void {
  const bufs = from.dataToSend();
  if (bufs.length === 0) return;
  const bytes = Uint8Array.from(Buffer.concat(bufs));
  for (const piece of split ? split(bytes) : [bytes]) to.receiveData(Uint8Array.from(piece));
}

/** Every event queued on `p`. */
export function drain(p: Protocol): ProtocolEvent[] {
  const out: ProtocolEvent[] = [];
  let ev;
  while ((ev = p.nextEvent()) !== undefined) out.push(ev);
  return out;
}

/** A client and a server core wired together in memory (quinn's `Pair`). */
export class Pair {
  readonly client: Protocol;
  readonly server: Protocol;
  constructor(clientOptions: ProtocolOptions = {}, serverOptions: ProtocolOptions = {}) {
    this.client = new Protocol("client", clientOptions);
    this.server = new Protocol("server", serverOptions);
  }
  /** Move bytes both ways until neither side has anything to send. */
  pump(split?: (bytes: Uint8Array) => Uint8Array[]): void {
    for (let i = 0; i < 100; i++) {
      if (!this.client.hasDataToSend && !this.server.hasDataToSend) return;
      transmit(this.client, this.server, split);
      transmit(this.server, this.client, split);
    }
    throw new Error("pump did not settle");
  }
}

/** Serialize frames the way a (possibly broken) peer would, for feeding raw bytes to a core. */
export function rawFrame(opcode: number, payload: Uint8Array, opts: { fin?: boolean; rsv?: number; masked?: boolean } = {}): Uint8Array {
  const masked = opts.masked ?? true;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + (masked ? 4 : 0) + len);
  out[0] = ((opts.fin ?? true) ? 0x80 : 0) | (opts.rsv ?? 0) | opcode;
  out[1] = (masked ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  let p = 2;
  if (ext === 2) {
    out[p++] = len >> 8;
    out[p++] = len & 0xff;
  } else if (ext === 8) {
    p += 4;
    out[p++] = len >>> 24;
    out[p++] = (len >> 16) & 0xff;
    out[p++] = (len >> 8) & 0xff;
    out[p++] = len & 0xff;
  }
  const key = [0x12, 0x34, 0x56, 0x78];
  if (masked) for (const k of key) out[p++] = k;
  for (let i = 0; i < len; i++) out[p + i] = masked ? payload[i]! ^ key[i & 3]! : payload[i]!;
  return out;
}
