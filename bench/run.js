// @ts-check
/**
 * wavesock's benchmark runner: the matrix of /work/shared/BENCH.md, wavesock
 * beside `ws` (plain, and with its native addons) in one run, printed as a
 * Markdown table of medians and ratios, every run saved as JSON under
 * bench/results/.
 *
 *   npm run bench                         # full run (~10-15 min)
 *   npm run bench -- --quick              # smoke run (< 2 min)
 *   npm run bench -- --only echo-small,broadcast
 *
 * Options: --quick, --only <rows>, --repeats N, --warmup MS, --duration MS,
 * --idle-conns N, --no-pin (do not use taskset), --cpu-prof (profile the
 * wavesock server processes — or --cpu-prof=wavesock,ws,ws+addons — into
 * bench/results/prof/*.cpuprofile; summarise with bench/prof-summary.js),
 * --list (print the rows and exit).
 *
 * Every server runs in its own process (bench/servers/*.js); the load comes
 * from bench/loadgen.c, compiled here with `cc` into bench/results/, in
 * another process pinned to another core. See bench/README.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(here, "results");

// ------------------------------------------------------------------ options

const argv = process.argv.slice(2);
/** @param {string} name */
const flag = (name) => argv.includes(name);
/** @param {string} name @param {string | undefined} fallback */
const value = (name, fallback) => {
  const i = argv.indexOf(name);
  if (i >= 0 && argv[i + 1] !== undefined) return /** @type {string} */ (argv[i + 1]);
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq !== undefined ? eq.slice(name.length + 1) : fallback;
};

const quick = flag("--quick");
const opts = {
  quick,
  repeats: Number(value("--repeats", quick ? "1" : "3")),
  warmupMs: Number(value("--warmup", quick ? "300" : "1000")),
  durationMs: Number(value("--duration", quick ? "800" : "3000")),
  idleConns: Number(value("--idle-conns", quick ? "1000" : "5000")),
  pin: !flag("--no-pin"),
  /** Implementations whose server (or client, on client-* rows) runs under --cpu-prof. */
  cpuProf: flag("--cpu-prof") ? ["wavesock"] : (value("--cpu-prof", "") ?? "").split(",").filter(Boolean),
  only: /** @type {string[] | null} */ (null),
};

// ------------------------------------------------------------------ the matrix

/**
 * @typedef {"msgs" | "mb" | "latency" | "handshakes" | "deliveries" | "idle" | "deflate"} Figure
 * @typedef {{
 *   name: string,
 *   what: string,
 *   figure: Figure,
 *   kind: "server" | "idle" | "client" | "micro",
 *   serverMode?: "echo" | "broadcast",
 *   compression?: boolean,
 *   gen?: string[],
 *   tcp?: boolean,
 * }} Row
 */

