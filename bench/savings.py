"""Context savings on real agent transcripts, replayed turn by turn through the running hub.

    python scripts/bench.py savings [--windows 131072,32768] [--only NAME] [--keep N] [--batch N]

For each transcript of ``../shared/agent-transcripts`` (``KIMI_AGENT_TRANSCRIPTS``
overrides it; see ``bench/transcripts.py``) and each window size, a new session sends
every request the agent made (the messages before each assistant message) to the hub
(uvicorn on loopback, default ``[savings]``), which forwards to a fake upstream that
records what it receives. Printed per transcript: tokens sent vs received (cumulative),
requests over the window and refused (400 ``context_length_exceeded``), effective input
cost with a prefix cache for hub vs no hub, kept-when-used retention, and the time the
savings pass took per turn (p50, turns after the first).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from bench.transcripts import (
    CACHED_PRICE,
    Transcript,
    cached_tokens,
    folder,
    load,
    request_text,
    used_facts,
)
from hub.api.app import create_app
from hub.config import SavingsConfig, load_config
from hub.core.jsontypes import JSON
from hub.core.tokens import TokenCounter, load_encoding
from hub.services.savings.service import Rewrite
from tests.support.fake_upstream import FakeUpstream
from tests.support.servers import serve

BIG = 50_000
CONFIG = """
[server]
max_body_bytes = 67108864

[database]
path = "bench.db"

[providers.fake]
base_url = "{upstream}/v1"

[savings]
keep_recent_rounds = {keep}
rewrite_batch_rounds = {batch}

[models."bench/131072"]
provider = "fake"
model = "echo"
max_context = 131072

