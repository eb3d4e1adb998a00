// @ts-check
/**
 * Process control: the child processes of a cell (servers, clients, the C
 * load generator), pinned to their cores, spoken to in lines; building the
 * generator; starting an implementation under its runtime, with --cpu-prof
 * when asked.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { opts } from "./options.js";
import { bunPath } from "./registry.js";

export const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const resultsDir = path.join(benchDir, "results");

export const canPin =
  opts.pin && os.cpus().length >= 2 && spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" }).status === 0;
/** The side under test on one core, what loads it on the other. */
export const SERVER_CORE = "1";
export const GEN_CORE = "0";
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** A child process speaking in lines. */
export class Proc {
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
 * A server's own CPU and memory figures (servers/control.js), after a full GC if asked.
 * @param {Proc} p @param {boolean} [gc] @returns {Promise<ServerStats>}
 */
export async function serverStats(p, gc = false) {
  p.send(gc ? "gc" : "stats");
  const line = await p.waitLine("STATS ", 15_000);
  return JSON.parse(line.slice(6));
}

export const loadgen = path.join(resultsDir, "loadgen");

/**
 * Compile the load generator (every .c file in bench/loadgen/, one cc command)
 * into bench/results/ when missing or older than any of its sources or headers.
 */
export function buildLoadgen() {
  const dir = path.join(benchDir, "loadgen");
  const files = readdirSync(dir).filter((f) => f.endsWith(".c") || f.endsWith(".h")).sort();
  const sources = files.filter((f) => f.endsWith(".c")).map((f) => path.join(dir, f));
  const newest = Math.max(...files.map((f) => statSync(path.join(dir, f)).mtimeMs));
  if (existsSync(loadgen) && statSync(loadgen).mtimeMs >= newest) return;
  mkdirSync(resultsDir, { recursive: true }); // a fresh checkout has no bench/results/ yet
  const args = ["-O2", "-o", loadgen, ...sources, "-lz"];
  const r = spawnSync("cc", args, { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`cannot build the load generator (cc ${args.join(" ")}):\n${r.stderr || r.error}`);
    process.exit(1);
  }
}

/** Profiles are written only by Node processes, and only for the implementations named by --cpu-prof. */
const profiled = new Set();

/**
 * Start an implementation's script (a server or a client) under its runtime.
 * @param {import("./registry.js").Impl} impl
 * @param {import("./rows.js").Row} row
 * @param {string[]} args the script's arguments
 * @param {string} core
 */
export function launch(impl, row, args, core) {
  const script = path.join(benchDir, impl.script);
  const label = `${impl.name} ${impl.side}`;
  if (impl.runtime === "bun") {
    if (opts.cpuProf.includes(impl.name) && !profiled.has(impl.name)) {
      profiled.add(impl.name);
      console.error(`  (--cpu-prof: ${impl.name} runs on Bun, which --cpu-prof does not profile)`);
    }
    return new Proc(label, bunPath(), [script, ...args], { env: impl.env ?? {}, core });
  }
  const nodeArgs = ["--expose-gc", ...(impl.nodeArgs ?? [])];
  if (opts.cpuProf.includes(impl.name)) {
    const name = `${row.name}-${impl.side}-${impl.name.replace(/\W/g, "_")}-${Date.now()}.cpuprofile`;
    nodeArgs.push("--cpu-prof", "--cpu-prof-dir", path.join(resultsDir, "prof"), "--cpu-prof-name", name);
  }
  return new Proc(label, process.execPath, [...nodeArgs, script, ...args], { env: impl.env ?? {}, core });
}

/**
 * Start a server for a row and wait until it listens.
 * @param {import("./registry.js").Impl} impl @param {import("./rows.js").Row} row
 * @param {string[]} [extra] more arguments (the fanout rows: --redis URL)
 * @returns {Promise<{ proc: Proc, port: number, info: Record<string, any> }>}
 */
export async function startServer(impl, row, extra = []) {
  const args = ["--mode", row.mode ?? "echo", "--compression", row.compression ?? "off", ...extra];
  const p = launch(impl, row, args, SERVER_CORE);
  try {
    const line = await p.waitLine("READY ", 15_000);
    const [, port, json] = /^READY (\d+) (.*)$/.exec(line) ?? [];
    return { proc: p, port: Number(port), info: JSON.parse(json ?? "{}") };
  } catch (err) {
    await p.stop();
    throw err;
  }
}