/** @type {Row[]} */
const ROWS = [
  { name: "echo-small", what: "50 conns, 64 B binary, 16 in flight each", figure: "msgs", kind: "server", serverMode: "echo",
    gen: ["echo", "--conns", "50", "--size", "64", "--window", "16"], tcp: true },
  { name: "echo-1k", what: "50 conns, 1 KiB binary, 16 in flight each", figure: "msgs", kind: "server", serverMode: "echo",
    gen: ["echo", "--conns", "50", "--size", "1024", "--window", "16"], tcp: true },
  { name: "echo-64k", what: "8 conns, 64 KiB binary, 4 in flight each", figure: "mb", kind: "server", serverMode: "echo",
    gen: ["echo", "--conns", "8", "--size", "65536", "--window", "4"], tcp: true },
  { name: "echo-1m", what: "1 conn, 1 MiB binary, 2 in flight", figure: "mb", kind: "server", serverMode: "echo",
    gen: ["echo", "--conns", "1", "--size", "1048576", "--window", "2"], tcp: true },
  { name: "latency", what: "1 conn, 64 B, 1 in flight", figure: "latency", kind: "server", serverMode: "echo",
    gen: ["echo", "--conns", "1", "--size", "64", "--window", "1"], tcp: true },
  { name: "connect", what: "8 concurrent openers: handshake + close", figure: "handshakes", kind: "server", serverMode: "echo",
    gen: ["connect", "--conns", "8"] },
  { name: "broadcast", what: "500 subscribers, 64 B, 1 publisher, 16 messages in flight", figure: "deliveries", kind: "server",
    serverMode: "broadcast", gen: ["broadcast", "--subs", "500", "--size", "64", "--window", "16"] },
  { name: "idle", what: "open idle connections, RSS after GC", figure: "idle", kind: "idle", serverMode: "echo" },
  { name: "deflate", what: "50 conns, 1 KiB JSON-like text, permessage-deflate", figure: "deflate", kind: "server",
    serverMode: "echo", compression: true, gen: ["echo", "--conns", "50", "--size", "1024", "--window", "16", "--text", "--deflate"] },
  { name: "client-small", what: "client library as generator: 50 conns, 64 B, 16 in flight", figure: "msgs", kind: "client",
    gen: ["--conns", "50", "--size", "64", "--window", "16"] },
  { name: "client-1k", what: "client library as generator: 50 conns, 1 KiB, 16 in flight", figure: "msgs", kind: "client",
    gen: ["--conns", "50", "--size", "1024", "--window", "16"] },
  { name: "micro", what: "bench/micro.js: masking, UTF-8 validation", figure: "msgs", kind: "micro" },
];

if (flag("--list")) {
  for (const r of ROWS) console.log(`${r.name.padEnd(13)} ${r.what}`);
  process.exit(0);
}
const onlyArg = value("--only", undefined);
if (onlyArg !== undefined) {
  opts.only = onlyArg.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = opts.only.filter((n) => !ROWS.some((r) => r.name === n));
  if (unknown.length > 0) {
    console.error(`unknown row(s): ${unknown.join(", ")}; rows: ${ROWS.map((r) => r.name).join(", ")}`);
    process.exit(2);
  }
}
const rows = ROWS.filter((r) => opts.only === null || opts.only.includes(r.name));

/**
 * The three implementations, as servers (bench/servers/) and as clients
 * (bench/clients/). ws "plain" turns its addons off with its own env vars.
 * @typedef {{ name: string, script: string, env: Record<string, string | undefined> }} Impl
 */
