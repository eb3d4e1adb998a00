import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidState, PayloadTooBig } from "../../src/errors.js";
import { Protocol, type ProtocolEvent } from "../../src/connection/protocol.js";
import { drain, Pair, rawFrame, transmit } from "./pair.js";

const enc = (s: string) => new TextEncoder().encode(s);
const bytesOf = (...b: number[]) => Uint8Array.from(b);
const closeCodeOf = (bufs: Uint8Array[]): number | null => {
  const b = Buffer.concat(bufs);
  // Server frames are unmasked: 0x88, len, code.
  return b[0] === 0x88 && b[1]! >= 2 ? b.readUInt16BE(2) : null;
};

describe("Protocol: messages", () => {
  it("delivers a text message as a string and a binary one as bytes", () => {
    const s = new Protocol("server");
    s.receiveData(rawFrame(1, enc("héllo")));
    s.receiveData(rawFrame(2, bytesOf(1, 2, 3)));
    const evs = drain(s);
    expect(evs[0]).toEqual({ type: "message", data: "héllo" });
    expect(evs[1]!.type).toBe("message");
    expect(Array.from((evs[1] as { data: Uint8Array }).data)).toEqual([1, 2, 3]);
  });

  it("reassembles a fragmented message with a ping between the fragments", () => {
    const s = new Protocol("server");
    s.receiveData(rawFrame(1, enc("Hel"), { fin: false }));
    s.receiveData(rawFrame(9, enc("p")));
    s.receiveData(rawFrame(0, enc("l"), { fin: false }));
    s.receiveData(rawFrame(0, enc("o")));
    expect(drain(s)).toEqual([
      { type: "ping", data: enc("p") },
      { type: "message", data: "Hello" },
    ]);
    // §5.5.2: the pong echoes the ping's application data.
    expect(Buffer.concat(s.dataToSend()).toString("hex")).toBe("8a0170");
  });

  it("streaming mode emits each frame as it completes", () => {
    const s = new Protocol("server", { streaming: true });
    s.receiveData(rawFrame(2, bytesOf(1), { fin: false }));
    expect(drain(s)).toEqual([{ type: "fragment", data: bytesOf(1), text: false, fin: false }]);
    s.receiveData(rawFrame(0, bytesOf(2)));
    expect(drain(s)).toEqual([{ type: "fragment", data: bytesOf(2), text: false, fin: true }]);
  });

  it("sends fragmented messages and refuses to interleave another one (a local error)", () => {
    const c = new Protocol("client", { maskSource: () => bytesOf(0, 0, 0, 0) });
    c.sendText("a", false);
    expect(() => c.sendBinary(bytesOf(1))).toThrow(InvalidState);
    c.sendPing();
    c.sendContinuation("b", true);
    expect(Buffer.concat(c.dataToSend()).toString("hex")).toBe("0181" + "00000000" + "61" + "8980" + "00000000" + "8081" + "00000000" + "62");
    expect(() => c.sendContinuation("c", true)).toThrow(InvalidState);
  });
});

