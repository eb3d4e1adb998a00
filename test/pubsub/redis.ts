/**
 * A real redis-server for the tests: started on a free loopback port with no
 * persistence, killed and restarted on demand, stopped afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { createClient } from "redis";

export const REDIS_SERVER = "/usr/bin/redis-server";

/**
 * Whether to run the Redis tests: when redis-server is installed (the Debian
 * package `redis-server`; `.ci/run` installs it), and always in CI, where a
 * missing redis-server must fail rather than skip.
 */
export const haveRedis = existsSync(REDIS_SERVER) || Boolean(process.env["CI"]);
if (!existsSync(REDIS_SERVER)) console.log("redis-server is not installed (apt-get install redis-server): the Redis tests are skipped");

/** A port the kernel just gave out on 127.0.0.1 (free a moment ago). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True if 127.0.0.1:`port` can be bound now. */
export async function isFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (ok) await new Promise<void>((resolve) => server.close(() => resolve()));
  return ok;
}

/** A redis-server process. */
export class RedisServer {
  private child: ChildProcess | null = null;
  private log = "";

  private constructor(
    readonly port: number,
    private readonly extra: string[],
  ) {}

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start one on a free port (or on `pickPort()`'s), with `extra` arguments (e.g. `--cluster-enabled yes`). */
  static async start(extra: string[] = [], pickPort: () => Promise<number> = freePort): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await pickPort(), extra);
      try {
        await server.run();
        return server;
      } catch (err) {
        if (attempt >= 4) throw err; // someone took the port in between: try another
      }
    }
  }

  /** (Re)start the process on the same port and wait until it accepts connections. */
  async run(): Promise<void> {
    if (this.child !== null) throw new Error("redis-server is already running");
    this.log = "";
    const child = spawn(
      REDIS_SERVER,
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "notice", ...this.extra],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (this.log += s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (this.log += s));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 15_000;
    while (!this.log.includes("Ready to accept connections")) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited:\n${this.log}`);
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await exited;
        throw new Error(`redis-server did not start:\n${this.log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kill the process with `signal` (SIGKILL: no goodbye to the clients) and wait for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Stop for good (afterAll). */
  async stop(): Promise<void> {
    await this.kill("SIGKILL");
  }

  /** Run one command on a short-lived client, e.g. `["PUBSUB", "NUMSUB", channel]`. */
  async command<T = unknown>(args: string[]): Promise<T> {
    const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
    client.on("error", () => undefined);
    await client.connect();
    try {
      return (await client.sendCommand(args)) as T;
    } finally {
      client.destroy();
    }
  }

  /** Subscribers Redis counts on each channel (PUBSUB NUMSUB / SHARDNUMSUB). */
  async numsub(channels: string[], sharded = false): Promise<Record<string, number>> {
    const reply = await this.command<(string | number)[]>([sharded ? "PUBSUB" : "PUBSUB", sharded ? "SHARDNUMSUB" : "NUMSUB", ...channels]);
    const out: Record<string, number> = {};
    for (let i = 0; i < reply.length; i += 2) out[String(reply[i])] = Number(reply[i + 1]);
    return out;
  }

  /** Channels with at least one subscriber (PUBSUB CHANNELS / SHARDCHANNELS). */
  async channels(sharded = false): Promise<string[]> {
    return (await this.command<string[]>(["PUBSUB", sharded ? "SHARDCHANNELS" : "CHANNELS"])).map(String).sort();
  }
}
