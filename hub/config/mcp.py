"""The ``[mcp]`` section: upstream servers and tool profiles, checked when the file is read.

Server names and tool patterns are validated here, so ``check-config`` and
``mcp-import`` reject them with the key named instead of a server reported down later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from hub.config.reader import Table
from hub.config.schema import (
    McpConfig,
    McpLimits,
    McpOAuthConfig,
    McpProfileConfig,
    McpServerConfig,
    ServerConfig,
)

# No "_" in server names: keeps "server__tool" unambiguous.
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,47}$")
# Glob patterns (* and ?) over tool names ("server__tool" for upstream tools).
PATTERN = re.compile(r"^[A-Za-z0-9_.\-/*?]{1,180}$")
PROFILE_NAME = SERVER_NAME
PREFIXES = ("always", "on_collision")
DISCOVERY = ("list", "search")
SERVER_KEYS = {"command", "args", "env", "cwd", "url", "headers", "enabled", "tools"}
SERVER_KEYS |= {"call_timeout", "max_result_tokens", "transport", "auth", "oauth"}
SERVER_KEYS |= {"isolation", "max_clients", "idle_timeout"}
HTTP_TRANSPORTS = ("streamable-http", "sse")  # sse: the legacy HTTP+SSE transport
ISOLATIONS = ("shared", "per-client")
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
PROFILE_KEYS = {"servers", "tools", "prefix", "discovery", "pinned", "max_result_tokens"}
LIMIT_KEYS = {"max_message_bytes", "max_tools", "max_description_chars", "max_schema_bytes"}
LIMIT_KEYS |= {"progress_interval", "max_file_bytes"}


def server_name_problem(name: str) -> str | None:
    if SERVER_NAME.fullmatch(name):
        return None
    return (
        f"nom de serveur « {name[:60]} » invalide : lettres, chiffres et « - » seulement "
        "(48 caractères au plus, sans « _ »)"
    )


def pattern_problem(pattern: str) -> str | None:
    if PATTERN.fullmatch(pattern):
        return None
    return (
        f"motif « {pattern[:60]} » invalide : lettres, chiffres, « _ . - / », "
        "et les jokers « * » et « ? » seulement (180 caractères au plus)"
    )


def patterns(t: Table, key: str) -> tuple[str, ...]:
    values = t.strings(key)
    for value in values:
        problem = pattern_problem(value)
        if problem:
            raise t.fail(key, problem)
    return values


def choice(t: Table, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = t.string(key, default)
    if value not in choices:
        raise t.fail(key, f"« {value[:40]} » inconnu (valeurs possibles : {', '.join(choices)})")
    return value


def _server(name: str, t: Table) -> McpServerConfig:
    t.check_keys(SERVER_KEYS)
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
        tools_allow=patterns(tools, "allow"),
        tools_deny=patterns(tools, "deny"),
        call_timeout=t.number("call_timeout", 60.0, minimum=0.001),
        max_result_tokens=t.optional_integer("max_result_tokens"),
        transport=choice(t, "transport", "streamable-http", HTTP_TRANSPORTS),
        isolation=choice(t, "isolation", "shared", ISOLATIONS),
        max_clients=t.integer("max_clients", 16, minimum=1),
        idle_timeout=t.number("idle_timeout", 600.0, minimum=0.01),
        oauth=_oauth(t),
    )
    if server.transport == "sse" and server.url is None:
        raise t.fail("transport", "« sse » s'applique à un serveur HTTP : « url » est obligatoire")
    if server.command is None and server.url is None:
        raise t.fail("command", "« command » (stdio) ou « url » (HTTP) est obligatoire")
    return server


def _oauth(t: Table) -> McpOAuthConfig | None:
    """``auth = "oauth"`` and its optional ``[…oauth]`` table."""
    auth = t.optional_string("auth")
    if auth is None:
        if t.has("oauth"):
            raise t.fail("auth", "« oauth » attendu avec une table [….oauth]")
        return None
    if auth != "oauth":
        raise t.fail("auth", f"« {auth[:40]} » inconnu (valeur possible : oauth)")
    if not t.has("url"):
        raise t.fail("auth", "OAuth ne s'applique qu'à un serveur HTTP (url)")
    o = t.table("oauth")
    o.check_keys(
        {"client_id", "client_secret", "issuer", "scope", "token_endpoint_auth_method"}
        | {"grant", "redirect_uri", "client_metadata_url"}
    )
    client_id, secret = o.optional_string("client_id"), o.optional_string("client_secret")
    grant = choice(
        o,
        "grant",
        "client_credentials" if secret else "authorization_code",
        ("authorization_code", "client_credentials"),
    )
    if grant == "client_credentials" and (client_id is None or secret is None):
        raise o.fail(
            "client_secret", "client_id et client_secret sont obligatoires avec client_credentials"
        )
    cimd = o.optional_string("client_metadata_url")
    if cimd is not None and not _https_path(cimd):
        raise o.fail(
            "client_metadata_url",
            "URL HTTPS avec un chemin attendue (ex. https://hub.example.com/oauth/client-metadata.json)",
        )
    return McpOAuthConfig(
        client_id=client_id,
        client_secret=secret,
        issuer=o.optional_string("issuer"),
        scope=o.optional_string("scope"),
        token_endpoint_auth_method=choice(
            o, "token_endpoint_auth_method", "client_secret_basic", AUTH_METHODS
        ),
        grant=grant,
        redirect_uri=o.optional_string("redirect_uri") or "",
        client_metadata_url=cimd,
    )


def _https_path(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc) and parts.path not in ("", "/")


def _profile(name: str, t: Table) -> McpProfileConfig:
    t.check_keys(PROFILE_KEYS)
    tools = t.table("tools")
    tools.check_keys({"allow", "deny"})
    servers = patterns(t, "servers") if t.has("servers") else ("*",)
    return McpProfileConfig(
        name=name,
        servers=servers,
        tools_allow=patterns(tools, "allow"),
        tools_deny=patterns(tools, "deny"),
        prefix=choice(t, "prefix", "always", PREFIXES),
        discovery=choice(t, "discovery", "list", DISCOVERY),
        pinned=patterns(t, "pinned"),
        max_result_tokens=t.optional_integer("max_result_tokens"),
    )


def _limits(t: Table) -> McpLimits:
    default = McpLimits()
    return McpLimits(
        max_message_bytes=t.integer("max_message_bytes", default.max_message_bytes, minimum=4096),
        max_tools=t.integer("max_tools", default.max_tools, minimum=1),
        max_description_chars=t.integer(
            "max_description_chars", default.max_description_chars, minimum=100
        ),
        max_schema_bytes=t.integer("max_schema_bytes", default.max_schema_bytes, minimum=1024),
        progress_interval=t.number("progress_interval", default.progress_interval),
        max_file_bytes=t.integer("max_file_bytes", default.max_file_bytes, minimum=1),
    )


def read_mcp(t: Table, base: Path) -> McpConfig:
    t.check_keys({"workspace", "servers", "servers_json", "profiles", "stdio_wait", *LIMIT_KEYS})
    servers_table = t.table("servers")
    servers: dict[str, McpServerConfig] = {}
    for name in servers_table.keys():
        problem = server_name_problem(name)
        if problem:
            raise servers_table.fail(name, problem)
        servers[name] = _server(name, servers_table.table(name))
    profiles_table = t.table("profiles")
    profiles: dict[str, McpProfileConfig] = {}
    for name in profiles_table.keys():
        if not PROFILE_NAME.fullmatch(name):
            raise profiles_table.fail(name, "nom de profil invalide : lettres, chiffres et « - »")
        profiles[name] = _profile(name, profiles_table.table(name))
    servers_json = t.optional_string("servers_json")
    return McpConfig(
        workspace=(base / t.string("workspace", ".")).resolve(),
        servers=servers,
        servers_json=(base / servers_json) if servers_json else None,
        profiles=profiles,
        stdio_wait=t.number("stdio_wait", 5.0),
        limits=_limits(t),
    )


def callback_url(server: ServerConfig) -> str:
    """The hub's ``/oauth/callback`` as a browser on this machine reaches it."""
    host = server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}/oauth/callback"


def with_callbacks(
    servers: Mapping[str, McpServerConfig], server: ServerConfig
) -> dict[str, McpServerConfig]:
    """Servers signed in by a person get the hub's callback unless they name their own."""
    default = callback_url(server)
    return {
        name: replace(config, oauth=replace(config.oauth, redirect_uri=default))
        if config.oauth is not None and not config.oauth.redirect_uri
        else config
        for name, config in servers.items()
    }
