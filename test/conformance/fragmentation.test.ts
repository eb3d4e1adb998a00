/**
 * Fragmentation (Autobahn|Testsuite category 5; RFC 6455 §5.4, §5.5), against
 * both wavesock adapters over loopback TCP.
 *
 * Valid: a message in any number of fragments (empty ones included), sent
 * whole, frame by frame with pauses, or byte by byte, with control frames
 * interleaved between fragments (§5.4: "Control frames MAY be injected in
 * the middle of a fragmented message") — pings are answered at once, before
 * the message completes.
 *
 * Invalid → 1002: a fragmented control frame (§5.5 "Control frames
 * themselves MUST NOT be fragmented"), a continuation frame with no message
 * to continue, a new TEXT/BINARY frame inside a fragmented message (§5.4
 * "fragments of one message MUST NOT be interleaved"). Each failure test
 * says whether the connection fails before the message completes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { OP } from "./frames.js";
import { SIDES, cleanup, expectAppClosed, expectClose, expectFrame, open, readMessage, type Testee } from "./peer.js";
import { tick, type Split } from "./raw-peer.js";

afterEach(cleanup);

async function expectFailed(t: Testee, code: number, delivered: string[] = []): Promise<void> {
  const { before } = await expectClose(t.peer, code);
  const echoes = before.filter((f) => f.opcode < 8).map((f) => f.payload.toString());
  expect(delivered.slice(0, echoes.length), "echoes before the close").toEqual(echoes);
  expect(t.received).toEqual(delivered);
  await expectAppClosed(t, code);
}

const chops: [string, Split][] = [
  ["in one write", "whole"],
  ["cut at every byte", "bytewise"],
  ["cut at random points", { random: 5, max: 7 }],
];

describe.each(SIDES)("fragmentation — wavesock %s", (side) => {
  describe("valid fragmented messages", () => {
    for (const [how, split] of chops) {
      it(`5.3/5.5: text in 2 fragments, ${how} → one echoed message`, async () => {
        const t = await open(side);
        const bytes = Buffer.concat([t.peer.frame(OP.TEXT, "fragment1", { fin: false }), t.peer.frame(OP.CONT, "fragment2")]);
        await t.peer.write(bytes, split);
        const m = await readMessage(t.peer);
        expect([m.opcode, m.payload.toString()]).toEqual([OP.TEXT, "fragment1fragment2"]);
        expect(t.received).toEqual(["fragment1fragment2"]);
      });

      it(`5.6–5.8: text in 2 fragments with a ping between them, ${how} → pong, then the echo`, async () => {
        const t = await open(side);
        const bytes = Buffer.concat([
          t.peer.frame(OP.TEXT, "fragment1", { fin: false }),
          t.peer.frame(OP.PING, "ping payload"),
          t.peer.frame(OP.CONT, "fragment2"),
        ]);
        await t.peer.write(bytes, split);
        await expectFrame(t.peer, OP.PONG, "ping payload");
        const m = await readMessage(t.peer);
        expect([m.opcode, m.payload.toString()]).toEqual([OP.TEXT, "fragment1fragment2"]);
      });
    }

    it("5.4: fragments sent with pauses: nothing is echoed until the last fragment arrives", async () => {
      const t = await open(side);
      await t.peer.send(OP.TEXT, "fragment1", { fin: false });
      await t.peer.expectSilence(100);
      await t.peer.send(OP.CONT, "fragment2", { fin: false });
      await t.peer.expectSilence(100);
      expect(t.received).toEqual([]);
      await t.peer.send(OP.CONT, "fragment3");
      const m = await readMessage(t.peer);
      expect(m.payload.toString()).toBe("fragment1fragment2fragment3");
    });

    it("5.19: pings between fragments are answered at once, before the message completes", async () => {
      const t = await open(side);
      await t.peer.send(OP.TEXT, "f1", { fin: false });
      await t.peer.send(OP.CONT, "f2", { fin: false });
      await t.peer.send(OP.PING, "pongme 1!");
      // The pong comes back while the message is still open.
      await expectFrame(t.peer, OP.PONG, "pongme 1!");
      await t.peer.send(OP.CONT, "f3", { fin: false });
      await t.peer.send(OP.CONT, "f4", { fin: false });
      await t.peer.send(OP.PING, "pongme 2!");
      await expectFrame(t.peer, OP.PONG, "pongme 2!");
      await t.peer.send(OP.CONT, "f5");
      const m = await readMessage(t.peer);
      expect(m.payload.toString()).toBe("f1f2f3f4f5");
    });

    it("5.20: as 5.19, every frame cut at every byte", async () => {
      const t = await open(side);
      await t.peer.send(OP.TEXT, "f1", { fin: false, split: "bytewise" });
      await t.peer.send(OP.PING, "pongme 1!", { split: "bytewise" });
      await expectFrame(t.peer, OP.PONG, "pongme 1!");
      await t.peer.send(OP.CONT, "f2", { fin: false, split: "bytewise" });
      await t.peer.send(OP.PONG, "unsolicited", { split: "bytewise" });
      await t.peer.send(OP.CONT, "f3", { split: "bytewise" });
      const m = await readMessage(t.peer);
      expect(m.payload.toString()).toBe("f1f2f3");
    });

    it("binary in 100 fragments, with empty first, middle and last fragments and pings in between → one message", async () => {
      const t = await open(side);
      const frames: Buffer[] = [];
      const parts: Buffer[] = [];
      for (let i = 0; i < 100; i++) {
        const part = i === 0 || i === 50 || i === 99 ? Buffer.alloc(0) : Buffer.alloc(i, i);
        parts.push(part);
        frames.push(t.peer.frame(i === 0 ? OP.BINARY : OP.CONT, part, { fin: i === 99 }));
        if (i % 10 === 5) frames.push(t.peer.frame(OP.PING, `p${i}`));
      }
      await t.peer.write(Buffer.concat(frames), { random: 11, max: 300 });
      for (let i = 5; i < 100; i += 10) await expectFrame(t.peer, OP.PONG, `p${i}`);
      const m = await readMessage(t.peer);
      expect(m.opcode).toBe(OP.BINARY);
      expect(m.payload.equals(Buffer.concat(parts))).toBe(true);
      expect(t.received).toHaveLength(1);
    });

    it("6.1.2/6.1.3-style: a text message made only of empty fragments → an empty text message", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.TEXT, "", { fin: false }), t.peer.frame(OP.CONT, "", { fin: false }), t.peer.frame(OP.CONT, "")]);
      const m = await readMessage(t.peer);
      expect([m.opcode, m.payload.length]).toEqual([OP.TEXT, 0]);
      expect(t.received).toEqual([""]);
    });

    it("a fragmented message between two whole messages: all three echoed in order", async () => {
      const t = await open(side);
      t.peer.sendTogether([
        t.peer.frame(OP.TEXT, "one"),
        t.peer.frame(OP.BINARY, "tw", { fin: false }),
        t.peer.frame(OP.PONG),
        t.peer.frame(OP.CONT, "o"),
        t.peer.frame(OP.TEXT, "three"),
      ]);
      expect((await readMessage(t.peer)).payload.toString()).toBe("one");
      const two = await readMessage(t.peer);
      expect([two.opcode, two.payload.toString()]).toEqual([OP.BINARY, "two"]);
      expect((await readMessage(t.peer)).payload.toString()).toBe("three");
    });
  });

  describe("fragmented control frames → 1002 (from the first frame's header)", () => {
    for (const [name, opcode] of [
      ["5.1: ping", OP.PING],
      ["5.2: pong", OP.PONG],
      ["close", OP.CLOSE],
    ] as const) {
      it(`${name} with FIN=0 → 1002 before its continuation is sent`, async () => {
        const t = await open(side);
        await t.peer.send(opcode, opcode === OP.CLOSE ? Buffer.from([0x03, 0xe8]) : "fragment1", { fin: false });
        await expectFailed(t, 1002);
      });
    }

    it("a ping with FIN=0 inside a fragmented text message → 1002, the message is not delivered", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.TEXT, "part", { fin: false }), t.peer.frame(OP.PING, "x", { fin: false })]);
      await expectFailed(t, 1002);
    });
  });

  describe("invalid fragment orderings → 1002", () => {
    for (const [how, split] of chops) {
      it(`5.9–5.11: continuation (FIN=1) with nothing to continue, then a text message, ${how} → 1002, text not echoed`, async () => {
        const t = await open(side);
        const bytes = Buffer.concat([t.peer.frame(OP.CONT, "fragment2"), t.peer.frame(OP.TEXT, "fragment1")]);
        await t.peer.write(bytes, split);
        await expectFailed(t, 1002);
      });

      it(`5.12–5.14: continuation (FIN=0) with nothing to continue, then a text message, ${how} → 1002`, async () => {
        const t = await open(side);
        const bytes = Buffer.concat([t.peer.frame(OP.CONT, "fragment2", { fin: false }), t.peer.frame(OP.TEXT, "fragment1")]);
        await t.peer.write(bytes, split);
        await expectFailed(t, 1002);
      });
    }

    it("5.9 fail-fast: the continuation's header alone (payload never sent) → 1002", async () => {
      const t = await open(side);
      const bytes = t.peer.frame(OP.CONT, "fragment2");
      await t.peer.write(bytes.subarray(0, bytes.length - 9));
      await expectFailed(t, 1002);
    });

    it("5.15: text in 2 fragments (a complete message), then continuation FIN=0 with nothing to continue, one write → 1002; the app got the message", async () => {
      const t = await open(side);
      t.peer.sendTogether([
        t.peer.frame(OP.TEXT, "fragment1", { fin: false }),
        t.peer.frame(OP.CONT, "fragment2"),
        t.peer.frame(OP.CONT, "fragment3", { fin: false }),
        t.peer.frame(OP.TEXT, "fragment4"),
      ]);
      await expectFailed(t, 1002, ["fragment1fragment2"]);
    });

    it("5.15 strict (Autobahn OK, not NON-STRICT): as 5.15, all in ONE write → the echo of the complete message precedes the 1002", async () => {
      // wstest 5.15 sends all four frames "in one chop" and grades the run
      // NON-STRICT when the echo of the first message is missing.
      const t = await open(side);
      t.peer.sendTogether([
        t.peer.frame(OP.TEXT, "fragment1", { fin: false }),
        t.peer.frame(OP.CONT, "fragment2"),
        t.peer.frame(OP.CONT, "fragment3", { fin: false }),
        t.peer.frame(OP.TEXT, "fragment4"),
      ]);
      const { before } = await expectClose(t.peer, 1002);
      expect(before.map((f) => [f.opcode, f.payload.toString()])).toEqual([[OP.TEXT, "fragment1fragment2"]]);
    });

    it("5.16/5.17: continuation FIN=0 then FIN=1 with nothing to continue, then a text message → 1002", async () => {
      const t = await open(side);
      t.peer.sendTogether([
        t.peer.frame(OP.CONT, "fragment1", { fin: false }),
        t.peer.frame(OP.TEXT, "fragment2", { fin: false }),
        t.peer.frame(OP.CONT, "fragment3"),
      ]);
      await expectFailed(t, 1002);
    });

    for (const [first, second] of [
      ["text", "text"],
      ["text", "binary"],
      ["binary", "text"],
      ["binary", "binary"],
    ] as const) {
      const op = (k: string) => (k === "text" ? OP.TEXT : OP.BINARY);
      it(`5.18: a new ${second} frame (FIN=1) inside a fragmented ${first} message → 1002 before the message completes`, async () => {
        const t = await open(side);
        t.peer.sendTogether([t.peer.frame(op(first), "fragment1", { fin: false }), t.peer.frame(op(second), "fragment2")]);
        await expectFailed(t, 1002);
      });
      it(`5.18: a new ${second} frame (FIN=0) inside a fragmented ${first} message, sent after a pause → 1002`, async () => {
        const t = await open(side);
        await t.peer.send(op(first), "fragment1", { fin: false });
        await tick();
        await t.peer.send(op(second), "fragment2", { fin: false });
        await expectFailed(t, 1002);
      });
    }

    it("a valid message, then a bad continuation in the same write → 1002; the app got the valid message", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.TEXT, "complete"), t.peer.frame(OP.CONT, "orphan")]);
      await expectFailed(t, 1002, ["complete"]);
    });
  });
});
