// @ts-check
/**
 * The fanout cell: a chat room across two server processes through a real
 * redis-server. Per cell: redis-server on a free loopback port (no
 * persistence), the implementation twice (A and B, `--redis URL`), the C
 * load generator with its publisher on A and the subscribers spread
 * round-robin over A and B; Redis is stopped after. The generator waits
 * ("OPEN n", --wait-go) until Redis shows both processes subscribed
 * (`PUBSUB NUMSUB` of the channel the server names in its READY info), so
 * that no message of the warm-up is published into a half-subscribed room.
 *
 * The figure is deliveries/s counted at the subscribers; the CPU is that of
 * A + B + redis-server over the measured period (all three on the server
 * core when pinned, so every implementation gets the same CPU), and CPU µs
 * per delivery of the three together, the "at the same CPU" measure.
 * socket.io does not speak plain WebSocket messages: its entry asks the
 * generator for engine.io's websocket framing (`genArgs: ["--eio"]`), the
 * same C generator, so neither side's client costs more than the other's.
 */
import { execFile } from "node:child_process";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { judge } from "./cells.js";
import { opts } from "./options.js";
import { GEN_CORE, Proc, SERVER_CORE, loadgen, serverStats, startServer } from "./proc.js";

const run$ = promisify(execFile);

/**
 * @typedef {import("./rows.js").Row} Row
 * @typedef {import("./registry.js").Impl} Impl
 * @typedef {import("./cells.js").Run} Run
 */

/** A free loopback port (the kernel's pick, released at once; redis-server cannot take port 0). @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/** One command through redis-cli. @param {number} port @param {string[]} args */
async function redisCli(port, args) {
  const { stdout } = await run$("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 5000 });
  return stdout.trim();
}

/** Start redis-server without persistence and wait until it answers PING. */
async function startRedis() {
  const port = await freePort();
  const proc = new Proc("redis-server", "redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no",
  ], { core: SERVER_CORE });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pong = await redisCli(port, ["ping"]).catch(() => "");
    if (pong === "PONG") return { proc, port };
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stopRedis(proc);
      throw new Error(`redis-server did not start on port ${port}: ${proc.stderr.trim().slice(-300)}`);
    }
    await sleep(50);
  }
}

/** SIGTERM (redis-server ignores stdin), then wait for it. @param {Proc} proc */
async function stopRedis(proc) {
  if (proc.exitCode !== null) return;
  proc.child.kill("SIGTERM");
  const done = await Promise.race([proc.exited.then(() => true), sleep(5000).then(() => false)]);
  if (!done) await proc.stop();
}

/**
 * Until Redis shows `want` subscribers of `channel` (one per server process).
 * @param {number} port @param {string} channel @param {number} want
 */
async function subscribed(port, channel, want) {
  const deadline = Date.now() + 20_000;
  let got = "";
  while (Date.now() < deadline) {
    got = await redisCli(port, ["pubsub", "numsub", channel]);
    if (Number(got.split("\n")[1]) >= want) return;
    await sleep(20);
  }
  throw new Error(`Redis shows ${got.split("\n")[1] ?? "?"} subscribers of ${channel} after 20 s, expected ${want}`);
}

/** @param {Awaited<ReturnType<typeof serverStats>>} s0 @param {Awaited<ReturnType<typeof serverStats>>} s1 */
const cpuUs = (s0, s1) => s1.user + s1.system - s0.user - s0.system;

/**
 * Redis + A + B + the generator.
 * @param {Row} row @param {Impl} impl @param {number} rep @returns {Promise<Run>}
 */
