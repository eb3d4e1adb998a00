/**
 * The error a user catches says what happened, at top level: one test per
 * row of the table in ConnectionClosed's doc comment (normal close either
 * way, another code, we failed — 1009 over maxSize, 1002, keepalive 1011 —,
 * the peer failed, TCP reset / EOF, close timeout), plus what else can
 * surface from connect (network and TLS errors, passed through with their
 * Node `code`). Over real sockets.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  ConnectionClosed,
  ConnectionClosedError,
  ConnectionClosedOK,
  PayloadTooBig,
  ProtocolError,
  WebSocketError,
  connect,
  serve,
  type Connection,
  type Server,
  type ServerOptions,
} from "../../src/index.js";
import { RawPeer, clientFrame, selfSignedCert, until } from "./helpers.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server whose handler reads until the connection ends and keeps what it caught. */
async function catching(options: ServerOptions = {}, after?: (ws: Connection) => Promise<void>) {
  const caught: ConnectionClosed[] = [];
  const conns: Connection[] = [];
  const server = await serve(async (ws) => {
    conns.push(ws);
    if (after) await after(ws);
    try {
      for (;;) await ws.recv();
    } catch (err) {
      caught.push(err as ConnectionClosed);
    }
  }, { host: "127.0.0.1", logger: null, ...options });
  servers.push(server);
  return { server, caught, conns };
}

async function rejection(p: Promise<unknown>): Promise<ConnectionClosed> {
  try {
    await p;
  } catch (err) {
    return err as ConnectionClosed;
  }
  throw new Error("resolved; expected a rejection");
}

describe("normal closes: ConnectionClosedOK", () => {
  it("we close first: closeCode is the peer's answer; sent then received", async () => {
    const { server, caught } = await catching();
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    await ws.close(1000, "bye");
    const err = await rejection(ws.recv());
    expect(err).toBeInstanceOf(ConnectionClosedOK);
    expect(err).toMatchObject({ closeCode: 1000, closeReason: "bye", rcvd: { code: 1000, reason: "bye" }, sent: { code: 1000, reason: "bye" }, rcvdThenSent: false });
    expect(err.message).toBe("connection closed normally: bye (sent 1000; then received 1000)");
    await until(() => caught.length === 1);
    expect(caught[0]).toBeInstanceOf(ConnectionClosedOK);
    expect(caught[0]!.rcvdThenSent).toBe(true);
    expect(caught[0]!.message).toBe("connection closed normally: bye (received 1000; then sent 1000)");
  });

  it("the peer closes first (the handler returned): received then sent", async () => {
    const server = await serve(() => undefined, { host: "127.0.0.1", logger: null });
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    const err = await rejection(ws.recv());
    expect(err).toBeInstanceOf(ConnectionClosedOK);
    expect(err).toMatchObject({ closeCode: 1000, rcvdThenSent: true });
    expect(err.cause).toBeUndefined();
    expect(ws.closeCode).toBe(1000);
  });
});

describe("a closing handshake with another code: ConnectionClosedError with that code", () => {
  it("4000 from the peer", async () => {
    const server = await serve((ws) => ws.close(4000, "room closed"), { host: "127.0.0.1", logger: null });
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    const err = await rejection(ws.recv());
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ closeCode: 4000, closeReason: "room closed", rcvdThenSent: true });
    expect(err.message).toBe("peer closed the connection with 4000 (private use): room closed (received 4000; then sent 4000)");
  });
});

