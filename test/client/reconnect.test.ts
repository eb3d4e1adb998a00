/**
 * The reconnection loop, `for await (const ws of connect(uri, options))`,
 * over real loopback sockets: a server that goes away and comes back, one
 * that refuses for good, a port nobody listens on, the retry policy and its
 * hook, the backoff delays and their reset. Measured delays are printed.
 */
import { once } from "node:events";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConnectionClosed,
  DEFAULT_BACKOFF,
  InvalidHandshake,
  InvalidStatus,
  InvalidURI,
  ProxyError,
  connect,
  processException,
  serve,
  type Connection,
  type Handler,
  type RetryInfo,
  type Server,
  type ServerOptions,
} from "../../src/index.js";
import { Backoff } from "../../src/client/reconnect.js";
import { freePort } from "./helpers.js";
import { selfSignedCert } from "../node/helpers.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(handler: Handler, options: ServerOptions = {}): Promise<Server> {
  const server = await serve(handler, { host: "127.0.0.1", port: 0, ...options });
  servers.push(server);
  return server;
}

const now = () => performance.now();

describe("backoff delays", () => {
  it("follow Python websockets' defaults: random first delay, then 3.1 s growing ×1.618 up to 90 s", () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialDelay: 5000, minDelay: 3100, factor: 1.618, maxDelay: 90_000, resetAfter: 10_000 });
    const b = new Backoff(DEFAULT_BACKOFF, () => 0.5);
    const delays = Array.from({ length: 12 }, () => Math.round(b.next()));
    // 3100 × 1.618^k: 3100, 5016, 8116, 13131, 21246, 34376, 55620, 89994, then the cap.
    expect(delays).toEqual([2500, 3100, 5016, 8116, 13131, 21246, 34376, 55620, 89994, 90000, 90000, 90000]);
  });

  it("draw the first delay in [0, initialDelay) and cap at maxDelay", () => {
    expect(new Backoff({ ...DEFAULT_BACKOFF, initialDelay: 100 }, () => 0).next()).toBe(0);
    expect(new Backoff({ ...DEFAULT_BACKOFF, initialDelay: 100 }, () => 0.999).next()).toBeCloseTo(99.9);
    const b = new Backoff({ initialDelay: 0, minDelay: 500, factor: 3, maxDelay: 1000, resetAfter: 0 });
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([0, 500, 1000, 1000]);
    // A minDelay above maxDelay is capped too.
    const c = new Backoff({ initialDelay: 0, minDelay: 5000, factor: 2, maxDelay: 1000, resetAfter: 0 });
    expect([c.next(), c.next()]).toEqual([0, 1000]);
  });
});

describe("the default retry policy (processException)", () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  const status = (s: number) => new InvalidStatus({ status: s, reason: "", headers: {} });

  it("retries network errors, timeouts, EOF during the handshake, 5xx, a proxy that cannot reach the server", () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ENOENT", "EPIPE"]) {
      expect(processException(err(code)), code).toBeUndefined();
    }
    for (const s of [500, 502, 503, 504, 507]) expect(processException(status(s)), String(s)).toBeUndefined();
    expect(processException(new InvalidHandshake("t", { code: "WS_ERR_OPEN_TIMEOUT", status: 0 }))).toBeUndefined();
    expect(processException(new InvalidHandshake("e", { code: "WS_ERR_HANDSHAKE_EOF", status: 0 }))).toBeUndefined();
    expect(processException(new ProxyError("p", "WS_ERR_PROXY_TARGET", { proxy: "http://p:1", target: "h:1" }))).toBeUndefined();
  });

  it("stops on 4xx and other statuses, 501/505, bad URIs and options, TLS certificate errors, proxy refusals", () => {
    const fatal = [
      status(400),
      status(401),
      status(403),
      status(404),
      status(429),
      status(501),
      status(505),
      status(302),
      new InvalidURI("http://x", "scheme isn't ws or wss"),
      new InvalidHandshake("bad accept", { code: "WS_ERR_INVALID_ACCEPT", status: 101 }),
      Object.assign(new TypeError("bad option"), { code: "WS_ERR_INVALID_OPTION" }),
      err("DEPTH_ZERO_SELF_SIGNED_CERT"),
      err("ERR_TLS_CERT_ALTNAME_INVALID"),
      err("CERT_HAS_EXPIRED"),
      new ProxyError("p", "WS_ERR_PROXY_AUTH", { proxy: "http://p:1", target: "h:1" }),
      new ProxyError("p", "WS_ERR_PROXY", { proxy: "http://p:1", target: "h:1" }),
      new Error("something else"),
    ];
    for (const e of fatal) expect(processException(e), String(e)).toBe(e);
  });

  it("stops on the real error of a self-signed certificate", async () => {
    const { key, cert } = selfSignedCert();
    const server = await start(async () => undefined, { tls: { key, cert } });
    const e = await connect(`wss://127.0.0.1:${server.port}/`).catch((x: unknown) => x);
    expect((e as { code?: string }).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(processException(e)).toBe(e);
    let attempts = 0;
    const loop = connect(`wss://127.0.0.1:${server.port}/`, {
      processException: (x) => (attempts++, processException(x)),
    });
    await expect(
      (async () => {
        for await (const ws of loop) await ws.close();
      })(),
    ).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(attempts).toBe(1);
  });
});