export async function fanoutCell(row, impl, rep) {
  /** @type {Run} */
  const run = { row: row.name, impl: impl.name, rep, ok: false, flags: [] };
  /** @type {Awaited<ReturnType<typeof startRedis>> | null} */
  let redis = null;
  /** @type {Awaited<ReturnType<typeof startServer>>[]} */
  const servers = [];
  /** @type {Proc | null} */
  let gen = null;
  try {
    redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    for (let i = 0; i < 2; i++) servers.push(await startServer(impl, row, ["--redis", url]));
    const [a, b] = /** @type {[Awaited<ReturnType<typeof startServer>>, Awaited<ReturnType<typeof startServer>>]} */ (servers);
    const channel = String(a.info["channel"] ?? "");
    if (channel === "") throw new Error(`${impl.script} did not name its Redis channel in its READY info`);
    run.info = { ...a.info, redisPort: redis.port };
    gen = new Proc("load generator", loadgen, [
      ...(row.gen ?? []), ...(impl.genArgs ?? []), "--port", String(a.port), "--sub-ports", `${a.port},${b.port}`, "--wait-go",
      "--warmup", String(opts.warmupMs), "--duration", String(opts.durationMs),
    ], { core: GEN_CORE });
    await gen.waitLine("OPEN ", 60_000);
    await subscribed(redis.port, channel, 2);
    gen.send("go");
    await gen.waitLine("MEASURE_START", opts.warmupMs + 60_000);
    const [a0, b0] = await Promise.all([serverStats(a.proc), serverStats(b.proc)]);
    const r0 = redis.proc.procCpu();
    await gen.waitLine("MEASURE_END", opts.durationMs + 30_000);
    const [a1, b1] = await Promise.all([serverStats(a.proc), serverStats(b.proc)]);
    const r1 = redis.proc.procCpu();
    const result = JSON.parse((await gen.waitLine("RESULT ", 30_000)).slice(7));
    await gen.exited;
    const seconds = (a1.t - a0.t) / 1000;
    const us = { a: cpuUs(a0, a1), b: cpuUs(b0, b1), redis: (r1 - r0) * 1e6 };
    const total = us.a + us.b + us.redis;
    run.gen = result;
    run.server = { a: { start: a0, end: a1 }, b: { start: b0, end: b1 }, redisCpuS: [r0, r1] };
    run.serverCpuPct = (100 * total) / 1e6 / seconds;
    run.genCpuPct = result.cpu_pct;
    run.cpuUsPerOp = total / Math.max(1, result.msgs);
    run.value = result.msgs_per_s;
    run.info = {
      ...run.info,
      cpuPct: { a: (100 * us.a) / 1e6 / seconds, b: (100 * us.b) / 1e6 / seconds, redis: (100 * us.redis) / 1e6 / seconds },
      rssMiB: { a: a1.rss / 1048576, b: b1.rss / 1048576 },
    };
    judge(run, row, result);
    for (const [name, s] of [["A", a], ["B", b]]) {
      const err = /** @type {Awaited<ReturnType<typeof startServer>>} */ (s).proc.stderr.trim();
      if (err) run.flags.push(`server ${name} said: ${err.slice(-200)}`);
    }
  } catch (err) {
    run.error = String(err instanceof Error ? err.message : err);
  } finally {
    if (gen !== null) await gen.stop();
    for (const s of servers) await s.proc.stop();
    if (redis !== null) await stopRedis(redis.proc);
  }
  return run;
}

/**
 * Under the fanout table: where the CPU went, per process (medians, % of one
 * core), beside the generator's, so a reader sees which side was the limit.
 * @param {Row[]} rows @param {import("./report.js").Table} table @returns {string[]}
 */
export function fanoutNotes(rows, table) {
  /** @param {number[]} xs */
  const med = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    const m = s.length >> 1;
    return s.length === 0 ? NaN : s.length % 2 ? /** @type {number} */ (s[m]) : (/** @type {number} */ (s[m - 1]) + /** @type {number} */ (s[m])) / 2;
  };
  const lines = [];
  for (const row of rows) {
    const cells = table.get(row.name);
    if (cells === undefined) continue;
    const parts = [];
    for (const [impl, cell] of cells) {
      const ok = cell.runs.filter((r) => r.ok && r.info?.["cpuPct"] !== undefined);
      if (ok.length === 0) continue;
      /** @param {"a" | "b" | "redis"} k */
      const pct = (k) => med(ok.map((r) => Number(r.info?.["cpuPct"]?.[k]))).toFixed(0);
      parts.push(`${impl} A ${pct("a")} / B ${pct("b")} / redis ${pct("redis")} (generator ${med(ok.map((r) => Number(r.genCpuPct))).toFixed(0)})`);
    }
    if (parts.length > 0) lines.push(`${row.name}, CPU % of one core, medians: ${parts.join("; ")}.`);
  }
  return lines;
}
