/**
 * How the command shows messages, closes and connection failures.
 */
import { describe, expect, it } from "vitest";
import { describeClose, describeConnectError, escapeControls, hexPreview, renderIncoming, renderPlain } from "../../src/cli/format.js";
import { ConnectionClosedError, ConnectionClosedOK, InvalidHandshake, InvalidStatus } from "../../src/index.js";

describe("hexPreview", () => {
  it("shows the length and every byte of a short message", () => {
    expect(hexPreview(new Uint8Array([0, 0x0f, 0xff]))).toBe("[binary 3 bytes] 00 0f ff");
    expect(hexPreview(new Uint8Array([7]))).toBe("[binary 1 byte] 07");
    expect(hexPreview(new Uint8Array(0))).toBe("[binary 0 bytes]");
  });

  it("shows the first 24 bytes of a long one, then …", () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const text = hexPreview(bytes);
    expect(text.startsWith("[binary 1000 bytes] 00 01 02")).toBe(true);
    expect(text.endsWith(" 16 17 …")).toBe(true);
    expect(text.split(" ").filter((w) => /^[0-9a-f]{2}$/.test(w))).toHaveLength(24);
    expect(hexPreview(bytes.subarray(0, 24))).not.toContain("…");
  });
});

describe("escapeControls", () => {
  it("escapes C0, DEL and C1 controls (escape sequences are commands to a terminal), keeps tab, newline and other text", () => {
    expect(escapeControls("a\x1b[2Jb")).toBe("a\\x1b[2Jb");
    expect(escapeControls("bell\x07 nul\x00 del\x7f csi\x9b")).toBe("bell\\x07 nul\\x00 del\\x7f csi\\x9b");
    expect(escapeControls("cr\r\nlf\ttab")).toBe("cr\\r\nlf\ttab");
    expect(escapeControls("héllo — 日本 😀")).toBe("héllo — 日本 😀");
  });
});

describe("renderIncoming / renderPlain", () => {
  it("marks a message with < and indents the lines of a multi-line one under the first", () => {
    expect(renderIncoming("hi")).toBe("< hi");
    expect(renderIncoming("one\ntwo")).toBe("< one\n  two");
    expect(renderIncoming(new Uint8Array([1]))).toBe("< [binary 1 byte] 01");
  });

  it("piped output is verbatim for text", () => {
    expect(renderPlain("a\x1b[1mb\nc")).toBe("a\x1b[1mb\nc");
    expect(renderPlain(new Uint8Array([2]))).toBe("[binary 1 byte] 02");
  });
});

describe("describeClose", () => {
  it("says the code and reason the server sent, or that none came", () => {
    expect(describeClose(new ConnectionClosedOK({ code: 1000, reason: "" }, { code: 1000, reason: "" }))).toBe("connection closed: code 1000");
    expect(describeClose(new ConnectionClosedError({ code: 4000, reason: "bye" }, { code: 4000, reason: "bye" }))).toBe('connection closed: code 4000, reason "bye"');
    expect(describeClose(new ConnectionClosedError(null, null))).toBe("connection lost: no close frame from the server (1006)");
    expect(describeClose(new ConnectionClosedError(null, { code: 1011, reason: "keepalive ping timeout" }))).toBe(
      'connection lost: no close frame from the server (1006) (we sent code 1011, reason "keepalive ping timeout")',
    );
  });
});

describe("describeConnectError", () => {
  it("names socket errors in words, with their code", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(describeConnectError(refused)).toBe("connection refused (ECONNREFUSED)");
    // Happy eyeballs: several addresses tried, one AggregateError.
    expect(describeConnectError(new AggregateError([refused, refused], ""))).toBe("connection refused (ECONNREFUSED)");
  });

  it("says what the server answered instead of 101, with the start of the body", () => {
    const err = new InvalidStatus({ status: 403, reason: "Forbidden", headers: {}, body: new TextEncoder().encode("origin not allowed\n") });
    expect(describeConnectError(err)).toBe("the server answered HTTP 403 Forbidden instead of switching protocols: origin not allowed");
    const long = new InvalidStatus({ status: 500, reason: "", headers: {}, body: new TextEncoder().encode("x".repeat(500)) });
    expect(describeConnectError(long)).toBe(`the server answered HTTP 500 instead of switching protocols: ${"x".repeat(200)}…`);
  });

  it("points at --insecure for certificate failures, and passes handshake errors through", () => {
    const tls = Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(describeConnectError(tls)).toBe("TLS: self-signed certificate (--insecure skips certificate verification)");
    expect(describeConnectError(new InvalidHandshake("timed out during the opening handshake"))).toBe("timed out during the opening handshake");
  });
});
