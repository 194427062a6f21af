"""Every tool the hub exposes, in one tuple (the MCP endpoint serves this list)."""

from __future__ import annotations

from tools import compression, filesystem, sessions, stats
from tools.base import ToolSpec

ALL_TOOLS: tuple[ToolSpec, ...] = (
    *sessions.TOOLS,
    *stats.TOOLS,
    *compression.TOOLS,
    *filesystem.TOOLS,
)