describe("we failed the connection: closeCode is the code we sent, the cause is at top level", () => {
  it("a message over maxSize: the server's handler sees 1009, 'message too big' and the limit", async () => {
    const { server, caught, conns } = await catching();
    const ws = await connect(`ws://127.0.0.1:${server.port}`, { compression: null });
    await ws.send(new Uint8Array(2 * 1024 * 1024));
    await until(() => caught.length === 1, 10_000);
    const err = caught[0]!;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err.closeCode).toBe(1009);
    expect(err.sent?.code).toBe(1009);
    expect(err.rcvd).toBe(null);
    expect(err.message).toBe(
      "message too big: 2,097,152 bytes, over the limit of 1,048,576 bytes (sent 1009; no close frame received)",
    );
    expect(err.cause).toBeInstanceOf(PayloadTooBig);
    expect(err.cause).toMatchObject({ size: 2 * 1024 * 1024, maxSize: 1024 * 1024, closeCode: 1009, code: "WS_ERR_PAYLOAD_TOO_BIG" });
    expect(conns[0]!.closeCode).toBe(1009);
    // The client was failed by the server: it sees the server's code.
    const clientErr = await rejection(ws.recv());
    expect(clientErr.closeCode).toBe(1009);
    expect(clientErr.message).toContain("peer closed the connection with 1009 (message too big)");
  });

  it("a client with maxSize sees 1009 for a message from the server, compressed or not", async () => {
    const server = await serve((ws) => ws.send("x".repeat(5000)).then(() => ws.closed), { host: "127.0.0.1", logger: null });
    servers.push(server);
    for (const compression of [null, "deflate"] as const) {
      const ws = await connect(`ws://127.0.0.1:${server.port}`, { maxSize: 1000, compression });
      const err = await rejection(ws.recv());
      expect(err.closeCode).toBe(1009);
      expect(err.message).toMatch(/^message too big: .*1,000 bytes.* \(sent 1009; no close frame received\)$/);
      expect(err.cause).toBeInstanceOf(PayloadTooBig);
      expect((err.cause as PayloadTooBig).maxSize).toBe(1000);
    }
  });

  it("a protocol violation: 1002 and the ProtocolError", async () => {
    const { server, caught } = await catching();
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // unmasked: §5.1 violation
    await until(() => caught.length === 1);
    const err = caught[0]!;
    expect(err.closeCode).toBe(1002);
    expect(err.cause).toBeInstanceOf(ProtocolError);
    expect((err.cause as ProtocolError).code).toBe("WS_ERR_EXPECTED_MASK");
    expect(err.message).toMatch(/mask.* \(sent 1002; no close frame received\)$/);
    peer.destroy();
  });

  it("a keepalive timeout: 1011", async () => {
    const { server, caught } = await catching({ pingInterval: 50, pingTimeout: 100 });
    const peer = await RawPeer.connect(server.port);
    await peer.handshake(); // never answers pings
    await until(() => caught.length === 1, 10_000);
    expect(caught[0]!.closeCode).toBe(1011);
    expect(caught[0]!.message).toBe("keepalive ping timeout (sent 1011; no close frame received)");
    peer.destroy();
  });
});

describe("the peer failed the connection: its code", () => {
  it("a close frame with 1002 and a reason", async () => {
    const { server, caught } = await catching();
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.write(clientFrame(0x8, Buffer.concat([Buffer.from([0x03, 0xea]), Buffer.from("bad frame")])));
    await until(() => caught.length === 1);
    expect(caught[0]).toBeInstanceOf(ConnectionClosedError);
    expect(caught[0]).toMatchObject({ closeCode: 1002, closeReason: "bad frame", rcvd: { code: 1002 }, sent: { code: 1002 }, rcvdThenSent: true });
    expect(caught[0]!.message).toBe("peer closed the connection with 1002 (protocol error): bad frame (received 1002; then sent 1002)");
    peer.destroy();
  });
});

describe("no closing handshake: 1006", () => {
  it("TCP reset: the socket error is the cause", async () => {
    const { server, caught } = await catching();
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    await until(() => server.connections.size === 1);
    peer.socket.resetAndDestroy();
    await until(() => caught.length === 1);
    const err = caught[0]!;
    expect(err).toMatchObject({ closeCode: 1006, closeReason: "", rcvd: null, sent: null });
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect(err.message).toBe("connection lost without a closing handshake: read ECONNRESET (no close frame received or sent; 1006)");
  });

  it("TCP closed without a close frame", async () => {
    const { server, caught } = await catching();
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.socket.end();
    await until(() => caught.length === 1);
    expect(caught[0]).toMatchObject({ closeCode: 1006, rcvd: null, sent: null });
    expect(caught[0]!.cause).toBeUndefined();
    expect(caught[0]!.message).toBe("connection lost without a closing handshake (no close frame received or sent; 1006)");
    peer.destroy();
  });

  it("our close frame unanswered until closeTimeout", async () => {
    const { server, caught } = await catching({ closeTimeout: 200 }, async (ws) => {
      void ws.close(1000, "done");
    });
    const peer = await RawPeer.connect(server.port);
    await peer.handshake(); // reads nothing, answers nothing
    await until(() => caught.length === 1, 10_000);
    expect(caught[0]).toBeInstanceOf(ConnectionClosedError);
    expect(caught[0]).toMatchObject({ closeCode: 1006, rcvd: null, sent: { code: 1000, reason: "done" } });
    expect(caught[0]!.message).toBe("closing handshake not completed (sent 1000; no close frame received; 1006)");
    peer.destroy();
  });
});

describe("what else can surface from connect: Node's own errors, with their code", () => {
  it("ECONNREFUSED", async () => {
    const probe = await serve(() => undefined, { host: "127.0.0.1" });
    const port = probe.port;
    await probe.close();
    const err = (await connect(`ws://127.0.0.1:${port}`).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe("ECONNREFUSED");
    expect(err).not.toBeInstanceOf(WebSocketError);
  });

  it("a TLS error (self-signed certificate)", async () => {
    const server = await serve(() => undefined, { host: "127.0.0.1", logger: null, tls: selfSignedCert() });
    servers.push(server);
    const err = (await connect(`wss://127.0.0.1:${server.port}`).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(err).not.toBeInstanceOf(WebSocketError);
  });
});
