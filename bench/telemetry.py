"""Cost of tracing on the chat path: a hub without ``[telemetry]`` vs one exporting a span
pair (SERVER + CLIENT) for every request.

    python scripts/bench.py telemetry [--requests N] [--rounds R]

Two hubs (``python -m hub serve``) in front of the raw upstream (``bench.fast_http``); the
traced one exports over OTLP/HTTP to ``sink`` below (a collector that keeps nothing but
counts what it got). Rounds alternate between the hubs, non-streaming, concurrency 1 and
32. Reported: latency, throughput, the hub process's CPU per request, and the hub time
both hubs measure themselves (``kimi_hub_overhead_seconds`` on ``/metrics``: request time
minus the provider's).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx2
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from bench.proxy import (
    HOST,
    Target,
    _free_port,
    _machine,
    _spawn,
    _uvicorn,
    _wait_port,
    _write_config,
    hub_serve,
    take_turns,
)
from hub.api.routes.openai import CHAT_SPAN
from hub.services.telemetry import Telemetry

HEADERS = {"content-type": "application/json", "traceparent": f"00-{'a' * 32}-{'b' * 16}-01"}


class Sink:
    """An OTLP/HTTP endpoint that drops what it gets; ``GET`` tells how much came."""

    def __init__(self) -> None:
        self.exports = 0
        self.bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "POST":
            self.exports += 1
            self.bytes += len(body)
            body = b""
        else:
            body = f"{self.exports} {self.bytes}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


sink = Sink()


async def _hub_time(port: int) -> tuple[float, int]:
    """Mean hub time per chat request (µs) and the count, from the hub's own /metrics."""
    async with httpx2.AsyncClient(base_url=f"http://{HOST}:{port}") as http:
        text = (await http.get("/metrics")).text
    total, count = 0.0, 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("kind") != "chat":
                continue
            if sample.name == "kimi_hub_overhead_seconds_sum":
                total = sample.value
            elif sample.name == "kimi_hub_overhead_seconds_count":
                count = int(sample.value)
    return (1e6 * total / count if count else 0.0), count


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench telemetry")
    parser.add_argument("--requests", type=int, default=500, help="par phase, c=1 (×4 à c=32)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(_machine())
    up, off, on, tenth, otlp = (_free_port() for _ in range(5))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        plain = _write_config(tmp, "off", up)
        traced = _write_config(tmp, "on", up)
        table = f'[telemetry]\nendpoint = "http://{HOST}:{otlp}/v1/traces"\n'
        traced.write_text(traced.read_text() + table)
        sampled = _write_config(tmp, "tenth", up)
        sampled.write_text(sampled.read_text() + table + "sample_ratio = 0.1\n")
        servers = [
            _spawn(_uvicorn("bench.fast_http:fast_upstream", up)),
            _spawn(_uvicorn("bench.telemetry:sink", otlp)),
        ]
        hubs = {
            "sans [telemetry]": _spawn(hub_serve(plain, off)),
            "traces (100 %)": _spawn(hub_serve(traced, on), OTEL_BSP_SCHEDULE_DELAY="200"),
            "traces (10 %)": _spawn(hub_serve(sampled, tenth), OTEL_BSP_SCHEDULE_DELAY="200"),
        }
        try:
            for port in (up, off, on, tenth, otlp):
                await _wait_port(port)
            ports = dict(zip(hubs, (off, on, tenth), strict=True))
            targets = [
                Target(name, ports[name], "/chat/completions", "fast/chat", pid=proc.pid)
                for name, proc in hubs.items()
            ]
            results = await take_turns(targets, args.requests, args.rounds)
            hub_times = {name: await _hub_time(port) for name, port in ports.items()}
        finally:  # hubs first: on stop they export what they still hold
            for proc in hubs.values():
                proc.terminate()
            for proc in hubs.values():
                proc.wait(timeout=15)
            async with httpx2.AsyncClient() as http:
                exports, size = (await http.get(f"http://{HOST}:{otlp}/")).text.split()
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=15)
    errors = sum(s.errors for s in results.values())
    print(
        f"\n{args.rounds} tours × {args.requests} requêtes (×4 à c=32), non-stream, ms ; "
        f"erreurs HTTP : {errors} ; exports OTLP reçus : {exports} ({int(size) // 1024} Kio)\n"
    )
    print("| hub | c | p50 | p99 | req/s | CPU ms/req | ratio req/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for conc in (1, 32):
        base = results["sans [telemetry]", conc].rate
        for target in targets:
            s = results[target.label, conc]
            print(
                f"| {target.label} | {conc} | {s.p(0.5):.3f} | {s.p(0.99):.3f} | {s.rate:.0f} "
                f"| {s.cpu_ms:.3f} | {s.rate / base:.2f} |"
            )
    print("\nTemps propre du hub (/metrics, moyenne sur toutes les requêtes) :\n")
    print("| hub | requêtes | µs par requête |")
    print("| --- | ---: | ---: |")
    for name, (mean, count) in hub_times.items():
        print(f"| {name} | {count} | {mean:.0f} |")
    print(f"\nSans [telemetry], ce que chaque requête paie (en processus) : {_off_cost():.2f} µs")


def _off_cost(count: int = 200_000) -> float:
    """µs per request of the telemetry path when off: begin, set, end (hub time observed)."""
    telemetry = Telemetry(None, "bench")
    started = time.perf_counter()
    for _ in range(count):
        trace = telemetry.begin("chat", "chat", CHAT_SPAN, HEADERS)
        trace.rename("chat fast/chat")
        if trace.recording:
            raise AssertionError("tracing is off")
        trace.upstream += 0.0001
        trace.end(None, {"http.response.status_code": 200})
    return 1e6 * (time.perf_counter() - started) / count
