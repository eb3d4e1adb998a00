"""
Python `websockets` (legacy asyncio API) servers for the interop tests.

Starts one server per configuration on 127.0.0.1, port 0, and prints
{"event": "listening", "ports": {name: port}}. Then, per connection, prints
{"event": "open", ...} and {"event": "closed", ...} lines keyed by the request
path, so the tests can check what Python saw. Runs until stdin is closed.

What a connection does depends on its query string:
  (nothing)            echo every message
  ?close=CODE&reason=R close at once with CODE and R
  ?fragments=1         send fragmented messages (iterable, async iterable), then echo
  ?ping=DATA           ping with DATA, wait for the pong, send "pong:DATA", then echo
  ?send=N              send N pattern bytes, then echo
"""

import asyncio
import sys
import urllib.parse

import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from common import describe_extensions, emit, pattern_bytes, pattern_text


async def handler(ws):
    path = ws.path
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    emit(
        {
            "event": "open",
            "path": path,
            "subprotocol": ws.subprotocol,
            "extensions": describe_extensions(ws.extensions),
            "request_extensions": ws.request_headers.get("Sec-WebSocket-Extensions"),
        }
    )
    try:
        if "close" in query:
            await ws.close(int(query["close"][0]), query.get("reason", [""])[0])
        else:
            if "fragments" in query:
                await ws.send(["fr", "ag", "ment"])

                async def binary_parts():
                    yield b"\x01"
                    yield b""
                    yield b"\x02\x03"

                await ws.send(binary_parts())
                await ws.send(["é€", "𝄞", ""])
                big = pattern_text(300_000)
                await ws.send([big[:100_000], big[100_000:200_000], big[200_000:]])
            if "ping" in query:
                data = query["ping"][0]
                waiter = await ws.ping(data)
                await asyncio.wait_for(waiter, 5)
                await ws.send("pong:" + data)
            if "send" in query:
                await ws.send(pattern_bytes(int(query["send"][0])))
            async for message in ws:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        emit({"event": "closed", "path": path, "code": ws.close_code, "reason": ws.close_reason})


CONFIGS = {
    # Python's defaults: permessage-deflate with context takeover, 12-bit windows.
    "deflate": dict(subprotocols=["chat.v2", "chat.v1"]),
    "plain": dict(compression=None),
    "nct": dict(
        compression=None,
        extensions=[
            ServerPerMessageDeflateFactory(
                server_no_context_takeover=True,
                client_no_context_takeover=True,
                compress_settings={"memLevel": 5},
            )
        ],
    ),
    "small": dict(max_size=1000),
}


async def main():
    servers = {}
    for name, options in CONFIGS.items():
        servers[name] = await websockets.serve(handler, "127.0.0.1", 0, ping_interval=None, **options)
    ports = {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    emit({"event": "listening", "ports": ports})
    # Run until the test closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for s in servers.values():
        s.close()
    for s in servers.values():
        await s.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
