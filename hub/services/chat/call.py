"""One chat request in flight, and the rows it leaves (journaled start, final row)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from hub.core.jsoncodec import loads
from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.core.records import RequestRecord, RequestStatus
from hub.core.storage.bodies import CapturedBodies
from hub.core.tokens import TokenCounter
from hub.proxy.routing import Route
from hub.proxy.sse import Usage, completion_text, usage_of
from hub.services.access.budgets import Admission
from hub.services.recording.recorder import cost_of
from hub.services.telemetry import RequestTrace

# What the reply said: (upstream usage if it sent one, completion text).
Outcome = tuple[Usage | None, str]
NO_OUTCOME: Outcome = (None, "")


@dataclass
class Call:
    """What is known about one request while it is in flight."""

    route: Route
    session_id: int
    stream: bool
    request_id: str
    trace: RequestTrace  # its hub time, and its span when tracing is on
    messages: list[JSON] = field(default_factory=list)  # as forwarded: the prompt estimate
    tools: list[JSON] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    created_at: float = field(default_factory=time.time)
    attempts: int = 1
    ttfb_ms: float | None = None
    tokens_saved: int = 0
    timed_out: bool = False  # the non-streaming total deadline cancelled it
    bodies: CapturedBodies | None = None  # [logging] store_bodies: for the inspector
    admission: Admission | None = None  # a virtual key's reservation, settled by the row
    answered: bool = False  # its answer facts are journaled: the outcome is decided
    prompt_tokens: int | None = None  # tiktoken's count of what was forwarded, if known
    durable: asyncio.Future[bool] | None = None  # team mode: its provisional row, awaited once

    @property
    def key_id(self) -> str | None:
        return self.admission.key_id if self.admission else None

    async def prompt_estimate(self, counter: TokenCounter) -> int:
        """tiktoken's count of what was forwarded (cached per message; big ones in a thread)."""
        if self.prompt_tokens is None:
            self.prompt_tokens = await counter.count_chat_async(self.messages, self.tools)
        return self.prompt_tokens

    def start_facts(self) -> JSONObject:
        """What the journal's start line adds to ``INTERRUPTED``: the row left if the hub
        dies before the request ends."""
        route = self.route
        return {
            "session_id": self.session_id,
            "created_at": self.created_at,
            "model_key": route.model_key,
            "provider": route.provider.name,
            "upstream_model": route.upstream_model,
            "stream": self.stream,
            "tokens_saved": self.tokens_saved,
            "request_id": self.request_id,
            "key_id": self.key_id,
        }

    def _row(
        self,
        prompt: int,
        completion: int,
        estimate: int,
        source: str,
        total_ms: float,
        status: RequestStatus,
        http_status: int,
        error: str | None,
        cached: int = 0,
    ) -> RequestRecord:
        return RequestRecord(
            session_id=self.session_id,
            created_at=self.created_at,
            model_key=self.route.model_key,
            provider=self.route.provider.name,
            upstream_model=self.route.upstream_model,
            stream=self.stream,
            prompt_tokens=prompt,
            completion_tokens=completion,
            usage_source="upstream" if source == "upstream" else "estimated",
            prompt_estimate=estimate,
            ttfb_ms=self.ttfb_ms,
            total_ms=total_ms,
            status=status,
            http_status=http_status,
            error=error,
            cost=cost_of(self.route.model, prompt, completion, cached),
            attempts=self.attempts,
            tokens_saved=self.tokens_saved,
            request_id=self.request_id,
            key_id=self.key_id,
            cached_tokens=cached,
        )

    def answer_facts(
        self,
        status: RequestStatus,
        http_status: int,
        usage: Usage | None,
        error: str | None,
        ended: float,
    ) -> JSONObject:
        """The journal's ``answered`` line: what the start row must become if the hub dies."""
        facts: JSONObject = {
            "status": status,
            "http_status": http_status,
            "error": error,
            "ttfb_ms": self.ttfb_ms,
            "total_ms": (ended - self.started) * 1000,
            "attempts": self.attempts,
        }
        if usage is not None and status == "ok":
            prompt, completion, cached = (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cached_tokens,
            )
            facts.update(
                prompt_tokens=prompt,
                completion_tokens=completion,
                cached_tokens=cached,
                usage_source="upstream",
                cost=cost_of(self.route.model, prompt, completion, cached),
            )
        return facts

    async def final_row(
        self,
        counter: TokenCounter,
        status: RequestStatus,
        http_status: int,
        outcome: Outcome,
        error: str | None,
        ended: float,
    ) -> RequestRecord:
        """Built in the background: upstream usage if sent, else tiktoken estimates."""
        total_ms = (ended - self.started) * 1000
        estimate = await self.prompt_estimate(counter)
        usage, text = outcome
        if usage is not None and status == "ok":
            row = self._row(
                usage.prompt_tokens,
                usage.completion_tokens,
                estimate,
                "upstream",
                total_ms,
                status,
                http_status,
                error,
                usage.cached_tokens,
            )
        else:
            completion = counter.count_text(text) if text else 0
            row = self._row(
                estimate, completion, estimate, "estimated", total_ms, status, http_status, error
            )
        if self.admission is not None:  # unless already settled from the upstream's usage
            self.admission.settle(row.cost, row.prompt_tokens + row.completion_tokens)
        return row


def json_outcome(content: bytes) -> Outcome:
    """Usage of a non-streamed answer (it goes in the journal at once), else its text.

    The text is only read to estimate completion tokens when the upstream sent no usage.
    """
    try:
        parsed = loads(content)
    except ValueError:  # a 2xx body that is not JSON: relayed as is, usage estimated
        parsed = None
    payload = as_object(parsed) or {}
    usage = usage_of(payload)
    return (usage, "") if usage is not None else (None, completion_text(payload))
