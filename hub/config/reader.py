"""Typed reading of one TOML table: type checks, unknown keys, ``${VAR}`` expansion.

Expansion happens on parsed string values, never on the raw text, so an
environment value can never inject TOML. Errors name the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

TomlValue: TypeAlias = "str | int | float | bool | list[TomlValue] | dict[str, TomlValue]"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits config.toml."""


class Table:
    """One TOML table, read with type checks and unknown-key detection."""

    def __init__(
        self, data: Mapping[str, TomlValue], path: str, source: Path, env: Mapping[str, str]
    ) -> None:
        self._data = data
        self._path = path
        self._source = source
        self._env = env

    def fail(self, key: str, problem: str) -> ConfigError:
        where = f"{self._path}.{key}" if self._path else key
        return ConfigError(f"{self._source} : clé « {where} » : {problem}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self._data:
            if key not in allowed:
                known = ", ".join(sorted(allowed)) or "aucune"
                raise self.fail(key, f"clé inconnue (clés acceptées : {known})")

    def has(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str, default: TomlValue) -> TomlValue:
        """The value as parsed, for shapes the typed readers do not cover."""
        return self._data.get(key, default)

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
            raise self.fail(
                key, f"la variable d'environnement {missing.args[0]} n'est pas définie"
            ) from None

    def missing_variable(self, key: str) -> str | None:
        """The first ``${VAR}`` (without default) of a string value that is not set."""
        value = self._data.get(key)
        if not isinstance(value, str):
            return None
        for match in _VAR.finditer(value):
            if match.group(1) not in self._env and match.group(2) is None:
                return match.group(1)
        return None

    def string(self, key: str, default: str) -> str:
        value = self._data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, "une chaîne de caractères est attendue")
        expanded = self.expand(key, value)
        return expanded if expanded is not None else default

    def optional_string(self, key: str, *, missing_var_ok: bool = False) -> str | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, "une chaîne de caractères est attendue")
        expanded = self.expand(key, value, missing_ok=missing_var_ok)
        return expanded or None

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "un entier est attendu")
        if value < minimum:
            raise self.fail(key, f"doit être supérieur ou égal à {minimum}")
        return value

    def optional_integer(self, key: str) -> int | None:
        return self.integer(key, 0, minimum=1) if key in self._data else None

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self._data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "un nombre est attendu")
        if value < minimum:
            raise self.fail(key, f"doit être supérieur ou égal à {minimum}")
        return float(value)

    def optional_ratio(self, key: str) -> float | None:
        if key not in self._data:
            return None
        value = self.number(key, 0.0)
        if not 0 < value <= 1:
            raise self.fail(key, "doit être une fraction entre 0 et 1 (ex. 0.8)")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "true ou false est attendu")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "une liste de chaînes est attendue")
        return tuple(self.expand(key, v) or "" for v in value if isinstance(v, str))

    def string_map(self, key: str) -> dict[str, str]:
        table = self.table(key)
        result: dict[str, str] = {}
        for name in table.keys():
            result[name] = table.string(name, "")
        return result

    def table(self, key: str) -> Table:
        value = self._data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "une table est attendue")
        path = f"{self._path}.{key}" if self._path else key
        return Table(value, path, self._source, self._env)

    def keys(self) -> list[str]:
        return list(self._data)
