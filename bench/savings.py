"""Context savings on real agent transcripts, replayed turn by turn through the running hub.

    python scripts/bench.py savings [--windows 131072,32768] [--only NAME] [--keep N] [--batch N]
                                    [--giant N]

For each transcript of ``../shared/agent-transcripts`` (``KIMI_AGENT_TRANSCRIPTS``
overrides it; see ``bench/transcripts.py``) and each window size, a new session sends
every request the agent made (the messages before each assistant message) to the hub
(uvicorn on loopback, default ``[savings]``), which forwards to a fake upstream that
records what it receives. Printed per transcript: tokens sent vs received (cumulative),
requests over the window and refused (400 ``context_length_exceeded``), effective input
cost with a prefix cache for hub vs no hub, kept-when-used retention, structure breaks
(turns where something that must go byte for byte did not, see ``violations``) and the
time the savings pass took per turn (p50, turns after the first). Then the same per
agent family, with its *floor* (``plancher``): the gain and cost if only the head and
the newest round were forwarded (what no rewrite that keeps them byte for byte can
beat), and the targets of issue #25.
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
    floor,
    folder,
    load,
    request_text,
    used_facts,
    violations,
)
from hub.api.app import create_app
from hub.config import SavingsConfig, load_config
from hub.core.jsontypes import JSON
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.summariser import text_of
from hub.services.savings.service import Rewrite
from tests.support.fake_upstream import FakeUpstream
from tests.support.servers import serve

BIG = 50_000
LARGE, SMALL = 131_072, 32_768
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
giant_output_tokens = {giant}

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
    family: str
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
    kept_in_contents: int = 0  # stricter: found in message contents, tool-call arguments aside
    kept_once: int = 0  # each fact counted once, at its first mention again
    used_once: int = 0
    floor_received: int = 0  # the head and the newest round only (``floor``): the bound
    cost_floor: float = 0.0
    pass_ms: list[float] = field(default_factory=list)
    broken: dict[str, int] = field(default_factory=dict)  # structure breaks by kind
    newest_unfit: int = 0  # newest round changed because it did not fit the window

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
    run = Run(transcript.name, transcript.family, counter.count_chat(messages), window)
    session = (await http.post("/api/sessions", json={})).json()["id"]
    used = used_facts(messages)
    once = used_facts(messages, once=True)
    previous_raw: list[JSON] = []
    previous_hub: list[JSON] = []
    previous_floor: list[JSON] = []
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
        least = floor(request)
        run.floor_received += counter.count_chat(least)
        run.cost_floor += _cost(previous_floor, least, counter)
        previous_floor = least
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
        for kind in violations(request, forwarded):
            if kind == "newest round" and _unfit(request, window, counter):
                run.newest_unfit += 1
            else:
                run.broken[kind] = run.broken.get(kind, 0) + 1
        if received > sent:
            run.broken["larger"] = run.broken.get("larger", 0) + 1
        wanted = used.get(end, set())
        if wanted:
            text = request_text(forwarded)
            run.used += len(wanted)
            run.kept += sum(1 for fact in wanted if fact in text)
            contents = "\n".join(text_of(m) for m in forwarded if isinstance(m, dict))
            run.kept_in_contents += sum(1 for fact in wanted if fact in contents)
            first = once.get(end, set())
            run.used_once += len(first)
            run.kept_once += sum(1 for fact in first if fact in text)
    return run


def _unfit(request: list[JSON], window: int, counter: TokenCounter) -> bool:
    """Everything before the first answer plus the newest round pass the window."""
    roles = [m.get("role") if isinstance(m, dict) else None for m in request]
    first = roles.index("assistant") if "assistant" in roles else len(request)
    last = len(roles) - 1 - roles[::-1].index("assistant") if "assistant" in roles else first
    return counter.count_chat(request[:first] + request[last:]) > window


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
    broken = sum(run.broken.values())
    return (
        f"{run.name[:44]:<45}{run.tokens:>8}{run.window:>8}{run.sent:>11}{run.received:>11}"
        f"{run.reduction:>7.1%}{run.over:>6}{run.refused:>6}{run.cost_ratio:>7.2f}"
        f"{run.retention:>8.1%} ({run.kept}/{run.used}){broken:>7}{run.newest_unfit:>5}"
        f"{p50:>8.2f}"
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def families(runs: list[Run], windows: list[int]) -> list[str]:
    """Per agent family and window: totals over its transcripts (and the worst one)."""
    lines = [
        f"\n{'famille':<11}{'fenêtre':>8}{'n':>3}{'gain':>7}{'méd>50k':>9}{'coût':>6}"
        f"{'pire':>6}{'hors':>6}{'refus':>6}{'conservé':>9}{'pire':>7}{'ruptures':>9}"
        f"{'plancher gain/coût':>20}"
    ]
    names = sorted({r.family for r in runs})
    for family in [*names, "tous"]:
        for window in windows:
            group = [r for r in runs if r.window == window and family in (r.family, "tous")]
            if not group:
                continue
            big = [r.reduction for r in group if r.tokens > BIG]
            median = f"{statistics.median(big):.1%}" if big else "-"
            sent = sum(r.sent for r in group)
            lines.append(
                f"{family:<11}{window:>8}{len(group):>3}"
                f"{1 - _share(sum(r.received for r in group), sum(r.sent for r in group)):>7.1%}"
                f"{median:>9}"
                f"{sum(r.cost_hub for r in group) / sum(r.cost_raw for r in group):>6.2f}"
                f"{max(r.cost_ratio for r in group):>6.2f}{sum(r.over for r in group):>6}"
                f"{sum(r.refused for r in group):>6}"
                f"{_share(sum(r.kept for r in group), sum(r.used for r in group)):>9.1%}"
                f"{min(r.retention for r in group):>7.1%}"
                f"{sum(sum(r.broken.values()) for r in group):>9}"
                f"{1 - _share(sum(r.floor_received for r in group), sent):>13.1%}"
                f"{sum(r.cost_floor for r in group) / sum(r.cost_raw for r in group):>7.2f}"
            )
    return lines


def _verdict(runs: list[Run], windows: list[int]) -> list[str]:
    """The targets of issue #25, met or not."""
    count = len({r.name for r in runs if r.tokens > BIG})
    lines = [f"\nCibles (transcripts de plus de {BIG} tokens : {count})"]
    big = [r.reduction for r in runs if r.tokens > BIG and r.window == LARGE]
    if big:
        lines.append(f"gain médian > 50k à {LARGE} : {statistics.median(big):.1%} (cible ≥ 50 %)")
    swea0 = [r for r in runs if r.family == "swea0" and r.window == SMALL]
    if swea0:
        gain = 1 - _share(sum(r.received for r in swea0), sum(r.sent for r in swea0))
        lines.append(f"gain swea0 à {SMALL} : {gain:.1%} (cible ≥ 35 %)")
    for window in windows:
        group = [r for r in runs if r.window == window]
        total = sum(r.cost_hub for r in group) / sum(r.cost_raw for r in group)
        worst = max(_families_cost(group).items(), key=lambda item: item[1])
        lines.append(
            f"coût à {window} : {total:.2f} × sans hub au total, pire famille {worst[0]} "
            f"{worst[1]:.2f} (cible ≤ 0,75) ; hors fenêtre {sum(r.over for r in group)} (cible 0)"
        )
    kept = sum(r.kept for r in runs)
    used = sum(r.used for r in runs)
    lowest = min(runs, key=lambda r: r.retention)
    lines.append(
        f"conservé quand réutilisé : {_share(kept, used):.1%} au total (cible ≥ 92 %), "
        f"minimum {lowest.retention:.1%} ({lowest.name}, {lowest.window}) (cible ≥ 85 %)"
    )
    harsh = min(runs, key=lambda r: _share(r.kept_once, r.used_once))
    lines.append(
        "  chaque fait compté une fois (sa première réutilisation) : "
        f"{_share(sum(r.kept_once for r in runs), sum(r.used_once for r in runs)):.1%} "
        f"au total, minimum {_share(harsh.kept_once, harsh.used_once):.1%} "
        f"({harsh.name}, {harsh.window})"
    )
    strict = min(runs, key=lambda r: _share(r.kept_in_contents, r.used))
    lines.append(
        "  sans compter les arguments des appels d'outil : "
        f"{_share(sum(r.kept_in_contents for r in runs), used):.1%} au total, minimum "
        f"{_share(strict.kept_in_contents, strict.used):.1%} ({strict.name}, {strict.window})"
    )
    broken: dict[str, int] = {}
    for run in runs:
        for kind, count in run.broken.items():
            broken[kind] = broken.get(kind, 0) + count
    unfit = sum(r.newest_unfit for r in runs)
    lines.append(
        f"ruptures de structure : {broken or 0} (cible 0) ; dernier tour réduit faute de "
        f"place : {unfit}"
    )
    passes = [ms for r in runs for ms in r.pass_ms]
    large = [ms for r in runs if r.tokens > 80_000 for ms in r.pass_ms[-20:]]
    if passes:
        lines.append(
            f"passe d'économies par tour (après le 1er) : p50 {statistics.median(passes):.2f} ms, "
            f"p50 sur les 20 derniers tours des transcripts > 80k : "
            f"{statistics.median(large) if large else 0:.2f} ms"
        )
    return lines


