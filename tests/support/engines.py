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
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.ports import free_port

PG_USER = "postgres"


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


class Postgres:
    """A throwaway cluster (trust auth, loopback only) that can be stopped and restarted."""

    def __init__(self) -> None:
        bindir = postgres_bin()
        assert bindir is not None
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="kimi-pg-"))
        os.chmod(self.root, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER)
        self.data, self.log, self.port = self.root / "data", self.root / "pg.log", free_port()
        subprocess.run(
            _as_pg_user([str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]),
            check=True, capture_output=True,
        )  # fmt: skip

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_pg_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]),
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c max_connections=200"
        self._pg_ctl("-l", str(self.log), "-o", options, "-w", "start")
        _wait_for_port(self.port, "PostgreSQL", self.log)

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_postgres() -> Iterator[Postgres]:
    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped by the test
            server.stop()
        server.remove()


class Redis:
    """A Redis server without persistence, in its own folder; stoppable, restartable."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kimi-redis-"))
        self.port, self.log = free_port(), self.root / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.root), "--save", "", "--appendonly", "no", "--logfile", str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_for_port(self.port, "Redis", self.log)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def running_redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
