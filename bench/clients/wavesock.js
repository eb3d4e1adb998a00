// @ts-check
/**
 * wavesock's client as the load generator (client rows): `conns`
 * connections, each keeping `window` messages in flight against an echo
 * server, written as a user would: `for await` over the connection and
 * `await ws.send()`.
 *
 *   node bench/clients/wavesock.js --url ws://127.0.0.1:PORT/ --conns 50 --size 64 --window 16
 */
import { connect } from "wavesock";
import { Meter, makePayload, parseArgs } from "./common.js";

const args = parseArgs();
const payload = makePayload(args.size);
const meter = new Meter(args, payload);

const connections = await Promise.all(
  Array.from({ length: args.conns }, () => connect(args.url, { compression: null, pingInterval: null, maxSize: null })),
);

for (const ws of connections) {
  void (async () => {
    for (let i = 0; i < args.window; i++) await ws.send(payload);
    for await (const message of ws) {
      meter.got(message);
      if (!meter.running) break;
      await ws.send(payload);
    }
  })().catch((err) => meter.fail(String(err)));
}

await meter.run();
process.exit(0);
