"""An httpx2 transport over one ``aiohttp.ClientSession``: the httpx API, aiohttp's pool.

Measured here (issue #11), httpx2's default pool caps a relay at about a fifth of a
fast upstream's throughput; the same ``AsyncClient`` over this transport doubles it.
The ``httpx-aiohttp`` package implements the same idea for ``httpx`` (not ``httpx2``,
whose classes are distinct), hence this small module.

The client keeps its role: URL and header building, the ``timeout`` extension,
content decoding. This transport only moves bytes, and maps aiohttp's errors to
httpx2's (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``ReadError``,
``RemoteProtocolError``) so callers see one family of exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx2


@contextmanager
def _mapped(request: httpx2.Request, *, reading: bool) -> Iterator[None]:
    """aiohttp / asyncio exceptions → the httpx2 ones the retry logic understands."""
    try:
        yield
    except aiohttp.SocketTimeoutError as exc:  # sock_read: no byte for ``read`` seconds
        raise httpx2.ReadTimeout(str(exc) or "read timeout", request=request) from exc
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx2.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
    except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
        timeout = httpx2.ReadTimeout if reading else httpx2.ConnectTimeout
        raise timeout(str(exc) or "timeout", request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx2.ConnectError(str(exc), request=request) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
        raise httpx2.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:
        raise httpx2.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientError as exc:
        failure = httpx2.ReadError if reading else httpx2.ConnectError
        raise failure(f"{type(exc).__name__}: {exc}", request=request) from exc


class _Body(httpx2.AsyncByteStream):
    """The response body, chunk by chunk as the socket delivers it."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx2.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped(self._request, reading=True):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        # A fully read body returns the connection to the pool; a half-read one closes it.
        self._response.release()


Seconds = tuple[float | None, float | None, float | None]


def _seconds(request: httpx2.Request) -> Seconds:
    raw = request.extensions.get("timeout")
    values = raw if isinstance(raw, dict) else {}

    def seconds(name: str) -> float | None:
        value = values.get(name)
        return float(value) if isinstance(value, int | float) else None

    return seconds("pool"), seconds("connect"), seconds("read")


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """One aiohttp session (and connection pool) per transport; built lazily in the loop."""

    def __init__(self, *, max_connections: int = 256, keepalive_expiry: float = 30.0) -> None:
        self._limit = max_connections
        self._keepalive = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Seconds, aiohttp.ClientTimeout] = {}  # one per distinct setting

    def _timeout(self, request: httpx2.Request) -> aiohttp.ClientTimeout:
        key = _seconds(request)
        timeout = self._timeouts.get(key)
        if timeout is None:
            pool, connect, read = key
            timeout = aiohttp.ClientTimeout(
                total=None, connect=pool, sock_connect=connect, sock_read=read
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=self._limit,
                keepalive_timeout=self._keepalive,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx2 decodes, from the headers it is given
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        with _mapped(request, reading=False):
            response = await self._client().request(
                request.method,
                str(request.url),
                data=body or None,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout(request),
            )
        return httpx2.Response(
            status_code=response.status,
            headers=[(k, v) for k, v in response.raw_headers],
            stream=_Body(response, request),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            await asyncio.sleep(0)  # let the connector's close callbacks run
