"""Load config.toml into a HubConfig, or fail loudly in French.

Each section has its reader here; ``hub.config.reader.Table`` does the typed access
and the ``${VAR}`` / ``${VAR:-default}`` expansion of parsed string values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from hub.config.auth import loopback_host, read_auth
from hub.config.mcp import read_mcp
from hub.config.prices import builtin_price
from hub.config.reader import ConfigError, Table
from hub.config.schema import (
    PROMPT_LANGUAGES,
    ClusterConfig,
    DatabaseConfig,
    HubConfig,
    LimitsConfig,
    LoggingConfig,
    ModelConfig,
    ProviderConfig,
    RetryConfig,
    SavingsConfig,
    ServerConfig,
    SessionsConfig,
    TelemetryConfig,
)

__all__ = ["ConfigError", "load_config", "parse_config", "with_bind"]


def _server(t: Table) -> ServerConfig:
    t.check_keys(
        {"host", "port", "api_key", "max_body_bytes", "allowed_hosts", "allowed_origins"}
        | {"shutdown_timeout", "metrics_key", "header_timeout", "body_timeout"}
    )
    server = ServerConfig(
        host=t.string("host", "127.0.0.1"),
        port=t.integer("port", 8000, minimum=0),
        api_key=t.optional_string("api_key"),  # ${VAR} unset stops start-up; ${VAR:-} = none
        metrics_key=t.optional_string("metrics_key", missing_var_ok=True),
        max_body_bytes=t.integer("max_body_bytes", 20 * 1024 * 1024, minimum=1024),
        allowed_hosts=t.strings("allowed_hosts"),
        allowed_origins=t.strings("allowed_origins"),
        shutdown_timeout=t.number("shutdown_timeout", 30.0),
        header_timeout=t.number("header_timeout", 10.0, minimum=0.001),
        body_timeout=t.number("body_timeout", 60.0, minimum=0.001),
    )
    problem = _bind_problem(server)
    if problem:
        raise t.fail("api_key", problem)
    return server


def _bind_problem(server: ServerConfig) -> str | None:
    if not loopback_host(server.host) and server.api_key is None:
        return f"obligatoire quand host ({server.host}) n'est pas local"
    return None


def with_bind(config: HubConfig, host: str | None, port: int | None) -> HubConfig:
    """The config with the address actually bound (``serve --host/--port``), checked again:
    the API-key rule applies to that address, not to the one in the file."""
    server = replace(
        config.server,
        host=config.server.host if host is None else host,
        port=config.server.port if port is None else port,
    )
    problem = _bind_problem(server)
    if problem:
        raise ConfigError(f"{config.source} : clé « server.api_key » : {problem} (--host {host})")
    if config.oauth and config.oauth.audience is None and not loopback_host(server.host):
        raise ConfigError(
            f"{config.source} : clé « auth.oauth.audience » : obligatoire quand le hub écoute "
            f"hors de la boucle locale (--host {host})"
        )
    return replace(config, server=server)


def _database(t: Table) -> DatabaseConfig:
    t.check_keys({"path", "url", "pool_size"})
    url = t.optional_string("url")
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise t.fail(
            "url", "une URL postgresql://utilisateur:motdepasse@hôte:5432/base est attendue"
        )
    return DatabaseConfig(url=url, pool_size=t.integer("pool_size", 10, minimum=1))


def _cluster(t: Table) -> ClusterConfig:
    t.check_keys({"redis_url", "replica", "channel"})
    url = t.optional_string("redis_url")
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise t.fail("redis_url", "URL attendue : redis://hôte:6379/0 (ou rediss://, unix://)")
    return ClusterConfig(
        redis_url=url,
        replica=t.optional_string("replica"),
        channel=t.string("channel", "kimi-proxy-hub"),
    )


def _retry(t: Table) -> RetryConfig:
    t.check_keys(
        {"attempts", "backoff_initial", "backoff_max", "connect_timeout", "read_timeout"}
        | {"total_timeout"}
    )
    return RetryConfig(
        attempts=t.integer("attempts", 3, minimum=1),
        backoff_initial=t.number("backoff_initial", 0.25),
        backoff_max=t.number("backoff_max", 4.0),
        connect_timeout=t.number("connect_timeout", 10.0, minimum=0.001),
        read_timeout=t.number("read_timeout", 300.0, minimum=0.001),
        total_timeout=t.number("total_timeout", 600.0, minimum=0.001),
    )


def _provider(name: str, t: Table) -> ProviderConfig:
    t.check_keys({"type", "base_url", "api_key", "enabled", "headers"})
    enabled = t.boolean("enabled", True)
    kind = t.string("type", "openai")
    if kind != "openai":
        raise t.fail("type", f"type « {kind} » non pris en charge (seul « openai » l'est)")
    if not t.has("base_url"):
        raise t.fail("base_url", "clé obligatoire manquante")
    if not enabled:  # a disabled provider may reference variables that are not set
        return ProviderConfig(name=name, base_url="", enabled=False)
    # An unset key variable does not stop start-up: the provider is marked "clé manquante".
    missing = t.missing_variable("api_key")
    return ProviderConfig(
        name=name,
        type=kind,
        base_url=t.string("base_url", "").rstrip("/"),
        api_key=None if missing else t.optional_string("api_key"),
        enabled=True,
        headers=t.string_map("headers"),
        missing_key=missing,
    )


def _model(key: str, t: Table, providers: Mapping[str, ProviderConfig]) -> ModelConfig:
    t.check_keys(
        {
            "provider",
            "model",
            "max_context",
            "input_price",
            "output_price",
            "cached_input_price",
            "compaction_threshold",
            "max_output",
        }
    )
    provider = t.string("provider", "")
    if provider not in providers:
        known = ", ".join(sorted(providers)) or "aucun"
        raise t.fail("provider", f"fournisseur « {provider} » inconnu (connus : {known})")
    model = t.string("model", key.split("/", 1)[-1])
    builtin = builtin_price(model)  # hub/config/prices.py; configured prices win
    return ModelConfig(
        key=key,
        provider=provider,
        model=model,
        max_context=t.optional_integer("max_context"),
        input_price=t.number("input_price", builtin.input if builtin else 0.0),
        output_price=t.number("output_price", builtin.output if builtin else 0.0),
        cached_input_price=(
            t.number("cached_input_price", 0.0)
            if t.has("cached_input_price")
            else (builtin.cached_input if builtin else None)
        ),
        compaction_threshold=t.optional_ratio("compaction_threshold"),
        max_output=t.optional_integer("max_output"),
        priced=builtin is not None or t.has("input_price") or t.has("output_price"),
    )


def _sessions(t: Table) -> SessionsConfig:
    t.check_keys({"auto_session", "thresholds", "inactivity_minutes"})
    raw = t.raw("thresholds", [0.8, 0.9, 0.95])
    if not isinstance(raw, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 1 for v in raw
    ):
        raise t.fail("thresholds", "une liste de fractions entre 0 et 1 est attendue")
    thresholds = tuple(sorted(float(v) for v in raw if isinstance(v, int | float)))
    return SessionsConfig(
        auto_session=t.boolean("auto_session", True),
        thresholds=thresholds,
        inactivity_minutes=t.number("inactivity_minutes", 30.0, minimum=0.0),
    )


def _savings(t: Table) -> SavingsConfig:
    t.check_keys(
        {
            "masking",
            "compaction",
            "compaction_threshold",
            "keep_recent_exchanges",
            "keep_recent_rounds",
            "rewrite_batch_rounds",
            "summarise_old_rounds",
            "summarise_from_tokens",
            "mask_min_tokens",
            "summariser_model",
            "mask_retention",
            "giant_output_tokens",
            "prompt_language",
        }
    )
    language = t.string("prompt_language", "en")
    if language not in PROMPT_LANGUAGES:
        raise t.fail("prompt_language", "« en » ou « fr » attendu")
    return SavingsConfig(
        masking=t.boolean("masking", True),
        compaction=t.boolean("compaction", True),
        compaction_threshold=t.optional_ratio("compaction_threshold") or 0.8,
        # ``keep_recent_exchanges`` is the older name, read when the new one is absent
        keep_recent_rounds=t.integer(
            "keep_recent_rounds", t.integer("keep_recent_exchanges", 8, minimum=1), minimum=1
        ),
        rewrite_batch_rounds=t.integer("rewrite_batch_rounds", 10, minimum=1),
        summarise_old_rounds=t.boolean("summarise_old_rounds", True),
        summarise_from_tokens=t.integer("summarise_from_tokens", 8192),
        mask_min_tokens=t.integer("mask_min_tokens", 400, minimum=1),
        summariser_model=t.optional_string("summariser_model"),
        mask_retention=t.integer("mask_retention", 10_000, minimum=1),
        giant_output_tokens=t.integer("giant_output_tokens", 2048),
        prompt_language=language,
    )


def _logging(t: Table) -> LoggingConfig:
    t.check_keys({"store_bodies", "body_retention"})
    return LoggingConfig(
        store_bodies=t.boolean("store_bodies", False),
        body_retention=t.integer("body_retention", 1000, minimum=1),
    )


def _telemetry(root: Table) -> TelemetryConfig | None:
    if not root.has("telemetry"):
        return None
    t = root.table("telemetry")
    t.check_keys({"enabled", "endpoint", "service_name", "headers", "sample_ratio", "timeout"})
    if not t.boolean("enabled", True):
        return None
    endpoint = t.string("endpoint", TelemetryConfig.endpoint)
    if not endpoint.startswith(("http://", "https://")):
        raise t.fail("endpoint", "URL OTLP/HTTP attendue : http://collecteur:4318/v1/traces")
    return TelemetryConfig(
        endpoint=endpoint,
        service_name=t.string("service_name", TelemetryConfig.service_name),
        headers=t.string_map("headers"),
        sample_ratio=t.optional_ratio("sample_ratio") or 1.0,
        timeout=t.number("timeout", 10.0, minimum=0.1),
    )


def _limits(t: Table) -> LimitsConfig:
    t.check_keys({"default_max_output"})
    return LimitsConfig(default_max_output=t.integer("default_max_output", 4096, minimum=1))


def parse_config(text: str, source: Path, env: Mapping[str, str]) -> HubConfig:
    """Validate TOML text. Relative paths are resolved against the file's folder."""
    try:
        document = tomlkit.parse(text).unwrap()
    except TOMLKitError as exc:
        raise ConfigError(f"{source} : TOML invalide : {exc}") from None
    root = Table(document, "", source, env)
    root.check_keys(
        {
            "server",
            "database",
            "cluster",
            "retry",
            "providers",
            "models",
            "sessions",
            "savings",
            "mcp",
            "logging",
            "limits",
            "auth",
            "telemetry",
        }
    )
    base = source.parent
    database = root.table("database")
    providers_table = root.table("providers")
    providers = {n: _provider(n, providers_table.table(n)) for n in providers_table.keys()}
    models_table = root.table("models")
    models = {k: _model(k, models_table.table(k), providers) for k in models_table.keys()}
    server = _server(root.table("server"))
    return HubConfig(
        source=source,
        server=server,
        database_path=base / database.string("path", "data/sessions.db"),
        database=_database(database),
        cluster=_cluster(root.table("cluster")),
        retry=_retry(root.table("retry")),
        providers=providers,
        models=models,
        sessions=_sessions(root.table("sessions")),
        savings=_savings(root.table("savings")),
        mcp=read_mcp(root.table("mcp"), base),
        logging=_logging(root.table("logging")),
        limits=_limits(root.table("limits")),
        oauth=read_auth(root.table("auth"), server),
        telemetry=_telemetry(root),
    )


def load_config(path: Path, env: Mapping[str, str] | None = None) -> HubConfig:
    """Read and validate config.toml; ``env`` defaults to the process environment."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path} : lecture impossible : {exc.strerror}") from None
    return parse_config(text, path.resolve(), os.environ if env is None else env)
