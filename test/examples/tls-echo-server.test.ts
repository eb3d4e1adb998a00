import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../src/index.js";
import { selfSignedCert } from "../node/helpers.js";
import { Example, killAll } from "./helpers.js";

afterEach(killAll);

describe("examples/tls-echo-server.js", () => {
  it("echoes over wss:// with a self-signed certificate made by openssl", async () => {
    const { key, cert } = selfSignedCert();
    const dir = mkdtempSync(join(tmpdir(), "wavesock-tls-example-"));
    writeFileSync(join(dir, "key.pem"), key);
    writeFileSync(join(dir, "cert.pem"), cert);
    const { example, port } = await Example.server("tls-echo-server.js", {
      TLS_KEY: join(dir, "key.pem"),
      TLS_CERT: join(dir, "cert.pem"),
    });
    expect(example.stdout).toContain(`listening on wss://127.0.0.1:${port}`);

    const ws = await connect(`wss://localhost:${port}`, { tls: { ca: cert } });
    await ws.send("secret");
    expect(await ws.recv()).toBe("secret");
    await ws.close();
    expect(ws.closeCode).toBe(1000);

    // Without trusting the certificate, the client refuses the server.
    await expect(connect(`wss://localhost:${port}`)).rejects.toThrow(/self[- ]signed|certificate/i);
    // A plain ws:// client gets nowhere with a TLS server.
    await expect(connect(`ws://127.0.0.1:${port}`, { openTimeout: 2000 })).rejects.toThrow();

    expect(await example.stop()).toEqual({ code: 0, signal: null });
  });

  it("explains what it needs when TLS_KEY / TLS_CERT are missing", async () => {
    const example = Example.start("tls-echo-server.js", { TLS_KEY: "", TLS_CERT: "" });
    expect((await example.exited).code).toBe(1);
    expect(example.stderr).toContain("TLS_KEY and TLS_CERT");
  });
});
