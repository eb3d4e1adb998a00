import { describe, it, expect } from "vitest";
import { InvalidURI } from "../../src/errors.js";
import { parseURI } from "../../src/handshake/uri.js";

describe("parseURI", () => {
  it.each([
    [
      "ws://example.com",
      { secure: false, host: "example.com", port: 80, resourceName: "/", hostHeader: "example.com" },
    ],
    [
      "wss://example.com/chat?room=1&x=%20",
      { secure: true, host: "example.com", port: 443, resourceName: "/chat?room=1&x=%20", hostHeader: "example.com" },
    ],
    [
      "ws://Example.COM:8765/a",
      { secure: false, host: "example.com", port: 8765, resourceName: "/a", hostHeader: "example.com:8765" },
    ],
    // A default port given explicitly is not repeated in Host.
    ["ws://example.com:80/", { secure: false, host: "example.com", port: 80, resourceName: "/", hostHeader: "example.com" }],
    ["wss://example.com:443", { secure: true, host: "example.com", port: 443, resourceName: "/", hostHeader: "example.com" }],
    // ...but the other scheme's default is not a default.
    ["wss://example.com:80", { secure: true, host: "example.com", port: 80, resourceName: "/", hostHeader: "example.com:80" }],
    ["ws://example.com?q", { secure: false, host: "example.com", port: 80, resourceName: "/?q", hostHeader: "example.com" }],
    ["ws://127.0.0.1:9000", { secure: false, host: "127.0.0.1", port: 9000, resourceName: "/", hostHeader: "127.0.0.1:9000" }],
    ["ws://[::1]:8080/x", { secure: false, host: "::1", port: 8080, resourceName: "/x", hostHeader: "[::1]:8080" }],
    ["wss://[2001:DB8::1]/", { secure: true, host: "2001:db8::1", port: 443, resourceName: "/", hostHeader: "[2001:db8::1]" }],
    ["WS://example.com/", { secure: false, host: "example.com", port: 80, resourceName: "/", hostHeader: "example.com" }],
  ])("parses %s", (uri, expected) => {
    expect(parseURI(uri)).toEqual(expected);
  });

  it("percent-encodes what the request line cannot carry", () => {
    expect(parseURI("ws://example.com/caf\u00e9 x").resourceName).toBe("/caf%C3%A9%20x");
  });

  it("decodes user and password from the user info", () => {
    const uri = parseURI("wss://al%20ice:p%40ss%3Aw@example.com/");
    expect(uri.user).toBe("al ice");
    expect(uri.password).toBe("p@ss:w");
    expect(uri.hostHeader).toBe("example.com");
  });

  it("gives an empty password when only a user is given, and no credentials when none are", () => {
    const uri = parseURI("ws://bob@example.com/");
    expect([uri.user, uri.password]).toEqual(["bob", ""]);
    expect("user" in parseURI("ws://example.com/")).toBe(false);
  });

  it.each([
    ["an http URI", "http://example.com/"],
    ["an https URI", "https://example.com/"],
    ["another scheme", "ftp://example.com/"],
    ["a relative reference", "/chat"],
    ["garbage", "not a uri"],
    ["a fragment", "ws://example.com/chat#frag"],
    ["an empty fragment", "ws://example.com/#"],
    ["an invalid port", "ws://example.com:99999/"],
    ["a malformed IPv6 address", "ws://[::1/"],
    ["bad percent-encoding in the user info", "ws://%zz@example.com/"],
  ])("refuses %s", (_, uri) => {
    expect(() => parseURI(uri)).toThrow(InvalidURI);
  });

  it("says what is wrong and keeps the URI", () => {
    try {
      parseURI("http://example.com/");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidURI);
      expect((err as InvalidURI).uri).toBe("http://example.com/");
      expect((err as InvalidURI).message).toMatch(/scheme/);
      expect((err as InvalidURI).code).toBe("WS_ERR_INVALID_URI");
    }
  });
});
