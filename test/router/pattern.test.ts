/**
 * Path patterns on their own (a pure module): what each kind of segment
 * takes, decoding, trailing slashes, precedence, and the patterns refused.
 * The same rules over real sockets are in route.test.ts.
 */
import { describe, expect, it } from "vitest";
import { route, type Connection } from "../../src/index.js";

const noop = (_ws: Connection) => undefined;

function table(patterns: string[], trailingSlash: "strict" | "ignore" = "strict") {
  return route(Object.fromEntries(patterns.map((p) => [p, noop])), { trailingSlash });
}

describe("route patterns", () => {
  it("literal segments match exactly, case-sensitive, after percent-decoding", () => {
    const r = table(["/", "/chat", "/café"]);
    expect(r.match("/")?.pattern).toBe("/");
    expect(r.match("/chat")?.pattern).toBe("/chat");
    expect(r.match("/chat?room=1")?.pattern).toBe("/chat");
    expect(r.match("/Chat")).toBeNull();
    expect(r.match("/chat/")).toBeNull();
    expect(r.match("/chatroom")).toBeNull();
    expect(r.match("/caf%C3%A9")?.pattern).toBe("/café");
    expect(r.match("/café")?.pattern).toBe("/café");
    // A pattern may be written encoded: the same pattern.
    expect(table(["/caf%C3%A9"]).match("/café")?.pattern).toBe("/caf%C3%A9");
  });

  it(":name takes one non-empty segment, decoded; %2F stays inside the value", () => {
    const r = table(["/rooms/:room", "/a/:x/b/:y"]);
    expect(r.match("/rooms/lobby")?.params).toEqual({ room: "lobby" });
    expect(r.match("/rooms/caf%C3%A9%20au%20lait")?.params).toEqual({ room: "café au lait" });
    expect(r.match("/rooms/a%2Fb")?.params).toEqual({ room: "a/b" });
    expect(r.match("/rooms/")).toBeNull();
    expect(r.match("/rooms")).toBeNull();
    expect(r.match("/rooms/a/b")).toBeNull();
    expect(r.match("/a/1/b/2")?.params).toEqual({ x: "1", y: "2" });
  });

  it("a last * takes the rest after its slash, possibly empty", () => {
    const r = table(["/files/*"]);
    expect(r.match("/files/")?.params).toEqual({ "*": "" });
    expect(r.match("/files/a/b%20c.txt")?.params).toEqual({ "*": "a/b c.txt" });
    expect(r.match("/files")).toBeNull();
    expect(table(["/files/*"], "ignore").match("/files")?.params).toEqual({ "*": "" });
  });

  it("the query string is parsed for the handler and never matched", () => {
    const m = table(["/chat"]).match("/chat?nick=ann&token=a%20b&nick=bob");
    expect(m?.query.getAll("nick")).toEqual(["ann", "bob"]);
    expect(m?.query.get("token")).toBe("a b");
    expect(m?.path).toBe("/chat");
  });

  it("trailingSlash: \"ignore\" makes /a and /a/ one path", () => {
    const r = table(["/rooms/:room", "/"], "ignore");
    expect(r.match("/rooms/x/")?.params).toEqual({ room: "x" });
    expect(r.match("/rooms/x")?.params).toEqual({ room: "x" });
    expect(r.match("/")?.pattern).toBe("/");
  });

  it("the most specific pattern wins whatever the order: literal, then :param, then *", () => {
    const r = table(["/*", "/rooms/:room", "/rooms/new", "/:section/new"]);
    expect(r.match("/rooms/new")?.pattern).toBe("/rooms/new");
    expect(r.match("/rooms/42")?.pattern).toBe("/rooms/:room");
    expect(r.match("/admin/new")?.pattern).toBe("/:section/new");
    expect(r.match("/anything/else")?.pattern).toBe("/*");
    expect(table(["/a/:x/*", "/a/:x"], "ignore").match("/a/1")?.pattern).toBe("/a/:x");
  });

  it("malformed percent-encoding, or bytes that are not UTF-8, match nothing", () => {
    const r = table(["/rooms/:room"]);
    expect(r.match("/rooms/%zz")).toBeNull();
    expect(r.match("/rooms/%ff")).toBeNull();
    expect(r.routing.takes("/rooms/%E0%A4")).toBe(false);
    expect(r.routing.takes("/rooms/ok")).toBe(true);
  });

  it("refuses malformed patterns and two patterns that take the same paths, naming them", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ chat: noop }, /must start with "\/"/],
      [{ "/a?b": noop }, /may not contain "\?"/],
      [{ "/a/*/b": noop }, /"\*" may only be the last segment/],
      [{ "/a*": noop }, /must be a whole segment/],
      [{ "/a/:": noop }, /needs a name/],
      [{ "/a/:x/:x": noop }, /:x appears twice/],
      [{ "/a/%zz": noop }, /malformed percent-encoding/],
      [{ "/a/:x": noop, "/a/:y": noop }, /"\/a\/:x" and "\/a\/:y" take the same paths/],
      [{ "/a": "nope" }, /must be a handler .* got the string "nope"/],
      [{ "/a": { handler: noop, process_request: noop } }, /unknown key "process_request"/],
      [{ "/a": { handler: noop, processRequest: 1 } }, /processRequest must be a function/],
      [{}, /has no route/],
    ];
    for (const [routes, message] of bad) expect(() => route(routes as never), JSON.stringify(Object.keys(routes))).toThrow(message);
    expect(() => route({ "/a": noop, "/a/": noop }, { trailingSlash: "ignore" })).toThrow(/take the same paths/);
    expect(() => route({ "/a": noop }, { trailingSlash: "loose" as never })).toThrow(/options.trailingSlash must be "strict" or "ignore"; got the string "loose"/);
    expect(() => route({ "/a": noop }, { trailing: "ignore" } as never)).toThrow(/unknown option trailing/);
    expect(() => route(null as never)).toThrow(/routes must be an object/);
  });
});