def _families_cost(group: list[Run]) -> dict[str, float]:
    hub: dict[str, float] = {}
    raw: dict[str, float] = {}
    for run in group:
        hub[run.family] = hub.get(run.family, 0.0) + run.cost_hub
        raw[run.family] = raw.get(run.family, 0.0) + run.cost_raw
    return {family: hub[family] / raw[family] for family in hub if raw[family]}


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench savings")
    parser.add_argument("--windows", default="131072,32768")
    parser.add_argument("--only", default="")
    parser.add_argument("--keep", type=int, default=SavingsConfig().keep_recent_rounds)
    parser.add_argument("--batch", type=int, default=SavingsConfig().rewrite_batch_rounds)
    parser.add_argument("--giant", type=int, default=SavingsConfig().giant_output_tokens)
    args = parser.parse_args(argv)
    windows = [int(w) for w in args.windows.split(",")]
    transcripts = [t for t in load() if args.only in t.name]
    if not transcripts:
        raise SystemExit(f"aucun transcript dans {folder()} (variable KIMI_AGENT_TRANSCRIPTS)")
    counter = TokenCounter(load_encoding())
    fake = FakeUpstream()
    timings: list[float] = []
    print(f"machine : {platform.machine()}, {platform.python_version()}, transcripts : {folder()}")
    print(
        f"keep_recent_rounds = {args.keep}, rewrite_batch_rounds = {args.batch}, "
        f"giant_output_tokens = {args.giant}"
    )
    print(
        f"{'transcript':<45}{'tokens':>8}{'fenêtre':>8}{'envoyés':>11}{'reçus':>11}{'gain':>7}"
        f"{'hors':>6}{'refus':>6}{'coût':>7}{'conservé':>8}{'rupt.':>16}{'réd.':>5}{'ms p50':>8}"
    )
    runs: list[Run] = []
    started = time.perf_counter()
    async with serve(fake.app()) as upstream:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "config.toml"
            path.write_text(
                CONFIG.format(upstream=upstream, keep=args.keep, batch=args.batch, giant=args.giant)
            )
            app = create_app(load_config(path, {}))
            async with serve(app) as url, httpx2.AsyncClient(base_url=url, timeout=120) as http:
                _timed(app, timings)
                for transcript in transcripts:
                    for window in windows:
                        run = await replay(http, fake, timings, transcript, window, counter)
                        runs.append(run)
                        print(_row(run), flush=True)
    for line in [*families(runs, windows), *_verdict(runs, windows)]:
        print(line)
    print(f"durée : {time.perf_counter() - started:.0f} s")
