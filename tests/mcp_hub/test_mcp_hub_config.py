"""mcpServers JSON (Claude Desktop / Cursor): loading, `kimi-proxy mcp-import`, names."""

from __future__ import annotations

import json
from pathlib import Path

import mcp_types as types
import pytest

from hub.cli.main import main
from hub.config import ConfigError, McpConfig, McpServerConfig, load_config
from hub.features.mcp_hub.naming import accept_tools, server_name_problem, split_prefixed
from hub.features.mcp_hub.servers_json import MAX_FILE_BYTES, configured_servers, load_servers_json

DESKTOP = {
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_litteral_secret"},
        },
        "remote": {
            "url": "https://example.test/mcp",
            "headers": {"Authorization": "Bearer abc123"},
        },
        "ref": {"command": "tool", "env": {"KEY": "${ALREADY_A_VAR}"}},
        "off": {"command": "x", "disabled": True},
    }
}


def write(tmp_path: Path, data: object, name: str = "desktop.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_import_writes_toml_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, DESKTOP)
    config = tmp_path / "config.toml"
    config.write_text('[mcp]\nworkspace = "."\n')
    main(["mcp-import", str(source), "--config", str(config)])
    text = config.read_text()
    assert "ghp_litteral_secret" not in text and "abc123" not in text
    assert "GITHUB_PERSONAL_ACCESS_TOKEN" in capsys.readouterr().out
    env = {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "t",
        "MCP_REMOTE_AUTHORIZATION": "Bearer z",
        "ALREADY_A_VAR": "v",
    }
    servers = load_config(config, env).mcp.servers
    assert servers["github"].env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "t"}
    assert servers["github"].args == ("-y", "@modelcontextprotocol/server-github")
    assert servers["remote"].headers == {"Authorization": "Bearer z"}
    assert servers["ref"].env == {"KEY": "v"}
    assert servers["off"].enabled is False
    with pytest.raises(SystemExit) as info:  # a second import would clash: nothing written
        main(["mcp-import", str(source), "--config", str(config)])
    assert info.value.code == 2
    assert "déjà déclaré" in capsys.readouterr().err
    assert config.read_text() == text


def test_import_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    main(["mcp-import", str(write(tmp_path, DESKTOP)), "--config", str(config), "--dry-run"])
    assert not config.exists()
    assert "[mcp.servers.github]" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "mcpServers"),
        ({"mcpServers": []}, "mcpServers"),
        ({"servers": {}}, "mcpServers"),
        ({"mcpServers": {"a": "npx"}}, "objet"),
        ({"mcpServers": {"a": {}}}, "obligatoire"),
        ({"mcpServers": {"a": {"command": 1}}}, "chaîne"),
        ({"mcpServers": {"a": {"command": "x", "args": "-y"}}}, "liste"),
        ({"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}}, "objet de chaînes"),
    ],
)
def test_malformed_json_is_a_french_config_error(
    tmp_path: Path, data: object, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_servers_json(write(tmp_path, data), {})
    assert problem in str(info.value)


def test_unreadable_oversized_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lecture impossible"):
        load_servers_json(tmp_path / "absent.json", {})
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="trop volumineux"):
        load_servers_json(big, {})
    bad = tmp_path / "bad.json"
    bad.write_text("{" * 100_000)
    with pytest.raises(ConfigError, match="JSON invalide"):
        load_servers_json(bad, {})
    with pytest.raises(ConfigError, match="MISSING_VAR"):
        load_servers_json(write(tmp_path, {"mcpServers": {"a": {"url": "${MISSING_VAR}"}}}), {})


def test_servers_json_merges_and_toml_wins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = write(
        tmp_path, {"mcpServers": {"a": {"command": "from-json"}, "b": {"url": "http://h/${P}"}}}
    )
    mcp = McpConfig(
        servers={"a": McpServerConfig(name="a", command="from-toml")}, servers_json=source
    )
    servers = configured_servers(mcp, {"P": "mcp"})
    assert servers["a"].command == "from-toml"
    assert servers["b"].url == "http://h/mcp"
    assert "config.toml l'emporte" in caplog.text


@pytest.mark.parametrize("name", ["", "a__b", "a_b", "a b", "../x", "é", "a" * 49, "-x", "x\n"])
def test_invalid_server_names(name: str) -> None:
    assert server_name_problem(name)


def test_valid_names_and_split() -> None:
    assert server_name_problem("github-2") is None
    assert split_prefixed("github-2__create_issue") == ("github-2", "create_issue")
    assert split_prefixed("a__b__c") == ("a", "b__c")
    assert split_prefixed("nothing") is None


