"""Everything the routes need, built once by the app's lifespan and kept on app.state."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from hub.api.mcp_proxy import UpstreamEndpoints
from hub.config import HubConfig
from hub.core.store import Store
from hub.core.tokens import TokenCounter
from hub.features.mcp_hub import UpstreamHub
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.analytics import AnalyticsService
from hub.services.chat import ChatService
from hub.services.cluster import ClusterLink
from hub.services.events import EventBus
from hub.services.keys import KeyService
from hub.services.limits import LimitService
from hub.services.metrics import MetricRecorder
from hub.services.prometheus import HubMetrics
from hub.services.savings import SavingsService
from hub.services.sessions import SessionService
from hub.services.stats import StatsService


@dataclass
class HubState:
    config: HubConfig
    store: Store
    bus: EventBus
    counter: TokenCounter
    router: ModelRouter
    pool: ProviderPool
    sessions: SessionService
    recorder: MetricRecorder
    stats: StatsService
    chat: ChatService
    savings: SavingsService
    analytics: AnalyticsService
    upstreams: UpstreamHub
    mcp_endpoints: UpstreamEndpoints
    keys: KeyService
    limits: LimitService
    metrics: HubMetrics
    cluster: ClusterLink | None = None
    started_at: float = field(default_factory=time.time)


def hub_of(connection: HTTPConnection) -> HubState:
    state = connection.app.state.hub
    assert isinstance(state, HubState)
    return state
