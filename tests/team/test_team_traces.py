"""Traces across replicas (issue #26): a conversation the balancer spreads over two hub
processes stays one trace, each request's span exported by the replica that served it and
named by it (``service.instance.id``), the provider's ``traceparent`` in the same trace."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
import pytest

from tests.support.fake_upstream import FakeUpstream
from tests.support.otlp_receiver import OtlpReceiver
from tests.support.polling import until
from tests.support.ports import free_port
from tests.support.replicas import Replica, team_config
from tests.support.servers import serve

TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
HELLO = {"model": "fake/echo", "messages": [{"role": "user", "content": "Bonjour"}]}


async def test_one_trace_across_two_replicas(
    tmp_path: Path,
    upstream_url: str,
    fake_upstream: FakeUpstream,
    postgres_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # exported while the test waits
    receiver = OtlpReceiver()
    async with serve(receiver.app()) as otlp:
        pair = []
        for name in ("A", "B"):
            path = team_config(tmp_path, upstream_url, postgres_url, redis_url, name)
            path.write_text(path.read_text() + f'\n[telemetry]\nendpoint = "{otlp}/v1/traces"\n')
            pair.append(Replica(name, path, free_port()))
        try:
            await asyncio.gather(*(r.start() for r in pair))
            headers = {"traceparent": f"00-{TRACE}-{CLIENT_SPAN}-01"}
            async with httpx2.AsyncClient(timeout=30, headers=headers) as http:
                for replica in (*pair, *pair):  # round robin, as a balancer would
                    answer = await http.post(f"{replica.url}/chat/completions", json=HELLO)
                    assert answer.status_code == 200
            await until(lambda: len(receiver.trace(TRACE)) == 8, 20)  # SERVER + CLIENT each
        finally:
            await asyncio.gather(*(r.stop() for r in pair))
    servers = [s for s in receiver.trace(TRACE) if s.kind == "SERVER"]
    assert sorted(str(s.resource["service.instance.id"]) for s in servers) == ["A", "A", "B", "B"]
    assert {s.parent_span_id for s in servers} == {CLIENT_SPAN}
    clients = {s.span_id for s in receiver.trace(TRACE) if s.kind == "CLIENT"}
    sent = {h["traceparent"] for h in fake_upstream.headers}
    assert sent == {f"00-{TRACE}-{span}-01" for span in clients}  # the provider: same trace