describe("for await (const ws of connect(uri))", () => {
  it("reconnects to a server that goes away and comes back, several times (delays measured)", async () => {
    const port = await freePort();
    let served = 0;
    const handler: Handler = async (ws) => {
      served++;
      await ws.send(`hello ${served}`);
      for await (const m of ws) await ws.send(m);
    };
    let server: Server | null = await serve(handler, { host: "127.0.0.1", port });
    const failures: { at: number; info: RetryInfo; code: unknown }[] = [];
    const backoff = { initialDelay: 100, minDelay: 100, factor: 2, maxDelay: 1000, resetAfter: 250 };
    const outages: { down: number; up: number; reconnected: number }[] = [];
    const greetings: unknown[] = [];
    const OUTAGES = 3;
    let restart: Promise<void> | null = null;
    const loop = connect(`ws://127.0.0.1:${port}/`, {
      backoff,
      processException: (err, info) => {
        failures.push({ at: now(), info, code: (err as { code?: unknown }).code });
        return processException(err);
      },
    });
    for await (const ws of loop) {
      if (outages.length > 0) outages.at(-1)!.reconnected = now();
      greetings.push(await ws.recv());
      await ws.send("ping");
      expect(await ws.recv()).toBe("ping");
      if (outages.length === OUTAGES) {
        await ws.close();
        break;
      }
      // Stay connected past resetAfter, so that each outage starts a fresh backoff.
      await new Promise((r) => setTimeout(r, 300));
      // The server goes away (1001 to the client), stays down 500 ms, comes back on the same port.
      const outage = { down: now(), up: 0, reconnected: 0 };
      outages.push(outage);
      await server!.close();
      server = null;
      restart = new Promise<void>((resolve) =>
        setTimeout(async () => {
          server = await serve(handler, { host: "127.0.0.1", port });
          outage.up = now();
          resolve();
        }, 500),
      );
      // The loop's body ends when the connection is lost; iteration ends on 1001.
      for await (const m of ws) expect.unreachable(`unexpected message ${String(m)}`);
      expect(ws.closeCode).toBe(1001);
    }
    await restart;
    if (server !== null) servers.push(server);

    expect(greetings).toEqual(["hello 1", "hello 2", "hello 3", "hello 4"]);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set(["ECONNREFUSED"]));
    for (const o of outages) {
      expect(o.reconnected).toBeGreaterThanOrEqual(o.up);
    }
    // Each outage starts a fresh backoff (the connection lived > resetAfter):
    // an immediate attempt, then the failed attempts numbered 1, 2, 3... with
    // delays random in [0, 100), then 100, 200, 400...
    const runs: RetryInfo[][] = [];
    for (const f of failures) {
      if (f.info.attempt === 1) runs.push([]);
      runs.at(-1)!.push(f.info);
    }
    expect(runs).toHaveLength(OUTAGES);
    for (const run of runs) {
      expect(run.length).toBeGreaterThanOrEqual(2);
      expect(run[0]!.delay).toBeLessThan(backoff.initialDelay);
      expect(run[1]!.delay).toBe(backoff.minDelay);
      for (let i = 2; i < run.length; i++) expect(run[i]!.delay).toBe(Math.min(run[i - 1]!.delay * 2, backoff.maxDelay));
    }
    console.log(
      "reconnect: server down 500 ms, three times; per outage: failed attempts (delays chosen ms) → reconnected ms after the server was back:\n" +
        outages
          .map((o, i) => `  outage ${i + 1}: ${runs[i]!.length} refused (${runs[i]!.map((r) => r.delay.toFixed(0)).join(", ")}) → +${(o.reconnected - o.up).toFixed(0)} ms (down for ${(o.up - o.down).toFixed(0)} ms)`)
          .join("\n"),
    );
  }, 60_000);

  it("stops at once, with InvalidStatus, on a server that refuses with a 4xx", async () => {
    let requests = 0;
    const server = await start(async () => undefined, {
      processRequest: (conn) => {
        requests++;
        return conn.respond(403, "go away\n");
      },
    });
    const seen: unknown[] = [];
    const run = async () => {
      for await (const ws of connect(`ws://127.0.0.1:${server.port}/`, { processException: (e) => (seen.push(e), processException(e)) })) {
        seen.push(ws);
      }
    };
    const err = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(403);
    expect(requests).toBe(1);
    expect(seen).toHaveLength(1);
  });

  it("retries a refused port with growing delays until the AbortSignal stops it (delays measured)", async () => {
    const port = await freePort();
    const controller = new AbortController();
    const failures: { at: number; info: RetryInfo; code: unknown }[] = [];
    const backoff = { initialDelay: 20, minDelay: 50, factor: 2, maxDelay: 400 };
    const loop = connect(`ws://127.0.0.1:${port}/`, {
      backoff,
      signal: controller.signal,
      processException: (err, info) => {
        failures.push({ at: now(), info, code: (err as { code?: unknown }).code });
        if (failures.length === 7) controller.abort();
        return processException(err);
      },
    });
    const started = now();
    const err = await (async () => {
      for await (const ws of loop) await ws.close();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe("AbortError");
    expect(err).toBe(controller.signal.reason);
    expect(failures.map((f) => f.code)).toEqual(Array(7).fill("ECONNREFUSED"));
    expect(failures.map((f) => f.info.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const delays = failures.map((f) => f.info.delay);
    expect(delays[0]).toBeGreaterThanOrEqual(0);
    expect(delays[0]).toBeLessThan(20);
    expect(delays.slice(1)).toEqual([50, 100, 200, 400, 400, 400]);
    // Each attempt waited its delay: a timer counts from the event loop's
    // cached clock, which can be a few ms behind performance.now() on a busy machine.
    const gaps = failures.slice(1).map((f, i) => f.at - failures[i]!.at);
    gaps.forEach((gap, i) => expect(gap, `gap ${i}: ${gaps.join(", ")}`).toBeGreaterThanOrEqual(delays[i]! - 10));
    console.log(
      `reconnect: refused port, delays chosen ${delays.map((d) => d.toFixed(0)).join(", ")} ms; measured between attempts ${gaps.map((g) => g.toFixed(0)).join(", ")} ms; stopped by the signal after ${(now() - started).toFixed(0)} ms`,
    );
  }, 30_000);

  it("retries 503 answers until the server accepts", async () => {
    let requests = 0;
    const server = await start(async (ws) => ws.send("in"), {
      processRequest: (conn) => (++requests <= 2 ? conn.respond(503, "busy\n") : undefined),
    });
    const statuses: number[] = [];
    for await (const ws of connect(`ws://127.0.0.1:${server.port}/`, {
      backoff: { initialDelay: 10, minDelay: 10 },
      processException: (e) => (statuses.push((e as InvalidStatus).status), processException(e)),
    })) {
      expect(await ws.recv()).toBe("in");
      break;
    }
    expect(statuses).toEqual([503, 503]);
    expect(requests).toBe(3);
  });

  it("lets the hook retry what the default stops (a 429), and stop with an error it throws or returns", async () => {
    let requests = 0;
    const server = await start(async (ws) => ws.send("ok"), {
      processRequest: (conn) => (++requests === 1 ? conn.respond(429, "slow down\n", { "retry-after": "0" }) : undefined),
    });
    const uri = `ws://127.0.0.1:${server.port}/`;
    const backoff = { initialDelay: 10, minDelay: 10 };
    for await (const ws of connect(uri, {
      backoff,
      processException: (e) => (e instanceof InvalidStatus && e.status === 429 ? undefined : processException(e)),
    })) {
      expect(await ws.recv()).toBe("ok");
      break;
    }
    expect(requests).toBe(2);

    const port = await freePort();
    const thrown = new Error("thrown by the hook");
    await expect(
      (async () => {
        for await (const _ of connect(`ws://127.0.0.1:${port}/`, { backoff, processException: () => { throw thrown; } })) void _;
      })(),
    ).rejects.toBe(thrown);
    const returned = new Error("returned by the hook");
    await expect(
      (async () => {
        for await (const _ of connect(`ws://127.0.0.1:${port}/`, { backoff, processException: async () => returned })) void _;
      })(),
    ).rejects.toBe(returned);
  });

  it("waits the backoff after connections that are lost quickly, and resets after one that lived resetAfter", async () => {
    // The server accepts and closes at once: each connection lives a few ms.
    let opens: number[] = [];
    const quick = await start(async () => {
      opens.push(now());
    });
    let n = 0;
    for await (const ws of connect(`ws://127.0.0.1:${quick.port}/`, { backoff: { initialDelay: 0, minDelay: 200, factor: 2, resetAfter: 10_000 } })) {
      await ws.closed;
      if (++n === 4) break;
    }
    // Delays: 0 (the random first one, with initialDelay 0), then 200, then 400.
    const gaps = opens.slice(1).map((t, i) => t - opens[i]!);
    expect(gaps[1]).toBeGreaterThanOrEqual(190);
    expect(gaps[2]).toBeGreaterThanOrEqual(390);

    // The server keeps each connection 300 ms, past resetAfter: reconnection is immediate each time.
    opens = [];
    const slow = await start(async (ws) => {
      opens.push(now());
      await new Promise((r) => setTimeout(r, 300));
      await ws.close();
    });
    n = 0;
    for await (const ws of connect(`ws://127.0.0.1:${slow.port}/`, { backoff: { initialDelay: 5000, minDelay: 5000, resetAfter: 200 } })) {
      await ws.closed;
      if (++n === 3) break;
    }
    // Without the reset the third connection would wait ≥ 5 s after the second was lost.
    const slowGaps = opens.slice(1).map((t, i) => t - opens[i]!);
    for (const gap of slowGaps) expect(gap).toBeLessThan(300 + 4000);
    console.log(
      `reconnect: connections lost at once → next opened after ${gaps.map((g) => g.toFixed(0)).join(", ")} ms (backoff 0, 200, 400); kept 300 ms with resetAfter 200 → ${slowGaps.map((g) => g.toFixed(0)).join(", ")} ms (immediate)`,
    );
  }, 30_000);

  it("closes the connection when the body breaks, and when the body goes on to the next one", async () => {
    const codes: number[] = [];
    const server = await start(async (ws) => {
      for await (const _ of ws) void _;
      codes.push(ws.closeCode!);
    });
    const conns: Connection[] = [];
    for await (const ws of connect(`ws://127.0.0.1:${server.port}/`, { backoff: { initialDelay: 0 } })) {
      conns.push(ws);
      if (conns.length === 2) break;
      // continue with the connection open: the loop closes it, then reconnects
    }
    await Promise.all(conns.map((c) => c.closed));
    expect(conns.map((c) => c.state)).toEqual(["closed", "closed"]);
    await expect.poll(() => codes).toEqual([1000, 1000]);
  });

  it("an abort while a connection is out closes it with 1001 and ends the loop with the reason", async () => {
    const codes: number[] = [];
    const server = await start(async (ws) => {
      for await (const _ of ws) void _;
      codes.push(ws.closeCode!);
    });
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const err = await (async () => {
      for await (const ws of connect(`ws://127.0.0.1:${server.port}/`, { signal: controller.signal })) {
        setTimeout(() => controller.abort(reason), 50);
        try {
          for await (const _ of ws) void _;
        } catch (e) {
          if (!(e instanceof ConnectionClosed)) throw e;
        }
        expect(ws.state).toBe("closed");
      }
    })().catch((e: unknown) => e);
    expect(err).toBe(reason);
    await expect.poll(() => codes).toEqual([1001]);
  });

  it("a backoff option set to undefined takes its default", async () => {
    const port = await freePort();
    const delays: number[] = [];
    const stop = new Error("enough");
    await expect(
      (async () => {
        for await (const _ of connect(`ws://127.0.0.1:${port}/`, {
          backoff: { initialDelay: 0, minDelay: undefined },
          processException: (_err, { delay }) => (delays.push(delay), delays.length === 2 ? stop : undefined),
        })) void _;
      })(),
    ).rejects.toBe(stop);
    expect(delays).toEqual([0, DEFAULT_BACKOFF.minDelay]);
  });

  it("keeps `await connect(uri)` and `.catch` working: one connection, no retry", async () => {
    const server = await start(async (ws) => ws.send("hi"));
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    expect(await ws.recv()).toBe("hi");
    await ws.close();
    const port = await freePort();
    const refused = await connect(`ws://127.0.0.1:${port}/`).catch((e: { code?: string }) => e.code);
    expect(refused).toBe("ECONNREFUSED");
    const pending = connect(`ws://127.0.0.1:${server.port}/`);
    expect(pending).toBeInstanceOf(Promise);
    await (await pending).close();
  });

  it("starts connecting when connect() is called, before await or iteration (as a Promise does)", async () => {
    const listener = net.createServer();
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    const port = (listener.address() as net.AddressInfo).port;
    const pending = connect(`ws://127.0.0.1:${port}/`, { openTimeout: 200 });
    const [socket] = (await once(listener, "connection")) as [net.Socket];
    socket.destroy();
    await expect(pending).rejects.toMatchObject({ code: "WS_ERR_HANDSHAKE_EOF" });
    await new Promise<void>((r) => listener.close(() => r()));
  });
});