/** @type {Impl[]} */
const IMPLS = [
  { name: "wavesock", script: "wavesock.js", env: {} },
  { name: "ws", script: "ws.js", env: { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" } },
  { name: "ws+addons", script: "ws.js", env: { WS_NO_BUFFER_UTIL: undefined, WS_NO_UTF_8_VALIDATE: undefined } },
];
/** @type {Impl} */
const TCP = { name: "tcp", script: "tcp.js", env: {} };

// ------------------------------------------------------------------ processes

const canPin =
  opts.pin && os.cpus().length >= 2 && spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" }).status === 0;
const SERVER_CORE = "1";
const GEN_CORE = "0";
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** A child process speaking in lines. */
class Proc {
  /**
   * @param {string} name
   * @param {string} file
   * @param {string[]} args
   * @param {{ env?: Record<string, string | undefined>, core?: string }} [o]
   */
  constructor(name, file, args, o = {}) {
    this.name = name;
    const env = { ...process.env };
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const pinned = canPin && o.core !== undefined;
    this.child = spawn(pinned ? "taskset" : file, pinned ? ["-c", /** @type {string} */ (o.core), file, ...args] : args, {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    /** @type {string[]} */
    this.pending = [];
    /** @type {{ prefix: string, resolve: (line: string) => void, reject: (err: Error) => void }[]} */
    this.waiters = [];
    this.stderr = "";
    /** @type {number | null} */
    this.exitCode = null;
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : 0);
        const err = new Error(`${this.name} exited (${code ?? signal})${this.stderr ? `: ${this.stderr.trim().slice(-600)}` : ""}`);
        for (const w of this.waiters.splice(0)) w.reject(err);
        resolve(this.exitCode);
      });
    });
    this.child.on("error", (err) => {
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
    let buf = "";
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (/** @type {string} */ chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const i = this.waiters.findIndex((w) => line.startsWith(w.prefix));
        if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(line);
        else this.pending.push(line);
      }
    });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (/** @type {string} */ chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.child.stdin.on("error", () => {});
  }

  get pid() {
    return this.child.pid ?? 0;
  }

  /**
   * The next line starting with `prefix` (already received, or to come).
   * @param {string} prefix
   * @param {number} timeoutMs
   * @returns {Promise<string>}
   */
  waitLine(prefix, timeoutMs) {
    const i = this.pending.findIndex((l) => l.startsWith(prefix));
    if (i >= 0) return Promise.resolve(/** @type {string} */ (this.pending.splice(i, 1)[0]));
    if (this.exitCode !== null) return Promise.reject(new Error(`${this.name} has exited: ${this.stderr.trim().slice(-600)}`));
    return new Promise((resolve, reject) => {
      const w = {
        prefix,
        /** @param {string} line */
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        /** @param {Error} err */
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: no "${prefix}" line after ${timeoutMs} ms${this.stderr ? `: ${this.stderr.trim().slice(-600)}` : ""}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** @param {string} line */
  send(line) {
    if (this.exitCode === null) this.child.stdin.write(`${line}\n`);
  }

  /** CPU seconds used so far, from /proc (for processes that do not report it themselves). */
  procCpu() {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      return NaN;
    }
  }

  /** Close stdin (the polite stop: lets --cpu-prof write its profile), then kill. */
  async stop() {
    if (this.exitCode !== null) return;
    this.child.stdin.end();
    const done = await Promise.race([this.exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done && this.exitCode === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/**
 * @typedef {{ t: number, user: number, system: number, rss: number, heapUsed: number,
 *   external: number, arrayBuffers: number, maxRss: number, gc?: boolean }} ServerStats
 */

/**
 * @param {Proc} p
 * @param {boolean} [gc]
 * @returns {Promise<ServerStats>}
 */
async function serverStats(p, gc = false) {
  p.send(gc ? "gc" : "stats");
  const line = await p.waitLine("STATS ", 15_000);
  return JSON.parse(line.slice(6));
}

const loadgen = path.join(resultsDir, "loadgen");

function buildLoadgen() {
  const src = path.join(here, "loadgen.c");
  if (existsSync(loadgen) && statSync(loadgen).mtimeMs >= statSync(src).mtimeMs) return;
  const r = spawnSync("cc", ["-O2", "-o", loadgen, src, "-lz"], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`cannot build the load generator (cc -O2 -o ${loadgen} ${src} -lz):\n${r.stderr || r.error}`);
    process.exit(1);
  }
}

/**
 * Node flags that write a CPU profile of this process when it exits.
 * @param {Impl} impl @param {Row} row @returns {string[]}
 */
function profArgs(impl, row) {
  if (!opts.cpuProf.includes(impl.name)) return [];
  const name = `${row.name}-${impl.name.replace(/\W/g, "_")}-${Date.now()}.cpuprofile`;
  return ["--cpu-prof", "--cpu-prof-dir", path.join(resultsDir, "prof"), "--cpu-prof-name", name];
}

/**
 * @param {Impl} impl
 * @param {Row} row
 */
async function startServer(impl, row) {
  const nodeArgs = ["--expose-gc"];
  nodeArgs.push(...profArgs(impl, row));
  const args = [...nodeArgs, path.join(here, "servers", impl.script), "--mode", row.serverMode ?? "echo", "--compression", row.compression ? "on" : "off"];
  const p = new Proc(`${impl.name} server`, process.execPath, args, { env: impl.env, core: SERVER_CORE });
  const line = await p.waitLine("READY ", 15_000);
  const [, port, json] = /^READY (\d+) (.*)$/.exec(line) ?? [];
  return { proc: p, port: Number(port), info: JSON.parse(json ?? "{}") };
}

// ------------------------------------------------------------------ one cell

/**
 * @typedef {{
 *   row: string, impl: string, rep: number, ok: boolean, error?: string,
 *   value?: number | number[], gen?: Record<string, any>, server?: Record<string, any>,
 *   serverCpuPct?: number, genCpuPct?: number, cpuUsPerOp?: number, flags: string[], info?: Record<string, any>,
 * }} Run
 */

/** @param {Record<string, any>} r @param {Row} row @returns {number | number[]} */
function figureOf(r, row) {
  switch (row.figure) {
    case "msgs":
    case "deliveries":
      return r["msgs_per_s"];
    case "mb":
      return r["mb_per_s"];
    case "latency":
      return [r["lat_p50_us"], r["lat_p99_us"]];
    case "handshakes":
      return r["handshakes_per_s"];
    default:
      return r["msgs_per_s"];
  }
}

/**
 * Server under test + C generator.
 * @param {Row} row @param {Impl} impl @param {number} rep @returns {Promise<Run>}
 */
async function serverCell(row, impl, rep) {
  /** @type {Run} */
  const run = { row: row.name, impl: impl.name, rep, ok: false, flags: [] };
  const server = await startServer(impl, row);
  run.info = server.info;
  /** @type {Proc | null} */
  let gen = null;
  try {
    const raw = impl === TCP ? ["--raw"] : [];
    gen = new Proc("load generator", loadgen, [
      ...(row.gen ?? []), ...raw, "--port", String(server.port),
      "--warmup", String(opts.warmupMs), "--duration", String(opts.durationMs),
    ], { core: GEN_CORE });
    await gen.waitLine("MEASURE_START", opts.warmupMs + 60_000);
    const s0 = await serverStats(server.proc);
    await gen.waitLine("MEASURE_END", opts.durationMs + 30_000);
    const s1 = await serverStats(server.proc);
    const result = JSON.parse((await gen.waitLine("RESULT ", 30_000)).slice(7));
    await gen.exited;
    run.gen = result;
    run.server = { start: s0, end: s1 };
    run.serverCpuPct = (100 * (s1.user + s1.system - s0.user - s0.system)) / 1000 / (s1.t - s0.t);
    run.genCpuPct = result.cpu_pct;
    // CPU per operation: far steadier than throughput on a shared machine.
    run.cpuUsPerOp = (s1.user + s1.system - s0.user - s0.system) / Math.max(1, result.msgs + result.handshakes);
    run.value = figureOf(result, row);
    if (row.figure === "deflate") run.value = [result.msgs_per_s, s1.rss / 1048576];
    judge(run, result);
  } catch (err) {
    run.error = String(err instanceof Error ? err.message : err);
  } finally {
    if (gen !== null) await gen.stop();
    await server.proc.stop();
  }
  return run;
}

/**
 * Flags that make a run "not a result", or that the reader must know.
 * @param {Run} run @param {Record<string, any>} result
 */
function judge(run, result) {
  run.ok = true;
  if (result.errors > 0) {
    run.ok = false;
    run.flags.push(`WRONG: ${result.errors} bad echoes (${result.first_error})`);
  }
  if (result.conn_errors > 0) run.flags.push(`${result.conn_errors} connection errors`);
  if (result.lost > 0) run.flags.push(`${result.lost} deliveries skipped`);
  if (run.row === "deflate" && result.deflate_negotiated < result.conns) {
    run.flags.push(`not compressed: permessage-deflate negotiated on ${result.deflate_negotiated}/${result.conns} connections`);
  }
  if (result.msgs === 0 && result.handshakes === 0) {
    run.ok = false;
    run.flags.push("no traffic");
  }
  const server = run.serverCpuPct ?? 0;
  const gen = run.genCpuPct ?? 0;
  if (gen >= 90 && server < 85) run.flags.push("generator-bound");
  else if (run.row !== "latency") starved(run, server, gen);
}

/**
 * On a throughput row one side should use its whole core. When neither does,
 * the processes were waiting: for a core shared with other work (a busy
 * machine), or on each other (latency-bound). Worth knowing, not fatal.
 * @param {Run} run @param {number} server @param {number} gen
 */
function starved(run, server, gen) {
  if (server < 70 && gen < 70) run.flags.push(`neither side CPU-bound (server ${server.toFixed(0)}%, generator ${gen.toFixed(0)}%): busy machine?`);
}

/** Flags (by prefix) that make a run "not a result". */
const NOT_A_RESULT = ["generator-bound", "server-bound", "not compressed"];
/** @param {Run} r */
const notAResult = (r) => r.flags.some((f) => NOT_A_RESULT.some((p) => f.startsWith(p)));

/**
 * Idle connections: server RSS per connection, after a GC.
 * @param {Row} row @param {Impl} impl @param {number} rep @returns {Promise<Run>}
 */
async function idleCell(row, impl, rep) {
  /** @type {Run} */
  const run = { row: row.name, impl: impl.name, rep, ok: false, flags: [] };
  const server = await startServer(impl, row);
  run.info = server.info;
  /** @type {Proc | null} */
  let gen = null;
  try {
    await sleep(200);
    const before = await serverStats(server.proc, true);
    gen = new Proc("load generator", loadgen, ["idle", "--conns", String(idleConns), "--port", String(server.port)], { core: GEN_CORE });
    const line = await gen.waitLine("IDLE_READY", 120_000);
    await sleep(500);
    const after = await serverStats(server.proc, true);
    gen.child.stdin.end();
    const result = JSON.parse((await gen.waitLine("RESULT ", 30_000)).slice(7));
    const n = Number(line.split(" ")[1]);
    run.gen = result;
    run.server = { before, after };
    run.value = (after.rss - before.rss) / 1024 / n;
    run.info = {
      ...run.info,
      conns: n,
      heapKiBPerConn: (after.heapUsed - before.heapUsed) / 1024 / n,
      externalKiBPerConn: (after.external - before.external) / 1024 / n,
    };
    run.ok = result.errors === 0 && n === idleConns;
    if (!run.ok) run.flags.push(`opened ${n}/${idleConns}, ${result.errors} errors ${result.first_error}`);
  } catch (err) {
    run.error = String(err instanceof Error ? err.message : err);
  } finally {
    if (gen !== null) await gen.stop();
    await server.proc.stop();
  }
  return run;
}

/**
 * The client library as load generator against the C echo server.
 * @param {Row} row @param {Impl} impl @param {number} rep @returns {Promise<Run>}
 */
async function clientCell(row, impl, rep) {
  /** @type {Run} */
  const run = { row: row.name, impl: impl.name, rep, ok: false, flags: [] };
  const server = new Proc("C echo server", loadgen, ["serve"], { core: SERVER_CORE });
  /** @type {Proc | null} */
  let client = null;
  try {
    const port = Number((await server.waitLine("LISTEN ", 10_000)).split(" ")[1]);
    client = new Proc(`${impl.name} client`, process.execPath, [
      ...profArgs(impl, row),
      path.join(here, "clients", impl.script), "--url", `ws://127.0.0.1:${port}/`, ...(row.gen ?? []),
      "--warmup", String(opts.warmupMs), "--duration", String(opts.durationMs),
    ], { env: impl.env, core: GEN_CORE });
    await client.waitLine("MEASURE_START", opts.warmupMs + 60_000);
    const c0 = server.procCpu();
    const t0 = performance.now();
    await client.waitLine("MEASURE_END", opts.durationMs + 30_000);
    const c1 = server.procCpu();
    const t1 = performance.now();
    const result = JSON.parse((await client.waitLine("RESULT ", 30_000)).slice(7));
    run.gen = result;
    run.serverCpuPct = (100 * (c1 - c0)) / ((t1 - t0) / 1000);
    run.genCpuPct = result.cpu_pct;
    run.cpuUsPerOp = (result.cpu_s * 1e6) / Math.max(1, result.msgs); // the client's: it is what is measured here
    run.value = result.msgs_per_s;
    run.ok = result.errors === 0 && result.msgs > 0;
    if (result.errors > 0) run.flags.push(`WRONG: ${result.errors} bad echoes (${result.first_error})`);
    // Here the client is what is measured: the fixed server must not be the limit.
    if (run.serverCpuPct >= 90) run.flags.push("server-bound");
    else starved(run, run.serverCpuPct, result.cpu_pct);
  } catch (err) {
    run.error = String(err instanceof Error ? err.message : err);
  } finally {
    if (client !== null) await client.stop();
    await server.stop();
  }
  return run;
}

// ------------------------------------------------------------------ formatting

/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? /** @type {number} */ (s[m]) : (/** @type {number} */ (s[m - 1]) + /** @type {number} */ (s[m])) / 2;
}

/** @param {number} x */
function num(x) {
  if (!Number.isFinite(x)) return "?";
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** @param {number[]} xs */
function withSpread(xs) {
  if (xs.length === 1) return num(/** @type {number} */ (xs[0]));
  return `${num(median(xs))} (${num(Math.min(...xs))}–${num(Math.max(...xs))})`;
}

/** @param {number} r */
const ratio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : "—");

const FIGURE_LABEL = /** @type {Record<Figure, string>} */ ({
  msgs: "msgs/s ↑",
  mb: "MB/s ↑",
  latency: "µs p50 / p99 ↓",
  handshakes: "handshakes/s ↑",
  deliveries: "deliveries/s ↑",
  idle: "KiB/conn ↓",
  deflate: "msgs/s ↑; RSS MiB ↓",
});

/**
 * @typedef {{ runs: Run[], values: (number | number[])[], median: number[], bad: boolean, note: string }} Cell
 * @param {Run[]} runs
 * @returns {Cell}
 */
function cellOf(runs) {
  const good = runs.filter((r) => r.ok && r.value !== undefined);
  const values = good.map((r) => /** @type {number | number[]} */ (r.value));
  const parts = values.length === 0 ? 0 : Array.isArray(values[0]) ? values[0].length : 1;
  const med = Array.from({ length: parts }, (_, i) => median(values.map((v) => (Array.isArray(v) ? /** @type {number} */ (v[i]) : v))));
  const flagged = runs.filter(notAResult);
  const notes = [];
  if (good.length < runs.length) notes.push(`${runs.length - good.length}/${runs.length} failed`);
  if (flagged.length * 2 > runs.length) {
    const why = NOT_A_RESULT.find((p) => flagged.some((r) => r.flags.some((f) => f.startsWith(p))));
    notes.push(`${why} — not a result`);
  }
  return { runs, values, median: med, bad: good.length === 0 || flagged.length * 2 > runs.length, note: notes.join("; ") };
}

/** @param {Row} row @param {Cell | undefined} cell */
function showCell(row, cell) {
  if (cell === undefined) return "";
  if (cell.values.length === 0) return `✗ ${cell.note || "failed"}`;
  const comp = (/** @type {number} */ i) => cell.values.map((v) => (Array.isArray(v) ? /** @type {number} */ (v[i]) : v));
  let text;
  if (row.figure === "latency") text = `${withSpread(comp(0))} / ${withSpread(comp(1))}`;
  else if (row.figure === "deflate") text = `${withSpread(comp(0))}; RSS ${num(median(comp(1)))}`;
  else text = withSpread(comp(0));
  return cell.note ? `${text} ⚠ ${cell.note}` : text;
}

/** @param {Row} row @param {Cell | undefined} a @param {Cell | undefined} b */
function showRatio(row, a, b) {
  if (a === undefined || b === undefined || a.median.length === 0 || b.median.length === 0) return "—";
  if (a.bad || b.bad) return "— (not a result)";
  const r = a.median.map((x, i) => x / /** @type {number} */ (b.median[i]));
  if (row.figure === "latency") return `${ratio(/** @type {number} */ (r[0]))} / ${ratio(/** @type {number} */ (r[1]))}`;
  if (row.figure === "deflate") return `${ratio(/** @type {number} */ (r[0]))}; RSS ${ratio(/** @type {number} */ (r[1]))}`;
  return ratio(/** @type {number} */ (r[0]));
}

// ------------------------------------------------------------------ main

buildLoadgen();
mkdirSync(resultsDir, { recursive: true });

let idleConns = opts.idleConns;
const hardLimit = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim());
if (Number.isFinite(hardLimit) && hardLimit < idleConns + 256) {
  console.error(`open-file limit ${hardLimit}: idle row uses ${hardLimit - 256} connections instead of ${idleConns}`);
  idleConns = hardLimit - 256;
}

const started = new Date();
const cpu0 = os.cpus()[0];
const machine = `${cpu0?.model.trim() ?? "unknown CPU"}, ${os.cpus().length} cores`;
const header =
  `wavesock bench — ${machine}; Node ${process.version}; ${started.toISOString()}; ` +
  `${opts.quick ? "--quick; " : ""}${opts.repeats} repeat(s) × ${opts.durationMs} ms after ${opts.warmupMs} ms warm-up; ` +
  `idle: ${idleConns} conns; ${canPin ? `pinned: servers on core ${SERVER_CORE}, generator on core ${GEN_CORE}` : "not pinned (no taskset)"}`;
console.error(header);

/** @type {Run[]} */
const allRuns = [];
/** @type {Map<string, Map<string, Cell>>} */
const table = new Map();
let microOutput = "";

/** @param {Run} r */
function progress(r) {
  const v = r.value === undefined ? "" : Array.isArray(r.value) ? r.value.map(num).join(" / ") : num(r.value);
  const cpu = r.serverCpuPct !== undefined ? ` (server ${r.serverCpuPct.toFixed(0)}% / gen ${r.genCpuPct?.toFixed(0)}% CPU)` : "";
  const extra = [...r.flags, ...(r.error ? [r.error] : [])].join("; ");
  console.error(`  ${r.row} #${r.rep} ${r.impl}: ${v}${cpu}${extra ? ` — ${extra}` : ""}`);
}

for (const row of rows) {
  if (row.kind === "micro") {
    console.error(`micro: node bench/micro.js${opts.quick ? " --quick" : ""}`);
    const r = spawnSync(process.execPath, [path.join(here, "micro.js"), ...(opts.quick ? ["--quick"] : [])], {
      encoding: "utf8",
      timeout: 10 * 60_000,
    });
    microOutput = r.status === 0 ? r.stdout : `micro.js failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`;
    continue;
  }
  console.error(`${row.name}: ${row.what}`);
  const impls = row.tcp ? [...IMPLS, TCP] : IMPLS;
  /** @type {Map<string, Run[]>} */
  const byImpl = new Map(impls.map((i) => [i.name, []]));
  for (let rep = 1; rep <= opts.repeats; rep++) {
    // Rotate the order from one repeat to the next: no implementation always goes first.
    const order = impls.map((_, i) => /** @type {Impl} */ (impls[(i + rep - 1) % impls.length]));
    for (const impl of order) {
      const run =
        row.kind === "idle" ? await idleCell(row, impl, rep)
        : row.kind === "client" ? await clientCell(row, impl, rep)
        : await serverCell(row, impl, rep);
      progress(run);
      allRuns.push(run);
      byImpl.get(impl.name)?.push(run);
    }
  }
  table.set(row.name, new Map([...byImpl].map(([k, v]) => [k, cellOf(v)])));
}

// ------------------------------------------------------------------ report

const lines = [];
lines.push(`**${header}**`, "");
lines.push("| row | figure | wavesock | ws | ws+addons | wavesock/ws | wavesock/ws+addons | TCP echo (limit) |");
lines.push("|---|---|---:|---:|---:|---:|---:|---:|");
for (const row of rows) {
  const cells = table.get(row.name);
  if (cells === undefined) continue;
  const w = cells.get("wavesock");
  const ws = cells.get("ws");
  const wa = cells.get("ws+addons");
  const tcp = cells.get("tcp");
  lines.push(
    `| ${row.name} | ${FIGURE_LABEL[row.figure]} | ${showCell(row, w)} | ${showCell(row, ws)} | ${showCell(row, wa)} | ` +
      `${showRatio(row, w, ws)} | ${showRatio(row, w, wa)} | ${tcp ? showCell(row, tcp) : ""} |`,
  );
}
lines.push("");
lines.push(
  "Medians of the repeats, (min–max) when repeated. ↑ higher is better, ↓ lower is better: a ratio above 1 " +
    "is a win on ↑ rows and a loss on ↓ rows. client-* rows: the columns are the *client* libraries, against a fixed C " +
    "echo server. TCP echo: a plain `net` echo server with the same generator, the ceiling on this machine.",
);
lines.push("");
lines.push(
  "CPU during the measured period (medians): server % / generator % of one core, and CPU µs per operation " +
    "(message, delivery or handshake) of the side under test — the server's; the client's on client-* rows. " +
    "µs/op is far steadier than throughput on a busy machine.",
);
lines.push("");
lines.push("| row | wavesock | ws | ws+addons | TCP echo | µs/op wavesock/ws | µs/op wavesock/ws+addons |");
lines.push("|---|---:|---:|---:|---:|---:|---:|");
/** @param {Cell | undefined} c @param {"serverCpuPct" | "genCpuPct" | "cpuUsPerOp"} key */
const med = (c, key) => {
  const xs = (c?.runs ?? []).filter((r) => r.ok && r[key] !== undefined).map((r) => /** @type {number} */ (r[key]));
  return xs.length ? median(xs) : NaN;
};
for (const row of rows) {
  const cells = table.get(row.name);
  if (cells === undefined || row.kind === "idle") continue;
  /** @param {Cell | undefined} c */
  const cpu = (c) => {
    if (c === undefined || Number.isNaN(med(c, "serverCpuPct"))) return "";
    return `${med(c, "serverCpuPct").toFixed(0)} / ${med(c, "genCpuPct").toFixed(0)}; ${num(med(c, "cpuUsPerOp"))} µs`;
  };
  const w = cells.get("wavesock");
  const per = (/** @type {Cell | undefined} */ c) => ratio(med(w, "cpuUsPerOp") / med(c, "cpuUsPerOp"));
  lines.push(
    `| ${row.name} | ${cpu(w)} | ${cpu(cells.get("ws"))} | ${cpu(cells.get("ws+addons"))} | ${cpu(cells.get("tcp"))} | ` +
      `${per(cells.get("ws"))} | ${per(cells.get("ws+addons"))} |`,
  );
}
const notes = allRuns.filter((r) => r.flags.length > 0 || r.error);
if (notes.length > 0) {
  lines.push("", "Notes:", "");
  for (const r of notes) lines.push(`- ${r.row} #${r.rep} ${r.impl}: ${[...r.flags, ...(r.error ? [r.error] : [])].join("; ")}`);
}
const idle = allRuns.filter((r) => r.row === "idle" && r.ok);
if (idle.length > 0) {
  lines.push("", "Idle, heap KiB/conn after GC (median): " +
    IMPLS.map((i) => {
      const xs = idle.filter((r) => r.impl === i.name).map((r) => Number(r.info?.["heapKiBPerConn"]));
      return xs.length ? `${i.name} ${num(median(xs))}` : "";
    }).filter(Boolean).join(", "));
}
if (microOutput) lines.push("", microOutput.trim());

const report = lines.join("\n");
console.log(report);

const stamp = started.toISOString().replace(/[:.]/g, "-");
const jsonFile = path.join(resultsDir, `bench-${stamp}.json`);
writeFileSync(
  jsonFile,
  JSON.stringify(
    {
      machine: { cpu: cpu0?.model.trim(), cores: os.cpus().length, platform: `${os.platform()}/${os.arch()}`, release: os.release() },
      node: process.version,
      date: started.toISOString(),
      options: { ...opts, idleConns, pinned: canPin },
      runs: allRuns,
      summary: Object.fromEntries(
        [...table].map(([row, cells]) => [row, Object.fromEntries([...cells].map(([impl, c]) => [impl, { median: c.median, note: c.note }]))]),
      ),
      micro: microOutput,
    },
    null,
    1,
  ),
);
writeFileSync(path.join(resultsDir, "latest.md"), `${report}\n`);
console.error(`\nevery run: ${path.relative(process.cwd(), jsonFile)}; this table: ${path.relative(process.cwd(), path.join(resultsDir, "latest.md"))}`);
