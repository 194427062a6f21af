"""The ``mcpServers`` JSON of Claude Desktop and Cursor: load it, or turn it into TOML.

Imported TOML never holds a secret: an ``env`` or ``headers`` value whose name or shape
looks secret (``*_TOKEN``, ``Authorization``, ``ghp_…``, a long random string) becomes a
``${VAR}`` reference and the caller is told which variables to set; other values
(``LOG_LEVEL = "debug"``) stay literal. An SSE-only URL (``"type": "sse"``, or a URL
ending in ``/sse``) is spoken to with the legacy HTTP+SSE transport (``transport = "sse"``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import tomlkit
import tomlkit.exceptions

from hub.config import ConfigError, McpConfig, McpServerConfig, server_name_problem
from hub.core.jsontypes import JSON, JSONObject

logger = logging.getLogger(__name__)
MAX_FILE_BYTES = 1024 * 1024
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NOT_VAR_CHAR = re.compile(r"[^A-Za-z0-9]+")
_SECRET_NAME = re.compile(
    r"key|token|secret|passw|pwd|auth|credential|private|cookie|session|signature|bearer", re.I
)
_SECRET_VALUE = re.compile(
    r"^(ghp_|gho_|ghs_|github_pat_|glpat-|sk-|xox[abprs]-|AKIA|AIza|Bearer\s|Basic\s)"
)
_RANDOM = re.compile(r"^[A-Za-z0-9+/=_\-.]{24,}$")


def looks_secret(name: str, value: str) -> bool:
    """A credential by its name, a known token prefix, or a long random-looking string."""
    if _SECRET_NAME.search(name) or _SECRET_VALUE.match(value):
        return True
    mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    return bool(_RANDOM.fullmatch(value)) and mixed and "/" not in value


def sse_only(entry: JSONObject) -> bool:
    """A legacy HTTP+SSE server: declared so, or its URL ends in /sse."""
    url = entry.get("url")
    declared = entry.get("type") == "sse" or entry.get("transport") == "sse"
    return declared or (isinstance(url, str) and url.rstrip("/").split("?")[0].endswith("/sse"))


@dataclass(frozen=True)
class ImportedServer:
    name: str
    table: JSONObject  # TOML-ready [mcp.servers.NAME] table
    variables: tuple[str, ...]  # environment variables the user must set
    warnings: tuple[str, ...] = ()  # French, for the person importing


def _fail(source: Path, where: str, problem: str) -> ConfigError:
    return ConfigError(f"{source} : « {where} » : {problem}")


def read_servers(source: Path) -> dict[str, JSONObject]:
    """The ``mcpServers`` object of a JSON file, each entry checked to be an object."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source} : lecture impossible : {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{source} : fichier trop volumineux (limite {MAX_FILE_BYTES} octets)")
    try:
        document: JSON = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{source} : JSON invalide : {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("mcpServers"), dict):
        raise _fail(source, "mcpServers", "un objet « mcpServers » est attendu")
    servers = document["mcpServers"]
    assert isinstance(servers, dict)
    result: dict[str, JSONObject] = {}
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            raise _fail(source, f"mcpServers.{name}", "un objet est attendu")
        result[name] = entry
    return result


def _string(source: Path, where: str, value: JSON, *, default: str | None = None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str):
        raise _fail(source, where, "une chaîne est attendue")
    return value


def _strings(source: Path, where: str, value: JSON) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(source, where, "une liste de chaînes est attendue")
    return [v for v in value if isinstance(v, str)]


def _string_map(source: Path, where: str, value: JSON) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _fail(source, where, "un objet de chaînes est attendu")
    return {k: v for k, v in value.items() if isinstance(v, str)}


