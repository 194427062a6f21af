"""JSON as it comes off the wire, typed without ``Any``."""

from typing import TypeAlias

JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"
JSONObject: TypeAlias = dict[str, JSON]


def as_object(value: JSON) -> JSONObject | None:
    """The value if it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def as_list(value: JSON) -> list[JSON]:
    """The value if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def as_str(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: JSON) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
