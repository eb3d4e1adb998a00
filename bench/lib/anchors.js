// @ts-check
/**
 * Finds the benchmark anchors — uWebSockets.js and Bun — that
 * `npm run bench:anchors` (../shared/anchors/install.sh) installs into
 * bench/.anchors, and says plainly why one is missing. Each check runs in a
 * child process: a native addon that fails to load must not take the runner
 * down with it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Where the anchors live: $BENCH_ANCHORS, or bench/.anchors. */
export const anchorsDir = process.env["BENCH_ANCHORS"] ?? path.join(benchDir, ".anchors");

/** The npm package that ships uWebSockets.js's binaries (see /work/shared/anchors/README.md). */
export const UWS_PACKAGE = "@btc-vision/uwebsockets.js";

/**
 * @typedef {{ ok: true, version: string, path: string } | { ok: false, why: string }} Found
 */

const HOW = "run `npm run bench:anchors` to install it";

/** The anchors' folder as the reader would type it. */
export function shownDir() {
  const rel = path.relative(process.cwd(), anchorsDir);
  return rel === "" || rel.startsWith("..") ? anchorsDir : rel;
}

/** @returns {Found} */
function findUws() {
  const pkg = path.join(anchorsDir, "node_modules", UWS_PACKAGE, "package.json");
  if (!existsSync(pkg)) return { ok: false, why: `not installed in ${shownDir()} (${HOW})` };
  const version = String(JSON.parse(readFileSync(pkg, "utf8")).version);
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.dirname(pkg))})`], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.status !== 0) {
    const last = (r.stderr || String(r.error ?? "")).trim().split("\n").filter((l) => /error/i.test(l)).pop() ?? "";
    return { ok: false, why: `${version} is installed but does not load under Node ${process.version}: ${last.slice(0, 200)}` };
  }
  return { ok: true, version, path: path.dirname(pkg) };
}

/** @returns {Found} */
function findBun() {
  const bin = path.join(anchorsDir, "node_modules", ".bin", "bun");
  if (!existsSync(bin)) return { ok: false, why: `not installed in ${shownDir()} (${HOW})` };
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) return { ok: false, why: `${bin} does not run: ${(r.stderr || String(r.error ?? "")).trim().slice(0, 200)}` };
  return { ok: true, version: r.stdout.trim(), path: bin };
}

/** @type {{ uws: Found, bun: Found } | null} */
let found = null;

/** The anchors, looked for once. */
export function anchors() {
  found ??= { uws: findUws(), bun: findBun() };
  return found;
}
