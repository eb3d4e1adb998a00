import { afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll, recvJSONUntil } from "./helpers.js";

interface PlayerView {
  id: number;
  name: string;
  x: number;
  y: number;
}
interface Welcome {
  type: "welcome";
  id: number;
  tickRate: number;
  world: { width: number; height: number };
  players: PlayerView[];
}
interface State {
  type: "state";
  tick: number;
  players: PlayerView[];
  left: number[];
}

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

/** A client that keeps the positions it was told about. */
class Player {
  readonly positions = new Map<number, PlayerView>();
  private constructor(
    readonly ws: Connection,
    readonly welcome: Welcome,
  ) {
    for (const p of welcome.players) this.positions.set(p.id, p);
  }

  static async join(port: number, name: string): Promise<Player> {
    const ws = await connect(`ws://127.0.0.1:${port}/?name=${name}`);
    clients.push(ws);
    const welcome = JSON.parse((await ws.recv()) as string) as Welcome;
    expect(welcome.type).toBe("welcome");
    return new Player(ws, welcome);
  }

  /** Apply state updates until `done` holds. */
  async until(done: (positions: Map<number, PlayerView>) => boolean): Promise<void> {
    if (done(this.positions)) return;
    await recvJSONUntil<State>(this.ws, (update) => {
      expect(update.type).toBe("state");
      for (const p of update.players) this.positions.set(p.id, p);
      for (const id of update.left) this.positions.delete(id);
      return done(this.positions);
    });
  }

  move(dx: number, dy: number): Promise<void> {
    return this.ws.send(JSON.stringify({ type: "move", dx, dy }));
  }
}

describe("examples/game-sync.js", () => {
  it("two players move and each sees the other's authoritative position", async () => {
    // 50 ticks per second, 1000 units per second: 20 units per tick.
    const { example, port } = await Example.server("game-sync.js", { TICK_HZ: "50", SPEED: "1000" });
    const ada = await Player.join(port, "ada");
    const bob = await Player.join(port, "bob");
    expect(ada.welcome.tickRate).toBe(50);
    expect(bob.welcome.players.map((p) => p.name).sort()).toEqual(["ada", "bob"]);
    const adaId = ada.welcome.id;
    const bobId = bob.welcome.id;
    // Ada learns about Bob from a state update.
    await ada.until((ps) => ps.get(bobId)?.name === "bob");

    const adaStart = bob.positions.get(adaId)!;
    const bobStart = ada.positions.get(bobId)!;
    await ada.move(1, 0); // right
    await bob.move(0, 1); // down
    const moved = (ps: Map<number, PlayerView>) =>
      ps.get(adaId)!.x >= adaStart.x + 20 && ps.get(bobId)!.y >= bobStart.y + 20;
    await Promise.all([ada.until(moved), bob.until(moved)]);
    await ada.move(0, 0);
    await bob.move(0, 0);

    // Only the held direction changed: Ada moved horizontally, Bob vertically.
    for (const player of [ada, bob]) {
      expect(player.positions.get(adaId)!.y).toBe(adaStart.y);
      expect(player.positions.get(bobId)!.x).toBe(bobStart.x);
    }

    // The server is the authority: asking for a huge step gives the normal
    // speed (20 units a tick, 14 on each axis diagonally), and nobody leaves the world.
    await ada.move(-100, -100);
    let last: { tick: number; x: number; y: number } | null = null;
    await recvJSONUntil<State>(bob.ws, (update) => {
      const p = update.players.find((q) => q.id === adaId);
      if (p === undefined) return false;
      if (last !== null) {
        const ticks = update.tick - last.tick;
        expect(last.x - p.x).toBeLessThanOrEqual(15 * ticks);
        expect(last.y - p.y).toBeLessThanOrEqual(15 * ticks);
      }
      last = { tick: update.tick, x: p.x, y: p.y };
      return p.x === 0 && p.y === 0;
    });
    await ada.move(0, 0);

    // Garbage is ignored; the connection stays up.
    await ada.ws.send("not json");
    await ada.ws.send(JSON.stringify({ type: "teleport", x: 500, y: 500 }));

    await bob.ws.close();
    await ada.until((ps) => !ps.has(bobId));
    expect(example.stdout).toContain("bob left");
    expect(ada.ws.state).toBe("open");
    expect(await example.stop()).toEqual({ code: 0, signal: null });
  });
});
