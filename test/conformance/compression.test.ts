/**
 * permessage-deflate (RFC 7692; Autobahn|Testsuite categories 12 and 13 in
 * spirit), against both wavesock adapters over loopback TCP. The raw peer
 * compresses with Node's zlib directly — `deflateRawSync` with the 4-octet
 * `00 00 ff ff` tail removed for a message without context takeover, one
 * persistent `createDeflateRaw` flushed with Z_SYNC_FLUSH for context
 * takeover — and decodes what wavesock sends with an inflater of exactly the
 * negotiated window, so a wavesock compressor that used a larger window, or
 * carried context it said it would not, fails the decode.
 *
 * - Negotiation: each parameter (server_no_context_takeover,
 *   client_no_context_takeover, server_max_window_bits=8..15,
 *   client_max_window_bits with and without a value), alone and together;
 *   the response is checked against the offer (§7.1); invalid offers are
 *   declined (§5.1); the client refuses responses that do not fit its offer.
 * - Messages: text and binary, empty to 128 KiB, repeated (context takeover
 *   matters), mixed with uncompressed messages, fragmented.
 * - Violations: RSV1 when the extension was not negotiated → 1002; RSV1 on a
 *   continuation frame or a control frame → 1002 (§6.1); RSV2/RSV3 → 1002;
 *   undecodable data → 1007; invalid UTF-8 after inflating → 1007; a message
 *   that inflates beyond maxSize → 1009.
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidHandshake } from "../../src/index.js";
import { PeerDeflater, PeerInflater, deflateMessage } from "./deflate.js";
import { OP, RSV1, RSV2, RSV3 } from "./frames.js";
import {
  SIDES,
  cleanup,
  expectAppClosed,
  expectClose,
  expectFrame,
  open,
  readMessage,
  type Side,
  type Testee,
  type TesteeOptions,
} from "./peer.js";

afterEach(cleanup);

// --------------------------------------------------------------- helpers --

type Params = Map<string, string | null>;

/** Parse a Sec-WebSocket-Extensions value into its elements. */
function parseExtensions(header: string | undefined): { name: string; params: Params }[] {
  if (header === undefined || header.trim() === "") return [];
  return header.split(",").map((element) => {
    const [name, ...rest] = element.split(";").map((s) => s.trim());
    const params: Params = new Map();
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq < 0) params.set(p.toLowerCase(), null);
      else params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1"));
    }
    return { name: name!.toLowerCase(), params };
  });
}

/** What each end's compressor may do, as agreed. */
interface Agreement {
  /** The raw peer's compressor: window bits and whether it resets per message. */
  peerBits: number;
  peerNoContext: boolean;
  /** wavesock's compressor. */
  wsBits: number;
  wsNoContext: boolean;
}

/** Codecs the raw peer uses for one connection. */
class PeerCodec {
  private deflater: PeerDeflater | null;
  private inflater: PeerInflater | null;
  constructor(readonly a: Agreement) {
    this.deflater = a.peerNoContext ? null : new PeerDeflater(a.peerBits);
    this.inflater = a.wsNoContext ? null : new PeerInflater(a.wsBits);
  }
  compress(data: Buffer): Promise<Buffer> {
    return this.deflater ? this.deflater.compress(data) : Promise.resolve(deflateMessage(data, this.a.peerBits));
  }
  async decompress(payload: Buffer): Promise<Buffer> {
    if (this.inflater) return this.inflater.decompress(payload);
    // No context takeover: each message must decode on its own.
    return inflateOnce(payload, this.a.wsBits);
  }
  close(): void {
    this.deflater?.close();
    this.inflater?.close();
  }
}

/** Messages whose compression depends on context takeover: shared vocabulary, repeats. */
function corpus(): { text: boolean; data: Buffer; compress: boolean }[] {
  const words = ["wavesock", "permessage", "deflate", "context", "takeover", "window", "bits", "κόσμε", "😀", "frame"];
  const sentence = (n: number, seed: number) => {
    let s = "";
    for (let i = 0; s.length < n; i++) s += words[(i * 7 + seed * 3 + (i >> 2)) % words.length] + (i % 5 === 4 ? ". " : " ");
    return Buffer.from(s, "utf8").subarray(0, n);
  };
  const binary = (n: number, seed: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i % 64 < 32 ? i * seed : (i >> 6) + seed) & 0xff;
    return b;
  };
  const fixUtf8 = (b: Buffer) => Buffer.from(b.toString("utf8").replace(/\uFFFD/g, "?"), "utf8");
  const out: { text: boolean; data: Buffer; compress: boolean }[] = [];
  for (const size of [0, 1, 16, 64, 256, 1024, 4096, 16384, 65536, 131072]) {
    out.push({ text: true, data: fixUtf8(sentence(size, size)), compress: true });
    out.push({ text: false, data: binary(size, size % 251), compress: true });
  }
  // Repeats: the second copy is almost free with context takeover.
  const repeated = fixUtf8(sentence(3000, 1));
  out.push({ text: true, data: repeated, compress: true }, { text: true, data: repeated, compress: true });
  // Uncompressed messages in between do not enter either window.
  out.push({ text: true, data: fixUtf8(sentence(500, 2)), compress: false });
  out.push({ text: true, data: repeated, compress: true });
  out.push({ text: false, data: binary(5000, 3), compress: false });
  out.push({ text: false, data: binary(5000, 3), compress: true });
  return out;
}

