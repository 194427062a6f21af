"""Decoded JSON as the tests handle it.

A test reads a JSON answer (or a message list it built) and asserts its shape: it indexes
it freely, and a wrong guess fails the test when it runs. ``Json`` says so in annotations.
It is the one explicit ``Any`` of the tests (pyproject's mypy override for this module):
narrowing every decoded value before each assertion would double the tests' length and
check nothing more than the assertions do.
"""

from typing import Any, TypeAlias

Json: TypeAlias = Any
"""A decoded JSON value: an answer's body, a row, a message."""

JsonObject: TypeAlias = dict[str, Any]
"""A decoded JSON object: a chat message, a request body, a row."""