describe("Protocol: failures (each with its close code)", () => {
  function failWith(frames: Uint8Array[], options = {}) {
    const s = new Protocol("server", options);
    for (const f of frames) s.receiveData(f);
    return { s, evs: drain(s), code: closeCodeOf(s.dataToSend()) };
  }

  it("continuation without a start: 1002", () => {
    const { s, code } = failWith([rawFrame(0, enc("x"))]);
    expect(code).toBe(1002);
    expect(s.failure?.code).toBe("WS_ERR_UNEXPECTED_CONTINUATION");
    expect(s.closeTransport).toBe(true);
  });

  it("a new data frame inside a fragmented message: 1002", () => {
    const { code } = failWith([rawFrame(1, enc("a"), { fin: false }), rawFrame(1, enc("b"))]);
    expect(code).toBe(1002);
  });

  it("RSV1 on a continuation frame or a control frame: 1002", () => {
    const ext = { name: "x", rsvBits: 0x40, decode: (d: Uint8Array) => d, encode: (d: Uint8Array) => d, shouldEncode: () => true, stateless: true, sharingKey: "" };
    expect(failWith([rawFrame(2, bytesOf(1), { fin: false }), rawFrame(0, bytesOf(2), { rsv: 0x40 })], { extensions: [ext] }).code).toBe(1002);
    expect(failWith([rawFrame(9, bytesOf(), { rsv: 0x40 })], { extensions: [ext] }).code).toBe(1002);
  });

  it("a message over maxSize is refused from its header, before its payload (1009)", () => {
    const s = new Protocol("server", { maxSize: 100 });
    const frame = rawFrame(2, new Uint8Array(101));
    s.receiveData(frame.subarray(0, 8)); // header only
    expect(s.failure).toBeInstanceOf(PayloadTooBig);
    expect(closeCodeOf(s.dataToSend())).toBe(1009);
  });

  it("a fragmented message growing over maxSize: 1009", () => {
    const { code } = failWith([rawFrame(2, new Uint8Array(60), { fin: false }), rawFrame(0, new Uint8Array(60))], { maxSize: 100 });
    expect(code).toBe(1009);
  });

  it("a message exactly at maxSize is accepted", () => {
    const { evs, code } = failWith([rawFrame(2, new Uint8Array(60), { fin: false }), rawFrame(0, new Uint8Array(40))], { maxSize: 100 });
    expect(code).toBeNull();
    expect(evs).toHaveLength(1);
  });

  it("invalid UTF-8 fails at once, mid-frame, before the message completes (1007)", () => {
    const s = new Protocol("server");
    const frame = rawFrame(1, Uint8Array.from([...enc("hello"), 0xf4, 0x90, 0x80, 0x80, ...enc("world")]));
    // Feed up to and including the second byte of the invalid sequence (> U+10FFFF).
    const invalidAt = 6 + 5 + 2;
    for (let i = 0; i < invalidAt; i++) s.receiveData(frame.slice(i, i + 1));
    expect(s.failure?.closeCode).toBe(1007);
    expect(closeCodeOf(s.dataToSend())).toBe(1007);
  });

  it("invalid UTF-8 in a later fragment fails before the final fragment (1007)", () => {
    const { code } = failWith([rawFrame(1, enc("ok"), { fin: false }), rawFrame(0, bytesOf(0xc0, 0xaf), { fin: false })]);
    expect(code).toBe(1007);
  });

  it("messages received before the failure are still delivered", () => {
    const s = new Protocol("server");
    s.receiveData(Buffer.concat([rawFrame(1, enc("one")), rawFrame(2, bytesOf(2)), rawFrame(0x3, bytesOf())]));
    const evs = drain(s);
    expect(evs.map((e) => e.type)).toEqual(["message", "message"]);
    expect(s.failure?.code).toBe("WS_ERR_INVALID_OPCODE");
  });

  it("a violation in the same chunk as complete messages waits for commitFailure (the app may answer first)", () => {
    const s = new Protocol("server");
    s.receiveData(Buffer.concat([rawFrame(1, enc("valid")), rawFrame(1, enc("x"), { rsv: 0x20 }), rawFrame(9, bytesOf())]));
    expect(drain(s)).toEqual([{ type: "message", data: "valid" }]);
    expect(s.failurePending).toBe(true);
    expect(s.failure?.closeCode).toBe(1002);
    expect(s.dataToSend()).toEqual([]); // no pong: nothing after the violation is read
    s.sendText("valid"); // the echo goes out first...
    s.commitFailure(); // ...then the close
    const out = Buffer.concat(s.dataToSend());
    expect(out.subarray(0, 7).toString("hex")).toBe("810576616c6964");
    expect(out.readUInt16BE(9)).toBe(1002);
    expect(s.closeTransport).toBe(true);
  });

  it("a violation alone in its chunk fails at once", () => {
    const s = new Protocol("server");
    s.receiveData(rawFrame(1, enc("x"), { rsv: 0x20 }));
    expect(s.failurePending).toBe(false);
    expect(closeCodeOf(s.dataToSend())).toBe(1002);
  });

  it("EOF commits a pending failure", () => {
    const s = new Protocol("server");
    s.receiveData(Buffer.concat([rawFrame(1, enc("a")), rawFrame(0x3, bytesOf())]));
    s.receiveEof();
    expect(s.failurePending).toBe(false);
    expect(s.closeSent?.code).toBe(1002);
  });

  it("nothing is read after a failure", () => {
    const s = new Protocol("server");
    s.receiveData(rawFrame(0x3, bytesOf()));
    s.receiveData(rawFrame(1, enc("late")));
    expect(drain(s)).toEqual([]);
  });
});

