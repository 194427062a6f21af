"""Names of the Redis keys of key limits and of the replicas' leases (team mode).

Every key of one virtual key shares a hash slot (``{key_id}``): its scripts run on one
Redis Cluster node. A replica's own keys are named by its process token.
"""

from __future__ import annotations


def limit_keys(key_id: str, start: float) -> tuple[str, str, str, str]:
    """Budget spend, window (sorted set), tokens per member (hash), tokens in the window."""
    base = f"kimi:limits:{{{key_id}}}"
    return f"{base}:budget:{int(start)}", f"{base}:window", f"{base}:tokens", f"{base}:used"


def held_key(key_id: str) -> str:
    """Reservations not yet final: request id → ``"token start counted_cost"``."""
    return f"kimi:limits:{{{key_id}}}:held"


def replicas_key(channel: str) -> str:
    """Replicas of one hub that may hold reservations: token → replica name."""
    return f"kimi:{channel}:replicas"


def lease_key(channel: str, token: str) -> str:
    """Exists while the replica ``token`` is alive (refreshed by its heartbeat)."""
    return f"kimi:{channel}:lease:{token}"


def keys_of(channel: str, token: str) -> str:
    """The virtual keys the replica ``token`` reserved on (where to look when it dies)."""
    return f"kimi:{channel}:keys:{token}"
