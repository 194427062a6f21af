"""What the hub knows about one upstream server, as shown by /api and the dashboard."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from hub.core.jsontypes import JSONObject


class ServerState(StrEnum):
    STARTING = "starting"
    RESTARTING = "restarting"  # asked to restart: calls wait for the next round
    READY = "ready"
    DEGRADED = "degraded"  # connected, but some tools were rejected or a call timed out
    DOWN = "down"
    DISABLED = "disabled"


@dataclass
class ServerStatus:
    name: str
    transport: str
    state: ServerState = ServerState.STARTING
    tool_count: int = 0
    last_error: str | None = None
    restarts: int = 0
    calls: int = 0
    errors: int = 0
    latency_total_ms: float = 0.0
    latency_last_ms: float | None = None
    warnings: list[str] = field(default_factory=list)
    last_error_at: float | None = None
    exit_code: int | None = None  # of the last stdio child that ended on its own
    stderr: list[str] = field(default_factory=list)  # its last stderr lines
    clients: int | None = None  # isolation "per-client": the clients' children running
    auth: str | None = None  # auth = "oauth": « connexion requise », « connecté en tant que … »
    authorization_url: str | None = None  # while a person is expected to sign in

    def failed(self, error: str, exit_code: int | None, stderr: list[str]) -> None:
        self.last_error = error
        self.last_error_at = time.time()
        self.exit_code = exit_code
        self.stderr = stderr

    def record_call(self, elapsed_ms: float, *, ok: bool) -> None:
        self.calls += 1
        self.latency_total_ms += elapsed_ms
        self.latency_last_ms = elapsed_ms
        if not ok:
            self.errors += 1

    def to_json(self) -> JSONObject:
        average = self.latency_total_ms / self.calls if self.calls else None
        return {
            "name": self.name,
            "endpoint": f"/servers/{self.name}/mcp",
            "transport": self.transport,
            "state": self.state.value,
            "tools": self.tool_count,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "exit_code": self.exit_code,
            "stderr": list(self.stderr),
            "auth": self.auth,
            "authorization_url": self.authorization_url,
            "restarts": self.restarts,
            "calls": self.calls,
            "errors": self.errors,
            "latency_ms_avg": round(average, 3) if average is not None else None,
            "latency_ms_last": round(self.latency_last_ms, 3)
            if self.latency_last_ms is not None
            else None,
            "warnings": list(self.warnings),
            "clients": self.clients,
        }
