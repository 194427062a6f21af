"""OpenTelemetry traces of chat requests and MCP tool calls (``[telemetry]``).

Off (no table, the default): no span is made and the SDK is not imported; each request
still measures its hub time for ``/metrics``. On: one SDK ``TracerProvider`` per hub, not
the process-wide one (a hub owns what it builds, and tests run several hubs in one
process); spans are batched and sent by the official OTLP/HTTP exporter from the SDK's own
thread, so a request never waits on the collector, and a full queue drops spans (the
SDK's policy, ``OTEL_BSP_*``), never requests.

Context in: a chat request's W3C ``traceparent`` header; for MCP, the request's
``_meta.traceparent``, which the mcp SDK's server makes the current context before the
hub's handler runs. Context out: the provider call carries its CLIENT span's
``traceparent`` header; an upstream MCP call carries the tool-call span in
``_meta.traceparent``, injected by the mcp SDK's client from the current context
(``RequestTrace.current``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from importlib.metadata import PackageNotFoundError, version

import anyio
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from hub.config.schema import TelemetryConfig
from hub.services.telemetry.hub_time import HubTime

Attributes = Mapping[str, AttributeValue]
NO_ATTRIBUTES: Attributes = {}
W3C = TraceContextTextMapPropagator()
NOTHING = nullcontext()  # tracing off: entered and left for nothing (reentrant)


class RequestTrace:
    """One request: its hub time (always) and its span (when tracing is on).

    ``upstream`` and ``client`` are the seconds it waited on upstreams and on a client
    reading a stream; ``end`` subtracts them from the request's time.
    """

    __slots__ = (
        "_hub_time",
        "_outgoing",
        "_tracer",
        "client",
        "ended",
        "kind",
        "span",
        "started",
        "upstream",
    )

    def __init__(
        self, hub_time: HubTime, kind: str, tracer: Tracer | None, span: trace.Span | None
    ) -> None:
        self._hub_time = hub_time
        self._tracer = tracer
        self._outgoing: trace.Span | None = None
        self.kind = kind
        self.span = span
        self.started = time.perf_counter()
        self.upstream = 0.0
        self.client = 0.0
        self.ended = False

    @property
    def recording(self) -> bool:
        """Attributes are worth building: a span will be exported (tracing on, sampled)."""
        return self.span is not None and self.span.is_recording()

    def rename(self, name: str) -> None:
        if self.span is not None:
            self.span.update_name(name)

    def set(self, attributes: Attributes) -> None:
        if self.span is not None:
            self.span.set_attributes(attributes)

    def current(self) -> AbstractContextManager[object]:
        """The span as the current context, for what the mcp SDK client sends upstream."""
        if self.span is None:
            return NOTHING
        return trace.use_span(self.span, record_exception=False, set_status_on_exception=False)

    def outgoing(self, name: str, attributes: Attributes) -> dict[str, str]:
        """Start the CLIENT span of the provider call; its ``traceparent`` header(s)."""
        if self.span is None or self._tracer is None:
            return {}
        headers: dict[str, str] = {}
        parent = trace.set_span_in_context(self.span)
        if not self.span.is_recording():  # not sampled: pass the decision on, nothing more
            W3C.inject(headers, context=parent)
            return headers
        self._outgoing = self._tracer.start_span(
            name, context=parent, kind=SpanKind.CLIENT, attributes=attributes
        )
        W3C.inject(headers, context=trace.set_span_in_context(self._outgoing))
        return headers

    def outgoing_done(self, status: int | None) -> None:
        span, self._outgoing = self._outgoing, None
        if span is None:
            return
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 400:
                span.set_status(Status(StatusCode.ERROR))
        span.end()

    def end(self, error: str | None = None, attributes: Attributes = NO_ATTRIBUTES) -> None:
        """Once: observe the hub time, close the spans. ``error``: why it failed, if it did."""
        if self.ended:
            return
        self.ended = True
        hub = time.perf_counter() - self.started - self.upstream - self.client
        self._hub_time.observe(self.kind, hub)
        span = self.span
        if span is None or not span.is_recording():
            return
        self.outgoing_done(None)
        span.set_attributes(attributes)
        span.set_attributes(
            {
                "kimi.hub_time_ms": round(hub * 1000, 3),
                "kimi.upstream_time_ms": round(self.upstream * 1000, 3),
                "kimi.client_time_ms": round(self.client * 1000, 3),
            }
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error[:300]))
        span.end()


class Telemetry:
    """The hub's hub-time histogram and, when ``[telemetry]`` is set, its tracer."""

    def __init__(self, config: TelemetryConfig | None, instance: str) -> None:
        self.hub_time = HubTime()
        self._shutdown: Callable[[], None] | None = None
        self._tracer: Tracer | None = None
        if config is not None:
            self._tracer, self._shutdown = _tracer(config, instance)

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def begin(
        self,
        kind: str,
        name: str,
        attributes: Attributes = NO_ATTRIBUTES,
        headers: Mapping[str, str] | None = None,
    ) -> RequestTrace:
        """A request starts. ``headers``: continue their ``traceparent`` (else the current
        context's: an MCP request's ``_meta``)."""
        span = None
        if self._tracer is not None:
            parent = W3C.extract(headers) if headers is not None else None
            span = self._tracer.start_span(
                name, context=parent, kind=SpanKind.SERVER, attributes=attributes
            )
        return RequestTrace(self.hub_time, kind, self._tracer, span)

    async def aclose(self) -> None:
        """Export what is queued (bounded by the exporter's timeout), off the event loop."""
        if self._shutdown is not None:
            await anyio.to_thread.run_sync(self._shutdown)


def _tracer(config: TelemetryConfig, instance: str) -> tuple[Tracer, Callable[[], None]]:
    """The SDK, imported only when tracing is on."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create(
        {
            "service.name": config.service_name,
            "service.version": _version(),
            "service.instance.id": instance,
        }
    )
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(config.sample_ratio))
    )
    exporter = OTLPSpanExporter(
        endpoint=config.endpoint, headers=config.headers, timeout=config.timeout
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider.get_tracer("kimi-proxy-hub", _version()), provider.shutdown


def _version() -> str:
    try:
        return version("kimi-proxy-hub")
    except PackageNotFoundError:
        return "0"
