"""The first hour from a shell: ``scripts/kimi-proxy start`` without a key, busy port, logs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "kimi-proxy"
KIMI = Path(sys.executable).parent / "kimi-proxy"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-ZÉ]+ \S+ [:|] ")
CONFIG = """
[server]
port = {port}

[database]
path = "data/hub.db"

[providers.p]
base_url = "http://127.0.0.1:9/v1"
api_key = "${{KIMI_TEST_ABSENT_KEY}}"

[models."p/m"]
provider = "p"
model = "m"
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KIMI_TEST_ABSENT_KEY"}
    env["KIMI_PROXY_RUN_DIR"] = str(tmp_path / "run")
    env["KIMI_PROXY_VENV"] = str(Path(sys.executable).parents[1])
    return env


def test_start_relative_config_waits_on_its_port_without_key(tmp_path: Path) -> None:
    """From another directory, ``start --config config.toml`` without the provider's key."""
    port = free_port()
    caller = tmp_path / "elsewhere"
    caller.mkdir()
    (caller / "config.toml").write_text(CONFIG.format(port=port))
    env = _env(tmp_path)
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", "--config", "config.toml"], cwd=caller, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        assert f"Hub démarré : http://127.0.0.1:{port}" in started.stderr
        log = (tmp_path / "run" / "hub.log").read_text()
        assert "clé manquante" in log and "KIMI_TEST_ABSENT_KEY" in log
        assert "Application démarrée." in log  # uvicorn's lines in French
        lines = [line for line in log.splitlines() if line]
        assert lines and all(STAMP.match(line) for line in lines), log
        assert (caller / "data" / "hub.db").exists()  # the config's folder, not the repo's
        restarted = subprocess.run(
            [str(SCRIPT), "restart", "--config", "config.toml"], cwd=caller, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert restarted.returncode == 0, restarted.stderr
        previous = (tmp_path / "run" / "hub.log.1").read_text()
        assert previous.startswith(log.splitlines()[0])  # kept, not truncated
        assert "Arrêt en cours" in previous or "Application arrêtée." in previous
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=60)


def _script(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_restart_keeps_the_options_it_was_started_with(tmp_path: Path) -> None:
    """Issue #24: ``restart`` forgot ``--port`` / ``--config`` and came back elsewhere."""
    port, configured = free_port(), free_port()
    caller = tmp_path / "elsewhere"
    caller.mkdir()
    (caller / "config.toml").write_text(CONFIG.format(port=configured))
    env = _env(tmp_path)
    try:
        started = _script(["start", "--port", str(port), "--config", "config.toml"], caller, env)
        assert started.returncode == 0, started.stderr
        assert f"Hub démarré : http://127.0.0.1:{port}" in started.stderr
        restarted = _script(["restart"], tmp_path, env)  # another folder, no option
        assert restarted.returncode == 0, restarted.stderr
        assert f"Hub démarré : http://127.0.0.1:{port}" in restarted.stderr
        assert "options du dernier démarrage" in restarted.stderr
        assert (caller / "data" / "hub.db").exists()  # the same config, found from elsewhere
        again = _script(["restart", "--config", str(caller / "config.toml")], tmp_path, env)
        assert f"Hub démarré : http://127.0.0.1:{configured}" in again.stderr  # new options win
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=60)


def test_busy_port_is_a_french_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(CONFIG.format(port=port))
        result = subprocess.run(
            [str(KIMI), "serve", "--config", str(config)], env=_env(tmp_path),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"Le port {port} est déjà utilisé" in result.stderr
    assert "Traceback" not in result.stderr
    assert STAMP.match(result.stderr.splitlines()[0]), result.stderr


def test_script_start_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "config.toml").write_text(CONFIG.format(port=port))
        result = subprocess.run(
            [str(SCRIPT), "start", "--config", "config.toml"], cwd=tmp_path,
            env=_env(tmp_path), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 1
    assert "Échec du démarrage" in result.stderr and "déjà utilisé" in result.stderr
