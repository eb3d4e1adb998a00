/**
 * Frame opcodes (RFC 6455 §5.2, §11.8).
 */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** One of the opcodes RFC 6455 defines. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RSV bits as they sit in the first header byte. */
export const RSV1 = 0x40;
/** RSV2 bit of the first header byte. */
export const RSV2 = 0x20;
/** RSV3 bit of the first header byte. */
export const RSV3 = 0x10;

/** §5.5: control frames have opcodes with the high bit set (0x8–0xF). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** True for the six opcodes RFC 6455 defines; 0x3–0x7 and 0xB–0xF are reserved. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}
