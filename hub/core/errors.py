"""Errors that cross layers. Messages are French because people read them."""

from __future__ import annotations


class HubError(Exception):
    """An error with an HTTP status and an OpenAI-style ``type``/``code``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.code = code
        self.param = param


def invalid_unicode() -> HubError:
    """A lone UTF-16 half in the input (``jsontypes.has_lone_surrogate``)."""
    return HubError(
        "Texte invalide : demi-paire UTF-16 isolée (\\ud800-\\udfff) dans le JSON.",
        code="invalid_unicode",
    )


def missing_team_extra(setting: str, package: str) -> RuntimeError:
    """``setting`` needs ``package``, which comes with the optional ``[team]`` extra."""
    return RuntimeError(
        f"{setting} est configuré mais le paquet {package} n'est pas installé :"
        " pip install 'kimi-proxy-hub[team]'"
    )


class NotFoundError(HubError):
    def __init__(self, message: str, *, code: str = "not_found") -> None:
        super().__init__(message, status=404, error_type="invalid_request_error", code=code)


class UpstreamError(HubError):
    """The provider failed after the retries were spent."""

    def __init__(
        self, message: str, *, status: int = 502, code: str = "upstream_error", attempts: int = 1
    ) -> None:
        super().__init__(message, status=status, error_type="upstream_error", code=code)
        self.attempts = attempts
