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


def has_lone_surrogate(value: JSON) -> bool:
    """A lone UTF-16 half (``"\\ud800"``) in a key or a string, at any depth.

    Valid JSON, but no valid text: it fails later, far from the input (encoding a row,
    a file, a relayed body). Every entry point refuses it with ``errors.invalid_unicode``.
    """
    pending: list[JSON] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False