def test_allow_and_deny_lists() -> None:
    obj: dict[str, object] = {"type": "object"}
    tools = [types.Tool(name=n, input_schema=obj) for n in ("read", "write", "delete")]
    allow = McpServerConfig(
        name="s", command="x", tools_allow=("read", "write"), tools_deny=("write",)
    )
    accepted = accept_tools(allow, tools)
    assert [t.name for t in accepted.tools] == ["read"] and accepted.warnings == []
    bad = [
        types.Tool(name="t", input_schema={"type": "array"}),
        types.Tool(name="t2", input_schema=obj),
    ]
    accepted = accept_tools(McpServerConfig(name="s", command="x"), [*bad, bad[1]])
    assert [t.name for t in accepted.tools] == ["t2"]
    assert len(accepted.warnings) == 2


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ('[mcp.servers.a_b]\ncommand = "x"\n', "mcp.servers.a_b", "nom de serveur"),
        ('[mcp.servers."a b"]\ncommand = "x"\n', "mcp.servers.a b", "nom de serveur"),
        (
            '[mcp.servers.a]\ncommand = "x"\ntools.allow = ["re[ad"]\n',
            "mcp.servers.a.tools.allow",
            "motif",
        ),
        ('[mcp.profiles.p]\nservers = ["^a$"]\n', "mcp.profiles.p.servers", "motif"),
        ('[mcp.profiles.p]\ntools.deny = [""]\n', "mcp.profiles.p.tools.deny", "motif"),
        ('[mcp.profiles.p]\npinned = ["a b"]\n', "mcp.profiles.p.pinned", "motif"),
        ('[mcp.profiles.p]\nprefix = "jamais"\n', "mcp.profiles.p.prefix", "on_collision"),
        ('[mcp.profiles.p]\ndiscovery = "tout"\n', "mcp.profiles.p.discovery", "search"),
        ("[mcp.profiles.p]\nmax_result_tokens = 0\n", "mcp.profiles.p.max_result_tokens", "1"),
        ('[mcp.profiles.p]\ncolour = "x"\n', "mcp.profiles.p.colour", "clé inconnue"),
        (
            '[mcp.servers.a]\ncommand = "x"\nisolation = "par-client"\n',
            "mcp.servers.a.isolation",
            "per-client",
        ),
        (
            '[mcp.servers.a]\ncommand = "x"\nmax_clients = 0\n',
            "mcp.servers.a.max_clients",
            "supérieur ou égal à 1",
        ),
        (
            '[mcp.servers.a]\ncommand = "x"\nidle_timeout = "1h"\n',
            "mcp.servers.a.idle_timeout",
            "nombre",
        ),
        ('[mcp.profiles."p_q"]\n', "mcp.profiles.p_q", "nom de profil"),
    ],
)
def test_check_config_rejects_bad_names_and_patterns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, key: str, problem: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml)
    with pytest.raises(SystemExit) as info:
        main(["check-config", "--config", str(config)])
    assert info.value.code == 2
    error = capsys.readouterr().err
    assert f"« {key} »" in error and problem in error and "Erreur de configuration" in error


def test_check_config_accepts_profiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[mcp.servers.files]\ncommand = "x"\nmax_result_tokens = 2000\n'
        '[mcp.profiles.code]\nservers = ["fil?s"]\ntools.allow = ["files__read_*"]\n'
        'prefix = "on_collision"\ndiscovery = "search"\npinned = ["files__read_text_file"]\n'
    )
    main(["check-config", "--config", str(config)])
    assert "profils MCP : code" in capsys.readouterr().out
    profile = load_config(config, {}).mcp.profiles["code"]
    assert profile.servers == ("fil?s",) and profile.discovery == "search"


def test_import_rejects_bad_names_keeps_plain_env_and_keeps_sse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    bad = write(tmp_path, {"mcpServers": {"my_server": {"command": "x"}}}, "bad.json")
    with pytest.raises(SystemExit):
        main(["mcp-import", str(bad), "--config", str(config)])
    assert "« mcpServers.my_server »" in capsys.readouterr().err and not config.exists()
    source = write(tmp_path, {"mcpServers": {
        "tool": {"command": "x", "env": {"LOG_LEVEL": "debug", "ROOT": "/srv/data",
                 "SLACK_BOT_TOKEN": "xoxb-1", "OPAQUE": "a8F3kQ9zL2mN7pR4tV6wX1yB"}},
        "legacy": {"url": "https://example.test/sse", "headers": {"X-Team": "docs"}},
    }})  # fmt: skip
    main(["mcp-import", str(source), "--config", str(config)])
    capsys.readouterr()
    env = {"SLACK_BOT_TOKEN": "t", "OPAQUE": "o"}
    servers = load_config(config, env).mcp.servers
    assert servers["tool"].env == {"LOG_LEVEL": "debug", "ROOT": "/srv/data",
                                   "SLACK_BOT_TOKEN": "t", "OPAQUE": "o"}  # fmt: skip
    assert servers["legacy"].headers == {"X-Team": "docs"}
    assert servers["legacy"].transport == "sse"  # spoken to with the legacy transport
    assert "xoxb-1" not in config.read_text() and "a8F3kQ9z" not in config.read_text()