describe("Protocol: closing handshake (§7)", () => {
  it("echoes the peer's close code; the server then ends the TCP connection", () => {
    const s = new Protocol("server");
    s.receiveData(rawFrame(8, Uint8Array.from([0x03, 0xe8, ...enc("bye")])));
    expect(drain(s)).toEqual([{ type: "close", code: 1000, reason: "bye" }]);
    expect(Buffer.concat(s.dataToSend()).toString("hex")).toBe("880503e8627965");
    expect(s.state).toBe("closing");
    expect(s.closeTransport).toBe(true);
    expect(s.closeRcvdThenSent).toBe(true);
    s.receiveEof();
    expect(s.state).toBe("closed");
  });

  it("an empty close frame means 1005 and is echoed empty", () => {
    const s = new Protocol("server");
    s.receiveData(rawFrame(8, bytesOf()));
    expect(s.closeRcvd).toEqual({ code: 1005, reason: "" });
    expect(Buffer.concat(s.dataToSend()).toString("hex")).toBe("8800");
  });

  it("invalid close payloads fail the connection: length 1 and bad codes 1002, bad UTF-8 1007", () => {
    for (const [payload, expected] of [
      [bytesOf(0x03), 1002],
      [bytesOf(0x03, 0xed), 1002], // 1005 on the wire
      [bytesOf(0x03, 0xe8, 0xff), 1007],
    ] as const) {
      const s = new Protocol("server");
      s.receiveData(rawFrame(8, payload));
      expect(closeCodeOf(s.dataToSend())).toBe(expected);
    }
  });

  it("a client that closes waits for the server's close and its TCP close", () => {
    const pair = new Pair();
    pair.client.sendClose(1000, "done");
    expect(pair.client.closeExpected).toBe(true);
    pair.pump();
    expect(pair.server.closeRcvd).toEqual({ code: 1000, reason: "done" });
    expect(pair.client.closeRcvd).toEqual({ code: 1000, reason: "done" });
    expect(pair.client.closeRcvdThenSent).toBe(false);
    expect(pair.server.closeTransport).toBe(true);
    expect(pair.client.closeTransport).toBe(false); // §7.1.1: the server closes TCP first
    pair.client.receiveEof();
    expect(pair.client.state).toBe("closed");
  });

  it("EOF without a close frame leaves closeRcvd null (1006 for the user)", () => {
    const s = new Protocol("server");
    s.receiveData(rawFrame(1, enc("x"), { fin: false }));
    s.receiveEof();
    expect(s.state).toBe("closed");
    expect(s.closeRcvd).toBeNull();
    expect(drain(s)).toEqual([]);
  });

  it("ignores data after the peer's close frame and refuses to send any", () => {
    const s = new Protocol("server");
    s.receiveData(Buffer.concat([rawFrame(8, bytesOf(0x03, 0xe8)), rawFrame(1, enc("after"))]));
    expect(drain(s).map((e) => e.type)).toEqual(["close"]);
    expect(() => s.sendText("no")).toThrow(InvalidState);
    expect(() => s.sendClose()).toThrow(InvalidState);
  });

  it("after sending its close, still answers pings (§5.5.2) and delivers data until the peer's close", () => {
    const s = new Protocol("server");
    s.sendClose(1000);
    s.dataToSend();
    s.receiveData(Buffer.concat([rawFrame(9, enc("p")), rawFrame(1, enc("late"))]));
    expect(Buffer.concat(s.dataToSend()).toString("hex")).toBe("8a0170");
    expect(drain(s).map((e) => e.type)).toEqual(["ping", "message"]);
  });

  it("refuses close codes that may not be sent (a local error)", () => {
    const s = new Protocol("server");
    expect(() => s.sendClose(1004)).toThrow(InvalidState);
    expect(() => s.sendClose(1006)).toThrow(InvalidState);
    expect(() => s.sendClose(1000, "x".repeat(124))).toThrow(InvalidState);
    expect(s.state).toBe("open");
  });
});

// ------------------------------------------------------------------ properties

const messageArb = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 50 }).map((s) => ({ text: true as const, data: s })),
  fc.uint8Array({ maxLength: 300 }).map((d) => ({ text: false as const, data: d })),
  fc.constantFrom(70000).map((n) => ({ text: false as const, data: new Uint8Array(n).fill(7) })),
);

