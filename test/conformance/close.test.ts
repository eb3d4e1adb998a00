/**
 * The closing handshake (Autobahn|Testsuite category 7; RFC 6455 §5.5.1,
 * §7), against both wavesock adapters over loopback TCP.
 *
 * - A close frame is answered with a close frame echoing the status code
 *   (§5.5.1); nothing is processed after the peer's close frame (no pong for
 *   a later ping, no echo of a later message, a message cut short by the
 *   close is not delivered).
 * - §7.1.1: the server closes the TCP connection first, once the handshake is
 *   complete; the client waits for that (and drops the connection after its
 *   close timeout if the server never does).
 * - Close payloads: empty (no code) is fine; 1 byte → 1002; a reason of up
 *   to 123 bytes is fine; 124 bytes (payload 126) → 1002; a reason that is
 *   not UTF-8 → 1007.
 * - Close codes (§7.4): 1000–1003, 1007–1014, 3000–4999 are echoed; 0–999,
 *   1004, 1005, 1006, 1015, 1016–2999, ≥ 5000 → 1002.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionClosed, ConnectionClosedError, ConnectionClosedOK } from "../../src/index.js";
import { OP, closePayload, parseClose } from "./frames.js";
import { SIDES, cleanup, expectAppClosed, expectClose, expectFrame, open, readMessage, withTimeout } from "./peer.js";
import { sleep } from "./raw-peer.js";

afterEach(cleanup);

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

describe.each(SIDES)("closing — wavesock %s", (side) => {
  describe("7.1.x: the closing handshake", () => {
    it("7.1.1: a text message, then close 1000 → echo, close 1000 echoed, TCP closed (by the server first)", async () => {
      const t = await open(side);
      await t.peer.send(OP.TEXT, "Hello World!");
      await expectFrame(t.peer, OP.TEXT, "Hello World!");
      await t.peer.sendClose(1000);
      await expectClose(t.peer, 1000);
      const err = await withTimeout(t.done, 3000, "the app");
      expect(err).toBeInstanceOf(ConnectionClosedOK);
      expect(t.conn.closeCode).toBe(1000);
    });

    it("7.1.2: two close frames in one write → one close echoed, the second ignored", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.CLOSE, closePayload(1000)), t.peer.frame(OP.CLOSE, closePayload(1001))]);
      t.peer.closeSent = true;
      await expectClose(t.peer, 1000);
    });

    it("7.1.3: close, then a ping (one write) → close echoed, no pong", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.CLOSE, closePayload(1000)), t.peer.frame(OP.PING, "no pong")]);
      t.peer.closeSent = true;
      const { before } = await expectClose(t.peer, 1000);
      expect(before).toEqual([]);
    });

    it("7.1.4: close, then a text message (one write) → close echoed; the data frame after the close is ignored", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.CLOSE, closePayload(1000)), t.peer.frame(OP.TEXT, "ignored")]);
      t.peer.closeSent = true;
      const { before } = await expectClose(t.peer, 1000);
      expect(before).toEqual([]);
      await withTimeout(t.done, 3000, "the app");
      expect(t.received).toEqual([]);
    });

    it("7.1.4 (separate writes): close, a pause, then a text message → only the close echo; nothing delivered", async () => {
      const t = await open(side);
      await t.peer.sendClose(1000);
      await sleep(5);
      await t.peer.send(OP.TEXT, "too late");
      await expectClose(t.peer, 1000);
      expect(t.received).toEqual([]);
    });

    it("7.1.5: first fragment, close, last fragment → close echoed; the unfinished message is not delivered", async () => {
      const t = await open(side);
      t.peer.sendTogether([
        t.peer.frame(OP.TEXT, "fragment1", { fin: false }),
        t.peer.frame(OP.CLOSE, closePayload(1000)),
        t.peer.frame(OP.CONT, "fragment2"),
      ]);
      t.peer.closeSent = true;
      const { before } = await expectClose(t.peer, 1000);
      expect(before).toEqual([]);
      await withTimeout(t.done, 3000, "the app");
      expect(t.received).toEqual([]);
    });

    it("7.1.6 (Autobahn: informational): a 256 KiB message, a ping and a close in one write → echo and pong in order, then close", async () => {
      const t = await open(side);
      const big = Buffer.alloc(256 * 1024, 0x2a);
      t.peer.sendTogether([t.peer.frame(OP.BINARY, big), t.peer.frame(OP.PING, "p"), t.peer.frame(OP.CLOSE, closePayload(1000))]);
      t.peer.closeSent = true;
      const { before } = await expectClose(t.peer, 1000);
      // The pong is written when the ping is parsed; the echo when the app
      // gets the message. RFC 6455 does not order them, and the echo may be
      // refused once the close was answered: Autobahn grades this case
      // INFORMATIONAL.
      expect(before.filter((f) => f.opcode === OP.PONG).map((f) => f.payload.toString())).toEqual(["p"]);
      expect(t.received.length).toBe(1);
    });

    it("§7.1.1: after the close handshake the server closes the TCP connection without waiting for the client", async () => {
      if (side === "client") {
        // Our client must wait for the server: it ends its side only once the raw server did.
        const t = await open(side);
        await t.peer.sendClose(1000);
        const f = await t.peer.readFrame();
        expect(parseClose(f.payload).code).toBe(1000);
        await sleep(100);
        expect(t.peer.ended, "client closed the TCP connection before the server").toBe(false);
        t.peer.end();
        await withTimeout(t.conn.closed, 3000, "the client to close");
        return;
      }
      const t = await open(side);
      await t.peer.sendClose(1000);
      const f = await t.peer.readFrame();
      expect(parseClose(f.payload).code).toBe(1000);
      // The raw client does not close its side: the server must.
      await t.peer.waitEnd(1000);
    });

    it("wavesock closes (1000 'bye'): the peer echoes, the TCP connection closes, the app sees 1000", async () => {
      const t = await open(side);
      const closing = t.conn.close(1000, "bye");
      const f = await t.peer.readFrame();
      expect(f.opcode).toBe(OP.CLOSE);
      expect(parseClose(f.payload)).toEqual({ code: 1000, reason: Buffer.from("bye") });
      await t.peer.send(OP.CLOSE, f.payload);
      if (side === "client") {
        // The raw server closes first (§7.1.1).
        t.peer.end();
      }
      await t.peer.waitEnd();
      await withTimeout(closing, 3000, "close() to resolve");
      expect(t.conn.closeCode).toBe(1000);
      expect(t.conn.closeReason).toBe("bye");
    });

    it("wavesock closes; messages the peer sent before echoing the close are still delivered", async () => {
      const t = await open(side, { echo: false });
      const closing = t.conn.close(1000);
      const f = await t.peer.readFrame();
      expect(f.opcode).toBe(OP.CLOSE);
      t.peer.sendTogether([t.peer.frame(OP.TEXT, "in flight"), t.peer.frame(OP.CLOSE, closePayload(1000))]);
      if (side === "client") t.peer.end();
      await t.peer.waitEnd();
      await withTimeout(closing, 3000, "close() to resolve");
      expect(t.received).toEqual(["in flight"]);
    });

    if (side === "client") {
      it("§7.1.1: a server that never closes the TCP connection is dropped after closeTimeout", async () => {
        const t = await open(side, { options: { closeTimeout: 150 } });
        await t.peer.sendClose(1000);
        await t.peer.readFrame();
        const started = Date.now();
        await t.peer.waitEnd(2000);
        expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      });
    } else {
      it("a client that never answers the server's close is dropped after closeTimeout", async () => {
        const t = await open(side, { options: { closeTimeout: 150 } });
        void t.conn.close(1000);
        expect((await t.peer.readFrame()).opcode).toBe(OP.CLOSE);
        await t.peer.waitEnd(2000);
        await withTimeout(t.conn.closed, 2000, "the server to drop the connection");
      });
    }
  });

  describe("7.3.x: close payloads", () => {
    it("7.3.1: close with an empty payload → close echoed (empty, or 1000); the app sees 1005", async () => {
      const t = await open(side);
      await t.peer.sendClose();
      await expectClose(t.peer, [null, 1000]);
      const err = await withTimeout(t.done, 3000, "the app");
      expect((err as ConnectionClosed).closeCode).toBe(1005);
    });

    it("7.3.2: close with a 1-byte payload → 1002", async () => {
      const t = await open(side);
      await t.peer.send(OP.CLOSE, Buffer.from([0x03]));
      await expectClose(t.peer, 1002);
      await expectAppClosed(t, 1002);
    });

    it("7.3.3: close 1000 without a reason → close 1000 echoed", async () => {
      const t = await open(side);
      await t.peer.sendClose(1000);
      await expectClose(t.peer, 1000);
    });

    it("7.3.4: close 1000 with a reason → close 1000 echoed; the app sees the reason", async () => {
      const t = await open(side);
      await t.peer.sendClose(1000, "Hello World!");
      await expectClose(t.peer, 1000);
      const err = (await withTimeout(t.done, 3000, "the app")) as ConnectionClosed;
      expect(err.rcvd).toEqual({ code: 1000, reason: "Hello World!" });
    });

    it("7.3.5: close 1000 with a 123-byte reason (payload 125) → close 1000 echoed", async () => {
      const t = await open(side);
      const reason = "*".repeat(60) + "é".repeat(30) + "abc"; // 60 + 60 + 3 = 123 bytes
      expect(Buffer.byteLength(reason)).toBe(123);
      await t.peer.sendClose(1000, reason);
      await expectClose(t.peer, 1000);
      const err = (await withTimeout(t.done, 3000, "the app")) as ConnectionClosed;
      expect(err.rcvd?.reason).toBe(reason);
    });

    it("7.3.6: close 1000 with a 124-byte reason (payload 126) → 1002, from the header", async () => {
      const t = await open(side);
      await t.peer.send(OP.CLOSE, closePayload(1000, "*".repeat(124)));
      await expectClose(t.peer, 1002);
    });

    it("7.5.1: close 1000 with a reason that is not UTF-8 → 1007", async () => {
      const t = await open(side);
      await t.peer.send(OP.CLOSE, closePayload(1000, Buffer.from("cebae1bdb9cf83cebcceb5eda080656469746564", "hex")));
      await expectClose(t.peer, 1007);
      await expectAppClosed(t, 1007);
    });

    it("close reason cut inside a code point (truncated UTF-8) → 1007", async () => {
      const t = await open(side);
      await t.peer.send(OP.CLOSE, closePayload(1000, Buffer.from("abc\xe2\x82", "latin1")));
      await expectClose(t.peer, 1007);
    });

    it("close frame cut at every byte → echoed", async () => {
      const t = await open(side);
      await t.peer.send(OP.CLOSE, closePayload(1000, "split close"), { split: "bytewise" });
      await expectClose(t.peer, 1000);
    });
  });

  describe("7.7.x / 7.9.x / 7.13.x: close codes", () => {
    for (const code of VALID_CODES) {
      it(`7.7.x: close ${code} → echoed as ${code}`, async () => {
        const t = await open(side);
        await t.peer.sendClose(code);
        await expectClose(t.peer, code);
        const err = (await withTimeout(t.done, 3000, "the app")) as ConnectionClosed;
        expect(err.rcvd?.code).toBe(code);
      });
    }
    for (const code of INVALID_CODES) {
      const tag = code >= 5000 ? "7.13.x (Autobahn: informational)" : "7.9.x";
      it(`${tag}: close ${code} → 1002`, async () => {
        const t = await open(side);
        await t.peer.send(OP.CLOSE, closePayload(code));
        await expectClose(t.peer, 1002);
        await expectAppClosed(t, 1002);
      });
    }
  });

  it("§5.5.2: after wavesock sent a close, a ping that arrives before the peer's close is still answered with a pong", async () => {
    // "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
    // response, unless it already received a Close frame." (Only data frames
    // are forbidden after sending a close, §5.5.1.)
    const t = await open(side, { echo: false });
    const closing = t.conn.close(1000);
    expect((await t.peer.readFrame()).opcode).toBe(OP.CLOSE);
    await t.peer.send(OP.PING, "still there?");
    await expectFrame(t.peer, OP.PONG, "still there?");
    await t.peer.sendClose(1000);
    if (side === "client") t.peer.end();
    await t.peer.waitEnd();
    await withTimeout(closing, 3000, "close() to resolve");
  });

  it("the peer ends the TCP connection without a close frame → the app sees 1006 (ConnectionClosedError)", async () => {
    const t = await open(side);
    await t.peer.send(OP.TEXT, "last words");
    await expectFrame(t.peer, OP.TEXT, "last words");
    t.peer.end();
    const err = (await withTimeout(t.done, 3000, "the app")) as ConnectionClosed;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err.closeCode).toBe(1006);
    expect(t.received).toEqual(["last words"]);
    await t.peer.waitEnd();
  });

  it("a frame cut off by the end of the TCP connection → 1006; the partial message is not delivered", async () => {
    const t = await open(side);
    const bytes = t.peer.frame(OP.TEXT, "never completed");
    await t.peer.write(bytes.subarray(0, bytes.length - 3));
    await sleep(10);
    t.peer.end();
    const err = (await withTimeout(t.done, 3000, "the app")) as ConnectionClosed;
    expect(err.closeCode).toBe(1006);
    expect(t.received).toEqual([]);
  });

  it("messages completed before a close frame in the same write are delivered and echoed before the close echo", async () => {
    const t = await open(side);
    t.peer.sendTogether([t.peer.frame(OP.TEXT, "one"), t.peer.frame(OP.BINARY, "two"), t.peer.frame(OP.CLOSE, closePayload(1000))]);
    t.peer.closeSent = true;
    await expectClose(t.peer, 1000);
    expect(t.received.map((m) => (typeof m === "string" ? m : Buffer.from(m).toString()))).toEqual(["one", "two"]);
  });

  it("after a protocol error the connection is closed: later frames get no answer", async () => {
    const t = await open(side);
    await t.peer.send(OP.TEXT, "x", { rsv: 0x20 });
    await expectClose(t.peer, 1002);
    await t.peer.send(OP.PING, "after").catch(() => undefined);
    await sleep(20);
    expect(t.peer.available).toBe(0);
    await readMessage(t.peer, 100).then(
      () => expect.unreachable("no frame may follow"),
      () => undefined,
    );
  });
});
