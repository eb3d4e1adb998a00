/**
 * Sharded pub/sub on a real Redis Cluster: three masters on loopback ports,
 * made a cluster with `redis-cli --cluster create`, and two instances whose
 * backplanes use node-redis cluster clients with `sharded: true`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCluster } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { connect, redisPubSub, serve, type Connection, type Server } from "../../src/index.js";
import { RedisServer, haveRedis, isFree } from "./redis.js";

/** A free port whose cluster bus port (+10 000) is free too (ephemeral ports may have none). */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
}

const d = haveRedis && existsSync("/usr/bin/redis-cli") ? describe : describe.skip;

d("Redis Cluster: sharded pub/sub", () => {
  const nodes: RedisServer[] = [];
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("carries messages between instances through SSUBSCRIBE/SPUBLISH on the shard that owns the topic", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wavesock-cluster-"));
    for (let i = 0; i < 3; i++) {
      nodes.push(await RedisServer.start(["--cluster-enabled", "yes", "--cluster-config-file", join(dir, `nodes-${i}.conf`), "--dir", dir], clusterPort));
    }
    execFileSync("/usr/bin/redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"], {
      stdio: "ignore",
      timeout: 30_000,
    });
    // Wait until every node agrees the cluster is up.
    for (const n of nodes) await expect.poll(async () => String(await n.command(["CLUSTER", "INFO"])).includes("cluster_state:ok"), { timeout: 20_000 }).toBe(true);

    const instances: { server: Server; ws: Connection }[] = [];
    for (let i = 0; i < 2; i++) {
      const cluster = createCluster({ rootNodes: [{ url: nodes[i]!.url }] });
      cluster.on("error", () => undefined);
      await cluster.connect();
      cleanup.push(() => cluster.destroy());
      const pubsub = redisPubSub({ client: cluster as never, sharded: true, history: true });
      const server = await serve(
        async (ws) => {
          ws.subscribe("lobby");
          for await (const m of ws) ws.publish("lobby", m);
        },
        { host: "127.0.0.1", logger: null, pubsub },
      );
      cleanup.push(() => server.close());
      await pubsub.ready();
      const ws = await connect(`ws://127.0.0.1:${server.port}`);
      cleanup.push(() => ws.close());
      instances.push({ server, ws });
    }
    // The shard channel lives on one node only: the one owning the slot of "{lobby}".
    const channel = "wavesock:{lobby}";
    await expect
      .poll(async () => (await Promise.all(nodes.map((n) => n.numsub([channel], true)))).map((r) => r[channel]).sort(), { timeout: 20_000 })
      .toEqual([0, 0, 2]);
    await instances[0]!.ws.send("over the shard");
    expect(await instances[1]!.ws.recv()).toBe("over the shard");
    await instances[1]!.ws.send(new Uint8Array([7, 7, 7]));
    expect([...((await instances[0]!.ws.recv()) as Uint8Array)]).toEqual([7, 7, 7]);
  }, 120_000);
});