[models."bench/32768"]
provider = "fake"
model = "echo"
max_context = 32768
"""


@dataclass
class Run:
    name: str
    tokens: int
    window: int
    sent: int = 0
    received: int = 0
    over: int = 0
    refused: int = 0
    cost_hub: float = 0.0
    cost_raw: float = 0.0
    kept: int = 0
    used: int = 0
    pass_ms: list[float] = field(default_factory=list)

    @property
    def reduction(self) -> float:
        return 1 - self.received / self.sent if self.sent else 0.0

    @property
    def cost_ratio(self) -> float:
        return self.cost_hub / self.cost_raw if self.cost_raw else 1.0

    @property
    def retention(self) -> float:
        return self.kept / self.used if self.used else 1.0


def _cost(previous: list[JSON], current: list[JSON], counter: TokenCounter) -> float:
    total = counter.count_chat(current)
    cached = cached_tokens(previous, current, counter) if previous else 0
    return CACHED_PRICE * cached + (total - cached)


async def replay(
    http: httpx2.AsyncClient,
    fake: FakeUpstream,
    timings: list[float],
    transcript: Transcript,
    window: int,
    counter: TokenCounter,
) -> Run:
    messages = transcript.messages
    run = Run(transcript.name, counter.count_chat(messages), window)
    session = (await http.post("/api/sessions", json={})).json()["id"]
    used = used_facts(messages)
    previous_raw: list[JSON] = []
    previous_hub: list[JSON] = []
    for end, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        request = messages[:end]
        body = {"model": f"bench/{window}", "messages": request}
        timings.clear()
        reply = await http.post(
            "/chat/completions", json=body, headers={"X-Kimi-Session": str(session)}
        )
        sent = counter.count_chat(request)
        run.sent += sent
        run.cost_raw += _cost(previous_raw, request, counter)
        previous_raw = request
        if reply.status_code == 400 and "context_length_exceeded" in reply.text:
            run.refused += 1
            continue
        reply.raise_for_status()
        forwarded: list[JSON] = fake.received.pop()["messages"]
        fake.received.clear()
        if timings and previous_hub:
            run.pass_ms.append(timings[-1])
        received = counter.count_chat(forwarded)
        run.received += received
        run.over += received > window
        run.cost_hub += _cost(previous_hub, forwarded, counter)
        previous_hub = forwarded
        wanted = used.get(end, set())
        if wanted:
            text = request_text(forwarded)
            run.used += len(wanted)
            run.kept += sum(1 for fact in wanted if fact in text)
    return run


def _timed(app: object, timings: list[float]) -> None:
    """Wrap the savings pass to time it (what the hub adds before the upstream call)."""
    savings = app.state.hub.savings  # type: ignore[attr-defined]
    original = savings.rewrite

    async def rewrite(*args: object, **kwargs: object) -> Rewrite:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            timings.append((time.perf_counter() - started) * 1000)

    savings.rewrite = rewrite  # type: ignore[method-assign]


def _row(run: Run) -> str:
    p50 = statistics.median(run.pass_ms) if run.pass_ms else 0.0
    return (
        f"{run.name[:44]:<45}{run.tokens:>8}{run.window:>8}{run.sent:>11}{run.received:>11}"
        f"{run.reduction:>7.1%}{run.over:>6}{run.refused:>6}{run.cost_ratio:>7.2f}"
        f"{run.retention:>8.1%} ({run.kept}/{run.used}){p50:>8.2f}"
    )


def _verdict(runs: list[Run], windows: list[int]) -> list[str]:
    big = [r for r in runs if r.tokens > BIG]
    lines = [f"\nTranscripts de plus de {BIG} tokens : {len({r.name for r in big})}"]
    for window in windows:
        group = [r for r in big if r.window == window]
        if not group:
            continue
        median = statistics.median(r.reduction for r in group)
        worst = max(r.cost_ratio for r in group)
        over = sum(r.over for r in group)
        lines.append(
            f"fenêtre {window} : réduction médiane {median:.1%} (cible ≥ 50 % à 131072), "
            f"coût effectif max {worst:.2f} × sans hub (cible ≤ 0,75), "
            f"requêtes au-delà de la fenêtre {over} (cible 0), "
            f"refusées {sum(r.refused for r in group)}"
        )
    kept = sum(r.kept for r in big)
    used = sum(r.used for r in big)
    lowest = min((r.retention for r in big), default=1.0)
    lines.append(
        f"conservé quand réutilisé : {kept / used if used else 1:.1%} au total (cible ≥ 90 %), "
        f"minimum par transcript {lowest:.1%} (cible ≥ 80 %)"
    )
    passes = [ms for r in runs for ms in r.pass_ms]
    large = [ms for r in runs if r.tokens > 80_000 for ms in r.pass_ms[-20:]]
    if passes:
        lines.append(
            f"passe d'économies par tour (après le 1er) : p50 {statistics.median(passes):.2f} ms, "
            f"p50 sur les 20 derniers tours des transcripts > 80k : "
            f"{statistics.median(large) if large else 0:.2f} ms (cible ≤ 3 ms)"
        )
    return lines


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench savings")
    parser.add_argument("--windows", default="131072,32768")
    parser.add_argument("--only", default="")
    parser.add_argument("--keep", type=int, default=SavingsConfig().keep_recent_rounds)
    parser.add_argument("--batch", type=int, default=SavingsConfig().rewrite_batch_rounds)
    args = parser.parse_args(argv)
    windows = [int(w) for w in args.windows.split(",")]
    transcripts = [t for t in load() if args.only in t.name]
    if not transcripts:
        raise SystemExit(f"aucun transcript dans {folder()} (variable KIMI_AGENT_TRANSCRIPTS)")
    counter = TokenCounter(load_encoding())
    fake = FakeUpstream()
    timings: list[float] = []
    print(f"machine : {platform.machine()}, {platform.python_version()}, transcripts : {folder()}")
    print(f"keep_recent_rounds = {args.keep}, rewrite_batch_rounds = {args.batch}")
    print(
        f"{'transcript':<45}{'tokens':>8}{'fenêtre':>8}{'envoyés':>11}{'reçus':>11}{'gain':>7}"
        f"{'hors':>6}{'refus':>6}{'coût':>7}{'conservé':>8}{'ms p50':>16}"
    )
    runs: list[Run] = []
    started = time.perf_counter()
    async with serve(fake.app()) as upstream:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "config.toml"
            path.write_text(CONFIG.format(upstream=upstream, keep=args.keep, batch=args.batch))
            app = create_app(load_config(path, {}))
            async with serve(app) as url, httpx2.AsyncClient(base_url=url, timeout=120) as http:
                _timed(app, timings)
                for transcript in transcripts:
                    for window in windows:
                        run = await replay(http, fake, timings, transcript, window, counter)
                        runs.append(run)
                        print(_row(run), flush=True)
    for line in _verdict(runs, windows):
        print(line)
    print(f"durée : {time.perf_counter() - started:.0f} s")
