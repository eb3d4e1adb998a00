import { afterEach, describe, expect, it } from "vitest";
import { Example, killAll } from "./helpers.js";

afterEach(killAll);

describe("examples/exception-handling.js", () => {
  it("tells ConnectionClosedOK from ConnectionClosedError, with codes and reasons", async () => {
    const example = Example.start("exception-handling.js");
    expect(await example.exited).toEqual({ code: 0, signal: null });
    const out = example.stdout;
    expect(out).toMatch(/listening on ws:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('normal close: ConnectionClosedOK closeCode=1000 closeReason="goodbye"');
    expect(out).toContain('abnormal close: ConnectionClosedError closeCode=1011 closeReason="internal error"');
    expect(out).toContain('abnormal close: ConnectionClosedError closeCode=1008 closeReason="you are not on the list"');
    expect(out).toContain('abnormal close: ConnectionClosedError closeCode=1006 closeReason=""');
    expect(out).toContain('the server saw: ConnectionClosedOK closeCode=1000 closeReason="done here"');
    expect(out).toContain('send() after close: ConnectionClosedOK closeCode=1000 closeReason="done here"');
    expect(out).toContain("/goodbye: the loop ended (code 1000)");
    expect(out).toContain('/crash: the loop threw ConnectionClosedError closeCode=1011 closeReason="internal error"');
    // The connection's context (id, peer, pathname) comes first on a connection's log line.
    expect(out).toMatch(/server log: wavesock \[[0-9a-f-]{36} 127\.0\.0\.1 \/crash\]: connection handler failed: the database is on fire/);
    expect(out.trimEnd().endsWith("done")).toBe(true);
    expect(example.stderr).toBe("");
  });
});
