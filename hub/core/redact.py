"""Removes configured secrets from texts that leave the hub or get stored.

An upstream that echoes the request headers in an error body would otherwise
hand our provider key to the client, the ``requests.error`` column, the exports
and the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[secret masqué]"
MIN_SECRET_CHARS = 4  # shorter values would blank out ordinary words


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        found = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        # Longest first: a secret that contains another is replaced whole.
        self._secrets = sorted(found, key=len, reverse=True)
        self._encoded = [(s.encode(), REDACTED.encode()) for s in self._secrets]

    def text(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def data(self, data: bytes) -> bytes:
        for secret, replacement in self._encoded:
            data = data.replace(secret, replacement)
        return data
