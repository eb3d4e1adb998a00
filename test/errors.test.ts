/**
 * "All errors derive from WebSocketError": an audit of src/ — every error the
 * library raises itself is a WebSocketError, except the argument/option
 * errors (TypeError/RangeError with a code), which go through
 * argumentError(); every code string used is in the WebSocketErrorCode
 * union; the messages of ConnectionClosed follow its table.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as wavesock from "../src/index.js";
import {
  ConnectionClosedError,
  PayloadTooBig,
  ProtocolError,
  WebSocketError,
  argumentError,
  closeCodeName,
  connectionClosed,
  isArgumentError,
} from "../src/errors.js";

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const code = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");

describe("the library raises only WebSocketErrors and coded argument errors", () => {
  it("no plain Error / TypeError / RangeError is built anywhere in src/ but argumentError()", () => {
    const offenders: string[] = [];
    for (const file of files("src")) {
      const lines = code(readFileSync(file, "utf8")).split("\n");
      lines.forEach((line, i) => {
        if (/new (Error|TypeError|RangeError|SyntaxError)\(/.test(line) && !file.endsWith("errors.ts")) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it("the audit can fail", () => {
    expect(/new (Error|TypeError|RangeError|SyntaxError)\(/.test(code('throw new TypeError("x"); // new Error('))).toBe(true);
  });

  it("every WS_ERR_ code used in src/ is in the WebSocketErrorCode union, and every member is used", () => {
    const errors = readFileSync("src/errors.ts", "utf8");
    const union = errors.slice(errors.indexOf("export type WebSocketErrorCode ="), errors.indexOf("export type ArgumentError ="));
    const declared = new Set(union.match(/"WS_ERR_[A-Z_0-9]+"/g));
    const used = new Set<string>();
    for (const file of files("src")) {
      if (file.endsWith("errors.ts")) continue;
      for (const m of code(readFileSync(file, "utf8")).match(/"WS_ERR_[A-Z_0-9]+"/g) ?? []) used.add(m);
    }
    for (const m of code(errors.slice(errors.indexOf("export class WebSocketError"))).match(/"WS_ERR_[A-Z_0-9]+"/g) ?? []) used.add(m);
    expect([...used].filter((c) => !declared.has(c))).toEqual([]);
    expect([...declared].filter((c) => !used.has(c))).toEqual([]);
  });

  it("every exported error class is a WebSocketError (but the standard's own, a DOMException)", () => {
    const classes = Object.entries(wavesock).filter(
      ([, v]) => typeof v === "function" && (v as { prototype?: unknown }).prototype instanceof Error,
    );
    expect(classes.length).toBeGreaterThanOrEqual(10);
    for (const [name, cls] of classes) {
      const proto = (cls as { prototype: unknown }).prototype;
      // WebSocketStream's WebSocketError is a DOMException by its standard (src/whatwg).
      if (name === "WebSocketStreamError") expect(proto instanceof DOMException).toBe(true);
      else expect(proto instanceof WebSocketError || cls === WebSocketError, name).toBe(true);
    }
  });

  it("argument errors are TypeError/RangeError with a code", () => {
    const t = argumentError("WS_ERR_INVALID_OPTION", "x");
    const r = argumentError("WS_ERR_INVALID_ARGUMENT", "y", true);
    expect(t).toBeInstanceOf(TypeError);
    expect(r).toBeInstanceOf(RangeError);
    expect([t.code, r.code]).toEqual(["WS_ERR_INVALID_OPTION", "WS_ERR_INVALID_ARGUMENT"]);
    expect(isArgumentError(t) && isArgumentError(r)).toBe(true);
    expect(isArgumentError(new TypeError("z"))).toBe(false);
  });
});

describe("ConnectionClosed semantics", () => {
  it("we failed: closeCode and closeReason are what we sent", () => {
    const cause = PayloadTooBig.over(2_097_152, 1_048_576);
    const err = connectionClosed(null, { code: 1009, reason: "message too big" }, { cause });
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ closeCode: 1009, closeReason: "message too big", cause });
    expect(err.message).toBe("message too big: 2,097,152 bytes, over the limit of 1,048,576 bytes (sent 1009; no close frame received)");
  });

  it("a failure that is not what we sent (we had closed already) leaves the peer's code", () => {
    const cause = new ProtocolError("invalid opcode 0x3", "WS_ERR_INVALID_OPCODE");
    const err = connectionClosed(null, { code: 1000, reason: "" }, { cause });
    expect(err.closeCode).toBe(1006);
    expect(err.cause).toBe(cause);
  });

  it("keeps the old (rcvd, sent, cause) call form", () => {
    const cause = new Error("boom");
    const err = connectionClosed(null, null, cause);
    expect(err.cause).toBe(cause);
    expect(err.message).toContain("boom");
  });

  it("names close codes", () => {
    expect(closeCodeName(1009)).toBe("1009 (message too big)");
    expect(closeCodeName(3001)).toBe("3001 (registered)");
    expect(closeCodeName(4999)).toBe("4999 (private use)");
  });
});
