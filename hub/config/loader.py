"""Load config.toml into a HubConfig, or fail loudly in French.

Expansion of ``${VAR}`` (and ``${VAR:-default}``) happens on parsed string values,
never on the raw text, so an environment value can never inject TOML.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

import tomlkit
from tomlkit.exceptions import TOMLKitError

from hub.config.schema import (
    HubConfig,
    McpConfig,
    McpServerConfig,
    ModelConfig,
    ProviderConfig,
    RetryConfig,
    SavingsConfig,
    ServerConfig,
    SessionsConfig,
)

TomlValue: TypeAlias = "str | int | float | bool | list[TomlValue] | dict[str, TomlValue]"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits config.toml."""


class _Table:
    """One TOML table, read with type checks and unknown-key detection."""

    def __init__(
        self, data: Mapping[str, TomlValue], path: str, source: Path, env: Mapping[str, str]
    ) -> None:
        self._data = data
        self._path = path
        self._source = source
        self._env = env

    def _fail(self, key: str, problem: str) -> ConfigError:
        where = f"{self._path}.{key}" if self._path else key
        return ConfigError(f"{self._source} : clé « {where} » : {problem}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self._data:
            if key not in allowed:
                known = ", ".join(sorted(allowed)) or "aucune"
                raise self._fail(key, f"clé inconnue (clés acceptées : {known})")

    def has(self, key: str) -> bool:
        return key in self._data

    def expand(self, key: str, text: str, *, missing_ok: bool = False) -> str | None:
        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self._env:
                return self._env[name]
            if default is not None:
                return default
            raise KeyError(name)

        try:
            return _VAR.sub(replace, text)
        except KeyError as missing:
            if missing_ok:
                return None
            raise self._fail(
                key, f"la variable d'environnement {missing.args[0]} n'est pas définie"
            ) from None

    def string(self, key: str, default: str) -> str:
        value = self._data.get(key, default)
        if not isinstance(value, str):
            raise self._fail(key, "une chaîne de caractères est attendue")
        expanded = self.expand(key, value)
        return expanded if expanded is not None else default

    def optional_string(self, key: str, *, missing_var_ok: bool = False) -> str | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "une chaîne de caractères est attendue")
        expanded = self.expand(key, value, missing_ok=missing_var_ok)
        return expanded or None

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "un entier est attendu")
        if value < minimum:
            raise self._fail(key, f"doit être supérieur ou égal à {minimum}")
        return value

    def optional_integer(self, key: str) -> int | None:
        return self.integer(key, 0, minimum=1) if key in self._data else None

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self._data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "un nombre est attendu")
        if value < minimum:
            raise self._fail(key, f"doit être supérieur ou égal à {minimum}")
        return float(value)

    def optional_ratio(self, key: str) -> float | None:
        if key not in self._data:
            return None
        value = self.number(key, 0.0)
        if not 0 < value <= 1:
            raise self._fail(key, "doit être une fraction entre 0 et 1 (ex. 0.8)")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._data.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true ou false est attendu")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "une liste de chaînes est attendue")
        return tuple(self.expand(key, v) or "" for v in value if isinstance(v, str))

    def string_map(self, key: str) -> dict[str, str]:
        table = self.table(key)
        result: dict[str, str] = {}
        for name in table.keys():
            result[name] = table.string(name, "")
        return result

    def table(self, key: str) -> _Table:
        value = self._data.get(key, {})
        if not isinstance(value, dict):
            raise self._fail(key, "une table est attendue")
        path = f"{self._path}.{key}" if self._path else key
        return _Table(value, path, self._source, self._env)

    def keys(self) -> list[str]:
        return list(self._data)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server(t: _Table) -> ServerConfig:
    t.check_keys({"host", "port", "api_key", "max_body_bytes", "allowed_hosts", "allowed_origins"})
    server = ServerConfig(
        host=t.string("host", "127.0.0.1"),
        port=t.integer("port", 8000, minimum=0),
        api_key=t.optional_string("api_key", missing_var_ok=True),
        max_body_bytes=t.integer("max_body_bytes", 20 * 1024 * 1024, minimum=1024),
        allowed_hosts=t.strings("allowed_hosts"),
        allowed_origins=t.strings("allowed_origins"),
    )
    if not _is_loopback(server.host) and server.api_key is None:
        raise t._fail("api_key", f"obligatoire quand host ({server.host}) n'est pas local")
    return server


def _retry(t: _Table) -> RetryConfig:
    t.check_keys({"attempts", "backoff_initial", "backoff_max", "connect_timeout", "read_timeout"})
    return RetryConfig(
        attempts=t.integer("attempts", 3, minimum=1),
        backoff_initial=t.number("backoff_initial", 0.25),
        backoff_max=t.number("backoff_max", 4.0),
        connect_timeout=t.number("connect_timeout", 10.0, minimum=0.001),
        read_timeout=t.number("read_timeout", 300.0, minimum=0.001),
    )


def _provider(name: str, t: _Table) -> ProviderConfig:
    t.check_keys({"type", "base_url", "api_key", "enabled", "headers"})
    enabled = t.boolean("enabled", True)
    kind = t.string("type", "openai")
    if kind != "openai":
        raise t._fail("type", f"type « {kind} » non pris en charge (seul « openai » l'est)")
    if not t.has("base_url"):
        raise t._fail("base_url", "clé obligatoire manquante")
    if not enabled:  # a disabled provider may reference variables that are not set
        return ProviderConfig(name=name, base_url="", enabled=False)
    return ProviderConfig(
        name=name,
        type=kind,
        base_url=t.string("base_url", "").rstrip("/"),
        api_key=t.optional_string("api_key"),
        enabled=True,
        headers=t.string_map("headers"),
    )


