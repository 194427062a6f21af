import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.config import ConfigError, load_config, parse_config, with_bind

SRC = Path("/tmp/kimi/config.toml")
BASE = """
[providers.p]
base_url = "http://127.0.0.1:1/v1"
api_key = "${KEY}"

[models."p/m"]
provider = "p"
model = "m"
max_context = 1000
"""


def test_expands_variables_and_defaults() -> None:
    config = parse_config(BASE + '[mcp]\nworkspace = "${WS:-/tmp}"\n', SRC, {"KEY": "secret"})
    assert config.providers["p"].api_key == "secret"
    assert config.mcp.workspace == Path("/tmp")
    assert config.models["p/m"].max_context == 1000
    assert config.database_path == SRC.parent / "data/sessions.db"


def test_environment_value_cannot_inject_toml() -> None:
    config = parse_config(BASE, SRC, {"KEY": 'x"\n[server]\nport = 1'})
    assert config.providers["p"].api_key == 'x"\n[server]\nport = 1'
    assert config.server.port == 8000


@pytest.mark.parametrize(
    ("text", "env", "fragment"),
    [
        (BASE + '[providers.q]\nbase_url = "${NOPE}"\n', {"KEY": "k"}, "providers.q.base_url"),
        (BASE + "[server]\nprot = 1\n", {"KEY": "k"}, "server.prot"),
        (BASE + '[server]\nport = "80"\n', {"KEY": "k"}, "server.port"),
        (BASE + "[server]\nport = true\n", {"KEY": "k"}, "server.port"),
        (BASE + "[sessions]\nthresholds = [1.5]\n", {"KEY": "k"}, "sessions.thresholds"),
        (BASE + '[models.x]\nprovider = "nope"\n', {"KEY": "k"}, "models.x.provider"),
        (BASE + '[server]\nhost = "0.0.0.0"\n', {"KEY": "k"}, "server.api_key"),
        ("[[broken", {}, "TOML invalide"),
        (BASE + "[unknown]\n", {"KEY": "k"}, "unknown"),
        (BASE + '[providers.q]\ntype = "grpc"\nbase_url = "x"\n', {"KEY": "k"}, "providers.q.type"),
        (BASE + '[mcp.servers.s]\nargs = ["a"]\n', {"KEY": "k"}, "mcp.servers.s.command"),
    ],
)
def test_errors_name_the_file_and_key_in_french(
    text: str, env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SRC, env)
    message = str(caught.value)
    assert str(SRC) in message
    assert fragment in message


def test_unset_provider_key_is_marked_not_fatal() -> None:
    config = parse_config(BASE, SRC, {})
    assert config.providers["p"].missing_key == "KEY"
    assert config.providers["p"].api_key is None
    keyed = parse_config(BASE, SRC, {"KEY": "k"})
    assert keyed.providers["p"].missing_key is None and keyed.providers["p"].api_key == "k"
    defaulted = parse_config(BASE.replace("${KEY}", "${KEY:-}"), SRC, {})
    assert defaulted.providers["p"].missing_key is None  # an explicit empty default: no key


def test_logging_section() -> None:
    config = parse_config(BASE + "[logging]\nstore_bodies = true\nbody_retention = 5\n", SRC, {})
    assert (config.logging.store_bodies, config.logging.body_retention) == (True, 5)
    assert parse_config(BASE, SRC, {}).logging.store_bodies is False
    with pytest.raises(ConfigError, match=r"logging\.body_retention"):
        parse_config(BASE + "[logging]\nbody_retention = 0\n", SRC, {})


def test_disabled_provider_may_reference_unset_variable() -> None:
    text = BASE + '[providers.off]\nenabled = false\nbase_url = "${NOPE}"\napi_key = "${NOPE}"\n'
    config = parse_config(text, SRC, {"KEY": "k"})
    assert config.providers["off"].enabled is False


def test_server_api_key_with_unset_variable_stops_start_up() -> None:
    """Issue #10 finding 15: no silent start without authentication."""
    with pytest.raises(ConfigError, match="variable d'environnement HUB_KEY n'est pas définie"):
        parse_config(BASE + '[server]\napi_key = "${HUB_KEY}"\n', SRC, {"KEY": "k"})


def test_server_api_key_may_be_explicitly_empty_on_loopback() -> None:
    for value in ('"${HUB_KEY:-}"', '""'):
        config = parse_config(BASE + f"[server]\napi_key = {value}\n", SRC, {"KEY": "k"})
        assert config.server.api_key is None


def test_bound_address_carries_the_key_rule() -> None:
    """Issue #10 finding 1: ``--host`` overrides the file, the rule follows it."""
    config = parse_config(BASE, SRC, {"KEY": "k"})
    assert with_bind(config, "::1", 9).server.port == 9
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(ConfigError, match=r"server\.api_key"):
            with_bind(config, host, None)
    keyed = parse_config(BASE + '[server]\napi_key = "k"\n', SRC, {"KEY": "k"})
    assert with_bind(keyed, "0.0.0.0", None).server.host == "0.0.0.0"


def test_serve_and_start_refuse_a_public_host_without_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(BASE.replace("${KEY}", "k"))
    root = Path(__file__).parents[2]
    env = {**os.environ, "KIMI_PROXY_VENV": str(Path(sys.executable).parents[1])}
    options = ["--config", str(config), "--host", "0.0.0.0"]
    commands = [
        [sys.executable, "-m", "hub", "serve", *options],
        [str(root / "scripts" / "kimi-proxy"), "start", *options],
    ]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "server.api_key" in done.stderr and "0.0.0.0" in done.stderr


def test_missing_file_is_a_french_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lecture impossible"):
        load_config(tmp_path / "absent.toml", {})


def test_shipped_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "config.toml", {"KIMI_API_KEY": "k"})
    assert "kimi-code/kimi-for-coding" in config.models
