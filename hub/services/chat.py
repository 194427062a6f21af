"""The path of one chat request: route, session, forward, relay, record.

Every outcome, including upstream failure and client disconnect, ends in exactly
one ``RequestRecord``. Prompt counting starts beside the upstream call and is only
awaited by the background recorder, so it never delays a byte to the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
import httpx2

from hub.core.body_store import CapturedBodies
from hub.core.errors import HubError, UpstreamError
from hub.core.jsontypes import JSON, JSONObject, as_list, as_object
from hub.core.records import RequestRecord, RequestStatus
from hub.core.tokens import TokenCounter
from hub.proxy.routing import ModelRouter, Route
from hub.proxy.sse import SSESplitter, StreamTracker, Usage, completion_text, usage_of
from hub.proxy.upstream import ProviderPool, UpstreamReply
from hub.services.limits import Admission
from hub.services.metrics import MetricRecorder, cost_of
from hub.services.savings import ContextTooLarge, SavingsService
from hub.services.sessions import SessionService

ERROR_EXCERPT = 500


@dataclass
class JsonReply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamReply:
    chunks: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Call:
    """What is known about one request while it is in flight."""

    route: Route
    session_id: int
    stream: bool
    request_id: str
    prompt: asyncio.Task[int] | None = None
    started: float = field(default_factory=time.perf_counter)
    created_at: float = field(default_factory=time.time)
    attempts: int = 1
    ttfb_ms: float | None = None
    tokens_saved: int = 0
    bodies: CapturedBodies | None = None  # [logging] store_bodies: for the inspector
    admission: Admission | None = None

    @property
    def key_id(self) -> str | None:
        return self.admission.key_id if self.admission else None


def sse_error(message: str, code: str) -> bytes:
    payload = {"error": {"message": message, "type": "upstream_error", "code": code}}
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


class ChatService:
    def __init__(
        self,
        router: ModelRouter,
        pool: ProviderPool,
        sessions: SessionService,
        recorder: MetricRecorder,
        counter: TokenCounter,
        savings: SavingsService,
    ) -> None:
        self._savings = savings
        self._router = router
        self._pool = pool
        self._sessions = sessions
        self._recorder = recorder
        self._counter = counter

    def _record(
        self,
        call: _Call,
        *,
        status: RequestStatus,
        http_status: int,
        usage: Usage | None = None,
        completion: str = "",
        error: str | None = None,
    ) -> None:
        total_ms = (time.perf_counter() - call.started) * 1000
        if call.admission is not None:
            call.admission.recording = True

        async def build() -> RequestRecord:
            estimate = await call.prompt if call.prompt else 0
            cached = usage.cached_tokens if usage is not None else 0
            if usage is not None:
                prompt, completion_tokens, source = (
                    usage.prompt_tokens, usage.completion_tokens, "upstream"
                )  # fmt: skip
            else:
                prompt, source = estimate, "estimated"
                completion_tokens = self._counter.count_text(completion) if completion else 0
            record = RequestRecord(
                session_id=call.session_id,
                created_at=call.created_at,
                model_key=call.route.model_key,
                provider=call.route.provider.name,
                upstream_model=call.route.upstream_model,
                stream=call.stream,
                prompt_tokens=prompt,
                completion_tokens=completion_tokens,
                usage_source="upstream" if source == "upstream" else "estimated",
                prompt_estimate=estimate,
                ttfb_ms=call.ttfb_ms,
                total_ms=total_ms,
                status=status,
                http_status=http_status,
                error=error,
                cost=cost_of(call.route.model, prompt, completion_tokens, cached),
                attempts=call.attempts,
                tokens_saved=call.tokens_saved,
                request_id=call.request_id,
                key_id=call.key_id,
                cached_tokens=cached,
            )
            if call.admission is not None:
                call.admission.settle(record)
            return record

        self._recorder.submit(build(), call.bodies)

    def _begin(self, call: _Call) -> None:
        """Journal the row this request leaves if the hub dies before it ends."""
        self._recorder.begin(
            RequestRecord(
                session_id=call.session_id,
                created_at=call.created_at,
                model_key=call.route.model_key,
                provider=call.route.provider.name,
                upstream_model=call.route.upstream_model,
                stream=call.stream,
                prompt_tokens=0,
                completion_tokens=0,
                usage_source="estimated",
                prompt_estimate=0,
                ttfb_ms=None,
                total_ms=0.0,
                status="interrupted",
                http_status=0,
                error="interrompue : le hub s'est arrêté pendant la requête",
                cost=0.0,
                tokens_saved=call.tokens_saved,
                request_id=call.request_id,
                key_id=call.key_id,
            )
        )

    def _refuse(
        self,
        route: Route,
        session_id: int,
        stream: bool,
        messages: list[JSON],
        tools: list[JSON],
        exc: ContextTooLarge,
        admission: Admission | None,
    ) -> None:
        request_id = self._recorder.new_request_id()
        call = _Call(route, session_id, stream, request_id, attempts=0, admission=admission)
        call.prompt = asyncio.create_task(self._counter.count_chat_async(messages, tools))
        self._record(call, status="error", http_status=exc.status, error=exc.message)

    async def handle(
        self,
        payload: JSONObject,
        session_header: str | None,
        compaction_header: str | None = None,
        admission: Admission | None = None,
    ) -> JsonReply | StreamReply:
        model = payload.get("model")
        if not isinstance(model, str):
            raise HubError("Le champ « model » doit être une chaîne.", param="model")
        route = self._router.resolve(model)
        who = (admission.key_id, admission.key_name) if admission else (None, "")
        session = await self._sessions.for_request(session_header, route, *who)
        messages = as_list(payload.get("messages"))
        tools: list[JSON] = as_list(payload.get("tools"))
        stream = payload.get("stream") is True
        try:
            rewrite = await self._savings.rewrite(
                messages, route, session, compaction_header, tools
            )
        except ContextTooLarge as exc:  # refused before the provider: still one request row
            self._refuse(route, session.id, stream, messages, tools, exc, admission)
            raise
        messages, tokens_saved = rewrite.messages, rewrite.tokens_saved
        call = _Call(
            route=route,
            session_id=session.id,
            stream=stream,
            request_id=self._recorder.new_request_id(),
            tokens_saved=tokens_saved,
            admission=admission,
        )
        self._begin(call)  # 503 here if storage cannot record it: nothing sent upstream
        call.prompt = asyncio.create_task(self._counter.count_chat_async(messages, tools))
        upstream: JSONObject = {**payload, "model": route.upstream_model, "messages": messages}
        wants_usage = False
        if stream:
            options = as_object(payload.get("stream_options")) or {}
            wants_usage = options.get("include_usage") is True
            upstream["stream_options"] = {**options, "include_usage": True}
        body = json.dumps(upstream, ensure_ascii=False).encode()
        call.bodies = self._recorder.capture(payload, upstream)
        try:
            reply = await self._pool.post_chat(route, body)
        except UpstreamError as exc:
            call.attempts = exc.attempts
            self._record(call, status="error", http_status=exc.status, error=exc.message)
            raise
        except asyncio.CancelledError:
            self._record(call, status="cancelled", http_status=499, error="client déconnecté")
            raise
        call.attempts = reply.attempts
        call.ttfb_ms = (reply.headers_at - call.started) * 1000
        result: JsonReply | StreamReply
        if stream and reply.response.status_code < 400:
            result = StreamReply(self._relay(call, reply, wants_usage), _media(reply))
        else:
            result = await self._complete(call, reply)
        result.headers["x-kimi-session"] = str(session.id)  # which session recorded it
        return result

    async def _complete(self, call: _Call, reply: UpstreamReply) -> JsonReply:
        response = reply.response
        try:
            content = await response.aread()
        except asyncio.CancelledError:
            self._record(call, status="cancelled", http_status=499, error="client déconnecté")
            raise
        except httpx2.TransportError as exc:
            self._record(call, status="error", http_status=502, error=type(exc).__name__)
            raise UpstreamError("Réponse du fournisseur interrompue.") from None
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
        content = self._pool.redactor.data(content)  # an upstream may echo our key, 2xx too
        if response.status_code >= 400:
            excerpt = content[:ERROR_EXCERPT].decode("utf-8", errors="replace")
            self._record(call, status="error", http_status=response.status_code, error=excerpt)
            return JsonReply(response.status_code, content, _passthrough(reply))
        try:
            parsed: JSON = json.loads(content)
        except ValueError:  # a 2xx body that is not JSON: relayed as is, usage estimated
            parsed = None
        payload = as_object(parsed) or {}
        self._record(
            call,
            status="ok",
            http_status=response.status_code,
            usage=usage_of(payload),
            completion=completion_text(payload),
        )
        return JsonReply(response.status_code, content, _media(reply))

    async def _relay(
        self, call: _Call, reply: UpstreamReply, wants_usage: bool
    ) -> AsyncIterator[bytes]:
        """Yield each SSE event as soon as it is complete; drop only our usage chunk."""
        tracker = StreamTracker()
        splitter = SSESplitter()
        status: RequestStatus = "ok"
        error: str | None = None
        try:
            async for chunk in reply.response.aiter_bytes():
                for event in splitter.feed(chunk):
                    if tracker.observe(event) and not wants_usage:
                        continue
                    yield self._pool.redactor.data(event)  # error events and echoes alike
            if not (tracker.done or tracker.finished):
                status, error = "partial", "flux interrompu par le fournisseur"
                yield sse_error("Flux interrompu par le fournisseur.", "stream_interrupted")
        except httpx2.TransportError as exc:
            status, error = "partial", f"flux interrompu : {type(exc).__name__}"
            yield sse_error("Flux interrompu par le fournisseur.", "stream_interrupted")
        except (asyncio.CancelledError, GeneratorExit):
            status, error = "cancelled", "client déconnecté"
            raise
        finally:
            self._record(
                call,
                status=status,
                http_status=499 if status == "cancelled" else reply.response.status_code,
                usage=tracker.usage if status == "ok" else None,
                completion=tracker.text,
                error=error,
            )
            with anyio.CancelScope(shield=True):
                await reply.response.aclose()


def _media(reply: UpstreamReply) -> dict[str, str]:
    content_type = reply.response.headers.get("content-type")
    return {"content-type": content_type} if content_type else {}


def _passthrough(reply: UpstreamReply) -> dict[str, str]:
    response = reply.response
    headers = {"content-type": response.headers.get("content-type", "application/json")}
    retry_after = response.headers.get("retry-after")
    if retry_after:
        headers["retry-after"] = retry_after
    if reply.exhausted:  # the hub spent the retries: an SDK retrying would multiply them
        headers["x-should-retry"] = "false"
    return headers
