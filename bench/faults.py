"""Fault injection under load: kill -9, SIGTERM, a full disk. Answered requests vs rows.

    python scripts/bench.py faults [--requests N] [--concurrency C]

Each scenario starts a hub (``python -m hub serve``) against ``bench.starlette_upstream``
(model ``slow``: answers take ~0.4 s, so requests are in flight when the fault hits),
sends a mix of streamed and plain requests, injects the fault, restarts the hub if it
died, and counts: requests answered in full (200 and, for streams, ``[DONE]``), rows
stored by status. Target: every answered request has a row (``ok``), the others end as
``interrupted`` / ``cancelled`` / ``error`` rows, or were refused with a 503 before any
upstream call. The full disk is a 4 MiB tmpfs (needs root; skipped otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.fast_http import Connection, request_head
from bench.proxy import HOST, MESSAGES, _free_port, _spawn, _uvicorn, _wait_port, hub_serve

ROOT = Path(__file__).resolve().parent.parent


def _config(tmp: Path, database: Path, upstream: int) -> Path:
    path = tmp / "faults.toml"
    path.write_text(
        f'[server]\nshutdown_timeout = 1\n[database]\npath = "{database}"\n'
        f'[mcp]\nworkspace = "{tmp}"\n[providers.up]\nbase_url = "http://{HOST}:{upstream}/v1"\n'
        '[models.slow]\nprovider = "up"\nmodel = "slow"\n'
    )
    return path


def _hub(config: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *hub_serve(config, port, "error")],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )


async def _load(port: int, count: int, conc: int, answers: Counter[str]) -> None:
    remaining = iter(range(count))

    async def worker(index: int) -> None:
        stream = index % 2 == 0
        body = json.dumps({"model": "slow", "messages": MESSAGES, "stream": stream}).encode()
        head = request_head(HOST, port, "/chat/completions", body)
        for _ in remaining:
            try:
                conn = await Connection.open(HOST, port)
                status, _, _ = await conn.post(head, body)
                conn.close()
            except (OSError, asyncio.IncompleteReadError, ValueError):
                answers["coupées"] += 1
                await asyncio.sleep(0.05)
                continue
            answers["200" if status == 200 else str(status)] += 1

    await asyncio.gather(*(worker(i) for i in range(conc)))


def _rows(port: int) -> Counter[str]:
    import urllib.request

    with urllib.request.urlopen(f"http://{HOST}:{port}/api/export/json", timeout=30) as reply:
        rows = json.loads(reply.read())["requests"]
    return Counter(str(r["status"]) for r in rows)


async def _healthy(port: int) -> None:
    import urllib.error
    import urllib.request

    def status() -> int:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=5) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    for _ in range(300):
        if await asyncio.to_thread(status) == 200:
            return
        await asyncio.sleep(0.1)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 64, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


async def _scenario(name: str, tmp: Path, upstream: int, args: argparse.Namespace) -> str:
    disk = tmp / name
    disk.mkdir()
    if name == "disque plein":
        if os.geteuid() != 0 or shutil.which("mount") is None:
            return f"| {name} | non mesuré : monter un tmpfs demande root | | | |"
        mount = ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)]
        await asyncio.to_thread(subprocess.run, mount, check=True)
    port = _free_port()
    config = _config(tmp, disk / "hub.db", upstream)
    hub = _hub(config, port)
    answers: Counter[str] = Counter()
    try:
        await _wait_port(port)
        load = asyncio.create_task(_load(port, args.requests, args.concurrency, answers))
        await asyncio.sleep(1.5)
        if name == "kill -9":
            hub.send_signal(signal.SIGKILL)
        elif name == "SIGTERM":
            hub.send_signal(signal.SIGTERM)
        else:
            filler = _fill(disk)
            await asyncio.sleep(1.5)
            filler.unlink()
        if name != "disque plein":
            await asyncio.to_thread(hub.wait, 60)
            await load  # the rest of the load fails fast: nothing listens
            hub = _hub(config, port)
            await _wait_port(port)
        else:
            await load
            await _healthy(port)  # the writer retries with backoff (≤ 5 s) once space is back
        rows = await asyncio.to_thread(_rows, port)
    finally:
        hub.terminate()
        await asyncio.to_thread(hub.wait, 60)
        if name == "disque plein":
            await asyncio.to_thread(subprocess.run, ["umount", "-l", str(disk)], check=False)
    answered = answers["200"]
    missing = max(0, answered - rows["ok"] - rows["interrupted"])
    detail = ", ".join(f"{k} : {v}" for k, v in sorted(rows.items()))
    other = ", ".join(f"{k} : {v}" for k, v in sorted(answers.items()) if k != "200")
    return f"| {name} | {answered} | {other or '—'} | {detail} | {missing} |"


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench faults")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", choices=["kill -9", "SIGTERM", "disque plein"])
    args = parser.parse_args(argv)
    up = _free_port()
    upstream = _spawn(_uvicorn("bench.starlette_upstream:app", up))
    lines = [
        "| panne | réponses complètes (200) | autres réponses | lignes stockées par statut "
        "| répondues sans ligne (ni ok ni interrupted) |",
        "| --- | ---: | --- | --- | ---: |",
    ]
    try:
        await _wait_port(up)
        with tempfile.TemporaryDirectory() as tmp_name:
            for name in [args.only] if args.only else ["kill -9", "SIGTERM", "disque plein"]:
                lines.append(await _scenario(name, Path(tmp_name), up, args))
                print(lines[-1], flush=True)
    finally:
        upstream.terminate()
        upstream.wait(timeout=30)
    print(f"\n{args.requests} requêtes, concurrence {args.concurrency}, moitié en flux\n")
    print("\n".join(lines))