def _model(key: str, t: _Table, providers: Mapping[str, ProviderConfig]) -> ModelConfig:
    t.check_keys(
        {
            "provider",
            "model",
            "max_context",
            "input_price",
            "output_price",
            "compaction_threshold",
        }
    )
    provider = t.string("provider", "")
    if provider not in providers:
        known = ", ".join(sorted(providers)) or "aucun"
        raise t._fail("provider", f"fournisseur « {provider} » inconnu (connus : {known})")
    return ModelConfig(
        key=key,
        provider=provider,
        model=t.string("model", key.split("/", 1)[-1]),
        max_context=t.optional_integer("max_context"),
        input_price=t.number("input_price", 0.0),
        output_price=t.number("output_price", 0.0),
        compaction_threshold=t.optional_ratio("compaction_threshold"),
    )


def _sessions(t: _Table) -> SessionsConfig:
    t.check_keys({"auto_session", "thresholds"})
    raw = t._data.get("thresholds", [0.8, 0.9, 0.95])
    if not isinstance(raw, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 1 for v in raw
    ):
        raise t._fail("thresholds", "une liste de fractions entre 0 et 1 est attendue")
    thresholds = tuple(sorted(float(v) for v in raw if isinstance(v, int | float)))
    return SessionsConfig(auto_session=t.boolean("auto_session", True), thresholds=thresholds)


def _savings(t: _Table) -> SavingsConfig:
    t.check_keys(
        {
            "masking",
            "compaction",
            "compaction_threshold",
            "keep_recent_exchanges",
            "mask_min_tokens",
            "summariser_model",
            "mask_retention",
        }
    )
    return SavingsConfig(
        masking=t.boolean("masking", True),
        compaction=t.boolean("compaction", True),
        compaction_threshold=t.optional_ratio("compaction_threshold") or 0.8,
        keep_recent_exchanges=t.integer("keep_recent_exchanges", 4, minimum=1),
        mask_min_tokens=t.integer("mask_min_tokens", 400, minimum=1),
        summariser_model=t.optional_string("summariser_model"),
        mask_retention=t.integer("mask_retention", 10_000, minimum=1),
    )


def _mcp_server(name: str, t: _Table) -> McpServerConfig:
    t.check_keys(
        {"command", "args", "env", "cwd", "url", "headers", "enabled", "tools", "call_timeout"}
    )
    enabled = t.boolean("enabled", True)
    if not enabled:
        return McpServerConfig(name=name, enabled=False)
    tools = t.table("tools")
    tools.check_keys({"allow", "deny"})
    server = McpServerConfig(
        name=name,
        command=t.optional_string("command"),
        args=t.strings("args"),
        env=t.string_map("env"),
        cwd=t.optional_string("cwd"),
        url=t.optional_string("url"),
        headers=t.string_map("headers"),
        tools_allow=tools.strings("allow"),
        tools_deny=tools.strings("deny"),
        call_timeout=t.number("call_timeout", 60.0, minimum=0.001),
    )
    if server.command is None and server.url is None:
        raise t._fail("command", "« command » (stdio) ou « url » (HTTP) est obligatoire")
    return server


def _mcp(t: _Table, base: Path) -> McpConfig:
    t.check_keys({"workspace", "servers", "servers_json"})
    servers_table = t.table("servers")
    servers = {n: _mcp_server(n, servers_table.table(n)) for n in servers_table.keys()}
    servers_json = t.optional_string("servers_json")
    return McpConfig(
        workspace=(base / t.string("workspace", ".")).resolve(),
        servers=servers,
        servers_json=(base / servers_json) if servers_json else None,
    )


def parse_config(text: str, source: Path, env: Mapping[str, str]) -> HubConfig:
    """Validate TOML text. Relative paths are resolved against the file's folder."""
    try:
        document = tomlkit.parse(text).unwrap()
    except TOMLKitError as exc:
        raise ConfigError(f"{source} : TOML invalide : {exc}") from None
    root = _Table(document, "", source, env)
    root.check_keys(
        {"server", "database", "retry", "providers", "models", "sessions", "savings", "mcp"}
    )
    base = source.parent
    database = root.table("database")
    database.check_keys({"path"})
    providers_table = root.table("providers")
    providers = {n: _provider(n, providers_table.table(n)) for n in providers_table.keys()}
    models_table = root.table("models")
    models = {k: _model(k, models_table.table(k), providers) for k in models_table.keys()}
    return HubConfig(
        source=source,
        server=_server(root.table("server")),
        database_path=base / database.string("path", "data/sessions.db"),
        retry=_retry(root.table("retry")),
        providers=providers,
        models=models,
        sessions=_sessions(root.table("sessions")),
        savings=_savings(root.table("savings")),
        mcp=_mcp(root.table("mcp"), base),
    )


def load_config(path: Path, env: Mapping[str, str] | None = None) -> HubConfig:
    """Read and validate config.toml; ``env`` defaults to the process environment."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path} : lecture impossible : {exc.strerror}") from None
    return parse_config(text, path.resolve(), os.environ if env is None else env)
