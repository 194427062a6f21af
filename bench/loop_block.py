"""How long one big chat request blocks the hub's event loop.

    python scripts/bench.py loop_block [--messages N] [--tokens T]

The fake upstream runs in a child process (its JSON parsing must not count); the
hub and the client share this process's loop. A ticker sleeping 1 ms records the
largest gap between its wake-ups while the request goes through: that gap is the
longest stretch of synchronous work on the loop. Cold = first time the history is
seen (every content tokenised, hashed, masked); warm = the same history resent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2

from hub.api.app import create_app
from hub.config import load_config
from tests.support.servers import serve

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = (
    "import sys, uvicorn\n"
    "from tests.support.fake_upstream import FakeUpstream\n"
    "uvicorn.run(FakeUpstream().app(), host='127.0.0.1', port=int(sys.argv[1]),"
    " log_level='warning')\n"
)
CONFIG = """
[database]
path = "{db}"
[providers.fake]
base_url = "http://127.0.0.1:{port}/v1"
[models.big]
provider = "fake"
model = "echo"
max_context = {max_context}
[savings]
masking = {masking}
compaction = {compaction}
"""


def history(count: int, tokens: int) -> list[dict[str, object]]:
    """User asks, assistant replies and bulky tool outputs (JSON, tracebacks, logs)."""
    per = max(tokens // count, 10)
    messages: list[dict[str, object]] = [{"role": "system", "content": "Tu es un assistant."}]
    for i in range(count):
        kind = i % 4
        if kind == 0:
            content = f"Question {i} : " + " ".join(f"mot{j}" for j in range(per // 2))
            messages.append({"role": "user", "content": content})
        elif kind == 1:
            rows = [{"id": j, "name": f"item-{i}-{j}", "ok": j % 2 == 0} for j in range(per // 12)]
            messages.append({"role": "user", "content": json.dumps(rows)})
        elif kind == 2:
            frames = "\n".join(
                f'  File "/src/app/mod{j}.py", line {j}, in f{j}\n    call_{j}()'
                for j in range(per // 20)
            )
            content = f"Traceback (most recent call last):\n{frames}\nValueError: {i}"
            messages.append({"role": "assistant", "content": content})
        else:
            lines = (
                f"2026-11-25 12:00:{j % 60:02d} INFO step {i}.{j} ok" for j in range(per // 14)
            )
            log = "\n".join(lines)
            messages.append({"role": "user", "content": log})
    messages.append({"role": "user", "content": "Et maintenant ?"})
    return messages


async def ticker(gaps: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """(wall gap, CPU time of the loop thread in that gap): the CPU column ignores
    time spent waiting for a core or the GIL, so it is stable on a busy machine."""
    last, last_cpu = time.perf_counter(), time.thread_time()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now, cpu = time.perf_counter(), time.thread_time()
        gaps.append((now - last, cpu - last_cpu))
        last, last_cpu = now, cpu


async def one_request(client: httpx2.AsyncClient, body: bytes) -> tuple[float, float, float, int]:
    gaps: list[tuple[float, float]] = []
    stop = asyncio.Event()
    task = asyncio.create_task(ticker(gaps, stop))
    await asyncio.sleep(0.01)
    gaps.clear()
    started = time.perf_counter()
    response = await client.post(
        "/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.2)  # background writes (request row, session messages)
    stop.set()
    await task
    wall = max(g[0] for g in gaps) * 1000
    return elapsed * 1000, wall, max(g[1] for g in gaps) * 1000, response.status_code


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench loop_block")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=150_000)
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", UPSTREAM, str(args.port), cwd=ROOT
    )
    try:
        await asyncio.sleep(1.5)
        messages = history(args.messages, args.tokens)
        body_json = {"model": "big", "messages": messages}
        body = json.dumps(body_json).encode()
        print(f"{len(messages)} messages, {len(body) / 1e6:.2f} MB")
        print(
            f"{'cas (médiane de ' + str(args.repeat) + ')':<34} {'requête ms':>11}"
            f" {'blocage max ms':>15} {'CPU boucle max ms':>18} {'status':>7}"
        )
        cases = [
            ("masquage+compaction, 1M", "true", "true", 1_000_000),
            ("masquage+compaction, 100k", "true", "true", 100_000),
            ("tout désactivé", "false", "false", 1_000_000),
        ]
        for name, masking, compaction, max_context in cases:
            runs: dict[str, list[tuple[float, float, float, int]]] = {"froid": [], "chaud": []}
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "config.toml"
                    path.write_text(
                        CONFIG.format(
                            db=Path(tmp) / "hub.db",
                            port=args.port,
                            max_context=max_context,
                            masking=masking,
                            compaction=compaction,
                        )
                    )
                    async with serve(create_app(load_config(path, {}))) as url:
                        async with httpx2.AsyncClient(base_url=url, timeout=60) as client:
                            for label in ("froid", "chaud"):
                                runs[label].append(await one_request(client, body))
            for label, results in runs.items():
                total = statistics.median(r[0] for r in results)
                block = statistics.median(r[1] for r in results)
                cpu = statistics.median(r[2] for r in results)
                status = results[-1][3]
                print(
                    f"{name + ' ' + label:<34} {total:>11.1f} {block:>15.1f} {cpu:>18.1f}"
                    f" {status:>7}"
                )
    finally:
        child.terminate()
        await child.wait()
