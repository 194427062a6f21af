"""OpenTelemetry traces, end to end: a client's W3C trace context continued by the hub,
passed on to the provider (``traceparent`` header) and to upstream MCP servers
(``_meta.traceparent``), exported over OTLP/HTTP to a receiver that decodes it with the
official ``opentelemetry-proto`` messages. Real clients: the openai SDK and ``mcp.Client``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import mcp_types as types
import openai
import pytest
from mcp import Client
from openai import AsyncOpenAI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from prometheus_client.parser import text_string_to_metric_families

from hub.api.app import create_app
from hub.config import load_config
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_mcp import wait_ready
from tests.support.mcp_upstreams import DYN_TOML
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.support.ports import free_port
from tests.support.servers import serve

CLIENT_SPAN = "00f067aa0ba902b7"
DOWN = '\n[models.down]\nprovider = "fake"\nmodel = "down"\n'


def traceparent(trace_id: str, span_id: str = CLIENT_SPAN) -> str:
    return f"00-{trace_id}-{span_id}-01"


def one(spans: list[ReceivedSpan], kind: str) -> ReceivedSpan:
    found = [s for s in spans if s.kind == kind]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


@asynccontextmanager
async def traced_hub(
    tmp_path: Path, upstream: str, extra: str = ""
) -> AsyncIterator[tuple[str, OtlpReceiver]]:
    """A hub exporting to a receiver; its spans are all received once the block ends
    (the hub's shutdown exports what its batch still holds)."""
    receiver = OtlpReceiver()
    async with serve(receiver.app()) as otlp:
        table = f'\n[telemetry]\nendpoint = "{otlp}/v1/traces"\nservice_name = "hub-test"\n'
        path = write_config(tmp_path, upstream, table + extra)
        config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
        async with serve(create_app(config)) as url:
            yield url, receiver


def hub_time_count(text: str, kind: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "kimi_hub_overhead_seconds_count" and sample.labels == {"kind": kind}:
                return sample.value
    return 0.0


async def test_chat_trace_continues_to_the_provider(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    plain, streamed, failed = "a" * 32, "b" * 32, "c" * 32
    async with traced_hub(tmp_path, upstream_url, DOWN) as (url, receiver):
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client:
            await client.chat.completions.create(
                model="fake/echo", messages=HELLO, extra_headers={"traceparent": traceparent(plain)}
            )
            stream = await client.chat.completions.create(
                model="fake/echo",
                messages=HELLO,
                stream=True,
                extra_headers={"traceparent": traceparent(streamed)},
            )
            assert [c async for c in stream]
            with pytest.raises(openai.InternalServerError):
                await client.chat.completions.create(
                    model="down", messages=HELLO, extra_headers={"traceparent": traceparent(failed)}
                )
    for trace_id, sent in ((plain, fake_upstream.headers[0]), (streamed, fake_upstream.headers[1])):
        spans = receiver.trace(trace_id)
        server, outgoing = one(spans, "SERVER"), one(spans, "CLIENT")
        assert server.name == "chat fake/echo" and server.parent_span_id == CLIENT_SPAN
        assert outgoing.name == "chat echo" and outgoing.parent_span_id == server.span_id
        # the provider got the hub's CLIENT span as its parent, in the client's trace
        assert sent["traceparent"] == traceparent(trace_id, outgoing.span_id)
        assert not server.error and server.attributes["http.response.status_code"] == 200
        assert server.attributes["gen_ai.usage.output_tokens"] == 9
        assert server.attributes["gen_ai.provider.name"] == "fake"
        assert server.resource["service.name"] == "hub-test"
        times = [
            server.attributes[f"kimi.{part}_time_ms"] for part in ("hub", "upstream", "client")
        ]
        hub_ms, upstream_ms, client_ms = (float(t) for t in times)
        total_ms = (server.end_ns - server.start_ns) / 1e6
        assert 0 <= hub_ms < total_ms and 0 < upstream_ms < total_ms and client_ms >= 0
        # hub time is what is left once the provider's and the reader's waits are taken out
        assert abs(hub_ms + upstream_ms + client_ms - total_ms) < 1
        if trace_id == plain:
            assert client_ms == 0  # a whole answer: the hub never waited on the reader
    down = one(receiver.trace(failed), "SERVER")
    assert down.error and down.attributes["http.response.status_code"] == 500
    assert one(receiver.trace(failed), "CLIENT").error
    assert set(receiver.content_types) == {"application/x-protobuf"}


async def test_refused_requests_are_traced_with_their_reason(
    tmp_path: Path, upstream_url: str
) -> None:
    trace_id = "d" * 32
    async with traced_hub(tmp_path, upstream_url) as (url, receiver):
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client:
            with pytest.raises(openai.NotFoundError):
                await client.chat.completions.create(
                    model="nope",
                    messages=HELLO,
                    extra_headers={"traceparent": traceparent(trace_id)},
                )
    refused = one(receiver.trace(trace_id), "SERVER")
    assert refused.error and refused.attributes["http.response.status_code"] == 404
    assert "nope" in refused.status_message


async def test_without_telemetry_nothing_is_sent_and_hub_time_is_measured(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    config = load_config(
        write_config(tmp_path, upstream_url), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    async with serve(create_app(config)) as url:
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client:
            await client.chat.completions.create(
                model="fake/echo",
                messages=HELLO,
                extra_headers={"traceparent": traceparent("e" * 32)},
            )
        async with httpx2.AsyncClient(base_url=url) as http:
            scraped = (await http.get("/metrics")).text
    assert "traceparent" not in fake_upstream.headers[0]  # client headers are not relayed
    assert hub_time_count(scraped, "chat") == 1


async def test_mcp_tool_call_carries_the_trace_to_the_upstream(
    tmp_path: Path, upstream_url: str
) -> None:
    trace_id = "f" * 32
    client_span = SpanContext(
        int(trace_id, 16), int(CLIENT_SPAN, 16), is_remote=True, trace_flags=TraceFlags(1)
    )
    async with traced_hub(tmp_path, upstream_url, DYN_TOML) as (url, receiver):
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            await wait_ready(http, "dyn")
            # the mcp SDK client puts the current context in each request's _meta
            token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(client_span)))
            try:
                async with Client(f"{url}/mcp") as mcp:
                    result = await mcp.call_tool("dyn__traceparent", {})
            finally:
                otel_context.detach(token)
            scraped = (await http.get("/metrics")).text
    assert isinstance(result, types.CallToolResult) and not result.is_error
    seen_upstream = result.content[0]
    assert isinstance(seen_upstream, types.TextContent)
    span = one(receiver.trace(trace_id), "SERVER")
    assert span.name == "tools/call dyn__traceparent" and span.parent_span_id == CLIENT_SPAN
    assert span.attributes["kimi.mcp.endpoint"] == "/mcp"
    # the upstream saw the hub's span as its parent, in the client's trace
    assert seen_upstream.text == traceparent(trace_id, span.span_id)
    upstream_ms, hub_ms = (
        span.attributes["kimi.upstream_time_ms"],
        span.attributes["kimi.hub_time_ms"],
    )
    assert isinstance(upstream_ms, float) and isinstance(hub_ms, float)
    assert upstream_ms > 0 and hub_ms >= 0
    assert hub_time_count(scraped, "mcp") == 1


async def test_a_collector_down_fails_no_request(tmp_path: Path, upstream_url: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/v1/traces"  # nothing listens there
    table = f'\n[telemetry]\nendpoint = "{nowhere}"\ntimeout = 1\n'
    config = load_config(
        write_config(tmp_path, upstream_url, table), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    async with serve(create_app(config)) as url:
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client:
            for _ in range(3):
                reply = await client.chat.completions.create(model="fake/echo", messages=HELLO)
                assert reply.choices[0].message.content
        async with httpx2.AsyncClient(base_url=url) as http:
            scraped = (await http.get("/metrics")).text
    assert hub_time_count(scraped, "chat") == 3