/** Send the corpus compressed as agreed and check every echo, decoded with the agreed window. */
async function roundTrip(t: Testee, a: Agreement): Promise<void> {
  const codec = new PeerCodec(a);
  try {
    const messages = corpus();
    for (const m of messages) {
      const payload = m.compress ? await codec.compress(m.data) : m.data;
      await t.peer.send(m.text ? OP.TEXT : OP.BINARY, payload, { rsv: m.compress ? RSV1 : 0 });
      const echo = await readMessage(t.peer, 10_000);
      expect(echo.opcode).toBe(m.text ? OP.TEXT : OP.BINARY);
      const data = echo.rsv === RSV1 ? await codec.decompress(echo.payload) : echo.payload;
      expect(echo.rsv & (RSV2 | RSV3)).toBe(0);
      expect(data.length).toBe(m.data.length);
      expect(data.equals(m.data), `echo of a ${m.data.length}-byte message`).toBe(true);
      // wavesock compresses what is worth compressing (large and compressible).
      if (m.data.length >= 1024) expect(echo.rsv, `RSV1 on the echo of ${m.data.length} bytes`).toBe(RSV1);
    }
    expect(t.received).toHaveLength(messages.length);
  } finally {
    codec.close();
  }
}

const pmd = "permessage-deflate";

/** Open with compression negotiated: side "server" offers `offer`; side "client" answers with `response`. */
async function negotiated(side: Side, offer: string, response: string, extra: TesteeOptions = {}): Promise<Testee> {
  return side === "server" ? open(side, { offer, ...extra }) : open(side, { accept: response, ...extra });
}

/** RFC 7692 §7.1: known parameters only, each once, with the values the RFC allows. */
function validOffer(params: Params): boolean {
  for (const [k, v] of params) {
    if (k === "server_no_context_takeover" || k === "client_no_context_takeover") {
      if (v !== null) return false;
    } else if (k === "server_max_window_bits") {
      if (v === null || !/^(?:[89]|1[0-5])$/.test(v)) return false;
    } else if (k === "client_max_window_bits") {
      if (v !== null && !/^(?:[89]|1[0-5])$/.test(v)) return false;
    } else {
      return false;
    }
  }
  return true;
}

/** Derive the agreement for the server side from the offer and wavesock's response, checking the response (§7.1). */
function serverAgreement(offerHeader: string, responseHeader: string | undefined): Agreement {
  const offers = parseExtensions(offerHeader).filter((o) => o.name === pmd);
  const accepted = parseExtensions(responseHeader);
  expect(accepted.map((e) => e.name), "Sec-WebSocket-Extensions in the response").toEqual([pmd]);
  const r = accepted[0]!.params;
  // The offer accepted: the first valid one (§5.1: invalid offers are declined).
  const offer = offers.find((o) => validOffer(o.params))!.params;
  for (const [k, v] of r) {
    expect(["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"]).toContain(k);
    if (k.endsWith("_bits")) expect(v).toMatch(/^(?:[89]|1[0-5])$/);
    else expect(v).toBeNull();
  }
  // §7.1.1.1: an offered server_no_context_takeover is accepted by including it.
  if (offer.has("server_no_context_takeover")) expect(r.has("server_no_context_takeover")).toBe(true);
  // §7.1.2.1: an offered server_max_window_bits is accepted with the same or a smaller value.
  if (offer.has("server_max_window_bits")) {
    expect(r.has("server_max_window_bits")).toBe(true);
    expect(Number(r.get("server_max_window_bits"))).toBeLessThanOrEqual(Number(offer.get("server_max_window_bits")));
  }
  // §7.1.2.2: client_max_window_bits only in response to an offer that had it, and not above its value.
  if (!offer.has("client_max_window_bits")) expect(r.has("client_max_window_bits")).toBe(false);
  else if (offer.get("client_max_window_bits") !== null && r.has("client_max_window_bits")) {
    expect(Number(r.get("client_max_window_bits"))).toBeLessThanOrEqual(Number(offer.get("client_max_window_bits")));
  }
  const offeredClientBits = offer.get("client_max_window_bits");
  const peerBits = Math.min(
    r.has("client_max_window_bits") ? Number(r.get("client_max_window_bits")) : 15,
    offeredClientBits ? Number(offeredClientBits) : 15,
  );
  return {
    peerBits,
    peerNoContext: offer.has("client_no_context_takeover") || r.has("client_no_context_takeover"),
    wsBits: r.has("server_max_window_bits") ? Number(r.get("server_max_window_bits")) : 15,
    wsNoContext: r.has("server_no_context_takeover"),
  };
}

