"""One pooled httpx2 client per provider, and a POST that retries what is retryable.

Each client runs over its own ``AiohttpTransport`` (aiohttp's connection pool under the
httpx API; see ``aio_transport``). Tests may pass another transport to inject faults.

Retried before the first byte: connect errors, timeouts, 429 and 5xx, with
exponential backoff. A ``Retry-After`` longer than ``backoff_max`` is not slept
on: the 429 goes back to the client, whose own retry logic can wait that long.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import NamedTuple

import httpx2

from hub.config import HubConfig, ProviderConfig, RetryConfig
from hub.core.errors import UpstreamError
from hub.core.redact import Redactor
from hub.proxy.aio_transport import AiohttpTransport
from hub.proxy.routing import Route


@dataclass
class UpstreamReply:
    """An upstream response whose body is not read yet."""

    response: httpx2.Response
    attempts: int
    headers_at: float
    last_attempt: bool = False

    @property
    def exhausted(self) -> bool:
        """A retryable failure relayed because the attempts ran out: clients must not retry."""
        return _retryable_status(self.response.status_code) and self.last_attempt


def retry_after_seconds(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - now) if parsed else None


SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "password")


def provider_secrets(config: HubConfig) -> list[str]:
    """Every provider key, and the values of headers whose name says they are secret."""
    secrets = [config.server.api_key or ""]
    for provider in config.providers.values():
        secrets.append(provider.api_key or "")
        secrets += [
            value
            for name, value in provider.headers.items()
            if any(word in name.lower() for word in SECRET_HEADER_WORDS)
        ]
    return [s for s in secrets if s]


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: one user's provider cookies must not ride on the next call."""
    return CookieJar(DefaultCookiePolicy(allowed_domains=[]))


def _headers(provider: ProviderConfig) -> dict[str, str]:
    headers = {"content-type": "application/json", **provider.headers}
    if provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    return headers


class _Target(NamedTuple):
    """One provider's client, chat URL and headers."""

    client: httpx2.AsyncClient
    url: httpx2.URL
    headers: dict[str, str]


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class ProviderPool:
    """Owns the HTTP clients; close it with ``aclose`` when the app stops."""

    def __init__(
        self, config: HubConfig, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        self._retry = config.retry
        self.redactor = Redactor(provider_secrets(config))
        timeout = httpx2.Timeout(config.retry.read_timeout, connect=config.retry.connect_timeout)
        # URL and headers built once: httpx parses a URL string on every request.
        self._targets = {
            name: _Target(
                httpx2.AsyncClient(
                    timeout=timeout,
                    transport=transport or AiohttpTransport(max_connections=256),
                    cookies=_no_cookies(),
                ),
                httpx2.URL(f"{provider.base_url}/chat/completions"),
                _headers(provider),
            )
            for name, provider in config.providers.items()
            if provider.enabled
        }

    async def aclose(self) -> None:
        await asyncio.gather(*(t.client.aclose() for t in self._targets.values()))

    @property
    def retry(self) -> RetryConfig:
        return self._retry

    def backoff(self, attempt: int) -> float:
        return float(min(self._retry.backoff_max, self._retry.backoff_initial * 2 ** (attempt - 1)))

    async def post_chat(
        self, route: Route, body: bytes, traced: dict[str, str] | None = None
    ) -> UpstreamReply:
        """Send until a non-retryable answer or the attempts run out. ``traced``: the
        request's W3C trace context headers, when tracing is on."""
        client, url, headers = self._targets[route.provider.name]
        if traced:
            headers = {**headers, **traced}
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                request = client.build_request("POST", url, content=body, headers=headers)
                response = await client.send(request, stream=True)
            except httpx2.TimeoutException:
                if attempt == attempts:
                    raise UpstreamError(
                        f"Le fournisseur « {route.provider.name} » n'a pas répondu à temps "
                        f"({attempts} tentative(s)).",
                        status=504,
                        code="upstream_timeout",
                        attempts=attempts,
                    ) from None
            except httpx2.TransportError as exc:
                if attempt == attempts:
                    raise UpstreamError(
                        f"Fournisseur « {route.provider.name} » injoignable après {attempts} "
                        f"tentative(s) : {type(exc).__name__}.",
                        code="upstream_unreachable",
                        attempts=attempts,
                    ) from None
            else:
                if not _retryable_status(response.status_code) or attempt == attempts:
                    last = attempt == attempts
                    return UpstreamReply(response, attempt, time.perf_counter(), last)
                wait = retry_after_seconds(response.headers.get("retry-after"), time.time())
                if wait is not None and wait > self._retry.backoff_max:
                    return UpstreamReply(response, attempt, time.perf_counter())
                await response.aclose()
                await asyncio.sleep(wait if wait is not None else self.backoff(attempt))
                continue
            await asyncio.sleep(self.backoff(attempt))
        raise AssertionError("unreachable: the loop returns or raises")
