"""The MCP hub: upstream MCP servers supervised and aggregated (see docs/ARCHITECTURE.md)."""

from hub.features.mcp_hub.connection import SupervisorSettings, UpstreamConnection
from hub.features.mcp_hub.registry import UpstreamHub
from hub.features.mcp_hub.status import ServerState, ServerStatus

__all__ = ["ServerState", "ServerStatus", "SupervisorSettings", "UpstreamConnection", "UpstreamHub"]
