"""
A Python `websockets` (legacy asyncio API) client driven by the interop tests.

Reads one JSON command per line on stdin, answers one JSON line on stdout
carrying the command's "id". One connection at a time; "connect" drops the
previous one.
  {"op": "connect", "uri", "compression": "deflate"|null|"nct", "subprotocols", "max_size"}
  {"op": "send", text|b64|gen}
  {"op": "send_fragments", "parts": [text|b64, ...], "async": bool}
  {"op": "recv"}              -> {"type", "length", "sha256", "text"|"b64"} or {"closed": true, ...}
  {"op": "ping", "data"}      -> {"ok": true, "latency"}
  {"op": "close", "code", "reason"}
  {"op": "wait_closed"}
  {"op": "abort"}             drop the connection (no closing handshake)
Errors come back as {"error": name, "message": text}.
"""

import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from common import describe_extensions, emit, payload, summary

TIMEOUT = 6  # below the tests' 8 s, so a stuck step answers before the test gives up


def closed_info(ws):
    return {"closed": True, "code": ws.close_code, "reason": ws.close_reason}


async def run(command, state):
    op = command["op"]
    ws = state.get("ws")
    if op == "abort" or op == "connect":
        if ws is not None and not ws.closed:
            ws.transport.abort()
        state["ws"] = None
        if op == "abort":
            return {"ok": True}
        options = dict(ping_interval=None, subprotocols=command.get("subprotocols"))
        compression = command.get("compression", "deflate")
        if compression == "nct":
            options["compression"] = None
            options["extensions"] = [
                ClientPerMessageDeflateFactory(
                    server_no_context_takeover=True,
                    client_no_context_takeover=True,
                    compress_settings={"memLevel": 5},
                )
            ]
        else:
            options["compression"] = compression
        if "max_size" in command:
            options["max_size"] = command["max_size"]
        ws = await asyncio.wait_for(websockets.connect(command["uri"], **options), TIMEOUT)
        state["ws"] = ws
        return {
            "ok": True,
            "subprotocol": ws.subprotocol,
            "extensions": describe_extensions(ws.extensions),
            "response_extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
        }
    if ws is None:
        raise RuntimeError("not connected")
    if op == "send":
        await asyncio.wait_for(ws.send(payload(command)), TIMEOUT)
        return {"ok": True}
    if op == "send_fragments":
        parts = [payload(p) for p in command["parts"]]
        if command.get("async"):

            async def agen():
                for p in parts:
                    await asyncio.sleep(0)
                    yield p

            await asyncio.wait_for(ws.send(agen()), TIMEOUT)
        else:
            await asyncio.wait_for(ws.send(parts), TIMEOUT)
        return {"ok": True}
    if op == "recv":
        try:
            return summary(await asyncio.wait_for(ws.recv(), TIMEOUT))
        except websockets.ConnectionClosed:
            return closed_info(ws)
    if op == "ping":
        waiter = await ws.ping(command.get("data"))
        latency = await asyncio.wait_for(waiter, TIMEOUT)
        return {"ok": True, "latency": latency}
    if op == "close":
        await asyncio.wait_for(ws.close(command.get("code", 1000), command.get("reason", "")), TIMEOUT)
        return closed_info(ws)
    if op == "wait_closed":
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
        return closed_info(ws)
    return {"error": "UnknownOp", "message": op}


async def main():
    loop = asyncio.get_running_loop()
    state = {}
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command = json.loads(line)
        try:
            reply = await run(command, state)
        except Exception as exc:  # reported to the test, which decides
            reply = {"error": type(exc).__name__, "message": str(exc)}
        reply["id"] = command.get("id")
        emit(reply)
    ws = state.get("ws")
    if ws is not None and not ws.closed:
        ws.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
