/**
 * Real proxy servers for the client tests — tinyproxy (HTTP CONNECT),
 * microsocks and Dante (SOCKS5) — each started on a free loopback port with
 * a config in a temp dir and stopped by its process id; plus a recording
 * relay that sits between the client and a real proxy to show what the
 * client sent (the proxy still does all the work).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TINYPROXY = "/usr/bin/tinyproxy";
export const MICROSOCKS = "/usr/bin/microsocks";
export const DANTED = "/usr/sbin/danted";

/** The proxies that are missing, for skip messages (.ci/run installs them). */
export function missing(...binaries: string[]): string {
  const absent = binaries.filter((b) => !existsSync(b));
  return absent.length === 0 ? "" : ` — SKIPPED: ${absent.join(", ")} not installed (apt-get install tinyproxy microsocks dante-server)`;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True once something accepts connections on the port. */
async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A started proxy process. */
export interface ProxyProcess {
  port: number;
  /** `http://127.0.0.1:port` or `socks5://...`, without credentials. */
  url(scheme?: string, userinfo?: string): string;
  /** What the process wrote to stdout/stderr. */
  output(): string;
  stop(): Promise<void>;
}

async function start(name: string, make: (port: number, dir: string) => { command: string; args: string[] }, scheme: string): Promise<ProxyProcess> {
  let lastOutput = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `wavesock-${name}-`));
    const port = await freePort();
    const { command, args } = make(port, dir);
    const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await accepts(port))) await new Promise((r) => setTimeout(r, 50));
    if (!exited && (await accepts(port))) {
      return {
        port,
        url: (s = scheme, userinfo) => `${s}://${userinfo ? `${userinfo}@` : ""}127.0.0.1:${port}`,
        output: () => output,
        stop: async () => {
          if (!exited) {
            // The process group: Dante forks helpers. Only what this helper started.
            try {
              process.kill(-child.pid!, "SIGTERM");
            } catch {
              child.kill("SIGTERM");
            }
            await Promise.race([exit, new Promise((r) => setTimeout(r, 3000))]);
            if (!exited) {
              try {
                process.kill(-child.pid!, "SIGKILL");
              } catch {
                // already gone
              }
            }
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    lastOutput = output;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // exited
    }
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`${name} did not start:\n${lastOutput}`);
}

/** tinyproxy (HTTP CONNECT to any port), with Basic auth when `auth` is given. */
export function startTinyproxy(auth?: { user: string; password: string }): Promise<ProxyProcess> {
  return start(
    "tinyproxy",
    (port, dir) => {
      const conf = join(dir, "tinyproxy.conf");
      const lines = [
        // tinyproxy drops root privileges to these.
        "User nobody",
        "Group nogroup",
        `Port ${port}`,
        "Listen 127.0.0.1",
        "Timeout 30",
        "MaxClients 50",
        "Allow 127.0.0.1",
        "LogLevel Connect",
        // No ConnectPort line: CONNECT to every port is allowed.
      ];
      if (auth) lines.push(`BasicAuth ${auth.user} ${auth.password}`);
      writeFileSync(conf, lines.join("\n") + "\n");
      return { command: TINYPROXY, args: ["-d", "-c", conf] };
    },
    "http",
  );
}

/** microsocks (SOCKS5), with username/password auth when `auth` is given. */
export function startMicrosocks(auth?: { user: string; password: string }): Promise<ProxyProcess> {
  return start(
    "microsocks",
    (port) => ({
      command: MICROSOCKS,
      args: ["-i", "127.0.0.1", "-p", String(port), ...(auth ? ["-u", auth.user, "-P", auth.password] : [])],
    }),
    "socks5",
  );
}

/** Dante's danted (SOCKS5, no authentication). */
export function startDanted(): Promise<ProxyProcess> {
  return start(
    "danted",
    (port, dir) => {
      const conf = join(dir, "danted.conf");
      writeFileSync(
        conf,
        [
          "logoutput: stderr",
          `internal: 127.0.0.1 port = ${port}`,
          "external: 127.0.0.1",
          "socksmethod: none",
          "clientmethod: none",
          "user.privileged: root",
          "user.unprivileged: nobody",
          "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
          "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: error connect }",
        ].join("\n") + "\n",
      );
      return { command: DANTED, args: ["-f", conf, "-p", join(dir, "danted.pid")] };
    },
    "socks5",
  );
}

/**
 * A TCP relay in front of `port` that records the first bytes each client
 * sends (up to 4 KiB), to check what went to the proxy.
 */
export async function recordingRelay(port: number): Promise<{ port: number; sent: Buffer[]; close(): Promise<void> }> {
  const sent: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port });
    const index = sent.push(Buffer.alloc(0)) - 1;
    sockets.add(client).add(upstream);
    client.on("data", (d: Buffer) => {
      if (sent[index]!.length < 4096) sent[index] = Buffer.concat([sent[index]!, d]);
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
