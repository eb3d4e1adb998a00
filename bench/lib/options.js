// @ts-check
/**
 * The runner's command line (see bench/README.md): how long, how often,
 * which rows, pinning and profiling.
 */

const argv = process.argv.slice(2);

/** @param {string} name */
export const flag = (name) => argv.includes(name);

/** @param {string} name @param {string | undefined} fallback @returns {string | undefined} */
export function value(name, fallback) {
  const i = argv.indexOf(name);
  if (i >= 0 && argv[i + 1] !== undefined && !argv[i + 1]?.startsWith("--")) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq !== undefined ? eq.slice(name.length + 1) : fallback;
}

const quick = flag("--quick");

/**
 * @typedef {{
 *   quick: boolean, repeats: number, warmupMs: number, durationMs: number, idleConns: number,
 *   pin: boolean, cpuProf: string[], only: string[] | null, impls: string[] | null, list: boolean,
 * }} Options
 */

/** @type {Options} */
export const opts = {
  quick,
  repeats: Number(value("--repeats", quick ? "1" : "3")),
  warmupMs: Number(value("--warmup", quick ? "300" : "1000")),
  durationMs: Number(value("--duration", quick ? "800" : "3000")),
  idleConns: Number(value("--idle-conns", quick ? "1000" : "5000")),
  pin: !flag("--no-pin"),
  /** Implementations whose server (or client, on client-* rows) runs under --cpu-prof (Node ones only). */
  // `--cpu-prof` alone: wavesock; `--cpu-prof "wavesock cb,ws"` (or `--cpu-prof=...`): those.
  cpuProf: (value("--cpu-prof", flag("--cpu-prof") ? "wavesock" : "") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  only: (value("--only", undefined) ?? null)?.split(",").map((s) => s.trim()).filter(Boolean) ?? null,
  /** Run only these implementations (by name; for quick comparisons while developing: ratios need their columns). */
  impls: (value("--impls", undefined) ?? null)?.split(",").map((s) => s.trim()).filter(Boolean) ?? null,
  list: flag("--list"),
};
