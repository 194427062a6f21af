"""Free loopback ports, for servers and child processes that must be told where to listen."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _ephemeral() -> range:
    """The range the kernel hands out to outgoing connections (Linux: 32768–60999)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


EPHEMERAL = _ephemeral()


def free_port() -> int:
    """A port free on 127.0.0.1 right now, outside the ephemeral range.

    Port 0 would give an ephemeral port, which the kernel may hand to any client socket of
    the parallel test workers before the server binds it (seen: ``address already in use``).
    Below that range only explicit binds compete, and a random pick keeps workers apart.
    """
    low = 10_000
    high = EPHEMERAL.start if EPHEMERAL.start - low > 1000 else 65_000
    for _ in range(200):
        port = random.randrange(low, high)
        if port in EPHEMERAL:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("aucun port libre trouvé hors de la plage éphémère")
