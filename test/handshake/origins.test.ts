/**
 * Origin policies (RFC 6454): exact origins compared in their serialised
 * form, RegExps, null for "no Origin header", predicates.
 */
import { describe, expect, it } from "vitest";
import { canonicalOrigin, compileOrigins } from "../../src/handshake/server.js";
import type { HttpRequest } from "../../src/handshake/http.js";

const request: HttpRequest = { method: "GET", path: "/", version: "1.1", headers: {} };

describe("canonicalOrigin", () => {
  it("lower-cases scheme and host, drops default ports, keeps others", () => {
    expect(canonicalOrigin("HTTPS://Example.COM")).toBe("https://example.com");
    expect(canonicalOrigin("https://example.com:443")).toBe("https://example.com");
    expect(canonicalOrigin("http://example.com:80")).toBe("http://example.com");
    expect(canonicalOrigin("http://example.com:8080")).toBe("http://example.com:8080");
    expect(canonicalOrigin("http://[::1]:3000")).toBe("http://[::1]:3000");
    expect(canonicalOrigin("https://bücher.example")).toBe("https://xn--bcher-kva.example");
    expect(canonicalOrigin("chrome-extension://ABCdef")).toBe("chrome-extension://abcdef");
    expect(canonicalOrigin("null")).toBe("null");
  });

  it("is null for what is not an origin", () => {
    for (const s of ["https://example.com/", "https://example.com/path", "https://a@example.com", "example.com", "https://example.com?x", "https://", "https://example.com:99999", " https://example.com"]) {
      expect(canonicalOrigin(s), s).toBe(null);
    }
  });
});

describe("compileOrigins", () => {
  it("exact entries match exactly, never by substring or prefix", () => {
    const allowed = compileOrigins(["https://good.example"]);
    expect(allowed("https://good.example", request)).toBe(true);
    expect(allowed("https://GOOD.example:443", request)).toBe(true);
    for (const o of ["good", "https://good.ex", "https://good.example.evil", "https://evil.good.example", "http://good.example", "https://good.example:8443"]) {
      expect(allowed(o, request), o).toBe(false);
    }
    expect(allowed(undefined, request)).toBe(false);
  });

  it("null allows a missing Origin; RegExps test the header as sent", () => {
    const allowed = compileOrigins([null, /^https:\/\/[a-z]+\.good\.example$/]);
    expect(allowed(undefined, request)).toBe(true);
    expect(allowed("https://app.good.example", request)).toBe(true);
    expect(allowed("https://app.good.example.evil", request)).toBe(false);
  });

  it("refuses bad entries with a message naming the entry", () => {
    expect(() => compileOrigins(["https://good.example/"])).toThrow(/origins\[0\].*did you mean "https:\/\/good.example"/);
    expect(() => compileOrigins(["x", 5 as never])).toThrow(RangeError);
    expect(() => compileOrigins(["https://a.example", 5 as never])).toThrow(/origins\[1\] must be a string, a RegExp or null/);
    expect(() => compileOrigins([/a/g])).toThrow(/g or y flag/);
    expect(() => compileOrigins("https://a.example" as never)).toThrow(TypeError);
  });

  it("a predicate must answer true or false, synchronously", () => {
    expect(compileOrigins((o) => o === "https://a.example")("https://a.example", request)).toBe(true);
    expect(() => compileOrigins((() => "yes") as never)("https://a.example", request)).toThrow(/must return true or false/);
    expect(() => compileOrigins((async () => true) as never)("https://a.example", request)).toThrow(/a Promise/);
  });
});