function splitter(cuts: number[]) {
  return (bytes: Uint8Array) => {
    const pts = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let prev = 0;
    for (const p of [...pts, bytes.length]) {
      out.push(bytes.subarray(prev, p));
      prev = p;
    }
    return out;
  };
}

function normalize(evs: ProtocolEvent[]) {
  // Compare bytes as hex: deep equality on large typed arrays is slow.
  return evs.map((e) => ("data" in e && e.data instanceof Uint8Array ? { ...e, data: Buffer.from(e.data).toString("hex") } : e));
}

describe("Protocol: properties", () => {
  it("(6) a client and a server exchange arbitrary messages both ways and close cleanly", () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 8 }), fc.array(messageArb, { maxLength: 8 }), (up, down) => {
        const pair = new Pair();
        for (const m of up) m.text ? pair.client.sendText(m.data) : pair.client.sendBinary(m.data);
        for (const m of down) m.text ? pair.server.sendText(m.data) : pair.server.sendBinary(m.data);
        pair.pump();
        const expected = (ms: typeof up) => normalize(ms.map((m) => ({ type: "message", data: m.data })));
        expect(normalize(drain(pair.server))).toEqual(expected(up));
        expect(normalize(drain(pair.client))).toEqual(expected(down));
        pair.client.sendClose(1000);
        pair.pump();
        expect(pair.server.closeRcvd?.code).toBe(1000);
        expect(pair.client.closeRcvd?.code).toBe(1000);
        expect(pair.server.failure).toBeNull();
        expect(pair.client.failure).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it("(2) splitting the byte stream into arbitrary chunks never changes the events", () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 30 }), (msgs, cuts) => {
        const run = (split?: (b: Uint8Array) => Uint8Array[]) => {
          const client = new Protocol("client", { maskSource: () => bytesOf(9, 8, 7, 6) });
          const server = new Protocol("server");
          for (const m of msgs) {
            if (m.text) client.sendText(m.data);
            else {
              // Fragment binary messages too: first byte alone, then the rest.
              client.sendBinary(m.data.subarray(0, 1), false);
              client.sendContinuation(m.data.subarray(1), true);
            }
          }
          client.sendPing(bytesOf(1));
          transmit(client, server, split);
          return normalize(drain(server));
        };
        expect(run(splitter(cuts))).toEqual(run());
      }),
      { numRuns: 150 },
    );
  });

  it("(2') one byte at a time gives the same events", () => {
    const client = new Protocol("client");
    client.sendText("héllo wörld €𝄞");
    client.sendBinary(new Uint8Array(300).fill(3));
    const bytes = Buffer.concat(client.dataToSend());
    const whole = new Protocol("server");
    whole.receiveData(Uint8Array.from(bytes));
    const bytewise = new Protocol("server");
    for (let i = 0; i < bytes.length; i++) bytewise.receiveData(bytes.subarray(i, i + 1));
    expect(normalize(drain(bytewise))).toEqual(normalize(drain(whole)));
  });

  it("(4) garbage never throws and any failure carries a code from the RFC's set", () => {
    const allowed = new Set([1002, 1007, 1009]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom("client", "server"), fc.array(fc.nat(), { maxLength: 8 }), (garbage, role, cuts) => {
        const p = new Protocol(role as "client" | "server", { maxSize: 1000 });
        for (const piece of splitter(cuts)(garbage)) p.receiveData(piece);
        p.receiveEof();
        drain(p);
        expect(p.state).toBe("closed");
        if (p.failure !== null) {
          expect(allowed.has(p.failure.closeCode)).toBe(true);
          expect(p.closeSent?.code).toBe(p.failure.closeCode);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("(4') a frame-shaped garbage stream (valid headers, random bodies) fails only with RFC codes", () => {
    const allowed = new Set([1002, 1007, 1009]);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ opcode: fc.integer({ min: 0, max: 15 }), fin: fc.boolean(), rsv: fc.constantFrom(0, 0x40), body: fc.uint8Array({ maxLength: 130 }) }),
          { maxLength: 6 },
        ),
        (frames) => {
          const p = new Protocol("server", { maxSize: 200 });
          for (const f of frames) p.receiveData(rawFrame(f.opcode, f.body, { fin: f.fin, rsv: f.rsv }));
          drain(p);
          if (p.failure !== null) expect(allowed.has(p.failure.closeCode)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
