"""Removes configured secrets from texts that leave the hub or get stored.

An upstream that echoes the request headers in an error body would otherwise
hand our provider key to the client, the ``requests.error`` column, the exports
and the dashboard. The check is on what a reader will see, not only the literal
bytes: JSON ``\\uXXXX`` escapes (a JSON decoder turns them back into the key) and
base64 (``Authorization: Basic``, or the key inside any base64 blob, at each of the
three byte alignments, standard and URL-safe alphabets).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

REDACTED = "[secret masqué]"
MIN_SECRET_CHARS = 4  # shorter values would blank out ordinary words
MIN_BASE64_CHARS = 8  # shorter base64 fragments would match ordinary text
# \uXXXX and \/ escapes of characters that can stand unescaped inside a JSON string.
_JSON_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})|\\/")


def _base64_forms(secret: bytes) -> set[bytes]:
    """The base64 characters fixed by ``secret`` alone, whatever surrounds it."""
    forms: set[bytes] = set()
    for offset in range(3):
        padded = b"\0" * offset + secret
        complete = len(padded) // 3 * 4  # characters of whole 3-byte groups
        skip = (0, 2, 3)[offset]  # characters that still depend on the unknown prefix
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            form = encode(padded)[skip:complete]
            if len(form) >= MIN_BASE64_CHARS:
                forms.add(form)
    return forms


def _unescape(match: re.Match[bytes]) -> bytes:
    if match.group(1) is None:
        return b"/"
    char = chr(int(match.group(1), 16))
    if char in '"\\' or char < " " or "\ud800" <= char <= "\udfff":
        return match.group(0)  # must stay escaped (or half of a pair): left as it was
    return char.encode()


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        found = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        # Longest first: a secret that contains another is replaced whole.
        self._secrets = sorted(found, key=len, reverse=True)
        self._encoded = [s.encode() for s in self._secrets]
        forms = {form for s in self._encoded for form in _base64_forms(s)}
        self._base64 = sorted(forms, key=len, reverse=True)
        self._replacement = REDACTED.encode()

    def text(self, text: str) -> str:
        if not self._secrets:
            return text
        return self.data(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")

    def data(self, data: bytes) -> bytes:
        if not self._encoded:
            return data
        if b"\\u" in data or b"\\/" in data:  # escaped forms: unescaped where a secret hides
            unescaped = _JSON_ESCAPE.sub(_unescape, data)
            if unescaped != data and any(s in unescaped for s in self._encoded):
                data = unescaped
        for secret in self._encoded:
            data = data.replace(secret, self._replacement)
        for form in self._base64:
            data = data.replace(form, self._replacement)
        return data
