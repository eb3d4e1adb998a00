// @ts-check
/**
 * What the two client load generators share: arguments, the payload, the
 * check of each echo, the warm-up / measure phases and the result line — the
 * same lines as the C load generator (bench/loadgen/) prints ("MEASURE_START", "MEASURE_END",
 * "RESULT {json}") so the runner reads both alike.
 */
import { performance } from "node:perf_hooks";

/** @typedef {{ url: string, conns: number, size: number, window: number, warmup: number, duration: number }} ClientArgs */

/** @returns {ClientArgs} */
export function parseArgs() {
  const argv = process.argv.slice(2);
  /** @param {string} name @param {string} fallback */
  const get = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? /** @type {string} */ (argv[i + 1]) : fallback;
  };
  return {
    url: get("--url", "ws://127.0.0.1:8765/"),
    conns: Number(get("--conns", "50")),
    size: Number(get("--size", "64")),
    window: Number(get("--window", "16")),
    warmup: Number(get("--warmup", "1000")),
    duration: Number(get("--duration", "3000")),
  };
}

/** @param {number} size */
export function makePayload(size) {
  const payload = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 131 + 7) & 255;
  return payload;
}

/**
 * Counts echoes, checks them (length always, content one in 16), and runs
 * the phases. `running` turns false when the measured period ends.
 */
export class Meter {
  /** @param {ClientArgs} args @param {Buffer} payload */
  constructor(args, payload) {
    this.args = args;
    this.payload = payload;
    this.msgs = 0;
    this.bytes = 0;
    this.checked = 0;
    this.errors = 0;
    this.firstError = "";
    this.running = true;
    /** @type {{ msgs: number, bytes: number, t: number, cpu: NodeJS.CpuUsage } | null} */
    this.start = null;
  }

  /** @param {unknown} data */
  got(data) {
    const bytes = /** @type {Uint8Array} */ (data);
    if (!(bytes instanceof Uint8Array) || bytes.length !== this.payload.length) {
      this.fail(`echo of ${bytes instanceof Uint8Array ? bytes.length + " bytes" : typeof data}, expected ${this.payload.length} bytes`);
    } else if ((this.msgs & 15) === 0) {
      this.checked++;
      if (Buffer.compare(bytes, this.payload) !== 0) this.fail("echo differs from the payload sent");
    }
    this.msgs++;
    this.bytes += bytes.length;
  }

  /** @param {string} what */
  fail(what) {
    if (this.errors++ === 0) this.firstError = what;
  }

  /** Start the phases; resolves when the measured period is over. */
  run() {
    return new Promise((resolve) => {
      setTimeout(() => {
        this.start = { msgs: this.msgs, bytes: this.bytes, t: performance.now(), cpu: process.cpuUsage() };
        process.stdout.write("MEASURE_START\n");
        setTimeout(() => {
          const start = /** @type {NonNullable<Meter["start"]>} */ (this.start);
          const seconds = (performance.now() - start.t) / 1000;
          const cpu = process.cpuUsage(start.cpu);
          const msgs = this.msgs - start.msgs;
          const bytes = this.bytes - start.bytes;
          this.running = false;
          process.stdout.write("MEASURE_END\n");
          const cpuS = (cpu.user + cpu.system) / 1e6;
          const result = {
            conns: this.args.conns,
            seconds,
            msgs,
            bytes,
            msgs_per_s: msgs / seconds,
            mb_per_s: bytes / seconds / 1e6,
            cpu_s: cpuS,
            cpu_pct: (100 * cpuS) / seconds,
            checked: this.checked,
            errors: this.errors,
            first_error: this.firstError,
          };
          process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
          resolve(result);
        }, this.args.duration);
      }, this.args.warmup);
    });
  }
}
