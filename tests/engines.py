"""Real PostgreSQL 15 and Redis 7 from Debian's packages, on free ports in temporary folders.

PostgreSQL refuses to run as root: as root, its commands run as the ``postgres`` system
user (the Debian package creates it; created here when missing). No system service is
touched: each server lives in its own folder and dies with the test session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_USER = "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def missing_engines() -> str | None:
    """Why the engines cannot run here, or None. CI installs them (.ci/run)."""
    if postgres_bin() is None:
        return "PostgreSQL absent (paquet Debian « postgresql »)"
    if shutil.which("redis-server") is None:
        return "Redis absent (paquet Debian « redis-server »)"
    return None


def _as_pg_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_USER], check=True)
    return ["runuser", "-u", PG_USER, "--", *command]


def _wait_for_port(port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} ne répond pas sur le port {port} : {log.read_text()[-2000:]}")


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start a throwaway cluster; yields its admin URL (trust auth, loopback only)."""
    bindir = postgres_bin()
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="kimi-pg-"))
    os.chmod(root, 0o755)
    data, log, port = root / "data", root / "pg.log", free_port()
    if os.geteuid() == 0:
        shutil.chown(root, PG_USER)
    subprocess.run(
        _as_pg_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                     "--no-sync", "-E", "UTF8", "--locale=C"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                     "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, "PostgreSQL", log)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_redis() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="kimi-redis-"))
    port, log = free_port(), root / "redis.log"
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root),
         "--save", "", "--appendonly", "no", "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_port(port, "Redis", log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