/** Derive the agreement for the client side from the raw server's response. */
function clientAgreement(request: Record<string, string>, response: string): Agreement {
  const offers = parseExtensions(request["sec-websocket-extensions"]);
  expect(offers.map((o) => o.name), "wavesock's offer").toContain(pmd);
  const offer = offers.find((o) => o.name === pmd)!.params;
  const r = parseExtensions(response)[0]!.params;
  const offeredClientBits = offer.get("client_max_window_bits");
  return {
    peerBits: r.has("server_max_window_bits") ? Number(r.get("server_max_window_bits")) : 15,
    peerNoContext: r.has("server_no_context_takeover") || offer.has("server_no_context_takeover"),
    wsBits: r.has("client_max_window_bits") ? Number(r.get("client_max_window_bits")) : offeredClientBits ? Number(offeredClientBits) : 15,
    wsNoContext: r.has("client_no_context_takeover") || offer.has("client_no_context_takeover"),
  };
}

/** Decode one message with a fresh inflater (window 15: any window the sender used). */
async function inflateOnce(payload: Buffer, windowBits = 15): Promise<Buffer> {
  const z = new PeerInflater(windowBits);
  try {
    return await z.decompress(payload);
  } finally {
    z.close();
  }
}

async function expectFailed(t: Testee, code: number, delivered = 0): Promise<void> {
  const { before } = await expectClose(t.peer, code);
  expect(before.filter((f) => f.opcode < 8).length).toBeLessThanOrEqual(delivered);
  expect(t.received).toHaveLength(delivered);
  await expectAppClosed(t, code);
}

// ---------------------------------------------------------------- server --

describe("permessage-deflate — wavesock server: negotiation and round trips", () => {
  const offers = [
    pmd,
    `${pmd}; client_max_window_bits`,
    `${pmd}; server_no_context_takeover`,
    `${pmd}; client_no_context_takeover`,
    ...[8, 9, 10, 11, 12, 13, 14, 15].map((n) => `${pmd}; server_max_window_bits=${n}`),
    ...[8, 9, 12, 15].map((n) => `${pmd}; client_max_window_bits=${n}`),
    `${pmd}; server_no_context_takeover; client_no_context_takeover`,
    `${pmd}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9`,
    `${pmd}; server_max_window_bits=10; client_max_window_bits`,
    `${pmd}; server_max_window_bits=7, ${pmd}; client_max_window_bits=10`,
    `x-webkit-deflate-frame, ${pmd}; client_max_window_bits`,
  ];
  for (const offer of offers) {
    it(`offer "${offer}" → accepted with a response that fits the offer; compressed messages round-trip`, async () => {
      const t = await open("server", { offer, maxSize: 1024 * 1024 });
      const agreement = serverAgreement(offer, t.handshake["sec-websocket-extensions"]);
      await roundTrip(t, agreement);
    });
  }

  for (const offer of [
    `${pmd}; server_max_window_bits=7`,
    `${pmd}; server_max_window_bits=16`,
    `${pmd}; server_max_window_bits`,
    `${pmd}; client_max_window_bits=08`,
    `${pmd}; server_no_context_takeover=1`,
    `${pmd}; unknown_parameter`,
    `${pmd}; client_no_context_takeover; client_no_context_takeover`,
  ]) {
    it(`invalid offer "${offer}" → declined (§5.1), no compression; an RSV1 message then → 1002`, async () => {
      const t = await open("server", { offer });
      expect(parseExtensions(t.handshake["sec-websocket-extensions"]).map((e) => e.name)).not.toContain(pmd);
      await t.peer.send(OP.TEXT, deflateMessage("compressed"), { rsv: RSV1 });
      await expectFailed(t, 1002);
    });
  }

  it("compression: null → an offer is not accepted; RSV1 → 1002", async () => {
    const t = await open("server", { offer: `${pmd}; client_max_window_bits`, compression: null });
    expect(t.handshake["sec-websocket-extensions"]).toBeUndefined();
    await t.peer.send(OP.TEXT, deflateMessage("compressed"), { rsv: RSV1 });
    await expectFailed(t, 1002);
  });

  it("server_no_context_takeover: identical large messages each decode with a fresh inflater", async () => {
    const offer = `${pmd}; server_no_context_takeover`;
    const t = await open("server", { offer });
    const a = serverAgreement(offer, t.handshake["sec-websocket-extensions"]);
    expect(a.wsNoContext).toBe(true);
    const data = Buffer.from("the same message again and again, ".repeat(100));
    for (let i = 0; i < 3; i++) {
      await t.peer.send(OP.TEXT, deflateMessage(data), { rsv: RSV1 });
      const echo = await readMessage(t.peer);
      expect(echo.rsv).toBe(RSV1);
      expect((await inflateOnce(echo.payload, a.wsBits)).equals(data)).toBe(true);
    }
  });
});

