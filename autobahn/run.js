// @ts-check
/**
 * Run the Autobahn|Testsuite against wavesock, both ways, then summarise.
 *
 *   npm run autobahn            (builds, then runs this)
 *   node autobahn/run.js [--only server|client] [--port 9001]
 *
 * 1. `wstest -m fuzzingclient -s fuzzingclient.json` against our echo server
 *    (server.js) → reports/servers/;
 * 2. `wstest -m fuzzingserver -s fuzzingserver.json`, with our client
 *    (client.js) running every case against it → reports/clients/;
 * 3. summarize.js on the reports: the exit status is its verdict.
 *
 * wstest comes from PATH (`pip install autobahntestsuite`, Python 2) or,
 * failing that, from the `crossbario/autobahn-testsuite` Docker image when a
 * Docker engine answers `docker info`. With neither, it says so and exits 0:
 * there is nothing to run here, which is not a failure of wavesock.
 *
 * wstest runs in this folder, so the configs' relative `outdir`s land in
 * autobahn/reports/ (the Docker image gets this folder mounted at /autobahn).
 */
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, rmSync } from "node:fs";
import * as net from "node:net";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "./args.js";

const here = dirname(fileURLToPath(import.meta.url));
const IMAGE = "crossbario/autobahn-testsuite";
const args = parseArgs(process.argv.slice(2), { only: "", port: "9001" });
const only = String(args["only"]);
if (only !== "" && only !== "server" && only !== "client") {
  console.error("--only takes server or client");
  process.exit(2);
}
// The configs name port 9001; --port only tells this script where to wait.
const port = Number(args["port"]);

/** Is `cmd` an executable file in one of PATH's directories? @param {string} cmd */
function onPath(cmd) {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

function dockerAnswers() {
  if (!onPath("docker")) return false;
  const r = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 20_000 });
  return r.status === 0;
}

/** @type {"wstest" | "docker" | null} */
const runner = onPath("wstest") ? "wstest" : dockerAnswers() ? "docker" : null;
if (runner === null) {
  console.log("Autobahn|Testsuite (wstest) is not installed and no Docker engine is available: nothing was run.");
  process.exit(0);
}

/**
 * The command line that runs wstest in `mode` with `spec` (a file in this folder).
 * @param {"fuzzingclient" | "fuzzingserver"} mode
 * @param {string} spec
 * @param {string} name - container name (Docker), so it can be stopped
 * @returns {[string, string[]]}
 */
function wstest(mode, spec, name) {
  if (runner === "wstest") return ["wstest", ["-m", mode, "-s", spec]];
  return [
    "docker",
    ["run", "--rm", "--name", name, "--network", "host", "-v", `${here}:/autobahn`, "-w", "/autobahn", IMAGE, "wstest", "-m", mode, "-s", `/autobahn/${spec}`],
  ];
}

/** @param {string} cmd @param {string[]} argv @returns {import("node:child_process").ChildProcess} */
function start(cmd, argv) {
  console.log(`$ ${cmd} ${argv.join(" ")}`);
  return spawn(cmd, argv, { cwd: here, stdio: "inherit" });
}

/** @param {import("node:child_process").ChildProcess} child @returns {Promise<number>} */
function exited(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else {
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      child.once("error", (err) => {
        console.error(String(err));
        resolve(1);
      });
    }
  });
}

/** Wait until something accepts TCP connections on 127.0.0.1:port. @param {number} p @param {number} timeoutMs */
async function listening(p, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: p });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${p} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** @param {import("node:child_process").ChildProcess} child @param {string} name */
async function stop(child, name) {
  if (runner === "docker" && name !== "") spawnSync("docker", ["stop", "-t", "2", name], { stdio: "ignore" });
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await exited(child);
}

let failed = false;

if (only !== "client") {
  // Our server, tested by wstest's fuzzing client.
  rmSync(join(here, "reports", "servers"), { recursive: true, force: true });
  const server = start(process.execPath, [join(here, "server.js"), "--port", String(port), "--host", "127.0.0.1"]);
  try {
    await listening(port, 10_000);
    const [cmd, argv] = wstest("fuzzingclient", "fuzzingclient.json", "");
    const code = await exited(start(cmd, argv));
    if (code !== 0) {
      console.error(`wstest fuzzingclient exited with ${code}`);
      failed = true;
    }
  } finally {
    await stop(server, "");
  }
}

if (only !== "server") {
  // Our client, run against wstest's fuzzing server.
  rmSync(join(here, "reports", "clients"), { recursive: true, force: true });
  const name = `wavesock-autobahn-${process.pid}`;
  const [cmd, argv] = wstest("fuzzingserver", "fuzzingserver.json", name);
  const fuzzer = start(cmd, argv);
  try {
    await listening(port, runner === "docker" ? 120_000 : 30_000);
    const code = await exited(start(process.execPath, [join(here, "client.js"), "--url", `ws://127.0.0.1:${port}`, "--agent", "wavesock"]));
    if (code !== 0) {
      console.error(`client.js exited with ${code}`);
      failed = true;
    }
  } finally {
    await stop(fuzzer, runner === "docker" ? name : "");
  }
}

const summary = spawnSync(process.execPath, [join(here, "summarize.js")], { stdio: "inherit" });
process.exit(failed ? 1 : (summary.status ?? 1));
