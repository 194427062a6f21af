"""The path of one chat request: route, session, forward, relay, record.

Every outcome, including upstream failure and client disconnect, ends in exactly
one ``RequestRecord``: journaled when the request starts (``interrupted`` if the hub
dies), its outcome journaled just before the client gets it (status, upstream usage:
one ``os.write``), the final row (tiktoken estimates) built by the recorder's writer
task, so token counting never delays a byte to the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import anyio
import httpx2

from hub.core.errors import UpstreamError
from hub.core.jsoncodec import dumps
from hub.core.jsontypes import JSON, JSONObject, as_list, as_object
from hub.core.records import RequestStatus
from hub.core.tokens import TokenCounter
from hub.proxy.routing import Route
from hub.proxy.sse import DONE, USAGE_ONLY, SSESplitter, StreamTracker, usage_event
from hub.proxy.upstream import ProviderPool, UpstreamReply
from hub.services.access.budgets import Admission
from hub.services.chat.call import NO_OUTCOME, Call, Outcome, json_outcome
from hub.services.recording.recorder import RequestRecorder
from hub.services.savings.service import ContextTooLarge, SavingsService
from hub.services.sessions.service import SessionService
from hub.services.telemetry import RequestTrace

ERROR_EXCERPT = 500
NO_HEADERS: dict[str, str] = {}
KEY_REVOKED = "clé API révoquée pendant la requête"


@dataclass
class JsonReply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamReply:
    chunks: AsyncGenerator[bytes, None]
    headers: dict[str, str] = field(default_factory=dict)


def sse_error(message: str, code: str) -> bytes:
    payload = {"error": {"message": message, "type": "upstream_error", "code": code}}
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


class ChatService:
    def __init__(
        self,
        pool: ProviderPool,
        sessions: SessionService,
        recorder: RequestRecorder,
        counter: TokenCounter,
        savings: SavingsService,
    ) -> None:
        self._savings = savings
        self._pool = pool
        self._sessions = sessions
        self._recorder = recorder
        self._counter = counter

    def _record(
        self,
        call: Call,
        *,
        status: RequestStatus,
        http_status: int,
        outcome: Outcome = NO_OUTCOME,
        error: str | None = None,
    ) -> None:
        """Journal the outcome now (before the client sees it); build the row in the background.

        Only the first call counts: a stream is recorded at ``[DONE]``, before its last
        chunk leaves, and a disconnect after that changes nothing.
        """
        if call.answered:
            return
        call.answered = True
        ended = time.perf_counter()
        usage = outcome[0]
        facts = call.answer_facts(status, http_status, usage, error, ended)
        call.durable = self._recorder.answered(call.request_id, call.start_facts(), facts)
        if usage is not None and call.trace.recording:
            call.trace.set(
                {
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                }
            )
        if call.admission is not None:
            call.admission.recording = True
            cost = facts.get("cost")
            if usage is not None and isinstance(cost, float):  # the row's cost, known now
                call.admission.settle(cost, usage.prompt_tokens + usage.completion_tokens)
        self._recorder.submit(
            call.final_row(self._counter, status, http_status, outcome, error, ended),
            call.bodies,
            journal=usage is None or status != "ok",  # estimated tokens: more than the facts
        )

    def _request_id(self, admission: Admission | None) -> str:
        """A virtual key's reservation is named by its request's id (redis_leases.py)."""
        return admission.request_id if admission else self._recorder.new_request_id()

    async def _durable(self, call: Call) -> None:
        """Team mode: before the answer's last byte, its row is in PostgreSQL (bounded wait)."""
        pending, call.durable = call.durable, None
        await self._recorder.durable(pending)

    def _record_cancel(self, call: Call) -> None:
        if call.timed_out:
            error = f"délai total de {self._pool.retry.total_timeout:g} s dépassé"
            self._record(call, status="error", http_status=504, error=error)
        elif call.admission is not None and call.admission.revoked:
            self._record(call, status="cancelled", http_status=401, error=KEY_REVOKED)
        else:
            self._record(call, status="cancelled", http_status=499, error="client déconnecté")

    async def _refuse(
        self,
        route: Route,
        session_id: int,
        stream: bool,
        trace: RequestTrace,
        messages: list[JSON],
        tools: list[JSON],
        exc: ContextTooLarge,
        admission: Admission | None,
    ) -> None:
        request_id = self._request_id(admission)
        call = Call(
            route,
            session_id,
            stream,
            request_id,
            trace,
            messages,
            tools,
            attempts=0,
            admission=admission,
        )
        self._record(call, status="error", http_status=exc.status, error=exc.message)
        await self._durable(call)

    async def handle(
        self,
        route: Route,
        payload: JSONObject,
        trace: RequestTrace,
        session_header: str | None,
        compaction_header: str | None = None,
        admission: Admission | None = None,
    ) -> JsonReply | StreamReply:
        """``route``: where ``payload["model"]`` goes (``ModelRouter.resolve``, its provider
        key checked). ``trace``: ended by the caller, or by the stream's relay."""
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
            await self._refuse(route, session.id, stream, trace, messages, tools, exc, admission)
            raise
        messages, tokens_saved = rewrite.messages, rewrite.tokens_saved
        call = Call(
            route=route,
            session_id=session.id,
            stream=stream,
            request_id=self._request_id(admission),
            trace=trace,
            messages=messages,
            tools=tools,
            tokens_saved=tokens_saved,
            admission=admission,
            prompt_tokens=rewrite.prompt_tokens,
        )
        if trace.recording:
            trace.set(
                {
                    "kimi.session.id": session.id,
                    "kimi.request.id": call.request_id,
                    "kimi.tokens_saved": tokens_saved,
                }
            )
        # 503 if storage cannot: nothing sent upstream
        self._recorder.begin(call.request_id, call.start_facts())
        upstream: JSONObject = {**payload, "model": route.upstream_model, "messages": messages}
        wants_usage = False
        if stream:
            options = as_object(payload.get("stream_options")) or {}
            wants_usage = options.get("include_usage") is True
            upstream["stream_options"] = {**options, "include_usage": True}
        body = dumps(upstream)
        call.bodies = self._recorder.capture(payload, upstream)
        result: JsonReply | StreamReply
        if stream:
            reply = await self._send(call, route, body)
            if reply.response.status_code < 400:
                result = StreamReply(self._relay(call, reply, wants_usage), _media(reply))
            else:
                result = await self._complete(call, reply)
        else:
            result = await self._within_total(call, route, body)
        result.headers["x-kimi-session"] = str(session.id)  # which session recorded it
        return result

    async def _within_total(self, call: Call, route: Route, body: bytes) -> JsonReply:
        """A non-streamed answer, retries included, within ``[retry].total_timeout``."""
        task = asyncio.current_task()
        assert task is not None

        def expire() -> None:
            if call.answered:  # only its row is awaited (bounded): the answer stands
                return
            call.timed_out = True
            task.cancel()

        timer = task.get_loop().call_later(self._pool.retry.total_timeout, expire)
        try:
            return await self._complete(call, await self._send(call, route, body))
        except asyncio.CancelledError:
            if not call.timed_out or task.uncancel() > 0:
                raise
            await self._durable(call)
            raise UpstreamError(
                f"Le fournisseur « {route.provider.name} » n'a pas répondu dans le délai total "
                f"({self._pool.retry.total_timeout:g} s).",
                status=504,
                code="upstream_timeout",
                attempts=call.attempts,
            ) from None
        finally:
            timer.cancel()

    async def _send(self, call: Call, route: Route, body: bytes) -> UpstreamReply:
        trace = call.trace
        traced = NO_HEADERS
        if trace.span is not None:  # traced (sampled or not: the decision is passed on)
            traced = trace.outgoing(f"chat {route.upstream_model}", _provider_span(route))
        sent = time.perf_counter()
        try:
            reply = await self._pool.post_chat(route, body, traced)
        except UpstreamError as exc:
            trace.upstream += time.perf_counter() - sent
            trace.outgoing_done(exc.status)
            call.attempts = exc.attempts
            self._record(call, status="error", http_status=exc.status, error=exc.message)
            await self._durable(call)
            raise
        except asyncio.CancelledError:
            trace.upstream += time.perf_counter() - sent
            self._record_cancel(call)
            raise
        trace.upstream += reply.headers_at - sent
        call.attempts = reply.attempts
        call.ttfb_ms = (reply.headers_at - call.started) * 1000
        return reply

    async def _complete(self, call: Call, reply: UpstreamReply) -> JsonReply:
        response = reply.response
        reading = time.perf_counter()
        try:
            content = await response.aread()
            call.trace.outgoing_done(response.status_code)
        except asyncio.CancelledError:
            self._record_cancel(call)
            raise
        except httpx2.TransportError as exc:
            self._record(call, status="error", http_status=502, error=type(exc).__name__)
            await self._durable(call)
            raise UpstreamError("Réponse du fournisseur interrompue.") from None
        finally:
            call.trace.upstream += time.perf_counter() - reading
            await _close(response)
        content = self._pool.redactor.data(content)  # an upstream may echo our key, 2xx too
        if response.status_code >= 400:
            excerpt = content[:ERROR_EXCERPT].decode("utf-8", errors="replace")
            self._record(call, status="error", http_status=response.status_code, error=excerpt)
            await self._durable(call)
            return JsonReply(response.status_code, content, _passthrough(reply))
        # Relayed byte for byte; usage and text are read when the row is built.
        self._record(
            call, status="ok", http_status=response.status_code, outcome=json_outcome(content)
        )
        await self._durable(call)
        if call.admission is not None:  # the client's next request sees the real cost
            await call.admission.settled()
        return JsonReply(response.status_code, content, _media(reply))

    async def _relay(
        self, call: Call, reply: UpstreamReply, wants_usage: bool
    ) -> AsyncGenerator[bytes, None]:
        """Pass on what each upstream read delivered, at once, as one chunk.

        Events are split only to be observed (``StreamTracker``); the only changes are
        dropping the usage chunk the client did not ask for, and adding an estimated one
        (flagged ``"x_kimi_usage": "estimated"``) before ``[DONE]`` when the client asked
        for usage and the upstream sent none.
        """
        tracker = StreamTracker()
        splitter = SSESplitter()
        status: RequestStatus = "ok"
        error: str | None = None
        trace, clock = call.trace, time.perf_counter
        mark = clock()  # from here the relay waits on the upstream
        try:
            async for chunk in reply.response.aiter_bytes():
                now = clock()
                trace.upstream += now - mark
                out: list[bytes] = []
                for event in splitter.feed(chunk):
                    seen = tracker.observe(event)
                    if seen == USAGE_ONLY and not wants_usage:
                        continue
                    if seen == DONE:
                        if wants_usage and tracker.usage is None:
                            out.append(await self._estimated_usage(call, tracker))
                        self._record(
                            call,
                            status="ok",
                            http_status=reply.response.status_code,
                            outcome=tracker.outcome(),
                        )
                        if call.admission is not None:
                            await call.admission.settled()
                    out.append(event)
                if out:  # whole events: a secret cannot straddle two reads' output
                    if call.durable is not None:  # [DONE] is in this chunk: its row first
                        await self._durable(call)
                    data = self._pool.redactor.data(b"".join(out))  # error events, echoes
                    mark = clock()  # from here it waits on the client reading
                    yield data
                    now = clock()
                    trace.client += now - mark
                mark = now  # a chunk that held no whole event: its split counts as waiting
            trace.outgoing_done(reply.response.status_code)
            if not (tracker.done or tracker.finished):
                status, error = "partial", "flux interrompu par le fournisseur"
            await self._stream_ended(call, reply, tracker, status, error)
            if status == "partial":
                yield sse_error("Flux interrompu par le fournisseur.", "stream_interrupted")
        except httpx2.TransportError as exc:
            status, error = "partial", f"flux interrompu : {type(exc).__name__}"
            await self._stream_ended(call, reply, tracker, status, error)
            yield sse_error("Flux interrompu par le fournisseur.", "stream_interrupted")
        except (asyncio.CancelledError, GeneratorExit):
            revoked = call.admission is not None and call.admission.revoked
            status, error = "cancelled", KEY_REVOKED if revoked else "client déconnecté"
            raise
        finally:
            code = 499 if status == "cancelled" else reply.response.status_code
            if not call.answered:  # cancelled (or failed) before its end was recorded
                self._record(
                    call,
                    status=status,
                    http_status=code,
                    outcome=(tracker.usage, tracker.text),
                    error=error,
                )
            trace.end(error if status != "ok" else None, _status(code))
            await _close(reply.response)

    async def _stream_ended(
        self,
        call: Call,
        reply: UpstreamReply,
        tracker: StreamTracker,
        status: RequestStatus,
        error: str | None,
    ) -> None:
        """A stream without ``[DONE]`` (cut, or ended after its finish reason): its row
        before its last bytes. The text may be the estimate's."""
        if not call.answered:
            self._record(
                call,
                status=status,
                http_status=reply.response.status_code,
                outcome=(tracker.usage, tracker.text),
                error=error,
            )
        await self._durable(call)

    async def _estimated_usage(self, call: Call, tracker: StreamTracker) -> bytes:
        prompt = await call.prompt_estimate(self._counter)
        return usage_event(tracker.last, prompt, self._counter.count_text(tracker.text))


async def _close(response: httpx2.Response) -> None:
    """Release the upstream connection, even while cancelled.

    A body read to its end is already closed (httpx2 closes it), so the shielded scope,
    costly on the hot path, is paid only when needed.
    """
    if not response.is_closed:
        with anyio.CancelScope(shield=True):
            await response.aclose()


def _provider_span(route: Route) -> dict[str, str]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": route.provider.name,
        "gen_ai.request.model": route.upstream_model,
    }


def _status(code: int) -> dict[str, int]:
    return {"http.response.status_code": code}


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