// ---------------------------------------------------------------- client --

describe("permessage-deflate — wavesock client: negotiation and round trips", () => {
  it("offers permessage-deflate by default", async () => {
    const t = await open("client");
    expect(parseExtensions(t.handshake["sec-websocket-extensions"]).map((e) => e.name)).toContain(pmd);
  });

  const responses = [
    pmd,
    `${pmd}; server_no_context_takeover`,
    `${pmd}; client_no_context_takeover`,
    ...[8, 9, 10, 11, 12, 13, 14, 15].map((n) => `${pmd}; server_max_window_bits=${n}`),
    ...[8, 9, 10, 12, 15].map((n) => `${pmd}; client_max_window_bits=${n}`),
    `${pmd}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10`,
  ];
  for (const response of responses) {
    it(`server answers "${response}" → compressed messages round-trip`, async () => {
      const t = await open("client", { accept: response, maxSize: 1024 * 1024 });
      await roundTrip(t, clientAgreement(t.handshake, response));
    });
  }

  for (const response of [
    `${pmd}; client_max_window_bits=16`,
    `${pmd}; client_max_window_bits`,
    `${pmd}; server_max_window_bits`,
    `${pmd}; server_max_window_bits=7`,
    `${pmd}; unknown_parameter`,
    `${pmd}, ${pmd}`,
    "x-not-offered",
  ]) {
    it(`server answers "${response}" → connect() fails with InvalidHandshake`, async () => {
      await expect(open("client", { accept: response })).rejects.toBeInstanceOf(InvalidHandshake);
    });
  }

  it("client_no_context_takeover: every compressed message from the client decodes with a fresh inflater", async () => {
    const response = `${pmd}; client_no_context_takeover`;
    const t = await open("client", { accept: response });
    const a = clientAgreement(t.handshake, response);
    const data = Buffer.from("the same message again and again, ".repeat(100));
    for (let i = 0; i < 3; i++) {
      await t.peer.send(OP.TEXT, deflateMessage(data), { rsv: RSV1 });
      const echo = await readMessage(t.peer);
      expect(echo.rsv).toBe(RSV1);
      expect((await inflateOnce(echo.payload, a.wsBits)).equals(data)).toBe(true);
    }
  });
});

// ------------------------------------------------------------ violations --

let bomb: Buffer | undefined;

