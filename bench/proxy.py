"""Proxy hop: direct vs a bare relay vs the hub, on two upstreams, in one run (issue #11).

    python scripts/bench.py proxy [--requests N] [--rounds R] [--only raw|starlette]

Processes on loopback, per upstream: the upstream (``bench.fast_http`` raw ASGI, tens of
thousands of req/s; or ``bench.starlette_upstream``, an ordinary Starlette app), a bare
relay (``bench.bare_relay``: Starlette + httpx2 API + ``AiohttpTransport``, the floor of
the hub's stack) and the hub (``python -m hub serve``, default settings). The load
generator (raw HTTP/1.1 keep-alive connections, ``bench.fast_http.Connection``) runs
here. Targets rotate round by round so a change in machine load hits all three. CPU per
request is read from ``/proc/PID/stat`` (user + system) around the c=32 phases. Ends
with a burst of 100 requests at concurrency 64 against a hub, checking its stored rows.
On 2 shared cores the client, upstream and proxy compete: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import wrk
from bench.fast_http import Connection, request_head

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MESSAGES = [
    {"role": "system", "content": "Tu es un assistant de programmation concis."},
    {"role": "user", "content": "Explique en une phrase ce que fait un proxy inverse HTTP."},
]
UPSTREAMS = {"raw": "bench.fast_http:fast_upstream", "starlette": "bench.starlette_upstream:app"}
WARMUP = 20
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    label: str
    port: int
    path: str
    model: str
    token: str = ""  # Authorization: Bearer (bench.keys)
    pid: int | None = None


@dataclass
class Samples:
    ttfb: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0
    errors: int = 0
    wrk_rounds: list[wrk.WrkResult] = field(default_factory=list)  # phases run through wrk
    round_rates: list[float] = field(default_factory=list)  # req/s of each round
    round_cpu: list[float] = field(default_factory=list)  # CPU ms per request of each round

    @property
    def count(self) -> int:
        return sum(r.requests for r in self.wrk_rounds) if self.wrk_rounds else len(self.total)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.count if self.count else 0.0

    def p(self, q: float, attr: str = "total") -> float:
        if self.wrk_rounds:  # wrk reports whole responses only; rounds averaged
            if attr == "ttfb":
                return float("nan")
            return sum(r.p50_ms if q == 0.5 else r.p99_ms for r in self.wrk_rounds) / len(
                self.wrk_rounds
            )
        return _pct(getattr(self, attr), q)


def _pct(values: list[float], q: float) -> float:
    """The q-quantile of ``values`` (used by bench.keys and bench.team too)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int | None) -> float:
    """utime + stime of a server process and its live children (granian's workers)."""
    if pid is None:
        return 0.0
    family, total = {pid}, 0.0
    for path in sorted(Path("/proc").glob("[0-9]*/stat"), key=lambda p: int(p.parent.name)):
        try:
            fields = _stat(int(path.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(path.parent.name) in family or int(fields[1]) in family:
            family.add(int(path.parent.name))
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def _body(model: str, stream: bool) -> bytes:
    payload: dict[str, object] = {"model": model, "messages": MESSAGES, "stream": stream}
    if stream:
        payload["stream_options"] = {"include_usage": True}
    return json.dumps(payload, ensure_ascii=False).encode()


async def _wait_port(port: int, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"rien n'écoute sur le port {port}")


async def _wrk_phase(
    target: Target, stream: bool, conc: int, seconds: float, into: Samples
) -> None:
    body = _body(target.model, stream)
    url = f"http://{HOST}:{target.port}{target.path}"
    await wrk.run(url, body, conc, 1.0, target.token)  # warm-up: connections, caches
    cpu = _cpu_seconds(target.pid)
    result = await wrk.run(url, body, conc, seconds, target.token)
    spent = _cpu_seconds(target.pid) - cpu
    into.cpu += spent
    into.seconds += result.seconds
    into.errors += result.errors
    into.wrk_rounds.append(result)
    into.round_rates.append(result.requests / result.seconds if result.seconds else 0.0)
    into.round_cpu.append(1000 * spent / result.requests if result.requests else 0.0)


async def _phase(target: Target, stream: bool, conc: int, count: int, into: Samples) -> None:
    body = _body(target.model, stream)
    head = request_head(HOST, target.port, target.path, body, target.token)
    conns = [await Connection.open(HOST, target.port) for _ in range(conc)]
    try:
        for conn in conns:
            for _ in range(WARMUP):
                await conn.post(head, body)
        remaining = iter(range(count))

        async def worker(conn: Connection) -> None:
            for _ in remaining:
                status, ttfb, total = await conn.post(head, body)
                into.errors += status != 200
                into.ttfb.append(ttfb * 1000)
                into.total.append(total * 1000)

        cpu = _cpu_seconds(target.pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(conn) for conn in conns))
        elapsed, spent = time.perf_counter() - started, _cpu_seconds(target.pid) - cpu
        into.seconds += elapsed
        into.cpu += spent
        into.round_rates.append(count / elapsed)
        into.round_cpu.append(1000 * spent / count)
    finally:
        for conn in conns:
            conn.close()


async def take_turns(
    targets: list[Target], requests: int, rounds: int
) -> dict[tuple[str, int], Samples]:
    """Non-streaming rounds at c=1, then at c=32 (×4 requests), the targets taking turns
    round by round so that the machine's drift weighs on all of them alike."""
    results = {(t.label, c): Samples() for t in targets for c in (1, 32)}
    for conc in (1, 32):
        for _ in range(rounds):
            for target in targets:
                count = requests * (4 if conc > 1 else 1)
                await _phase(target, False, conc, count, results[target.label, conc])
    return results


def _write_config(tmp: Path, name: str, upstream: int) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f'[database]\npath = "{name}.db"\n[mcp]\nworkspace = "{tmp}"\n'
        f'[providers.fast]\nbase_url = "http://{HOST}:{upstream}/v1"\n'
        f'[models."fast/chat"]\nprovider = "fast"\nmodel = "fast"\nmax_context = 128000\n'
    )
    return path


