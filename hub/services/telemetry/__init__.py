"""Where the hub's time goes: a histogram of its own time per request, and traces."""

from hub.services.telemetry.hub_time import Buckets, HubTime
from hub.services.telemetry.tracing import RequestTrace, Telemetry

__all__ = ["Buckets", "HubTime", "RequestTrace", "Telemetry"]