describe.each(SIDES)("permessage-deflate — wavesock %s: frames and violations", (side) => {
  const offer = `${pmd}; client_max_window_bits`;
  const response = pmd;
  const withPmd = (extra: TesteeOptions = {}) => negotiated(side, offer, response, extra);

  it("RSV1 on a message when compression was not negotiated → 1002", async () => {
    const t = await open(side); // the raw peer neither offers nor accepts the extension
    await t.peer.send(OP.TEXT, deflateMessage("Hello"), { rsv: RSV1 });
    await expectFailed(t, 1002);
  });

  it("an uncompressed message (RSV1 clear) on a compressed connection → accepted and echoed", async () => {
    const t = await withPmd();
    await t.peer.send(OP.TEXT, "plain");
    await expectFrame(t.peer, OP.TEXT, "plain");
  });

  it("an empty compressed message (payload 00) → an empty message", async () => {
    const t = await withPmd();
    await t.peer.send(OP.BINARY, deflateMessage(Buffer.alloc(0)), { rsv: RSV1 });
    const echo = await readMessage(t.peer);
    const data = echo.rsv === RSV1 ? await inflateOnce(echo.payload) : echo.payload;
    expect(data.length).toBe(0);
    expect(t.received).toHaveLength(1);
  });

  it("a compressed message in 3 fragments (RSV1 on the first only), with a ping between, cut at random points → echoed", async () => {
    const t = await withPmd();
    const data = Buffer.from("fragmented and compressed ".repeat(200));
    const c = deflateMessage(data);
    const a = Math.floor(c.length / 3);
    const bytes = Buffer.concat([
      t.peer.frame(OP.TEXT, c.subarray(0, a), { fin: false, rsv: RSV1 }),
      t.peer.frame(OP.PING, "mid"),
      t.peer.frame(OP.CONT, c.subarray(a, 2 * a), { fin: false }),
      t.peer.frame(OP.CONT, c.subarray(2 * a)),
    ]);
    await t.peer.write(bytes, { random: 9, max: 40 });
    await expectFrame(t.peer, OP.PONG, "mid");
    const echo = await readMessage(t.peer);
    const out = echo.rsv === RSV1 ? await inflateOnce(echo.payload) : echo.payload;
    expect(out.equals(data)).toBe(true);
  });

  it("RSV1 on a continuation frame → 1002 (§6.1: only the first frame), before the message completes", async () => {
    const t = await withPmd();
    const c = deflateMessage("Hello, compressed world! ".repeat(10));
    await t.peer.send(OP.TEXT, c.subarray(0, 5), { fin: false, rsv: RSV1 });
    await t.peer.send(OP.CONT, c.subarray(5), { fin: false, rsv: RSV1 });
    await expectFailed(t, 1002);
  });

  it("RSV1 on a continuation frame of an uncompressed message → 1002", async () => {
    const t = await withPmd();
    t.peer.sendTogether([t.peer.frame(OP.TEXT, "plain ", { fin: false }), t.peer.frame(OP.CONT, deflateMessage("x"), { rsv: RSV1 })]);
    await expectFailed(t, 1002);
  });

  for (const [name, opcode] of [
    ["ping", OP.PING],
    ["pong", OP.PONG],
    ["close", OP.CLOSE],
  ] as const) {
    it(`RSV1 on a ${name} frame → 1002 (control frames are never compressed)`, async () => {
      const t = await withPmd();
      await t.peer.send(opcode, opcode === OP.CLOSE ? Buffer.from([0x03, 0xe8]) : "x", { rsv: RSV1 });
      await expectFailed(t, 1002);
    });
  }

  for (const [name, rsv] of [
    ["RSV2", RSV2],
    ["RSV3", RSV3],
    ["RSV1+RSV2", RSV1 | RSV2],
  ] as const) {
    it(`${name} on a data frame of a compressed connection → 1002 (permessage-deflate only defines RSV1)`, async () => {
      const t = await withPmd();
      await t.peer.send(OP.TEXT, deflateMessage("x"), { rsv });
      await expectFailed(t, 1002);
    });
  }

  it("data that is not DEFLATE (reserved block type 11) → 1007", async () => {
    const t = await withPmd();
    await t.peer.send(OP.BINARY, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: RSV1 });
    await expectFailed(t, 1007);
  });

  it("a compressed text message that is not UTF-8 once inflated → 1007", async () => {
    const t = await withPmd();
    await t.peer.send(OP.TEXT, deflateMessage(Buffer.from("ab\xed\xa0\x80cd", "latin1")), { rsv: RSV1 });
    await expectFailed(t, 1007);
  });

  it("compressed message inflating to exactly maxSize → accepted; to maxSize + 1 → 1009", async () => {
    const limit = 64 * 1024;
    const t = await withPmd({ maxSize: limit });
    await t.peer.send(OP.BINARY, deflateMessage(Buffer.alloc(limit)), { rsv: RSV1 });
    const echo = await readMessage(t.peer);
    const out = echo.rsv === RSV1 ? await inflateOnce(echo.payload) : echo.payload;
    expect(out.length).toBe(limit);
    await t.peer.send(OP.BINARY, deflateMessage(Buffer.alloc(limit + 1)), { rsv: RSV1 });
    await expectFailed(t, 1009, 1);
  });

  it("a small frame that inflates to 16 MiB (a 'zip bomb') → 1009 at the default limit (1 MiB)", async () => {
    const t = await withPmd();
    bomb ??= deflateMessage(Buffer.alloc(16 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(32 * 1024);
    await t.peer.send(OP.BINARY, bomb, { rsv: RSV1 });
    await expectFailed(t, 1009);
  });
});
