"""Concurrent load through wrk (Debian's ``wrk``): a C client that leaves the cores to servers.

The Python client of ``bench.fast_http`` costs about as much CPU per request as the
upstream it measures; at c=32 on 2 shared cores it caps what it measures. wrk gives the
throughput phases (req/s, p50/p99 of whole responses) at a fraction of that cost; it does
not report time to first byte, so streams' TTFB is measured at c=1 only.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers plus socket errors


def available() -> bool:
    return shutil.which("wrk") is not None


def _script(body: bytes, token: str) -> str:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def _latency(text: str, percent: str) -> float:
    match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk : percentile {percent} % absent de la sortie\n{text}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(text: str) -> WrkResult:
    """wrk's ``--latency`` report: counts, duration, percentiles, errors."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s)", text)
    if done is None:
        raise RuntimeError(f"wrk : sortie inattendue\n{text}")
    seconds = float(done.group(2)) * UNITS[done.group(3)] / 1000
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if socket is not None:
        errors += sum(int(n) for n in socket.groups())
    return WrkResult(
        int(done.group(1)), seconds, _latency(text, "50"), _latency(text, "99"), errors
    )


async def run(url: str, body: bytes, conc: int, seconds: float, token: str = "") -> WrkResult:
    """One wrk thread (the other core is the servers'), ``conc`` keep-alive connections."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(_script(body, token))
        proc = await asyncio.create_subprocess_exec(
            "wrk",
            "-t1",
            f"-c{conc}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk a échoué ({proc.returncode}) : {out.decode(errors='replace')}")
    return parse(out.decode())
