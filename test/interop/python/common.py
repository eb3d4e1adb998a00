"""Shared bits of the Python interop peers: payload generators and JSON-line output."""

import base64
import hashlib
import json
import sys

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def pattern_bytes(n):
    """n bytes, byte i = i mod 256 (same as patternBytes in collect.ts)."""
    return (bytes(range(256)) * (n // 256 + 1))[:n]


def pattern_text(n):
    """n ASCII characters, char i = ALPHABET[i mod 36] (same as patternText in collect.ts)."""
    return (ALPHABET * (n // len(ALPHABET) + 1))[:n]


def payload(spec):
    """A message from a command: {"text": ...} | {"b64": ...} | {"gen": {"kind", "size"}}."""
    if "text" in spec:
        return spec["text"]
    if "b64" in spec:
        return base64.b64decode(spec["b64"])
    gen = spec["gen"]
    if gen["kind"] == "text":
        return pattern_text(gen["size"])
    return pattern_bytes(gen["size"])


def summary(message):
    """What the tests compare: type, byte length, SHA-256, and the content when short."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    out = {
        "type": "text" if isinstance(message, str) else "binary",
        "length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if len(data) <= 512:
        if isinstance(message, str):
            out["text"] = message
        else:
            out["b64"] = base64.b64encode(data).decode("ascii")
    return out


def describe_extensions(extensions):
    """The negotiated extensions as Python sees them."""
    out = []
    for e in extensions:
        d = {"name": e.name}
        for attr in (
            "remote_no_context_takeover",
            "local_no_context_takeover",
            "remote_max_window_bits",
            "local_max_window_bits",
        ):
            if hasattr(e, attr):
                d[attr] = getattr(e, attr)
        out.append(d)
    return out


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
