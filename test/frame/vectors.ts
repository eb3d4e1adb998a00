/**
 * Frame vectors shared by the parser and serializer tests: RFC 6455 §5.7's
 * examples and our own, as hex.
 */
export interface FrameVector {
  name: string;
  hex: string;
  fin: boolean;
  rsv: number;
  opcode: number;
  /** Unmasked payload. */
  payload: Uint8Array;
  /** Masking key, when the frame is masked. */
  key?: number[];
}

const hello = new TextEncoder().encode("Hello");
const KEY = [0x37, 0xfa, 0x21, 0x3d];

function repeatHex(byte: string, n: number): string {
  return byte.repeat(n);
}

export const vectors: FrameVector[] = [
  // RFC 6455 §5.7 examples.
  { name: "§5.7 single-frame unmasked text", hex: "810548656c6c6f", fin: true, rsv: 0, opcode: 1, payload: hello },
  { name: "§5.7 single-frame masked text", hex: "818537fa213d7f9f4d5158", fin: true, rsv: 0, opcode: 1, payload: hello, key: KEY },
  { name: "§5.7 fragmented text, first", hex: "010348656c", fin: false, rsv: 0, opcode: 1, payload: hello.subarray(0, 3) },
  { name: "§5.7 fragmented text, last", hex: "80026c6f", fin: true, rsv: 0, opcode: 0, payload: hello.subarray(3) },
  { name: "§5.7 unmasked ping", hex: "890548656c6c6f", fin: true, rsv: 0, opcode: 9, payload: hello },
  { name: "§5.7 masked pong", hex: "8a8537fa213d7f9f4d5158", fin: true, rsv: 0, opcode: 10, payload: hello, key: KEY },
  {
    name: "§5.7 256-byte binary (16-bit length)",
    hex: "827e0100" + repeatHex("ab", 256),
    fin: true,
    rsv: 0,
    opcode: 2,
    payload: new Uint8Array(256).fill(0xab),
  },
  {
    name: "§5.7 64 KiB binary (64-bit length)",
    hex: "827f0000000000010000" + repeatHex("cd", 65536),
    fin: true,
    rsv: 0,
    opcode: 2,
    payload: new Uint8Array(65536).fill(0xcd),
  },
  // Our own.
  { name: "empty binary", hex: "8200", fin: true, rsv: 0, opcode: 2, payload: new Uint8Array(0) },
  { name: "empty masked close", hex: "888001020304", fin: true, rsv: 0, opcode: 8, payload: new Uint8Array(0), key: [1, 2, 3, 4] },
  { name: "close 1000 'ok'", hex: "880403e86f6b", fin: true, rsv: 0, opcode: 8, payload: Uint8Array.of(0x03, 0xe8, 0x6f, 0x6b) },
  { name: "125-byte ping (7-bit max)", hex: "897d" + repeatHex("00", 125), fin: true, rsv: 0, opcode: 9, payload: new Uint8Array(125) },
  { name: "126 bytes (16-bit min)", hex: "827e007e" + repeatHex("01", 126), fin: true, rsv: 0, opcode: 2, payload: new Uint8Array(126).fill(1) },
  {
    name: "65535 bytes (16-bit max)",
    hex: "827effff" + repeatHex("02", 65535),
    fin: true,
    rsv: 0,
    opcode: 2,
    payload: new Uint8Array(65535).fill(2),
  },
  { name: "RSV1 text (compressed)", hex: "c1024869", fin: true, rsv: 0x40, opcode: 1, payload: Uint8Array.of(0x48, 0x69) },
  {
    name: "masked 4-byte continuation, key 0xffffffff",
    hex: "8084ffffffff00ff55aa",
    fin: true,
    rsv: 0,
    opcode: 0,
    payload: Uint8Array.of(0xff, 0x00, 0xaa, 0x55),
    key: [0xff, 0xff, 0xff, 0xff],
  },
];

/** Parse a hex string into bytes. */
export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** Bytes as a hex string. */
export function toHex(bytes: Uint8Array | readonly Uint8Array[]): string {
  const list = bytes instanceof Uint8Array ? [bytes] : bytes;
  return list.map((b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex")).join("");
}