def _expand(source: Path, where: str, text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise _fail(source, where, f"la variable d'environnement {name} n'est pas définie")

    return _VAR.sub(replace, text)


def to_config(
    source: Path, name: str, entry: JSONObject, env: Mapping[str, str]
) -> McpServerConfig:
    """One JSON entry as the hub's own server config, ``${VAR}`` expanded from ``env``."""
    where = f"mcpServers.{name}"
    problem = server_name_problem(name)
    if problem:
        raise _fail(source, where, problem)
    command = _string(source, f"{where}.command", entry.get("command"))
    url = _string(source, f"{where}.url", entry.get("url"))
    if command is None and url is None:
        raise _fail(source, where, "« command » (stdio) ou « url » (HTTP) est obligatoire")
    disabled = entry.get("disabled", False)
    return McpServerConfig(
        name=name,
        command=_expand(source, where, command, env) if command else None,
        args=tuple(
            _expand(source, where, a, env) for a in _strings(source, where, entry.get("args"))
        ),
        env={
            k: _expand(source, where, v, env)
            for k, v in _string_map(source, f"{where}.env", entry.get("env")).items()
        },
        cwd=_string(source, f"{where}.cwd", entry.get("cwd")),
        url=_expand(source, where, url, env) if url else None,
        headers={
            k: _expand(source, where, v, env)
            for k, v in _string_map(source, f"{where}.headers", entry.get("headers")).items()
        },
        enabled=disabled is not True,
        transport="sse" if url and sse_only(entry) else "streamable-http",
    )


def load_servers_json(source: Path, env: Mapping[str, str]) -> dict[str, McpServerConfig]:
    return {n: to_config(source, n, e, env) for n, e in read_servers(source).items()}


def _variable(*parts: str) -> str:
    return "_".join(_NOT_VAR_CHAR.sub("_", p).strip("_").upper() for p in parts if p)


def import_servers(source: Path) -> list[ImportedServer]:
    """TOML tables for every server of a JSON file, secrets replaced by ``${VAR}``."""
    imported: list[ImportedServer] = []
    for name, entry in read_servers(source).items():
        to_config(source, name, entry, _AnyVariable())  # validates shapes only
        table: JSONObject = {}
        variables: list[str] = []
        for key in ("command", "url", "cwd"):
            if isinstance(entry.get(key), str):
                table[key] = entry[key]
        args = _strings(source, name, entry.get("args"))
        if args:
            table["args"] = list[JSON](args)
        for key in ("env", "headers"):
            values = _string_map(source, f"{name}.{key}", entry.get(key))
            refs: JSONObject = {}
            for item, value in values.items():
                if _VAR.fullmatch(value) or not looks_secret(item, value):
                    refs[item] = value
                    continue
                var = item if key == "env" else _variable("MCP", name, item)
                refs[item] = f"${{{var}}}"
                variables.append(var)
            if refs:
                table[key] = refs
        if entry.get("disabled") is True:
            table["enabled"] = False
        warnings: list[str] = []
        if sse_only(entry):
            table["transport"] = "sse"
        imported.append(ImportedServer(name, table, tuple(variables), tuple(warnings)))
    return imported


def render_toml(servers: list[ImportedServer]) -> str:
    """One ``[mcp.servers.NAME]`` table per server, ready to append to config.toml."""
    parts: list[str] = []
    for server in servers:
        document = tomlkit.document()
        outer = tomlkit.table(is_super_table=True)
        inner = tomlkit.table(is_super_table=True)
        inner.add(server.name, server.table)
        outer.add("servers", inner)
        document.add("mcp", outer)
        parts.append(f"# importé : serveur MCP « {server.name} »\n{tomlkit.dumps(document)}")
    return "\n".join(parts)


class _AnyVariable(dict[str, str]):
    """An environment in which every variable is set: validation without secrets."""

    def __missing__(self, key: str) -> str:
        return ""

    def __contains__(self, key: object) -> bool:
        return True


def configured_servers(config: McpConfig, env: Mapping[str, str]) -> dict[str, McpServerConfig]:
    """config.toml's servers plus those of ``[mcp].servers_json``; config.toml wins a clash."""
    servers = dict(config.servers)
    if config.servers_json is not None:
        for name, server in load_servers_json(config.servers_json, env).items():
            if name in servers:
                logger.warning(
                    "serveur MCP « %s » en double (config.toml et %s) : config.toml l'emporte",
                    name,
                    config.servers_json,
                )
                continue
            servers[name] = server
    return servers


def import_into_config(source: Path, config_path: Path, *, dry_run: bool = False) -> str:
    """Append the servers of ``source`` to config.toml; the TOML written (or to write)."""
    servers = import_servers(source)
    existing = ""
    if config_path.exists():
        existing = config_path.read_text(encoding="utf-8")
        try:
            current = tomlkit.parse(existing).unwrap()
        except tomlkit.exceptions.TOMLKitError as exc:
            raise ConfigError(f"{config_path} : TOML invalide : {exc}") from None
        mcp = current.get("mcp", {})
        known = mcp.get("servers", {}) if isinstance(mcp, dict) else {}
        clashes = [s.name for s in servers if isinstance(known, dict) and s.name in known]
        if clashes:
            raise ConfigError(
                f"{config_path} : serveur(s) déjà déclaré(s) : {', '.join(clashes)} "
                "(rien n'a été écrit)"
            )
    text = render_toml(servers)
    if not dry_run:
        separator = "" if not existing or existing.endswith("\n\n") else "\n"
        config_path.write_text(existing + separator + text, encoding="utf-8")
    return text
