"""Team mode: one replica on SQLite vs one on PostgreSQL vs two behind nginx.

    python scripts/bench.py team [--requests N] [--rounds R] [--concurrency C]

Everything on loopback, from Debian's packages (``scripts/team-demo.sh`` starts
PostgreSQL, Redis, two replicas and nginx in a private folder): the raw ASGI upstream
of the proxy benchmark (``bench.fast_http``), a hub on SQLite, replica 1 of the team
reached directly (PostgreSQL, Redis), and nginx balancing both replicas. Phases alternate
round by round so a change in machine load hits every target. On 2 cores the client, the
upstream, PostgreSQL, Redis, nginx and the replicas share the CPU: two replicas cannot
double anything here; the table says what one more process and the network hops cost.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.proxy import (
    HOST,
    ROOT,
    Samples,
    Target,
    _free_port,
    _machine,
    _pct,
    _phase,
    _spawn,
    _uvicorn,
    hub_serve,
)
from bench.proxy import _wait_port as wait_port

DEMO = ROOT / "scripts" / "team-demo.sh"


def _demo_port() -> int:
    """A base port for team-demo.sh: it also uses base + 11, 12, 21 and 22."""
    for _ in range(100):
        base = _free_port()
        free = True
        for offset in (11, 12, 21, 22):
            with socket.socket() as sock:
                free = free and sock.connect_ex((HOST, base + offset)) != 0
        if free and base + 22 < 65536:
            return base
    raise RuntimeError("aucun bloc de ports libre")


def _config(tmp: Path, upstream: int) -> Path:
    path = tmp / "base.toml"
    path.write_text(
        f'[database]\npath = "{tmp}/solo.db"\n[mcp]\nworkspace = "{tmp}"\n'
        f'[providers.fast]\nbase_url = "http://{HOST}:{upstream}/v1"\n'
        f'[models."fast/chat"]\nprovider = "fast"\nmodel = "fast"\nmax_context = 128000\n'
    )
    return path


def _demo(action: str, tmp: Path, port: int, config: Path) -> None:
    env = {
        **os.environ,
        "KIMI_TEAM_DIR": str(tmp / "team"),
        "KIMI_TEAM_PORT": str(port),
        "KIMI_PROXY_VENV": sys.prefix,
    }
    args = [str(DEMO), action, *(["--config", str(config)] if action == "start" else [])]
    subprocess.run(args, env=env, check=True, cwd=ROOT)


def _table(results: dict[str, Samples], targets: list[Target]) -> list[str]:
    base = results[targets[0].label].rate
    lines = [
        "| cible | req/s | p50 ms | p99 ms | req/s ÷ SQLite | erreurs |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in targets:
        s = results[target.label]
        lines.append(
            f"| {target.label} | {s.rate:.0f} | {_pct(s.total, 0.5):.2f} "
            f"| {_pct(s.total, 0.99):.2f} | {s.rate / base:.2f} | {s.errors} |"
        )
    return lines


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench team")
    parser.add_argument("--requests", type=int, default=1000, help="par phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    print(_machine())
    up_port, solo_port, nginx_port = _free_port(), _free_port(), _demo_port()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)  # PostgreSQL runs as its own user inside
        config = _config(tmp, up_port)
        upstream = _uvicorn("bench.fast_http:fast_upstream", up_port)
        procs = [_spawn(upstream)]
        procs.append(_spawn(hub_serve(config, solo_port)))
        try:
            _demo("start", tmp, nginx_port, config)
            for port in (up_port, solo_port):
                await wait_port(port)
            targets = [
                Target("1 réplique, SQLite", solo_port, "/chat/completions", "fast/chat"),
                Target(
                    "1 réplique, PostgreSQL + Redis",
                    nginx_port + 11,
                    "/chat/completions",
                    "fast/chat",
                ),
                Target("2 répliques derrière nginx", nginx_port, "/chat/completions", "fast/chat"),
            ]
            results = {t.label: Samples() for t in targets}
            for _ in range(args.rounds):
                for target in targets:
                    await _phase(
                        target, False, args.concurrency, args.requests, results[target.label]
                    )
            print(
                f"\n{args.rounds} tours × {args.requests} requêtes non-stream par cible, "
                f"c={args.concurrency}\n"
            )
            print("\n".join(_table(results, targets)))
        finally:
            _demo("stop", tmp, nginx_port, config)
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=10)