def _spawn(args: list[str], **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **env})


def hub_serve(config: Path | str, port: int, log_level: str = "warning") -> list[str]:
    """The arguments of ``python -m hub serve`` for one benchmark run."""
    return [
        "-m",
        "hub",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        "--log-level",
        log_level,
    ]


def _uvicorn(app: str, port: int, *extra: str) -> list[str]:
    return [
        "-m",
        "uvicorn",
        app,
        *extra,
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def _granian(app: str, port: int, *extra: str) -> list[str]:
    return [
        "-m",
        "granian",
        "--interface",
        "asgi",
        *extra,
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--log-level",
        "warning",
        "--no-ws",
        app,
    ]


def _servers(server: str, relay_port: int, hub_port: int, config: Path) -> list[list[str]]:
    """Relay and hub under the same ASGI server: the ratios compare the apps, not servers."""
    if server == "granian":
        return [
            _granian("bench.bare_relay:create", relay_port, "--factory"),
            _granian("hub.cli.main:app_from_env", hub_port, "--factory"),
        ]
    return [
        _uvicorn("bench.bare_relay:create", relay_port, "--factory"),
        hub_serve(config, hub_port),
    ]


def _machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = next(
        (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name:")),
        "?",
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine : {model}, {os.cpu_count()} cœurs partagés (amont, relais, hub, client), "
        f"Python {platform.python_version()}, charge moyenne {load}"
    )


def _table(name: str, res: dict[tuple[str, bool, int], Samples]) -> list[str]:
    lines = [
        f"\namont {name} — ms ; CPU = ms de processeur par requête (/proc, c=32)\n",
        "| mesure | c | direct p50/p99 | relais p50/p99 | hub p50/p99 | hub−direct p50 "
        "| hub−relais p50 | req/s direct/relais/hub | hub/relais | hub/direct "
        "| CPU relais/hub |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, stream, attr in (
        ("non-stream", False, "total"),
        ("stream TTFB", True, "ttfb"),
        ("stream total", True, "total"),
    ):
        for conc in (1, 32):
            if attr == "ttfb" and conc > 1:  # wrk times whole responses: TTFB at c=1 only
                continue
            d, r, h = (res[t, stream, conc] for t in ("direct", "relais", "hub"))
            cpu = f"{r.cpu_ms:.3f}/{h.cpu_ms:.3f}" if conc > 1 else ""
            lines.append(
                f"| {label} | {conc} | {d.p(0.5, attr):.2f}/{d.p(0.99, attr):.2f} "
                f"| {r.p(0.5, attr):.2f}/{r.p(0.99, attr):.2f} "
                f"| {h.p(0.5, attr):.2f}/{h.p(0.99, attr):.2f} "
                f"| {h.p(0.5, attr) - d.p(0.5, attr):+.2f} "
                f"| {h.p(0.5, attr) - r.p(0.5, attr):+.2f} "
                f"| {d.rate:.0f}/{r.rate:.0f}/{h.rate:.0f} | {h.rate / r.rate:.2f} "
                f"| {h.rate / d.rate:.2f} | {cpu} |"
            )
    return lines


def _targets(name: str, res: dict[tuple[str, bool, int], Samples]) -> list[str]:
    def check(label: str, ok: bool, value: str) -> str:
        return f"- [{'OK' if ok else 'RATÉ'}] {name} : {label} : {value}"

    out = []
    added = res["hub", False, 1].p(0.5) - res["direct", False, 1].p(0.5)
    out.append(check("p50 ajouté c=1 ≤ 1 ms", added <= 1.0, f"{added:+.2f} ms"))
    ttfb = res["hub", True, 1].p(0.5, "ttfb") - res["direct", True, 1].p(0.5, "ttfb")
    out.append(check("TTFB ajouté c=1 ≤ 1 ms", ttfb <= 1.0, f"{ttfb:+.2f} ms"))
    for stream in (False, True):
        kind = "stream" if stream else "non-stream"
        hub, relay = res["hub", stream, 32], res["relais", stream, 32]
        # Paired: hub and relay measured seconds apart in the same round, then the median
        # over rounds; the VM's core speed drifts ±30 % from one window to the next.
        ratio, spread = _paired(hub.round_rates, relay.round_rates)
        out.append(
            check(
                f"{kind} c=32 req/s hub ≥ 0,7 × relais",
                ratio >= 0.7,
                f"{ratio:.2f} (médiane par tour ; tours {spread})",
            )
        )
        cpu, spread = _paired(hub.round_cpu, relay.round_cpu)
        out.append(
            check(
                f"{kind} CPU/req hub ≤ 1,5 × relais",
                cpu <= 1.5,
                f"{cpu:.2f} (médiane par tour ; tours {spread})",
            )
        )
        if name == "starlette":
            direct = hub.rate / res["direct", stream, 32].rate
            out.append(check(f"{kind} c=32 hub ≥ 0,35 × direct", direct >= 0.35, f"{direct:.2f}"))
    return out


def _paired(hub: list[float], relay: list[float]) -> tuple[float, str]:
    """Median of the per-round ratios hub / relay, and their range."""
    ratios = sorted(h / r for h, r in zip(hub, relay, strict=True) if r)
    if not ratios:
        return 0.0, "—"
    return statistics.median(ratios), f"{ratios[0]:.2f}–{ratios[-1]:.2f}"


def _stats(port: int) -> int:
    with urllib.request.urlopen(f"http://{HOST}:{port}/api/stats", timeout=10) as reply:
        data = json.loads(reply.read())
    return int(data["totals"]["requests"])


async def _burst(hub: Target) -> str:
    before = await asyncio.to_thread(_stats, hub.port)
    samples = Samples()
    body = _body(hub.model, False)
    head = request_head(HOST, hub.port, hub.path, body)
    conns = [await Connection.open(HOST, hub.port) for _ in range(64)]
    remaining = iter(range(100))

    async def worker(conn: Connection) -> None:
        for _ in remaining:
            status, _, total = await conn.post(head, body)
            samples.errors += status != 200
            samples.total.append(total)

    await asyncio.gather(*(worker(c) for c in conns))
    for conn in conns:
        conn.close()
    rows = await asyncio.to_thread(_stats, hub.port) - before
    ok = samples.errors == 0 and rows == 100 and len(samples.total) == 100
    return (
        f"- [{'OK' if ok else 'RATÉ'}] rafale 100 requêtes à c=64 : {len(samples.total)} "
        f"réponses, {samples.errors} erreur(s), {rows} ligne(s) stockée(s)"
    )


async def _run_upstream(name: str, tmp: Path, args: argparse.Namespace) -> list[str]:
    up, relay_port, hub_port = _free_port(), _free_port(), _free_port()
    config = _write_config(tmp, f"hub-{name}", up)
    relay, hub = _servers(args.server, relay_port, hub_port, config)
    procs = [
        _spawn(_uvicorn(UPSTREAMS[name], up)),
        _spawn(relay, BENCH_UPSTREAM=f"http://{HOST}:{up}/v1"),
        _spawn(hub, KIMI_PROXY_CONFIG=str(config)),
    ]
    try:
        for port in (up, relay_port, hub_port):
            await _wait_port(port)
        targets = [
            Target("direct", up, "/v1/chat/completions", "fast", pid=procs[0].pid),
            Target("relais", relay_port, "/chat/completions", "fast", pid=procs[1].pid),
            Target("hub", hub_port, "/chat/completions", "fast/chat", pid=procs[2].pid),
        ]
        res = {(t.label, s, c): Samples() for t in targets for s in (False, True) for c in (1, 32)}
        for stream in (False, True):
            for conc in (1, 32):
                count = args.requests * (4 if conc > 1 else 1)
                for _ in range(args.rounds):
                    for target in targets:
                        into = res[target.label, stream, conc]
                        if conc > 1 and args.load == "wrk":
                            await _wrk_phase(target, stream, conc, args.seconds, into)
                        else:
                            await _phase(target, stream, conc, count, into)
        errors = sum(s.errors for s in res.values())
        lines = [*_table(name, res), f"\nerreurs HTTP : {errors}\n", *_targets(name, res)]
        if name == "raw":
            lines.append(await _burst(targets[2]))
        return lines
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=40)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench proxy")
    parser.add_argument("--requests", type=int, default=300, help="par phase à c=1 (×4 à c=32)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=sorted(UPSTREAMS))
    parser.add_argument(
        "--server",
        choices=["uvicorn", "granian"],
        default="uvicorn",
        help="serveur ASGI du relais et du hub",
    )
    parser.add_argument(
        "--load",
        choices=["wrk", "python"],
        default="wrk" if wrk.available() else "python",
        help="client des phases c=32 (wrk si installé)",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="durée d'une phase wrk")
    args = parser.parse_args(argv)
    print(_machine())
    print(f"serveur ASGI : {args.server} ; client à c=32 : {args.load}")
    print(f"{args.rounds} tours × {args.requests} requêtes (×4 à c=32) par cible et par mesure")
    with tempfile.TemporaryDirectory() as tmp_name:
        for name in [args.only] if args.only else list(UPSTREAMS):
            print("\n".join(await _run_upstream(name, Path(tmp_name), args)), flush=True)
