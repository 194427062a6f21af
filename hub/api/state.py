"""Everything the routes need, built once by the app's lifespan and kept on app.state."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from hub.config import HubConfig
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.modern_tasks import ModernTasks
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.access.budgets import LimitService
from hub.services.access.keys import KeyService
from hub.services.access.oauth_resource import ProtectedResource
from hub.services.access.tool_gate import ToolGate
from hub.services.chat.service import ChatService
from hub.services.cluster.protocol import ClusterLink
from hub.services.events import EventBus
from hub.services.recording.audit import AuditLog
from hub.services.recording.recorder import RequestRecorder
from hub.services.reporting.analytics import AnalyticsService
from hub.services.reporting.prometheus import PrometheusMetrics
from hub.services.reporting.session_stats import StatsService
from hub.services.savings.service import SavingsService
from hub.services.sessions.service import SessionService
from hub.services.telemetry import Telemetry


@dataclass
class HubState:
    config: HubConfig
    store: Store
    bus: EventBus
    counter: TokenCounter
    router: ModelRouter
    pool: ProviderPool
    sessions: SessionService
    recorder: RequestRecorder
    stats: StatsService
    chat: ChatService
    savings: SavingsService
    analytics: AnalyticsService
    upstreams: UpstreamHub
    gate: ToolGate  # every MCP tool call, every door
    tasks: ModernTasks  # MCP tasks, both generations (.router: which upstream, which key)
    audit: AuditLog
    keys: KeyService
    limits: LimitService
    metrics: PrometheusMetrics
    telemetry: Telemetry  # hub time per request; traces when [telemetry] is set
    cluster: ClusterLink | None = None
    oauth: ProtectedResource | None = None  # [auth.oauth]: JWT access tokens accepted
    started_at: float = field(default_factory=time.time)


def hub_of(connection: HTTPConnection) -> HubState:
    state = connection.app.state.hub
    assert isinstance(state, HubState)
    return state
