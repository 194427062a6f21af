"""Instructions per proxied request, counted by callgrind: the hub against the bare relay.

    python scripts/bench.py instructions [--requests 400]

CPU time per request (``bench proxy``) moves by ±30 % between runs on 2 shared cores;
an instruction count does not (the same totals within 1 % run to run, whatever else the
machine does). Each server runs under ``valgrind --tool=callgrind`` with counting off;
after a warm-up, counting is switched on for exactly ``--requests`` requests (8
keep-alive connections) and off again. The upstream and the client run natively.

What it cannot see: cache misses and memory stalls (a full GC pass over 110 000 objects
is mostly those), so it complements ``bench proxy``'s /proc CPU time, it does not
replace it. The "hub, savings off" row is the same hub with ``[savings] masking`` and
``compaction`` off: what the savings pass costs a request that needs no rewriting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.fast_http import Connection, request_head
from bench.proxy import (
    HOST,
    ROOT,
    UPSTREAMS,
    _body,
    _free_port,
    _spawn,
    _wait_port,
    _write_config,
)

CONNECTIONS = 8
WARMUP = 100


@dataclass(frozen=True)
class Server:
    label: str
    args: list[str]
    path: str
    model: str
    env: dict[str, str]


async def _load(port: int, server: Server, stream: bool, total: int) -> int:
    """``total`` requests over ``CONNECTIONS`` connections; returns how many were not 200."""
    body = _body(server.model, stream)
    head = request_head(HOST, port, server.path, body)
    conns = [await Connection.open(HOST, port) for _ in range(CONNECTIONS)]
    failed = 0

    async def worker(conn: Connection, count: int) -> None:
        nonlocal failed
        for _ in range(count):
            status, _, _ = await conn.post(head, body)
            failed += status != 200

    share, extra = divmod(total, CONNECTIONS)
    try:
        await asyncio.gather(*(worker(c, share + (i < extra)) for i, c in enumerate(conns)))
    finally:
        for conn in conns:
            conn.close()
    return failed


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _valgrind(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _totals(out_dir: Path) -> int:
    """Instructions of every dump: only the counted window has any."""
    total = 0
    for path in out_dir.glob("callgrind.out*"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


# Python under valgrind starts tens of times slower; a loaded machine slows it further.
VALGRIND_START = 300.0


async def _measure(server: Server, port: int, stream: bool, requests: int, tmp: Path) -> float:
    """Millions of instructions per request of one server process."""
    out_dir = tmp / f"cg-{server.label}-{stream}".replace(" ", "_").replace(",", "")
    out_dir.mkdir()
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_dir}/callgrind.out",
        sys.executable,
        *server.args,
        "--port",
        str(port),
    ]
    proc = _valgrind(command, server.env)
    try:
        await _wait_port(port, VALGRIND_START)
        failed = await _load(port, server, stream, WARMUP)
        _control(proc.pid, "-i", "on")
        failed += await _load(port, server, stream, requests)
        _control(proc.pid, "-i", "off")
        _control(proc.pid, "-d")
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    if failed:
        raise RuntimeError(f"{server.label} : {failed} réponse(s) non 200")
    return _totals(out_dir) / requests / 1e6


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench instructions")
    parser.add_argument("--requests", type=int, default=400, help="requêtes comptées")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind est requis (apt install valgrind)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        up = _free_port()
        upstream = _spawn(
            [
                "-m",
                "uvicorn",
                UPSTREAMS["raw"],
                "--host",
                HOST,
                "--port",
                str(up),
                "--log-level",
                "warning",
                "--no-access-log",
            ]
        )
        config = _write_config(tmp, "hub", up)
        quiet = tmp / "hub-no-savings.toml"
        quiet.write_text(
            config.read_text().replace('"hub.db"', '"quiet.db"')
            + "[savings]\nmasking = false\ncompaction = false\n"
        )
        base = dict(os.environ)
        servers = [
            Server(
                "relais",
                [
                    "-m",
                    "uvicorn",
                    "--factory",
                    "bench.bare_relay:create",
                    "--host",
                    HOST,
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                "/chat/completions",
                "fast",
                {**base, "BENCH_UPSTREAM": f"http://{HOST}:{up}/v1"},
            ),
            Server(
                "hub",
                ["-m", "hub", "serve", "--config", str(config), "--log-level", "warning"],
                "/chat/completions",
                "fast/chat",
                base,
            ),
            Server(
                "hub, économies coupées",
                ["-m", "hub", "serve", "--config", str(quiet), "--log-level", "warning"],
                "/chat/completions",
                "fast/chat",
                base,
            ),
        ]
        try:
            await _wait_port(up)
            results: dict[tuple[str, bool], float] = {}
            for stream in (False, True):
                for server in servers:
                    results[server.label, stream] = await _measure(
                        server, _free_port(), stream, args.requests, tmp
                    )
        finally:
            upstream.terminate()
            upstream.wait(timeout=30)
    print(f"callgrind, {args.requests} requêtes comptées par mesure, {CONNECTIONS} connexions")
    print("\n| serveur | non-stream Mi/req | × relais | stream Mi/req | × relais |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for server in servers:
        cells = []
        for stream in (False, True):
            value = results[server.label, stream]
            cells += [f"{value:.3f}", f"{value / results['relais', stream]:.2f}"]
        print(f"| {server.label} | " + " | ".join(cells) + " |")
